//! `shard_end.lua`: ends one of a sharded room's shard rooms after the room ended.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{bad, int};
use crate::store::scripts::Scripts;

/// KEYS: the shard room's keys. ARGV: the reason.
pub struct ShardEnd<'a> {
    pub shard_room: &'a LiveId,
    pub reason: &'a str,
}

impl ScriptCall for ShardEnd<'_> {
    /// The members set aside for the sweep to release.
    type Reply = i64;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.shard_end
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.shard_room);
        invocation.arg(self.reason);
    }

    fn reply(answer: Value) -> StoreResult<i64> {
        int(&answer).ok_or_else(|| bad("shard_end"))
    }
}
