//! `kicked.lua`: the seq at which a kick removed a user, for the replay of its follow-ups.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::int;
use crate::store::scripts::Scripts;

/// KEYS: the room's keys. ARGV: user_id.
pub struct Kicked<'a> {
    pub room: &'a LiveId,
    pub user: &'a str,
}

impl ScriptCall for Kicked<'_> {
    /// The kick's seq while the user is still out of the room; `None` otherwise.
    type Reply = Option<i64>;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.kicked
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        invocation.arg(self.user);
    }

    fn reply(answer: Value) -> StoreResult<Option<i64>> {
        Ok(int(&answer).filter(|seq| *seq >= 0))
    }
}
