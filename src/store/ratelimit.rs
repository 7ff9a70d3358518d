//! Shared request counters of the rate limits: one key per limited subject and one-second window.

use super::{Store, StoreResult};

impl Store {
    /// Adds `n` requests of `subject` in window `index`; answers the count of every replica.
    pub async fn count_requests(&self, subject: &str, index: u64, n: u64) -> StoreResult<u64> {
        let keys = [self.keys().rate_window(subject, index)];
        let args = [n.to_string(), "3000".to_owned()];
        let total: i64 = self.eval(&self.scripts().ratelimit, &keys, &args).await?;
        Ok(total.max(0) as u64)
    }
}
