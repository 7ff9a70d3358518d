//! The whole Redis key schema, in one place.
//!
//! Every key of one room carries the room's id as its hash tag (`{live_…}`), so a room's
//! multi-key changes run as one script on one Redis Cluster slot. A user's pointer (room, seq,
//! im_userid) is one field of a shared bucket hash, `users:{bN}` (see [`Keys::user_pointers`]);
//! an anchor's and a watcher's own keys are `user:{user_id}:…`. The global indexes share the hash tag
//! `{rooms}`, so that search can intersect them in one script. Counters are single keys.

use crate::domain::ids::LiveId;
use crate::domain::interaction::PkId;

#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

/// The keys of one room, in the order every per-room script takes them (see lua/lib.lua).
pub type RoomKeys = [String; 10];

/// Each of a room's keys: its name in the scripts' key contract (lib.lua's `--! KEYS:` header),
/// and what follows `room:{id}` in it; in the order every per-room script takes them.
const ROOM_KEYS: [(&str, &str); 10] = [
    // the room's hash
    ("room", ""),
    // zset: user -> last heartbeat ms
    ("members", ":members"),
    // the join order: a hash of chunks of member ids and a Fenwick tree of their counts
    // (lib.lua `order_push`); not `:order`, the sorted set it replaced (a key of another type)
    ("order", ":joins"),
    // hash: user -> "seq:pv\timid\tprofile json" (or "seq" once gone); the first bucket of the
    // entries, `:entries:<b>` the others, named by the scripts (lib.lua `entry_key`)
    ("entries", ":entries"),
    // HyperLogLog of the users who ever joined
    ("uv", ":uv"),
    // the anchor's presence (a TTL of one member window)
    ("anchor", ":anchor"),
    // the room's event log (stream)
    ("events", ":events"),
    // members of an ended room, set aside until the sweeper released them; once the room is
    // deleted, how many buckets its entries (left in place for the release) have
    ("leaving", ":leaving"),
    ("leaving_entries", ":leaving_entries"),
    // bans: user -> end of the ban (ms); expires with its last ban, goes with the room
    ("bans", ":bans"),
];

/// The names of a room's keys, in the scripts' order (lib.lua's `--! KEYS:` header; checked by
/// store/calls/contract.rs).
#[cfg(test)]
pub const ROOM_KEY_NAMES: [&str; 10] = {
    let mut names = [""; 10];
    let mut i = 0;
    while i < ROOM_KEYS.len() {
        names[i] = ROOM_KEYS[i].0;
        i += 1;
    }
    names
};

/// The global index keys' names, in the order every index script takes them (index_lib.lua's
/// `--! KEYS:` header).
pub const INDEX_KEY_NAMES: [&str; 7] = [
    "live", "close_at", "purge_at", "seq", "deleted", "phrases", "owner",
];

/// The sweep schedule's keys' names (schedule.lua, claim.lua, reschedule.lua).
pub const SWEEP_KEY_NAMES: [&str; 2] = ["sweep_due", "sweep_claims"];

/// The places (0-based) in [`ROOM_KEYS`] of the keys a heartbeat touches (`heartbeat_fn.lua`:
/// lib.lua's K[1]–K[4], K[6], K[7]).
const HEARTBEAT_ROOM_KEYS: [usize; 6] = [0, 1, 2, 3, 5, 6];

/// The global index keys, in the order every index script takes them (see lua/index_lib.lua).
pub type IndexKeys = [String; 7];

impl Keys {
    /// `prefix` lets several deployments (or tests) share one Redis.
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    pub fn room(&self, id: &LiveId) -> RoomKeys {
        ROOM_KEYS.map(|(_, suffix)| self.room_key(id, suffix))
    }

    /// A room's keys with their names in the key contract.
    pub fn room_named(&self, id: &LiveId) -> [(&'static str, String); 10] {
        ROOM_KEYS.map(|(name, suffix)| (name, self.room_key(id, suffix)))
    }

    /// The six of the room's keys that a heartbeat touches (the room, members, join order,
    /// entries, anchor presence, events), in lib.lua's order: what `heartbeat_batch.lua` takes
    /// per room, so that a batch of heartbeats in many rooms carries (and Redis parses) no key
    /// that it does not use.
    pub fn heartbeat_room(&self, id: &LiveId) -> [(&'static str, String); 6] {
        HEARTBEAT_ROOM_KEYS.map(|place| {
            let (name, suffix) = ROOM_KEYS[place];
            (name, self.room_key(id, suffix))
        })
    }

    /// The four keys a like touches (like_batch.lua): the room, its members (is the liker
    /// present?), its event log, and the per-user like totals.
    pub fn like_room(&self, id: &LiveId) -> [(&'static str, String); 4] {
        [
            ("room", self.room_key(id, "")),
            ("members", self.room_key(id, ":members")),
            ("events", self.room_key(id, ":events")),
            ("likes", self.room_likes(id)),
        ]
    }

    /// Hash: user -> that user's like total in the room. Not one of `ROOM_KEYS` (only the like
    /// script reads it); bounded by like_batch.lua (at most `likers_max` fields, expires a day
    /// after the room's last like), in the room's slot.
    pub fn room_likes(&self, id: &LiveId) -> String {
        self.room_key(id, ":likes")
    }

    fn room_key(&self, id: &LiveId, suffix: &str) -> String {
        format!("{}room:{{{id}}}{suffix}", self.prefix)
    }

    /// A room's pending seat requests (`apply` rooms; a hash: user -> request), in the room's
    /// slot, passed after the room's keys to the seat scripts (lua/seat_fn.lua). The seats
    /// themselves are fields of the room's hash (lua/lib.lua).
    pub fn seat_requests(&self, id: &LiveId) -> String {
        self.room_key(id, ":seat_requests")
    }

    /// The bucket hash that holds the user's pointer: field = the user id, value =
    /// `seq TAB im_userid TAB room` (lua/user_join.lua; the room compact: [`pointer_room`]). Shared by the users whose id hashes
    /// to the bucket, so that a user costs one small field of a listpack hash (~60 bytes)
    /// instead of a key of its own (~176 bytes with the key's overhead; issue 27). Buckets
    /// spread over the cluster's slots like the users did.
    pub fn user_pointers(&self, user_id: &str) -> String {
        format!("{}users:{{b{}}}", self.prefix, user_bucket(user_id))
    }

    /// The user's own hash of the layout before the shared buckets (room, seq, imid): read
    /// once, the first time a user is seen in the buckets, to carry their seq and im_userid
    /// over (rooms.rs `allocate_im_userid`), then unlinked.
    pub fn legacy_user(&self, user_id: &str) -> String {
        format!("{}user:{{{user_id}}}", self.prefix)
    }

    /// The anchor's rooms not ended (a set, in the user's slot), for the open-rooms quota.
    pub fn open_rooms(&self, user_id: &str) -> String {
        format!("{}user:{{{user_id}}}:open", self.prefix)
    }

    /// The anchor's reservations of rooms being created (a zset in the user's slot: live_id ->
    /// deadline ms), counted with `open_rooms` by the quota (open_slot.lua).
    pub fn open_reserved(&self, user_id: &str) -> String {
        format!("{}user:{{{user_id}}}:opening", self.prefix)
    }

    /// The user's open event streams over all replicas (a zset: stream id -> expiry ms), in
    /// the user's slot, for the per-user stream cap.
    pub fn sse_streams(&self, user_id: &str) -> String {
        format!("{}user:{{{user_id}}}:sse", self.prefix)
    }

    /// The index keys with their names in the key contract.
    pub fn index_named(&self) -> [(&'static str, String); 7] {
        let mut names = INDEX_KEY_NAMES.into_iter();
        self.index()
            .map(|key| (names.next().unwrap_or_default(), key))
    }

    pub fn index(&self) -> IndexKeys {
        let p = &self.prefix;
        let g = self.gram_prefix();
        [
            // live rooms: live_id -> started ms (the live list)
            format!("{p}idx:{{rooms}}:live"),
            // live rooms by their offline-close deadline, ended rooms by their purge deadline
            format!("{p}idx:{{rooms}}:close_at"),
            format!("{p}idx:{{rooms}}:purge_at"),
            // the search index's last room number, its recently deleted rooms, its phrases
            format!("{g}#seq"),
            format!("{g}#del"),
            format!("{g}#ph"),
            // the per-anchor lists' owners: live_id -> anchor
            format!("{}owner", self.anchor_rooms_prefix()),
        ]
    }

    /// Prefix of the per-anchor room lists (zsets by room number, newest created first):
    /// `…a:{user}` every room of the anchor, `…0:{user}` / `…1:{user}` / `…2:{user}` by status,
    /// and the hash `…owner` (live_id -> anchor). Kept by index_sync.lua, in the `{rooms}` slot.
    pub fn anchor_rooms_prefix(&self) -> String {
        format!("{}idx:{{rooms}}:anchor:", self.prefix)
    }

    /// One anchor's list of rooms: all of them, or those of one status (0, 1, 2).
    pub fn anchor_rooms(&self, anchor: &str, status: Option<i64>) -> String {
        let which = status.map_or_else(|| "a".to_owned(), |s| s.to_string());
        format!("{}{which}:{anchor}", self.anchor_rooms_prefix())
    }

    /// Prefix of the search gram sets (`…:g:` + one character or a pair of characters).
    pub fn gram_prefix(&self) -> String {
        format!("{}idx:{{rooms}}:g:", self.prefix)
    }

    /// The sweep schedule (rooms by the earliest moment something about them can come due:
    /// a member's lapse, the anchor's presence, an unsaid online count, members to release)
    /// and the claims of the replicas sweeping them.
    pub fn sweep_schedule_named(&self) -> [(&'static str, String); 2] {
        let [due, claims] = self.sweep_schedule();
        [(SWEEP_KEY_NAMES[0], due), (SWEEP_KEY_NAMES[1], claims)]
    }

    pub fn sweep_schedule(&self) -> [String; 2] {
        let p = &self.prefix;
        [
            format!("{p}idx:{{rooms}}:sweep_due"),
            format!("{p}idx:{{rooms}}:sweep_claims"),
        ]
    }

    /// The intents of changes that span slots (intent.lua): rooms whose follow-ups are owed,
    /// by when the sweep carries them out, and who owes them (token and anchor).
    pub fn followups_named(&self) -> [(&'static str, String); 2] {
        let p = &self.prefix;
        [
            ("followups", format!("{p}idx:{{rooms}}:followups")),
            ("followup_of", format!("{p}idx:{{rooms}}:followup_of")),
        ]
    }

    /// A cross-room PK's record (a hash in its own slot, `{pk_…}`: pk_record.lua).
    pub fn pk(&self, id: &PkId) -> String {
        format!("{}pk:{{{id}}}", self.prefix)
    }

    /// The PKs' keys in `{rooms}` (pk_reserve.lua, pk_intent.lua, claim.lua): each room's PK
    /// (the reservation: a room is in at most one), the PKs due to the sweep (an intent's
    /// grace, an invitation's expiry) and each PK's rooms and intent token.
    pub fn pk_index_named(&self) -> [(&'static str, String); 3] {
        let p = &self.prefix;
        [
            ("pk_rooms", format!("{p}idx:{{rooms}}:pk_rooms")),
            ("pk_due", format!("{p}idx:{{rooms}}:pk_due")),
            ("pk_of", format!("{p}idx:{{rooms}}:pk_of")),
        ]
    }

    /// The PK invitations one anchor sent in one hour (`hour`: unix hours), a counter in
    /// `{rooms}`: the cap on the PK records one anchor can make.
    pub fn pk_invites(&self, anchor: &str, hour: u64) -> String {
        format!("{}idx:{{rooms}}:pk_invites:{hour}:{anchor}", self.prefix)
    }

    /// Members online on the whole platform, kept as members come and go (a gauge).
    /// A key of its own slot: joins and leaves of every room update it.
    pub fn online_total(&self) -> String {
        // not `stat:{online}`, the total the replicas before the shares kept by deltas: a new
        // key starts at 0 and the rooms' first reports fill it, so a rolling upgrade needs no
        // manual reset (the old replicas' deltas go to the old key, which nothing new reads)
        format!("{}stat:{{online}}:sum", self.prefix)
    }

    /// Each room's share of the online total: its last reported member count (a hash in the
    /// total's slot: live_id -> count; online_set.lua).
    pub fn online_rooms(&self) -> String {
        format!("{}stat:{{online}}:rooms", self.prefix)
    }

    /// The version of each room's membership its share was reported at (live_id -> version).
    pub fn online_vers(&self) -> String {
        format!("{}stat:{{online}}:ver", self.prefix)
    }

    /// The rooms that ended, whose share left the online total (a zset in the total's slot:
    /// live_id -> when the record may go), so that a late report of them changes nothing.
    pub fn online_ended(&self) -> String {
        format!("{}stat:{{online}}:ended", self.prefix)
    }

    pub fn live(&self) -> String {
        format!("{}idx:{{rooms}}:live", self.prefix)
    }

    pub fn close_at(&self) -> String {
        format!("{}idx:{{rooms}}:close_at", self.prefix)
    }

    pub fn purge_at(&self) -> String {
        format!("{}idx:{{rooms}}:purge_at", self.prefix)
    }

    /// Rooms whose event log has webhooks to deliver.
    pub fn webhook_pending(&self) -> String {
        format!("{}idx:{{rooms}}:webhook_pending", self.prefix)
    }

    /// A replica's lease (a string with a TTL, renewed every carry period while the process
    /// lives; `token` is the replica's carrier token): the event streams' slots of a replica
    /// whose lease is gone are freed at the next open at the cap (`sse_slot.lua` `reap`).
    pub fn replica_lease(&self, token: &str) -> String {
        format!("{}replica:{{{token}}}", self.prefix)
    }

    /// The lease of the replica delivering a room's webhooks.
    pub fn webhook_lease(&self, id: &LiveId) -> String {
        format!("{}room:{{{id}}}:webhook_lease", self.prefix)
    }

    /// A rate-limit counter: one subject (`u:{user}` or `ip:{addr}`), one one-second window.
    pub fn rate_window(&self, subject: &str, index: u64) -> String {
        format!("{}rl:{{{subject}}}:{index}", self.prefix)
    }

    pub fn chat_id_counter(&self) -> String {
        format!("{}seq:chat_id", self.prefix)
    }

    pub fn im_userid_counter(&self) -> String {
        format!("{}seq:im_userid", self.prefix)
    }
}

/// How many buckets hold the users' pointers. Fixed: a user's bucket must never move (its seq
/// and im_userid live there). A bucket stays a listpack (compact) up to Redis's
/// `hash-max-listpack-entries` (512 by default): 4096 buckets hold 2 000 000 users compactly
/// (about 4 bytes of key overhead each at 100 000 users); beyond, a bucket turns into a
/// hashtable and its users cost ~100 bytes each, still less than a key of their own
/// (docs/operations.md, *Sizing*).
pub const USER_BUCKETS: u32 = 4096;

/// The user's bucket: FNV-1a (32 bits) of the id, modulo [`USER_BUCKETS`]. Stable across
/// versions and platforms (tools outside the service compute it too: `store::inspect`).
pub fn user_bucket(user_id: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in user_id.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash % USER_BUCKETS
}

/// A room as a user's pointer keeps it: the 16 bytes its live_id's hex digits spell, in
/// base64url without padding (22 bytes instead of 37: issue 27). Computed here, not in the
/// scripts (a Lua loop over the digits costs Redis far more: docs/operations.md, *Sizing*);
/// the scripts take both forms (lua/pointer_lib.lua).
pub fn pointer_value(id: &LiveId) -> String {
    use base64::Engine as _;
    // a shard room keeps its `#n` after the room's compact form
    let (room, shard) = id.as_str().split_once('#').unwrap_or((id.as_str(), ""));
    let hex = room.strip_prefix("live_").unwrap_or_default();
    match hex::decode(hex) {
        Ok(bytes) if shard.is_empty() => {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        }
        Ok(bytes) => format!(
            "{}#{shard}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        ),
        // not a server-made id (cannot happen: LiveId parses the form): kept whole
        Err(_) => id.as_str().to_owned(),
    }
}

/// The room a user's pointer names, as the pointer keeps it ([`pointer_value`]), or the
/// live_id itself as pointers written before kept it. `None` for '' (no room) or anything else.
pub fn pointer_room(stored: &str) -> Option<LiveId> {
    use base64::Engine as _;
    if let Some(id) = LiveId::parse_member_room(stored) {
        return Some(id);
    }
    let (room, shard) = match stored.split_once('#') {
        Some((room, shard)) => (room, Some(shard)),
        None => (stored, None),
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(room)
        .ok()
        .filter(|b| b.len() == 16)?;
    let room = format!("live_{}", hex::encode(bytes));
    match shard {
        Some(shard) => LiveId::parse_member_room(&format!("{room}#{shard}")),
        None => LiveId::parse(&room),
    }
}

/// Redis Cluster's slots: a key's slot is the CRC16 (XMODEM) of its hash tag modulo this.
pub const SLOTS: u32 = 16_384;

/// The slot of a hash tag, as Redis Cluster computes it (CRC16/XMODEM, mod 16 384).
pub fn slot_of(tag: &str) -> u32 {
    let mut crc: u16 = 0;
    for byte in tag.bytes() {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    u32::from(crc) % SLOTS
}

/// The hash tag of shard `shard` of a room whose members are spread over `shards` tags
/// (docs/architecture.md, *Members over S hash tags*). Shard 0 is the room's own tag, so a room
/// of one shard is today's layout. Shard s ≥ 1 is `L#t`, t the smallest number whose slot falls
/// in the (r0 + s)-th of `shards` equal ranges of the slots, r0 the range of the room's own
/// tag: the S tags fall in S different ranges, so a cluster whose masters own equal contiguous
/// ranges (what `redis-cli --cluster create` makes) holds one shard on each of S masters.
/// Any replica computes the same tags, without a read.
pub fn room_shard_tag(id: &LiveId, shard: u32, shards: u32) -> String {
    shard_room(id, shard, shards).as_str().to_owned()
}

/// The room of members that holds shard `shard` of room `id` over `shards` (issue 27): `id`
/// itself for shard 0, else the shard room whose tag [`room_shard_tag`] describes.
pub fn shard_room(id: &LiveId, shard: u32, shards: u32) -> LiveId {
    let room = id.room();
    if shard == 0 || shards <= 1 {
        return room;
    }
    let range = |slot: u32| slot * shards / SLOTS;
    let wanted = (range(slot_of(room.as_str())) + shard) % shards;
    // each try lands in the wanted range with probability 1/shards: a few tries
    (0u32..)
        .map(|t| room.shard_room(t))
        .find(|tag| range(slot_of(tag.as_str())) == wanted)
        .unwrap_or(room)
}

/// The shard of a room's `shards` that holds the user's membership (the same bucket as the
/// user's pointer, modulo the shards).
pub fn member_shard(user_id: &str, shards: u32) -> u32 {
    user_bucket(user_id) % shards.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pointers_room_reads_back_in_either_form() {
        let id = LiveId::parse("live_0190aaaabbbbccccddddeeeeffff0123").expect("a live_id");
        // base64url of the 16 bytes 01 90 aa … 01 23, as pointer_lib.lua writes it
        assert_eq!(pointer_value(&id), "AZCqqru7zMzd3e7u__8BIw");
        assert_eq!(pointer_room(&pointer_value(&id)), Some(id.clone()));
        let fresh = LiveId::generate();
        assert_eq!(pointer_room(&pointer_value(&fresh)), Some(fresh));
        assert_eq!(pointer_room(id.as_str()), Some(id.clone()));
        assert_eq!(pointer_room(""), None);
        assert_eq!(pointer_room("AZCqqru7zMzd3e7u__8B"), None);
        // a shard room's pointer keeps its number after the compact room
        let shard = id.shard_room(5);
        assert_eq!(pointer_value(&shard), "AZCqqru7zMzd3e7u__8BIw#5");
        assert_eq!(pointer_room(&pointer_value(&shard)), Some(shard.clone()));
        assert_eq!(pointer_room(shard.as_str()), Some(shard));
        assert_eq!(pointer_room("AZCqqru7zMzd3e7u__8BIw#"), None);
    }

    #[test]
    fn slots_are_redis_clusters() {
        // published by Redis: CLUSTER KEYSLOT foo = 12182, bar = 5061, hello = 866
        assert_eq!(slot_of("foo"), 12_182);
        assert_eq!(slot_of("bar"), 5_061);
        assert_eq!(slot_of("hello"), 866);
    }

    #[test]
    fn a_rooms_shards_fall_in_different_ranges_of_slots() {
        for _ in 0..200 {
            let id = LiveId::generate();
            for shards in [2u32, 3, 4, 8] {
                let ranges: std::collections::HashSet<u32> = (0..shards)
                    .map(|s| slot_of(&room_shard_tag(&id, s, shards)) * shards / SLOTS)
                    .collect();
                assert_eq!(ranges.len(), shards as usize, "{id:?} over {shards}");
            }
            assert_eq!(room_shard_tag(&id, 0, 3), id.as_str());
        }
    }

    #[test]
    fn members_spread_evenly_over_the_shards() {
        let mut per = [0u32; 3];
        for i in 0..30_000 {
            per[member_shard(&format!("viewer-{i:06}"), 3) as usize] += 1;
        }
        // no shard (and so no master) above 45 % of the members
        assert!(per.iter().all(|&n| n < 13_500), "{per:?}");
    }

    #[test]
    fn users_spread_over_the_buckets() {
        // FNV-1a of "" is the offset basis; of "a" a published value
        assert_eq!(user_bucket(""), 0x811c_9dc5 % USER_BUCKETS);
        assert_eq!(user_bucket("a"), 0xe40c_292c % USER_BUCKETS);
        let mut seen = std::collections::HashSet::new();
        for i in 0..10_000 {
            seen.insert(user_bucket(&format!("viewer-{i:06}")));
        }
        // 10 000 users over 4096 buckets leave e^-2.44 = 8.7% of them empty (~3740 used)
        assert!(seen.len() > 3_650, "{} buckets used", seen.len());
    }

    /// The slot-relevant part of a key: what Redis Cluster hashes.
    fn hash_tag(key: &str) -> &str {
        match key.find('{') {
            Some(open) => match key[open + 1..].find('}') {
                Some(len) if len > 0 => &key[open + 1..open + 1 + len],
                _ => key,
            },
            None => key,
        }
    }

    #[test]
    fn a_heartbeat_takes_the_rooms_keys_it_touches_in_their_places() {
        let keys = Keys::new("t:");
        let id = LiveId::generate();
        let all = keys.room(&id);
        let beat = keys.heartbeat_room(&id);
        // lib.lua's K[1]–K[4], K[6], K[7] (heartbeat_batch.lua puts them back in those places)
        assert_eq!(
            beat.clone().map(|(_, k)| k),
            [0, 1, 2, 3, 5, 6].map(|i| all[i].clone())
        );
        assert_eq!(beat[4].0, "anchor");
        assert!(beat[4].1.ends_with(":anchor") && beat[5].1.ends_with(":events"));
    }

    #[test]
    fn a_rooms_keys_share_one_slot() {
        let keys = Keys::new("t:");
        let id = LiveId::generate();
        for key in keys
            .room(&id)
            .into_iter()
            .chain(keys.heartbeat_room(&id).map(|(_, k)| k))
            .chain([keys.seat_requests(&id)])
        {
            assert_eq!(hash_tag(&key), id.as_str());
        }
        for key in keys.index() {
            assert_eq!(hash_tag(&key), "rooms");
        }
        for key in keys
            .sweep_schedule()
            .into_iter()
            .chain(keys.followups_named().map(|(_, k)| k))
        {
            assert_eq!(hash_tag(&key), "rooms");
        }
        assert_eq!(hash_tag(&format!("{}x", keys.gram_prefix())), "rooms");
        assert_eq!(hash_tag(&keys.anchor_rooms("u{1}", Some(1))), "rooms");
    }
}
