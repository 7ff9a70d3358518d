//! Events at scale (CONTRACT section 11): shared watching (Redis connections grow with rooms
//! watched, not watchers), the stream caps, streams that end and say why, webhooks that lose
//! nothing while the receiver is down, hot rooms without per-member events, and a deleted
//! room's log gone within 60 s.

use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::join_all;
use serde_json::{Value, json};

use super::events::{
    Sse, SseClient, accepted, receiver, valid_signature, whole_log, with_webhooks,
};
use super::helpers::*;

/// Watchers of one room in the crowd test.
const WATCHERS: usize = 2000;

/// Clients connected to a Redis of the test's own, over every node (`CLIENT LIST`, less the
/// redis-cli asking).
async fn clients(redis: &PrivateRedis) -> usize {
    let mut clients = 0;
    for node in &redis.nodes {
        let list = node.cli(&["CLIENT", "LIST"]).await.unwrap_or_default();
        clients += list
            .lines()
            .filter(|l| l.contains("addr=") && !l.contains("cmd=client"))
            .count();
    }
    clients
}

/// An event stream on a plain TCP connection, once its answer's head arrived (200).
async fn raw_stream(app: &TestApp, live_id: &str, user: &str) -> tokio::net::TcpStream {
    raw_stream_with(app, live_id, user, None).await
}

/// `raw_stream` on a socket whose receive buffer is `recv_buffer` bytes: a watcher that does
/// not read fills it (and the server's send buffer behind it) after a few events.
async fn raw_stream_with(
    app: &TestApp,
    live_id: &str,
    user: &str,
    recv_buffer: Option<u32>,
) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://").to_owned();
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    if let Some(bytes) = recv_buffer {
        socket.set_recv_buffer_size(bytes).expect("SO_RCVBUF");
    }
    let mut conn = socket
        .connect(addr.parse().expect("address"))
        .await
        .expect("connect");
    let request = format!(
        "GET /client/live/room/events/{live_id} HTTP/1.1\r\nHost: {addr}\r\n\
         Authorization: Bearer {}\r\nAccept: text/event-stream\r\n\r\n",
        token(user)
    );
    conn.write_all(request.as_bytes()).await.expect("write");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = conn.read(&mut byte).await.expect("read");
        assert!(n > 0, "closed before the answer's head");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    conn
}

/// Every event of the stream until it ends.
async fn drain(mut sse: SseClient) -> Vec<Sse> {
    let mut out = Vec::new();
    while let Some(e) = sse.next().await {
        out.push(e);
    }
    out
}

// 2 000 watchers run in well under a minute on the 2-core CI machine (debug build).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_watchers_share_one_reader_and_get_every_event_in_order() {
    let (redis, mut s) = PrivateRedis::start();
    s.sse_per_user = 0; // one user holds every stream here; the cap has its own test
    let app = spawn_app_with(s).await;
    let id = app.create_room("anchor", "crowd").await;
    app.start(&id, "anchor").await.assert_ok();
    let before = clients(&redis).await;

    let mut watchers = Vec::with_capacity(WATCHERS);
    for _ in 0..WATCHERS / 100 {
        let opened = join_all((0..100).map(|_| SseClient::open(&app, &id, "anchor", None))).await;
        for sse in opened {
            watchers.push(sse.unwrap_or_else(|e| panic!("open: {:?}", e.body)));
        }
    }
    let during = clients(&redis).await;
    eprintln!("redis clients: {before} before the watchers, {during} with {WATCHERS} watchers");
    assert!(
        during <= before + 4,
        "{WATCHERS} watchers of one room use a handful of Redis connections: {before} -> {during}"
    );
    assert_eq!(
        app.metric("liveroom_sse_streams").await,
        Some(WATCHERS as u64)
    );
    assert_eq!(app.metric("liveroom_sse_rooms_read").await, Some(1));

    for i in 0..20 {
        app.join(&id, &format!("j{i}")).await.assert_ok();
    }
    app.stop(&id, "anchor").await.assert_ok();
    let seen = join_all(watchers.into_iter().map(drain)).await;

    let log = whole_log(&app, &id, "anchor").await;
    let first = &seen[0];
    let from = log
        .iter()
        .position(|e| e.id == first[0].id)
        .expect("in the log");
    let expected: Vec<&str> = log[from..].iter().map(|e| e.id.as_str()).collect();
    for got in &seen {
        let ids: Vec<&str> = got.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids, expected,
            "every watcher gets every event, in log order"
        );
    }
    let joined: Vec<String> = first
        .iter()
        .filter(|e| e.kind == "member_joined")
        .map(|e| e.data["user_id"].as_str().unwrap_or("").to_owned())
        .collect();
    let names: Vec<String> = (0..20).map(|i| format!("j{i}")).collect();
    assert_eq!(joined, names);
    assert_eq!(first.last().map(|e| e.kind.as_str()), Some("live_ended"));

    // the last watcher gone, the reader stops and the slots are free
    eventually(
        Duration::from_secs(20),
        "the room's reader stops",
        || async {
            (app.metric("liveroom_sse_rooms_read").await == Some(0)
                && app.metric("liveroom_sse_streams").await == Some(0)
                && clients(&redis).await <= before)
                .then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fifth_stream_of_one_user_is_429_and_a_closed_one_frees_its_slot() {
    let app = spawn_app().await; // LIVEROOM_SSE_PER_USER defaults to 4
    let id = app.create_room("anchor", "caps").await;
    app.join(&id, "fan").await.assert_ok();
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(SseClient::open(&app, &id, "fan", None).await.expect("open"));
    }
    // the fourth on a socket of its own, which the test closes as a browser would (reqwest
    // keeps a dropped body's connection until the server next writes)
    let raw = raw_stream(&app, &id, "fan").await;
    let fifth = SseClient::open(&app, &id, "fan", None)
        .await
        .err()
        .expect("the fifth is refused");
    fifth.assert_error(429, 42900);
    assert!(
        fifth.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("LIVEROOM_SSE_PER_USER")),
        "{:?}",
        fifth.body
    );
    let retry: u64 = fifth.headers["retry-after"]
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!(retry >= 1);
    // another user is not affected
    let _anchor = SseClient::open(&app, &id, "anchor", None)
        .await
        .expect("the anchor's own streams");

    // a client that goes away frees its slot at once, not when its slot lapses (180 s)
    drop(raw);
    let again = eventually(
        Duration::from_secs(5),
        "a slot freed by a closed stream",
        || async { SseClient::open(&app, &id, "fan", None).await.ok() },
    )
    .await;
    drop(again);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ends_with_the_reason_after_leave_and_at_the_tokens_exp() {
    let app = spawn_app().await;
    let id = app.create_room("anchor", "ends").await;
    app.join(&id, "fan").await.assert_ok();
    let mut sse = SseClient::open(&app, &id, "fan", None).await.expect("open");
    app.leave(&id, "fan").await.assert_ok();
    let events = sse.until("member_left").await;
    assert_eq!(events.last().unwrap().data["user_id"], "fan");
    let last = sse.next().await.expect("a final event");
    assert_eq!(last.kind, "stream_ended");
    assert_eq!(last.data["reason"], "left");
    assert_eq!(last.data["live_id"], id.as_str());
    assert!(
        last.id.is_empty(),
        "the final event has no id: a resume misses nothing"
    );
    assert!(sse.next().await.is_none(), "and the stream is over");

    // a token that expires in 2 s: the stream ends then, though the member is still present
    app.join(&id, "short").await.assert_ok();
    let short = token_with(json!({"sub": "short", "exp": now_secs() + 2}));
    let mut sse = SseClient::open_with(&app, &id, &short, None)
        .await
        .expect("open");
    let beats = async {
        for _ in 0..10 {
            app.heartbeat(&id, "short").await.assert_ok();
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    };
    let ended = async {
        loop {
            match sse.next().await {
                Some(e) if e.kind == "stream_ended" => return e,
                Some(_) => continue,
                None => panic!("ended without saying why"),
            }
        }
    };
    let (_, ended) = tokio::join!(beats, ended);
    assert_eq!(ended.data["reason"], "token_expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_lose_nothing_while_the_receiver_is_down() {
    // five times the old MAXLEN ~1000 of the log, all while the receiver refuses
    const EVENTS: usize = 5000;
    let (url, received) = receiver(usize::MAX).await;
    let app = spawn_app_with(with_webhooks(&url)).await;
    let id = app.create_room("anchor", "down").await;
    for n in 0..EVENTS {
        let body = json!({"live_id": id, "extends": {"n": n.to_string()}});
        app.request(
            reqwest::Method::PUT,
            "/client/live/room/extends",
            Some(&token("anchor")),
            Some(body),
        )
        .await
        .assert_ok();
    }
    assert!(
        received.lock().unwrap().refused > 0,
        "the receiver was down"
    );
    assert!(accepted(&received).is_empty());
    received.lock().unwrap().fail_first = 0; // the receiver is back

    let updates = eventually(
        Duration::from_secs(120),
        "every extends_updated delivered",
        || async {
            let mut ids = std::collections::HashSet::new();
            let mut ns: Vec<String> = Vec::new();
            for (sig, body) in accepted(&received) {
                let v: Value = serde_json::from_str(&body).unwrap();
                let event_id = v["event_id"].as_str().unwrap_or("").to_owned();
                // at-least-once: a redelivery is the same event_id
                if v["type"] != "extends_updated" || !ids.insert(event_id) {
                    continue;
                }
                assert!(valid_signature(&sig, &body), "signed: {body}");
                ns.push(v["extends"]["n"].as_str().unwrap_or("").to_owned());
            }
            (ns.len() >= EVENTS).then_some(ns)
        },
    )
    .await;
    let expected: Vec<String> = (0..EVENTS).map(|n| n.to_string()).collect();
    assert_eq!(updates, expected, "all of them, in order");
}

/// The events a batched webhook POST carries (`{"events": [...]}`), or the one a single POST is.
fn events_of(body: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    match v.get("events").and_then(Value::as_array) {
        Some(events) => events.clone(),
        None => vec![v],
    }
}

/// A metric line's value as a number (gauges may have a fraction).
async fn metric_f64(app: &TestApp, name: &str) -> Option<f64> {
    let text = reqwest::get(format!("{}/metrics", app.base))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_10_000_events_goes_in_signed_batches_in_order_per_room() {
    const ROOMS: usize = 100;
    const PER_ROOM: usize = 100;
    const BATCH: usize = 100;
    // the receiver is down while the burst is written, so the whole burst waits at once
    let (url, received) = receiver(usize::MAX).await;
    let mut s = with_webhooks(&url);
    s.webhook_batch_max = BATCH as u64;
    // the burst of joins shares a loaded machine with the other tests: a slow call is not the
    // point here
    s.redis_timeout_ms = 10_000;
    // no lapses while the burst waits: every event is written before the receiver is back, so
    // what the POSTs carry does not hang on how fast the machine is
    s.heartbeat_interval_ms = 120_000;
    let app = spawn_app_with(s).await;
    let mut rooms = Vec::new();
    for r in 0..ROOMS {
        rooms.push(app.create_room(&format!("anchor-{r}"), "burst").await);
    }
    // 10 000 member_joined, written by joins 16 at a time
    let joins: Vec<(String, String)> = (0..ROOMS * PER_ROOM)
        .map(|n| (rooms[n % ROOMS].clone(), format!("viewer-{n}")))
        .collect();
    let app_ref = &app;
    futures_util::stream::iter(joins.iter())
        .map(|(room, user)| async move {
            app_ref.join(room, user).await.assert_ok();
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    let waiting = eventually(
        Duration::from_secs(30),
        "the backlog gauges show the burst waiting",
        || async {
            let events = app.metric("liveroom_webhook_backlog_events").await?;
            let rooms = app.metric("liveroom_webhook_backlog_rooms").await?;
            let oldest = metric_f64(&app, "liveroom_webhook_backlog_oldest_seconds").await?;
            (events > 0 && rooms > 0 && oldest > 0.0).then_some((events, rooms, oldest))
        },
    )
    .await;
    assert!(accepted(&received).is_empty(), "the receiver was down");
    received.lock().unwrap().fail_first = 0; // the receiver is back

    let delivered = eventually(
        Duration::from_secs(120),
        "every member_joined delivered",
        || async {
            let joined = accepted(&received)
                .iter()
                .flat_map(|(_, body)| events_of(body))
                .filter(|e| e["type"] == "member_joined")
                .map(|e| e["event_id"].as_str().unwrap_or("").to_owned())
                .collect::<std::collections::HashSet<_>>()
                .len();
            (joined >= ROOMS * PER_ROOM).then_some(joined)
        },
    )
    .await;
    assert_eq!(delivered, ROOMS * PER_ROOM);
    eventually(
        Duration::from_secs(30),
        "the backlog gauges drained to 0",
        || async {
            let events = app.metric("liveroom_webhook_backlog_events").await?;
            let rooms = app.metric("liveroom_webhook_backlog_rooms").await?;
            let oldest = metric_f64(&app, "liveroom_webhook_backlog_oldest_seconds").await?;
            (events == 0 && rooms == 0 && oldest == 0.0).then_some(())
        },
    )
    .await;

    let posts = accepted(&received);
    let mut last_of_room: std::collections::HashMap<String, (u64, u64)> = Default::default();
    let mut seen = std::collections::HashSet::new();
    let mut events = 0;
    for (sig, body) in &posts {
        assert!(valid_signature(sig, body), "every POST signed");
        let batch = events_of(body);
        assert!(
            (1..=BATCH).contains(&batch.len()),
            "a POST carries 1 to {BATCH} events, not {}",
            batch.len()
        );
        for e in batch {
            let event_id = e["event_id"].as_str().expect("event_id").to_owned();
            if !seen.insert(event_id.clone()) {
                continue; // at-least-once: a redelivery repeats an event already seen
            }
            events += 1;
            let (room, position) = event_id.split_once('-').expect("{live_id}-{stream id}");
            let (ms, n) = position.split_once('-').expect("stream id");
            let at = (ms.parse::<u64>().unwrap(), n.parse::<u64>().unwrap());
            if let Some(before) = last_of_room.insert(room.to_owned(), at) {
                assert!(
                    before < at,
                    "{room}: {before:?} then {at:?}, out of log order"
                );
            }
        }
    }
    // batched: a room's events go in units of up to BATCH, packed together; one event a POST
    // would be `events` POSTs
    assert!(
        posts.len() * 10 <= events,
        "{} POSTs for {events} events in batches of {BATCH}",
        posts.len()
    );
    let arrived = received.lock().unwrap().arrived.clone();
    let took = arrived
        .last()
        .zip(arrived.first())
        .map(|(last, first)| last.duration_since(*first));
    // a figure for the report, not an assertion
    eprintln!(
        "webhook burst: {events} events in {} POSTs (batch {BATCH}); waiting at the peak: \
         {} events read, {} rooms, oldest {:.1} s; first to last POST {took:?}",
        posts.len(),
        waiting.0,
        waiting.1,
        waiting.2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_above_the_member_event_threshold_sends_online_count_instead() {
    let mut s = test_settings();
    s.member_events_max = 2;
    let app = spawn_app_with(s).await;
    let id = app.create_room("anchor", "hot").await;
    app.start(&id, "anchor").await.assert_ok();
    let mut sse = SseClient::open(&app, &id, "anchor", None)
        .await
        .expect("open");
    for user in ["a", "b", "c", "d"] {
        app.join(&id, user).await.assert_ok();
    }
    let mut seen = Vec::new();
    loop {
        let e = sse.next().await.expect("events");
        let four = e.kind == "online_count" && e.data["online_count"] == 4;
        seen.push(e);
        if four {
            break;
        }
    }
    app.leave(&id, "d").await.assert_ok();
    app.stop(&id, "anchor").await.assert_ok();
    seen.extend(sse.until("live_ended").await);
    let members: Vec<String> = seen
        .iter()
        .filter(|e| e.kind.starts_with("member_"))
        .map(|e| format!("{} {}", e.kind, e.data["user_id"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        members,
        ["member_joined a", "member_joined b"],
        "no per-member events above 2 members"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_rooms_log_goes_within_60_s_without_webhooks() {
    let app = spawn_app().await;
    let id = app.create_room("anchor", "gone").await;
    app.start(&id, "anchor").await.assert_ok();
    app.delete(&id, "anchor").await.assert_ok();
    let key = app.key(&format!("room:{{{id}}}:events"));
    let pttl = shared_redis()
        .cli(&["PTTL", &key])
        .await
        .unwrap_or_default();
    let ms: i64 = pttl
        .trim()
        .trim_start_matches("(integer) ")
        .parse()
        .unwrap_or(-10);
    assert!(
        ms > 0 && ms <= 60_000,
        "PTTL of the deleted room's log: {pttl}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_events_past_the_max_age_are_dropped_and_counted() {
    let (url, received) = receiver(usize::MAX).await;
    let mut s = with_webhooks(&url);
    s.webhook_max_age_secs = 1;
    let app = spawn_app_with(s).await;
    let id = app.create_room("anchor", "old").await;
    app.start(&id, "anchor").await.assert_ok(); // live_started, anchor_online
    eventually(
        Duration::from_secs(30),
        "events past the max age dropped while the receiver is down",
        || async { (app.metric("liveroom_webhook_dropped_total").await >= Some(2)).then_some(()) },
    )
    .await;
    received.lock().unwrap().fail_first = 0;
    app.stop(&id, "anchor").await.assert_ok();
    eventually(Duration::from_secs(30), "live_ended delivered", || async {
        accepted(&received)
            .iter()
            .any(|(_, b)| b.contains("live_ended"))
            .then_some(())
    })
    .await;
    assert!(
        !accepted(&received)
            .iter()
            .any(|(_, b)| b.contains("live_started")),
        "the dropped events are not delivered late"
    );
}

/// Takes the HTTP/1.1 chunked framing off `raw` (complete chunks only).
fn dechunk(raw: &[u8]) -> String {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(eol) = raw[at..].windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&raw[at..at + eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .unwrap_or(0);
        let start = at + eol + 2;
        if size == 0 || start + size + 2 > raw.len() {
            break;
        }
        out.extend_from_slice(&raw[start..start + size]);
        at = start + size + 2;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_that_stops_reading_is_cut_off_and_resumes_without_a_gap() {
    use tokio::io::AsyncReadExt;
    // a small fan-out buffer, a small receive window, and events big enough to fill the
    // sockets' buffers quickly (extends of 30 KB ride along in extends_updated here)
    const UPDATES: usize = 600;
    let mut s = test_settings();
    s.sse_buffer = 16;
    s.event_extends_max_bytes = 64 * 1024;
    let app = spawn_app_with(s).await;
    let id = app.create_room("anchor", "slow").await;
    app.start(&id, "anchor").await.assert_ok();
    // read nothing for now
    let mut raw = raw_stream_with(&app, &id, "anchor", Some(2048)).await;
    let big: serde_json::Map<String, Value> = (0..30)
        .map(|i| (format!("k{i}"), Value::from("x".repeat(1000))))
        .collect();
    for n in 0..UPDATES {
        let mut extends = big.clone();
        extends.insert("n".into(), Value::from(n.to_string()));
        let body = json!({"live_id": id, "extends": extends});
        app.request(
            reqwest::Method::PUT,
            "/client/live/room/extends",
            Some(&token("anchor")),
            Some(body),
        )
        .await
        .assert_ok();
    }
    app.stop(&id, "anchor").await.assert_ok();

    // now read what the slow watcher got: some events, then the cut-off
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let text = loop {
        let Ok(read) = tokio::time::timeout(Duration::from_secs(20), raw.read(&mut buf)).await
        else {
            let text = dechunk(&bytes);
            panic!(
                "the stream stalled before its cut-off after {} bytes: …{}",
                bytes.len(),
                &text[text.len().saturating_sub(600)..]
            );
        };
        let n = read.expect("read");
        assert!(n > 0, "the stream closed without a final event");
        bytes.extend_from_slice(&buf[..n]);
        let text = dechunk(&bytes);
        if text.contains("event: stream_ended") {
            break text;
        }
    };
    let mut first: Vec<(String, String)> = Vec::new(); // (id, kind)
    let mut ended = Value::Null;
    for frame in text.split("\n\n") {
        let (mut fid, mut kind, mut data) = (String::new(), String::new(), String::new());
        for line in frame.lines() {
            if let Some(v) = line.strip_prefix("id:") {
                fid = v.trim().to_owned();
            } else if let Some(v) = line.strip_prefix("event:") {
                kind = v.trim().to_owned();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim());
            }
        }
        if kind == "stream_ended" {
            ended = serde_json::from_str(&data).unwrap_or_default();
        } else if !kind.is_empty() {
            first.push((fid, kind));
        }
    }
    assert_eq!(ended["reason"], "lagged", "{ended}");
    assert!(
        first.len() < UPDATES,
        "cut off before the end: {}",
        first.len()
    );
    let last = first.last().expect("some events before the cut").0.clone();

    // resuming with Last-Event-ID gets the rest, without a gap
    let mut resumed = SseClient::open(&app, &id, "anchor", Some(&last))
        .await
        .expect("resume");
    let mut rest = Vec::new();
    while let Some(e) = resumed.next().await {
        rest.push(e.id);
    }
    let log = whole_log(&app, &id, "anchor").await;
    let from = log
        .iter()
        .position(|e| e.id == first[0].0)
        .expect("in the log");
    let expected: Vec<&str> = log[from..].iter().map(|e| e.id.as_str()).collect();
    let got: Vec<&str> = first
        .iter()
        .map(|(i, _)| i.as_str())
        .chain(rest.iter().map(String::as_str))
        .collect();
    assert_eq!(got, expected);
}
