//! `lease.lua`: the lease that lets one replica at a time deliver a room's webhooks, in order.

use redis::{RedisWrite, Script, ToRedisArgs, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{bad, int};
use crate::store::scripts::Scripts;

/// What is done with the lease: on the wire `'take'`, `'renew'` or `'release'`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseOp {
    /// Takes the lease when no one holds it (or extends it when the owner already does).
    Take,
    /// Extends the lease the owner holds.
    Renew,
    /// Gives up the lease the owner holds.
    Release,
}

impl ToRedisArgs for LeaseOp {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        out.write_arg(match self {
            Self::Take => b"take",
            Self::Renew => b"renew",
            Self::Release => b"release",
        });
    }
}

/// KEYS: the room's webhook lease. ARGV: the operation, the owner (the delivering replica), the
/// lease's time to live (ms).
pub struct Lease<'a> {
    pub room: &'a LiveId,
    pub op: LeaseOp,
    pub owner: &'a str,
    pub ttl_ms: u64,
}

impl ScriptCall for Lease<'_> {
    /// `1` while the owner holds the lease (after a release: it held it until then), `0` when
    /// it does not (another replica delivers the room).
    type Reply = bool;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.lease
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation
            .key("lease", keys.webhook_lease(self.room))
            .arg(self.op)
            .arg(self.owner)
            .arg(self.ttl_ms);
    }

    fn reply(answer: Value) -> StoreResult<bool> {
        int(&answer).map(|n| n == 1).ok_or_else(|| bad("lease"))
    }
}
