//! `user_join.lua`: the user's side of a join (the next seq, the pointer moved to the room).

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::{LiveId, UserId};
use crate::store::StoreResult;
use crate::store::keys::{Keys, pointer_room, pointer_value};
use crate::store::reply::{array, bad, int, text};
use crate::store::scripts::Scripts;

/// KEYS: the bucket of the user's pointer. ARGV: the user id, then the room as the pointer keeps
/// it (`keys::pointer_value`).
pub struct UserJoin<'a> {
    pub user: &'a UserId,
    pub room: &'a LiveId,
}

/// `{seq, previous room or '', im_userid or ''}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserJoinReply {
    /// The seq of this join: the room applies it only over older joins and leaves of the user.
    pub seq: i64,
    /// The room the pointer named before (the join leaves it; it may be this very room).
    pub previous: Option<LiveId>,
    /// The user's im_userid, when one was given before (`None`: the join allocates it).
    pub im_userid: Option<i64>,
}

impl ScriptCall for UserJoin<'_> {
    type Reply = UserJoinReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.user_join
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation
            .key("users", keys.user_pointers(self.user.as_str()))
            .arg(self.user.as_str())
            .arg(pointer_value(self.room));
    }

    fn reply(answer: Value) -> StoreResult<UserJoinReply> {
        let parts = array(&answer).ok_or_else(|| bad("user_join"))?;
        let seq = parts
            .first()
            .and_then(int)
            .ok_or_else(|| bad("user_join"))?;
        Ok(UserJoinReply {
            seq,
            // '' when the user was in no room; the room as the pointer keeps it
            previous: parts
                .get(1)
                .and_then(text)
                .and_then(|prev| pointer_room(&prev)),
            // '' when the user has none yet
            im_userid: parts.get(2).and_then(int),
        })
    }
}
