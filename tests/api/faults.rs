//! Redis going away: requests answer 503/50300 quickly, the process stays up, and it recovers
//! by itself when Redis is back.

use std::time::{Duration, Instant};

use super::helpers::*;

#[tokio::test]
async fn redis_down_is_503_then_recovery() {
    let mut redis = RedisServer::start(&[]);
    let mut s = settings_for(&redis);
    let app = spawn_app_with(s).await;
    let id = app.create_room("anchor", "t").await;
    app.info(&id, "anchor").await.assert_ok();

    redis.kill();
    for _ in 0..3 {
        let started = Instant::now();
        let a = app.info(&id, "anchor").await;
        a.assert_error(503, 50300);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "answered in {:?}",
            started.elapsed()
        );
    }
    let ready = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let health = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200, "the process stays up");

    // Redis returns empty (no persistence here): the service answers again by itself
    redis.restart();
    eventually(
        Duration::from_secs(10),
        "requests succeed again",
        || async {
            let a = app.get("/client/live/room/list", &token("u")).await;
            (a.status.as_u16() == 200).then_some(())
        },
    )
    .await;
    let ready = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    app.create_room("anchor", "after").await;
}

#[tokio::test]
async fn a_stalled_redis_times_out_as_503() {
    let redis = RedisServer::start(&[]);
    let mut s = settings_for(&redis);
    s.redis_timeout_ms = 500;
    let app = spawn_app_with(s).await;
    let id = app.create_room("anchor", "t").await;
    let pid = redis.pid().expect("pid");
    let stop = std::process::Command::new("kill")
        .args(["-STOP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(stop.success());
    let started = Instant::now();
    let a = app.info(&id, "anchor").await;
    let took = started.elapsed();
    let _ = std::process::Command::new("kill")
        .args(["-CONT", &pid.to_string()])
        .status();
    a.assert_error(503, 50300);
    assert!(took < Duration::from_secs(2), "answered in {took:?}");
    eventually(
        Duration::from_secs(10),
        "requests succeed after SIGCONT",
        || async {
            let a = app.info(&id, "anchor").await;
            (a.status.as_u16() == 200).then_some(())
        },
    )
    .await;
}
