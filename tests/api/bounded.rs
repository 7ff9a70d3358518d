//! Bounded work (CONTRACT section 6): no Redis call grows with a room's crowd, reads never
//! write, the background work is shared by replicas and survives one dying mid-way.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;

use super::events::SseClient;
use super::helpers::*;

async fn live_room(app: &TestApp, anchor: &str) -> String {
    let id = app.create_room(anchor, "crowd").await;
    app.start(&id, anchor).await.assert_ok();
    id
}

/// `n` viewers `{prefix}{i}` join the room, 32 at a time.
async fn join_many(app: &TestApp, id: &str, prefix: &str, n: usize) {
    futures_util::stream::iter(0..n)
        .map(|i| async move {
            app.join(id, &format!("{prefix}{i}")).await.assert_ok();
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
}

/// An integer as redis-cli prints it.
fn int_of(out: &str) -> i64 {
    out.trim()
        .trim_start_matches("(integer) ")
        .parse()
        .unwrap_or(-1)
}

/// The most commands one call ran while `monitor` watched (a script's own commands, which
/// MONITOR shows as `[db lua]` lines right after the script's call), with that call's command
/// and script SHA. Counted, not timed: a call that walked the crowd runs about ten times the
/// commands for ten times the crowd, whatever the machine's load.
async fn most_commands(monitor: Monitor, redis: &RedisServer, marker: &str) -> (usize, String) {
    redis.cli(&["ECHO", marker]).await.expect("echo");
    let lines = monitor.until(marker).await;
    let mut most = (0, String::new());
    let mut current: Option<(usize, String)> = None;
    for line in &lines {
        if line.contains(" lua] ") {
            if let Some((n, _)) = current.as_mut() {
                *n += 1;
            }
            continue;
        }
        if let Some(done) = current.take() {
            most = most.max(done);
        }
        // `<time> [<db> <client>] "COMMAND" "arg" …`: the command and its first argument
        let what = line
            .split_once("] ")
            .map(|(_, rest)| {
                rest.split(' ')
                    .take(2)
                    .map(|a| a.trim_matches('"'))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        current = Some((1, what));
    }
    if let Some(done) = current {
        most = most.max(done);
    }
    most
}

/// The most commands one Redis call ran in each phase of a room's life with `n` members: the
/// crowd lapsing at once, a deep user_list page, likes, stop (and the release of the members
/// after it), delete.
/// The lowest score of a member carried by a stream (lib.lua CARRIED_BASE, 2^50).
const CARRIED_MARK: f64 = 1_125_899_906_842_624.0;

/// The hash tag of each of a room's rooms of members (the room itself when `shards` is 1).
fn member_tags(app: &TestApp, id: &str, shards: u32) -> Vec<String> {
    let names = liveroom::store::inspect::KeyNames::new(&app.settings.redis_key_prefix);
    let id = liveroom::domain::ids::LiveId::parse(id).expect("a live_id");
    (0..shards)
        .map(|s| names.room_shard_tag(&id, s, shards))
        .collect()
}

/// The hash tag of the room of members that holds `user`.
fn member_tag_of(app: &TestApp, id: &str, shards: u32, user: &str) -> String {
    let names = liveroom::store::inspect::KeyNames::new(&app.settings.redis_key_prefix);
    member_tags(app, id, shards)[names.member_shard(user, shards) as usize].clone()
}

/// A live room, its members over `shards` rooms of members.
async fn live_room_over(app: &TestApp, anchor: &str, shards: u32) -> String {
    let id = live_room(app, anchor).await;
    if shards > 1 {
        app.set_member_shards(&id, shards).await.assert_ok();
    }
    id
}

async fn most_commands_per_call(n: usize, shards: u32) -> Vec<(&'static str, usize, String)> {
    let redis = RedisServer::start(&[]);
    // The crowd that lapses has a short window; the one that stays, the default 15 s.
    let mut s = settings_for(&redis);
    s.heartbeat_interval_ms = 1_000;
    s.sweep_interval_ms = 100;
    let brief = spawn_app_with(s).await;
    let mut s = settings_for(&redis);
    s.heartbeat_interval_ms = 20_000;
    s.sweep_interval_ms = 100;
    let app = spawn_app_with(s).await;
    let mut phases = Vec::new();

    // the crowd lapses: everyone joined, nobody beats
    let lapsing = live_room_over(&brief, "a-lapse", shards).await;
    join_many(&brief, &lapsing, "l", n).await;
    let monitor = redis.monitor().await;
    eventually(Duration::from_secs(30), "the crowd lapsed", || async {
        (brief.online_count(&lapsing).await == 0).then_some(())
    })
    .await;
    for tag in member_tags(&brief, &lapsing, shards) {
        let members_key = brief.key(&format!("room:{{{tag}}}:members"));
        eventually(Duration::from_secs(30), "the crowd trimmed", || async {
            let card = redis.cli(&["ZCARD", &members_key]).await?;
            (int_of(&card) == 0).then_some(())
        })
        .await;
    }
    let (count, what) = most_commands(monitor, &redis, "phase-lapse").await;
    phases.push(("lapse", count, what));

    // a deep page of a full room, then its end and delete
    let id = live_room_over(&app, "anchor", shards).await;
    join_many(&app, &id, "v", n).await;
    let monitor = redis.monitor().await;
    let last_page = (n / 20) as u32;
    assert_eq!(
        app.user_list(&id, last_page, 20).await.assert_ok()["total_count"],
        n
    );
    let (count, what) = most_commands(monitor, &redis, "phase-user-list").await;
    phases.push(("user_list", count, what));

    // likes in the full room: O(1) whatever the crowd (CONTRACT section 14)
    let monitor = redis.monitor().await;
    for viewer in ["v0", "v1", "anchor"] {
        let liked = app
            .request(
                reqwest::Method::PUT,
                &format!("/client/live/room/{id}/like"),
                Some(&token(viewer)),
                Some(serde_json::json!({"count": 3})),
            )
            .await;
        liked.assert_ok();
    }
    let (count, what) = most_commands(monitor, &redis, "phase-like").await;
    phases.push(("like", count, what));

    // streams carry members of the full room (on a replica of the same deployment with a short
    // interval, which renews its lease every second): marking them, the lease's renewals, the
    // count and the list with carried members, and letting them go cost the same whatever the
    // crowd (lib.lua present_count: O(carriers · log N); carry.lua: O(1) per member)
    let mut s = app.settings.clone();
    // the same member window as `app`'s (60 s), renewed every second
    s.heartbeat_misses = s.heartbeat_interval_ms * s.heartbeat_misses / 1_000;
    s.heartbeat_interval_ms = 1_000;
    let carrier = spawn_app_with(s).await;
    let marked = app.key(&format!(
        "room:{{{}}}:members",
        member_tag_of(&app, &id, shards, "v0")
    ));
    let carried = |want: bool| {
        let (redis, marked) = (&redis, &marked);
        async move {
            let score = redis.cli(&["ZSCORE", marked, "v0"]).await?;
            let is_mark = score.trim().trim_matches('"').parse::<f64>().ok()? >= CARRIED_MARK;
            (is_mark == want).then_some(())
        }
    };
    let monitor = redis.monitor().await;
    let mut streams = Vec::new();
    for viewer in ["v0", "v1", "v2"] {
        let sse = SseClient::open(&carrier, &id, viewer, None).await;
        streams.push(sse.expect("a member may watch"));
    }
    eventually(Duration::from_secs(30), "the streams carry v0", || {
        carried(true)
    })
    .await;
    assert_eq!(
        app.user_list(&id, last_page, 20).await.assert_ok()["total_count"],
        n
    );
    assert_eq!(app.online_count(&id).await, n as u64);
    drop(streams);
    eventually(Duration::from_secs(30), "v0 let go", || carried(false)).await;
    let (count, what) = most_commands(monitor, &redis, "phase-carry").await;
    phases.push(("carry", count, what));

    let monitor = redis.monitor().await;
    app.stop(&id, "anchor").await.assert_ok();
    for tag in member_tags(&app, &id, shards) {
        let leaving = app.key(&format!("room:{{{tag}}}:leaving"));
        eventually(Duration::from_secs(30), "members released", || async {
            let exists = redis.cli(&["EXISTS", &leaving]).await?;
            (int_of(&exists) == 0).then_some(())
        })
        .await;
    }
    let (count, what) = most_commands(monitor, &redis, "phase-stop").await;
    phases.push(("stop", count, what));

    let monitor = redis.monitor().await;
    app.delete(&id, "anchor").await.assert_ok();
    let (count, what) = most_commands(monitor, &redis, "phase-delete").await;
    phases.push(("delete", count, what));
    phases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_redis_call_grows_with_the_room() {
    calls_stay_bounded(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_redis_call_grows_with_a_sharded_room() {
    // the same phases with the room's members over three shard rooms (store/shards.rs)
    calls_stay_bounded(3).await;
}

async fn calls_stay_bounded(shards: u32) {
    let small = most_commands_per_call(200, shards).await;
    let large = most_commands_per_call(2_000, shards).await;
    for ((phase, small_n, _), (_, large_n, what)) in small.iter().zip(&large) {
        // Ten times the crowd: a call that walked it runs about ten times the commands; a
        // bounded one about the same (steps of at most 100 members, pages of 20).
        assert!(
            *large_n <= 2 * small_n + 20,
            "{phase}: one call ran {large_n} commands with 2 000 members ({what}) against \
             {small_n} with 200"
        );
        assert!(*small_n > 0, "{phase}: no call seen");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_and_delete_answer_before_the_members_are_released() {
    let redis = RedisServer::start(&[]);
    let mut s = settings_for(&redis);
    // this replica never sweeps: what it leaves is seen as it left it
    s.sweep_interval_ms = 3_600_000;
    let app = spawn_app_with(s).await;
    let id = live_room(&app, "anchor").await;
    join_many(&app, &id, "v", 300).await;
    // a like leaves the liker's own total, which goes with the room too
    app.request(
        reqwest::Method::PUT,
        &format!("/client/live/room/{id}/like"),
        Some(&token("v1")),
        None,
    )
    .await
    .assert_ok();
    app.stop(&id, "anchor").await.assert_ok();
    // the room ended at once: not joinable, nobody counted or listed, heartbeats told it ended
    let info = app.info(&id, "x").await;
    assert_eq!(info.assert_ok()["live_status"], 2);
    assert_eq!(info.assert_ok()["online_count"], 0);
    let page = app.user_list(&id, 1, 20).await;
    assert_eq!(page.assert_ok()["total_count"], 0);
    assert_eq!(app.heartbeat(&id, "v1").await.assert_ok()["live_status"], 2);
    app.join(&id, "v1").await.assert_error(409, 40900);
    // its members wait, set aside, for a sweep
    let leaving = app.key(&format!("room:{{{id}}}:leaving"));
    assert_eq!(int_of(&redis.cli(&["ZCARD", &leaving]).await.unwrap()), 300);
    app.delete(&id, "anchor").await.assert_ok();
    app.info(&id, "x").await.assert_error(404, 40400);

    // a sweeping replica releases every member and pointer, and nothing of the room is left
    let mut s = app.settings.clone();
    s.sweep_interval_ms = 50;
    let sweeper = spawn_app_with(s).await;
    eventually(Duration::from_secs(30), "the room's keys gone", || async {
        let keys = redis
            .cli(&["--raw", "KEYS", &sweeper.key(&format!("room:{{{id}}}*"))])
            .await?;
        // the event log outlives the room a while (CONTRACT section 5)
        let left: Vec<&str> = keys
            .lines()
            .filter(|k| !k.trim().is_empty() && !k.ends_with(":events"))
            .collect();
        left.is_empty().then_some(())
    })
    .await;
    // every pointer was released before its member left the set aside (two phases,
    // sweep_room.lua): checked once, not polled (each check is a blocking redis-cli run, and
    // 300 of them per poll would starve the sweeping replica on a loaded machine)
    let mut left = Vec::new();
    for i in 0..300 {
        if !sweeper.pointer_room(&format!("v{i}")).await.is_empty() {
            left.push(i);
        }
    }
    assert!(left.is_empty(), "pointers not released: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_dying_mid_release_leaves_nothing_behind() {
    let mut s = test_settings();
    s.sweep_interval_ms = 3_600_000;
    let app = spawn_app_with(s).await;
    let id = live_room(&app, "anchor").await;
    let n = 400;
    join_many(&app, &id, "v", n).await;
    app.stop(&id, "anchor").await.assert_ok();

    // A replica claims the room and dies after releasing a few pointers, before it finished:
    // its claim holds the room for the claim's lease, then another replica carries on.
    let [schedule, claims] = [
        app.key("idx:{rooms}:sweep_due"),
        app.key("idx:{rooms}:sweep_claims"),
    ];
    let close_at = app.key("idx:{rooms}:close_at");
    let purge_at = app.key("idx:{rooms}:purge_at");
    let [followups, followup_of] = [
        app.key("idx:{rooms}:followups"),
        app.key("idx:{rooms}:followup_of"),
    ];
    let [pk_due, pk_of] = [app.key("idx:{rooms}:pk_due"), app.key("idx:{rooms}:pk_of")];
    let claimed = shared_redis()
        .cli(&[
            "EVAL",
            include_str!("../../src/store/lua/claim.lua"),
            "8",
            &schedule,
            &claims,
            &close_at,
            &purge_at,
            &followups,
            &followup_of,
            &pk_due,
            &pk_of,
            "5000",
            "200",
            "dead-replica",
        ])
        .await
        .unwrap();
    assert!(
        claimed.contains(&id),
        "the dead replica claimed the room: {claimed}"
    );
    for i in 0..50 {
        // the dead replica released these pointers (user_release.lua at the seq of their join)
        let user = format!("v{i}");
        let bucket = liveroom::store::inspect::KeyNames::new(&app.settings.redis_key_prefix)
            .user_pointers(&user);
        let record = shared_redis()
            .cli(&["--raw", "HGET", &bucket, &user])
            .await
            .unwrap();
        let mut parts = record.trim_end_matches('\n').split('\t');
        let (seq, imid) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        shared_redis()
            .cli(&["HSET", &bucket, &user, &format!("{seq}\t{imid}\t")])
            .await
            .unwrap();
    }

    let mut s = app.settings.clone();
    s.sweep_interval_ms = 50;
    let carrier = spawn_app_with(s).await;
    let leaving = app.key(&format!("room:{{{id}}}:leaving"));
    eventually(Duration::from_secs(30), "no member left aside", || async {
        let exists = shared_redis().cli(&["EXISTS", &leaving]).await?;
        (int_of(&exists) == 0).then_some(())
    })
    .await;
    // once nothing is set aside, every pointer must be released (checked once, as above)
    let mut left = Vec::new();
    for i in 0..n {
        if !carrier.pointer_room(&format!("v{i}")).await.is_empty() {
            left.push(i);
        }
    }
    assert!(left.is_empty(), "pointers not released: {left:?}");
    // the users are free: each can join another room
    let other = live_room(&carrier, "anchor2").await;
    carrier.join(&other, "v7").await.assert_ok();
    assert_eq!(carrier.online_count(&other).await, 1);
}

/// The room's events of one type, as (user_id, reason) pairs.
async fn logged(app: &TestApp, id: &str, kind: &str) -> Vec<(String, String)> {
    let key = app.key(&format!("room:{{{id}}}:events"));
    let raw = shared_redis()
        .cli(&["--raw", "XRANGE", &key, "-", "+"])
        .await
        .unwrap_or_default();
    raw.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line.trim()).ok())
        .filter(|e| e["type"] == kind)
        .map(|e| {
            (
                e["user_id"].as_str().unwrap_or("").to_owned(),
                e["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lapses_swept_by_three_replicas_are_announced_once_each() {
    let mut s = test_settings();
    s.heartbeat_interval_ms = 300;
    s.heartbeat_misses = 3;
    s.sweep_interval_ms = 50;
    let one = spawn_app_with(s.clone()).await;
    let two = spawn_app_with(s.clone()).await;
    let three = spawn_app_with(s).await;
    let mut rooms = Vec::new();
    for (i, app) in [&one, &two, &three].into_iter().enumerate() {
        let id = live_room(app, &format!("anchor{i}")).await;
        join_many(app, &id, &format!("r{i}-"), 20).await;
        rooms.push(id);
    }
    // nobody beats, anchors included: every member lapses, each room's anchor goes offline
    for id in &rooms {
        eventually(Duration::from_secs(20), "lapses announced", || async {
            let left = logged(&one, id, "member_left").await;
            let offline = logged(&one, id, "anchor_offline").await;
            (left.len() >= 20 && !offline.is_empty()).then_some(())
        })
        .await;
    }
    for (i, id) in rooms.iter().enumerate() {
        let mut left = logged(&one, id, "member_left").await;
        left.sort();
        let expected: Vec<(String, String)> = {
            let mut e: Vec<_> = (0..20)
                .map(|j| (format!("r{i}-{j}"), "lapsed".to_owned()))
                .collect();
            e.sort();
            e
        };
        assert_eq!(left, expected, "each member's lapse once, in room {i}");
        assert_eq!(logged(&one, id, "anchor_offline").await.len(), 1);
        assert_eq!(one.online_count(id).await, 0);
    }
    // and the platform's online total came back to zero with them
    eventually(Duration::from_secs(5), "members_online 0", || async {
        (one.metric("liveroom_members_online").await == Some(0)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anchor_has_at_most_the_open_rooms_quota() {
    let mut s = test_settings();
    s.max_open_rooms_per_user = 3;
    let app = spawn_app_with(s).await;
    let rooms = [
        app.create_room("busy", "one").await,
        app.create_room("busy", "two").await,
        app.create_room("busy", "three").await,
    ];
    let body = serde_json::json!({"title": "four"});
    let refused = app
        .request(
            reqwest::Method::POST,
            "/client/live/room/instance",
            Some(&token("busy")),
            Some(body.clone()),
        )
        .await;
    refused.assert_error(429, 42900);
    assert!(
        refused.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("at most 3 rooms")),
        "{:?}",
        refused.body
    );
    // another anchor is not affected
    app.create_room("calm", "one").await;
    // an ended room frees its place, and so does a deleted one
    app.start(&rooms[0], "busy").await.assert_ok();
    app.stop(&rooms[0], "busy").await.assert_ok();
    app.create_room("busy", "four").await;
    app.delete(&rooms[1], "busy").await.assert_ok();
    app.create_room("busy", "five").await;
    app.request(
        reqwest::Method::POST,
        "/client/live/room/instance",
        Some(&token("busy")),
        Some(body),
    )
    .await
    .assert_error(429, 42900);
}

/// The quota is reserved in the anchor's slot before the room exists: 50 creates at once by one
/// anchor over two replicas, with a limit of 10, make exactly 10 rooms (issue 25).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_over_two_replicas_never_pass_the_quota() {
    let mut s = test_settings();
    s.max_open_rooms_per_user = 10;
    let one = spawn_app_with(s.clone()).await;
    let two = spawn_app_with(s).await;
    let anchor = token("crowded");
    let creates = (0..50).map(|i| {
        let app = if i % 2 == 0 { &one } else { &two };
        app.request(
            reqwest::Method::POST,
            "/client/live/room/instance",
            Some(&anchor),
            Some(serde_json::json!({"title": format!("room {i}")})),
        )
    });
    let answers = futures_util::future::join_all(creates).await;
    let created = answers.iter().filter(|a| a.code() == 0).count();
    for refused in answers.iter().filter(|a| a.code() != 0) {
        refused.assert_error(429, 42900);
    }
    assert_eq!(created, 10, "exactly the quota's rooms were created");
    let mine = one
        .get("/client/live/room/mine?page_size=100", &anchor)
        .await;
    assert_eq!(mine.assert_ok()["total_count"], 10);
}
