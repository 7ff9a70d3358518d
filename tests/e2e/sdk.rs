//! The spec is good enough for SDK generation: openapi-python-client generates a client from the
//! spec the app serves without a warning, and that client drives create, join, heartbeat,
//! user_list, kick, a like and a cross-room PK (tests/e2e/sdk/generated_client.py, which installs
//! what it needs into target/pyenv).

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::helpers::{spawn_app, token};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// python3 that can make the virtualenv (or the virtualenv already made), else a clear failure.
fn require_python() {
    if Path::new(ROOT).join("target/pyenv/bin/python").exists() {
        return;
    }
    let ok = std::process::Command::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "the SDK test needs python3 with venv and pip (it installs openapi-python-client into \
         target/pyenv): on Debian, apt-get install python3 python3-venv python3-pip"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_python_client_drives_a_room() {
    require_python();
    let app = spawn_app().await;
    let (anchor, viewer) = ("sdk-anchor", "sdk-viewer");
    let run = tokio::process::Command::new("python3")
        .arg(Path::new(ROOT).join("tests/e2e/sdk/generated_client.py"))
        .env("LIVEROOM_BASE_URL", &app.base)
        .env("ANCHOR_ID", anchor)
        .env("ANCHOR_TOKEN", token(anchor))
        .env("VIEWER_ID", viewer)
        .env("VIEWER_TOKEN", token(viewer))
        .kill_on_drop(true)
        .output();
    // the first run installs openapi-python-client
    let out = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("the SDK test did not finish within 10 minutes")
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tests/e2e/sdk/generated_client.py failed:\n{stderr}\n{stdout}"
    );
    let seen: Value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON line from the SDK test:\n{stdout}\n{stderr}"));

    // What the generated client saw is what the server holds.
    let live_id = seen["live_id"].as_str().expect("live_id");
    assert_eq!(seen["members"], serde_json::json!([viewer]));
    assert_eq!(seen["heartbeat_live_status"], 0);
    let room = app.info(live_id, anchor).await;
    let data = room.assert_ok();
    assert_eq!(data["title"], "SDK直播");
    assert_eq!(data["anchor_info"]["user_id"], anchor);
    assert_eq!(data["extends"], serde_json::json!({"age": "18"}));
    assert_eq!(data["pv"], 1);
    // the SDK's kick removed the viewer, and its ban holds
    let members = app.user_list(live_id, 1, 20).await;
    assert_eq!(members.assert_ok()["total_count"], 0);
    app.join(live_id, viewer).await.assert_error(403, 40301);
    // and its like and PK are the server's
    assert_eq!(data["likes"], seen["likes"]);
    let pk = seen["pk_id"].as_str().expect("pk_id");
    let read = app
        .get(&format!("/client/live/room/pk/{pk}"), &token(anchor))
        .await;
    assert_eq!(read.assert_ok()["ended_reason"], "stopped");
    // its seat was seat 1 of the other room, and the leave it sent freed it
    assert_eq!(seen["seat"], 1);
    let seat_room = seen["seat_room"].as_str().expect("seat_room");
    let seats = app
        .get(
            &format!("/client/live/room/seat/{seat_room}"),
            &token(viewer),
        )
        .await;
    assert_eq!(seats.assert_ok()["list"], serde_json::json!([]));
}
