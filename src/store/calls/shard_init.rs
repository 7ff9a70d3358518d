//! `shard_init.lua`: makes a shard room of a sharded room, mirroring the room's fields.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::scripts::Scripts;

/// KEYS: the shard room's keys. ARGV: the room's mirrored fields, as field, value pairs.
pub struct ShardInit<'a> {
    pub shard_room: &'a LiveId,
    pub fields: &'a [(String, String)],
}

impl ScriptCall for ShardInit<'_> {
    type Reply = ();

    fn script(scripts: &Scripts) -> &Script {
        &scripts.shard_init
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.shard_room);
        for (field, value) in self.fields {
            invocation.arg(field).arg(value);
        }
    }

    fn reply(_answer: Value) -> StoreResult<()> {
        Ok(())
    }
}
