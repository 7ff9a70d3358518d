//! Issue 27, a room's members over S hash tags: what is built of it so far, the choice of the
//! shards' tags (store/keys.rs `room_shard_tag`): on a 3-master cluster a room's three shards
//! land on three masters, and its members split so that no master holds more than 45 %.

use std::collections::HashMap;
use std::time::Duration;

use liveroom::domain::ids::LiveId;
use liveroom::store::inspect::KeyNames;

use super::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rooms_three_shards_land_on_three_masters_and_split_its_members() {
    let app = spawn_app().await;
    let raw = app.create_room("anchor", "a big one").await;
    let id = LiveId::parse(&raw).expect("a live_id");
    let names = KeyNames::new(&app.settings.redis_key_prefix);
    let tags: Vec<String> = (0..3).map(|s| names.room_shard_tag(&id, s, 3)).collect();
    assert_eq!(tags[0], raw, "shard 0 is the room's own tag");

    // the slot each shard's keys hash to, as the server computes it
    let mut owners = Vec::new();
    for tag in &tags {
        let key = app.key(&format!("room:{{{tag}}}:members"));
        let slot = names.slot_of(tag);
        if let SharedRedis::Cluster(_) = shared_redis() {
            let said = shared_redis()
                .cli(&["CLUSTER", "KEYSLOT", &key])
                .await
                .unwrap_or_default();
            assert_eq!(said.trim(), format!("(integer) {slot}"), "{key}");
        }
        owners.push(owner_of(slot).await);
    }
    if let SharedRedis::Cluster(cluster) = shared_redis() {
        let distinct: std::collections::HashSet<&String> = owners.iter().collect();
        assert_eq!(
            distinct.len(),
            cluster.nodes.len().min(3),
            "one shard a master: {owners:?}"
        );
    }

    // 3 000 members over the three shards, and so over the masters
    let mut per_master: HashMap<String, usize> = HashMap::new();
    for i in 0..3_000 {
        let shard = names.member_shard(&format!("viewer-{i}"), 3) as usize;
        *per_master.entry(owners[shard].clone()).or_default() += 1;
    }
    let most = per_master.values().copied().max().unwrap_or(0);
    assert!(most * 100 <= 3_000 * 45, "{per_master:?}");
}

/// The node that serves a slot (its port), or "single" on one Redis.
async fn owner_of(slot: u32) -> String {
    let SharedRedis::Cluster(cluster) = shared_redis() else {
        return format!("single:{}", slot * 3 / 16_384);
    };
    for node in &cluster.nodes {
        let nodes = node.cli(&["CLUSTER", "NODES"]).await.unwrap_or_default();
        let Some(me) = nodes.lines().find(|l| l.contains("myself")) else {
            continue;
        };
        let serves = me.split_whitespace().skip(8).any(|range| {
            let (start, end) = range.split_once('-').unwrap_or((range, range));
            match (start.parse::<u32>(), end.parse::<u32>()) {
                (Ok(start), Ok(end)) => (start..=end).contains(&slot),
                _ => false,
            }
        });
        if serves {
            return me.split_whitespace().nth(1).unwrap_or("?").to_owned();
        }
    }
    "none".to_owned()
}

/// How many members each of a room's `shards` rooms of members holds (ZCARD of each).
async fn members_per_shard(app: &TestApp, id: &LiveId, shards: u32) -> Vec<usize> {
    let names = KeyNames::new(&app.settings.redis_key_prefix);
    let mut per = Vec::new();
    for s in 0..shards {
        let tag = names.room_shard_tag(id, s, shards);
        let key = app.key(&format!("room:{{{tag}}}:members"));
        let said = shared_redis()
            .cli(&["ZCARD", &key])
            .await
            .unwrap_or_default();
        let n = said
            .trim()
            .trim_start_matches("(integer) ")
            .parse()
            .unwrap_or(0);
        per.push(n);
    }
    per
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sharded_rooms_members_join_beat_count_and_leave_over_its_shards() {
    const CROWD: usize = 300;
    let app = spawn_app().await;
    let raw = app.create_room("anchor", "a big one").await;
    let id = LiveId::parse(&raw).expect("a live_id");
    app.start(&raw, "anchor").await.assert_ok();

    // bad counts name the problem; the same count twice is a no-op
    app.set_member_shards(&raw, 0)
        .await
        .assert_error(400, 40000);
    app.set_member_shards(&raw, 17)
        .await
        .assert_error(400, 40000);
    app.set_member_shards(&raw, 3).await.assert_ok();
    app.set_member_shards(&raw, 3).await.assert_ok();
    let viewer = |i: usize| format!("viewer-{i:04}");
    for i in 0..CROWD {
        let joined = app.join(&raw, &viewer(i)).await;
        // the other shards' counts as this replica read them within the last second
        let said = joined.assert_ok()["online_count"].as_u64().unwrap_or(0);
        assert!(said >= 1 && said <= i as u64 + 1, "{i}: {said}");
    }
    // the shards are fixed once members joined
    app.set_member_shards(&raw, 2)
        .await
        .assert_error(409, 40900);

    // every member is in exactly one room of members, and no shard holds most of them
    let per = members_per_shard(&app, &id, 3).await;
    assert_eq!(per.iter().sum::<usize>(), CROWD, "{per:?}");
    assert!(per.iter().all(|&n| n * 100 <= CROWD * 45), "{per:?}");
    let info = app.info(&raw, "observer").await;
    let data = info.assert_ok();
    assert_eq!(data["online_count"], CROWD as u64);
    assert_eq!(data["pv"], CROWD as u64);
    // uv is a HyperLogLog's estimate (one per shard, the users split between them)
    let uv = data["uv"].as_u64().unwrap_or(0) as usize;
    assert!(uv.abs_diff(CROWD) * 100 <= CROWD * 2, "uv {uv}");

    // heartbeats reach each member's shard, on this replica and on a fresh one
    let other = spawn_app_with(app.settings.clone()).await;
    for i in (0..CROWD).step_by(7) {
        let beat = app.heartbeat(&raw, &viewer(i)).await;
        assert_eq!(beat.assert_ok()["live_status"], 1, "{i}");
        let beat = other.heartbeat(&raw, &viewer(i)).await;
        assert_eq!(beat.assert_ok()["live_status"], 1, "{i}");
    }
    other
        .heartbeat(&raw, "stranger")
        .await
        .assert_error(409, 40901);

    // leaves, then a move to an unsharded room and back
    for i in 0..10 {
        app.leave(&raw, &viewer(i)).await.assert_ok();
        app.heartbeat(&raw, &viewer(i))
            .await
            .assert_error(409, 40901);
    }
    assert_eq!(app.online_count(&raw).await, CROWD as u64 - 10);
    let small = app.create_room("anchor2", "a small one").await;
    let mover = viewer(100);
    app.join(&small, &mover).await.assert_ok();
    assert_eq!(app.online_count(&raw).await, CROWD as u64 - 11);
    assert_eq!(app.online_count(&small).await, 1);
    assert_eq!(app.pointer_room(&mover).await, small);
    other.join(&raw, &mover).await.assert_ok();
    assert_eq!(app.online_count(&small).await, 0);
    assert_eq!(app.online_count(&raw).await, CROWD as u64 - 10);
    assert!(app.pointer_room(&mover).await.starts_with(&raw));
    assert_eq!(
        members_per_shard(&app, &id, 3).await.iter().sum::<usize>(),
        CROWD - 10
    );
}

/// Whether a key exists.
async fn exists(key: &str) -> bool {
    let said = shared_redis()
        .cli(&["EXISTS", key])
        .await
        .unwrap_or_default();
    said.trim() != "(integer) 0"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sharded_rooms_end_releases_every_member_and_pointer_of_every_shard() {
    const CROWD: usize = 150;
    let app = spawn_app().await;
    let raw = app.create_room("anchor", "a big one").await;
    let id = LiveId::parse(&raw).expect("a live_id");
    app.set_member_shards(&raw, 3).await.assert_ok();
    let viewer = |i: usize| format!("viewer-{i:04}");
    // some join the waiting room, the rest once it is live
    for i in 0..CROWD / 2 {
        app.join(&raw, &viewer(i)).await.assert_ok();
    }
    app.start(&raw, "anchor").await.assert_ok();
    for i in CROWD / 2..CROWD {
        app.join(&raw, &viewer(i)).await.assert_ok();
    }
    for i in (0..CROWD).step_by(5) {
        let beat = app.heartbeat(&raw, &viewer(i)).await;
        assert_eq!(beat.assert_ok()["live_status"], 1, "{i}");
    }
    assert_eq!(app.online_count(&raw).await, CROWD as u64);

    app.stop(&raw, "anchor").await.assert_ok();
    // every member's heartbeat says the live ended, whatever its shard
    for i in (0..CROWD).step_by(5) {
        let beat = app.heartbeat(&raw, &viewer(i)).await;
        assert_eq!(beat.assert_ok()["live_status"], 2, "{i}");
    }
    assert_eq!(app.online_count(&raw).await, 0);
    // the sweep releases every member of every shard, and every pointer
    let names = KeyNames::new(&app.settings.redis_key_prefix);
    for s in 0..3 {
        let tag = names.room_shard_tag(&id, s, 3);
        for suffix in [":members", ":leaving"] {
            let key = app.key(&format!("room:{{{tag}}}{suffix}"));
            eventually(Duration::from_secs(30), &format!("{key} gone"), || async {
                (!exists(&key).await).then_some(())
            })
            .await;
        }
    }
    for i in 0..CROWD {
        assert_eq!(app.pointer_room(&viewer(i)).await, "", "{}", viewer(i));
    }
    // a member can join another room at once
    let other = app.create_room("anchor2", "next").await;
    app.join(&other, &viewer(1)).await.assert_ok();

    // the delete takes every shard room's keys with the room's
    app.delete(&raw, "anchor").await.assert_ok();
    app.heartbeat(&raw, &viewer(2))
        .await
        .assert_error(404, 40400);
    for s in 0..3 {
        let tag = names.room_shard_tag(&id, s, 3);
        for suffix in ["", ":members", ":joins", ":uv", ":entries", ":leaving"] {
            let key = app.key(&format!("room:{{{tag}}}{suffix}"));
            eventually(Duration::from_secs(30), &format!("{key} gone"), || async {
                (!exists(&key).await).then_some(())
            })
            .await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sharded_rooms_silent_members_lapse_in_every_shard() {
    let mut settings = test_settings();
    settings.heartbeat_interval_ms = 300;
    settings.heartbeat_misses = 3;
    let app = spawn_app_with(settings).await;
    let raw = app.create_room("anchor", "a big one").await;
    app.set_member_shards(&raw, 3).await.assert_ok();
    app.start(&raw, "anchor").await.assert_ok();
    let viewer = |i: usize| format!("viewer-{i:04}");
    for i in 0..60 {
        app.join(&raw, &viewer(i)).await.assert_ok();
    }
    // the silent ones lapse (counted out, pointers released), whatever their shard
    eventually(Duration::from_secs(30), "every member lapsed", || async {
        (app.online_count(&raw).await == 0).then_some(())
    })
    .await;
    for i in 0..60 {
        let user = viewer(i);
        eventually(
            Duration::from_secs(30),
            &format!("{user}'s pointer"),
            || async { app.pointer_room(&user).await.is_empty().then_some(()) },
        )
        .await;
        app.heartbeat(&raw, &user).await.assert_error(409, 40901);
    }
}

async fn kick(app: &TestApp, id: &str, user: &str, ban_secs: i64) -> Answer {
    app.request(
        reqwest::Method::POST,
        "/client/live/room/kick",
        Some(&token("anchor")),
        Some(serde_json::json!({"live_id": id, "user_id": user, "ban_secs": ban_secs})),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kicks_and_bans_reach_the_members_shard() {
    let app = spawn_app().await;
    let raw = app.create_room("anchor", "a big one").await;
    app.set_member_shards(&raw, 3).await.assert_ok();
    app.start(&raw, "anchor").await.assert_ok();
    let names = KeyNames::new(&app.settings.redis_key_prefix);
    // one user of each shard is kicked with a ban, each ending a different time
    let mut of_shard: Vec<Option<String>> = vec![None; 3];
    for i in 0.. {
        let user = format!("viewer-{i:04}");
        let s = names.member_shard(&user, 3) as usize;
        if of_shard[s].is_none() {
            of_shard[s] = Some(user);
        }
        if of_shard.iter().all(Option::is_some) {
            break;
        }
    }
    let kicked: Vec<String> = of_shard.into_iter().flatten().collect();
    for user in &kicked {
        app.join(&raw, user).await.assert_ok();
    }
    app.join(&raw, "stays").await.assert_ok();
    assert_eq!(app.online_count(&raw).await, 4);
    for (n, user) in kicked.iter().enumerate() {
        let answer = kick(&app, &raw, user, 300 - 100 * n as i64).await;
        assert_eq!(answer.assert_ok()["removed"], true, "{user}");
        app.heartbeat(&raw, user).await.assert_error(409, 40901);
        app.join(&raw, user).await.assert_error(403, 40301);
    }
    assert_eq!(app.online_count(&raw).await, 1);
    for user in &kicked {
        eventually(
            Duration::from_secs(30),
            &format!("{user}'s pointer"),
            || async { app.pointer_room(user).await.is_empty().then_some(()) },
        )
        .await;
    }
    // the room's bans, across its shards, soonest to end first and paged
    let page = |n: u32| {
        let app = &app;
        let raw = raw.clone();
        async move {
            app.get(
                &format!("/client/live/room/ban/{raw}?page_num={n}&page_size=2"),
                &token("anchor"),
            )
            .await
        }
    };
    let first = page(1).await;
    let d = first.assert_ok();
    assert_eq!(d["total_count"], 3);
    let listed = |d: &serde_json::Value| -> Vec<String> {
        d["list"]
            .as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|b| b["user_id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(listed(d), [kicked[2].clone(), kicked[1].clone()]);
    assert_eq!(listed(page(2).await.assert_ok()), [kicked[0].clone()]);
    // a ban is lifted in the user's shard
    let lifted = app
        .request(
            reqwest::Method::DELETE,
            &format!("/client/live/room/ban/{raw}/{}", kicked[1]),
            Some(&token("anchor")),
            None,
        )
        .await;
    lifted.assert_ok();
    app.join(&raw, &kicked[1]).await.assert_ok();
    app.join(&raw, &kicked[0]).await.assert_error(403, 40301);
}

/// Every member user_list shows, page after page of `size`.
async fn listed(app: &TestApp, id: &str, size: u32) -> (Vec<String>, u64) {
    let mut all = Vec::new();
    let mut total = 0;
    for page in 1.. {
        let answer = app.user_list(id, page, size).await;
        let data = answer.assert_ok();
        total = data["total_count"].as_u64().unwrap_or(0);
        for m in data["list"].as_array().cloned().unwrap_or_default() {
            all.push(m["user_id"].as_str().unwrap_or_default().to_owned());
        }
        if data["end_page"] == true {
            break;
        }
    }
    (all, total)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_list_pages_a_sharded_room_most_recent_joiner_first() {
    const CROWD: usize = 400;
    let app = spawn_app().await;
    let raw = app.create_room("anchor", "a big one").await;
    app.set_member_shards(&raw, 3).await.assert_ok();
    app.start(&raw, "anchor").await.assert_ok();
    let other = spawn_app_with(app.settings.clone()).await;
    let viewer = |i: usize| format!("viewer-{i:04}");
    // joins through two replicas, so that numbers reach each shard from both
    for i in 0..CROWD {
        let through = if i % 2 == 0 { &app } else { &other };
        through.join(&raw, &viewer(i)).await.assert_ok();
    }
    let mut expected: Vec<String> = (0..CROWD).rev().map(viewer).collect();
    for size in [100, 7] {
        let (all, total) = listed(&app, &raw, size).await;
        assert_eq!(total, CROWD as u64);
        assert_eq!(all, expected, "pages of {size}");
    }
    // a page past the end is empty, with the true totals
    let past = app.user_list(&raw, 100, 100).await;
    assert_eq!(past.assert_ok()["list"].as_array().map(Vec::len), Some(0));
    assert_eq!(past.assert_ok()["total_count"], CROWD as u64);

    // leaves anywhere in the order (whole chunks of the first joiners among them), and a
    // leaver's return comes first
    for i in (0..CROWD).filter(|i| i.is_multiple_of(3) || *i < 130) {
        app.leave(&raw, &viewer(i)).await.assert_ok();
    }
    expected.retain(|u| {
        let i: usize = u["viewer-".len()..].parse().unwrap_or(0);
        !(i.is_multiple_of(3) || i < 130)
    });
    app.join(&raw, &viewer(3)).await.assert_ok();
    expected.insert(0, viewer(3));
    for size in [100, 9] {
        let (all, total) = listed(&other, &raw, size).await;
        assert_eq!(total, expected.len() as u64);
        assert_eq!(all, expected, "pages of {size}");
    }

    // A room whose join numbers ran far (a long live with a churning crowd: 1 280 000 joins
    // before these, 20 000 chunks, so that a page's descent takes more than one round of
    // reads and a page walks down over empty chunks)
    let key = app.key(&format!("room:{{{raw}}}"));
    shared_redis()
        .cli(&["HSET", &key, "jn", "1280000"])
        .await
        .expect("set");
    for i in CROWD..CROWD + 90 {
        app.join(&raw, &viewer(i)).await.assert_ok();
    }
    for i in (CROWD..CROWD + 90).rev() {
        expected.insert(CROWD + 90 - 1 - i, viewer(i));
    }
    for size in [100, 7] {
        let (all, total) = listed(&app, &raw, size).await;
        assert_eq!(total, expected.len() as u64);
        assert_eq!(all, expected, "pages of {size}");
    }
}

/// One user of each of a room's three shards whose name starts with `prefix`.
fn one_of_each_shard(app: &TestApp, prefix: &str) -> Vec<String> {
    let names = KeyNames::new(&app.settings.redis_key_prefix);
    let mut of_shard: Vec<Option<String>> = vec![None; 3];
    for i in 0.. {
        let user = format!("{prefix}-{i}");
        let s = names.member_shard(&user, 3) as usize;
        if of_shard[s].is_none() {
            of_shard[s] = Some(user);
        }
        if of_shard.iter().all(Option::is_some) {
            break;
        }
    }
    of_shard.into_iter().flatten().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_streams_carry_their_members_in_every_shard() {
    let mut settings = test_settings();
    settings.heartbeat_interval_ms = 400;
    settings.heartbeat_misses = 3;
    let app = spawn_app_with(settings).await;
    let raw = app.create_room("anchor", "a big one").await;
    app.set_member_shards(&raw, 3).await.assert_ok();
    app.start(&raw, "anchor").await.assert_ok();
    let watching = one_of_each_shard(&app, "watching");
    let silent = one_of_each_shard(&app, "silent");
    for user in watching.iter().chain(&silent) {
        app.join(&raw, user).await.assert_ok();
    }
    let mut streams = Vec::new();
    for user in &watching {
        let sse = super::events::SseClient::open(&app, &raw, user, None)
            .await
            .expect("a member may watch");
        streams.push(sse);
    }
    // the silent lapse, a window after joining; the watching stay without a heartbeat
    eventually(Duration::from_secs(20), "the silent lapse", || async {
        (app.online_count(&raw).await == 3).then_some(())
    })
    .await;
    let (mut listed, _) = listed(&app, &raw, 50).await;
    listed.sort();
    let mut expected = watching.clone();
    expected.sort();
    assert_eq!(listed, expected);
    for user in &silent {
        app.heartbeat(&raw, user).await.assert_error(409, 40901);
    }
    // closed streams let their members lapse
    drop(streams);
    eventually(Duration::from_secs(20), "the watching lapse", || async {
        (app.online_count(&raw).await == 0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchers_see_the_online_count_of_all_shards() {
    let app = spawn_app().await;
    let raw = app.create_room("anchor", "a big one").await;
    app.set_member_shards(&raw, 3).await.assert_ok();
    app.start(&raw, "anchor").await.assert_ok();
    let mut watcher = super::events::SseClient::open(&app, &raw, "anchor", None)
        .await
        .expect("the anchor may watch");
    let viewers = one_of_each_shard(&app, "viewer");
    for user in &viewers {
        app.join(&raw, user).await.assert_ok();
    }
    // the counts said grow to the room's, never above it; the last says all three
    let mut last = 0;
    while last < 3 {
        let Some(event) = watcher.next().await else {
            panic!("the stream ended at online_count {last}");
        };
        if event.kind == "online_count" {
            let said = event.data["online_count"].as_u64().unwrap_or(0);
            assert!(said >= last && said <= 3, "{said} after {last}");
            last = said;
        }
    }
    // and a leave in another shard than the room's own is said too
    app.leave(&raw, &viewers[2]).await.assert_ok();
    loop {
        let Some(event) = watcher.next().await else {
            panic!("the stream ended");
        };
        if event.kind == "online_count" && event.data["online_count"] == 2 {
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn likes_stats_and_seats_in_a_sharded_room() {
    let app = spawn_app().await;
    let raw = app.create_room("anchor", "a big one").await;
    app.set_member_shards(&raw, 3).await.assert_ok();
    app.start(&raw, "anchor").await.assert_ok();
    let viewers = one_of_each_shard(&app, "viewer");
    for user in &viewers {
        app.join(&raw, user).await.assert_ok();
    }
    let like = |user: String| {
        let app = &app;
        let raw = raw.clone();
        async move {
            app.request(
                reqwest::Method::PUT,
                &format!("/client/live/room/{raw}/like"),
                Some(&token(&user)),
                Some(serde_json::json!({"count": 2})),
            )
            .await
        }
    };
    // members of every shard like; a stranger may not
    for user in &viewers {
        like(user.clone()).await.assert_ok();
    }
    like("anchor".into()).await.assert_ok();
    like("stranger".into()).await.assert_error(409, 40901);
    assert_eq!(
        app.info(&raw, "observer").await.assert_ok()["likes"],
        8,
        "four likers, two likes each"
    );
    // the room's figures add up its shards
    let stats = app
        .get(&format!("/server/live/room/{raw}/stats"), &admin_token())
        .await;
    let data = stats.assert_ok();
    assert_eq!(data["online_count"], 3);
    assert_eq!(data["pv"], 3);
    assert_eq!(data["peak_online"], 3);
    // co-host seats are not offered in a sharded room: refused, nothing written
    let seat = app
        .request(
            reqwest::Method::POST,
            &format!("/client/live/room/seat/{raw}"),
            Some(&token(&viewers[1])),
            Some(serde_json::json!({})),
        )
        .await;
    seat.assert_error(409, 40900);
    // an ended room's likes are refused as ended, for members and strangers alike
    app.stop(&raw, "anchor").await.assert_ok();
    like(viewers[2].clone()).await.assert_error(409, 40900);
    like("stranger".into()).await.assert_error(409, 40900);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_no_member_reached_yet_answers_as_a_room_without_the_user() {
    let app = spawn_app().await;
    let raw = app.create_room("anchor", "a big one").await;
    app.set_member_shards(&raw, 3).await.assert_ok();
    app.start(&raw, "anchor").await.assert_ok();
    // users of the shard rooms (not the room's own shard), before anyone joined
    let names = KeyNames::new(&app.settings.redis_key_prefix);
    let strangers: Vec<String> = one_of_each_shard(&app, "stranger")
        .into_iter()
        .filter(|u| names.member_shard(u, 3) != 0)
        .collect();
    assert_eq!(strangers.len(), 2);
    let (first, second) = (&strangers[0], &strangers[1]);
    app.heartbeat(&raw, first).await.assert_error(409, 40901);
    app.leave(&raw, first).await.assert_ok();
    let watch = app
        .client
        .get(format!("{}/client/live/room/events/{raw}", app.base))
        .header("Authorization", format!("Bearer {}", token(first)))
        .send()
        .await
        .expect("sent");
    // a non-member may not watch (409/40901, as in any room)
    assert_eq!(watch.status(), 409);
    let said: serde_json::Value = watch.json().await.unwrap_or_default();
    assert_eq!(said["code"], 40901);
    // lifting a ban nobody set succeeds; a stranger may not lift one
    let unban = |by: String, user: String| {
        let app = &app;
        let raw = raw.clone();
        async move {
            app.request(
                reqwest::Method::DELETE,
                &format!("/client/live/room/ban/{raw}/{user}"),
                Some(&token(&by)),
                None,
            )
            .await
        }
    };
    unban("anchor".into(), first.clone()).await.assert_ok();
    unban("viewer".into(), first.clone())
        .await
        .assert_error(403, 40300);
    // a ban before the user ever came keeps them out; only the anchor may set it
    kick(&app, &raw, second, 600).await.assert_ok();
    app.join(&raw, second).await.assert_error(403, 40301);
    let by_viewer = app
        .request(
            reqwest::Method::POST,
            "/client/live/room/kick",
            Some(&token("viewer")),
            Some(serde_json::json!({"live_id": raw, "user_id": first, "ban_secs": 60})),
        )
        .await;
    by_viewer.assert_error(403, 40300);
    app.join(&raw, first).await.assert_ok();
}
