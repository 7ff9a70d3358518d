//! `open_slot.lua`: the anchor's open-rooms quota, reserved before the room exists.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::store::keys::Keys;
use crate::store::reply::status;
use crate::store::scripts::Scripts;
use crate::store::{StoreError, StoreResult};

/// What to do with the anchor's slot for one room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotChange {
    /// Take a slot before the room exists, at most `limit` taken; the reservation lapses after
    /// `ttl_ms` unless the room's follow-ups turn it into membership first.
    Reserve { limit: u64, ttl_ms: u64 },
    /// The room exists and has not ended.
    Open,
    /// The room ended, is gone or was never created.
    Closed,
}

/// KEYS: the anchor's open rooms, its reservations. ARGV: op, live_id, limit, ttl ms.
pub struct OpenSlot<'a> {
    pub anchor: &'a str,
    pub room: &'a LiveId,
    pub change: SlotChange,
}

impl ScriptCall for OpenSlot<'_> {
    /// `Err(QuotaExceeded(open))` when a reservation finds the anchor at the limit (the message
    /// is the number taken: the caller words the refusal).
    type Reply = ();

    fn script(scripts: &Scripts) -> &Script {
        &scripts.open_slot
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        invocation
            .key("open_rooms", keys.open_rooms(self.anchor))
            .key("open_reserved", keys.open_reserved(self.anchor));
        let (op, limit, ttl) = match self.change {
            SlotChange::Reserve { limit, ttl_ms } => ("reserve", limit, ttl_ms),
            SlotChange::Open => ("open", 0, 0),
            SlotChange::Closed => ("closed", 0, 0),
        };
        invocation
            .arg(op)
            .arg(self.room.as_str())
            .arg(limit)
            .arg(ttl);
    }

    fn reply(answer: Value) -> StoreResult<()> {
        status(&answer, "open_slot").and_then(|(word, _)| match word.as_str() {
            "OK" => Ok(()),
            _ => Err(StoreError::Internal(format!("open_slot answered {word}"))),
        })
    }
}
