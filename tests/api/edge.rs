//! The HTTP edge under abuse: the listener's timeouts and connection cap, bounded `/metrics`,
//! token lifetime, refusals in the envelope, and the input rules of CONTRACT section 8.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::helpers::*;

/// Bounds every wait on a raw connection, so that a server that never answers fails the test.
const PATIENCE: Duration = Duration::from_secs(15);

async fn connect(app: &TestApp) -> TcpStream {
    let addr = app.base.trim_start_matches("http://");
    TcpStream::connect(addr).await.expect("connect")
}

/// A response as read off a raw connection.
#[derive(Debug)]
struct Raw {
    status: u16,
    head: String,
    body: Value,
}

impl Raw {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }

    #[track_caller]
    fn assert_envelope(&self, status: u16, code: i64) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.body["code"], code, "{self:?}");
        assert!(self.body["message"].as_str().is_some_and(|m| !m.is_empty()));
        let id = self.body["request_id"].as_str().expect("request_id");
        assert_eq!(self.header("x-request-id").as_deref(), Some(id), "{self:?}");
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json"))
        );
    }
}

/// Reads one response (headers, then a Content-Length body) off `stream`.
async fn read_response(stream: &mut TcpStream) -> Raw {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut chunk))
            .await
            .expect("a response in time")
            .expect("read");
        assert!(
            n > 0,
            "closed before a response: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut chunk))
            .await
            .expect("a body in time")
            .expect("read");
        assert!(n > 0, "closed inside the body");
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = serde_json::from_slice(&buf[head_end..head_end + length]).unwrap_or(Value::Null);
    Raw { status, head, body }
}

/// Waits for the server to close `stream` (end of stream or reset), failing after PATIENCE.
async fn closed(stream: &mut TcpStream) {
    let mut chunk = [0u8; 1024];
    loop {
        match tokio::time::timeout(PATIENCE, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(_)) => continue,
            Err(_) => panic!("the server kept the connection open"),
        }
    }
}

async fn healthz(stream: &mut TcpStream) -> Raw {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .expect("write");
    read_response(stream).await
}

fn short(header_ms: u64, body_ms: u64, idle_ms: u64) -> liveroom::config::Settings {
    let mut s = test_settings();
    s.header_timeout_ms = header_ms;
    s.body_timeout_ms = body_ms;
    s.idle_timeout_ms = idle_ms;
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_no_request_or_half_a_head_is_closed_after_the_header_timeout() {
    let app = spawn_app_with(short(200, 60_000, 60_000)).await;
    let mut silent = connect(&app).await;
    let mut slow = connect(&app).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        .await
        .expect("write");
    closed(&mut silent).await;
    closed(&mut slow).await;
    // a request sent in time is answered
    let mut prompt = connect(&app).await;
    assert_eq!(healthz(&mut prompt).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_idle_after_its_answer_is_closed_after_the_idle_timeout() {
    let app = spawn_app_with(short(60_000, 60_000, 200)).await;
    let mut c = connect(&app).await;
    assert_eq!(healthz(&mut c).await.status, 200);
    assert_eq!(healthz(&mut c).await.status, 200, "keep-alive serves again");
    closed(&mut c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_alive_connection_waits_for_the_idle_timeout_not_the_header_timeout() {
    // hyper's own head timer would start at the end of each answer and close the connection
    // after the header timeout; the wait for the next request is the idle timeout's
    let app = spawn_app_with(short(200, 60_000, 60_000)).await;
    let mut c = connect(&app).await;
    assert_eq!(healthz(&mut c).await.status, 200);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        healthz(&mut c).await.status,
        200,
        "still open after 5 header timeouts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_answered_in_order_and_then_the_connection_idles_out() {
    let app = spawn_app_with(short(60_000, 60_000, 200)).await;
    let mut c = connect(&app).await;
    let token = token("u");
    let request = format!(
        "GET /client/live/room/info/live_nope HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\nX-Request-Id: first\r\n\r\n\
         GET /healthz HTTP/1.1\r\nHost: t\r\nX-Request-Id: second\r\n\r\n"
    );
    c.write_all(request.as_bytes()).await.expect("write");
    // both answers, then the end of the stream when the connection idles out
    let mut all = Vec::new();
    tokio::time::timeout(PATIENCE, c.read_to_end(&mut all))
        .await
        .expect("closed in time")
        .expect("read");
    let all = String::from_utf8_lossy(&all).to_ascii_lowercase();
    let first = all.find("http/1.1 404").expect("the first answer");
    let second = all.find("http/1.1 200").expect("the second answer");
    assert!(first < second, "{all}");
    assert!(
        all[first..second].contains(r#""request_id":"first""#),
        "{all}"
    );
    assert!(all[second..].contains("x-request-id: second"), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_cut_after_the_body_timeout() {
    let app = spawn_app_with(short(60_000, 200, 60_000)).await;
    for request in [
        // a Content-Length never met
        "POST /client/live/room/instance HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"title\"",
        // a chunked body that stops
        "POST /client/live/room/instance HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"tit\r\n",
    ] {
        let mut c = connect(&app).await;
        c.write_all(request.as_bytes()).await.expect("write");
        let r = read_response(&mut c).await;
        r.assert_envelope(408, 40800);
        closed(&mut c).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_stream_is_not_idle() {
    let app = spawn_app_with(short(60_000, 60_000, 200)).await;
    let live_id = app.create_room("anchor", "t").await;
    let mut body = open_events(&app, &live_id, "anchor").await.bytes_stream();
    // longer than the idle timeout with nothing sent either way: a plain connection would be
    // closed by now (the test above); the stream must still deliver
    tokio::time::sleep(Duration::from_millis(1000)).await;
    app.start(&live_id, "anchor").await.assert_ok();
    let mut seen = String::new();
    while !seen.contains("live_started") {
        read_more(&mut body, &mut seen, "live_started").await;
    }
}

/// Opens the room's event stream as `user` (200), for a test that reads its bytes.
async fn open_events(app: &TestApp, live_id: &str, user: &str) -> reqwest::Response {
    let resp = app
        .client
        .get(format!("{}/client/live/room/events/{live_id}", app.base))
        .header("Authorization", format!("Bearer {}", token(user)))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 200);
    resp
}

/// Reads the next chunk of an event stream into `seen`; the stream ending or going quiet for
/// `PATIENCE` before `what` fails the test.
async fn read_more<B: AsRef<[u8]> + std::fmt::Debug>(
    body: &mut (impl futures_util::Stream<Item = reqwest::Result<B>> + Unpin),
    seen: &mut String,
    what: &str,
) {
    match tokio::time::timeout(PATIENCE, body.next()).await {
        Ok(Some(Ok(chunk))) => seen.push_str(&String::from_utf8_lossy(chunk.as_ref())),
        other => panic!("the stream ended before {what}: {other:?} {seen:?}"),
    }
}

/// The edge frames event streams itself (issue 28) and hyper releases a waiting connection's
/// buffers (vendor/hyper.patch): the stream's head and messages are what a browser's
/// `EventSource` and a proxy expect, byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_stream_is_framed_as_server_sent_events() {
    let app = spawn_app().await;
    let live_id = app.create_room("anchor", "t").await;
    let resp = open_events(&app, &live_id, "anchor").await;
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(header("content-type").as_deref(), Some("text/event-stream"));
    assert_eq!(header("cache-control").as_deref(), Some("no-cache"));
    assert_eq!(header("x-accel-buffering").as_deref(), Some("no"));
    assert_eq!(header("transfer-encoding").as_deref(), Some("chunked"));
    let mut body = resp.bytes_stream();
    app.start(&live_id, "anchor").await.assert_ok();
    let mut seen = String::new();
    let message = loop {
        // the message around its event line: from the blank line before it to the one after
        if let Some(at) = seen.find("event: live_started\n")
            && let Some(len) = seen[at..].find("\n\n")
        {
            let from = seen[..at].rfind("\n\n").map_or(0, |i| i + 2);
            break seen[from..at + len].to_owned();
        }
        read_more(&mut body, &mut seen, "live_started").await;
    };
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines.len(), 3, "id, event, data: {message:?}");
    let id = lines[0].strip_prefix("id: ").expect("an id line first");
    let (ms, seq) = id.split_once('-').expect("an event id");
    assert!(
        ms.parse::<u64>().is_ok() && seq.parse::<u64>().is_ok(),
        "{id}"
    );
    assert_eq!(lines[1], "event: live_started");
    let data: Value =
        serde_json::from_str(lines[2].strip_prefix("data: ").expect("data")).expect("JSON");
    assert_eq!(data["type"], "live_started");
    assert_eq!(data["live_id"], live_id.as_str());
}

/// After `LIVEROOM_SSE_KEEPALIVE_SECS` of silence a stream gets a comment line (`:`), so that
/// proxies keep it; while events come more often than that it gets none (a keep-alive is a
/// write and a wake-up per stream: issue 28).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_stream_gets_a_comment_after_a_silence_and_none_while_events_flow() {
    let mut settings = test_settings();
    settings.sse_keepalive_secs = 3;
    let app = spawn_app_with(settings).await;
    let live_id = app.create_room("anchor", "t").await;
    let anchor = token("anchor");
    let mut body = open_events(&app, &live_id, "anchor").await.bytes_stream();
    let mut seen = String::new();
    let comments = |seen: &str| seen.lines().filter(|l| l.starts_with(':')).count();
    // an event every ~100 ms for twice the period: each read before the next is sent
    let started = std::time::Instant::now();
    let mut n = 0;
    while started.elapsed() < Duration::from_secs(6) {
        let extends = json!({"live_id": live_id, "extends": {"n": n.to_string()}});
        app.request(
            Method::PUT,
            "/client/live/room/extends",
            Some(&anchor),
            Some(extends),
        )
        .await
        .assert_ok();
        let needle = format!("\"extends\":{{\"n\":\"{n}\"}}");
        while !seen.contains(&needle) {
            read_more(&mut body, &mut seen, &format!("event {n}")).await;
        }
        n += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        comments(&seen),
        0,
        "a comment among {n} events a period apart at most"
    );
    // then silence: a comment comes, and only that
    let before = seen.len();
    while comments(&seen) == 0 {
        read_more(&mut body, &mut seen, "a comment").await;
    }
    assert_eq!(
        &seen[before..],
        ":\n\n",
        "the comment alone after the last event"
    );
}

/// hyper releases a connection's buffers while it waits (vendor/hyper.patch) and makes them
/// again for the next read or write: on one keep-alive connection, heads far over the first
/// buffer, an answer of hundreds of kilobytes, small ones, and pipelined requests all come out
/// whole and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_alive_connection_answers_heads_and_answers_of_every_size_in_turn() {
    let app = spawn_app().await;
    let mut c = connect(&app).await;
    assert_eq!(healthz(&mut c).await.status, 200);
    let pad = "p".repeat(40_000);
    let big_head = format!("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: {pad}\r\n\r\n");
    c.write_all(big_head.as_bytes()).await.expect("write");
    assert_eq!(read_response(&mut c).await.status, 200);
    c.write_all(b"GET /openapi.json HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .expect("write");
    let spec = read_response(&mut c).await;
    assert_eq!(spec.status, 200, "{:?}", spec.head);
    assert!(spec.body["paths"].as_object().is_some_and(|p| p.len() > 10));
    assert_eq!(healthz(&mut c).await.status, 200);
    // two requests in one write: the second waits in the read buffer while the first is answered
    c.write_all(
        b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Request-Id: one\r\n\r\n\
          GET /healthz HTTP/1.1\r\nHost: t\r\nX-Request-Id: two\r\n\r\n",
    )
    .await
    .expect("write");
    // both answers may come in one read: read until the second's body, then check the order
    let mut both = String::new();
    let mut chunk = [0u8; 8192];
    while both.matches("\r\n\r\nok").count() < 2 {
        let n = tokio::time::timeout(PATIENCE, c.read(&mut chunk))
            .await
            .expect("both answers in time")
            .expect("read");
        assert!(n > 0, "closed before both answers: {both:?}");
        both.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
    let one = both
        .find("x-request-id: one\r\n")
        .expect("the first answer");
    let two = both
        .find("x-request-id: two\r\n")
        .expect("the second answer");
    assert!(one < two, "answered in order: {both:?}");
    assert_eq!(both.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{both:?}");
    assert_eq!(healthz(&mut c).await.status, 200);
    c.write_all(big_head.as_bytes()).await.expect("write");
    assert_eq!(read_response(&mut c).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_new_connections_are_refused_while_open_ones_are_served() {
    let mut s = test_settings();
    s.max_connections = 3;
    let app = spawn_app_with(s).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut c = connect(&app).await;
        // answered: the server holds it
        assert_eq!(healthz(&mut c).await.status, 200);
        open.push(c);
    }
    // refused clients that send their request at once, as clients do: each reads the envelope
    // (not a reset), with its own request id
    let addr = app.base.trim_start_matches("http://").to_owned();
    let answers = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let body = "x".repeat(16 * 1024);
        let request = format!(
            "POST /client/live/room/instance HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let refused: Vec<_> = (0..40)
            .map(|_| {
                let mut c = std::net::TcpStream::connect(&addr).expect("connect");
                let written = c.write_all(request.as_bytes());
                (c, written)
            })
            .collect();
        refused
            .into_iter()
            .map(|(mut c, written)| {
                c.set_read_timeout(Some(PATIENCE)).expect("timeout");
                let mut answer = Vec::new();
                let read = c.read_to_end(&mut answer);
                (written.is_ok() && read.is_ok(), answer)
            })
            .collect::<Vec<_>>()
    })
    .await
    .expect("refused clients");
    let mut ids = std::collections::HashSet::new();
    for (clean, answer) in answers {
        let text = String::from_utf8_lossy(&answer);
        assert!(clean, "a reset: {text:?}");
        let (head, body) = text.split_once("\r\n\r\n").expect("an answer");
        assert!(head.starts_with("HTTP/1.1 503"), "{head}");
        let body: Value = serde_json::from_str(body).expect("json");
        assert_eq!(body["code"], 50300, "{body}");
        let message = body["message"].as_str().unwrap_or("");
        assert!(message.contains("LIVEROOM_MAX_CONNECTIONS"), "{message}");
        let id = body["request_id"].as_str().expect("request_id").to_owned();
        assert!(head.contains(&format!("x-request-id: {id}")), "{head}");
        assert!(ids.insert(id), "a request id twice: {body}");
    }
    assert_eq!(healthz(&mut open[0]).await.status, 200);
    // a place freed is a place to take
    drop(open.pop());
    eventually(
        Duration::from_secs(10),
        "a freed connection place",
        || async {
            let mut c = connect(&app).await;
            let _ = c
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
                .await;
            let mut buf = [0u8; 64];
            match tokio::time::timeout(PATIENCE, c.read(&mut buf)).await {
                Ok(Ok(n)) if buf[..n].starts_with(b"HTTP/1.1 200") => Some(()),
                _ => None,
            }
        },
    )
    .await;
}

async fn connect_from(app: &TestApp, ip: &str) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(format!("{ip}:0").parse().expect("addr"))
        .expect("bind");
    let addr = app
        .base
        .trim_start_matches("http://")
        .parse()
        .expect("addr");
    socket.connect(addr).await.expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_per_address_cap_an_address_is_refused_while_others_are_served() {
    let mut s = test_settings();
    s.max_connections = 4;
    s.max_connections_per_ip = 2;
    let app = spawn_app_with(s).await;
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut c = connect_from(&app, "127.0.0.1").await;
        assert_eq!(healthz(&mut c).await.status, 200);
        open.push(c);
    }
    for _ in 0..3 {
        let mut refused = connect_from(&app, "127.0.0.1").await;
        refused
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .expect("write");
        let answer = read_response(&mut refused).await;
        answer.assert_envelope(429, 42900);
        let message = answer.body["message"].as_str().unwrap_or("");
        assert!(
            message.contains("LIVEROOM_MAX_CONNECTIONS_PER_IP"),
            "{message}"
        );
        closed(&mut refused).await;
    }
    // another address is served up to the server's cap: the refused ones took none of its places
    for _ in 0..2 {
        let mut other = connect_from(&app, "127.0.0.2").await;
        assert_eq!(healthz(&mut other).await.status, 200);
        open.push(other);
    }
    let mut third = connect_from(&app, "127.0.0.3").await;
    read_response(&mut third).await.assert_envelope(503, 50300);
    assert_eq!(healthz(&mut open[0]).await.status, 200);
    // a connection closed gives its address a place back
    drop(open.remove(0));
    eventually(Duration::from_secs(10), "a freed address place", || async {
        let mut c = connect_from(&app, "127.0.0.1").await;
        (healthz(&mut c).await.status == 200).then_some(())
    })
    .await;
}

/// The series of `/metrics` (lines that are not comments) and its size.
async fn metrics(app: &TestApp) -> (usize, usize) {
    let text = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("text");
    let series = text.lines().filter(|l| !l.starts_with('#')).count();
    (series, text.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_methods_and_paths_do_not_grow_metrics() {
    let app = spawn_app().await;
    let send = |i: usize| {
        let client = app.client.clone();
        let method = Method::from_bytes(format!("M{i}X").as_bytes()).expect("method");
        let path = match i % 3 {
            0 => format!("/made/up/{i}"),
            1 => format!("/client/live/room/{i}"),
            _ => format!("/healthz{i}"),
        };
        let url = format!("{}{path}", app.base);
        async move {
            let status = client
                .request(method, url)
                .send()
                .await
                .expect("sent")
                .status();
            assert!(status.is_client_error(), "{status}");
        }
    };
    // every label that made-up requests can reach, once
    futures_util::stream::iter(0..30)
        .for_each_concurrent(8, send)
        .await;
    // the first scrape adds the series of /metrics itself
    metrics(&app).await;
    let (series, size) = metrics(&app).await;
    futures_util::stream::iter(30..10_030)
        .for_each_concurrent(16, send)
        .await;
    let (series_after, size_after) = metrics(&app).await;
    assert_eq!(
        series_after, series,
        "new series after 10 000 made-up requests"
    );
    // only the counts' digits may grow
    assert!(size_after < size + 1024, "{size} -> {size_after} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_that_lives_longer_than_the_maximum_is_refused() {
    let app = spawn_app().await;
    let now = now_secs();
    let week = 604_800;
    let path = "/client/live/room/list";
    for claims in [
        json!({"sub": "u", "exp": now + week + 3600}),
        json!({"sub": "u", "iat": now - 10, "exp": now - 10 + week + 1}),
        json!({"sub": "u", "exp": u64::MAX}),
    ] {
        let a = app.get(path, &token_with(claims.clone())).await;
        a.assert_error(401, 40100);
        assert!(a.headers.contains_key("www-authenticate"), "{claims}");
    }
    let fine = json!({"sub": "u", "iat": now, "exp": now + week});
    app.get(path, &token_with(fine)).await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_lines_and_headers_over_the_limits_are_refused_in_the_envelope() {
    let app = spawn_app().await;
    let long_path = format!(
        "GET /client/live/room?keyword={} HTTP/1.1\r\nHost: t\r\n\r\n",
        "a".repeat(70_000)
    );
    let big_header = format!(
        "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "a".repeat(1024 * 1024)
    );
    let many_headers = format!(
        "GET /healthz HTTP/1.1\r\nHost: t\r\n{}\r\n",
        (0..120)
            .map(|i| format!("X-H{i}: v\r\n"))
            .collect::<String>()
    );
    for (request, status, code) in [
        (long_path, 414, 41400),
        (big_header, 431, 43100),
        (many_headers, 431, 43100),
    ] {
        let mut c = connect(&app).await;
        c.write_all(request.as_bytes()).await.expect("write");
        let r = read_response(&mut c).await;
        r.assert_envelope(status, code);
        closed(&mut c).await;
    }
    // a head within the limits is served
    let token = token("u");
    let fine = format!(
        "GET /client/live/room/list HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n{}\r\n",
        (0..40)
            .map(|i| format!("X-H{i}: v\r\n"))
            .collect::<String>()
    );
    let mut c = connect(&app).await;
    c.write_all(fine.as_bytes()).await.expect("write");
    read_response(&mut c).await.assert_envelope(200, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_head_limits_hold_to_the_byte_and_to_the_header() {
    use liveroom::edge::{MAX_HEAD_BYTES, MAX_HEADERS};
    let app = spawn_app().await;
    // a head of exactly `len` bytes (request line, Host and one padding header, empty line)
    let sized = |len: usize| {
        let bare = "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: \r\n\r\n".len();
        format!(
            "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: {}\r\n\r\n",
            "p".repeat(len - bare)
        )
    };
    // `count` headers in all, Host included
    let counted = |count: usize| {
        let extra: String = (1..count).map(|i| format!("X-H{i}: v\r\n")).collect();
        format!("GET /healthz HTTP/1.1\r\nHost: t\r\n{extra}\r\n")
    };
    for (request, refused) in [
        (sized(MAX_HEAD_BYTES), false),
        (sized(MAX_HEAD_BYTES + 1), true),
        (counted(MAX_HEADERS), false),
        (counted(MAX_HEADERS + 1), true),
    ] {
        let mut c = connect(&app).await;
        c.write_all(request.as_bytes()).await.expect("write");
        let r = read_response(&mut c).await;
        if refused {
            r.assert_envelope(431, 43100);
            closed(&mut c).await;
        } else {
            assert_eq!(r.status, 200, "{} bytes: {r:?}", request.len());
        }
    }
}

/// Sends `request` `piece` bytes at a time, flushed each time (so the server sees it in several
/// reads), and reads the answer.
async fn in_pieces(app: &TestApp, request: &[u8], piece: usize) -> Raw {
    let mut c = connect(app).await;
    for piece in request.chunks(piece) {
        c.write_all(piece).await.expect("write");
        c.flush().await.expect("flush");
    }
    read_response(&mut c).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_in_pieces_is_read_whole_and_checked_throughout() {
    let app = spawn_app().await;
    let token = token("u");
    let head = format!(
        "GET /client/live/room/info/live_nope HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\nX-Note: a\tb\r\n\r\n"
    );
    in_pieces(&app, head.as_bytes(), 7)
        .await
        .assert_envelope(404, 40400);
    // a control character after hundreds of plain bytes is still refused, in the envelope
    let long = "e".repeat(400);
    let mut c = connect(&app).await;
    c.write_all(
        format!("GET /healthz HTTP/1.1\r\nHost: t\r\nX-Note: {long}\x01{long}\r\n\r\n").as_bytes(),
    )
    .await
    .expect("write");
    read_response(&mut c).await.assert_envelope(400, 40000);
    closed(&mut c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_request_id_is_replaced_by_a_fresh_one() {
    let app = spawn_app().await;
    let token = token("u");
    for bad in [
        &b"ab\x01cd"[..],
        &b"ab\x7fcd"[..],
        "é".as_bytes(),
        "x".repeat(129).as_bytes(),
    ] {
        let mut request = format!(
            "GET /client/live/room/info/live_nope HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\nX-Request-Id: "
        )
        .into_bytes();
        request.extend_from_slice(bad);
        request.extend_from_slice(b"\r\n\r\n");
        let mut c = connect(&app).await;
        c.write_all(&request).await.expect("write");
        let r = read_response(&mut c).await;
        r.assert_envelope(404, 40400);
        let id = r.body["request_id"].as_str().expect("id");
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id:?} for {bad:?}");
    }
    // also when the head comes in pieces that split the header's name and value
    let request = format!(
        "GET /client/live/room/info/live_nope HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\nX-Request-Id: ab\x01cd\r\n\r\n"
    );
    let r = in_pieces(&app, request.as_bytes(), 5).await;
    r.assert_envelope(404, 40400);
    let id = r.body["request_id"].as_str().expect("id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id:?} in pieces");
    // a good one is kept
    let mut c = connect(&app).await;
    c.write_all(
        format!("GET /client/live/room/info/live_nope HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\nX-Request-Id: mine-1\r\n\r\n").as_bytes(),
    )
    .await
    .expect("write");
    assert_eq!(read_response(&mut c).await.body["request_id"], "mine-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_character_elsewhere_in_the_head_is_400_in_the_envelope() {
    let app = spawn_app().await;
    let mut c = connect(&app).await;
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Note: a\x00b\r\n\r\n")
        .await
        .expect("write");
    read_response(&mut c).await.assert_envelope(400, 40000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_that_cannot_be_parsed_is_400_in_the_envelope_and_http2_is_not_served() {
    let app = spawn_app().await;
    for head in [
        &b"GET /healthz HTTP/9.9\r\n\r\n"[..],
        b"G\x01T / HTTP/1.1\r\n\r\n",
    ] {
        let mut c = connect(&app).await;
        c.write_all(head).await.expect("write");
        read_response(&mut c).await.assert_envelope(400, 40000);
        closed(&mut c).await;
    }
    // HTTP/2 with prior knowledge is not served: closed without an answer
    let mut c = connect(&app).await;
    c.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .expect("write");
    let mut buf = Vec::new();
    let read = tokio::time::timeout(PATIENCE, c.read_to_end(&mut buf)).await;
    assert!(
        read.is_ok() && buf.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&buf)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_last_event_id_is_40000() {
    let app = spawn_app().await;
    let live_id = app.create_room("anchor", "t").await;
    let url = format!("{}/client/live/room/events/{live_id}", app.base);
    for bad in [&b"\xc3\xa9"[..], b"abc", b"1-2-3"] {
        let resp = app
            .client
            .get(&url)
            .header("Authorization", format!("Bearer {}", token("anchor")))
            .header(
                "Last-Event-ID",
                reqwest::header::HeaderValue::from_bytes(bad).expect("value"),
            )
            .send()
            .await
            .expect("sent");
        assert_eq!(resp.status(), 400, "{bad:?}");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["code"], 40000, "{body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap_or("")
                .contains("Last-Event-ID"),
            "{body}"
        );
    }
}

async fn create(app: &TestApp, token: &str, body: Value) -> Answer {
    app.request(
        Method::POST,
        "/client/live/room/instance",
        Some(token),
        Some(body),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_that_looks_empty_or_carries_control_characters_is_40000() {
    let app = spawn_app().await;
    let t = token("anchor");
    for (body, field) in [
        (json!({"title": "\u{200B}"}), "title"),
        (
            json!({"title": " \u{FEFF}\u{2060}\u{200C}\u{200D}\u{3000} "}),
            "title",
        ),
        (json!({"title": "a\u{0}b"}), "title"),
        (json!({"title": "a\u{9f}b"}), "title"),
        (json!({"title": "t", "notice": "a\u{1}b"}), "notice"),
        (
            json!({"title": "t", "extends": {"k": "v\u{7f}"}}),
            "extends.k",
        ),
        (json!({"title": "t", "extends": {"k\u{0}": "v"}}), "extends"),
        (
            json!({"title": "t", "start_at": "0000-01-01 00:00:00"}),
            "start_at",
        ),
        (
            json!({"title": "t", "start_at": "1999-12-31T23:59:59Z"}),
            "start_at",
        ),
        (
            json!({"title": "t", "end_at": "2101-01-01 08:00:00"}),
            "end_at",
        ),
    ] {
        let a = create(&app, &t, body.clone()).await;
        a.assert_error(400, 40000);
        let message = a.body["message"].as_str().unwrap_or("");
        assert!(message.contains(field), "{body}: {message}");
    }
    // visible text around invisible characters is kept, trimmed
    let a = create(
        &app,
        &t,
        json!({"title": "\u{200B} hi \u{FEFF}", "start_at": "2100-12-31 23:59:59"}),
    )
    .await;
    assert_eq!(a.assert_ok()["title"], "hi");
    let live_id = a.body["data"]["live_id"].as_str().expect("id").to_owned();
    // the extends update follows the same rule
    let a = app
        .request(
            Method::PUT,
            "/client/live/room/extends",
            Some(&t),
            Some(json!({"live_id": live_id, "extends": {"k": "a\u{0}"}})),
        )
        .await;
    a.assert_error(400, 40000);
    // and the token's nick
    let nul_nick = token_with(json!({"sub": "n", "exp": now_secs() + 60, "nick": "a\u{0}b"}));
    let a = app.get("/client/live/room/list", &nul_nick).await;
    a.assert_error(400, 40000);
    assert!(a.body["message"].as_str().unwrap_or("").contains("nick"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_request_is_answered_in_the_envelope_with_a_request_id() {
    let app = spawn_app().await;
    let cases: [(&str, &[u8]); 14] = [
        (
            "a Content-Length over 2^64",
            b"POST /client/live/room/instance HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        ),
        (
            "Transfer-Encoding: identity",
            b"POST /client/live/room/instance HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: identity\r\n\r\n{}",
        ),
        (
            "chunked in HTTP/1.0",
            b"POST /client/live/room/instance HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ),
        ("a raw 0xFF in a header name", b"GET /healthz HTTP/1.1\r\nHost: t\r\nX\xffA: a\r\n\r\n"),
        ("a bare CR in a header value", b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Note: a\rb\r\n\r\n"),
        (
            "two different Content-Lengths",
            b"POST /client/live/room/instance HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        ),
        (
            "Transfer-Encoding: xchunked",
            b"POST /client/live/room/instance HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        ),
        (
            "Transfer-Encoding not ending in chunked",
            b"POST /client/live/room/instance HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        ),
        ("a space in a header name", b"GET /healthz HTTP/1.1\r\nHost: t\r\nX Note: a\r\n\r\n"),
        ("a space before the colon", b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Note : a\r\n\r\n"),
        ("a raw 0xFF in the path", b"GET /heal\xffthz HTTP/1.1\r\nHost: t\r\n\r\n"),
        (
            "a Content-Length that is not a number",
            b"POST /client/live/room/instance HTTP/1.1\r\nHost: t\r\nContent-Length: 1x\r\n\r\n",
        ),
        ("a header line without a colon", b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Note\r\n\r\n"),
        ("a folded header line", b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Note: a\r\n b\r\n\r\n"),
    ];
    let mut escaped = Vec::new();
    for (what, request) in cases {
        let mut c = connect(&app).await;
        c.write_all(request).await.expect("write");
        let r = read_response(&mut c).await;
        let id = r.body["request_id"].as_str().unwrap_or("");
        if r.status != 400
            || r.body["code"] != 40000
            || id.is_empty()
            || r.header("x-request-id").as_deref() != Some(id)
        {
            escaped.push(format!("{what}: {r:?}"));
        }
    }
    assert!(
        escaped.is_empty(),
        "not in the envelope:\n{}",
        escaped.join("\n")
    );
}
