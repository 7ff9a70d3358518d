//! What the stream tests share (tests/api/streams.rs and the end-to-end publish in
//! tests/e2e/streams.rs): signing settings, a room of the anchor, its push URL, URL surgery.

use liveroom::config::Settings;
use reqwest::Method;
use serde_json::{Value, json};

use super::helpers::{TestApp, now_secs, test_settings, token};

pub const HOOK_SECRET: &str = "hook-secret-for-tests";
pub const PUBLISH_KEY: &str = "publish-key-for-tests";
pub const PLAY_KEY: &str = "play-key-for-tests";
pub const ANCHOR: &str = "streamer";

pub fn stream_settings(signing: &str) -> Settings {
    let mut s = test_settings();
    s.url_signing = signing.into();
    s.publish_key = Some(PUBLISH_KEY.into());
    s.play_key = Some(PLAY_KEY.into());
    s.hook_secret = Some(HOOK_SECRET.into());
    s
}

/// Creates a room as ANCHOR with these fields (title added) and returns its live_id.
pub async fn create(app: &TestApp, fields: Value) -> String {
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
pub async fn room_as(app: &TestApp, id: &str, user: &str) -> Value {
    app.info(id, user).await.assert_ok().clone()
}

pub async fn push_url(app: &TestApp, id: &str) -> String {
    room_as(app, id, ANCHOR).await["push_url"]
        .as_str()
        .expect("push_url")
        .to_owned()
}

/// The query string of a URL (without `?`), "" when none.
pub fn query_of(url: &str) -> &str {
    url.split_once('?').map_or("", |(_, q)| q)
}

/// The URL with its last character (a hex digit of the signature) changed.
pub fn tamper(url: &str) -> String {
    let (head, last) = url.split_at(url.len() - 1);
    format!("{head}{}", if last == "0" { "1" } else { "0" })
}

pub fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .expect("time")
        .to_rfc3339()
}

pub fn now() -> i64 {
    i64::try_from(now_secs()).expect("now")
}
