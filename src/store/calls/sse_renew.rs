//! `sse_renew.lua`: a replica's open event streams renew their slots in one call.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::UserId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{bad, int};
use crate::store::scripts::Scripts;

/// KEYS: per stream its user's open streams. ARGV: the slots' time to live (ms), then per stream
/// its id. All on one node (any users on a single Redis, one slot's on a Cluster).
pub struct SseRenew<'a> {
    pub slots: &'a [(UserId, String)],
    pub ttl_ms: u64,
}

impl ScriptCall for SseRenew<'_> {
    /// The slots renewed.
    type Reply = u64;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.sse_renew
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        for (user, _) in self.slots {
            invocation.key("streams", keys.sse_streams(user.as_str()));
        }
        invocation.arg(self.ttl_ms);
        for (_, stream) in self.slots {
            invocation.arg(stream.as_str());
        }
    }

    fn reply(answer: Value) -> StoreResult<u64> {
        int(&answer)
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| bad("sse_renew"))
    }
}
