//! `purge.lua`: removes an ended room whose retention has passed.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::status;
use crate::store::scripts::Scripts;

/// KEYS: the room's keys. ARGV: none.
pub struct Purge<'a> {
    pub room: &'a LiveId,
}

/// `{'OK'}` or `{'KEEP'}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeReply {
    /// The room is gone (removed now, or already). Members still set aside are left to their
    /// release, which carries on without the room.
    Removed,
    /// The room is not ended: never purge a live room.
    Kept,
}

impl ScriptCall for Purge<'_> {
    type Reply = PurgeReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.purge
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
    }

    fn reply(answer: Value) -> StoreResult<PurgeReply> {
        Ok(match status(&answer, "purge")?.0.as_str() {
            "OK" => PurgeReply::Removed,
            _ => PurgeReply::Kept,
        })
    }
}
