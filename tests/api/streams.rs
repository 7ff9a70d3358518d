//! Streams: signed push and playback URLs (Alibaba Cloud type A, Tencent Cloud) and the
//! media-server hooks (SRS, nginx-rtmp) as the media servers call them. nginx-rtmp and ffmpeg
//! for real are in tests/e2e/streams.rs.

use std::time::{Duration, Instant};

use liveroom::app::Application;
use liveroom::config::Settings;
use liveroom::streams::{aliyun, tencent};
use reqwest::Method;
use serde_json::{Value, json};

use super::helpers::{TestApp, eventually, spawn_app_with, token};
use super::stream_support::*;

/// The value of one query argument of a URL.
fn arg_of(url: &str, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query_of(url).as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
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
