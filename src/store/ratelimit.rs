//! Shared request counters of the rate limits: one key per limited subject and one-second window.

use super::calls;
use super::{Store, StoreResult};

/// How long a window's counter lives on after its last report: its own second, plus the
/// second after it in which replicas still report it (they forget a window a second after it
/// ends), plus one to spare for a slow report. Then it goes by itself.
const WINDOW_TTL_MS: u64 = 3000;

impl Store {
    /// Adds `n` requests of `subject` in window `index`; answers the count of every replica.
    pub async fn count_requests(&self, subject: &str, index: u64, n: u64) -> StoreResult<u64> {
        self.core
            .call(&calls::Ratelimit {
                subject,
                window: index,
                requests: n,
                ttl_ms: WINDOW_TTL_MS,
            })
            .await
    }
}
