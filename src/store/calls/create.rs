//! `create.lua`: a new room, the caller its anchor.

use redis::{Script, Value};

use super::view::decode_view;
use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::domain::room::Room;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::status;
use crate::store::scripts::Scripts;

/// KEYS: the new room's keys. ARGV: the member window (ms), then the room hash's fields and
/// values, pair by pair.
pub struct Create<'a> {
    pub room: &'a LiveId,
    pub window_ms: u64,
    pub fields: &'a [(&'static str, String)],
}

impl ScriptCall for Create<'_> {
    /// The room as created.
    type Reply = Room;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.create
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        invocation.arg(self.window_ms);
        for (field, value) in self.fields {
            invocation.arg(*field).arg(value);
        }
    }

    fn reply(answer: Value) -> StoreResult<Room> {
        decode_view(status(&answer, "create")?.1)
    }
}
