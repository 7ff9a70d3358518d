//! `user_abort_join.lua`: undoes the user's side of a join the room refused.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::{LiveId, UserId};
use crate::store::StoreResult;
use crate::store::keys::{Keys, pointer_value};
use crate::store::reply::{bad, int};
use crate::store::scripts::Scripts;

/// KEYS: the bucket of the user's pointer. ARGV: the user id, then the refused room's live_id, the refused join's seq, the room the
/// pointer named before it ('' for none).
pub struct UserAbortJoin<'a> {
    pub user: &'a UserId,
    pub room: &'a LiveId,
    pub seq: i64,
    pub previous: Option<&'a LiveId>,
}

/// `1` or `0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAbortJoinReply {
    /// The pointer and the seq are back as they were before the refused join.
    Restored,
    /// A later join or leave of the user came in between: it did not know to leave the
    /// previous room, so the caller does.
    Superseded,
}

impl ScriptCall for UserAbortJoin<'_> {
    type Reply = UserAbortJoinReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.user_abort_join
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation
            .key("users", keys.user_pointers(self.user.as_str()))
            .arg(self.user.as_str())
            .arg(self.room.as_str())
            .arg(self.seq)
            .arg(self.previous.map_or_else(String::new, pointer_value))
            .arg(pointer_value(self.room));
    }

    fn reply(answer: Value) -> StoreResult<UserAbortJoinReply> {
        match int(&answer) {
            Some(0) => Ok(UserAbortJoinReply::Superseded),
            Some(1) => Ok(UserAbortJoinReply::Restored),
            _ => Err(bad("user_abort_join")),
        }
    }
}
