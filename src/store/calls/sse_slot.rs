//! `sse_slot.lua`: a user's open event streams, over all replicas.

use redis::{RedisWrite, Script, ToRedisArgs, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::UserId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{array, bad, int, text};
use crate::store::scripts::Scripts;

/// What is done with the stream's slot: on the wire `'open'` or `'close'` (the script's
/// `'renew'` is what older replicas send; this one renews its slots together, `SseRenew`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotOp {
    /// Takes a slot, unless the user already holds `cap` of them.
    Open,
    /// Frees the slot.
    Close,
}

impl ToRedisArgs for SlotOp {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        out.write_arg(match self {
            Self::Open => b"open",
            Self::Close => b"close",
        });
    }
}

/// KEYS: the user's open streams. ARGV: the operation, the stream's id, the most streams the
/// user may have open (0: no limit; read by `Open` only), the slot's time to live (ms; not read
/// by `Close`).
pub struct SseSlot<'a> {
    pub user: &'a UserId,
    pub op: SlotOp,
    pub stream: &'a str,
    pub cap: u32,
    pub ttl_ms: u64,
}

/// `{1, 0}`, or for an open at the cap `{0, ms until the soonest slot lapses, the ids holding
/// the slots}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotReply {
    /// The stream holds its slot (or, after a close, no longer has one).
    Held,
    /// The user is at the cap: a slot lapses within `wait_ms` at most, unless its stream closes
    /// or its replica is found dead first (`holders`: the streams' ids, `<replica token>.<n>`).
    Full { wait_ms: u64, holders: Vec<String> },
}

impl ScriptCall for SseSlot<'_> {
    type Reply = SlotReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.sse_slot
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation
            .key("streams", keys.sse_streams(self.user.as_str()))
            .arg(self.op)
            .arg(self.stream)
            .arg(self.cap)
            .arg(self.ttl_ms);
    }

    fn reply(answer: Value) -> StoreResult<SlotReply> {
        let Some([held, wait, holders @ ..]) = array(&answer) else {
            return Err(bad("sse_slot"));
        };
        let (held, wait) = int(held).zip(int(wait)).ok_or_else(|| bad("sse_slot"))?;
        Ok(if held == 0 {
            SlotReply::Full {
                wait_ms: wait.max(0) as u64,
                holders: holders.iter().filter_map(text).collect(),
            }
        } else {
            SlotReply::Held
        })
    }
}

/// `sse_slot.lua`'s `reap`: frees the slots of streams whose replica is gone (the caller read
/// their leases). KEYS: the user's open streams. ARGV: `reap`, '', 0, 0, the ids. Answers the
/// slots freed.
pub struct SseReap<'a> {
    pub user: &'a UserId,
    pub streams: &'a [String],
}

impl ScriptCall for SseReap<'_> {
    type Reply = u64;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.sse_slot
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation
            .key("streams", keys.sse_streams(self.user.as_str()))
            .arg("reap")
            .arg("")
            .arg(0)
            .arg(0);
        for stream in self.streams {
            invocation.arg(stream);
        }
    }

    fn reply(answer: Value) -> StoreResult<u64> {
        let Some([_, removed]) = array(&answer) else {
            return Err(bad("sse_slot reap"));
        };
        int(removed)
            .map(|n| n.max(0) as u64)
            .ok_or_else(|| bad("sse_slot reap"))
    }
}
