//! CONTRACT section 6: join, leave, heartbeat, members, the anchor's presence and the
//! anchor-offline close, on one app and across replicas.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;

use super::helpers::*;

/// Settings with a short presence window: `interval_ms` x 3 misses.
fn fast(interval_ms: u64) -> liveroom::config::Settings {
    let mut s = test_settings();
    s.heartbeat_interval_ms = interval_ms;
    s.heartbeat_misses = 3;
    s
}

async fn live_room(app: &TestApp, anchor: &str) -> String {
    let id = app.create_room(anchor, "room").await;
    app.start(&id, anchor).await.assert_ok();
    id
}

fn members(a: &Answer) -> Vec<String> {
    a.assert_ok()["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Redis's clock, in ms.
async fn redis_now_ms() -> i64 {
    let out = shared_redis().cli(&["TIME"]).await.unwrap();
    let parts: Vec<i64> = out
        .split_whitespace()
        .filter_map(|p| p.trim_matches('"').parse().ok())
        .collect();
    parts[0] * 1000 + parts[1] / 1000
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_counts_the_visit_and_answers_the_room() {
    let app = spawn_app().await;
    let id = live_room(&app, "anchor").await;
    let a = app.join(&id, "v1").await;
    let d = a.assert_ok();
    assert_eq!(d["live_id"], id.as_str());
    assert_eq!(
        (
            d["online_count"].as_u64(),
            d["pv"].as_u64(),
            d["uv"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(d["push_url"], "", "a viewer never sees the publish URL");
    assert_eq!(d["anchor_info"]["user_id"], "anchor");

    // joining the room one is in is a heartbeat, not a second visit
    let d = app.join(&id, "v1").await.assert_ok().clone();
    assert_eq!(
        (
            d["online_count"].as_u64(),
            d["pv"].as_u64(),
            d["uv"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );

    let d = app.join(&id, "v2").await.assert_ok().clone();
    assert_eq!(
        (
            d["online_count"].as_u64(),
            d["pv"].as_u64(),
            d["uv"].as_u64()
        ),
        (Some(2), Some(2), Some(2))
    );

    // leave and come back: a new visit (pv) by a known visitor (uv)
    app.leave(&id, "v1").await.assert_ok();
    let d = app.join(&id, "v1").await.assert_ok().clone();
    assert_eq!(
        (
            d["online_count"].as_u64(),
            d["pv"].as_u64(),
            d["uv"].as_u64()
        ),
        (Some(2), Some(3), Some(2))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_room_can_be_joined_an_ended_one_cannot() {
    let app = spawn_app().await;
    let id = app.create_room("anchor", "waiting room").await;
    app.join(&id, "early").await.assert_ok();
    app.start(&id, "anchor").await.assert_ok();
    app.stop(&id, "anchor").await.assert_ok();
    app.join(&id, "late").await.assert_error(409, 40900);
    app.join("live_0192f0c1a2b34c5d8e9f0a1b2c3d4e5f", "late")
        .await
        .assert_error(404, 40400);
    app.join("garbage", "late").await.assert_error(404, 40400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_join_keeps_the_user_where_they_were() {
    let app = spawn_app().await;
    let a = live_room(&app, "anchor-a").await;
    let ended = live_room(&app, "anchor-b").await;
    app.stop(&ended, "anchor-b").await.assert_ok();
    app.join(&a, "v").await.assert_ok();
    app.join(&ended, "v").await.assert_error(409, 40900);
    app.heartbeat(&a, "v").await.assert_ok();
    assert_eq!(app.online_count(&a).await, 1);
    // and a later hop still leaves A
    let c = live_room(&app, "anchor-c").await;
    app.join(&c, "v").await.assert_ok();
    assert_eq!(app.online_count(&a).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_another_room_leaves_the_first() {
    let app = spawn_app().await;
    let a = live_room(&app, "anchor-a").await;
    let b = live_room(&app, "anchor-b").await;
    app.join(&a, "v").await.assert_ok();
    app.join(&b, "v").await.assert_ok();
    assert_eq!(app.online_count(&a).await, 0);
    assert_eq!(app.online_count(&b).await, 1);
    assert!(members(&app.user_list(&a, 1, 20).await).is_empty());
    assert_eq!(members(&app.user_list(&b, 1, 20).await), ["v"]);
    app.heartbeat(&a, "v").await.assert_error(409, 40901);
    app.heartbeat(&b, "v").await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heartbeat_never_makes_a_member() {
    let app = spawn_app().await;
    let id = live_room(&app, "anchor").await;
    let a = app.heartbeat(&id, "stranger").await;
    a.assert_error(409, 40901);
    assert_eq!(app.online_count(&id).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leave_is_final() {
    let app = spawn_app().await;
    let id = live_room(&app, "anchor").await;
    app.join(&id, "v").await.assert_ok();
    let a = app.leave(&id, "v").await;
    a.assert_ok();
    assert!(a.body.get("data").is_none());
    app.heartbeat(&id, "v").await.assert_error(409, 40901);
    app.heartbeat(&id, "v").await.assert_error(409, 40901);
    assert_eq!(app.online_count(&id).await, 0);
    // leaving again, or a room one never joined, is harmless; an unknown room is 404
    app.leave(&id, "v").await.assert_ok();
    app.leave("live_0192f0c1a2b34c5d8e9f0a1b2c3d4e5f", "v")
        .await
        .assert_error(404, 40400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_answers_the_status() {
    let app = spawn_app().await;
    let id = live_room(&app, "anchor").await;
    app.join(&id, "v").await.assert_ok();
    let d = app.heartbeat(&id, "v").await.assert_ok().clone();
    assert_eq!(d, json!({"live_id": id, "live_status": 1}));
    app.stop(&id, "anchor").await.assert_ok();
    // on an ended room: code 0 and status 2, so the client knows to leave
    let d = app.heartbeat(&id, "v").await.assert_ok().clone();
    assert_eq!(d, json!({"live_id": id, "live_status": 2}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_lapses_after_exactly_the_misses() {
    // Interval 1000 ms x 3 misses: the window is 3000 ms. The member's last heartbeat is moved
    // back in Redis (by Redis's clock) instead of waiting, so the rule is checked to the ms.
    let mut s = test_settings();
    s.heartbeat_interval_ms = 1000;
    s.heartbeat_misses = 3;
    let app = spawn_app_with(s).await;
    let id = live_room(&app, "anchor").await;
    app.join(&id, "v").await.assert_ok();
    let members_key = app.key(&format!("room:{{{id}}}:members"));
    let age = async |ms: i64| {
        let score = (redis_now_ms().await - ms).to_string();
        shared_redis()
            .cli(&["ZADD", &members_key, &score, "v"])
            .await
            .unwrap();
    };
    age(2900).await; // two misses and a bit: still in
    assert_eq!(app.online_count(&id).await, 1);
    assert_eq!(members(&app.user_list(&id, 1, 20).await), ["v"]);
    app.heartbeat(&id, "v").await.assert_ok();
    age(3000).await; // three whole intervals without a heartbeat: gone
    assert_eq!(app.online_count(&id).await, 0);
    assert!(members(&app.user_list(&id, 1, 20).await).is_empty());
    app.heartbeat(&id, "v").await.assert_error(409, 40901);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_member_lapses_and_a_beating_one_stays() {
    // a window of 1.2 s against a beat every 100 ms: a loaded machine may stall the beats for
    // a second without the beating member lapsing
    let app = spawn_app_with(fast(400)).await;
    let id = live_room(&app, "anchor").await;
    app.join(&id, "silent").await.assert_ok();
    app.join(&id, "beating").await.assert_ok();
    let beat = async {
        // the client's side: a heartbeat every interval
        loop {
            app.heartbeat(&id, "beating").await.assert_ok();
            app.heartbeat(&id, "anchor").await.assert_ok();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let watch = eventually(
        Duration::from_secs(10),
        "the silent member lapses",
        || async {
            let list = members(&app.user_list(&id, 1, 20).await);
            (list == ["beating"]).then_some(())
        },
    );
    tokio::select! {
        _ = beat => unreachable!(),
        _ = watch => {}
    }
    assert_eq!(app.online_count(&id).await, 1);
    app.heartbeat(&id, "silent").await.assert_error(409, 40901);
    app.heartbeat(&id, "beating").await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_anchor_is_present_while_it_heartbeats() {
    let app = spawn_app_with(fast(400)).await;
    let id = app.create_room("anchor", "t").await;
    assert_eq!(app.info(&id, "x").await.assert_ok()["anchor_status"], 0);
    // the anchor's heartbeat on its own room needs no join
    app.heartbeat(&id, "anchor").await.assert_ok();
    assert_eq!(app.info(&id, "x").await.assert_ok()["anchor_status"], 1);
    assert_eq!(
        app.online_count(&id).await,
        0,
        "the anchor is not counted as a member"
    );
    eventually(
        Duration::from_secs(10),
        "anchor presence lapses",
        || async { (app.info(&id, "x").await.assert_ok()["anchor_status"] == 0).then_some(()) },
    )
    .await;
    app.start(&id, "anchor").await.assert_ok();
    assert_eq!(
        app.info(&id, "x").await.assert_ok()["anchor_status"],
        1,
        "start is a heartbeat"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_anchor_closes_the_room() {
    // the kept room's anchor beats every 100 ms against a close after 1.5 s of silence
    let mut s = fast(400);
    s.anchor_offline_close_ms = 1500;
    let app = spawn_app_with(s).await;
    let id = live_room(&app, "anchor").await;
    let kept = live_room(&app, "busy-anchor").await;
    app.join(&id, "v").await.assert_ok();
    let closed = async {
        eventually(Duration::from_secs(15), "the room closes", || async {
            let d = app.info(&id, "x").await.assert_ok().clone();
            (d["live_status"] == 2).then_some(d)
        })
        .await
    };
    let keep_alive = async {
        loop {
            app.heartbeat(&kept, "busy-anchor").await.assert_ok();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let d = tokio::select! {
        d = closed => d,
        _ = keep_alive => unreachable!(),
    };
    assert!(d["end_time"].as_i64().unwrap() >= d["start_time"].as_i64().unwrap());
    assert_eq!(d["online_count"], 0, "members are released");
    app.heartbeat(&id, "v").await.assert_ok(); // answers status 2, below
    assert_eq!(app.heartbeat(&id, "v").await.assert_ok()["live_status"], 2);
    let live = app.get("/client/live/room/list", &token("x")).await;
    let ids: Vec<_> = live.assert_ok()["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["live_id"].clone())
        .collect();
    assert_eq!(
        ids,
        [json!(kept)],
        "the closed room left the live list; the beating one stayed"
    );
    assert_eq!(app.info(&kept, "x").await.assert_ok()["live_status"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_close_a_room_once() {
    let mut s = fast(50);
    s.anchor_offline_close_ms = 300;
    let one = spawn_app_with(s.clone()).await;
    let two = spawn_app_with(s).await; // same Redis, same prefix: two replicas of one deployment
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(live_room(&one, &format!("anchor-{i}")).await);
    }
    for id in &ids {
        let end_time = eventually(Duration::from_secs(15), "closed", || async {
            let d = two.info(id, "x").await.assert_ok().clone();
            (d["live_status"] == 2).then(|| d["end_time"].clone())
        })
        .await;
        // exactly one close: the room's version moved create(1) -> start(2) -> close(3), and the
        // end_time stays what the first close wrote
        let ver = shared_redis()
            .cli(&["HGET", &one.key(&format!("room:{{{id}}}")), "ver"])
            .await
            .unwrap();
        assert_eq!(ver.trim(), "\"3\"", "{id}");
        assert_eq!(one.info(id, "x").await.assert_ok()["end_time"], end_time);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_and_delete_release_members() {
    let app = spawn_app().await;
    let stopped = live_room(&app, "a1").await;
    let deleted = live_room(&app, "a2").await;
    app.join(&stopped, "v1").await.assert_ok();
    app.join(&deleted, "v2").await.assert_ok();
    app.stop(&stopped, "a1").await.assert_ok();
    app.delete(&deleted, "a2").await.assert_ok();
    assert_eq!(
        app.heartbeat(&stopped, "v1").await.assert_ok()["live_status"],
        2
    );
    app.heartbeat(&deleted, "v2").await.assert_error(404, 40400);
    assert!(members(&app.user_list(&stopped, 1, 20).await).is_empty());
    assert_eq!(app.online_count(&stopped).await, 0);
    // their pointers are cleared (by the sweep, right after): the user is in no room
    for user in ["v1", "v2"] {
        eventually(Duration::from_secs(5), "pointer released", || async {
            app.pointer_room(user).await.is_empty().then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_list_pages_are_stable_most_recent_joiner_first() {
    let app = spawn_app().await;
    let id = live_room(&app, "anchor").await;
    for i in 0..25 {
        app.join(&id, &format!("u{i:02}")).await.assert_ok();
    }
    // re-joining (a heartbeat) does not reorder
    app.join(&id, "u03").await.assert_ok();
    let p1 = app.user_list(&id, 1, 10).await;
    let d = p1.assert_ok();
    assert_eq!(
        (
            d["total_count"].as_u64(),
            d["page_total"].as_u64(),
            d["end_page"].as_bool()
        ),
        (Some(25), Some(3), Some(false))
    );
    let mut all = members(&p1);
    all.extend(members(&app.user_list(&id, 2, 10).await));
    let p3 = app.user_list(&id, 3, 10).await;
    assert_eq!(p3.assert_ok()["end_page"], true);
    all.extend(members(&p3));
    let expected: Vec<String> = (0..25).rev().map(|i| format!("u{i:02}")).collect();
    assert_eq!(all, expected);
    let past = app.user_list(&id, 9, 10).await;
    assert!(members(&past).is_empty());
    assert_eq!(past.assert_ok()["total_count"], 25);

    let first = &p1.assert_ok()["list"][0];
    assert_eq!(first["nick"], "nick-u24");
    assert_eq!(first["im_username"], "u24");
    assert!(first["im_userid"].as_i64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_list_validates_its_query() {
    let app = spawn_app().await;
    let id = live_room(&app, "anchor").await;
    let q = |query: String| {
        let app = &app;
        async move {
            app.get(&format!("/client/live/room/user_list?{query}"), &token("x"))
                .await
        }
    };
    q(format!("live_id={id}&page_size=0"))
        .await
        .assert_error(400, 40000);
    q(format!("live_id={id}&page_size=101"))
        .await
        .assert_error(400, 40000);
    q(format!("live_id={id}&page_num=0"))
        .await
        .assert_error(400, 40000);
    let a = q(format!("live_id={id}&page_num=x")).await;
    a.assert_error(400, 40000);
    assert!(a.body["message"].as_str().unwrap().contains("page_num"));
    let a = q("page_num=1".into()).await;
    a.assert_error(400, 40000);
    assert!(a.body["message"].as_str().unwrap().contains("live_id"));
    q("live_id=live_0192f0c1a2b34c5d8e9f0a1b2c3d4e5f".into())
        .await
        .assert_error(404, 40400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_latest_profile_is_shown() {
    let app = spawn_app().await;
    let id = live_room(&app, "anchor").await;
    app.join(&id, "v").await.assert_ok();
    // the same profile beat after beat: a replica sends it once, then '' (store/heartbeats.rs)
    for _ in 0..2 {
        app.heartbeat(&id, "v").await.assert_ok();
        app.heartbeat(&id, "anchor").await.assert_ok();
    }
    let renamed = token_with(json!({
        "sub": "v", "exp": now_secs() + 600, "nick": "新名字", "avatar": "https://x.com/v.png",
        "extends": {"vip": "1"}
    }));
    app.get(&format!("/client/live/room/heartbeat/{id}"), &renamed)
        .await
        .assert_ok();
    let list = app.user_list(&id, 1, 20).await;
    let m = &list.assert_ok()["list"][0];
    assert_eq!(
        (m["nick"].as_str(), m["avatar"].as_str()),
        (Some("新名字"), Some("https://x.com/v.png"))
    );
    assert_eq!(m["extends"], json!({"vip": "1"}));
    // and back to the first profile: written again, though this replica sent it before
    app.heartbeat(&id, "v").await.assert_ok();
    let list = app.user_list(&id, 1, 20).await;
    assert_eq!(list.assert_ok()["list"][0]["nick"], "nick-v");

    let anchor = token_with(json!({"sub": "anchor", "exp": now_secs() + 600, "nick": "主播新名"}));
    app.get(&format!("/client/live/room/heartbeat/{id}"), &anchor)
        .await
        .assert_ok();
    assert_eq!(
        app.info(&id, "x").await.assert_ok()["anchor_info"]["nick"],
        "主播新名"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heartbeat_is_one_redis_call() {
    // A Redis of its own, and no sweeper ticks during the count.
    let redis = RedisServer::start(&[]);
    let mut s = settings_for(&redis);
    s.sweep_interval_ms = 3_600_000;
    let app = spawn_app_with(s).await;
    let id = live_room(&app, "anchor").await;
    app.join(&id, "v").await.assert_ok();
    // the first call of a script on a fresh Redis also loads it (NOSCRIPT, SCRIPT LOAD, retry)
    app.heartbeat(&id, "v").await.assert_ok();
    // Every command Redis receives, as MONITOR shows it; commands run inside a script show as
    // from "lua" and are not round trips.
    let monitor = redis.monitor().await;
    redis.cli(&["ECHO", "bench-start"]).await.unwrap();
    let n = 50;
    for _ in 0..n {
        app.heartbeat(&id, "v").await.assert_ok();
    }
    redis.cli(&["ECHO", "bench-end"]).await.unwrap();
    let lines = monitor.until("bench-end").await;
    let sent: Vec<&String> = lines
        .iter()
        .skip_while(|l| !l.contains("bench-start"))
        .skip(1)
        .filter(|l| !l.contains(" lua]") && !l.contains("bench-end"))
        .collect();
    assert_eq!(sent.len(), n, "one command per heartbeat: {sent:#?}");
    assert!(
        sent.iter()
            .all(|l| l.to_lowercase().contains("\"evalsha\"")),
        "{sent:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_hops_leave_each_user_in_exactly_one_room() {
    let one = spawn_app().await;
    let mut s = one.settings.clone();
    s.bind = "127.0.0.1:0".parse().unwrap();
    let two = spawn_app_with(s).await;
    let a = live_room(&one, "anchor-a").await;
    let b = live_room(&one, "anchor-b").await;
    let users: Vec<String> = (0..50).map(|i| format!("hopper{i}")).collect();
    let hops = users.iter().enumerate().map(|(i, user)| {
        let (one, two, a, b) = (&one, &two, &a, &b);
        async move {
            for round in 0..6 {
                let app = if (i + round) % 2 == 0 { one } else { two };
                let room = if (i * 7 + round * 3) % 2 == 0 { a } else { b };
                // two requests of the same user race each other, through different replicas
                let other = if room == a { b } else { a };
                let (x, y) = tokio::join!(app.join(room, user), two.join(other, user));
                x.assert_ok();
                y.assert_ok();
            }
        }
    });
    futures_util::future::join_all(hops).await;
    let in_a: HashSet<String> = members(&one.user_list(&a, 1, 100).await)
        .into_iter()
        .collect();
    let in_b: HashSet<String> = members(&two.user_list(&b, 1, 100).await)
        .into_iter()
        .collect();
    assert!(
        in_a.is_disjoint(&in_b),
        "in both: {:?}",
        in_a.intersection(&in_b).collect::<Vec<_>>()
    );
    let all: HashSet<String> = in_a.union(&in_b).cloned().collect();
    assert_eq!(
        all,
        users.iter().cloned().collect::<HashSet<_>>(),
        "everyone is somewhere"
    );
    assert_eq!(one.online_count(&a).await + one.online_count(&b).await, 50);
    // and the user's pointer agrees with the room they are in
    for user in &users {
        let room = one.pointer_room(user).await;
        let expected = if in_a.contains(user) { &a } else { &b };
        assert_eq!(room, expected.as_str(), "{user}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_that_arrive_together_share_calls_and_each_get_their_own_answer() {
    // A Redis of the test's own (one node, or a 3-master cluster with LIVEROOM_TEST_REDIS=
    // cluster, where a call carries one room's beats), paused while the heartbeats arrive: the
    // first calls wait in it, and the heartbeats behind them gather into shared calls
    // (store/heartbeats.rs).
    let (redis, settings) = PrivateRedis::start();
    let app = spawn_app_with(settings).await;
    let a = live_room(&app, "anchor-a").await;
    let b = live_room(&app, "anchor-b").await;
    let ended = live_room(&app, "anchor-e").await;
    let gone = live_room(&app, "anchor-g").await;
    for i in 0..10 {
        app.join(&a, &format!("a{i}")).await.assert_ok();
        app.join(&b, &format!("b{i}")).await.assert_ok();
    }
    app.join(&ended, "e0").await.assert_ok();
    app.stop(&ended, "anchor-e").await.assert_ok();
    app.delete(&gone, "anchor-g").await.assert_ok();
    // a member whose last heartbeat is an hour old (by Redis's clock): its beat takes it out
    // (members, join order, entry, a member_left in the room's log) and answers join again
    app.join(&b, "b-lapsed").await.assert_ok();
    let cli = async |args: &[&str]| {
        let mut all = vec!["-c"];
        all.extend_from_slice(args);
        redis.nodes[0].cli(&all).await.unwrap_or_default()
    };
    let hour_ago = (redis_now_ms().await - 3_600_000).to_string();
    let members_key = app.key(&format!("room:{{{b}}}:members"));
    cli(&["ZADD", &members_key, &hour_ago, "b-lapsed"]).await;

    // (room, user, what the heartbeat must answer): status and code, live_status when 200
    let mut beats: Vec<(String, String, u16, i64, i64)> = Vec::new();
    for i in 0..10 {
        beats.push((a.clone(), format!("a{i}"), 200, 0, 1));
        beats.push((b.clone(), format!("b{i}"), 200, 0, 1));
        // a member of the other room, and one who never joined: join again
        beats.push((a.clone(), format!("b{i}"), 409, 40901, 0));
        beats.push((b.clone(), format!("stranger{i}"), 409, 40901, 0));
    }
    beats.push((a.clone(), "anchor-a".into(), 200, 0, 1));
    beats.push((ended.clone(), "e0".into(), 200, 0, 2));
    beats.push((ended.clone(), "stranger".into(), 200, 0, 2));
    beats.push((gone.clone(), "a0".into(), 404, 40400, 0));
    beats.push((b.clone(), "b-lapsed".into(), 409, 40901, 0));

    for node in &redis.nodes {
        node.cli(&["CLIENT", "PAUSE", "300", "ALL"])
            .await
            .expect("pause");
    }
    let answers = futures_util::future::join_all(
        beats
            .iter()
            .map(|(room, user, ..)| app.heartbeat(room, user)),
    )
    .await;
    for ((room, user, status, code, live_status), answer) in beats.iter().zip(&answers) {
        if *status == 200 {
            let data = answer.assert_ok();
            assert_eq!(data["live_status"], *live_status, "{user} in {room}");
            assert_eq!(data["live_id"], room.as_str(), "{user} in {room}");
        } else {
            answer.assert_error(*status, *code);
        }
    }
    let batched = app
        .metric("liveroom_heartbeat_batched_total")
        .await
        .unwrap_or(0);
    assert!(batched > 0, "no heartbeats shared a call");
    // the beats counted: the members are present, the strangers were not made members
    assert_eq!(app.online_count(&a).await, 10);
    assert_eq!(app.online_count(&b).await, 10);
    assert_eq!(app.info(&a, "x").await.assert_ok()["anchor_status"], 1);
    let listed = members(&app.user_list(&b, 1, 20).await);
    assert!(!listed.contains(&"b-lapsed".to_owned()), "{listed:?}");
    let log = cli(&[
        "--raw",
        "XRANGE",
        &app.key(&format!("room:{{{b}}}:events")),
        "-",
        "+",
    ])
    .await;
    assert!(
        log.lines()
            .any(|line| line.contains(r#""user_id":"b-lapsed""#)
                && line.contains(r#""reason":"lapsed""#)),
        "no member_left for the lapsed member in {log}"
    );
}

/// Users of the layout before the shared pointer buckets (a hash of their own, `user:{U}`)
/// keep their im_userid, and their seqs continue above the old ones: a room that remembers
/// the user's leave at an old seq still takes the user's next join.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_of_the_older_layout_keeps_their_im_userid_and_can_rejoin() {
    let app = spawn_app().await;
    let id = live_room(&app, "anchor").await;
    let old = app.key("user:{old-user}");
    let entries = app.key(&format!("room:{{{id}}}:entries"));
    let redis = shared_redis();
    redis
        .cli(&["HSET", &old, "imid", "987654", "seq", "7", "room", ""])
        .await
        .expect("legacy hash");
    // the room saw this user leave at seq 7, under the older layout
    redis
        .cli(&["HSET", &entries, "old-user", "7"])
        .await
        .expect("old entry");

    app.join(&id, "old-user").await.assert_ok();
    let page = app.user_list(&id, 1, 20).await;
    let list = page.assert_ok()["list"].as_array().unwrap().clone();
    let me = list
        .iter()
        .find(|m| m["user_id"] == "old-user")
        .expect("a member again");
    assert_eq!(me["im_userid"], 987654);
    assert_eq!(app.online_count(&id).await, 1);
    assert_eq!(app.pointer_room("old-user").await, id);
    // carried over once: the old hash is gone
    let exists = redis.cli(&["EXISTS", &old]).await.unwrap_or_default();
    assert_eq!(exists.trim(), "(integer) 0");
}

/// The join order over many of its chunks (64 members each, lib.lua `order_push`): leaves in
/// the middle, a whole chunk gone, a re-join after a leave, pages of an odd size that straddle
/// chunks: every page shows the members most recent joiner first, each exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_list_order_holds_over_chunks_leaves_and_rejoins() {
    let app = spawn_app().await;
    let id = live_room(&app, "anchor").await;
    // one after another: the join order is known (oldest first)
    let mut order: Vec<String> = (0..200).map(|i| format!("m{i:03}")).collect();
    for user in &order {
        app.join(&id, user).await.assert_ok();
    }
    // the second chunk whole (joiners 64..128), and every 7th of the rest, leave
    let leaving: Vec<String> = order
        .iter()
        .enumerate()
        .filter(|(i, _)| (64..128).contains(i) || i % 7 == 0)
        .map(|(_, u)| u.clone())
        .collect();
    for user in &leaving {
        app.leave(&id, user).await.assert_ok();
    }
    order.retain(|u| !leaving.contains(u));
    // one of them comes back: the most recent joiner now
    app.join(&id, &leaving[3]).await.assert_ok();
    order.push(leaving[3].clone());
    let expected: Vec<String> = order.iter().rev().cloned().collect();

    let size = 13;
    let first = app.user_list(&id, 1, size).await;
    assert_eq!(first.assert_ok()["total_count"], expected.len());
    let mut seen = members(&first);
    let pages = expected.len().div_ceil(size as usize) as u32;
    for page in 2..=pages {
        seen.extend(members(&app.user_list(&id, page, size).await));
    }
    assert_eq!(seen, expected);
    assert!(members(&app.user_list(&id, pages + 1, size).await).is_empty());
}

/// The join order against a model: joins (a member's re-join is a heartbeat and keeps their
/// place; anyone else's becomes the most recent joiner) and leaves in a pseudo-random order
/// over ten chunks' worth of joins, then every page against the model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_list_pages_match_a_model_of_joins_and_leaves() {
    let app = spawn_app().await;
    let id = live_room(&app, "anchor").await;
    let mut model: Vec<String> = Vec::new(); // oldest joiner first
    let mut state: u64 = 27;
    for _ in 0..700 {
        // a linear congruential generator: the same sequence every run
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let user = format!("r{:03}", (state >> 33) % 150);
        if (state >> 20).is_multiple_of(3) {
            app.leave(&id, &user).await.assert_ok();
            model.retain(|u| u != &user);
        } else {
            app.join(&id, &user).await.assert_ok();
            if !model.contains(&user) {
                model.push(user);
            }
        }
    }
    let expected: Vec<String> = model.iter().rev().cloned().collect();
    let size = 9;
    let pages = expected.len().div_ceil(size as usize) as u32;
    let mut seen = Vec::new();
    for page in 1..=pages {
        let answer = app.user_list(&id, page, size).await;
        assert_eq!(answer.assert_ok()["total_count"], expected.len());
        seen.extend(members(&answer));
    }
    assert_eq!(seen, expected);
}

/// A user of the older layout whose first request after the upgrade is a leave: their seqs
/// are carried over first, so the leave is newer than the room's record of their join.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_of_the_older_layout_can_leave_first() {
    let app = spawn_app().await;
    let id = live_room(&app, "anchor").await;
    app.join(&id, "old-leaver").await.assert_ok();
    assert_eq!(app.online_count(&id).await, 1);
    // as if the join had been made by the older layout at seq 9: its pointer in a hash of its
    // own, the room's entry at that seq
    let redis = shared_redis();
    let bucket = liveroom::store::inspect::KeyNames::new(&app.settings.redis_key_prefix)
        .user_pointers("old-leaver");
    redis
        .cli(&["HDEL", &bucket, "old-leaver"])
        .await
        .expect("pointer gone");
    let old = app.key("user:{old-leaver}");
    redis
        .cli(&["HSET", &old, "imid", "555", "seq", "9", "room", &id])
        .await
        .expect("legacy hash");
    let entries = app.key(&format!("room:{{{id}}}:entries"));
    let entry = redis
        .cli(&["--raw", "HGET", &entries, "old-leaver"])
        .await
        .unwrap_or_default();
    let rest = entry
        .trim_end()
        .split_once(':')
        .map(|(_, r)| r)
        .unwrap_or("");
    redis
        .cli(&["HSET", &entries, "old-leaver", &format!("9:{rest}")])
        .await
        .expect("entry at seq 9");

    app.leave(&id, "old-leaver").await.assert_ok();
    assert_eq!(app.online_count(&id).await, 0);
    assert!(members(&app.user_list(&id, 1, 20).await).is_empty());
    assert_eq!(app.pointer_room("old-leaver").await, "");
}
