//! The Lua scripts, compiled into the binary and invoked by EVALSHA (reloaded after NOSCRIPT).

use redis::Script;

use super::EventLogSettings;

const ROOM_LIB: &str = include_str!("lua/lib.lua");
const INDEX_LIB: &str = include_str!("lua/index_lib.lua");
const POINTER_LIB: &str = include_str!("lua/pointer_lib.lua");

fn with(lib: &str, body: &str) -> Script {
    Script::new(&joined(lib, body))
}

fn joined(lib: &str, body: &str) -> String {
    format!("{lib}\n{body}")
}

/// The per-room prelude with the event-log settings baked in (room scripts read `EVENT_LOG`).
fn room_lib(events: &EventLogSettings) -> String {
    format!(
        "local EVENT_LOG = {{webhooks = {}, member_max = {}, member_all = {}, extends_max = {}}}\n{ROOM_LIB}",
        events.webhooks,
        events.member_events_max,
        events.webhook_member_events,
        events.extends_max_bytes
    )
}

/// heartbeat.lua's body: the shared heartbeat function, then the call of it.
fn heartbeat_body() -> String {
    format!(
        "{}\n{}",
        include_str!("lua/heartbeat_fn.lua"),
        include_str!("lua/heartbeat.lua")
    )
}

/// A seat script's body: the seat scripts' shared functions, then the script.
fn seat_body(body: &str) -> String {
    format!("{}\n{body}", include_str!("lua/seat_fn.lua"))
}

/// The heartbeat script's whole text as the service loads it with `events` (for benchmarks
/// that replay it: same text, same SHA).
pub fn heartbeat_text(events: &EventLogSettings) -> String {
    joined(&room_lib(events), &heartbeat_body())
}

pub struct Scripts {
    // per room (KEYS: the room's keys)
    pub create: Script,
    pub read: Script,
    pub start: Script,
    pub stop: Script,
    pub close_offline: Script,
    pub delete: Script,
    pub purge: Script,
    pub extends: Script,
    pub join: Script,
    pub evict: Script,
    pub heartbeat: Script,
    /// Several heartbeats in one call (KEYS: six per room, `Keys::heartbeat_room`;
    /// store/heartbeats.rs).
    pub heartbeat_batch: Script,
    /// Several likes in one call (KEYS: four per room, `Keys::like_room`; store/likes.rs).
    pub like_batch: Script,
    /// Presence carried by open streams: one room's watching members at once (KEYS: the six of
    /// `Keys::heartbeat_room`; fanout.rs).
    pub carry: Script,
    pub members: Script,
    pub sweep_room: Script,
    pub may_watch: Script,
    pub kicked: Script,
    /// a room's members over shard rooms (issue 27; store/shards.rs)
    pub shards: Script,
    pub shard_init: Script,
    pub join_number: Script,
    pub shard_end: Script,
    pub shard_page: Script,
    pub say_count: Script,
    /// per user (KEYS: the user's open event streams)
    pub sse_slot: Script,
    /// a replica's streams' slots renewed together (KEYS: per stream its user's open streams)
    pub sse_renew: Script,
    pub stream_publish: Script,
    pub stream_unpublish: Script,
    pub kick: Script,
    /// co-host seats (KEYS: the room's, then its seat requests; `seat_fn.lua` shared)
    pub seat_take: Script,
    pub seat_decide: Script,
    pub seat_leave: Script,
    pub seat_switch: Script,
    pub seats: Script,
    pub unban: Script,
    pub bans: Script,
    pub stats: Script,
    // per user (KEYS: the user's hash)
    pub user_join: Script,
    pub user_abort_join: Script,
    pub user_leave: Script,
    pub user_release: Script,
    pub user_imid: Script,
    pub open_slot: Script,
    // global indexes
    pub index_sync: Script,
    pub search: Script,
    pub page: Script,
    pub list: Script,
    pub card: Script,
    pub schedule: Script,
    pub claim: Script,
    pub intent: Script,
    pub online_set: Script,
    pub reschedule: Script,
    pub lease: Script,
    pub ratelimit: Script,
    // cross-room PK (store/pk.rs)
    pub pk_reserve: Script,
    pub pk_intent: Script,
    pub pk_record: Script,
    pub pk_room: Script,
}

impl Scripts {
    pub fn new() -> Self {
        Self::with_event_log(&EventLogSettings::default())
    }

    /// The scripts with the settings of the event log baked in (room scripts read `EVENT_LOG`).
    pub fn with_event_log(events: &EventLogSettings) -> Self {
        let room_lib = room_lib(events);
        let room = |body: &str| with(&room_lib, body);
        let index = |body| with(INDEX_LIB, body);
        let pointer = |body| with(POINTER_LIB, body);
        Self {
            create: room(include_str!("lua/create.lua")),
            read: room(include_str!("lua/read.lua")),
            start: room(include_str!("lua/start.lua")),
            stop: room(include_str!("lua/stop.lua")),
            close_offline: room(include_str!("lua/close_offline.lua")),
            delete: room(include_str!("lua/delete.lua")),
            purge: room(include_str!("lua/purge.lua")),
            extends: room(include_str!("lua/extends.lua")),
            join: room(include_str!("lua/join.lua")),
            evict: room(include_str!("lua/evict.lua")),
            heartbeat: room(&heartbeat_body()),
            heartbeat_batch: room(&format!(
                "{}\n{}",
                include_str!("lua/heartbeat_fn.lua"),
                include_str!("lua/heartbeat_batch.lua")
            )),
            like_batch: room(include_str!("lua/like_batch.lua")),
            carry: room(&format!(
                "{}\n{}",
                include_str!("lua/heartbeat_fn.lua"),
                include_str!("lua/carry.lua")
            )),
            members: room(include_str!("lua/members.lua")),
            sweep_room: room(include_str!("lua/sweep_room.lua")),
            may_watch: room(include_str!("lua/may_watch.lua")),
            kicked: room(include_str!("lua/kicked.lua")),
            shards: room(include_str!("lua/shards.lua")),
            shard_init: room(include_str!("lua/shard_init.lua")),
            join_number: room(include_str!("lua/join_number.lua")),
            shard_end: room(include_str!("lua/shard_end.lua")),
            shard_page: room(include_str!("lua/shard_page.lua")),
            say_count: room(include_str!("lua/say_count.lua")),
            sse_slot: Script::new(include_str!("lua/sse_slot.lua")),
            sse_renew: Script::new(include_str!("lua/sse_renew.lua")),
            lease: Script::new(include_str!("lua/lease.lua")),
            ratelimit: Script::new(include_str!("lua/ratelimit.lua")),
            stream_publish: room(include_str!("lua/stream_publish.lua")),
            stream_unpublish: room(include_str!("lua/stream_unpublish.lua")),
            kick: room(include_str!("lua/kick.lua")),
            seat_take: room(&seat_body(include_str!("lua/seat_take.lua"))),
            seat_decide: room(&seat_body(include_str!("lua/seat_decide.lua"))),
            seat_leave: room(&seat_body(include_str!("lua/seat_leave.lua"))),
            seat_switch: room(&seat_body(include_str!("lua/seat_switch.lua"))),
            seats: room(&seat_body(include_str!("lua/seats.lua"))),
            unban: room(include_str!("lua/unban.lua")),
            bans: room(include_str!("lua/bans.lua")),
            stats: room(include_str!("lua/stats.lua")),
            user_join: pointer(include_str!("lua/user_join.lua")),
            user_abort_join: pointer(include_str!("lua/user_abort_join.lua")),
            user_leave: pointer(include_str!("lua/user_leave.lua")),
            user_release: pointer(include_str!("lua/user_release.lua")),
            user_imid: Script::new(include_str!("lua/user_imid.lua")),
            open_slot: Script::new(include_str!("lua/open_slot.lua")),
            index_sync: index(include_str!("lua/index_sync.lua")),
            search: index(include_str!("lua/search.lua")),
            page: Script::new(include_str!("lua/page.lua")),
            list: index(include_str!("lua/list.lua")),
            card: index(include_str!("lua/card.lua")),
            schedule: Script::new(include_str!("lua/schedule.lua")),
            claim: Script::new(include_str!("lua/claim.lua")),
            intent: Script::new(include_str!("lua/intent.lua")),
            online_set: Script::new(include_str!("lua/online_set.lua")),
            reschedule: Script::new(include_str!("lua/reschedule.lua")),
            pk_reserve: Script::new(include_str!("lua/pk_reserve.lua")),
            pk_intent: Script::new(include_str!("lua/pk_intent.lua")),
            pk_record: Script::new(include_str!("lua/pk_record.lua")),
            pk_room: room(include_str!("lua/pk_room.lua")),
        }
    }
}

impl Scripts {
    /// Every script with the name of its `.lua` file (for `store::inspect`).
    pub fn named(&self) -> Vec<(&'static str, &Script)> {
        vec![
            ("create", &self.create),
            ("read", &self.read),
            ("start", &self.start),
            ("stop", &self.stop),
            ("close_offline", &self.close_offline),
            ("delete", &self.delete),
            ("purge", &self.purge),
            ("extends", &self.extends),
            ("join", &self.join),
            ("evict", &self.evict),
            ("heartbeat", &self.heartbeat),
            ("heartbeat_batch", &self.heartbeat_batch),
            ("like_batch", &self.like_batch),
            ("carry", &self.carry),
            ("members", &self.members),
            ("sweep_room", &self.sweep_room),
            ("may_watch", &self.may_watch),
            ("kicked", &self.kicked),
            ("shards", &self.shards),
            ("shard_init", &self.shard_init),
            ("join_number", &self.join_number),
            ("shard_end", &self.shard_end),
            ("shard_page", &self.shard_page),
            ("say_count", &self.say_count),
            ("sse_slot", &self.sse_slot),
            ("sse_renew", &self.sse_renew),
            ("stream_publish", &self.stream_publish),
            ("stream_unpublish", &self.stream_unpublish),
            ("kick", &self.kick),
            ("seat_take", &self.seat_take),
            ("seat_decide", &self.seat_decide),
            ("seat_leave", &self.seat_leave),
            ("seat_switch", &self.seat_switch),
            ("seats", &self.seats),
            ("unban", &self.unban),
            ("bans", &self.bans),
            ("stats", &self.stats),
            ("user_join", &self.user_join),
            ("user_abort_join", &self.user_abort_join),
            ("user_leave", &self.user_leave),
            ("user_release", &self.user_release),
            ("user_imid", &self.user_imid),
            ("open_slot", &self.open_slot),
            ("index_sync", &self.index_sync),
            ("search", &self.search),
            ("page", &self.page),
            ("list", &self.list),
            ("card", &self.card),
            ("schedule", &self.schedule),
            ("claim", &self.claim),
            ("intent", &self.intent),
            ("online_set", &self.online_set),
            ("reschedule", &self.reschedule),
            ("lease", &self.lease),
            ("ratelimit", &self.ratelimit),
            ("pk_reserve", &self.pk_reserve),
            ("pk_intent", &self.pk_intent),
            ("pk_record", &self.pk_record),
            ("pk_room", &self.pk_room),
        ]
    }
}

impl Default for Scripts {
    fn default() -> Self {
        Self::new()
    }
}
