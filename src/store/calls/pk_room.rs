//! `pk_room.lua`: one room converged to what its PK's record says.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::domain::interaction::Pk;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{int, status};
use crate::store::scripts::Scripts;

/// What the room is to show of the PK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkRoomState {
    Invited,
    Active,
    Ended,
}

/// KEYS: the room's keys. ARGV: pk_id, ver, state, is the target, reason, extends JSON, init
/// live_id, init anchor, target live_id.
pub struct PkRoom<'a> {
    pub room: &'a LiveId,
    pub pk: &'a Pk,
    pub state: PkRoomState,
    /// For a record that never came to be (its invitation died before it): the reason
    /// written to nobody (no room showed it) and version 0.
    pub reason: &'a str,
}

/// What became of the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkRoomReply {
    /// Converged (`changed`: this call changed what the room shows, and wrote its event).
    Converged { changed: bool },
    /// Not live (or deleted): it cannot be in the PK, which must end.
    Gone,
}

impl ScriptCall for PkRoom<'_> {
    type Reply = PkRoomReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.pk_room
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        let pk = self.pk;
        invocation
            .arg(pk.pk_id.as_str())
            .arg(pk.version)
            .arg(match self.state {
                PkRoomState::Invited => "invited",
                PkRoomState::Active => "active",
                PkRoomState::Ended => "ended",
            })
            .arg(if *self.room == pk.target_live_id {
                "1"
            } else {
                "0"
            })
            .arg(self.reason)
            .arg(serde_json::to_string(&pk.extends).unwrap_or_else(|_| "{}".into()))
            .arg(pk.init_live_id.as_str())
            .arg(pk.init_anchor_id.as_str())
            .arg(pk.target_live_id.as_str());
    }

    fn reply(answer: Value) -> StoreResult<PkRoomReply> {
        let (word, rest) = status(&answer, "pk_room")?;
        if word == "GONE" {
            return Ok(PkRoomReply::Gone);
        }
        Ok(PkRoomReply::Converged {
            changed: rest.first().and_then(int).is_some_and(|n| n > 0),
        })
    }
}
