//! `ratelimit.lua`: adds a replica's requests of one window to the shared count.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{bad, int};
use crate::store::scripts::Scripts;

/// KEYS: the window's counter. ARGV: how many requests, how long the counter lives on (ms).
pub struct Ratelimit<'a> {
    /// The limited subject (`u:{user}` or `ip:{addr}`).
    pub subject: &'a str,
    /// The one-second window (unix seconds).
    pub window: u64,
    pub requests: u64,
    pub ttl_ms: u64,
}

impl ScriptCall for Ratelimit<'_> {
    /// The window's count over every replica so far.
    type Reply = u64;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.ratelimit
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation
            .key("window", keys.rate_window(self.subject, self.window))
            .arg(self.requests)
            .arg(self.ttl_ms);
    }

    fn reply(answer: Value) -> StoreResult<u64> {
        let total = int(&answer).ok_or_else(|| bad("ratelimit"))?;
        Ok(total.max(0) as u64)
    }
}
