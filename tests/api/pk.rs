//! Cross-room PK (CONTRACT section 14): the whole life with its events in both rooms, every
//! refusal with its code, expiry by the shared sweep, a room's end ending its PK, two invitations
//! racing for one room, and the crash points: a replica that dies after any step of a PK change
//! (`Store::abandon_pk_after`) leaves both rooms agreeing once another replica's sweep carried
//! on.

use std::time::Duration;

use futures_util::future::join_all;
use liveroom::config::Settings;
use liveroom::domain::ids::{LiveId, UserId};
use liveroom::domain::interaction::PkId;
use liveroom::store::{Connection, Store};
use reqwest::Method;
use serde_json::{Value, json};

use super::events::{Sse, SseClient};
use super::helpers::*;

/// Within this, another replica has finished what a dead one left (the intent's grace is 5 s).
const CONVERGES: Duration = Duration::from_secs(30);

async fn live_room(app: &TestApp, anchor: &str) -> String {
    let id = app.create_room(anchor, "pk room").await;
    app.start(&id, anchor).await.assert_ok();
    id
}

async fn invite(app: &TestApp, anchor: &str, from: &str, to: &str) -> Answer {
    app.request(
        Method::POST,
        "/client/live/room/pk",
        Some(&token(anchor)),
        Some(json!({"live_id": from, "target_live_id": to})),
    )
    .await
}

async fn act(app: &TestApp, user: &str, pk: &str, what: &str) -> Answer {
    app.request(
        Method::POST,
        &format!("/client/live/room/pk/{pk}/{what}"),
        Some(&token(user)),
        None,
    )
    .await
}

async fn pk_extends(app: &TestApp, user: &str, pk: &str, extends: Value) -> Answer {
    app.request(
        Method::PUT,
        &format!("/client/live/room/pk/{pk}/extends"),
        Some(&token(user)),
        Some(json!({"extends": extends})),
    )
    .await
}

async fn read(app: &TestApp, pk: &str) -> Answer {
    app.get(&format!("/client/live/room/pk/{pk}"), &token("pk-reader"))
        .await
}

/// The room's `pk_id` as info shows it.
async fn pk_of(app: &TestApp, room: &str) -> String {
    app.info(room, "pk-reader").await.assert_ok()["pk_id"]
        .as_str()
        .expect("pk_id")
        .to_owned()
}

/// The PK's events a watcher of the room sees, until one of `until` (included).
async fn pk_events(sse: &mut SseClient, until: &str) -> Vec<Sse> {
    let mut out = Vec::new();
    loop {
        let e = sse.next().await.expect("the stream goes on");
        if e.kind.starts_with("pk_") {
            let done = e.kind == until;
            out.push(e);
            if done {
                return out;
            }
        }
    }
}

/// The reason of this PK's `pk_ended` in the room's log (earlier PKs' ends skipped).
async fn end_reason(sse: &mut SseClient, pk: &str) -> Value {
    loop {
        let e = pk_events(sse, "pk_ended").await;
        let end = e.last().expect("pk_ended");
        if end.data["pk_id"] == pk {
            return end.data["reason"].clone();
        }
    }
}

fn kinds(events: &[Sse]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pk_goes_from_invitation_to_its_end_with_its_events_in_both_rooms() {
    let app = spawn_app().await;
    let a = live_room(&app, "pk-a1").await;
    let b = live_room(&app, "pk-a2").await;
    let mut watch_a = SseClient::open(&app, &a, "pk-a1", Some("0-0"))
        .await
        .expect("a");
    let mut watch_b = SseClient::open(&app, &b, "pk-a2", Some("0-0"))
        .await
        .expect("b");

    let invited = invite(&app, "pk-a1", &a, &b).await;
    let data = invited.assert_ok().clone();
    let pk = data["pk_id"].as_str().expect("pk_id").to_owned();
    assert!(pk.starts_with("pk_"), "{pk}");
    assert_eq!(data["status"], "inviting");
    assert_eq!(data["init_live_id"], a.as_str());
    assert_eq!(data["init_anchor_id"], "pk-a1");
    assert_eq!(data["target_live_id"], b.as_str());
    assert_eq!(data["target_anchor_id"], "pk-a2");
    assert!(data["created_at"].as_i64().unwrap_or(0) > 1_700_000_000);
    assert_eq!(data["start_time"], 0);
    // an invitation shows in no room object yet
    assert_eq!(
        (pk_of(&app, &a).await, pk_of(&app, &b).await),
        ("".into(), "".into())
    );
    let e = pk_events(&mut watch_b, "pk_invited").await;
    assert_eq!(e[0].data["pk_id"], pk.as_str());
    assert_eq!(e[0].data["user_id"], "pk-a1");
    assert_eq!(e[0].data["init_live_id"], a.as_str());

    let accepted = act(&app, "pk-a2", &pk, "accept").await;
    assert_eq!(accepted.assert_ok()["status"], "active");
    assert!(accepted.assert_ok()["start_time"].as_i64().unwrap_or(0) > 0);
    assert_eq!(
        (pk_of(&app, &a).await, pk_of(&app, &b).await),
        (pk.clone(), pk.clone())
    );
    assert_eq!(
        kinds(&pk_events(&mut watch_a, "pk_started").await),
        ["pk_started"]
    );
    assert_eq!(
        kinds(&pk_events(&mut watch_b, "pk_started").await),
        ["pk_started"]
    );

    let scores = json!({"score": "3:1", "theme": "唱歌"});
    let updated = pk_extends(&app, "pk-a1", &pk, scores.clone()).await;
    assert_eq!(updated.assert_ok()["extends"], scores);
    for watch in [&mut watch_a, &mut watch_b] {
        let e = pk_events(watch, "pk_updated").await;
        assert_eq!(e[0].data["extends"], scores);
    }
    let now = read(&app, &pk).await;
    assert_eq!(now.assert_ok()["status"], "active");
    assert_eq!(now.assert_ok()["extends"], scores);
    // the live list shows the PK on both rooms' rows
    eventually(CONVERGES, "the list shows the pk", || async {
        let page = app
            .get("/client/live/room/list?page_size=100", &token("pk-reader"))
            .await;
        let rows = page.assert_ok()["list"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let shown = rows
            .iter()
            .filter(|r| {
                (r["live_id"] == a.as_str() || r["live_id"] == b.as_str())
                    && r["pk_id"] == pk.as_str()
            })
            .count();
        (shown == 2).then_some(())
    })
    .await;

    let stopped = act(&app, "pk-a2", &pk, "stop").await;
    assert_eq!(stopped.assert_ok()["status"], "ended");
    assert_eq!(stopped.assert_ok()["ended_reason"], "stopped");
    assert!(stopped.assert_ok()["end_time"].as_i64().unwrap_or(0) > 0);
    assert_eq!(
        (pk_of(&app, &a).await, pk_of(&app, &b).await),
        ("".into(), "".into())
    );
    for watch in [&mut watch_a, &mut watch_b] {
        let e = pk_events(watch, "pk_ended").await;
        assert_eq!(e[0].data["reason"], "stopped");
    }
    // readable after its end; the rooms are free for the next PK
    assert_eq!(read(&app, &pk).await.assert_ok()["ended_reason"], "stopped");
    let again = invite(&app, "pk-a2", &b, &a).await;
    let second = again.assert_ok()["pk_id"]
        .as_str()
        .expect("pk_id")
        .to_owned();
    // rejected: ended in both rooms; an admin's stop of the next
    let rejected = act(&app, "pk-a1", &second, "reject").await;
    assert_eq!(rejected.assert_ok()["ended_reason"], "rejected");
    for watch in [&mut watch_a, &mut watch_b] {
        let e = pk_events(watch, "pk_ended").await;
        assert_eq!(
            e.last().map(|e| e.data["reason"].clone()),
            Some(json!("rejected"))
        );
    }
    let third = invite(&app, "pk-a1", &a, &b).await.assert_ok()["pk_id"]
        .as_str()
        .expect("pk_id")
        .to_owned();
    act(&app, "pk-a2", &third, "accept").await.assert_ok();
    let by_admin = app
        .request(
            Method::POST,
            &format!("/server/live/pk/{third}/stop"),
            Some(&admin_token()),
            None,
        )
        .await;
    assert_eq!(by_admin.assert_ok()["ended_reason"], "admin");
    assert_eq!(
        (pk_of(&app, &a).await, pk_of(&app, &b).await),
        ("".into(), "".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pk_refusals_carry_the_contracts_codes() {
    let app = spawn_app().await;
    let a = live_room(&app, "pk-r1").await;
    let b = live_room(&app, "pk-r2").await;
    let c = live_room(&app, "pk-r3").await;
    let idle = app.create_room("pk-r4", "not live").await;
    invite(&app, "pk-r1", &a, &a).await.assert_error(400, 40000);
    invite(&app, "pk-r2", &a, &b).await.assert_error(403, 40300);
    invite(&app, "pk-r4", &idle, &a)
        .await
        .assert_error(409, 40900);
    invite(&app, "pk-r1", &a, &idle)
        .await
        .assert_error(409, 40900);
    invite(&app, "pk-r1", &a, "live_0192f0c1a2b34c5d8e9f0a1b2c3d4e5f")
        .await
        .assert_error(404, 40400);
    let bad_body = app
        .request(
            Method::POST,
            "/client/live/room/pk",
            Some(&token("pk-r1")),
            Some(json!({"live_id": a})),
        )
        .await;
    bad_body.assert_error(400, 40000);
    assert!(
        bad_body.body["message"]
            .as_str()
            .unwrap_or("")
            .contains("target_live_id")
    );

    let pk = invite(&app, "pk-r1", &a, &b).await.assert_ok()["pk_id"]
        .as_str()
        .expect("pk_id")
        .to_owned();
    // either room already in a PK (here: inviting)
    invite(&app, "pk-r3", &c, &b).await.assert_error(409, 40903);
    invite(&app, "pk-r1", &a, &c).await.assert_error(409, 40903);
    invite(&app, "pk-r3", &c, &a).await.assert_error(409, 40903);
    invite(&app, "pk-r2", &b, &c).await.assert_error(409, 40903);
    // only the invited anchor answers; only active PKs take extends
    act(&app, "pk-r1", &pk, "accept")
        .await
        .assert_error(403, 40300);
    act(&app, "pk-r3", &pk, "reject")
        .await
        .assert_error(403, 40300);
    pk_extends(&app, "pk-r1", &pk, json!({"k": "v"}))
        .await
        .assert_error(409, 40903);
    act(&app, "pk-r2", &pk, "accept").await.assert_ok();
    act(&app, "pk-r2", &pk, "accept")
        .await
        .assert_error(409, 40903);
    act(&app, "pk-r2", &pk, "reject")
        .await
        .assert_error(409, 40903);
    act(&app, "pk-r3", &pk, "stop")
        .await
        .assert_error(403, 40300);
    pk_extends(&app, "pk-r3", &pk, json!({"k": "v"}))
        .await
        .assert_error(403, 40300);
    let too_many: serde_json::Map<String, Value> =
        (0..33).map(|i| (format!("k{i}"), json!("v"))).collect();
    let refused = pk_extends(&app, "pk-r1", &pk, Value::Object(too_many)).await;
    refused.assert_error(400, 40000);
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap_or("")
            .contains("extends")
    );
    // active: still in a PK
    invite(&app, "pk-r3", &c, &a).await.assert_error(409, 40903);
    app.request(
        Method::POST,
        &format!("/server/live/pk/{pk}/stop"),
        Some(&token("pk-r1")),
        None,
    )
    .await
    .assert_error(403, 40300);
    act(&app, "pk-r1", &pk, "stop").await.assert_ok();
    act(&app, "pk-r1", &pk, "stop")
        .await
        .assert_error(409, 40903);
    pk_extends(&app, "pk-r1", &pk, json!({"k": "v"}))
        .await
        .assert_error(409, 40903);
    // unknown and malformed PKs name no PK
    read(&app, "pk_0192f0c1a2b34c5d8e9f0a1b2c3d4e5f")
        .await
        .assert_error(404, 40400);
    read(&app, "nonsense").await.assert_error(404, 40400);
    act(
        &app,
        "pk-r1",
        "pk_0192f0c1a2b34c5d8e9f0a1b2c3d4e5f",
        "accept",
    )
    .await
    .assert_error(404, 40400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_invitation_expires_by_the_shared_sweep() {
    let mut s = test_settings();
    s.pk_invite_secs = 1;
    let app = spawn_app_with(s).await;
    let a = live_room(&app, "pk-e1").await;
    let b = live_room(&app, "pk-e2").await;
    let mut watch_a = SseClient::open(&app, &a, "pk-e1", Some("0-0"))
        .await
        .expect("a");
    let mut watch_b = SseClient::open(&app, &b, "pk-e2", Some("0-0"))
        .await
        .expect("b");
    let pk = invite(&app, "pk-e1", &a, &b).await.assert_ok()["pk_id"]
        .as_str()
        .expect("pk_id")
        .to_owned();
    let ended = eventually(CONVERGES, "the invitation expired", || async {
        let now = read(&app, &pk).await;
        (now.assert_ok()["status"] == "ended").then(|| now.body["data"].clone())
    })
    .await;
    assert_eq!(ended["ended_reason"], "expired");
    act(&app, "pk-e2", &pk, "accept")
        .await
        .assert_error(409, 40903);
    for watch in [&mut watch_a, &mut watch_b] {
        let e = pk_events(watch, "pk_ended").await;
        assert_eq!(
            e.last().map(|e| e.data["reason"].clone()),
            Some(json!("expired"))
        );
    }
    // the rooms are free again (the reservations went with it)
    eventually(CONVERGES, "the rooms are free", || async {
        (invite(&app, "pk-e2", &b, &a).await.code() == 0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_that_ends_ends_its_pk_in_the_other_room() {
    let app = spawn_app().await;
    for (n, how) in ["stop", "delete", "admin"].into_iter().enumerate() {
        let (x, y) = (format!("pk-x{n}"), format!("pk-y{n}"));
        let a = live_room(&app, &x).await;
        let b = live_room(&app, &y).await;
        let mut watch_b = SseClient::open(&app, &b, &y, Some("0-0")).await.expect("b");
        let pk = invite(&app, &x, &a, &b).await.assert_ok()["pk_id"]
            .as_str()
            .expect("pk_id")
            .to_owned();
        act(&app, &y, &pk, "accept").await.assert_ok();
        assert_eq!(pk_of(&app, &b).await, pk);
        match how {
            "stop" => app.stop(&a, &x).await.assert_ok(),
            "delete" => app.delete(&a, &x).await.assert_ok(),
            _ => app
                .request(
                    Method::POST,
                    &format!("/server/live/room/{a}/stop"),
                    Some(&admin_token()),
                    None,
                )
                .await
                .assert_ok(),
        };
        eventually(
            CONVERGES,
            &format!("{how}: the other room left the pk"),
            || async { (pk_of(&app, &b).await.is_empty()).then_some(()) },
        )
        .await;
        let now = read(&app, &pk).await;
        assert_eq!(now.assert_ok()["status"], "ended", "{how}");
        assert_eq!(now.assert_ok()["ended_reason"], "room_ended", "{how}");
        let e = pk_events(&mut watch_b, "pk_ended").await;
        assert_eq!(
            e.last().map(|e| e.data["reason"].clone()),
            Some(json!("room_ended"))
        );
        if how != "delete" {
            assert_eq!(pk_of(&app, &a).await, "", "{how}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_invitations_racing_for_one_room_one_wins() {
    let app = spawn_app().await;
    let mut s = app.settings.clone();
    s.bind = "127.0.0.1:0".parse().expect("addr");
    let other = spawn_app_with(s).await;
    let target = live_room(&app, "pk-t").await;
    let mut rooms = Vec::new();
    for i in 0..10 {
        rooms.push((
            format!("pk-i{i}"),
            live_room(&app, &format!("pk-i{i}")).await,
        ));
    }
    let answers = join_all(rooms.iter().enumerate().map(|(i, (anchor, room))| {
        let replica = if i % 2 == 0 { &app } else { &other };
        invite(replica, anchor, room, &target)
    }))
    .await;
    let won: Vec<&Answer> = answers.iter().filter(|a| a.code() == 0).collect();
    assert_eq!(
        won.len(),
        1,
        "{:?}",
        answers.iter().map(Answer::code).collect::<Vec<_>>()
    );
    for lost in answers.iter().filter(|a| a.code() != 0) {
        lost.assert_error(409, 40903);
    }
    // the losers' rooms were released: each may invite another room at once
    let winner = won[0].body["data"]["init_live_id"].as_str().expect("init");
    let free = live_room(&app, "pk-free").await;
    let loser = rooms.iter().find(|(_, r)| r != winner).expect("a loser");
    invite(&app, &loser.0, &loser.1, &free).await.assert_ok();
}

/// A replica whose PK flows stop after `step` Redis steps, as if it died there.
async fn dying_replica(settings: &Settings, step: usize) -> Store {
    let config = liveroom::config::Config::try_from(settings.clone()).expect("config");
    let conn = Connection::open(&config.redis.target, config.redis.timeout)
        .await
        .expect("redis");
    let store = liveroom::app::state(&config, conn).store;
    store.abandon_pk_after(step);
    store
}

fn live(raw: &str) -> LiveId {
    LiveId::parse(raw).expect("live_id")
}

fn user(raw: &str) -> UserId {
    UserId::parse(raw).expect("user")
}

/// Both rooms agree with each other and with the PK's record: both show it while it is active,
/// neither otherwise. Answers the record's status.
async fn agree(app: &TestApp, pk: &str, a: &str, b: &str) -> Option<String> {
    let (pa, pb) = (pk_of(app, a).await, pk_of(app, b).await);
    let answer = read(app, pk).await;
    let status = match answer.code() {
        0 => answer.body["data"]["status"]
            .as_str()
            .unwrap_or("")
            .to_owned(),
        _ => "none".to_owned(),
    };
    let want = if status == "active" { pk } else { "" };
    (pa == want && pb == want).then_some(status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pk_change_cut_short_at_any_step_is_finished_by_another_replica() {
    let mut s = test_settings();
    s.pk_invite_secs = 3;
    let app = spawn_app_with(s.clone()).await;
    for step in 1..=4 {
        let dead = dying_replica(&s, step).await;
        let (x, y) = (format!("pk-c{step}x"), format!("pk-c{step}y"));
        let (a, b) = (live_room(&app, &x).await, live_room(&app, &y).await);

        // an invitation cut short: it ends up expired (or, cut before its record, never was)
        // in both rooms, and the rooms are free again
        let _ = dead.pks().invite(&live(&a), &live(&b), &user(&x)).await;
        let pk_id = eventually(
            CONVERGES,
            &format!("invite cut at {step}: rooms free"),
            || async {
                let again = invite(&app, &x, &a, &b).await;
                (again.code() == 0).then(|| again.body["data"]["pk_id"].as_str().map(str::to_owned))
            },
        )
        .await
        .expect("pk_id");
        let id = PkId::parse(&pk_id).expect("pk id");
        let mut watch_b = SseClient::open(&app, &b, &y, Some("0-0")).await.expect("b");

        // an accept cut short: both rooms end up showing the PK; cut before its record
        // changed (step 1), it never happened: the invitation expires in both rooms
        let _ = dead.pks().accept(&id, &user(&y)).await;
        let want = if step == 1 { "ended" } else { "active" };
        let status = eventually(
            CONVERGES,
            &format!("accept cut at {step}: agree"),
            || async { agree(&app, &pk_id, &a, &b).await.filter(|s| s == want) },
        )
        .await;
        if step == 1 {
            assert_eq!(
                read(&app, &pk_id).await.assert_ok()["ended_reason"],
                "expired"
            );
            continue;
        }
        assert_eq!(status, "active");
        assert_eq!(pk_of(&app, &a).await, pk_id);

        // an extends cut short: both rooms are told the new extends
        let scores = std::collections::BTreeMap::from([("score".to_owned(), format!("{step}:0"))]);
        let extends = liveroom::domain::room::Extends::parse("extends", scores).expect("extends");
        let _ = dead.pks().set_extends(&id, &user(&y), &extends).await;
        let want = json!({"score": format!("{step}:0")});
        for (room, anchor) in [(&a, &x), (&b, &y)] {
            let mut watch = SseClient::open(&app, room, anchor, Some("0-0"))
                .await
                .expect("watch");
            loop {
                let e = pk_events(&mut watch, "pk_updated").await;
                if e.last().is_some_and(|e| e.data["extends"] == want) {
                    break;
                }
            }
        }

        // a stop cut short (after its record changed: steps 2–4): neither room shows it,
        // both were told
        let _ = dead.pks().stop(&id, &user(&x), false).await;
        eventually(CONVERGES, &format!("stop cut at {step}: agree"), || async {
            agree(&app, &pk_id, &a, &b).await.filter(|s| s == "ended")
        })
        .await;
        assert_eq!(end_reason(&mut watch_b, &pk_id).await, "stopped");
        let mut watch_a = SseClient::open(&app, &a, &x, Some("0-0")).await.expect("a");
        assert_eq!(end_reason(&mut watch_a, &pk_id).await, "stopped");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_ended_by_a_replica_that_dies_after_its_script_still_ends_its_pk() {
    let s = test_settings();
    let app = spawn_app_with(s.clone()).await;
    // a replica that dies right after each room script (store/intents.rs)
    let dead = dying_replica(&s, 0).await;
    dead.abandon_follow_ups();
    let a = live_room(&app, "pk-d1").await;
    let b = live_room(&app, "pk-d2").await;
    let pk = invite(&app, "pk-d1", &a, &b).await.assert_ok()["pk_id"]
        .as_str()
        .expect("pk_id")
        .to_owned();
    act(&app, "pk-d2", &pk, "accept").await.assert_ok();
    dead.rooms()
        .stop(&live(&a), &user("pk-d1"))
        .await
        .expect("stopped");
    // the room ended; its follow-ups (the PK's end among them) are another replica's to finish
    assert_eq!(
        app.info(&a, "pk-reader").await.assert_ok()["live_status"],
        2
    );
    eventually(CONVERGES, "the pk ended with the room", || async {
        agree(&app, &pk, &a, &b).await.filter(|s| s == "ended")
    })
    .await;
    assert_eq!(
        read(&app, &pk).await.assert_ok()["ended_reason"],
        "room_ended"
    );
    let mut watch_b = SseClient::open(&app, &b, "pk-d2", Some("0-0"))
        .await
        .expect("b");
    assert_eq!(end_reason(&mut watch_b, &pk).await, "room_ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_pks_anchors_get_rtc_tokens_for_the_other_room() {
    let mut s = test_settings();
    s.rtc_url = Some("wss://rtc.example.test".into());
    s.rtc_api_key = Some("APIpk".into());
    s.rtc_api_secret = Some("rtc-secret-for-pk-tests".into());
    let app = spawn_app_with(s).await;
    let a = live_room(&app, "rtc-a1").await;
    let b = live_room(&app, "rtc-a2").await;
    let pk = invite(&app, "rtc-a1", &a, &b).await.assert_ok()["pk_id"]
        .as_str()
        .expect("pk_id")
        .to_owned();
    let rtc = |who: &str| {
        let (app, path, t) = (&app, format!("/client/live/room/pk/{pk}/rtc"), token(who));
        async move { app.get(&path, &t).await }
    };
    // an invitation is not a PK yet
    rtc("rtc-a1").await.assert_error(409, 40903);
    act(&app, "rtc-a2", &pk, "accept").await.assert_ok();

    // each anchor gets a token for the other room, with LiveKit's claims
    let now = now_secs() as i64;
    for (anchor, other) in [("rtc-a1", &b), ("rtc-a2", &a)] {
        let answer = rtc(anchor).await;
        let d = answer.assert_ok();
        assert_eq!(
            (&d["pk_id"], &d["live_id"], &d["rtc_url"]),
            (&json!(pk), &json!(other), &json!("wss://rtc.example.test"))
        );
        let mut check = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        check.set_required_spec_claims(&["exp", "nbf", "iss", "sub"]);
        let claims = jsonwebtoken::decode::<Value>(
            d["rtc_token"].as_str().expect("token"),
            &jsonwebtoken::DecodingKey::from_secret(b"rtc-secret-for-pk-tests"),
            &check,
        )
        .expect("the token verifies with the API secret")
        .claims;
        assert_eq!(
            (&claims["iss"], &claims["sub"], &claims["name"]),
            (
                &json!("APIpk"),
                &json!(anchor),
                &json!(format!("nick-{anchor}"))
            )
        );
        let (nbf, exp) = (
            claims["nbf"].as_i64().expect("nbf"),
            claims["exp"].as_i64().expect("exp"),
        );
        assert!((now - 60..=now + 60).contains(&nbf), "{claims}");
        assert!(exp > now && exp - nbf <= 6 * 3600, "{claims}");
        assert_eq!(
            claims["video"],
            json!({"room": other, "roomJoin": true, "canPublish": true, "canSubscribe": true})
        );
    }
    // a viewer of either room is not an anchor of the PK; an unknown PK is 404
    app.join(&a, "rtc-viewer").await.assert_ok();
    rtc("rtc-viewer").await.assert_error(403, 40300);
    app.get(
        "/client/live/room/pk/pk_00000000000000000000000000000000/rtc",
        &token("rtc-a1"),
    )
    .await
    .assert_error(404, 40400);
    // once it ends, no more tokens
    act(&app, "rtc-a1", &pk, "stop").await.assert_ok();
    rtc("rtc-a2").await.assert_error(409, 40903);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_rtc_settings_a_pks_tokens_are_empty() {
    let app = spawn_app().await;
    let a = live_room(&app, "rtc-b1").await;
    let b = live_room(&app, "rtc-b2").await;
    let pk = invite(&app, "rtc-b1", &a, &b).await.assert_ok()["pk_id"]
        .as_str()
        .expect("pk_id")
        .to_owned();
    act(&app, "rtc-b2", &pk, "accept").await.assert_ok();
    let answer = app
        .get(&format!("/client/live/room/pk/{pk}/rtc"), &token("rtc-b2"))
        .await;
    let d = answer.assert_ok();
    assert_eq!(
        (&d["live_id"], &d["rtc_url"], &d["rtc_token"]),
        (&json!(a), &json!(""), &json!(""))
    );
}
