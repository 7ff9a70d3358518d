//! `card.lua`: a room's card refreshed at the version the index holds.

use redis::{Script, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{bad, int};
use crate::store::scripts::Scripts;

/// KEYS: the index keys. ARGV: the gram prefix, live_id, the version the card is of, the card.
pub struct Card<'a> {
    pub room: &'a LiveId,
    pub version: i64,
    pub card: &'a str,
}

impl ScriptCall for Card<'_> {
    /// Whether it was written (only when the index holds the room at exactly that version).
    type Reply = bool;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.card
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::index_keys(invocation, keys);
        invocation
            .arg(keys.gram_prefix())
            .arg(self.room.as_str())
            .arg(self.version)
            .arg(self.card);
    }

    fn reply(answer: Value) -> StoreResult<bool> {
        Ok(int(&answer).ok_or_else(|| bad("card"))? > 0)
    }
}
