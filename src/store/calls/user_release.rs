//! `user_release.lua`: the user's pointer cleared once a room let the user go.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::store::StoreResult;
use crate::store::keys::{Keys, pointer_value};
use crate::store::reply::{bad, int};
use crate::store::scripts::Scripts;

/// KEYS: the bucket of the user's pointer. ARGV: the user id, then the room's id, the seq of the user's join it let go.
pub struct UserRelease<'a> {
    pub user: &'a str,
    pub room: &'a LiveId,
    pub seq: i64,
}

impl ScriptCall for UserRelease<'_> {
    /// Whether the pointer was cleared (not when the user joined or left anything since).
    type Reply = bool;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.user_release
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation
            .key("users", keys.user_pointers(self.user))
            .arg(self.user)
            .arg(self.room.as_str())
            .arg(self.seq)
            .arg(pointer_value(self.room));
    }

    fn reply(answer: Value) -> StoreResult<bool> {
        Ok(int(&answer).ok_or_else(|| bad("user_release"))? > 0)
    }
}
