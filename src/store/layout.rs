//! How a room's members are laid out over its rooms of members (issue 27; store/shards.rs):
//! over how many shards, and so which room of members holds a user. Computed from the layout
//! alone, by any replica, without a read.

use super::keys::{member_shard, shard_room};
use crate::domain::ids::LiveId;

/// How many rooms' layouts a replica remembers (a layout is fixed once a member has joined).
pub(super) const LAYOUTS_MAX: usize = 100_000;

/// How a room's members are laid out: over how many shards, and whose membership stays in the
/// room itself whatever the shards (the anchor's: its presence lives there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Layout {
    pub shards: u32,
    pub anchor: String,
}

impl Layout {
    /// The room of members that holds `user`'s membership of room `id`.
    pub(super) fn member_room(&self, id: &LiveId, user: &str) -> LiveId {
        if self.shards <= 1 || user == self.anchor {
            return id.clone();
        }
        shard_room(id, member_shard(user, self.shards), self.shards)
    }

    pub(super) fn sharded(&self) -> bool {
        self.shards > 1
    }
}

/// A sharded room's shard rooms' counts added up (all but the room itself), as a replica last
/// read them: a join's answer adds them to the room's own, fresh for at most
/// `SHARD_COUNTS_FRESH` (CONTRACT section 7's freshness of a count; `info` reads them exactly).
#[derive(Debug, Clone, Copy)]
pub(super) struct ShardCounts {
    pub read_at: std::time::Instant,
    pub online: u64,
    pub pv: u64,
    pub uv: u64,
}

/// How long a replica adds the shard rooms' counts it read to a join's answer.
pub(super) const SHARD_COUNTS_FRESH: std::time::Duration = std::time::Duration::from_secs(1);
