//! `may_watch.lua`: whether a user may watch a room's events.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::{LiveId, UserId};
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::status;
use crate::store::scripts::Scripts;

/// KEYS: the room's keys. ARGV: user_id, the member window (ms).
pub struct MayWatch<'a> {
    pub room: &'a LiveId,
    pub user: &'a UserId,
    pub window_ms: u64,
}

impl ScriptCall for MayWatch<'_> {
    /// `{'OK'}` for the room's anchor or a present member; `{'NOT_MEMBER'}` and `{'NOT_FOUND'}`
    /// become `StoreError::NotMember` and `StoreError::NotFound`.
    type Reply = ();

    fn script(scripts: &Scripts) -> &Script {
        &scripts.may_watch
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        invocation.arg(self.user.as_str()).arg(self.window_ms);
    }

    fn reply(answer: Value) -> StoreResult<()> {
        status(&answer, "may_watch").map(|_| ())
    }
}
