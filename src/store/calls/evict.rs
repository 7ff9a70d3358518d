//! `evict.lua`: a user leaves the room, by leaving it or by joining another.

use redis::{Script, Value};

use super::{Invocation, ScriptCall, Share, due_in, flag};
use crate::domain::ids::{LiveId, UserId};
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::status;
use crate::store::scripts::Scripts;

/// Why the member goes: written into its `member_left` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictReason {
    /// The user left the room.
    Left,
    /// The user joined another room.
    Moved,
}

impl EvictReason {
    fn word(self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::Moved => "moved",
        }
    }
}

/// KEYS: the room's keys. ARGV: user id, the seq of the leave or of the join elsewhere, the
/// reason ('left' | 'moved'), the member window (ms).
pub struct Evict<'a> {
    pub room: &'a LiveId,
    pub user: &'a UserId,
    pub seq: i64,
    pub reason: EvictReason,
    pub window_ms: u64,
}

/// `{'OK', removed, due in, online count said}` (`{'OK', 0, -1}` when there was nothing to do);
/// `'NOT_FOUND'` becomes `StoreError::NotFound`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvictReply {
    /// A member was taken out of the room (one fewer online).
    pub removed: bool,
    /// The room must come due on the sweep schedule within this many ms (an unsaid online
    /// count).
    pub due_in_ms: Option<u64>,
    /// The online count was said: the room's card in the index follows (issue 18).
    pub announced: bool,
    /// The room's share of the online total, when a member was removed.
    pub share: Option<Share>,
}

impl ScriptCall for Evict<'_> {
    type Reply = EvictReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.evict
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        invocation
            .arg(self.user.as_str())
            .arg(self.seq)
            .arg(self.reason.word())
            .arg(self.window_ms);
    }

    fn reply(answer: Value) -> StoreResult<EvictReply> {
        let (_, rest) = status(&answer, "evict")?;
        Ok(EvictReply {
            removed: flag(rest.first()),
            due_in_ms: due_in(rest.get(1)),
            announced: flag(rest.get(2)),
            share: Share::at(rest, 3),
        })
    }
}
