//! Three `liveroom serve` processes behind nginx (round robin, the configuration of
//! deploy/nginx/liveroom.conf): a scenario whose every step reaches another replica, the sweeper
//! on all three, and a rolling restart under steady traffic without a failed request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use super::helpers::*;
use super::nginx::NginxServer;
use super::replica::{Replica, through};

fn upstream(replicas: &[Replica]) -> String {
    let servers: String = replicas
        .iter()
        .map(|r| format!("    server 127.0.0.1:{} max_fails=0;\n", r.port))
        .collect();
    format!("upstream liveroom {{\n{servers}}}\n")
}

fn nginx_in_front(replicas: &[Replica]) -> (NginxServer, String) {
    let port = free_port();
    let shared = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx/liveroom.conf");
    let conf = format!(
        "http {{\n access_log off;\n client_body_temp_path tmp;\n proxy_temp_path tmp;\n{}include {shared};\n}}\n",
        upstream(replicas)
    );
    let listen = format!("listen 127.0.0.1:{port};\n");
    let nginx = NginxServer::start_with(&conf, &[("liveroom-listen.conf", listen)]);
    (nginx, format!("http://127.0.0.1:{port}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_step_on_another_replica() {
    let settings = test_settings();
    let extra = [
        ("LIVEROOM_HEARTBEAT_INTERVAL_MS", "100"),
        ("LIVEROOM_ANCHOR_OFFLINE_CLOSE_MS", "800"),
    ];
    let replicas: Vec<Replica> = (0..3).map(|_| Replica::start(&settings, &extra)).collect();
    let (_nginx, base) = nginx_in_front(&replicas);
    let lb = through(&base, &settings);

    // round robin: consecutive requests reach replicas 1, 2, 3, 1, ...
    let id = lb.create_room("anchor", "多副本 room").await;
    lb.start(&id, "anchor").await.assert_ok();
    lb.join(&id, "viewer").await.assert_ok();
    lb.heartbeat(&id, "viewer").await.assert_ok();
    let list = lb.get("/client/live/room/list", &token("x")).await;
    assert_eq!(list.assert_ok()["list"][0]["live_id"], id.as_str());
    let found = lb
        .get("/client/live/room?keyword=多副本", &token("x"))
        .await;
    assert_eq!(found.assert_ok()["total_count"], 1);
    let other = lb.create_room("anchor-2", "other").await;
    lb.start(&other, "anchor-2").await.assert_ok();
    lb.join(&other, "viewer").await.assert_ok(); // the hop
    lb.heartbeat(&id, "viewer").await.assert_error(409, 40901);
    assert_eq!(lb.online_count(&id).await, 0);
    assert_eq!(lb.online_count(&other).await, 1);
    lb.stop(&id, "anchor").await.assert_ok();
    assert_eq!(lb.info(&id, "x").await.assert_ok()["live_status"], 2);

    // the anchor of `other` goes silent: all three sweepers see it; the room closes once
    let closed = eventually(Duration::from_secs(20), "auto-close", || async {
        let d = lb.info(&other, "x").await.assert_ok().clone();
        (d["live_status"] == 2).then_some(d)
    })
    .await;
    let ver = shared_redis()
        .cli(&["HGET", &lb.key(&format!("room:{{{other}}}")), "ver"])
        .await
        .unwrap();
    assert_eq!(ver.trim(), "\"3\"", "created, started, closed once");
    assert_eq!(closed["online_count"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_under_traffic_fails_no_request() {
    let settings = test_settings();
    let mut replicas: Vec<Replica> = (0..3).map(|_| Replica::start(&settings, &[])).collect();
    let (_nginx, base) = nginx_in_front(&replicas);
    let lb = Arc::new(through(&base, &settings));
    let id = lb.create_room("anchor", "steady").await;
    lb.start(&id, "anchor").await.assert_ok();

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut traffic = Vec::new();
    for worker in 0..4 {
        let (lb, stop, sent, failures, id) = (
            lb.clone(),
            stop.clone(),
            sent.clone(),
            failures.clone(),
            id.clone(),
        );
        traffic.push(tokio::spawn(async move {
            let user = format!("viewer-{worker}");
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let (method, path, body): (Method, String, Option<Value>) = match i % 4 {
                    0 => (Method::POST, format!("/client/live/room/user/{id}"), None),
                    1 => (
                        Method::GET,
                        format!("/client/live/room/heartbeat/{id}"),
                        None,
                    ),
                    2 => (Method::GET, "/client/live/room/list".to_owned(), None),
                    _ => (
                        Method::POST,
                        "/client/live/room/instance".to_owned(),
                        Some(json!({"title": "r"})),
                    ),
                };
                let resp = lb
                    .client
                    .request(method.clone(), format!("{}{path}", lb.base))
                    .header("Authorization", format!("Bearer {}", token(&user)))
                    .json(&body.unwrap_or(Value::Null))
                    .send()
                    .await;
                let ok = match resp {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let text = r.text().await.unwrap_or_default();
                        (status == 200)
                            .then_some(())
                            .ok_or(format!("{method} {path}: {status} {text}"))
                    }
                    Err(e) => Err(format!("{method} {path}: {e}")),
                };
                sent.fetch_add(1, Ordering::Relaxed);
                if let Err(e) = ok {
                    failures.lock().unwrap().push(e);
                }
                i += 1;
            }
        }));
    }

    let wait_for_traffic = |n: u64| {
        let sent = sent.clone();
        async move {
            let target = sent.load(Ordering::Relaxed) + n;
            eventually(Duration::from_secs(30), "traffic flows", || async {
                (sent.load(Ordering::Relaxed) >= target).then_some(())
            })
            .await;
        }
    };
    wait_for_traffic(200).await;
    for replica in replicas.iter_mut() {
        let took = replica.terminate().await;
        assert!(took < Duration::from_secs(15), "shutdown took {took:?}");
        wait_for_traffic(100).await; // two replicas carry it meanwhile
        replica.run();
        wait_for_traffic(100).await;
    }
    stop.store(true, Ordering::Relaxed);
    for t in traffic {
        t.await.unwrap();
    }
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} requests failed: {:#?}",
        failures.len(),
        sent.load(Ordering::Relaxed),
        &failures[..failures.len().min(10)]
    );
}
