//! `delete.lua`: the room goes, whatever its state; its event log stays a while.

use redis::{Script, Value};

use super::{Authority, Invocation, ScriptCall};
use crate::domain::ids::{LiveId, UserId};
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{int, status, text};
use crate::store::scripts::Scripts;

/// KEYS: the room's keys. ARGV: the caller's user id, how long the event log outlives the
/// room (ms), the caller's authority (an admin deletes any room).
pub struct Delete<'a> {
    pub room: &'a LiveId,
    pub user: &'a UserId,
    pub log_ttl_ms: u64,
    pub authority: Authority,
}

/// `{'OK', members held, the room's anchor}`.
pub struct DeleteReply {
    /// Members the room held (0 when it had ended already), set aside for the sweep.
    pub held: i64,
    /// Whose room it was (for the anchor's open-rooms quota).
    pub anchor: Option<String>,
    /// The room's sweep has work left (members or entries set aside): schedule it.
    pub sweep: bool,
}

impl ScriptCall for Delete<'_> {
    type Reply = DeleteReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.delete
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        invocation
            .arg(self.user.as_str())
            .arg(self.log_ttl_ms)
            .arg(self.authority);
    }

    fn reply(answer: Value) -> StoreResult<DeleteReply> {
        let (_, rest) = status(&answer, "delete")?;
        Ok(DeleteReply {
            held: rest.first().and_then(int).unwrap_or(0),
            anchor: rest.get(1).and_then(text),
            sweep: rest.get(2).and_then(int).unwrap_or(0) == 1,
        })
    }
}
