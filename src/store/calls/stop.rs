//! `stop.lua`: the live stops; O(1) whatever the crowd (the members are set aside).

use redis::{Script, Value};

use super::view::decode_view;
use super::{Authority, Invocation, ScriptCall};
use crate::domain::ids::{LiveId, UserId};
use crate::domain::room::Room;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{int, status};
use crate::store::scripts::Scripts;

/// KEYS: the room's keys. ARGV: the caller's user id, the member window (ms), its authority
/// (an admin stops any live room, with `reason: admin`).
pub struct Stop<'a> {
    pub room: &'a LiveId,
    pub user: &'a UserId,
    pub window_ms: u64,
    pub authority: Authority,
}

/// `{'OK', view…, members held}`.
pub struct StopReply {
    pub room: Room,
    /// Members the room held when it ended (set aside for the sweep to release).
    pub held: i64,
}

impl ScriptCall for Stop<'_> {
    type Reply = StopReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.stop
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        invocation
            .arg(self.user.as_str())
            .arg(self.window_ms)
            .arg(self.authority);
    }

    fn reply(answer: Value) -> StoreResult<StopReply> {
        let (_, rest) = status(&answer, "stop")?;
        Ok(StopReply {
            room: decode_view(rest)?,
            held: rest.get(4).and_then(int).unwrap_or(0),
        })
    }
}
