//! Moderation and the server API (CONTRACT sections 12 and 13): kick and ban that stick across
//! replicas, admin tokens, force stop and delete, stats, and the caller's own rooms.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

use super::helpers::*;

fn admin_token(sub: &str) -> String {
    token_with(json!({"sub": sub, "exp": now_secs() + 3600, "admin": true}))
}

async fn kick(app: &TestApp, by: &str, live_id: &str, user: &str, ban_secs: i64) -> Answer {
    kick_with(app, &token(by), live_id, user, ban_secs).await
}

async fn kick_with(app: &TestApp, t: &str, live_id: &str, user: &str, ban_secs: i64) -> Answer {
    app.request(
        Method::POST,
        "/client/live/room/kick",
        Some(t),
        Some(json!({"live_id": live_id, "user_id": user, "ban_secs": ban_secs})),
    )
    .await
}

async fn live_room(app: &TestApp, anchor: &str) -> String {
    let id = app.create_room(anchor, "moderated").await;
    app.start(&id, anchor).await.assert_ok();
    id
}

type Events = futures_util::stream::BoxStream<'static, reqwest::Result<Vec<u8>>>;

/// The room's event stream as `user` sees it, from the start of the log.
async fn open_events(app: &TestApp, live_id: &str, user: &str) -> Events {
    let resp = app
        .client
        .get(format!("{}/client/live/room/events/{live_id}", app.base))
        .header("Authorization", format!("Bearer {}", token(user)))
        .header("Last-Event-ID", "0-0")
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 200);
    resp.bytes_stream().map(|c| c.map(|b| b.to_vec())).boxed()
}

/// The events a watcher receives until one of `kind`, as (type, data).
async fn watch_until(app: &TestApp, live_id: &str, user: &str, kind: &str) -> Vec<(String, Value)> {
    read_events(open_events(app, live_id, user).await, Some(kind)).await
}

/// Events until one of `kind` (included) or, with None, until the stream ends.
async fn read_events(mut body: Events, kind: Option<&str>) -> Vec<(String, Value)> {
    let (mut buf, mut out) = (String::new(), Vec::new());
    loop {
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let (mut event, mut data) = (String::new(), String::new());
            for line in frame.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                }
            }
            if event.is_empty() {
                continue;
            }
            let done = Some(event.as_str()) == kind;
            out.push((event, serde_json::from_str(&data).unwrap_or(Value::Null)));
            if done {
                return out;
            }
        }
        match tokio::time::timeout(Duration::from_secs(20), body.next()).await {
            Ok(Some(Ok(chunk))) => buf.push_str(&String::from_utf8_lossy(&chunk)),
            Ok(None) if kind.is_none() => return out,
            other => panic!("no {kind:?} event ({other:?}); have {out:?}"),
        }
    }
}

async fn user_pointer(app: &TestApp, user: &str) -> String {
    app.pointer_room(user).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kicked_member_is_out_at_once_and_banned_until_the_ban_ends() {
    let app = spawn_app().await;
    let id = live_room(&app, "anchor").await;
    app.join(&id, "troll").await.assert_ok();
    app.join(&id, "fan").await.assert_ok();
    assert_eq!(user_pointer(&app, "troll").await, id);
    let trolls_stream = open_events(&app, &id, "troll").await;

    let d = kick(&app, "anchor", &id, "troll", 600).await;
    let d = d.assert_ok();
    assert_eq!(d["removed"], true);
    assert_eq!(d["user_id"], "troll");
    let end = d["ban_end_time"].as_i64().expect("ban end");
    assert!(end >= now_secs() as i64 + 590, "{d:?}");

    // removed at once: not counted, not listed, next heartbeat 40901, pointer released
    assert_eq!(app.online_count(&id).await, 1);
    let list = app.user_list(&id, 1, 20).await;
    let users: Vec<&str> = list.assert_ok()["list"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|m| m["user_id"].as_str())
        .collect();
    assert_eq!(users, ["fan"]);
    app.heartbeat(&id, "troll").await.assert_error(409, 40901);
    assert_eq!(user_pointer(&app, "troll").await, "");
    app.heartbeat(&id, "fan").await.assert_ok();

    // banned: 403/40301 naming the end of the ban
    let refused = app.join(&id, "troll").await;
    refused.assert_error(403, 40301);
    let message = refused.body["message"].as_str().unwrap_or_default();
    assert!(message.contains(&end.to_string()), "{message}");
    assert_eq!(
        user_pointer(&app, "troll").await,
        "",
        "a refused join leaves no pointer"
    );

    // the kicked user's own stream ends after its kick, saying why
    let seen = read_events(trolls_stream, None).await;
    let last = seen.last().expect("events");
    assert_eq!(
        (last.0.as_str(), &last.1["reason"]),
        ("stream_ended", &json!("kicked"))
    );
    let left = &seen[seen.len().saturating_sub(2)];
    assert_eq!(
        (left.0.as_str(), &left.1["user_id"], &left.1["reason"]),
        ("member_left", &json!("troll"), &json!("kicked"))
    );

    // watchers saw member_left with reason kicked
    let events = watch_until(&app, &id, "anchor", "member_left").await;
    let left = events.last().expect("member_left");
    assert_eq!(left.1["user_id"], "troll");
    assert_eq!(left.1["reason"], "kicked");

    // a shorter ban replaces it; once it ends the user may join again
    kick(&app, "anchor", &id, "troll", 1).await.assert_ok();
    app.join(&id, "troll").await.assert_error(403, 40301);
    eventually(Duration::from_secs(10), "the ban ends", || async {
        (app.join(&id, "troll").await.status == 200).then_some(())
    })
    .await;
    app.heartbeat(&id, "troll").await.assert_ok();
    assert_eq!(app.online_count(&id).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kick_without_a_ban_lets_the_user_back_at_once() {
    let app = spawn_app().await;
    let id = live_room(&app, "anchor").await;
    app.join(&id, "u2").await.assert_ok();
    let d = kick(&app, "anchor", &id, "u2", 0).await;
    assert_eq!(d.assert_ok()["ban_end_time"], 0);
    app.heartbeat(&id, "u2").await.assert_error(409, 40901);
    app.join(&id, "u2").await.assert_ok();
    app.heartbeat(&id, "u2").await.assert_ok();
    // kicking someone not in the room answers removed: false (and, with a ban, still bans)
    let d = kick(&app, "anchor", &id, "stranger", 60).await;
    assert_eq!(d.assert_ok()["removed"], false);
    app.join(&id, "stranger").await.assert_error(403, 40301);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kicks_are_refused_to_the_wrong_people_and_bad_input() {
    let app = spawn_app().await;
    let id = live_room(&app, "anchor").await;
    let other = live_room(&app, "other-anchor").await;
    app.join(&id, "viewer").await.assert_ok();
    app.join(&other, "someone").await.assert_ok();

    kick(&app, "anchor", &id, "anchor", 60)
        .await
        .assert_error(400, 40000);
    kick(&app, "viewer", &id, "anchor", 0)
        .await
        .assert_error(403, 40300);
    kick(&app, "viewer", &id, "viewer", 0)
        .await
        .assert_error(403, 40300);
    kick(&app, "anchor", &other, "someone", 60)
        .await
        .assert_error(403, 40300);
    app.heartbeat(&other, "someone").await.assert_ok();
    app.heartbeat(&id, "viewer").await.assert_ok();

    kick(&app, "anchor", &id, "viewer", -1)
        .await
        .assert_error(400, 40000);
    kick(&app, "anchor", &id, "viewer", 30 * 86400 + 1)
        .await
        .assert_error(400, 40000);
    kick(&app, "anchor", &id, "", 0)
        .await
        .assert_error(400, 40000);
    let missing = "live_0192f0c4a1b27c3d8e9f0a1b2c3d4e5f";
    kick(&app, "anchor", missing, "viewer", 0)
        .await
        .assert_error(404, 40400);
    let bad = app
        .request(
            Method::POST,
            "/client/live/room/kick",
            Some(&token("anchor")),
            Some(json!({"live_id": id, "user_id": "viewer", "ban_secs": "10"})),
        )
        .await;
    bad.assert_error(400, 40000);
    assert!(
        bad.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("ban_secs")
    );
    // the anchor may still kick with 30 days
    kick(&app, "anchor", &id, "viewer", 30 * 86400)
        .await
        .assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bans_are_listed_soonest_first_and_can_be_lifted() {
    let app = spawn_app().await;
    let id = live_room(&app, "anchor").await;
    for (user, secs) in [("b", 300), ("a", 100), ("c", 200)] {
        kick(&app, "anchor", &id, user, secs).await.assert_ok();
    }
    kick(&app, "anchor", &id, "not-banned", 0).await.assert_ok();
    let list = |page: u32| {
        let app = &app;
        let id = id.clone();
        async move {
            app.get(
                &format!("/client/live/room/ban/{id}?page_num={page}&page_size=2"),
                &token("anchor"),
            )
            .await
        }
    };
    let first = list(1).await;
    let d = first.assert_ok();
    assert_eq!(d["total_count"], 3);
    assert_eq!(d["page_total"], 2);
    assert_eq!(d["end_page"], false);
    let users: Vec<&str> = d["list"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|b| b["user_id"].as_str())
        .collect();
    assert_eq!(users, ["a", "c"]);
    assert!(d["list"][0]["end_time"].as_i64() < d["list"][1]["end_time"].as_i64());
    let second = list(2).await;
    assert_eq!(second.assert_ok()["list"][0]["user_id"], "b");

    // only the anchor (or an admin) sees or lifts them
    app.get(&format!("/client/live/room/ban/{id}"), &token("viewer"))
        .await
        .assert_error(403, 40300);
    let unban = |t: String, user: &'static str| {
        let app = &app;
        let id = id.clone();
        async move {
            app.request(
                Method::DELETE,
                &format!("/client/live/room/ban/{id}/{user}"),
                Some(&t),
                None,
            )
            .await
        }
    };
    unban(token("viewer"), "a").await.assert_error(403, 40300);
    app.join(&id, "a").await.assert_error(403, 40301);
    unban(token("anchor"), "a").await.assert_ok();
    app.join(&id, "a").await.assert_ok();
    unban(admin_token("ops"), "c").await.assert_ok();
    app.join(&id, "c").await.assert_ok();
    unban(token("anchor"), "never-banned").await.assert_ok();
    let d = app
        .get(&format!("/client/live/room/ban/{id}"), &admin_token("ops"))
        .await;
    assert_eq!(d.assert_ok()["total_count"], 1);

    // bans go with the room
    app.delete(&id, "anchor").await.assert_ok();
    let bans_key = app.key(&format!("room:{{{id}}}:bans"));
    let exists = shared_redis().cli(&["--raw", "EXISTS", &bans_key]).await;
    assert_eq!(exists.as_deref().map(str::trim), Some("0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_stops_and_deletes_rooms_it_does_not_own() {
    let mut s = test_settings();
    s.max_open_rooms_per_user = 1;
    let app = spawn_app_with(s).await;
    let admin = admin_token("ops-1");
    let id = live_room(&app, "anchor").await;
    app.join(&id, "watcher").await.assert_ok();
    // the quota: one open room
    let second = app
        .request(
            Method::POST,
            "/client/live/room/instance",
            Some(&token("anchor")),
            Some(json!({"title": "second"})),
        )
        .await;
    second.assert_error(429, 42900);

    let stopped = app
        .request(
            Method::POST,
            &format!("/server/live/room/{id}/stop"),
            Some(&admin),
            None,
        )
        .await;
    stopped.assert_ok();
    let events = watch_until(&app, &id, "anchor", "live_ended").await;
    assert_eq!(events.last().expect("live_ended").1["reason"], "admin");
    assert_eq!(app.info(&id, "anchor").await.assert_ok()["live_status"], 2);
    app.heartbeat(&id, "watcher").await.assert_ok();
    let stats = app
        .get(&format!("/server/live/room/{id}/stats"), &admin)
        .await;
    assert_eq!(stats.assert_ok()["ended_reason"], "admin");
    // stopping again is 409, as for the anchor
    app.request(
        Method::POST,
        &format!("/server/live/room/{id}/stop"),
        Some(&admin),
        None,
    )
    .await
    .assert_error(409, 40900);
    // the stop freed the anchor's quota
    let next = app.create_room("anchor", "next").await;
    app.start(&next, "anchor").await.assert_ok();

    let deleted = app
        .request(
            Method::DELETE,
            &format!("/server/live/room/{next}"),
            Some(&admin),
            None,
        )
        .await;
    deleted.assert_ok();
    app.info(&next, "anchor").await.assert_error(404, 40400);
    app.request(
        Method::DELETE,
        &format!("/server/live/room/{id}"),
        Some(&admin),
        None,
    )
    .await
    .assert_ok();
    app.info(&id, "anchor").await.assert_error(404, 40400);
    // the delete freed the quota too
    app.create_room("anchor", "third").await;
    // an admin also kicks through the server API
    let room = live_room(&app, "anchor2").await;
    app.join(&room, "u9").await.assert_ok();
    let k = app
        .request(
            Method::POST,
            &format!("/server/live/room/{room}/kick"),
            Some(&admin),
            Some(json!({"user_id": "u9", "ban_secs": 60})),
        )
        .await;
    assert_eq!(k.assert_ok()["removed"], true);
    app.join(&room, "u9").await.assert_error(403, 40301);
    // and through the client endpoint, in a room it does not own
    kick_with(&app, &admin, &room, "u10", 0).await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_api_is_for_admin_tokens_only() {
    let app = spawn_app().await;
    let id = live_room(&app, "anchor").await;
    let user = token("anchor");
    for (method, path) in [
        (Method::GET, "/server/live/rooms".to_owned()),
        (
            Method::GET,
            "/server/live/rooms?anchor_id=anchor".to_owned(),
        ),
        (Method::POST, format!("/server/live/room/{id}/stop")),
        (Method::DELETE, format!("/server/live/room/{id}")),
        (Method::GET, format!("/server/live/room/{id}/stats")),
    ] {
        app.request(method, &path, Some(&user), None)
            .await
            .assert_error(403, 40300);
    }
    let k = app
        .request(
            Method::POST,
            &format!("/server/live/room/{id}/kick"),
            Some(&user),
            Some(json!({"user_id": "x"})),
        )
        .await;
    k.assert_error(403, 40300);
    app.request(Method::GET, "/server/live/rooms", None, None)
        .await
        .assert_error(401, 40100);
    // "admin": false is a user token
    let not_admin = token_with(json!({"sub": "x", "exp": now_secs() + 3600, "admin": false}));
    app.get("/server/live/rooms", &not_admin)
        .await
        .assert_error(403, 40300);
    assert_eq!(app.info(&id, "anchor").await.assert_ok()["live_status"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_keep_the_peak_of_the_live() {
    let app = spawn_app().await;
    let admin = admin_token("ops");
    let id = app.create_room("anchor", "peak").await;
    app.join(&id, "early").await.assert_ok();
    let before = app
        .get(&format!("/server/live/room/{id}/stats"), &admin)
        .await;
    let d = before.assert_ok();
    assert_eq!(d["live_status"], 0);
    assert_eq!(d["live_seconds"], 0);
    assert_eq!(d["ended_reason"], "");
    app.start(&id, "anchor").await.assert_ok();
    for u in ["u1", "u2", "u3"] {
        app.join(&id, u).await.assert_ok();
    }
    app.leave(&id, "u1").await.assert_ok();
    app.leave(&id, "u2").await.assert_ok();
    app.join(&id, "u4").await.assert_ok();
    let live = app
        .get(&format!("/server/live/room/{id}/stats"), &admin)
        .await;
    let d = live.assert_ok();
    assert_eq!(d["online_count"], 3);
    assert_eq!(d["peak_online"], 4);
    assert_eq!(d["pv"], 5);
    assert_eq!(d["uv"], 5);
    assert_eq!(d["live_status"], 1);
    app.stop(&id, "anchor").await.assert_ok();
    let ended = app
        .get(&format!("/server/live/room/{id}/stats"), &admin)
        .await;
    let d = ended.assert_ok();
    assert_eq!(d["online_count"], 0);
    assert_eq!(d["peak_online"], 4);
    assert_eq!(d["ended_reason"], "stopped");
    let (start, end) = (d["start_time"].as_i64(), d["end_time"].as_i64());
    assert!(start.is_some_and(|s| s > 0) && end >= start, "{d:?}");
    let secs = d["live_seconds"].as_i64().expect("live_seconds");
    assert!(
        secs >= 0 && secs <= end.unwrap_or(0) - start.unwrap_or(0) + 1,
        "{d:?}"
    );
    app.get(
        "/server/live/room/live_0192f0c4a1b27c3d8e9f0a1b2c3d4e5f/stats",
        &admin,
    )
    .await
    .assert_error(404, 40400);
}

fn ids(page: &Value) -> Vec<String> {
    page["list"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["live_id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mine_shows_every_room_of_the_caller_only_newest_first() {
    let app = spawn_app().await;
    let created = app.create_room("me", "waiting").await;
    let live = live_room(&app, "me").await;
    let ended = live_room(&app, "me").await;
    app.stop(&ended, "me").await.assert_ok();
    let gone = app.create_room("me", "deleted").await;
    app.delete(&gone, "me").await.assert_ok();
    app.create_room("someone-else", "not mine").await;

    let mine = app.get("/client/live/room/mine", &token("me")).await;
    let d = mine.assert_ok();
    assert_eq!(ids(d), [ended.clone(), live.clone(), created.clone()]);
    assert_eq!(d["total_count"], 3);
    let statuses: Vec<i64> = d["list"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|r| r["live_status"].as_i64())
        .collect();
    assert_eq!(statuses, [2, 1, 0]);
    for room in d["list"].as_array().expect("list") {
        assert_ne!(room["push_url"], "", "{room:?}");
        assert_eq!(room["anchor_info"]["user_id"], "me");
    }
    let live_only = app
        .get("/client/live/room/mine?live_status=1", &token("me"))
        .await;
    assert_eq!(ids(live_only.assert_ok()), std::slice::from_ref(&live));
    let page2 = app
        .get(
            "/client/live/room/mine?page_num=2&page_size=2",
            &token("me"),
        )
        .await;
    assert_eq!(ids(page2.assert_ok()), std::slice::from_ref(&created));
    let none = app.get("/client/live/room/mine", &token("nobody")).await;
    assert_eq!(none.assert_ok()["total_count"], 0);
    app.get("/client/live/room/mine?live_status=3", &token("me"))
        .await
        .assert_error(400, 40000);

    // the server API lists the same by anchor and status, and every room without an anchor
    let admin = admin_token("ops");
    let by_anchor = app.get("/server/live/rooms?anchor_id=me", &admin).await;
    let d = by_anchor.assert_ok();
    assert_eq!(ids(d), [ended.clone(), live.clone(), created.clone()]);
    assert_eq!(
        d["list"][0]["push_url"], "",
        "push_url stays with the anchor"
    );
    let ended_only = app
        .get("/server/live/rooms?anchor_id=me&live_status=2", &admin)
        .await;
    assert_eq!(ids(ended_only.assert_ok()), std::slice::from_ref(&ended));
    let all = app.get("/server/live/rooms", &admin).await;
    assert_eq!(all.assert_ok()["total_count"], 4);
    let created_all = app.get("/server/live/rooms?live_status=0", &admin).await;
    assert_eq!(created_all.assert_ok()["total_count"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kick_on_one_replica_holds_on_the_other() {
    let one = spawn_app().await;
    let two = spawn_app_with(one.settings.clone()).await; // same Redis, same prefix
    let id = live_room(&one, "anchor").await;
    one.join(&id, "troll").await.assert_ok();
    two.heartbeat(&id, "troll").await.assert_ok();

    kick(&two, "anchor", &id, "troll", 600).await.assert_ok();
    one.heartbeat(&id, "troll").await.assert_error(409, 40901);
    one.join(&id, "troll").await.assert_error(403, 40301);
    two.join(&id, "troll").await.assert_error(403, 40301);
    assert_eq!(one.online_count(&id).await, 0);

    // lifted on one, joinable on the other
    one.request(
        Method::DELETE,
        &format!("/client/live/room/ban/{id}/troll"),
        Some(&token("anchor")),
        None,
    )
    .await
    .assert_ok();
    two.join(&id, "troll").await.assert_ok();
    one.heartbeat(&id, "troll").await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kick_does_constant_work_whatever_the_crowd() {
    // A Redis of its own (MONITOR sees only this test), and no sweeper ticks meanwhile.
    let redis = RedisServer::start(&[]);
    let mut s = settings_for(&redis);
    s.sweep_interval_ms = 3_600_000;
    let app = spawn_app_with(s).await;
    let id = live_room(&app, "anchor").await;
    let joins = (0..300).map(|i| {
        let (app, id) = (&app, id.clone());
        async move { app.join(&id, &format!("m{i}")).await.assert_ok().clone() }
    });
    futures_util::future::join_all(joins).await;
    kick(&app, "anchor", &id, "m0", 60).await.assert_ok(); // scripts loaded
    let monitor = redis.monitor().await;
    redis.cli(&["ECHO", "kick-start"]).await.expect("echo");
    let d = kick(&app, "anchor", &id, "m1", 60).await;
    assert_eq!(d.assert_ok()["removed"], true);
    redis.cli(&["ECHO", "kick-end"]).await.expect("echo");
    let lines = monitor.until("kick-end").await;
    let window: Vec<&String> = lines
        .iter()
        .skip_while(|l| !l.contains("kick-start"))
        .collect();
    // each call's own commands (MONITOR shows a script's as `lua` lines right after its call):
    // the kick's scripts, and any card refresh the sweep or a join left due, run a few each
    let mut calls: Vec<Vec<&String>> = Vec::new();
    for line in &window {
        if !line.contains(" lua]") {
            calls.push(Vec::new());
        } else if let Some(call) = calls.last_mut() {
            call.push(line);
        }
    }
    // the kick's script runs about 28 commands whatever the crowd (bans, the member, its seat,
    // the event, the count) plus one per level of the join order's tree: log2 of the crowd's
    // chunks of 64, 3 here and at most 15 for 2 000 000 members; a kick that walked the crowd
    // would run hundreds
    let most = calls.iter().map(Vec::len).max().unwrap_or(0);
    assert!(most > 0 && most <= 45, "{calls:#?}");
    let inside: Vec<&String> = calls.into_iter().flatten().collect();
    // the crowd's keys are touched only by O(log N) commands on one member (the join order:
    // single fields, one chunk of at most 64 ids or one node of its tree, below)
    for line in inside.iter().filter(|l| l.contains(":members\"")) {
        let upper = line.to_uppercase();
        assert!(
            [
                "\"ZSCORE\"",
                "\"ZREM\"",
                "\"ZCOUNT\"",
                "\"ZADD\"",
                "\"ZCARD\""
            ]
            .iter()
            .any(|ok| upper.contains(ok)),
            "{line}"
        );
    }
    for line in inside.iter().filter(|l| l.contains(":joins\"")) {
        let upper = line.to_uppercase();
        assert!(
            ["\"HGET\"", "\"HSET\"", "\"HDEL\"", "\"HINCRBY\""]
                .iter()
                .any(|ok| upper.contains(ok)),
            "{line}"
        );
    }
    assert_eq!(app.online_count(&id).await, 298);
}
