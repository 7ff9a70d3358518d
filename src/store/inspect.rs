//! What tools outside the service (the benchmarks in `bench/`) may know of the store: the names
//! of the keys it writes and the SHA of each script, so that they can read Redis the way the
//! service left it. Names only, read-only; the key schema and the scripts stay private to
//! `store::keys` and `store::scripts`.

use super::keys::Keys;
use super::scripts::Scripts;
use crate::domain::ids::LiveId;

/// Key names under one deployment's prefix.
pub struct KeyNames {
    keys: Keys,
}

impl KeyNames {
    pub fn new(prefix: &str) -> Self {
        Self {
            keys: Keys::new(prefix),
        }
    }

    /// A room's keys, in the order the per-room scripts take them (`lua/lib.lua`): the room
    /// hash first, then members, join order, entries, …
    pub fn room(&self, id: &LiveId) -> Vec<String> {
        self.keys.room(id).to_vec()
    }

    /// The bucket hash that holds the user's pointer: field = the user id, value =
    /// `seq TAB im_userid TAB room` (the room empty when the user is in no room; compact, read
    /// it with [`pointer_room`]).
    pub fn user_pointers(&self, user_id: &str) -> String {
        self.keys.user_pointers(user_id)
    }

    /// The hash tag of shard `shard` of a room over `shards` tags (issue 27, designed in
    /// docs/architecture.md; shard 0 is the room's own tag).
    pub fn room_shard_tag(&self, id: &LiveId, shard: u32, shards: u32) -> String {
        super::keys::room_shard_tag(id, shard, shards)
    }

    /// Which of a room's `shards` would hold the user's membership.
    pub fn member_shard(&self, user_id: &str, shards: u32) -> u32 {
        super::keys::member_shard(user_id, shards)
    }

    /// The Redis Cluster slot of a hash tag.
    pub fn slot_of(&self, tag: &str) -> u32 {
        super::keys::slot_of(tag)
    }

    /// The sweep schedule (rooms by when something about them comes due).
    pub fn sweep_due(&self) -> String {
        let [due, _claims] = self.keys.sweep_schedule();
        due
    }
}

/// The room a pointer's third field names (compact, or a live_id as older pointers keep it).
pub fn pointer_room(stored: &str) -> Option<LiveId> {
    super::keys::pointer_room(stored)
}

/// The text of a script exactly as the service loads it (prelude and default event-log
/// settings included), so that a benchmark replays the same script (same SHA). The heartbeat,
/// the one script benchmarks replay, is the only one offered.
pub fn script_text(name: &str) -> Option<String> {
    (name == "heartbeat").then(|| super::scripts::heartbeat_text(&Default::default()))
}

/// Every script as Redis knows it: the name of its `.lua` file and the SHA1 of the text the
/// service loads (prelude included, default event-log settings).
pub fn script_shas() -> Vec<(&'static str, String)> {
    Scripts::new()
        .named()
        .into_iter()
        .map(|(name, script)| (name, script.get_hash().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heartbeat_text_is_the_script_the_service_loads() {
        let text = script_text("heartbeat").unwrap_or_default();
        let loaded = script_shas()
            .into_iter()
            .find(|(name, _)| *name == "heartbeat")
            .map(|(_, sha)| sha);
        assert_eq!(
            Some(redis::Script::new(&text).get_hash().to_owned()),
            loaded
        );
        assert_eq!(script_text("no-such-script"), None);
    }
}
