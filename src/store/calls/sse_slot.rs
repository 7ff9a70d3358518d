//! `sse_slot.lua`: a user's open event streams, over all replicas.

use redis::{RedisWrite, Script, ToRedisArgs, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::UserId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{array, bad, int};
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

/// `{1, 0}`, or for an open at the cap `{0, ms until the soonest slot lapses}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotReply {
    /// The stream holds its slot (or, after a close, no longer has one).
    Held,
    /// The user is at the cap: a slot frees within this many ms at most.
    Full { wait_ms: u64 },
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
        let Some([held, wait]) = array(&answer) else {
            return Err(bad("sse_slot"));
        };
        let (held, wait) = int(held).zip(int(wait)).ok_or_else(|| bad("sse_slot"))?;
        Ok(if held == 0 {
            SlotReply::Full {
                wait_ms: wait.max(0) as u64,
            }
        } else {
            SlotReply::Held
        })
    }
}
