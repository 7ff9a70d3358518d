//! `user_leave.lua`: the user's side of a leave (the next seq, the pointer cleared).

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::{LiveId, UserId};
use crate::store::StoreResult;
use crate::store::keys::{Keys, pointer_value};
use crate::store::reply::{array, bad, int};
use crate::store::scripts::Scripts;

/// KEYS: the bucket of the user's pointer. ARGV: the user id, then the room's live_id.
pub struct UserLeave<'a> {
    pub user: &'a UserId,
    pub room: &'a LiveId,
}

/// `{seq, known}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserLeaveReply {
    /// The seq of this leave (the room's eviction is applied only over older joins).
    pub seq: i64,
    /// Whether the user has an im_userid in the pointer buckets (false: first seen there).
    pub known: bool,
}

impl ScriptCall for UserLeave<'_> {
    type Reply = UserLeaveReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.user_leave
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation
            .key("users", keys.user_pointers(self.user.as_str()))
            .arg(self.user.as_str())
            .arg(self.room.as_str())
            .arg(pointer_value(self.room));
    }

    fn reply(answer: Value) -> StoreResult<UserLeaveReply> {
        let parts = array(&answer).ok_or_else(|| bad("user_leave"))?;
        let field = |i: usize| parts.get(i).and_then(int).ok_or_else(|| bad("user_leave"));
        Ok(UserLeaveReply {
            seq: field(0)?,
            known: field(1)? == 1,
        })
    }
}
