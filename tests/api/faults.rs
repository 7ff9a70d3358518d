//! Redis going away: requests answer 503/50300 quickly, the process stays up, and it recovers
//! by itself when Redis is back.

use std::time::{Duration, Instant};

use super::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_is_503_then_recovery() {
    let mut redis = RedisServer::start(&[]);
    let s = settings_for(&redis);
    let app = spawn_app_with(s).await;
    let id = app.create_room("anchor", "t").await;
    app.info(&id, "anchor").await.assert_ok();

    redis.kill().await;
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
    assert_eq!(app.status_of("/readyz").await, 503);
    assert_eq!(app.status_of("/healthz").await, 200, "the process stays up");

    // Redis returns empty (no persistence here): the service answers again by itself
    redis.restart().await;
    eventually(
        Duration::from_secs(10),
        "requests succeed again",
        || async {
            let a = app.get("/client/live/room/list", &token("u")).await;
            (a.status.as_u16() == 200).then_some(())
        },
    )
    .await;
    assert_eq!(app.status_of("/readyz").await, 200);
    app.create_room("anchor", "after").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_under_load_only_503_then_recovery() {
    let mut redis = RedisServer::start(&[]);
    let app = std::sync::Arc::new(spawn_app_with(settings_for(&redis)).await);
    let id = app.create_room("anchor", "load").await;
    app.join(&id, "v").await.assert_ok();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..4 {
        let (app, stop, id) = (app.clone(), stop.clone(), id.clone());
        workers.push(tokio::spawn(async move {
            let mut seen = Vec::new(); // (status, code, took)
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                let a = if w % 2 == 0 {
                    app.info(&id, "v").await
                } else {
                    app.heartbeat(&id, "v").await
                };
                seen.push((a.status.as_u16(), a.code(), started.elapsed()));
            }
            seen
        }));
    }
    let until = |n: usize| {
        let app = app.clone();
        async move {
            // let some requests through before the next step (by count, not by time)
            for _ in 0..n {
                let _ = app.get("/healthz", "").await;
            }
        }
    };
    until(50).await;
    redis.kill().await;
    until(50).await;
    redis.restart().await;
    let back = Instant::now();
    // (this Redis keeps nothing on disk: it comes back empty, so the room is gone now)
    eventually(
        Duration::from_secs(10),
        "requests succeed again",
        || async {
            (app.get("/client/live/room/list", &token("v"))
                .await
                .status
                .as_u16()
                == 200)
                .then_some(())
        },
    )
    .await;
    let recovered_in = back.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut failures = 0;
    for w in workers {
        for (status, code, took) in w.await.unwrap() {
            if status != 200 {
                failures += 1;
                // the member and the room were lost with the unpersisted Redis: 404 and 40901
                // are true answers after the restart; during the outage only 503/50300
                assert!(
                    (status, code) == (503, 50300)
                        || (status, code) == (404, 40400)
                        || (status, code) == (409, 40901),
                    "{status} {code}"
                );
                assert!(took < Duration::from_secs(2), "a failure took {took:?}");
            }
        }
    }
    assert!(failures > 0, "the outage was seen");
    assert!(
        recovered_in < Duration::from_secs(2),
        "recovered {recovered_in:?} after Redis answered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_stall_the_connection_serves_everyone_again() {
    let redis = RedisServer::start(&[]);
    let mut s = settings_for(&redis);
    s.redis_timeout_ms = 300;
    let app = std::sync::Arc::new(spawn_app_with(s).await);
    let id = app.create_room("anchor", "t").await;
    redis.signal_pause(true);
    let stalled = futures_util::future::join_all((0..20).map(|_| app.info(&id, "x"))).await;
    redis.signal_pause(false);
    for a in &stalled {
        a.assert_error(503, 50300);
    }
    eventually(Duration::from_secs(10), "served again", || async {
        (app.info(&id, "x").await.status.as_u16() == 200).then_some(())
    })
    .await;
    let after = futures_util::future::join_all((0..50).map(|_| app.info(&id, "x"))).await;
    for a in &after {
        a.assert_ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_acknowledged_before_a_crash_survive_with_aof() {
    let mut redis = RedisServer::start(&["--appendonly", "yes", "--appendfsync", "everysec"]);
    let app = spawn_app_with(settings_for(&redis)).await;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(app.create_room("anchor", &format!("durable {i}")).await);
    }
    app.start(&ids[0], "anchor").await.assert_ok();
    // the contract's promise covers what was acknowledged more than 2 s before the crash
    tokio::time::sleep(Duration::from_millis(2100)).await;
    redis.kill().await; // SIGKILL: no shutdown save
    redis.restart().await;
    eventually(Duration::from_secs(10), "served again", || async {
        (app.info(&ids[0], "x").await.status.as_u16() == 200).then_some(())
    })
    .await;
    for id in &ids {
        app.info(id, "x").await.assert_ok();
    }
    assert_eq!(app.info(&ids[0], "x").await.assert_ok()["live_status"], 1);
    let list = app
        .get(
            "/client/live/room?keyword=durable&page_size=100",
            &token("x"),
        )
        .await;
    assert_eq!(list.assert_ok()["total_count"], 20);
}

/// A TCP proxy in front of a Redis: it forwards both ways until the app sends `trigger`; from then
/// on it holds everything the app sends (Redis looks stalled), keeping what it held, until
/// `release`.
struct StallingProxy {
    url: String,
    held: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    release: tokio::sync::watch::Sender<bool>,
}

impl StallingProxy {
    async fn start(redis: &RedisServer, trigger: &'static [u8]) -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("redis://{}", listener.local_addr().unwrap());
        let upstream = format!("127.0.0.1:{}", redis.port);
        let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stalled = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (release, released) = tokio::sync::watch::channel(false);
        let held_by = held.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = tokio::net::TcpStream::connect(&upstream).await.unwrap();
                let (mut client_rx, mut client_tx) = client.into_split();
                let (mut server_rx, mut server_tx) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut server_rx, &mut client_tx).await;
                });
                let (held, stalled, mut released) =
                    (held_by.clone(), stalled.clone(), released.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match client_rx.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        let chunk = &buf[..n];
                        if chunk.windows(trigger.len()).any(|w| w == trigger) {
                            stalled.store(true, std::sync::atomic::Ordering::SeqCst);
                        }
                        if stalled.load(std::sync::atomic::Ordering::SeqCst) {
                            held.lock().unwrap().extend_from_slice(chunk);
                            let _ = released.wait_for(|r| *r).await;
                        }
                        if server_tx.write_all(chunk).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self { url, held, release }
    }

    fn held(&self) -> String {
        String::from_utf8_lossy(&self.held.lock().unwrap()).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_waits_for_one_redis_timeout_never_two() {
    let redis = RedisServer::start(&[]);
    // Redis stalls at create's intent, the second of its calls in a row (the anchor's slot
    // reserved; the intent; ...): the intent's call takes the request's Redis time, and the
    // reservation's release that follows its failure is not waited for
    let proxy = StallingProxy::start(&redis, b"idx:{rooms}:followups").await;
    let mut s = settings_for(&redis);
    s.redis_url = proxy.url.clone();
    s.redis_timeout_ms = 300;
    s.max_open_rooms_per_user = 10;
    // no sweep tick (its claim names the intents' key too) while the create runs
    s.sweep_interval_ms = 3_600_000;
    let app = spawn_app_with(s).await;
    let a = app
        .request(
            reqwest::Method::POST,
            "/client/live/room/instance",
            Some(&token("anchor")),
            Some(serde_json::json!({"title": "t"})),
        )
        .await;
    a.assert_error(503, 50300);
    let held = proxy.held();
    assert!(held.contains("idx:{rooms}:followups"), "{held}");
    assert_eq!(app.metric("liveroom_redis_unsent_total").await, Some(1));
    let _ = proxy.release.send(true);

    // stalled from a request's first call: one timeout, 503/50300
    let proxy = StallingProxy::start(&redis, b"EVALSHA").await;
    let mut s = settings_for(&redis);
    s.redis_url = proxy.url.clone();
    s.redis_timeout_ms = 300;
    let app = spawn_app_with(s).await;
    let a = app
        .info("live_0192f0c1a2b34c5d8e9f0a1b2c3d4e5f", "anchor")
        .await;
    a.assert_error(503, 50300);
    let _ = proxy.release.send(true);
}

/// What the alert rules of deploy/prometheus read (docs/operations.md): whether Redis answers,
/// when the sweep last succeeded, and the open connections and event streams against their caps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_redis_reachability_the_sweep_and_the_caps() {
    let mut redis = RedisServer::start(&[]);
    let mut s = settings_for(&redis);
    s.max_connections = 100;
    s.sse_max = 7;
    let app = spawn_app_with(s).await;
    let gauge = |name: &'static str| {
        let app = &app;
        async move {
            let text = app
                .client
                .get(format!("{}/metrics", app.base))
                .send()
                .await
                .ok()?
                .text()
                .await
                .ok()?;
            text.lines().find_map(|l| {
                l.strip_prefix(name)?
                    .strip_prefix(' ')?
                    .trim()
                    .parse::<f64>()
                    .ok()
            })
        }
    };
    assert_eq!(gauge("liveroom_redis_up").await, Some(1.0));
    assert_eq!(gauge("liveroom_connections_max").await, Some(100.0));
    assert_eq!(gauge("liveroom_sse_streams_max").await, Some(7.0));
    let now = now_secs() as f64;
    eventually(
        Duration::from_secs(10),
        "the sweep reports a success",
        || async {
            gauge("liveroom_sweep_last_success_timestamp_seconds")
                .await
                .filter(|t| *t >= now - 1.0)
        },
    )
    .await;

    // the scrapes' own connection, then three more held open, then closed again
    let base = gauge("liveroom_connections_open").await.unwrap_or(0.0);
    assert!(base >= 1.0, "the scrape's connection is open: {base}");
    let addr = app.base.trim_start_matches("http://").to_owned();
    let held: Vec<_> = (0..3)
        .map(|_| std::net::TcpStream::connect(&addr).expect("connects"))
        .collect();
    eventually(
        Duration::from_secs(10),
        "held connections count",
        || async { (gauge("liveroom_connections_open").await == Some(base + 3.0)).then_some(()) },
    )
    .await;
    drop(held);
    eventually(
        Duration::from_secs(10),
        "closed connections leave",
        || async { (gauge("liveroom_connections_open").await == Some(base)).then_some(()) },
    )
    .await;

    redis.kill().await;
    eventually(Duration::from_secs(10), "Redis is seen down", || async {
        (gauge("liveroom_redis_up").await == Some(0.0)).then_some(())
    })
    .await;
}

/// A primary demoted by a failover (here: a replica from the start) refuses writes with
/// READONLY: nothing is written, so the client is told 503/50300 (safe to retry), never 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_replica_answers_503_not_500() {
    // no 5 s wait before the replica's first sync
    let primary = RedisServer::start(&["--repl-diskless-sync-delay", "0"]);
    let port = primary.port.to_string();
    let replica = RedisServer::start(&["--replicaof", "127.0.0.1", &port]);
    eventually(Duration::from_secs(10), "the replica in sync", || async {
        let info = replica.cli(&["INFO", "replication"]).await?;
        info.contains("master_link_status:up").then_some(())
    })
    .await;
    let app = spawn_app_with(settings_for(&replica)).await;
    let a = app
        .request(
            reqwest::Method::POST,
            "/client/live/room/instance",
            Some(&token("anchor")),
            Some(serde_json::json!({"title": "t"})),
        )
        .await;
    a.assert_error(503, 50300);
}
