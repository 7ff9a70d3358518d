//! Store-level tests: each handle of the store called directly against a real Redis (one node,
//! or a 3-master cluster with `LIVEROOM_TEST_REDIS=cluster`), without HTTP in between. The API
//! suite (`tests/api`) says what a client sees; these say what each handle answers.

// The API suite's harness; this target uses its Redis and settings only.
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;

use liveroom::domain::ids::{LiveId, UserId};
use liveroom::domain::page::PageRequest;
use liveroom::domain::profile::{Looks, Profile};
use liveroom::domain::room::{LiveStatus, NewRoom, NewRoomInput};
use liveroom::domain::search::Keyword;
use liveroom::store::{Connection, SlotReply, Store, StoreError};

/// A store on the shared test Redis, under a prefix of its own.
async fn store() -> Store {
    let config = liveroom::config::Config::try_from(helpers::test_settings()).expect("config");
    let conn = Connection::open(&config.redis.target, config.redis.timeout)
        .await
        .expect("redis");
    liveroom::app::state(&config, conn).store
}

fn user(id: &str) -> UserId {
    UserId::parse(id).expect("a user id")
}

fn profile(id: &str) -> Profile {
    Profile {
        user_id: user(id),
        looks: Looks {
            nick: format!("nick of {id}"),
            avatar: String::new(),
            extends: BTreeMap::new(),
        },
        admin: false,
    }
}

fn first_page() -> PageRequest {
    PageRequest::parse(None, None).expect("the default page")
}

async fn new_room(store: &Store, anchor: &str, title: &str) -> LiveId {
    let input = NewRoomInput {
        title: title.to_owned(),
        ..Default::default()
    };
    let zone = liveroom::config::Config::try_from(helpers::test_settings())
        .expect("config")
        .zone;
    let new = NewRoom::parse(input, zone).expect("a valid room");
    store
        .rooms()
        .create(new, &profile(anchor))
        .await
        .expect("created")
        .live_id
}

/// A live room of `anchor-1`.
async fn live_room(store: &Store) -> LiveId {
    let id = new_room(store, "anchor-1", "a room").await;
    let anchor = user("anchor-1");
    store.rooms().start(&id, &anchor).await.expect("start");
    id
}

async fn join(store: &Store, id: &LiveId, viewer: &str) {
    store
        .presence()
        .join(id, &profile(viewer))
        .await
        .expect("join");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_live_through_created_live_ended_and_go() {
    let store = store().await;
    let rooms = store.rooms();
    let id = new_room(&store, "anchor-1", "a room").await;
    let room = rooms.room(&id).await.expect("read");
    assert_eq!(room.title, "a room");
    assert_eq!(room.anchor.user_id, "anchor-1");
    assert_eq!(room.live_status, LiveStatus::Created);

    // only the anchor
    let not_anchor = rooms.start(&id, &user("someone")).await;
    assert!(
        matches!(not_anchor, Err(StoreError::NotAnchor)),
        "{not_anchor:?}"
    );
    let live = rooms.start(&id, &user("anchor-1")).await.expect("start");
    assert_eq!(live.live_status, LiveStatus::Live);
    let ended = rooms.stop(&id, &user("anchor-1")).await.expect("stop");
    assert_eq!(ended.live_status, LiveStatus::Ended);

    rooms.delete(&id, &user("anchor-1")).await.expect("delete");
    assert!(matches!(rooms.room(&id).await, Err(StoreError::NotFound)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_counts_a_member_from_join_to_leave() {
    let store = store().await;
    let presence = store.presence();
    let id = live_room(&store).await;

    let joined = presence
        .join(&id, &profile("viewer-1"))
        .await
        .expect("join");
    assert_eq!(joined.online_count, 1);
    let beat = presence
        .heartbeat(&id, &profile("viewer-1"))
        .await
        .expect("beat");
    assert_eq!(beat.live_status, LiveStatus::Live);
    let members = presence.members(&id, first_page()).await.expect("members");
    assert_eq!(members.total_count, 1);
    assert_eq!(members.list[0].user_id, "viewer-1");

    presence.leave(&id, &user("viewer-1")).await.expect("leave");
    let members = presence.members(&id, first_page()).await.expect("members");
    assert_eq!(members.total_count, 0);
    // a leave is final: a late heartbeat does not bring the member back
    let late = presence.heartbeat(&id, &profile("viewer-1")).await;
    assert!(matches!(late, Err(StoreError::NotMember)), "{late:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn carrying_marks_members_in_bounded_calls_and_brings_nobody_back() {
    const MEMBERS: usize = 1_100; // more than two calls' worth
    const { assert!(liveroom::store::CARRY_CALL_MAX * 2 < MEMBERS) };
    let store = store().await;
    let presence = store.presence();
    let id = live_room(&store).await;
    let viewers: Vec<String> = (0..MEMBERS).map(|n| format!("viewer-{n}")).collect();
    futures_util::stream::iter(viewers.iter())
        .for_each_concurrent(16, |v| join(&store, &id, v))
        .await;
    join(&store, &id, "left-1").await;
    presence.leave(&id, &user("left-1")).await.expect("leave");

    let mut carried: Vec<(UserId, String)> = viewers
        .iter()
        .map(|v| (user(v), profile(v).looks.to_json()))
        .collect();
    for other in ["left-1", "never-joined", "anchor-1"] {
        carried.push((user(other), profile(other).looks.to_json()));
    }
    let takeover = std::time::Duration::from_secs(7);
    let carried_now = presence
        .carry(&id, "replica-a", takeover, &[], &carried)
        .await
        .expect("carry");
    use liveroom::store::CarryAnswer;
    assert!(carried_now.fresh, "a replica's first lease in the room");
    let answers = carried_now.answers;
    assert_eq!(answers.len(), carried.len(), "one answer per member");
    assert!(
        answers[..MEMBERS]
            .iter()
            .all(|a| *a == CarryAnswer::Carried)
    );
    assert_eq!(
        answers[MEMBERS..],
        [CarryAnswer::Gone, CarryAnswer::Gone, CarryAnswer::Anchor],
        "a leave is final, nobody is created, the anchor is not carried"
    );
    let members = presence.members(&id, first_page()).await.expect("members");
    assert_eq!(members.total_count as usize, MEMBERS, "nobody brought back");

    // a second replica: the members stay with the live lease that holds them
    let other = presence
        .carry(&id, "replica-b", takeover, &[], &carried[..3])
        .await
        .expect("carry");
    assert_eq!(other.answers, [CarryAnswer::Elsewhere; 3]);
    // the first lets one go: it stays present a window from the renewal
    let renewed = presence
        .carry(
            &id,
            "replica-a",
            takeover,
            &carried[..1].iter().map(|c| c.0.clone()).collect::<Vec<_>>(),
            &[],
        )
        .await
        .expect("renew");
    assert!(!renewed.fresh && renewed.went.is_empty(), "{renewed:?}");
    let members = presence.members(&id, first_page()).await.expect("members");
    assert_eq!(
        members.total_count as usize, MEMBERS,
        "let go, still in its window"
    );

    store
        .rooms()
        .stop(&id, &user("anchor-1"))
        .await
        .expect("stop");
    let answers = presence
        .carry(&id, "replica-a", takeover, &[], &carried[..3])
        .await
        .expect("carry");
    assert!(answers.ended, "{answers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_finds_rooms_by_status_keyword_and_anchor() {
    let store = store().await;
    let discovery = store.discovery();
    let before = discovery.generation();
    let live = new_room(&store, "anchor-1", "周末 Live 音乐").await;
    let quiet = new_room(&store, "anchor-1", "Live coding").await;
    store
        .rooms()
        .start(&live, &user("anchor-1"))
        .await
        .expect("start");
    // this replica's own changes move the generation the page cache reads under
    assert!(discovery.generation() > before);

    let list = discovery.live_rooms(first_page()).await.expect("list");
    let ids: Vec<_> = list.list.iter().map(|r| r.live_id.clone()).collect();
    assert_eq!(ids, std::slice::from_ref(&live));

    let keyword = Keyword::parse(Some("LIVE")).expect("keyword");
    let found = discovery
        .search(&keyword, None, None, first_page())
        .await
        .expect("search");
    let ids: Vec<_> = found.list.iter().map(|r| r.live_id.clone()).collect();
    // newest created first
    assert_eq!(ids, [quiet.clone(), live.clone()]);

    let created = discovery
        .anchor_rooms(&user("anchor-1"), Some(LiveStatus::Created), first_page())
        .await
        .expect("anchor's rooms");
    let ids: Vec<_> = created.list.iter().map(|r| r.live_id.clone()).collect();
    assert_eq!(ids, [quiet]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_log_is_read_by_its_anchor_and_members() {
    let store = store().await;
    let events = store.events();
    let id = new_room(&store, "anchor-1", "a room").await;
    let empty = events.last_event_id(&id).await.expect("last id");
    store
        .rooms()
        .start(&id, &user("anchor-1"))
        .await
        .expect("start");

    events
        .may_watch(&id, &user("anchor-1"))
        .await
        .expect("the anchor watches");
    let stranger = events.may_watch(&id, &user("stranger")).await;
    assert!(stranger.is_err(), "{stranger:?}");

    let read = events.events_after(&id, &empty, 10).await.expect("events");
    let kinds: Vec<_> = read.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"live_started"), "{kinds:?}");
    assert_eq!(
        events.last_event_id(&id).await.expect("last id"),
        read[read.len() - 1].id
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_stream_slots_are_capped_over_replicas() {
    let store = store().await;
    let events = store.events();
    let who = user("viewer-1");
    let ttl = Duration::from_secs(30);
    assert_eq!(
        events
            .open_stream_slot(&who, "s1", 1, ttl)
            .await
            .expect("open"),
        SlotReply::Held
    );
    let full = events
        .open_stream_slot(&who, "s2", 1, ttl)
        .await
        .expect("open");
    assert!(
        matches!(&full, SlotReply::Full { wait_ms, holders } if *wait_ms > 0 && holders == &["s1"]),
        "{full:?}"
    );
    events.close_stream_slot(&who, "s1").await.expect("close");
    assert_eq!(
        events
            .open_stream_slot(&who, "s2", 1, ttl)
            .await
            .expect("open"),
        SlotReply::Held
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replicas_lease_lives_its_ttl_and_reaping_frees_only_the_named_slots() {
    let store = store().await;
    let events = store.events();
    let token = uuid::Uuid::new_v4().simple().to_string();
    assert!(!events.replica_alive(&token).await.expect("exists"));
    let ttl = Duration::from_millis(300);
    assert!(
        events.keep_replica_lease(&token, ttl).await.expect("set"),
        "the first lease had lapsed (never was)"
    );
    assert!(
        !events.keep_replica_lease(&token, ttl).await.expect("set"),
        "a renewal within the ttl finds it held"
    );
    assert!(events.replica_alive(&token).await.expect("exists"));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while events.replica_alive(&token).await.expect("exists") {
        assert!(
            std::time::Instant::now() < deadline,
            "the lease never lapsed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let who = user("viewer-2");
    let hour = Duration::from_secs(3600);
    for id in ["a.1", "b.1"] {
        assert_eq!(
            events
                .open_stream_slot(&who, id, 2, hour)
                .await
                .expect("open"),
            SlotReply::Held
        );
    }
    let reap = ["a.1".to_owned(), "gone.9".to_owned()];
    assert_eq!(
        events.reap_stream_slots(&who, &reap).await.expect("reap"),
        1
    );
    assert_eq!(
        events.reap_stream_slots(&who, &reap).await.expect("reap"),
        0
    );
    match events
        .open_stream_slot(&who, "c.1", 1, hour)
        .await
        .expect("open")
    {
        SlotReply::Full { holders, .. } => assert_eq!(holders, ["b.1"]),
        held => panic!("b.1 still holds the one slot: {held:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_delivery_leases_a_room_and_drains_its_log() {
    let store = store().await;
    let webhooks = store.webhooks();
    let id = live_room(&store).await;

    webhooks
        .mark_for_delivery(std::slice::from_ref(&id))
        .await
        .expect("mark");
    assert_eq!(
        webhooks.rooms_to_deliver(10).await.expect("pending"),
        std::slice::from_ref(&id)
    );
    let ttl = Duration::from_secs(30);
    assert!(
        webhooks
            .take_delivery_lease(&id, "a", ttl)
            .await
            .expect("lease")
    );
    assert!(
        !webhooks
            .take_delivery_lease(&id, "b", ttl)
            .await
            .expect("lease")
    );

    let batch = webhooks
        .events_to_deliver(&id, 100)
        .await
        .expect("read")
        .unwrap_or_default();
    assert!(batch.iter().any(|e| e.kind == "live_started"), "{batch:?}");
    for event in &batch {
        webhooks.delivered(&id, &event.id).await.expect("ack");
    }
    assert!(webhooks.delivery_done(&id).await.expect("done"));
    assert!(
        webhooks
            .rooms_to_deliver(10)
            .await
            .expect("pending")
            .is_empty()
    );

    assert!(
        webhooks
            .release_delivery_lease(&id, "a", ttl)
            .await
            .expect("release")
    );
    assert!(
        webhooks
            .take_delivery_lease(&id, "b", ttl)
            .await
            .expect("lease")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_runs_and_the_gauges_count_live_rooms_and_members() {
    let store = store().await;
    let id = live_room(&store).await;
    join(&store, &id, "viewer-1").await;

    // nothing has come due: a sweep finds nothing to do, and is harmless
    let report = store.sweep().run("replica-1").await.expect("sweep");
    assert_eq!((report.closed, report.purged, report.lapsed), (0, 0, 0));
    let gauges = store.sweep().gauges().await.expect("gauges");
    assert_eq!(gauges.live, 1);
    assert_eq!(gauges.members_online, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderation_kicks_bans_and_lifts_the_ban() {
    let store = store().await;
    let moderation = store.moderation();
    let id = live_room(&store).await;
    join(&store, &id, "viewer-1").await;

    let (anchor, viewer) = (user("anchor-1"), user("viewer-1"));
    let kicked = moderation
        .kick(&id, &anchor, false, &viewer, 60_000)
        .await
        .expect("kick");
    assert!(kicked.removed);
    let refused = store.presence().join(&id, &profile("viewer-1")).await;
    assert!(matches!(refused, Err(StoreError::Banned(_))), "{refused:?}");
    let bans = moderation
        .bans(&id, &anchor, false, first_page())
        .await
        .expect("bans");
    assert_eq!(bans.list.len(), 1);
    assert_eq!(bans.list[0].user_id, "viewer-1");

    assert!(
        moderation
            .unban(&id, &anchor, false, &viewer)
            .await
            .expect("unban")
    );
    store
        .presence()
        .join(&id, &profile("viewer-1"))
        .await
        .expect("join again");
    let stats = moderation.stats(&id).await.expect("stats");
    assert_eq!(stats.online_count, 1);
    assert_eq!(stats.live_status, LiveStatus::Live);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_counts_add_up_over_replicas() {
    let store = store().await;
    assert_eq!(
        store
            .count_requests("u:viewer-1", 7, 3)
            .await
            .expect("count"),
        3
    );
    assert_eq!(
        store
            .count_requests("u:viewer-1", 7, 2)
            .await
            .expect("count"),
        5
    );
    assert_eq!(
        store
            .count_requests("u:viewer-1", 8, 1)
            .await
            .expect("count"),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seats_are_taken_lowest_first_listed_switched_and_freed() {
    use liveroom::domain::seat::{SeatAsk, SeatOutcome};
    let store = store().await;
    let seats = store.seats();
    let id = live_room(&store).await;
    let ask = SeatAsk::parse(Some(true), Some(false), None).expect("an ask");
    let stranger = seats.take(&id, &user("stranger"), &ask).await;
    assert!(
        matches!(stranger, Err(StoreError::NotMember)),
        "{stranger:?}"
    );
    for viewer in ["viewer-1", "viewer-2"] {
        join(&store, &id, viewer).await;
    }
    let first = seats
        .take(&id, &user("viewer-1"), &ask)
        .await
        .expect("take");
    assert!(
        matches!(
            first,
            SeatOutcome::Taken {
                seat: 1,
                mic: true,
                camera: false,
                ..
            }
        ),
        "{first:?}"
    );
    let again = seats.take(&id, &user("viewer-1"), &ask).await;
    assert!(matches!(again, Err(StoreError::Seat(_))), "{again:?}");
    seats
        .take(&id, &user("viewer-2"), &ask)
        .await
        .expect("take");

    let list = seats.list(&id).await.expect("list");
    assert_eq!(list.anchor_id, "anchor-1");
    let held: Vec<(u32, &str, &str)> = list
        .seats
        .iter()
        .map(|s| (s.seat, s.user.user_id.as_str(), s.user.looks.nick.as_str()))
        .collect();
    assert_eq!(
        held,
        [
            (1, "viewer-1", "nick of viewer-1"),
            (2, "viewer-2", "nick of viewer-2")
        ]
    );

    // the anchor may turn a camera off, never on
    let anchor = user("anchor-1");
    let off = seats
        .switch(&id, &anchor, &user("viewer-2"), Some(false), None)
        .await
        .expect("switch");
    assert_eq!((off.seat, off.mic, off.camera), (2, false, false));
    let on = seats
        .switch(&id, &anchor, &user("viewer-2"), None, Some(true))
        .await;
    assert!(matches!(on, Err(StoreError::Invalid(_))), "{on:?}");

    // a member who leaves the room leaves its seat; the anchor takes the other off
    store
        .presence()
        .leave(&id, &user("viewer-1"))
        .await
        .expect("leave");
    assert_eq!(
        seats
            .leave(&id, &anchor, false, &user("viewer-2"))
            .await
            .expect("removed"),
        2
    );
    assert!(seats.list(&id).await.expect("list").seats.is_empty());
}
