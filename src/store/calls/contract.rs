//! The key contract, checked: every script's `--! KEYS:` header (its first line) against the
//! keys its typed call passes, by name, in order. The names on the Rust side come from
//! `keys.rs` (a room's, the index's and the schedule's sets are named there) or from the call,
//! next to the key it builds; a script that reads a key by another position than its call
//! pushes it fails here, not in production.
//!
//! The header is `--! KEYS: name name …`; `(lib.lua)` / `(index_lib.lua)` stand for the keys
//! the prelude declares (every per-room / index script takes them), and `[a b …]...` for a group
//! repeated once per item (heartbeat_batch.lua: the six keys of each beat's room).

use redis::Script;

use super::*;
use crate::domain::ids::{LiveId, UserId};
use crate::domain::room::LiveStatus;
use crate::store::keys::{INDEX_KEY_NAMES, Keys, ROOM_KEY_NAMES};
use crate::store::scripts::Scripts;

fn source(name: &str) -> String {
    let path = format!("{}/src/store/lua/{name}.lua", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The names a script's header declares, as one list, and whether they repeat per item.
fn declared(name: &str) -> (Vec<String>, bool) {
    let text = source(name);
    let header = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("--! KEYS:"))
        .unwrap_or_else(|| panic!("{name}.lua does not start with its `--! KEYS:` header"))
        .trim();
    let (header, repeated) = match header.strip_suffix("...") {
        Some(group) => (group.trim_start_matches('[').trim_end_matches(']'), true),
        None => (header, false),
    };
    let names = match header {
        "(lib.lua)" => declared("lib").0,
        "(index_lib.lua)" => declared("index_lib").0,
        names => names.split_whitespace().map(str::to_owned).collect(),
    };
    (names, repeated)
}

/// The script a call runs (by its SHA among `Scripts::named`) and the names of the keys it passes.
fn passed<C: ScriptCall>(scripts: &Scripts, call: &C) -> (&'static str, Vec<&'static str>) {
    let script: &Script = C::script(scripts);
    let name = scripts
        .named()
        .into_iter()
        .find(|(_, s)| s.get_hash() == script.get_hash())
        .map(|(name, _)| name)
        .expect("a script of Scripts::named");
    let mut invocation = Invocation::new(script);
    call.keys_and_args(&Keys::new("t:"), &mut invocation);
    (name, invocation.names().to_vec())
}

/// Holds one call against its script's header; answers the script's name.
fn check<C: ScriptCall>(scripts: &Scripts, call: &C) -> &'static str {
    let (name, names) = passed(scripts, call);
    let (declared, repeated) = declared(name);
    if repeated {
        assert!(!names.is_empty(), "{name}: the call passes no keys");
        for (i, group) in names.chunks(declared.len()).enumerate() {
            assert_eq!(
                group, declared,
                "{name}.lua's KEYS, item {i}, and its call disagree"
            );
        }
    } else {
        assert_eq!(names, declared, "{name}.lua's KEYS and its call disagree");
    }
    name
}

fn user(id: &str) -> UserId {
    UserId::parse(id).expect("a user id")
}

#[test]
fn the_preludes_declare_the_key_sets_of_keys_rs() {
    assert_eq!(declared("lib").0, ROOM_KEY_NAMES);
    assert_eq!(declared("index_lib").0, INDEX_KEY_NAMES);
}

#[test]
fn every_call_passes_the_keys_its_script_declares() {
    let s = Scripts::new();
    let room = LiveId::generate();
    let other = LiveId::generate();
    let r = &room;
    let ask = crate::domain::seat::SeatAsk::parse(None, None, None).expect("an ask");
    let fields = [("title", String::from("t"))];
    let released = [String::from("u")];
    let (u, v, a) = (user("u"), user("v"), user("a"));
    let pk = crate::domain::interaction::Pk {
        pk_id: crate::domain::interaction::PkId::generate(),
        status: crate::domain::interaction::PkStatus::Active,
        init_live_id: room.clone(),
        init_anchor_id: "u".into(),
        target_live_id: other.clone(),
        target_anchor_id: "v".into(),
        created_ms: 0,
        expires_ms: 0,
        start_ms: 0,
        end_ms: 0,
        ended_reason: String::new(),
        extends: Default::default(),
        version: 1,
    };
    let checked = [
        check(
            &s,
            &Create {
                room: r,
                window_ms: 1,
                fields: &fields,
            },
        ),
        check(
            &s,
            &Read {
                room: r,
                window_ms: 1,
            },
        ),
        check(
            &s,
            &Start {
                room: r,
                user: &u,
                window_ms: 1,
                close_ms: 1,
            },
        ),
        check(
            &s,
            &Stop {
                room: r,
                user: &u,
                window_ms: 1,
                authority: Authority::Anchor,
            },
        ),
        check(
            &s,
            &CloseOffline {
                room: r,
                window_ms: 1,
                close_ms: 1,
            },
        ),
        check(
            &s,
            &Delete {
                room: r,
                user: &u,
                log_ttl_ms: 1,
                authority: Authority::Admin,
            },
        ),
        check(&s, &Purge { room: r }),
        check(
            &s,
            &Extends {
                room: r,
                user: &u,
                window_ms: 1,
                extends_json: "{}",
            },
        ),
        check(
            &s,
            &Join {
                room: r,
                user: &u,
                seq: 1,
                im_userid: 1,
                profile: "{}",
                window_ms: 1,
                shards: 1,
                number: Some(1),
            },
        ),
        check(
            &s,
            &Evict {
                room: r,
                user: &u,
                seq: 1,
                reason: EvictReason::Left,
                window_ms: 1,
            },
        ),
        check(
            &s,
            &Heartbeat {
                room: r,
                user: &u,
                profile: "{}",
                window_ms: 1,
            },
        ),
        check(
            &s,
            &HeartbeatBatch {
                rooms: vec![r, &other],
                beats: vec![
                    BatchedBeat {
                        room: 0,
                        user: &u,
                        profile: "{}",
                    },
                    BatchedBeat {
                        room: 1,
                        user: &v,
                        profile: "{}",
                    },
                ],
                window_ms: 1,
            },
        ),
        check(
            &s,
            &LikeBatch {
                rooms: vec![r, &other],
                likes: vec![
                    BatchedLike {
                        room: 0,
                        user: &u,
                        count: 1,
                    },
                    BatchedLike {
                        room: 1,
                        user: &v,
                        count: 2,
                    },
                ],
                window_ms: 1,
                likers_max: 1,
                likes_ttl_ms: 1,
            },
        ),
        check(
            &s,
            &PkReserve {
                pk: &pk.pk_id,
                init: r,
                target: &other,
                anchor: "a",
                hour: 1,
                token: "t",
                grace_ms: 1,
                invites_per_hour: 1,
            },
        ),
        check(
            &s,
            &PkIntent {
                op: PkIntentOp::Poke { room: r },
            },
        ),
        check(
            &s,
            &PkRecord {
                pk: &pk.pk_id,
                user: "u",
                change: PkChange::Accept,
            },
        ),
        check(
            &s,
            &PkRoom {
                room: r,
                pk: &pk,
                state: PkRoomState::Active,
                reason: "",
            },
        ),
        check(
            &s,
            &Carry {
                room: r,
                window_ms: 1,
                takeover_ms: 1,
                token: "t",
                release: std::slice::from_ref(&v),
                members: &[(u.clone(), "{}".to_owned())],
            },
        ),
        check(
            &s,
            &Members {
                room: r,
                window_ms: 1,
                offset: 0,
                count: 1,
            },
        ),
        check(
            &s,
            &SweepRoom {
                room: r,
                window_ms: 1,
                batch: 1,
                released: &released,
            },
        ),
        check(
            &s,
            &Kicked {
                room: r,
                user: u.as_str(),
            },
        ),
        check(&s, &SetShards { room: r, shards: 3 }),
        check(&s, &JoinNumber { room: r, shards: 3 }),
        check(
            &s,
            &ShardInit {
                shard_room: r,
                fields: &[("live_status".to_owned(), "1".to_owned())],
            },
        ),
        check(
            &s,
            &ShardEnd {
                shard_room: r,
                reason: "stopped",
            },
        ),
        check(
            &s,
            &ShardPage {
                room: r,
                read: ShardPageRead::Nodes {
                    pos: 0,
                    step: 1,
                    levels: 1,
                },
            },
        ),
        check(&s, &SayCount { room: r, count: 1 }),
        check(
            &s,
            &MayWatch {
                room: r,
                user: &u,
                window_ms: 1,
            },
        ),
        check(
            &s,
            &SseRenew {
                slots: &[(u.clone(), "s".into()), (v.clone(), "t".into())],
                ttl_ms: 1,
            },
        ),
        check(
            &s,
            &SseSlot {
                user: &u,
                op: SlotOp::Open,
                stream: "s",
                cap: 1,
                ttl_ms: 1,
            },
        ),
        check(
            &s,
            &SseReap {
                user: &u,
                streams: &["a.1".into(), "b.2".into()],
            },
        ),
        check(
            &s,
            &StreamPublish {
                room: r,
                window_ms: 1,
                expires_at: None,
            },
        ),
        check(&s, &StreamUnpublish { room: r }),
        check(
            &s,
            &Kick {
                room: r,
                actor: &a,
                authority: Authority::Anchor,
                target: &u,
                ban_ms: 1,
                window_ms: 1,
                max_bans: 1,
            },
        ),
        check(
            &s,
            &SeatTake {
                room: r,
                user: &u,
                window_ms: 1,
                seats: 1,
                ask: &ask,
                request_ms: 1,
                max_pending: 1,
            },
        ),
        check(
            &s,
            &SeatDecide {
                room: r,
                actor: &a,
                target: &u,
                accept: true,
                window_ms: 1,
                seats: 1,
                request_ms: 1,
            },
        ),
        check(
            &s,
            &SeatLeave {
                room: r,
                actor: &a,
                authority: Authority::Admin,
                target: &u,
            },
        ),
        check(
            &s,
            &SeatSwitch {
                room: r,
                actor: &a,
                target: &u,
                mic: Some(false),
                camera: None,
            },
        ),
        check(
            &s,
            &Seats {
                room: r,
                window_ms: 1,
            },
        ),
        check(
            &s,
            &Unban {
                room: r,
                actor: &a,
                authority: Authority::Anchor,
                target: &u,
            },
        ),
        check(
            &s,
            &Bans {
                room: r,
                actor: &a,
                authority: Authority::Anchor,
                offset: 0,
                count: 1,
            },
        ),
        check(
            &s,
            &Stats {
                room: r,
                window_ms: 1,
            },
        ),
        check(&s, &UserJoin { user: &u, room: r }),
        check(
            &s,
            &UserAbortJoin {
                user: &u,
                room: r,
                seq: 1,
                previous: Some(&other),
            },
        ),
        check(&s, &UserLeave { user: &u, room: r }),
        check(
            &s,
            &UserRelease {
                user: "u",
                room: r,
                seq: 1,
            },
        ),
        check(
            &s,
            &UserImid {
                user: &u,
                fresh: 1,
                legacy: Default::default(),
            },
        ),
        check(
            &s,
            &OpenSlot {
                anchor: "u",
                room: r,
                change: SlotChange::Open,
            },
        ),
        check(
            &s,
            &IndexSync {
                room: r,
                version: 1,
                status: Indexed::Status(LiveStatus::Created),
                created_ms: 1,
                started_ms: 0,
                close_at_ms: 0,
                purge_at_ms: 0,
                text: "t\u{1f}n",
                anchor: "u",
                card: Some("c"),
            },
        ),
        check(
            &s,
            &Search {
                folded: "t",
                status: None,
                offset: 0,
                count: 1,
                exact_id: None,
            },
        ),
        check(
            &s,
            &Page {
                set: "t:set",
                offset: 0,
                count: 1,
            },
        ),
        check(
            &s,
            &List {
                offset: 0,
                count: 1,
            },
        ),
        check(
            &s,
            &Card {
                room: r,
                version: 1,
                card: "c",
            },
        ),
        check(
            &s,
            &Schedule {
                room: r,
                delay_ms: 1,
            },
        ),
        check(
            &s,
            &OnlineSet {
                room: r,
                share: Share::ENDED,
                keep_ms: 1,
            },
        ),
        check(
            &s,
            &Intent {
                room: r,
                token: "t",
                op: IntentOp::Done,
            },
        ),
        check(
            &s,
            &Claim {
                lease_ms: 1,
                max: 1,
                token: "t",
            },
        ),
        check(
            &s,
            &Reschedule {
                room: r,
                token: "t",
                next: NextDue::Never,
            },
        ),
        check(
            &s,
            &Lease {
                room: r,
                op: LeaseOp::Take,
                owner: "o",
                ttl_ms: 1,
            },
        ),
        check(
            &s,
            &Ratelimit {
                subject: "u:u",
                window: 1,
                requests: 1,
                ttl_ms: 1,
            },
        ),
    ];
    // every script is held against its call
    let mut unchecked: Vec<&str> = s.named().into_iter().map(|(name, _)| name).collect();
    unchecked.retain(|name| !checked.contains(name));
    assert!(
        unchecked.is_empty(),
        "scripts without a checked call: {unchecked:?}"
    );
}

#[test]
fn a_call_that_drifts_from_its_script_fails_the_check() {
    /// `read.lua`'s arguments with the room's keys in another order.
    struct Drifted<'a>(&'a LiveId);
    impl ScriptCall for Drifted<'_> {
        type Reply = ();
        fn script(scripts: &Scripts) -> &Script {
            &scripts.read
        }
        fn keys_and_args(&self, keys: &Keys, invocation: &mut Invocation<'_>) {
            let mut named = keys.room_named(self.0);
            named.swap(1, 2);
            invocation.keys(named).arg(1);
        }
        fn reply(_: redis::Value) -> crate::store::StoreResult<()> {
            Ok(())
        }
    }
    let room = LiveId::generate();
    let drifted = std::panic::catch_unwind(|| check(&Scripts::new(), &Drifted(&room)));
    assert!(drifted.is_err());
}
