//! The background sweep every replica runs: anchor-offline closes, retention purges, lapsed
//! members. Safe on any number of replicas (every step is a conditional script).

use std::time::Duration;

use tokio::sync::watch;

use crate::store::{Store, SweepCursors};

/// Deadlines are checked at least this often, so a room closes within about this of its deadline.
const DEADLINE_TICK: Duration = Duration::from_millis(250);

/// Walks the rooms every `period` and checks deadlines every 250 ms (or `period`, when shorter),
/// until `stop` turns true.
pub async fn run(store: Store, period: Duration, mut stop: watch::Receiver<bool>) {
    let mut cursors = SweepCursors::default();
    let tick_every = period.min(DEADLINE_TICK);
    let mut last_walk = tokio::time::Instant::now();
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + tick_every, tick_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        match store.sweep_deadlines().await {
            Ok(report) if report != Default::default() => tracing::debug!(?report, "sweep"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "sweep failed; next tick retries"),
        }
        if last_walk.elapsed() >= period {
            last_walk = tokio::time::Instant::now();
            if let Err(e) = store.sweep_rooms(&mut cursors).await {
                tracing::warn!(error = %e, "sweep failed; next tick retries");
            }
        }
    }
}
