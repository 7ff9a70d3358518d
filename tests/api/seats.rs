//! Co-host seats and RTC tokens (CONTRACT section 14): the room's seat_mode, free and apply
//! modes, every refusal with its code, the events, the release of a seat on every way its user
//! goes, the race for the last seat, and the LiveKit token.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::events::{SseClient, accepted, receiver, with_webhooks};
use super::helpers::*;

fn seat_path(live_id: &str) -> String {
    format!("/client/live/room/seat/{live_id}")
}

async fn take(app: &TestApp, live_id: &str, user: &str, body: Value) -> Answer {
    app.request(
        Method::POST,
        &seat_path(live_id),
        Some(&token(user)),
        Some(body),
    )
    .await
}

async fn decide(app: &TestApp, live_id: &str, by: &str, what: &str, user: &str) -> Answer {
    app.request(
        Method::POST,
        &format!("{}/{what}", seat_path(live_id)),
        Some(&token(by)),
        Some(json!({"user_id": user})),
    )
    .await
}

async fn leave_seat(app: &TestApp, live_id: &str, user: &str) -> Answer {
    app.request(
        Method::DELETE,
        &seat_path(live_id),
        Some(&token(user)),
        None,
    )
    .await
}

async fn remove(app: &TestApp, live_id: &str, by: &str, user: &str) -> Answer {
    app.request(
        Method::DELETE,
        &format!("{}/{user}", seat_path(live_id)),
        Some(&token(by)),
        None,
    )
    .await
}

async fn switch(app: &TestApp, live_id: &str, by: &str, body: Value) -> Answer {
    app.request(
        Method::PUT,
        &format!("{}/switch", seat_path(live_id)),
        Some(&token(by)),
        Some(body),
    )
    .await
}

/// The taken seats as (seat, user_id).
async fn seats(app: &TestApp, live_id: &str) -> Vec<(u64, String)> {
    let a = app.get(&seat_path(live_id), &token("lister")).await;
    a.assert_ok()["list"]
        .as_array()
        .expect("list")
        .iter()
        .map(|s| {
            (
                s["seat"].as_u64().expect("seat"),
                s["user"]["user_id"].as_str().expect("user").to_owned(),
            )
        })
        .collect()
}

async fn create_with_mode(app: &TestApp, anchor: &str, mode: Option<&str>) -> String {
    let mut body = json!({"title": "seats"});
    if let Some(mode) = mode {
        body["seat_mode"] = json!(mode);
    }
    let a = app
        .request(
            Method::POST,
            "/client/live/room/instance",
            Some(&token(anchor)),
            Some(body),
        )
        .await;
    a.assert_ok()["live_id"].as_str().expect("id").to_owned()
}

async fn live_room(app: &TestApp, mode: Option<&str>) -> String {
    let id = create_with_mode(app, "anchor", mode).await;
    app.start(&id, "anchor").await.assert_ok();
    id
}

/// Reads the watcher's events until `count` events of the seat kinds were seen; answers them as
/// "type user_id [seat] [reason]".
async fn seat_events(sse: &mut SseClient, count: usize) -> Vec<String> {
    let mut out = Vec::new();
    while out.len() < count {
        let e = sse.next().await.expect("the stream goes on");
        if !e.kind.starts_with("seat_") {
            continue;
        }
        let mut s = format!("{} {}", e.kind, e.data["user_id"].as_str().unwrap_or("?"));
        if let Some(n) = e.data["seat"].as_u64() {
            s.push_str(&format!(" {n}"));
        }
        if let Some(r) = e.data["reason"].as_str() {
            s.push_str(&format!(" {r}"));
        }
        out.push(s);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seat_mode_is_set_at_creation_and_shown_in_every_room_object() {
    let app = spawn_app().await;
    let free = create_with_mode(&app, "anchor", None).await;
    let apply = create_with_mode(&app, "anchor", Some("apply")).await;
    app.start(&apply, "anchor").await.assert_ok();
    assert_eq!(app.info(&free, "v").await.assert_ok()["seat_mode"], "free");
    assert_eq!(
        app.info(&apply, "v").await.assert_ok()["seat_mode"],
        "apply"
    );
    let mode_of = |page: &Value, id: &str| {
        page["list"]
            .as_array()
            .expect("list")
            .iter()
            .find(|r| r["live_id"] == id)
            .map(|r| r["seat_mode"].clone())
    };
    let t = token("anchor");
    let admin = token_with(json!({"sub": "ops", "exp": now_secs() + 600, "admin": true}));
    for (path, who) in [
        ("/client/live/room/list?page_size=100".to_owned(), &t),
        (format!("/client/live/room?keyword={apply}"), &t),
        ("/client/live/room/mine?page_size=100".to_owned(), &t),
        ("/server/live/rooms?page_size=100".to_owned(), &admin),
    ] {
        let page = app.get(&path, who).await;
        assert_eq!(
            mode_of(page.assert_ok(), &apply),
            Some(json!("apply")),
            "{path}"
        );
    }
    let page = app.get("/client/live/room/mine?page_size=100", &t).await;
    assert_eq!(mode_of(page.assert_ok(), &free), Some(json!("free")));

    let bad = app
        .request(
            Method::POST,
            "/client/live/room/instance",
            Some(&t),
            Some(json!({"title": "x", "seat_mode": "open"})),
        )
        .await;
    bad.assert_error(400, 40000);
    assert!(
        bad.body["message"]
            .as_str()
            .unwrap_or("")
            .contains("seat_mode")
    );
    let wrong_type = app
        .request(
            Method::POST,
            "/client/live/room/instance",
            Some(&t),
            Some(json!({"title": "x", "seat_mode": 1})),
        )
        .await;
    wrong_type.assert_error(400, 40000);
    assert!(
        wrong_type.body["message"]
            .as_str()
            .unwrap_or("")
            .contains("seat_mode")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_seats_go_lowest_first_with_every_rule_and_refusal() {
    let app = spawn_app().await;
    let id = live_room(&app, None).await;
    let mut sse = SseClient::open(&app, &id, "anchor", None)
        .await
        .expect("the anchor watches");
    for u in ["a", "b", "c"] {
        app.join(&id, u).await.assert_ok();
    }

    let a = take(
        &app,
        &id,
        "a",
        json!({"camera": false, "extends": {"k": "v"}}),
    )
    .await;
    let d = a.assert_ok();
    assert_eq!(
        (&d["status"], &d["seat"], &d["mic"], &d["camera"]),
        (&json!("taken"), &json!(1), &json!(true), &json!(false))
    );
    // without the RTC settings the token fields are there and empty
    assert_eq!((&d["rtc_url"], &d["rtc_token"]), (&json!(""), &json!("")));
    take(&app, &id, "b", json!({})).await.assert_ok();
    assert_eq!(
        seats(&app, &id).await,
        [(1, "a".to_owned()), (2, "b".to_owned())]
    );
    // the list shows the holder as user_list does, and the seat's own fields
    let list = app.get(&seat_path(&id), &token("lister")).await;
    let first = &list.assert_ok()["list"][0];
    assert_eq!(first["user"]["nick"], "nick-a");
    assert!(
        first["user"]["im_userid"].as_i64().unwrap_or(0) > 0,
        "{first}"
    );
    assert_eq!(first["extends"], json!({"k": "v"}));
    assert_eq!(
        (&first["mic"], &first["camera"]),
        (&json!(true), &json!(false))
    );
    assert!(
        first["since"].as_i64().unwrap_or(0) > 1_600_000_000_000,
        "{first}"
    );

    // refusals
    take(&app, &id, "a", json!({}))
        .await
        .assert_error(409, 40902);
    take(&app, &id, "anchor", json!({}))
        .await
        .assert_error(409, 40902);
    take(&app, &id, "stranger", json!({}))
        .await
        .assert_error(409, 40901);
    take(&app, &id, "c", json!({"mic": "yes"}))
        .await
        .assert_error(400, 40000);
    let many: serde_json::Map<String, Value> =
        (0..33).map(|i| (format!("k{i}"), json!("v"))).collect();
    take(&app, &id, "c", json!({"extends": many}))
        .await
        .assert_error(400, 40000);
    // a seat lives in the room's hash: its extends are 2048 bytes of JSON at most
    let big = take(
        &app,
        &id,
        "c",
        json!({"extends": {"a": "v".repeat(1000), "b": "v".repeat(1000), "c": "v".repeat(100)}}),
    )
    .await;
    big.assert_error(400, 40000);
    assert!(big.body["message"].as_str().unwrap_or("").contains("2048"));
    take(&app, "live_0", "c", json!({}))
        .await
        .assert_error(404, 40400);
    leave_seat(&app, &id, "c").await.assert_error(409, 40902);
    remove(&app, &id, "anchor", "c")
        .await
        .assert_error(409, 40902);
    remove(&app, &id, "c", "a").await.assert_error(403, 40300);
    let unstarted = create_with_mode(&app, "anchor", None).await;
    app.join(&unstarted, "x").await.assert_ok();
    take(&app, &unstarted, "x", json!({}))
        .await
        .assert_error(409, 40900);

    // switches: one's own freely; the anchor only off; nobody else
    let own = switch(&app, &id, "a", json!({"mic": false, "camera": true})).await;
    assert_eq!(
        (&own.assert_ok()["mic"], &own.assert_ok()["camera"]),
        (&json!(false), &json!(true))
    );
    let off = switch(
        &app,
        &id,
        "anchor",
        json!({"user_id": "b", "camera": false}),
    )
    .await;
    assert_eq!(
        (
            &off.assert_ok()["mic"],
            &off.assert_ok()["camera"],
            &off.assert_ok()["seat"]
        ),
        (&json!(true), &json!(false), &json!(2))
    );
    switch(&app, &id, "anchor", json!({"user_id": "b", "mic": true}))
        .await
        .assert_error(400, 40000);
    switch(&app, &id, "c", json!({"user_id": "b", "mic": false}))
        .await
        .assert_error(403, 40300);
    switch(&app, &id, "c", json!({"mic": false}))
        .await
        .assert_error(409, 40902);

    // leave, then the lowest free seat goes to the next taker; the anchor takes b off
    leave_seat(&app, &id, "a").await.assert_ok();
    let c = take(&app, &id, "c", json!({})).await;
    assert_eq!(c.assert_ok()["seat"], 1);
    remove(&app, &id, "anchor", "b").await.assert_ok();
    assert_eq!(seats(&app, &id).await, [(1, "c".to_owned())]);
    // a user taken off stays in the room
    app.heartbeat(&id, "b").await.assert_ok();

    // an admin may take anyone off too
    let admin = token_with(json!({"sub": "ops", "exp": now_secs() + 600, "admin": true}));
    app.request(
        Method::DELETE,
        &format!("{}/c", seat_path(&id)),
        Some(&admin),
        None,
    )
    .await
    .assert_ok();
    assert!(seats(&app, &id).await.is_empty());

    assert_eq!(
        seat_events(&mut sse, 8).await,
        [
            "seat_taken a 1",
            "seat_taken b 2",
            "seat_updated a 1",
            "seat_updated b 2",
            "seat_left a 1 left",
            "seat_taken c 1",
            "seat_left b 2 removed",
            "seat_left c 1 removed",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seat_is_freed_when_its_user_leaves_moves_is_kicked_or_the_room_ends() {
    let app = spawn_app().await;
    let id = live_room(&app, None).await;
    let elsewhere = live_room(&app, None).await;
    let mut sse = SseClient::open(&app, &id, "anchor", None)
        .await
        .expect("the anchor watches");
    for (n, u) in ["l", "m", "k", "e1", "e2"].into_iter().enumerate() {
        app.join(&id, u).await.assert_ok();
        let d = take(&app, &id, u, json!({})).await;
        assert_eq!(d.assert_ok()["seat"], json!(n + 1));
    }
    app.leave(&id, "l").await.assert_ok();
    app.join(&elsewhere, "m").await.assert_ok();
    app.request(
        Method::POST,
        "/client/live/room/kick",
        Some(&token("anchor")),
        Some(json!({"live_id": id, "user_id": "k", "ban_secs": 0})),
    )
    .await
    .assert_ok();
    // each went with its seat: the list and the holders' own requests say so
    assert_eq!(
        seats(&app, &id).await,
        [(4, "e1".to_owned()), (5, "e2".to_owned())]
    );
    for gone in ["l", "m", "k"] {
        leave_seat(&app, &id, gone).await.assert_error(409, 40902);
    }
    // the freed seats are free: the next member takes the lowest
    app.join(&id, "n").await.assert_ok();
    assert_eq!(take(&app, &id, "n", json!({})).await.assert_ok()["seat"], 1);

    app.stop(&id, "anchor").await.assert_ok();
    assert!(seats(&app, &id).await.is_empty());
    assert_eq!(
        seat_events(&mut sse, 12).await,
        [
            "seat_taken l 1",
            "seat_taken m 2",
            "seat_taken k 3",
            "seat_taken e1 4",
            "seat_taken e2 5",
            "seat_left l 1 left",
            "seat_left m 2 left",
            "seat_left k 3 kicked",
            "seat_taken n 1",
            "seat_left n 1 room_ended",
            "seat_left e1 4 room_ended",
            "seat_left e2 5 room_ended",
        ]
    );

    // a deleted live room frees its seats too, before its live_ended
    let doomed = live_room(&app, None).await;
    app.join(&doomed, "d").await.assert_ok();
    let mut watching = SseClient::open(&app, &doomed, "anchor", None)
        .await
        .expect("the anchor watches");
    take(&app, &doomed, "d", json!({})).await.assert_ok();
    app.delete(&doomed, "anchor").await.assert_ok();
    let kinds: Vec<String> = watching
        .until("live_ended")
        .await
        .iter()
        .filter(|e| e.kind.starts_with("seat_") || e.kind == "live_ended")
        .map(|e| format!("{} {}", e.kind, e.data["reason"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        kinds,
        ["seat_taken ", "seat_left room_ended", "live_ended deleted"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seat_is_freed_when_its_user_lapses() {
    let mut s = test_settings();
    // a window of 1.2 s; the one who stays beats every 100 ms
    s.heartbeat_interval_ms = 400;
    let app = spawn_app_with(s).await;
    let id = live_room(&app, None).await;
    let mut sse = SseClient::open(&app, &id, "anchor", None)
        .await
        .expect("the anchor watches");
    for u in ["quiet", "stays"] {
        app.join(&id, u).await.assert_ok();
        take(&app, &id, u, json!({})).await.assert_ok();
    }
    let beating = {
        let app = TestApp::client_of(&app.base, app.settings.clone());
        let id = id.clone();
        tokio::spawn(async move {
            loop {
                app.heartbeat(&id, "stays").await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    assert_eq!(
        seat_events(&mut sse, 3).await,
        [
            "seat_taken quiet 1",
            "seat_taken stays 2",
            "seat_left quiet 1 lapsed"
        ]
    );
    assert_eq!(seats(&app, &id).await, [(2, "stays".to_owned())]);
    app.heartbeat(&id, "quiet").await.assert_error(409, 40901);
    beating.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_members_racing_for_the_last_seat_give_one_winner() {
    let mut s = test_settings();
    s.seats_per_room = 3;
    let app = spawn_app_with(s).await;
    let id = live_room(&app, None).await;
    for u in ["s1", "s2"] {
        app.join(&id, u).await.assert_ok();
        take(&app, &id, u, json!({})).await.assert_ok();
    }
    let racers: Vec<String> = (0..20).map(|i| format!("racer{i}")).collect();
    for r in &racers {
        app.join(&id, r).await.assert_ok();
    }
    let answers =
        futures_util::future::join_all(racers.iter().map(|r| take(&app, &id, r, json!({})))).await;
    let winners: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    assert_eq!(winners[0].body["data"]["seat"], 3);
    for lost in answers.iter().filter(|a| a.status != 200) {
        lost.assert_error(409, 40902);
    }
    assert_eq!(seats(&app, &id).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_mode_waits_for_the_anchor_who_accepts_or_rejects_and_requests_lapse() {
    let mut s = test_settings();
    s.seat_request_secs = 2;
    let app = spawn_app_with(s).await;
    let id = live_room(&app, Some("apply")).await;
    let mut sse = SseClient::open(&app, &id, "anchor", None)
        .await
        .expect("the anchor watches");
    for u in ["a", "b", "c", "w"] {
        app.join(&id, u).await.assert_ok();
    }

    let asked = take(&app, &id, "a", json!({"mic": true, "camera": false})).await;
    let d = asked.assert_ok();
    assert_eq!(
        (&d["status"], &d["seat"], &d["mic"], &d["camera"]),
        (&json!("pending"), &json!(0), &json!(true), &json!(false))
    );
    assert_eq!(d["rtc_token"], "");
    take(&app, &id, "a", json!({}))
        .await
        .assert_error(409, 40902);
    assert!(
        seats(&app, &id).await.is_empty(),
        "a pending request holds no seat"
    );

    // only the anchor answers
    decide(&app, &id, "b", "accept", "a")
        .await
        .assert_error(403, 40300);
    let accepted_seat = decide(&app, &id, "anchor", "accept", "a").await;
    let d = accepted_seat.assert_ok();
    assert_eq!(
        (&d["status"], &d["seat"], &d["user_id"], &d["camera"]),
        (&json!("taken"), &json!(1), &json!("a"), &json!(false))
    );
    decide(&app, &id, "anchor", "accept", "a")
        .await
        .assert_error(409, 40902);
    take(&app, &id, "a", json!({}))
        .await
        .assert_error(409, 40902);

    // a rejected request is gone
    take(&app, &id, "b", json!({})).await.assert_ok();
    decide(&app, &id, "anchor", "reject", "b").await.assert_ok();
    decide(&app, &id, "anchor", "reject", "b")
        .await
        .assert_error(409, 40902);
    decide(&app, &id, "anchor", "accept", "b")
        .await
        .assert_error(409, 40902);

    // a withdrawn request is gone
    take(&app, &id, "w", json!({})).await.assert_ok();
    leave_seat(&app, &id, "w").await.assert_ok();
    decide(&app, &id, "anchor", "accept", "w")
        .await
        .assert_error(409, 40902);

    // a request whose asker left the room is gone
    take(&app, &id, "b", json!({})).await.assert_ok();
    app.leave(&id, "b").await.assert_ok();
    decide(&app, &id, "anchor", "accept", "b")
        .await
        .assert_error(409, 40902);

    // an unanswered request lapses (LIVEROOM_SEAT_REQUEST_SECS, 2 s here), and may be made again
    take(&app, &id, "c", json!({})).await.assert_ok();
    eventually(Duration::from_secs(10), "c's request lapses", || async {
        // refused (already asking) until the request lapsed; then a new request
        (take(&app, &id, "c", json!({})).await.status == 200).then_some(())
    })
    .await;
    let second = decide(&app, &id, "anchor", "accept", "c").await;
    assert_eq!(second.assert_ok()["seat"], 2);
    assert_eq!(
        seats(&app, &id).await,
        [(1, "a".to_owned()), (2, "c".to_owned())]
    );

    assert_eq!(
        seat_events(&mut sse, 8).await,
        [
            "seat_requested a",
            "seat_taken a 1",
            "seat_requested b",
            "seat_requested w",
            "seat_requested b",
            "seat_requested c",
            "seat_requested c",
            "seat_taken c 2",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rooms_pending_seat_requests_are_capped() {
    let app = spawn_app().await;
    let id = live_room(&app, Some("apply")).await;
    let cap = liveroom::store::MAX_SEAT_REQUESTS_PER_ROOM as usize;
    let askers: Vec<String> = (0..=cap).map(|i| format!("asker{i}")).collect();
    for u in &askers {
        app.join(&id, u).await.assert_ok();
    }
    for u in &askers[..cap] {
        take(&app, &id, u, json!({})).await.assert_ok();
    }
    let over = take(&app, &id, &askers[cap], json!({})).await;
    over.assert_error(429, 42900);
    assert!(
        over.body["message"]
            .as_str()
            .unwrap_or("")
            .contains(&cap.to_string())
    );
    // an answer makes room, and so does an asker who leaves the room
    decide(&app, &id, "anchor", "reject", &askers[0])
        .await
        .assert_ok();
    take(&app, &id, &askers[cap], json!({})).await.assert_ok();
    app.join(&id, "late").await.assert_ok();
    take(&app, &id, "late", json!({}))
        .await
        .assert_error(429, 42900);
    app.leave(&id, &askers[1]).await.assert_ok();
    take(&app, &id, "late", json!({})).await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtc_tokens_go_to_the_anchor_and_seated_users_with_livekits_claims() {
    let (hook, received) = receiver(0).await;
    let mut s = with_webhooks(&hook);
    s.rtc_url = Some("wss://rtc.example.test".into());
    s.rtc_api_key = Some("APIseats".into());
    s.rtc_api_secret = Some("rtc-secret-for-tests".into());
    let app = spawn_app_with(s).await;
    let id = live_room(&app, None).await;
    app.join(&id, "guest").await.assert_ok();
    app.join(&id, "viewer").await.assert_ok();

    let taken = take(&app, &id, "guest", json!({})).await;
    let d = taken.assert_ok();
    assert_eq!(d["rtc_url"], "wss://rtc.example.test");
    let claims = decoded(d["rtc_token"].as_str().expect("token"));
    let now = now_secs() as i64;
    assert_eq!(claims["iss"], "APIseats");
    assert_eq!(claims["sub"], "guest");
    assert_eq!(claims["name"], "nick-guest");
    let (nbf, exp) = (
        claims["nbf"].as_i64().expect("nbf"),
        claims["exp"].as_i64().expect("exp"),
    );
    assert!((now - 60..=now + 60).contains(&nbf), "{claims}");
    assert!(exp > now && exp - nbf <= 6 * 3600, "{claims}");
    assert_eq!(
        claims["video"],
        json!({"room": id, "roomJoin": true, "canPublish": true, "canSubscribe": true})
    );

    let path = format!("/client/live/room/rtc/{id}");
    let rtc = |who: &str| {
        let (app, path, t) = (&app, path.clone(), token(who));
        async move { app.get(&path, &t).await }
    };
    let mine = rtc("anchor").await;
    assert_eq!(
        decoded(mine.assert_ok()["rtc_token"].as_str().expect("t"))["sub"],
        "anchor"
    );
    let guest = rtc("guest").await;
    assert_eq!(guest.assert_ok()["rtc_url"], "wss://rtc.example.test");
    rtc("viewer").await.assert_error(403, 40300);
    leave_seat(&app, &id, "guest").await.assert_ok();
    rtc("guest").await.assert_error(403, 40300);

    // the seat events reach the webhook receiver too
    eventually(
        Duration::from_secs(20),
        "the receiver has seat_left",
        || async {
            let bodies: Vec<Value> = accepted(&received)
                .iter()
                .filter_map(|(_, b)| serde_json::from_str(b).ok())
                .collect();
            let kinds: Vec<&str> = bodies
                .iter()
                .filter(|b| b["live_id"] == id.as_str())
                .filter_map(|b| b["type"].as_str())
                .filter(|k| k.starts_with("seat_"))
                .collect();
            (kinds == ["seat_taken", "seat_left"]).then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_rtc_settings_the_anchor_gets_empty_fields() {
    let app = spawn_app().await;
    let id = live_room(&app, None).await;
    let a = app
        .get(&format!("/client/live/room/rtc/{id}"), &token("anchor"))
        .await;
    let d = a.assert_ok();
    assert_eq!((&d["rtc_url"], &d["rtc_token"]), (&json!(""), &json!("")));
}

/// A token's claims, verified with the configured secret.
fn decoded(token: &str) -> Value {
    let mut check = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    check.validate_aud = false;
    check.set_required_spec_claims(&["exp", "nbf", "iss", "sub"]);
    jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(b"rtc-secret-for-tests"),
        &check,
    )
    .expect("the token verifies with the API secret")
    .claims
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lapsed_holder_found_by_its_own_heartbeat_or_join_loses_its_seat() {
    let mut s = test_settings();
    // a window of 1.2 s, and no sweep in the test's time: the lapse is found by the member's
    // own heartbeat or join, in the scripts that see it
    s.heartbeat_interval_ms = 400;
    s.sweep_interval_ms = 600_000;
    let app = spawn_app_with(s).await;
    let id = live_room(&app, None).await;
    let mut sse = SseClient::open(&app, &id, "anchor", None)
        .await
        .expect("the anchor watches");
    for u in ["beats", "joins"] {
        app.join(&id, u).await.assert_ok();
        take(&app, &id, u, json!({})).await.assert_ok();
    }
    eventually(Duration::from_secs(10), "both lapsed", || async {
        seats(&app, &id).await.is_empty().then_some(())
    })
    .await;
    app.heartbeat(&id, "beats").await.assert_error(409, 40901);
    app.join(&id, "joins").await.assert_ok();
    // back as a member, without the seat it held
    leave_seat(&app, &id, "joins")
        .await
        .assert_error(409, 40902);
    assert_eq!(
        take(&app, &id, "joins", json!({})).await.assert_ok()["seat"],
        1
    );
    assert_eq!(
        seat_events(&mut sse, 5).await,
        [
            "seat_taken beats 1",
            "seat_taken joins 2",
            "seat_left beats 1 lapsed",
            "seat_left joins 2 lapsed",
            "seat_taken joins 1",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seat_taken_through_a_replica_that_died_is_freed_by_another() {
    let mut s = test_settings();
    // a window of 1.2 s
    s.heartbeat_interval_ms = 400;
    let mut first = spawn_app_with(s.clone()).await;
    let other = spawn_app_with(s).await;
    let id = live_room(&first, None).await;
    first.join(&id, "guest").await.assert_ok();
    take(&first, &id, "guest", json!({})).await.assert_ok();
    assert_eq!(seats(&other, &id).await, [(1, "guest".to_owned())]);
    first.stop_app().await;
    // the guest falls silent with the replica it used; the other replica's sweep frees the seat
    let mut sse = SseClient::open(&other, &id, "anchor", Some("0-0"))
        .await
        .expect("the anchor watches");
    assert_eq!(
        seat_events(&mut sse, 2).await,
        ["seat_taken guest 1", "seat_left guest 1 lapsed"]
    );
    // and the seat is free for the next member
    other.join(&id, "next").await.assert_ok();
    let d = take(&other, &id, "next", json!({})).await;
    assert_eq!(d.assert_ok()["seat"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offline_close_and_an_admins_stop_free_the_seats_too() {
    let mut s = test_settings();
    // a window of 1.2 s; a room closes 2.5 s after its anchor's last sign of life. The seated
    // member of the closing room beats every 100 ms, and so does the anchor of the other room
    // (an admin stops it), which therefore does not close by itself
    s.heartbeat_interval_ms = 400;
    s.anchor_offline_close_ms = 2500;
    let app = spawn_app_with(s).await;
    let closing = live_room(&app, None).await;
    let stopped = live_room(&app, None).await;
    app.join(&stopped, "other").await.assert_ok();
    take(&app, &stopped, "other", json!({})).await.assert_ok();
    app.join(&closing, "stays").await.assert_ok();
    take(&app, &closing, "stays", json!({})).await.assert_ok();
    let beating = {
        let app = TestApp::client_of(&app.base, app.settings.clone());
        let (closing, stopped) = (closing.clone(), stopped.clone());
        tokio::spawn(async move {
            loop {
                app.heartbeat(&closing, "stays").await;
                app.heartbeat(&stopped, "anchor").await;
                app.heartbeat(&stopped, "other").await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let seat_and_end = |events: Vec<super::events::Sse>| -> Vec<String> {
        events
            .iter()
            .filter(|e| e.kind == "seat_left" || e.kind == "live_ended")
            .map(|e| format!("{} {}", e.kind, e.data["reason"].as_str().unwrap_or("")))
            .collect()
    };

    // an admin's stop
    let mut watching = SseClient::open(&app, &stopped, "anchor", None)
        .await
        .expect("the anchor watches");
    let admin = token_with(json!({"sub": "ops", "exp": now_secs() + 600, "admin": true}));
    app.request(
        Method::POST,
        &format!("/server/live/room/{stopped}/stop"),
        Some(&admin),
        None,
    )
    .await
    .assert_ok();
    assert_eq!(
        seat_and_end(watching.until("live_ended").await),
        ["seat_left room_ended", "live_ended admin"]
    );
    assert!(seats(&app, &stopped).await.is_empty());

    // the offline close
    let mut sse = SseClient::open(&app, &closing, "stays", Some("0-0"))
        .await
        .expect("the member watches");
    assert_eq!(
        seat_and_end(sse.until("live_ended").await),
        ["seat_left room_ended", "live_ended anchor_offline"]
    );
    beating.abort();
    assert!(seats(&app, &closing).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seat_whose_holder_lapsed_unswept_goes_to_the_next_taker() {
    let mut s = test_settings();
    // one seat, a window of 1.2 s, and no sweep in the test's time
    s.seats_per_room = 1;
    s.heartbeat_interval_ms = 400;
    s.sweep_interval_ms = 600_000;
    let app = spawn_app_with(s).await;
    let id = live_room(&app, None).await;
    let mut sse = SseClient::open(&app, &id, "anchor", None)
        .await
        .expect("the anchor watches");
    app.join(&id, "old").await.assert_ok();
    take(&app, &id, "old", json!({})).await.assert_ok();
    eventually(Duration::from_secs(10), "old lapsed", || async {
        seats(&app, &id).await.is_empty().then_some(())
    })
    .await;
    app.join(&id, "new").await.assert_ok();
    assert_eq!(
        take(&app, &id, "new", json!({})).await.assert_ok()["seat"],
        1
    );
    assert_eq!(
        seat_events(&mut sse, 3).await,
        [
            "seat_taken old 1",
            "seat_left old 1 lapsed",
            "seat_taken new 1"
        ]
    );
}
