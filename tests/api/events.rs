//! Room events: Server-Sent Events for members and the anchor, and signed webhooks delivered
//! once per attempt, in order, by any number of replicas.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use hmac::{Hmac, Mac};
use poem::{EndpointExt, handler, http::StatusCode, web::Data};
use serde_json::{Value, json};
use sha2::Sha256;

use super::helpers::*;

#[derive(Debug, Clone)]
pub struct Sse {
    pub id: String,
    pub kind: String,
    pub data: Value,
}

/// A Server-Sent Events client of one room.
pub struct SseClient {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<Vec<u8>>>,
    buf: String,
}

impl SseClient {
    pub async fn open(
        app: &TestApp,
        live_id: &str,
        user: &str,
        last_event_id: Option<&str>,
    ) -> Result<Self, Answer> {
        Self::open_with(app, live_id, &token(user), last_event_id).await
    }

    /// Opens the stream with this token.
    pub async fn open_with(
        app: &TestApp,
        live_id: &str,
        token: &str,
        last_event_id: Option<&str>,
    ) -> Result<Self, Answer> {
        let mut req = app
            .client
            .get(format!("{}/client/live/room/events/{live_id}", app.base))
            .header("Authorization", format!("Bearer {token}"))
            .timeout(Duration::from_secs(60));
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        let resp = req.send().await.expect("sent");
        if resp.status() != 200 {
            let status = resp.status();
            let headers = resp.headers().clone();
            let body = resp.json().await.unwrap_or(Value::Null);
            return Err(Answer {
                status,
                body,
                headers,
            });
        }
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        Ok(Self {
            body: resp.bytes_stream().map(|c| c.map(|b| b.to_vec())).boxed(),
            buf: String::new(),
        })
    }

    /// The next event (keep-alive comments skipped), or None when the stream ended.
    pub async fn next(&mut self) -> Option<Sse> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut kind, mut data) = (String::new(), String::new(), String::new());
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        kind = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if kind.is_empty() && data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some(Sse {
                    id,
                    kind,
                    data: serde_json::from_str(&data).unwrap_or(Value::Null),
                });
            }
            match tokio::time::timeout(Duration::from_secs(20), self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.buf.push_str(&String::from_utf8_lossy(&chunk)),
                Ok(_) => return None,
                Err(_) => panic!("no event within 20 s; have {:?}", self.buf),
            }
        }
    }

    /// Events until one of `kind` (included), skipping online_count.
    pub async fn until(&mut self, kind: &str) -> Vec<Sse> {
        let mut out = Vec::new();
        while let Some(e) = self.next().await {
            let done = e.kind == kind;
            if e.kind != "online_count" {
                out.push(e);
            }
            if done {
                return out;
            }
        }
        panic!("stream ended before {kind}: {out:?}");
    }
}

fn summary(events: &[Sse]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let mut s = e.kind.clone();
            for field in ["user_id", "reason"] {
                if let Some(v) = e.data[field].as_str() {
                    s.push_str(&format!(" {v}"));
                }
            }
            s
        })
        .collect()
}

/// Every event of the room's log, in order, as SSE replays it from the beginning.
pub async fn whole_log(app: &TestApp, live_id: &str, anchor: &str) -> Vec<Sse> {
    let mut sse = SseClient::open(app, live_id, anchor, Some("0-0"))
        .await
        .expect("open");
    let mut out = Vec::new();
    while let Some(e) = sse.next().await {
        out.push(e);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchers_see_joins_lapses_and_the_anchor_going_offline_in_order() {
    let mut s = test_settings();
    // a window of 1.2 s (the anchor beats every 100 ms until b's lapse is seen, so a loaded
    // machine's stall of a second does not make the anchor look offline first)
    s.heartbeat_interval_ms = 400;
    s.anchor_offline_close_ms = 2500;
    let app = spawn_app_with(s).await;
    let id = app.create_room("anchor", "events").await;
    app.start(&id, "anchor").await.assert_ok();
    let mut sse = SseClient::open(&app, &id, "anchor", None)
        .await
        .expect("the anchor may watch");

    let anchor_beats = async {
        loop {
            app.heartbeat(&id, "anchor").await.assert_ok();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let watched = async {
        app.join(&id, "b").await.assert_ok();
        sse.until("member_left").await
    };
    let first = tokio::select! {
        first = watched => first,
        _ = anchor_beats => unreachable!("the anchor beats until the lapse is seen"),
    };
    // the anchor is silent from here on: offline after one window, the room closed after 2.5 s
    let rest = sse.until("live_ended").await;
    let all: Vec<Sse> = first.into_iter().chain(rest).collect();
    assert_eq!(
        summary(&all),
        [
            "member_joined b",
            "member_left b lapsed",
            "anchor_offline",
            "live_ended anchor_offline"
        ]
    );
    assert!(
        sse.next().await.is_none(),
        "the stream ends after live_ended"
    );
    for e in &all {
        assert_eq!(e.data["live_id"], id.as_str());
        assert_eq!(e.data["type"], e.kind.as_str());
        assert!(e.data["at"].as_i64().unwrap() > 1_600_000_000_000);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_resumes_after_a_disconnect_without_gaps() {
    let app = spawn_app().await;
    let id = app.create_room("anchor", "resume").await;
    app.start(&id, "anchor").await.assert_ok();
    let mut sse = SseClient::open(&app, &id, "anchor", None).await.unwrap();
    app.join(&id, "u1").await.assert_ok();
    app.join(&id, "u2").await.assert_ok();
    let seen = sse.until("member_joined").await;
    let mut seen = [seen, sse.until("member_joined").await].concat();
    drop(sse); // disconnect
    app.join(&id, "u3").await.assert_ok();
    app.leave(&id, "u1").await.assert_ok();
    let extends = json!({"live_id": id, "extends": {"k": "v"}});
    app.request(
        reqwest::Method::PUT,
        "/client/live/room/extends",
        Some(&token("anchor")),
        Some(extends),
    )
    .await
    .assert_ok();
    app.stop(&id, "anchor").await.assert_ok();

    let last = seen.last().unwrap().id.clone();
    let mut resumed = SseClient::open(&app, &id, "anchor", Some(&last))
        .await
        .unwrap();
    while let Some(e) = resumed.next().await {
        seen.push(e);
    }
    // what the two sessions saw is the log after the moment of the first connect, exactly
    let log = whole_log(&app, &id, "anchor").await;
    let from = log
        .iter()
        .position(|e| e.id == seen[0].id)
        .expect("first seen is in the log");
    let expected: Vec<&str> = log[from..].iter().map(|e| e.id.as_str()).collect();
    let got: Vec<&str> = seen.iter().map(|e| e.id.as_str()).collect();
    // the first session skipped online_count events; the log has them
    let expected_no_counts: Vec<&str> = log[from..]
        .iter()
        .zip(expected.iter())
        .filter(|(e, _)| e.kind != "online_count" || got.contains(&e.id.as_str()))
        .map(|(_, id)| *id)
        .collect();
    assert_eq!(got, expected_no_counts);
    assert_eq!(
        summary(&seen[2..])
            .into_iter()
            .filter(|s| !s.starts_with("online_count"))
            .collect::<Vec<_>>(),
        [
            "member_joined u3",
            "member_left u1 left",
            "extends_updated",
            // live_ended stands for every member leaving (CONTRACT section 11)
            "live_ended stopped",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_members_and_the_anchor_may_watch() {
    let app = spawn_app().await;
    let id = app.create_room("anchor", "private").await;
    let stranger = SseClient::open(&app, &id, "stranger", None)
        .await
        .err()
        .expect("refused");
    stranger.assert_error(409, 40901);
    app.join(&id, "member").await.assert_ok();
    assert!(SseClient::open(&app, &id, "member", None).await.is_ok());
    let missing = SseClient::open(
        &app,
        "live_0192f0c1a2b34c5d8e9f0a1b2c3d4e5f",
        "anchor",
        None,
    )
    .await;
    missing.err().expect("404").assert_error(404, 40400);
    let bad = SseClient::open(&app, &id, "anchor", Some("yesterday")).await;
    bad.err().expect("400").assert_error(400, 40000);
    let resp = app
        .client
        .get(format!("{}/client/live/room/events/{id}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
}

/// A webhook receiver on loopback that refuses its first `fail_first` requests.
#[derive(Default)]
pub struct Received {
    pub requests: Vec<(String, String)>, // (signature header, body)
    /// When each accepted request arrived.
    pub arrived: Vec<std::time::Instant>,
    pub refused: usize,
    pub fail_first: usize,
}

pub async fn receiver(fail_first: usize) -> (String, Arc<Mutex<Received>>) {
    #[handler]
    async fn hook(
        req: &poem::Request,
        body: String,
        state: Data<&Arc<Mutex<Received>>>,
    ) -> StatusCode {
        let sig = req
            .headers()
            .get("x-liveroom-signature")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let mut r = state.0.lock().unwrap();
        if r.refused < r.fail_first {
            r.refused += 1;
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
        r.requests.push((sig, body));
        r.arrived.push(std::time::Instant::now());
        StatusCode::NO_CONTENT
    }
    let shared = Arc::new(Mutex::new(Received {
        fail_first,
        ..Received::default()
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).unwrap();
    let app = poem::Route::new()
        .at("/hook", poem::post(hook))
        .data(shared.clone());
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
    (format!("http://127.0.0.1:{port}/hook"), shared)
}

/// What the receiver has accepted so far (a copy: no lock is held across an await).
pub fn accepted(received: &Arc<Mutex<Received>>) -> Vec<(String, String)> {
    received.lock().unwrap().requests.clone()
}

pub fn with_webhooks(url: &str) -> liveroom::config::Settings {
    let mut s = test_settings();
    s.webhook_url = Some(url.to_owned());
    s.webhook_secret = Some("hook-secret".into());
    s
}

pub fn valid_signature(header: &str, body: &str) -> bool {
    let Some((t, v1)) = header.split_once(",v1=") else {
        return false;
    };
    let Some(t) = t.strip_prefix("t=") else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(b"hook-secret").unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes()) == v1
}

/// Runs a room through its life; answers its id once the receiver has its live_ended.
async fn a_room_lifetime(app: &TestApp, received: &Arc<Mutex<Received>>) -> String {
    let id = app.create_room("anchor", "hooks").await;
    app.start(&id, "anchor").await.assert_ok();
    app.join(&id, "u1").await.assert_ok();
    app.join(&id, "u2").await.assert_ok();
    app.leave(&id, "u1").await.assert_ok();
    app.stop(&id, "anchor").await.assert_ok();
    eventually(
        Duration::from_secs(20),
        "the receiver has live_ended",
        || async {
            accepted(received)
                .iter()
                .any(|(_, b)| b.contains("live_ended") && b.contains(&id))
                .then_some(())
        },
    )
    .await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_arrive_in_order_signed_despite_failures() {
    let (url, received) = receiver(2).await;
    let app = spawn_app_with(with_webhooks(&url)).await;
    let id = a_room_lifetime(&app, &received).await;
    let log = whole_log(&app, &id, "anchor").await;
    assert_eq!(received.lock().unwrap().refused, 2);
    let mut seen: Vec<String> = Vec::new();
    for (sig, body) in &accepted(&received) {
        assert!(valid_signature(sig, body), "bad signature {sig} for {body}");
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["live_id"], id.as_str());
        let event_id = v["event_id"].as_str().unwrap().to_owned();
        if !seen.contains(&event_id) {
            seen.push(event_id);
        }
    }
    let expected: Vec<String> = log.iter().map(|e| format!("{id}-{}", e.id)).collect();
    assert_eq!(
        seen, expected,
        "every event once after deduplication, in log order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_deliver_each_event_once() {
    let (url, received) = receiver(0).await;
    let one = spawn_app_with(with_webhooks(&url)).await;
    let mut s = one.settings.clone();
    s.bind = "127.0.0.1:0".parse().unwrap();
    let two = spawn_app_with(s).await;
    let id = a_room_lifetime(&one, &received).await;
    // more activity through the second replica
    let other = two.create_room("anchor-2", "hooks 2").await;
    two.start(&other, "anchor-2").await.assert_ok();
    two.join(&other, "u9").await.assert_ok();
    two.stop(&other, "anchor-2").await.assert_ok();
    eventually(
        Duration::from_secs(20),
        "the second room's live_ended",
        || async {
            accepted(&received)
                .iter()
                .any(|(_, b)| b.contains("live_ended") && b.contains(&other))
                .then_some(())
        },
    )
    .await;
    let ids: Vec<String> = accepted(&received)
        .iter()
        .map(|(_, b)| {
            serde_json::from_str::<Value>(b).unwrap()["event_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        ids.len(),
        unique.len(),
        "a receiver that always accepts gets each event once"
    );
    for room in [&id, &other] {
        let log = whole_log(&one, room, if room == &id { "anchor" } else { "anchor-2" }).await;
        let expected: Vec<String> = log.iter().map(|e| format!("{room}-{}", e.id)).collect();
        let got: Vec<String> = ids
            .iter()
            .filter(|e| e.starts_with(room.as_str()))
            .cloned()
            .collect();
        assert_eq!(got, expected, "{room}: in log order");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extends_updated_carries_small_extends_and_announces_large_ones() {
    let app = spawn_app().await;
    let id = app.create_room("anchor", "extends events").await;
    let mut sse = SseClient::open(&app, &id, "anchor", None).await.unwrap();
    let anchor = token("anchor");
    let put = |extends: Value| {
        app.request(
            reqwest::Method::PUT,
            "/client/live/room/extends",
            Some(&anchor),
            Some(json!({"live_id": id, "extends": extends})),
        )
    };
    put(json!({"pinned": "sku-1"})).await.assert_ok();
    let small = sse.until("extends_updated").await;
    let small = &small.last().expect("event").data;
    assert_eq!(small["extends"], json!({"pinned": "sku-1"}));
    assert!(small.get("extends_bytes").is_none(), "{small}");

    let large: serde_json::Map<String, Value> = (0..8)
        .map(|i| (format!("part{i}"), json!("x".repeat(500))))
        .collect();
    let large = Value::Object(large);
    put(large.clone()).await.assert_ok();
    let announced = sse.until("extends_updated").await;
    let announced = &announced.last().expect("event").data;
    assert!(announced.get("extends").is_none(), "{announced}");
    let bytes = announced["extends_bytes"].as_u64().expect("extends_bytes");
    assert!((4000..4100).contains(&bytes), "{bytes}");
    // the room itself has them
    let info = app.info(&id, "anchor").await;
    assert_eq!(info.assert_ok()["extends"], large);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_last_event_id_from_the_future_is_refused() {
    let app = spawn_app().await;
    let id = app.create_room("anchor", "future").await;
    app.start(&id, "anchor").await.assert_ok();
    let year_ms = 365 * 86_400 * 1000;
    let ahead = format!("{}-0", now_secs() * 1000 + year_ms);
    for future in [
        ahead.as_str(),
        "18446744073709551615-0",
        "99999999999999999999-0",
    ] {
        let refused = SseClient::open(&app, &id, "anchor", Some(future))
            .await
            .err()
            .expect("refused");
        refused.assert_error(400, 40000);
        let message = refused.body["message"].as_str().unwrap_or("");
        assert!(message.contains("Last-Event-ID"), "{message}");
    }
    // an id the stream sent resumes as before
    let mut sse = SseClient::open(&app, &id, "anchor", None).await.unwrap();
    app.join(&id, "u1").await.assert_ok();
    let seen = sse.until("member_joined").await;
    drop(sse);
    app.join(&id, "u2").await.assert_ok();
    let last = seen.last().unwrap().id.clone();
    let mut resumed = SseClient::open(&app, &id, "anchor", Some(&last))
        .await
        .unwrap();
    let after = resumed.until("member_joined").await;
    assert_eq!(after.last().unwrap().data["user_id"], "u2");
}
