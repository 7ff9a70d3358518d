//! `read.lua`: one room as it is now.

use redis::{Script, Value};

use super::view::decode_view;
use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::domain::room::Room;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::status;
use crate::store::scripts::Scripts;

/// KEYS: the room's keys. ARGV: the member window (ms).
pub struct Read<'a> {
    pub room: &'a LiveId,
    pub window_ms: u64,
}

impl ScriptCall for Read<'_> {
    /// The room; `NOT_FOUND` becomes `StoreError::NotFound`.
    type Reply = Room;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.read
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        invocation.arg(self.window_ms);
    }

    fn reply(answer: Value) -> StoreResult<Room> {
        decode_view(status(&answer, "read")?.1)
    }
}
