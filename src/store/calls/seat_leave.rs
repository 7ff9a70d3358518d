//! `seat_leave.lua`: a user leaves its seat (or withdraws its request), or the anchor or an
//! admin takes someone off.

use redis::{Script, Value};

use super::{Authority, Invocation, ScriptCall};
use crate::domain::ids::{LiveId, UserId};
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{int, status};
use crate::store::scripts::Scripts;

/// KEYS: the room's keys, then its seat requests. ARGV: the actor, its authority, the user
/// whose seat goes.
pub struct SeatLeave<'a> {
    pub room: &'a LiveId,
    pub actor: &'a UserId,
    pub authority: Authority,
    pub target: &'a UserId,
}

/// `{'OK', seat}`: the seat freed (0: a pending request was withdrawn).
impl ScriptCall for SeatLeave<'_> {
    type Reply = u32;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.seat_leave
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::seat_keys(invocation, keys, self.room);
        invocation
            .arg(self.actor.as_str())
            .arg(self.authority)
            .arg(self.target.as_str());
    }

    fn reply(answer: Value) -> StoreResult<u32> {
        let (_, rest) = status(&answer, "seat_leave")?;
        Ok(rest
            .first()
            .and_then(int)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0))
    }
}
