//! `index_sync.lua`: the global indexes brought in line with one room, ordered by its version.

use redis::{RedisWrite, Script, ToRedisArgs, Value};

use super::{Invocation, ScriptCall};
use crate::domain::ids::LiveId;
use crate::domain::room::LiveStatus;
use crate::store::StoreResult;
use crate::store::keys::Keys;
use crate::store::reply::{bad, int};
use crate::store::scripts::Scripts;

/// What the index is told of the room: its status, or that it is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indexed {
    Status(LiveStatus),
    /// Deleted: out of every index (and not brought back by a late, older update).
    Deleted,
}

impl ToRedisArgs for Indexed {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        match self {
            Self::Status(status) => status.code().write_redis_args(out),
            Self::Deleted => out.write_arg(b"d"),
        }
    }
}

/// KEYS: the index keys (`Keys::index`). ARGV: the gram prefix, live_id, version, status, created
/// ms, started ms, the offline-close deadline (ms), the purge deadline (ms; 0: keep), the folded
/// text ("title\x1fnick"), the per-anchor lists' prefix, the anchor, the room's card ('' on a
/// delete: left as it is).
pub struct IndexSync<'a> {
    pub room: &'a LiveId,
    pub version: i64,
    pub status: Indexed,
    pub created_ms: i64,
    pub started_ms: i64,
    pub close_at_ms: i64,
    pub purge_at_ms: i64,
    pub text: &'a str,
    /// Empty on a delete: the lists remember whose room it was.
    pub anchor: &'a str,
    /// Absent on a delete.
    pub card: Option<&'a str>,
}

impl ScriptCall for IndexSync<'_> {
    /// Whether the update applied (0: an older version than the index holds).
    type Reply = i64;

    fn script(scripts: &Scripts) -> &Script {
        &scripts.index_sync
    }

    fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
        super::index_keys(invocation, keys);
        invocation
            .arg(keys.gram_prefix())
            .arg(self.room.as_str())
            .arg(self.version)
            .arg(self.status)
            .arg(self.created_ms)
            .arg(self.started_ms)
            .arg(self.close_at_ms)
            .arg(self.purge_at_ms)
            .arg(self.text)
            .arg(keys.anchor_rooms_prefix())
            .arg(self.anchor);
        if let Some(card) = self.card {
            invocation.arg(card);
        }
    }

    fn reply(answer: Value) -> StoreResult<i64> {
        int(&answer).ok_or_else(|| bad("index_sync"))
    }
}
