//! `online_end.lua`: an ended room's members leave the online total, once per room.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{bad, int};
use crate::store::scripts::Scripts;

/// KEYS: the online total, the rooms whose end it counted. ARGV: the record (the live_id, or
/// for a kick the live_id, user and seq), held, keep ms.
pub struct OnlineEnd<'a> {
    pub room: &'a LiveId,
    /// A kick's member leaving (user, the seq the kick saw), counted once per kick; `None`:
    /// the room's end.
    pub kicked: Option<(&'a str, i64)>,
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
        let record = match self.kicked {
            Some((user, seq)) => format!("{}\tkick\t{user}\t{seq}", self.room.as_str()),
            None => self.room.as_str().to_owned(),
        };
        invocation.arg(record).arg(self.held).arg(self.keep_ms);
    }

    fn reply(answer: Value) -> StoreResult<bool> {
        int(&answer).map(|n| n > 0).ok_or_else(|| bad("online_end"))
    }
}
