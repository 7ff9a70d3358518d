//! The real thing end to end: nginx-rtmp asks liveroom (its hooks) whether ffmpeg may publish.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;

use super::helpers::{eventually, free_port, spawn_app_with};
use super::nginx::{NginxServer, RTMP_MODULE};
use super::stream_support::*;

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
