//! `extends.lua`: the room's extends replaced (anchor only).

use redis::{Script, Value};

use super::view::decode_view;
use super::{Invocation, ScriptCall};
use crate::domain::ids::{LiveId, UserId};
use crate::domain::room::Room;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::status;
use crate::store::scripts::Scripts;

/// KEYS: the room's keys. ARGV: the caller's user id, the member window (ms), the extends JSON.
pub struct Extends<'a> {
    pub room: &'a LiveId,
    pub user: &'a UserId,
    pub window_ms: u64,
    pub extends_json: &'a str,
}

impl ScriptCall for Extends<'_> {
    /// The room with its new extends.
    type Reply = Room;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.extends
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        invocation
            .arg(self.user.as_str())
            .arg(self.window_ms)
            .arg(self.extends_json);
    }

    fn reply(answer: Value) -> StoreResult<Room> {
        decode_view(status(&answer, "extends")?.1)
    }
}
