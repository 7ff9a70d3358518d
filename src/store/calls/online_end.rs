//! `online_end.lua`: an ended room's members leave the online total, once per room.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{bad, int};
use crate::store::scripts::Scripts;

/// KEYS: the online total, the rooms whose end it counted. ARGV: live_id, held, keep ms.
pub struct OnlineEnd<'a> {
    pub room: &'a LiveId,
    /// The members the room held when it ended.
    pub held: i64,
    /// How long the record that the room's end was counted is kept (longer than what the room
    /// owes is: `lib.lua` `end_room`).
    pub keep_ms: u64,
}

impl ScriptCall for OnlineEnd<'_> {
    /// Whether the end was counted now (false: it had been).
    type Reply = bool;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.online_end
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation
            .key("online_total", keys.online_total())
            .key("online_ended", keys.online_ended());
        invocation
            .arg(self.room.as_str())
            .arg(self.held)
            .arg(self.keep_ms);
    }

    fn reply(answer: Value) -> StoreResult<bool> {
        int(&answer).map(|n| n > 0).ok_or_else(|| bad("online_end"))
    }
}
