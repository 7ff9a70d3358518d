//! The background sweep every replica runs: lapsed members, members to release after a room
//! ended, anchor presence, unsaid online counts, anchor-offline closes and retention purges.
//! Replicas share it: each tick claims what is due (store/sweep.rs), so the work grows with
//! what is due, not with the number of rooms, and is not repeated by every replica.

use std::time::Duration;

use tokio::sync::watch;

use crate::store::Store;

/// Claims one tick may make when each comes back full.
const ROUNDS_PER_TICK: usize = 20;

/// Sweeps every `period` (`Config::sweep_period`: 250 ms at most by default, so that a lapse
/// is announced within about that of the end of its window) until `stop` turns true.
pub async fn run(store: Store, period: Duration, mut stop: watch::Receiver<bool>) {
    // Claims carry the replica's token, so that a replica only finishes what it claimed.
    let token = uuid::Uuid::new_v4().simple().to_string();
    let tick_every = period;
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + tick_every, tick_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        // More due than one claim takes (a crowd that lapsed at once, thousands of rooms
        // ending together): claim again at once, so the work keeps up with what is due; a
        // bounded number of rounds per tick, so that stop is still heard.
        let mut ok = true;
        for _ in 0..ROUNDS_PER_TICK {
            match store.sweep().run(&token).await {
                Ok(report) => {
                    if report != Default::default() {
                        tracing::debug!(?report, "sweep");
                    }
                    if !report.full {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "sweep failed; next tick retries");
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            store
                .redis_stats()
                .sweep_ok_unix_ms
                .store(now, std::sync::atomic::Ordering::Relaxed);
        }
    }
}
