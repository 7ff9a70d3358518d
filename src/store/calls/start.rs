//! `start.lua`: the live starts (on a live room: the anchor's heartbeat).

use redis::{Script, Value};

use super::view::decode_view;
use super::{Invocation, ScriptCall, due_in};
use crate::domain::ids::{LiveId, UserId};
use crate::domain::room::Room;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::status;
use crate::store::scripts::Scripts;

/// KEYS: the room's keys. ARGV: the caller's user id, the member window (ms), the
/// anchor-offline close delay (ms).
pub struct Start<'a> {
    pub room: &'a LiveId,
    pub user: &'a UserId,
    pub window_ms: u64,
    pub close_ms: u64,
}

/// `{'OK', view…, close deadline, due in}`; `FORBIDDEN` (not the anchor) and `CONFLICT` (ended)
/// become errors.
pub struct StartReply {
    pub room: Room,
    /// The room must come due on the sweep schedule within this many ms (the anchor's
    /// presence began).
    pub due_in_ms: Option<u64>,
}

impl ScriptCall for Start<'_> {
    type Reply = StartReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.start
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        invocation
            .arg(self.user.as_str())
            .arg(self.window_ms)
            .arg(self.close_ms);
    }

    fn reply(answer: Value) -> StoreResult<StartReply> {
        let (_, rest) = status(&answer, "start")?;
        Ok(StartReply {
            room: decode_view(rest)?,
            due_in_ms: due_in(rest.get(5)),
        })
    }
}
