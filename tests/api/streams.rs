//! Streams: signed push and playback URLs (Alibaba Cloud type A, Tencent Cloud), the
//! media-server hooks (SRS, nginx-rtmp), and the real thing end to end: nginx-rtmp asking
//! liveroom whether ffmpeg may publish.

use std::process::Stdio;
use std::time::{Duration, Instant};

use liveroom::app::Application;
use liveroom::config::Settings;
use liveroom::streams::{aliyun, tencent};
use reqwest::Method;
use serde_json::{Value, json};

use super::helpers::{
    TestApp, eventually, free_port, now_secs, spawn_app_with, test_settings, token,
};
use super::nginx::{NginxServer, RTMP_MODULE};

const HOOK_SECRET: &str = "hook-secret-for-tests";
const PUBLISH_KEY: &str = "publish-key-for-tests";
const PLAY_KEY: &str = "play-key-for-tests";
const ANCHOR: &str = "streamer";

fn stream_settings(signing: &str) -> Settings {
    let mut s = test_settings();
    s.url_signing = signing.into();
    s.publish_key = Some(PUBLISH_KEY.into());
    s.play_key = Some(PLAY_KEY.into());
    s.hook_secret = Some(HOOK_SECRET.into());
    s
}

/// Creates a room as ANCHOR with these fields (title added) and returns its live_id.
async fn create(app: &TestApp, fields: Value) -> String {
    let mut body = json!({"title": "streams"});
    if let (Some(b), Some(f)) = (body.as_object_mut(), fields.as_object()) {
        b.extend(f.clone());
    }
    let a = app
        .request(
            Method::POST,
            "/client/live/room/instance",
            Some(&token(ANCHOR)),
            Some(body),
        )
        .await;
    a.assert_ok()["live_id"]
        .as_str()
        .expect("live_id")
        .to_owned()
}

/// The room as `user` sees it.
async fn room_as(app: &TestApp, id: &str, user: &str) -> Value {
    app.info(id, user).await.assert_ok().clone()
}

async fn push_url(app: &TestApp, id: &str) -> String {
    room_as(app, id, ANCHOR).await["push_url"]
        .as_str()
        .expect("push_url")
        .to_owned()
}

/// The query string of a URL (without `?`), "" when none.
fn query_of(url: &str) -> &str {
    url.split_once('?').map_or("", |(_, q)| q)
}

/// The value of one query argument of a URL.
fn arg_of(url: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query_of(url).as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The URL with its last character (a hex digit of the signature) changed.
fn tamper(url: &str) -> String {
    let (head, last) = url.split_at(url.len() - 1);
    format!("{head}{}", if last == "0" { "1" } else { "0" })
}

fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .expect("time")
        .to_rfc3339()
}

fn now() -> i64 {
    i64::try_from(now_secs()).expect("now")
}

fn hook_url(app: &TestApp, path: &str, secret: Option<&str>) -> String {
    match secret {
        Some(s) => format!(
            "{}{path}?secret={}",
            app.base,
            url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
        ),
        None => format!("{}{path}", app.base),
    }
}

/// An SRS HTTP callback: (HTTP status, JSON answer).
async fn srs(app: &TestApp, secret: Option<&str>, body: Value) -> (u16, Value) {
    let resp = app
        .client
        .post(hook_url(app, "/hooks/srs", secret))
        .json(&body)
        .send()
        .await
        .expect("srs hook");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn srs_publish(action: &str, stream: &str, push_url: &str) -> Value {
    json!({
        "action": action, "client_id": "3a8b1c", "ip": "127.0.0.1", "vhost": "__defaultVhost__",
        "app": "live", "tcUrl": "rtmp://127.0.0.1/live", "stream": stream,
        "param": if query_of(push_url).is_empty() { String::new() } else { format!("?{}", query_of(push_url)) },
        "server_id": "vid-1", "stream_id": "vid-2"
    })
}

/// An nginx-rtmp notification as nginx-rtmp posts it: (HTTP status, body).
async fn nginx_hook(
    app: &TestApp,
    event: &str,
    secret: Option<&str>,
    call: &str,
    stream: &str,
    push_url: &str,
) -> (u16, String) {
    let mut form: Vec<(String, String)> = [
        ("app", "live"),
        ("flashver", "FMLE/3.0 (compatible; Lavf59.27"),
        ("swfurl", ""),
        ("tcurl", "rtmp://127.0.0.1:1935/live"),
        ("pageurl", ""),
        ("addr", "127.0.0.1"),
        ("clientid", "1"),
        ("call", call),
        ("name", stream),
        ("type", "live"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    form.extend(url::form_urlencoded::parse(query_of(push_url).as_bytes()).into_owned());
    let resp = app
        .client
        .post(hook_url(app, &format!("/hooks/nginx-rtmp/{event}"), secret))
        .form(&form)
        .send()
        .await
        .expect("nginx-rtmp hook");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_url_is_signed_for_the_anchor_only_and_expires_as_created() {
    let app = spawn_app_with(stream_settings("aliyun-a")).await;
    let expiry = 1_893_456_000; // 2030-01-01T00:00:00Z
    let id = create(&app, json!({"publish_expire_at": rfc3339(expiry)})).await;
    let expected = format!(
        "rtmp://127.0.0.1:1935/live/{id}?auth_key={}",
        aliyun::auth_key(&format!("/live/{id}"), expiry, "0", "0", PUBLISH_KEY)
    );
    assert_eq!(push_url(&app, &id).await, expected);
    assert_eq!(room_as(&app, &id, "viewer").await["push_url"], "");
    assert_eq!(app.join(&id, "viewer").await.assert_ok()["push_url"], "");

    // without publish_expire_at: the planned end
    let end = 1_924_992_000; // 2031-01-01T00:00:00Z
    let id = create(&app, json!({"end_at": rfc3339(end)})).await;
    let auth_key = arg_of(&push_url(&app, &id).await, "auth_key").expect("signed");
    assert_eq!(
        aliyun::verify(&format!("/live/{id}"), &auth_key, PUBLISH_KEY),
        Some(end)
    );

    // with neither: a day after creation
    let before = now();
    let id = create(&app, json!({})).await;
    let after = now();
    let auth_key = arg_of(&push_url(&app, &id).await, "auth_key").expect("signed");
    let expiry = aliyun::verify(&format!("/live/{id}"), &auth_key, PUBLISH_KEY).expect("valid");
    assert!(
        (before + 86_400..=after + 86_400).contains(&expiry),
        "{expiry} not a day after {before}..{after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playback_urls_are_signed_with_the_play_key_for_the_ttl() {
    let mut s = stream_settings("aliyun-a");
    s.play_url_ttl_secs = 600;
    s.play_http_base = "https://play.example.com/live".into();
    let app = spawn_app_with(s).await;
    let id = create(&app, json!({})).await;
    let before = now();
    let room = room_as(&app, &id, "viewer").await;
    let after = now();
    for (field, base, path) in [
        ("rtmp_url", "rtmp://127.0.0.1:1935", format!("/live/{id}")),
        (
            "flv_url",
            "https://play.example.com",
            format!("/live/{id}.flv"),
        ),
        (
            "hls_url",
            "https://play.example.com",
            format!("/live/{id}.m3u8"),
        ),
    ] {
        let url = room[field].as_str().expect("url");
        assert!(url.starts_with(&format!("{base}{path}?auth_key=")), "{url}");
        let auth_key = arg_of(url, "auth_key").expect("signed");
        let expiry = aliyun::verify(&path, &auth_key, PLAY_KEY).expect("valid with the play key");
        assert!(
            (before + 600..=after + 600).contains(&expiry),
            "{field}: {expiry}"
        );
        assert_eq!(
            aliyun::verify(&path, &auth_key, PUBLISH_KEY),
            None,
            "{field}"
        );
    }

    let mut s = stream_settings("tencent");
    s.play_url_ttl_secs = 600;
    let app = spawn_app_with(s).await;
    let id = create(&app, json!({"publish_expire_at": rfc3339(1_893_456_000)})).await;
    let room = room_as(&app, &id, ANCHOR).await;
    let secret = tencent::tx_secret(PUBLISH_KEY, &id, "70DBD880");
    assert_eq!(
        room["push_url"],
        format!("rtmp://127.0.0.1:1935/live/{id}?txSecret={secret}&txTime=70DBD880")
    );
    let hls = room["hls_url"].as_str().expect("hls");
    let tx_time = arg_of(hls, "txTime").expect("txTime");
    let secret = arg_of(hls, "txSecret").expect("txSecret");
    assert_eq!(
        tencent::verify(&id, &secret, &tx_time, PLAY_KEY).map(|e| e > now()),
        Some(true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hooks_answer_403_without_the_right_secret() {
    let app = spawn_app_with(stream_settings("none")).await;
    let id = create(&app, json!({})).await;
    for secret in [None, Some(""), Some("wrong"), Some("hook-secret-for-test")] {
        let (status, body) = srs(&app, secret, srs_publish("on_publish", &id, "")).await;
        assert_eq!(status, 403, "{secret:?}: {body}");
        assert_ne!(body["code"], 0, "{secret:?}: {body}");
        let (status, _) = nginx_hook(&app, "on_publish", secret, "publish", &id, "").await;
        assert_eq!(status, 403, "{secret:?}");
    }
    assert_eq!(room_as(&app, &id, ANCHOR).await["stream_status"], 0);

    // no LIVEROOM_HOOK_SECRET: every hook call is refused
    let mut s = stream_settings("none");
    s.hook_secret = None;
    let app = spawn_app_with(s).await;
    let id = create(&app, json!({})).await;
    for secret in [None, Some(""), Some(HOOK_SECRET)] {
        let (status, _) = srs(&app, secret, srs_publish("on_publish", &id, "")).await;
        assert_eq!(status, 403, "{secret:?}");
        let (status, _) = nginx_hook(&app, "on_publish", secret, "publish", &id, "").await;
        assert_eq!(status, 403, "{secret:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn srs_on_publish_needs_a_valid_unexpired_signature_of_an_open_room() {
    let app = spawn_app_with(stream_settings("aliyun-a")).await;
    let s = Some(HOOK_SECRET);
    let a = create(&app, json!({})).await;
    let b = create(&app, json!({})).await;
    let push_a = push_url(&app, &a).await;

    let tampered = tamper(&push_a);
    let refusals = [
        (
            "no signature",
            srs_publish("on_publish", &a, "rtmp://h/live/x"),
        ),
        ("tampered", srs_publish("on_publish", &a, &tampered)),
        (
            "another room's stream",
            srs_publish("on_publish", &b, &push_a),
        ),
    ];
    for (what, body) in refusals {
        let (status, answer) = srs(&app, s, body).await;
        assert_eq!(status, 200, "{what}: {answer}");
        assert_eq!(answer["code"], 40300, "{what}: {answer}");
    }
    assert_eq!(room_as(&app, &a, ANCHOR).await["stream_status"], 0);
    assert_eq!(room_as(&app, &b, ANCHOR).await["stream_status"], 0);

    let (status, answer) = srs(&app, s, srs_publish("on_publish", &a, &push_a)).await;
    assert_eq!(
        (status, answer["code"].as_i64()),
        (200, Some(0)),
        "{answer}"
    );
    let seen = room_as(&app, &a, "viewer").await;
    assert_eq!(seen["stream_status"], 1);
    assert_eq!(
        seen["anchor_status"], 1,
        "publishing counts as the anchor's presence"
    );
    assert_eq!(seen["push_url"], "");

    let (_, answer) = srs(&app, s, srs_publish("on_unpublish", &a, &push_a)).await;
    assert_eq!(answer["code"], 0, "{answer}");
    assert_eq!(room_as(&app, &a, ANCHOR).await["stream_status"], 0);

    // expired
    let expired = create(&app, json!({"publish_expire_at": rfc3339(now() - 60)})).await;
    let url = push_url(&app, &expired).await;
    let (_, answer) = srs(&app, s, srs_publish("on_publish", &expired, &url)).await;
    assert_eq!(answer["code"], 40900, "{answer}");
    assert!(
        answer["message"].as_str().unwrap_or("").contains("expired"),
        "{answer}"
    );

    // ended
    let ended = create(&app, json!({})).await;
    let url = push_url(&app, &ended).await;
    app.start(&ended, ANCHOR).await.assert_ok();
    app.stop(&ended, ANCHOR).await.assert_ok();
    let (_, answer) = srs(&app, s, srs_publish("on_publish", &ended, &url)).await;
    assert_eq!(answer["code"], 40900, "{answer}");
    assert_eq!(room_as(&app, &ended, ANCHOR).await["stream_status"], 0);

    // deleted
    let deleted = create(&app, json!({})).await;
    let url = push_url(&app, &deleted).await;
    app.delete(&deleted, ANCHOR).await;
    let (_, answer) = srs(&app, s, srs_publish("on_publish", &deleted, &url)).await;
    assert_eq!(answer["code"], 40400, "{answer}");
    let (_, answer) = srs(&app, s, srs_publish("on_unpublish", &deleted, &url)).await;
    assert_eq!(answer["code"], 0, "{answer}");

    // actions liveroom has no say in
    let (_, answer) = srs(&app, s, srs_publish("on_play", &a, "")).await;
    assert_eq!(answer["code"], 0, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_rtmp_notifications_with_tencent_signatures() {
    let mut s = stream_settings("tencent");
    s.heartbeat_interval_ms = 100;
    s.heartbeat_misses = 3;
    let app = spawn_app_with(s).await;
    let sec = Some(HOOK_SECRET);
    let id = create(&app, json!({})).await;
    let url = push_url(&app, &id).await;
    assert!(
        arg_of(&url, "txSecret").is_some() && arg_of(&url, "txTime").is_some(),
        "{url}"
    );

    let secret = arg_of(&url, "txSecret").expect("txSecret");
    let time = arg_of(&url, "txTime").expect("txTime");
    let tampered = url.replace(&secret, &tamper(&secret));
    let no_time = url.replace(&format!("&txTime={time}"), "");
    for (what, bad) in [("tampered", &tampered), ("without txTime", &no_time)] {
        let (status, why) = nginx_hook(&app, "on_publish", sec, "publish", &id, bad).await;
        assert_eq!(status, 403, "{what}: {why}");
    }
    let (status, _) = nginx_hook(&app, "on_play", sec, "play", &id, &url).await;
    assert!(
        (400..500).contains(&status),
        "unknown notification: {status}"
    );

    let (status, why) = nginx_hook(&app, "on_publish", sec, "publish", &id, &url).await;
    assert_eq!(status, 200, "{why}");
    assert_eq!(room_as(&app, &id, ANCHOR).await["stream_status"], 1);

    // the update refreshes the anchor's presence once it has lapsed
    eventually(
        Duration::from_secs(10),
        "anchor presence lapses",
        || async { (room_as(&app, &id, ANCHOR).await["anchor_status"] == 0).then_some(()) },
    )
    .await;
    let (status, why) = nginx_hook(&app, "on_update", sec, "update_publish", &id, &url).await;
    assert_eq!(status, 200, "{why}");
    let room = room_as(&app, &id, ANCHOR).await;
    assert_eq!(
        (
            room["anchor_status"].as_i64(),
            room["stream_status"].as_i64()
        ),
        (Some(1), Some(1))
    );
    let (status, _) = nginx_hook(&app, "on_update", sec, "update_play", &id, "").await;
    assert_eq!(status, 200);

    // once the live has ended, the next update drops the publisher
    app.start(&id, ANCHOR).await.assert_ok();
    app.stop(&id, ANCHOR).await.assert_ok();
    let (status, _) = nginx_hook(&app, "on_update", sec, "update_publish", &id, &url).await;
    assert_eq!(status, 403);
    let (status, _) = nginx_hook(&app, "on_publish_done", sec, "publish_done", &id, &url).await;
    assert_eq!(status, 200);
    assert_eq!(room_as(&app, &id, ANCHOR).await["stream_status"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_streams_publish_into_any_open_room() {
    let app = spawn_app_with(stream_settings("none")).await;
    let sec = Some(HOOK_SECRET);
    let id = create(&app, json!({})).await;
    let url = push_url(&app, &id).await;
    assert_eq!(url, format!("rtmp://127.0.0.1:1935/live/{id}"));
    let (status, why) = nginx_hook(&app, "on_publish", sec, "publish", &id, "").await;
    assert_eq!(status, 200, "{why}");
    assert_eq!(room_as(&app, &id, ANCHOR).await["stream_status"], 1);

    let unknown = "live_0192f0c1a2b34c5d8e9f0a1b2c3d4e5f";
    for name in [unknown, "not-a-room", ""] {
        let (status, _) = nginx_hook(&app, "on_publish", sec, "publish", name, "").await;
        assert_eq!(status, 403, "{name:?}");
    }
    app.start(&id, ANCHOR).await.assert_ok();
    app.stop(&id, ANCHOR).await.assert_ok();
    let (status, _) = nginx_hook(&app, "on_publish", sec, "publish", &id, "").await;
    assert_eq!(status, 403);
}

/// The room's `stream_status` as a viewer's live list shows it (None: not listed).
async fn listed_stream_status(app: &TestApp, id: &str) -> Option<Value> {
    let page = app
        .request(
            Method::GET,
            "/client/live/room/list?page_num=1&page_size=100",
            Some(&token("viewer")),
            None,
        )
        .await;
    let rows = page.assert_ok()["list"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    rows.into_iter()
        .find(|r| r["live_id"] == id)
        .map(|r| r["stream_status"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_list_shows_the_stream_publishing_and_stopping_at_once() {
    let app = spawn_app_with(stream_settings("none")).await;
    let sec = Some(HOOK_SECRET);
    let id = create(&app, json!({})).await;
    app.start(&id, ANCHOR).await.assert_ok();
    // read (and so cached) before each hook: the replica's own change shows at once
    assert_eq!(listed_stream_status(&app, &id).await, Some(json!(0)));
    let (status, why) = nginx_hook(&app, "on_publish", sec, "publish", &id, "").await;
    assert_eq!(status, 200, "{why}");
    assert_eq!(listed_stream_status(&app, &id).await, Some(json!(1)));
    assert_eq!(room_as(&app, &id, ANCHOR).await["stream_status"], 1);
    let (status, why) = nginx_hook(&app, "on_publish_done", sec, "publish_done", &id, "").await;
    assert_eq!(status, 200, "{why}");
    assert_eq!(listed_stream_status(&app, &id).await, Some(json!(0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publishing_stream_keeps_its_live_room_from_the_offline_close() {
    let mut s = stream_settings("none");
    s.heartbeat_interval_ms = 100;
    s.heartbeat_misses = 3;
    s.anchor_offline_close_ms = 1000;
    s.sweep_interval_ms = 50;
    let app = spawn_app_with(s).await;
    let sec = Some(HOOK_SECRET);
    let id = create(&app, json!({})).await;
    app.start(&id, ANCHOR).await.assert_ok();
    let (status, _) = nginx_hook(&app, "on_publish", sec, "publish", &id, "").await;
    assert_eq!(status, 200);
    // updates (and no heartbeat) for three times the close delay
    let until = Instant::now() + Duration::from_millis(3000);
    while Instant::now() < until {
        let (status, _) = nginx_hook(&app, "on_update", sec, "update_publish", &id, "").await;
        assert_eq!(status, 200, "the room closed while its stream published");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(room_as(&app, &id, ANCHOR).await["live_status"], 1);
    // the stream stops: the anchor is silent, and the room closes
    nginx_hook(&app, "on_publish_done", sec, "publish_done", &id, "").await;
    eventually(Duration::from_secs(10), "the offline close", || async {
        (room_as(&app, &id, ANCHOR).await["live_status"] == 2).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_settings_are_checked_at_start() {
    let refused = |s: Settings| async move {
        match Application::build(s).await {
            Ok(_) => panic!("started"),
            Err(e) => e.to_string(),
        }
    };
    let mut s = stream_settings("aliyun");
    assert!(refused(s.clone()).await.contains("LIVEROOM_URL_SIGNING"));
    s.url_signing = "tencent".into();
    s.publish_key = None;
    assert!(refused(s.clone()).await.contains("LIVEROOM_PUBLISH_KEY"));
    let mut s = stream_settings("aliyun-a");
    s.play_url_ttl_secs = 0;
    assert!(refused(s).await.contains("LIVEROOM_PLAY_URL_TTL_SECS"));
}

/// ffmpeg publishing a few seconds of a test pattern to `url`: (success, what it printed).
async fn ffmpeg(url: &str) -> tokio::process::Child {
    tokio::process::Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-nostdin",
            "-re",
            "-f",
            "lavfi",
        ])
        .args([
            "-i",
            "testsrc=size=160x120:rate=10",
            "-t",
            "3",
            "-c:v",
            "libx264",
        ])
        .args(["-f", "flv", url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("ffmpeg (scripts/test.sh installs it)")
}

async fn ffmpeg_result(child: tokio::process::Child) -> (bool, String) {
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("ffmpeg ends")
        .expect("ffmpeg output");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_publishes_through_nginx_rtmp_only_with_a_valid_push_url() {
    assert!(
        std::path::Path::new(RTMP_MODULE).exists(),
        "{RTMP_MODULE} is missing (scripts/test.sh installs libnginx-mod-rtmp)"
    );
    let rtmp_port = free_port();
    let mut s = stream_settings("aliyun-a");
    s.publish_base = format!("rtmp://127.0.0.1:{rtmp_port}/live");
    s.heartbeat_interval_ms = 1000;
    s.heartbeat_misses = 2;
    let app = spawn_app_with(s).await;
    let hook = |event: &str| format!("{}/hooks/nginx-rtmp/{event}?secret={HOOK_SECRET}", app.base);
    let nginx = NginxServer::start(&format!(
        "load_module {RTMP_MODULE};\n\
         rtmp {{\n  server {{\n    listen 127.0.0.1:{rtmp_port};\n    application live {{\n\
         \x20     live on;\n\
         \x20     on_publish {};\n      on_update {};\n      on_publish_done {};\n\
         \x20     notify_update_timeout 1s;\n    }}\n  }}\n}}\n",
        hook("on_publish"),
        hook("on_update"),
        hook("on_publish_done"),
    ));

    // (a) the room's own signed push URL: accepted; publishing shows, and ends
    let a = create(&app, json!({})).await;
    let url_a = push_url(&app, &a).await;
    assert!(url_a.contains("?auth_key="), "{url_a}");
    let mut child = ffmpeg(&url_a).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let seen = loop {
        let room = room_as(&app, &a, "viewer").await;
        if room["stream_status"] == 1 {
            break room;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let (_, err) = ffmpeg_result(child).await;
            panic!(
                "ffmpeg ended ({status}) before the room showed it: {err}\n{}",
                nginx.error_log()
            );
        }
        assert!(Instant::now() < deadline, "stream_status never 1");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(seen["anchor_status"], 1, "a publishing anchor is present");
    assert_eq!(seen["push_url"], "");
    let (ok, err) = ffmpeg_result(child).await;
    assert!(
        ok,
        "ffmpeg failed with a valid push URL: {err}\n{}",
        nginx.error_log()
    );
    eventually(
        Duration::from_secs(10),
        "stream_status 0 after ffmpeg",
        || async { (room_as(&app, &a, ANCHOR).await["stream_status"] == 0).then_some(()) },
    )
    .await;
    eventually(
        Duration::from_secs(10),
        "the anchor's presence lapses",
        || async { (room_as(&app, &a, ANCHOR).await["anchor_status"] == 0).then_some(()) },
    )
    .await;

    // (b) a tampered signature
    let b = create(&app, json!({})).await;
    let url_b = push_url(&app, &b).await;
    let tampered = tamper(&url_b);
    // (c) an expired push URL
    let c = create(&app, json!({"publish_expire_at": rfc3339(now() - 60)})).await;
    let url_c = push_url(&app, &c).await;
    // (d) room a's signature on room b's stream
    let url_d = format!("rtmp://127.0.0.1:{rtmp_port}/live/{b}?{}", query_of(&url_a));
    // (e) an ended room
    let e = create(&app, json!({})).await;
    let url_e = push_url(&app, &e).await;
    app.start(&e, ANCHOR).await.assert_ok();
    app.stop(&e, ANCHOR).await.assert_ok();

    for (what, url, room) in [
        ("tampered signature", &tampered, &b),
        ("expired push URL", &url_c, &c),
        ("another room's stream", &url_d, &b),
        ("ended room", &url_e, &e),
    ] {
        let (ok, _) = ffmpeg_result(ffmpeg(url).await).await;
        assert!(!ok, "ffmpeg published with a {what}: {url}");
        assert_eq!(
            room_as(&app, room, ANCHOR).await["stream_status"],
            0,
            "{what}"
        );
    }
    drop(nginx);
}
