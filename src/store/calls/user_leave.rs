//! `user_leave.lua`: the user's side of a leave (the next seq, the pointer cleared).

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::{LiveId, UserId};
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{bad, int};
use crate::store::scripts::Scripts;

/// KEYS: the bucket of the user's pointer. ARGV: the user id, then the room's live_id.
pub struct UserLeave<'a> {
    pub user: &'a UserId,
    pub room: &'a LiveId,
}

impl ScriptCall for UserLeave<'_> {
    /// The seq of this leave (the room's eviction is applied only over older joins).
    type Reply = i64;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.user_leave
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation
            .key("users", keys.user_pointers(self.user.as_str()))
            .arg(self.user.as_str())
            .arg(self.room.as_str());
    }

    fn reply(answer: Value) -> StoreResult<i64> {
        int(&answer).ok_or_else(|| bad("user_leave"))
    }
}
