//! The background sweep every replica runs: anchor-offline closes, retention purges, lapsed
//! members. Safe on any number of replicas (every step is a conditional script).

use std::time::Duration;

use tokio::sync::watch;

use crate::store::{Store, SweepCursors};

/// Sweeps every `period` until `stop` turns true.
pub async fn run(store: Store, period: Duration, mut stop: watch::Receiver<bool>) {
    let mut cursors = SweepCursors::default();
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        match store.sweep(&mut cursors).await {
            Ok(report) if report != Default::default() => {
                tracing::debug!(?report, "sweep");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "sweep failed; next tick retries"),
        }
    }
}
