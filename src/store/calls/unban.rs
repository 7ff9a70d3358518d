//! `unban.lua`: lifts a ban.

use redis::{Script, Value};

use super::{Authority, Invocation, ScriptCall};
use crate::domain::ids::{LiveId, UserId};
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{int, status};
use crate::store::scripts::Scripts;

/// KEYS: the room's keys (the bans the tenth). ARGV: actor user_id, its authority, target user_id.
pub struct Unban<'a> {
    pub room: &'a LiveId,
    pub actor: &'a UserId,
    pub authority: Authority,
    pub target: &'a UserId,
}

impl ScriptCall for Unban<'_> {
    /// `{'OK', 1 when a ban was lifted (0: there was none)}`: whether one was;
    /// `NOT_FOUND` and `FORBIDDEN` become `StoreError`s.
    type Reply = bool;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.unban
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        invocation
            .arg(self.actor.as_str())
            .arg(self.authority)
            .arg(self.target.as_str());
    }

    fn reply(answer: Value) -> StoreResult<bool> {
        let (_, rest) = status(&answer, "unban")?;
        Ok(rest.first().and_then(int) == Some(1))
    }
}
