//! `shards.lua`: spreads a room's members over shard rooms, before its first member (issue 27).

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{bad, int, status};
use crate::store::scripts::Scripts;

/// KEYS: the room's keys. ARGV: the shards.
pub struct SetShards<'a> {
    pub room: &'a LiveId,
    pub shards: u32,
}

impl ScriptCall for SetShards<'_> {
    /// The room's shards now.
    type Reply = u32;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.shards
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        invocation.arg(self.shards);
    }

    fn reply(answer: Value) -> StoreResult<u32> {
        let (_, rest) = status(&answer, "shards")?;
        rest.first()
            .and_then(int)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| bad("shards"))
    }
}
