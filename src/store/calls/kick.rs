//! `kick.lua`: kicks a user out of a room, and bans them for a while.

use redis::{RedisWrite, Script, ToRedisArgs, Value};

use super::{Invocation, ScriptCall, Share, due_in};
use crate::domain::ids::{LiveId, UserId};
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{int, status, text};
use crate::store::scripts::Scripts;

/// On what authority a moderation call acts (`kick.lua`, `unban.lua`, `bans.lua`): on the wire
/// `'1'` for an admin, `'0'` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    /// The actor must be the room's anchor (the script refuses anyone else: `FORBIDDEN`).
    Anchor,
    /// An admin, for any room.
    Admin,
}

impl Authority {
    pub fn of(admin: bool) -> Self {
        if admin { Self::Admin } else { Self::Anchor }
    }
}

impl ToRedisArgs for Authority {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        out.write_arg(match self {
            Self::Admin => b"1",
            Self::Anchor => b"0",
        });
    }
}

/// KEYS: the room's keys (the bans the tenth). ARGV: actor user_id, its authority, target
/// user_id, ban ms (0: no ban), the member window (ms), the most bans a room may hold.
pub struct Kick<'a> {
    pub room: &'a LiveId,
    pub actor: &'a UserId,
    pub authority: Authority,
    pub target: &'a UserId,
    pub ban_ms: u64,
    pub window_ms: u64,
    pub max_bans: u32,
}

/// `{'OK', removed (0/1), the member's seq, end of the ban ms (0: none), due in, anchor}`;
/// `NOT_FOUND`, `FORBIDDEN`, `INVALID` (the anchor itself) and `QUOTA` (the room's bans are
/// full) become `StoreError`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KickReply {
    /// The target was a member and is not any more: the seq of its join, for the release of its
    /// user pointer.
    pub removed_seq: Option<i64>,
    /// End of the ban, unix ms (0: no ban).
    pub ban_end_ms: i64,
    /// The room must come due on the sweep schedule within this many ms.
    pub due_in_ms: Option<u64>,
    /// The room's anchor (for the log of admin actions).
    pub anchor: String,
    /// The room's share of the online total after the kick.
    pub share: Option<Share>,
}

impl ScriptCall for Kick<'_> {
    type Reply = KickReply;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.kick
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::room_keys(invocation, keys, self.room);
        invocation
            .arg(self.actor.as_str())
            .arg(self.authority)
            .arg(self.target.as_str())
            .arg(self.ban_ms)
            .arg(self.window_ms)
            .arg(self.max_bans);
    }

    fn reply(answer: Value) -> StoreResult<KickReply> {
        let (_, rest) = status(&answer, "kick")?;
        let num = |i: usize| rest.get(i).and_then(int).unwrap_or(0);
        Ok(KickReply {
            removed_seq: (num(0) == 1).then(|| num(1)),
            ban_end_ms: num(2),
            due_in_ms: due_in(rest.get(3)),
            anchor: rest.get(4).and_then(text).unwrap_or_default(),
            share: Share::at(rest, 5),
        })
    }
}
