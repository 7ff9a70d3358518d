//! Swagger UI as a person uses it, in a real browser: headless Debian chromium opens `/docs`,
//! authorizes with a token from `liveroom token`, runs "create room" through "Try it out" with a
//! JSON body and reads the 200 answer and its live_id on the page (tests/e2e/browser/swagger.mjs,
//! playwright-core). The screenshot is target/test-output/swagger-create-room.png.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::helpers::{SECRET, spawn_app};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn chromium() -> String {
    let path = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        Path::new(&path).exists(),
        "the browser test needs Debian's chromium at {path}: apt-get install chromium \
         (scripts/test.sh installs it), or set CHROMIUM"
    );
    path
}

/// playwright-core in tests/e2e/browser/node_modules (`npm ci` the first time).
fn require_playwright() -> PathBuf {
    let dir = Path::new(ROOT).join("tests/e2e/browser");
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "the browser test needs node and npm: apt-get install nodejs npm"
    );
    if !dir
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        let npm = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .output()
            .expect("npm runs");
        assert!(
            npm.status.success(),
            "npm ci in tests/e2e/browser failed:\n{}",
            String::from_utf8_lossy(&npm.stderr)
        );
    }
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swagger_ui_creates_a_room_in_a_real_browser() {
    let chromium = chromium();
    let dir = require_playwright();
    let app = spawn_app().await;
    let anchor = "swagger-anchor";
    let token = Command::new(env!("CARGO_BIN_EXE_liveroom"))
        .args(["token", "--sub", anchor, "--nick", "主播S"])
        .env("LIVEROOM_JWT_SECRET", SECRET)
        .output()
        .expect("liveroom token");
    assert!(token.status.success(), "{token:?}");
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();
    let shots = Path::new(ROOT).join("target/test-output");
    std::fs::create_dir_all(&shots).expect("target/test-output");
    let shot = shots.join("swagger-create-room.png");
    let _ = std::fs::remove_file(&shot);

    let run = tokio::process::Command::new("node")
        .arg(dir.join("swagger.mjs"))
        .env("LIVEROOM_BASE_URL", &app.base)
        .env("TOKEN", &token)
        .env("SCREENSHOT", &shot)
        .env("CHROMIUM", &chromium)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("the browser test did not finish within 3 minutes")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tests/e2e/browser/swagger.mjs failed:\n{stderr}\n{stdout}"
    );
    let shown: Value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON line from the browser test:\n{stdout}\n{stderr}"));

    // The page showed the 200 answer with the new room, made by the authorized user.
    assert_eq!(shown["status"], 200, "{shown}");
    assert_eq!(shown["code"], 0, "{shown}");
    assert_eq!(shown["anchor"], anchor, "{shown}");
    let live_id = shown["live_id"].as_str().expect("live_id on the page");
    let room = app.info(live_id, anchor).await;
    assert_eq!(room.assert_ok()["title"], "Swagger直播");
    let png = std::fs::read(&shot).expect("the screenshot");
    // the page shows the finished spec (links, the webhook's events), as /openapi.json
    let docs = app.client.get(format!("{}/docs", app.base)).send().await;
    let docs = docs.expect("/docs").text().await.expect("/docs");
    assert!(docs.contains("\"links\"") && docs.contains("\"x-webhooks\""));
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
}
