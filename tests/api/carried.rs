//! Presence carried by the event stream (CONTRACT section 6, last bullet; issue 28): while a
//! member's stream is open, the replica keeps the member present without heartbeat requests; once
//! it closes (or its replica dies) the member lapses by the normal rule; a leave, a kick or the
//! room's end ends both; a stream of a non-member keeps nobody present.

use std::time::{Duration, Instant};

use serde_json::json;

use super::events::SseClient;
use super::helpers::*;
use super::replica::{Replica, through};

/// A member window of 1.2 s (400 ms x 3): the stream's replica refreshes every 400 ms.
const INTERVAL_MS: u64 = 400;
const WINDOW: Duration = Duration::from_millis(INTERVAL_MS * 3);

fn fast() -> liveroom::config::Settings {
    let mut s = test_settings();
    s.heartbeat_interval_ms = INTERVAL_MS;
    s.heartbeat_misses = 3;
    s
}

fn members(a: &Answer) -> Vec<String> {
    a.assert_ok()["list"]
        .as_array()
        .expect("list")
        .iter()
        .map(|m| m["user_id"].as_str().unwrap_or("").to_owned())
        .collect()
}

async fn live_room(app: &TestApp, anchor: &str) -> String {
    let id = app.create_room(anchor, "carried").await;
    app.start(&id, anchor).await.assert_ok();
    id
}

/// Checks, again and again for `windows` member windows, that `user` is listed and counted.
async fn stays_present(app: &TestApp, id: &str, user: &str, count: u64, windows: u32) {
    let until = Instant::now() + WINDOW * windows;
    let mut checks = 0;
    while Instant::now() < until {
        let listed = members(&app.user_list(id, 1, 50).await);
        assert!(
            listed.iter().any(|m| m == user),
            "{user} listed after {checks} checks: {listed:?}"
        );
        assert_eq!(app.online_count(id).await, count, "online_count");
        checks += 1;
        // a pace for the checks, not a wait for a condition: each check is the condition
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(checks > windows as usize, "checked throughout");
}

/// Eventually `user` is neither listed nor counted, and its heartbeat says it must join again.
async fn lapses(app: &TestApp, id: &str, user: &str, what: &str) {
    eventually(Duration::from_secs(20), what, || async {
        let listed = members(&app.user_list(id, 1, 50).await);
        (!listed.iter().any(|m| m == user)).then_some(())
    })
    .await;
    app.heartbeat(id, user).await.assert_error(409, 40901);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_stream_keeps_its_member_present_and_its_close_lets_it_lapse() {
    let app = spawn_app_with(fast()).await;
    let id = live_room(&app, "anchor").await;
    app.join(&id, "watching").await.assert_ok();
    app.join(&id, "silent").await.assert_ok();
    let mut sse = SseClient::open(&app, &id, "watching", None)
        .await
        .expect("a member may watch");
    // the member without a stream and without heartbeats lapses: a window has passed
    lapses(&app, &id, "silent", "the silent member lapses").await;
    // the watching one stays, with no heartbeat request, across many windows
    stays_present(&app, &id, "watching", 1, 6).await;
    app.heartbeat(&id, "watching").await.assert_ok();
    assert!(
        sse.next().await.is_some(),
        "the stream is open and says something"
    );
    drop(sse);
    lapses(
        &app,
        &id,
        "watching",
        "the member lapses once its stream closed",
    )
    .await;
    assert_eq!(app.online_count(&id).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_kick_and_the_rooms_end_end_presence_and_the_stream() {
    let app = spawn_app_with(fast()).await;
    let id = live_room(&app, "anchor").await;
    for user in ["leaver", "kicked", "stayer"] {
        app.join(&id, user).await.assert_ok();
    }
    let mut leaver = SseClient::open(&app, &id, "leaver", None)
        .await
        .expect("open");
    let mut kicked = SseClient::open(&app, &id, "kicked", None)
        .await
        .expect("open");
    let mut stayer = SseClient::open(&app, &id, "stayer", None)
        .await
        .expect("open");

    app.leave(&id, "leaver").await.assert_ok();
    let end = leaver.until("stream_ended").await;
    assert_eq!(
        end.last().map(|e| e.data["reason"].clone()),
        Some(json!("left"))
    );
    app.request(
        reqwest::Method::POST,
        "/client/live/room/kick",
        Some(&token("anchor")),
        Some(json!({"live_id": id, "user_id": "kicked", "ban_secs": 0})),
    )
    .await
    .assert_ok();
    let end = kicked.until("stream_ended").await;
    assert_eq!(
        end.last().map(|e| e.data["reason"].clone()),
        Some(json!("kicked"))
    );
    // gone at once, and no later refresh brings them back
    stays_present(&app, &id, "stayer", 1, 3).await;
    for user in ["leaver", "kicked"] {
        assert!(!members(&app.user_list(&id, 1, 50).await).contains(&user.to_owned()));
        app.heartbeat(&id, user).await.assert_error(409, 40901);
    }

    app.stop(&id, "anchor").await.assert_ok();
    let end = stayer.until("live_ended").await;
    assert_eq!(end.last().map(|e| e.kind.as_str()), Some("live_ended"));
    assert!(
        stayer.next().await.is_none(),
        "the stream ends after live_ended"
    );
    assert_eq!(app.online_count(&id).await, 0);
    assert!(members(&app.user_list(&id, 1, 50).await).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leave_the_log_does_not_show_still_ends_the_stream_and_stays_final() {
    // above the member-event threshold a leave writes no member_left: the refresh finds it
    let mut s = fast();
    s.member_events_max = 1;
    let app = spawn_app_with(s).await;
    let id = live_room(&app, "anchor").await;
    app.join(&id, "quiet").await.assert_ok();
    app.join(&id, "crowd-1").await.assert_ok();
    app.join(&id, "crowd-2").await.assert_ok();
    let mut sse = SseClient::open(&app, &id, "quiet", None)
        .await
        .expect("open");
    app.leave(&id, "quiet").await.assert_ok();
    let end = sse.until("stream_ended").await;
    assert_eq!(
        end.last().map(|e| e.data["reason"].clone()),
        Some(json!("not_member"))
    );
    let listed = members(&app.user_list(&id, 1, 50).await);
    assert!(!listed.contains(&"quiet".to_owned()), "{listed:?}");
    app.heartbeat(&id, "quiet").await.assert_error(409, 40901);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_anchors_stream_keeps_nobody_present() {
    let app = spawn_app_with(fast()).await;
    let id = live_room(&app, "anchor").await;
    app.join(&id, "viewer").await.assert_ok();
    let mut sse = SseClient::open(&app, &id, "anchor", None)
        .await
        .expect("the anchor may watch");
    // the anchor's presence (from start) lapses though its stream is open, and the viewer
    // (whose own stream is not open) lapses too
    eventually(
        Duration::from_secs(20),
        "the anchor shows offline",
        || async { (app.info(&id, "x").await.assert_ok()["anchor_status"] == 0).then_some(()) },
    )
    .await;
    lapses(&app, &id, "viewer", "the viewer lapses").await;
    assert!(members(&app.user_list(&id, 1, 50).await).is_empty());
    assert_eq!(app.online_count(&id).await, 0);
    // the anchor's stream is still open: its member_left arrives
    let seen = sse.until("member_left").await;
    assert_eq!(
        seen.last().map(|e| e.data["reason"].clone()),
        Some(json!("lapsed"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replicas_viewers_lapse() {
    let settings = fast();
    let app = spawn_app_with(settings.clone()).await;
    let (mut replica, remote) = second_replica(&settings);
    let id = live_room(&app, "anchor").await;
    remote.join(&id, "remote").await.assert_ok();
    let mut sse = SseClient::open(&remote, &id, "remote", None)
        .await
        .expect("open on the replica");
    stays_present(&app, &id, "remote", 1, 4).await;
    replica.process.as_ref().expect("running").signal("KILL");
    lapses(&app, &id, "remote", "the dead replica's viewer lapses").await;
    assert_eq!(app.online_count(&id).await, 0);
    replica.process = None;
    // the killed replica's stream ended with the process
    while sse.next().await.is_some() {}
}

/// A replica that dies holds its users' stream slots (`LIVEROOM_SSE_PER_USER`) only until its
/// lease is gone (three carry periods), not until the slots lapse (an hour): the user's next
/// stream elsewhere is refused while the replica lives and taken once it is dead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replicas_stream_slots_are_freed_for_its_users_next_stream() {
    let mut settings = fast();
    settings.sse_per_user = 1;
    let app = spawn_app_with(settings.clone()).await;
    let (mut replica, remote) = second_replica(&settings);
    let id = live_room(&app, "anchor").await;
    remote.join(&id, "roamer").await.assert_ok();
    let mut sse = SseClient::open(&remote, &id, "roamer", None)
        .await
        .expect("open on the replica");
    // the replica lives (its lease is held): the slot is its, across many lease periods
    let until = Instant::now() + WINDOW * 3;
    while Instant::now() < until {
        let refused = SseClient::open(&app, &id, "roamer", None)
            .await
            .err()
            .expect("a second stream of the user is refused while the first lives");
        refused.assert_error(429, 42900);
        tokio::time::sleep(Duration::from_millis(200)).await; // a pace for the checks
    }
    replica.process.as_ref().expect("running").signal("KILL");
    while sse.next().await.is_some() {}
    replica.process = None;
    // within a few lease periods the dead replica's slot is freed by the next open at the cap
    // (the user joins again: its presence lapses with the replica that carried it, which the
    // sweep may find between this join and the open: a join that still found the dead
    // replica's mark kept it, so the open is refused as not a member and the loop joins again)
    let again = eventually(
        Duration::from_secs(15),
        "a stream after the replica's death",
        || async {
            app.join(&id, "roamer").await.assert_ok();
            match SseClient::open(&app, &id, "roamer", None).await {
                Ok(sse) => Some(sse),
                Err(refused) if refused.body["code"] == 40901 => {
                    refused.assert_error(409, 40901);
                    None
                }
                Err(refused) => {
                    refused.assert_error(429, 42900);
                    None
                }
            }
        },
    )
    .await;
    drop(again);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_count_is_exact_with_carried_and_beating_members_mixed() {
    let app = spawn_app_with(fast()).await;
    let id = live_room(&app, "anchor").await;
    for user in ["streaming", "beating"] {
        app.join(&id, user).await.assert_ok();
    }
    let _sse = SseClient::open(&app, &id, "streaming", None)
        .await
        .expect("open");
    // one carried by its stream, one by its heartbeats: both listed and counted, window after
    // window (the count adds the plain scores in the window and the live carriers' marks)
    let until = Instant::now() + WINDOW * 5;
    while Instant::now() < until {
        app.heartbeat(&id, "beating").await.assert_ok();
        let listed = members(&app.user_list(&id, 1, 50).await);
        assert!(
            listed.contains(&"streaming".to_owned()) && listed.contains(&"beating".to_owned()),
            "{listed:?}"
        );
        assert_eq!(
            app.user_list(&id, 1, 50).await.assert_ok()["total_count"],
            2
        );
        assert_eq!(app.online_count(&id).await, 2, "online_count");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    // a heartbeat of the carried member keeps it carried (and counted once)
    app.heartbeat(&id, "streaming").await.assert_ok();
    assert_eq!(app.online_count(&id).await, 2);
    // the beating one stops: the count follows it down to the carried one alone
    lapses(
        &app,
        &id,
        "beating",
        "the member that stopped beating lapses",
    )
    .await;
    stays_present(&app, &id, "streaming", 1, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kick_the_log_does_not_show_ends_the_carried_stream() {
    let mut s = fast();
    s.member_events_max = 1;
    let app = spawn_app_with(s).await;
    let id = live_room(&app, "anchor").await;
    for user in ["target", "crowd-1", "crowd-2"] {
        app.join(&id, user).await.assert_ok();
    }
    let mut sse = SseClient::open(&app, &id, "target", None)
        .await
        .expect("open");
    // the crowd is carried too, so the room stays above the threshold
    let mut crowd = Vec::new();
    for user in ["crowd-1", "crowd-2"] {
        crowd.push(SseClient::open(&app, &id, user, None).await.expect("open"));
    }
    // carried for a while first, so that the kick finds the member marked by its carrier
    stays_present(&app, &id, "target", 3, 2).await;
    app.request(
        reqwest::Method::POST,
        "/client/live/room/kick",
        Some(&token("anchor")),
        Some(json!({"live_id": id, "user_id": "target", "ban_secs": 0})),
    )
    .await
    .assert_ok();
    let end = sse.until("stream_ended").await;
    assert_eq!(
        end.last().map(|e| e.data["reason"].clone()),
        Some(json!("not_member"))
    );
    assert!(!members(&app.user_list(&id, 1, 50).await).contains(&"target".to_owned()));
    app.heartbeat(&id, "target").await.assert_error(409, 40901);
}

/// A second replica with the tests' fast presence and the same cap of streams per user.
fn second_replica(settings: &liveroom::config::Settings) -> (Replica, TestApp) {
    let per_user = settings.sse_per_user.to_string();
    let replica = Replica::start(
        settings,
        &[
            ("LIVEROOM_HEARTBEAT_INTERVAL_MS", "400"),
            ("LIVEROOM_HEARTBEAT_MISSES", "3"),
            ("LIVEROOM_SSE_PER_USER", &per_user),
        ],
    );
    let remote = through(&format!("http://127.0.0.1:{}", replica.port), settings);
    (replica, remote)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_carried_by_two_replicas_stays_present_when_either_stream_closes() {
    let settings = fast();
    let app = spawn_app_with(settings.clone()).await;
    let (_replica, remote) = second_replica(&settings);
    let id = live_room(&app, "anchor").await;
    app.join(&id, "both").await.assert_ok();
    let here = SseClient::open(&app, &id, "both", None)
        .await
        .expect("open here");
    stays_present(&app, &id, "both", 1, 2).await;
    let there = SseClient::open(&remote, &id, "both", None)
        .await
        .expect("open there");
    stays_present(&app, &id, "both", 1, 3).await;
    // the stream of the replica that holds the mark closes: the other carries the member on
    drop(here);
    stays_present(&app, &id, "both", 1, 5).await;
    drop(there);
    lapses(
        &app,
        &id,
        "both",
        "the member lapses once both streams closed",
    )
    .await;
    assert_eq!(app.online_count(&id).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_carried_by_two_replicas_survives_either_ones_death() {
    let settings = fast();
    let app = spawn_app_with(settings.clone()).await;
    let (mut replica, remote) = second_replica(&settings);
    let id = live_room(&app, "anchor").await;
    remote.join(&id, "both").await.assert_ok();
    // the remote replica's stream opens first: its replica holds the mark
    let there = SseClient::open(&remote, &id, "both", None)
        .await
        .expect("open there");
    stays_present(&app, &id, "both", 1, 2).await;
    let here = SseClient::open(&app, &id, "both", None)
        .await
        .expect("open here");
    stays_present(&app, &id, "both", 1, 2).await;
    // the carrier dies: the live one takes the member over before its window ends
    replica.process.as_ref().expect("running").signal("KILL");
    stays_present(&app, &id, "both", 1, 6).await;
    replica.process = None;
    drop(there);
    drop(here);
    lapses(
        &app,
        &id,
        "both",
        "the member lapses once its last stream closed",
    )
    .await;
}
