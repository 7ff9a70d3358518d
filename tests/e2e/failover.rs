//! Redis failover under traffic (issue 29): two `liveroom serve` processes take joins,
//! heartbeats, room creates, starts and stops and deliver webhooks while a Redis primary is
//! SIGKILLed and a replica takes over: a Redis Cluster's master (3 masters, one replica each,
//! cluster-node-timeout 2000) or the primary Sentinel watches. What clients see is checked:
//! every failed request is 503/50300 in the envelope (never a 500), and service resumes without
//! restarting liveroom, with the sweep, webhook delivery and an event stream opened before the
//! kill carrying on. What it cost is printed
//! and written to `target/test-output/failover-*.txt`: the unavailability window, the failed
//! requests and their slowest answer, and the acknowledged writes lost (asynchronous replication
//! can lose them: docs/operations.md, "Persistence and failover"). Durations are reported, not
//! asserted.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde_json::json;

use super::helpers::*;
use super::replica::{Replica, through};

/// Redis persistence as production runs it (docs/operations.md), and no 5 s wait before a
/// replica's first sync.
const AOF: [&str; 6] = [
    "--appendonly",
    "yes",
    "--appendfsync",
    "everysec",
    "--repl-diskless-sync-delay",
    "0",
];
/// Workers sending requests at once, over both replicas.
const WORKERS: usize = 4;
/// Rooms live from the start, each with its viewers.
const ROOMS: usize = 6;
const VIEWERS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Heartbeat,
    Join,
    Create,
    Start,
    Stop,
}

struct Outcome {
    at: Instant,
    took: Duration,
    op: Op,
    status: u16,
    code: i64,
}

impl Outcome {
    fn ok(&self) -> bool {
        self.status == 200 && self.code == 0
    }
}

/// What the traffic saw, and the writes acknowledged to it.
#[derive(Default)]
struct Log {
    outcomes: Vec<Outcome>,
    /// (room, user, acknowledged at)
    joined: Vec<(String, String, Instant)>,
    /// (room, acknowledged at)
    created: Vec<(String, Instant)>,
    stopped: Vec<(String, Instant)>,
    /// Members told 40901 although their join had been acknowledged: a join lost.
    lost_joins: BTreeSet<(String, String)>,
}

/// A webhook receiver that keeps every body.
async fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    use poem::EndpointExt;
    use poem::web::Data;
    #[poem::handler]
    async fn hook(body: String, bodies: Data<&Arc<Mutex<Vec<String>>>>) -> poem::http::StatusCode {
        if let Ok(mut b) = bodies.0.lock() {
            b.push(body);
        }
        poem::http::StatusCode::NO_CONTENT
    }
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let port = listener.local_addr().expect("bound").port();
    let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).expect("acceptor");
    let app = poem::Route::new()
        .at("/hook", poem::post(hook))
        .data(bodies.clone());
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
    (format!("http://127.0.0.1:{port}/hook"), bodies)
}

/// Settings of the replicas' processes: a key prefix of their own, no quotas.
fn replica_settings() -> liveroom::config::Settings {
    let mut s = liveroom::cli::default_settings();
    s.redis_key_prefix = unique_prefix();
    s.jwt_secret = Some(SECRET.to_owned());
    s.max_open_rooms_per_user = 0;
    s
}

/// The replicas' extra environment: webhooks to `hook`, a 10 s presence window (members keep
/// beating through a failover of a few seconds without lapsing).
fn replica_env(hook: &str) -> Vec<(&'static str, String)> {
    vec![
        ("LIVEROOM_WEBHOOK_URL", hook.to_owned()),
        ("LIVEROOM_WEBHOOK_SECRET", "hook-secret".to_owned()),
        ("LIVEROOM_HEARTBEAT_INTERVAL_MS", "2000".to_owned()),
        ("LIVEROOM_HEARTBEAT_MISSES", "5".to_owned()),
        ("LIVEROOM_REDIS_TIMEOUT_MS", "1500".to_owned()),
    ]
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

async fn gauge(app: &TestApp, name: &str) -> Option<f64> {
    let text = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// One worker's requests until `stop`: mostly heartbeats of the members, a join of a new viewer
/// every tenth request, and (worker 0) a room's life, create → start → stop, every twentieth.
async fn work(
    w: usize,
    apps: Arc<[TestApp; 2]>,
    rooms: Arc<Vec<String>>,
    members: Arc<Mutex<Vec<(String, String)>>>,
    log: Arc<Mutex<Log>>,
    stop: Arc<AtomicBool>,
) {
    let record = |op: Op, started: Instant, a: &Answer| {
        if let Ok(mut log) = log.lock() {
            log.outcomes.push(Outcome {
                at: started,
                took: started.elapsed(),
                op,
                status: a.status.as_u16(),
                code: a.code(),
            });
        }
    };
    let mut i = w;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let app = &apps[i % 2];
        if i.is_multiple_of(10) {
            let room = &rooms[i % rooms.len()];
            let user = format!("n{w}-{i}");
            let started = Instant::now();
            let a = app.join(room, &user).await;
            record(Op::Join, started, &a);
            if a.status == 200 {
                if let Ok(mut log) = log.lock() {
                    log.joined
                        .push((room.clone(), user.clone(), Instant::now()));
                }
                if let Ok(mut m) = members.lock() {
                    m.push((room.clone(), user));
                }
            }
        } else if w == 0 && i % 20 == 5 {
            let anchor = format!("a{w}-{i}");
            let started = Instant::now();
            let a = app
                .request(
                    Method::POST,
                    "/client/live/room/instance",
                    Some(&token(&anchor)),
                    Some(json!({"title": "failover"})),
                )
                .await;
            record(Op::Create, started, &a);
            let Some(id) = a.body["data"]["live_id"].as_str().map(str::to_owned) else {
                continue;
            };
            if let Ok(mut log) = log.lock() {
                log.created.push((id.clone(), Instant::now()));
            }
            let started = Instant::now();
            let a = app.start(&id, &anchor).await;
            record(Op::Start, started, &a);
            if a.status != 200 {
                continue;
            }
            let started = Instant::now();
            let a = app.stop(&id, &anchor).await;
            record(Op::Stop, started, &a);
            if a.status == 200
                && let Ok(mut log) = log.lock()
            {
                log.stopped.push((id, Instant::now()));
            }
        } else {
            let member = members
                .lock()
                .ok()
                .and_then(|m| m.get((i * 7 + w) % m.len().max(1)).cloned());
            let Some((room, user)) = member else { continue };
            let started = Instant::now();
            let a = app.heartbeat(&room, &user).await;
            record(Op::Heartbeat, started, &a);
            if a.code() == 40901 {
                // the member's acknowledged join is gone: count it, and join again as a
                // client does
                if let Ok(mut log) = log.lock() {
                    log.lost_joins.insert((room.clone(), user.clone()));
                }
                let started = Instant::now();
                let a = app.join(&room, &user).await;
                record(Op::Join, started, &a);
            }
        }
        // a steady request rate, not a flood of the 2 shared cores
        tokio::time::sleep(Duration::from_millis(4)).await;
    }
}

/// Runs traffic through `apps`, calls `kill` once it flows, waits until it flows again, and
/// checks and reports what clients saw.
async fn failover_under_traffic<K, F>(
    name: &str,
    apps: [TestApp; 2],
    bodies: Arc<Mutex<Vec<String>>>,
    kill: K,
) where
    K: FnOnce() -> F,
    F: std::future::Future<Output = ()>,
{
    let apps = Arc::new(apps);
    let mut rooms = Vec::new();
    let mut members = Vec::new();
    for r in 0..ROOMS {
        let anchor = format!("anchor-{r}");
        let id = apps[r % 2].create_room(&anchor, "failover").await;
        apps[r % 2].start(&id, &anchor).await.assert_ok();
        for v in 0..VIEWERS {
            let user = format!("v{r}-{v}");
            apps[v % 2].join(&id, &user).await.assert_ok();
            members.push((id.clone(), user));
        }
        rooms.push(id);
    }
    // a watcher of the first room on replica 0, open across the failover (its reader has a
    // Redis connection of its own, which must follow the new primary too)
    let watched = Arc::new(Mutex::new(String::new()));
    let mut stream = apps[0]
        .client
        .get(format!(
            "{}/client/live/room/events/{}",
            apps[0].base, rooms[0]
        ))
        .header("Authorization", format!("Bearer {}", token("anchor-0")))
        .timeout(Duration::from_secs(600))
        .send()
        .await
        .expect("the event stream opens");
    assert_eq!(stream.status().as_u16(), 200);
    let into = watched.clone();
    let watcher = tokio::spawn(async move {
        while let Ok(Some(chunk)) = stream.chunk().await {
            if let Ok(mut w) = into.lock() {
                w.push_str(&String::from_utf8_lossy(&chunk));
            }
        }
    });
    let rooms = Arc::new(rooms);
    let members = Arc::new(Mutex::new(members));
    let log = Arc::new(Mutex::new(Log::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            tokio::spawn(work(
                w,
                apps.clone(),
                rooms.clone(),
                members.clone(),
                log.clone(),
                stop.clone(),
            ))
        })
        .collect();
    let successes_since = |since: Instant| {
        log.lock()
            .map(|l| {
                l.outcomes
                    .iter()
                    .filter(|o| o.at >= since && o.ok())
                    .count()
            })
            .unwrap_or(0)
    };
    let began = Instant::now();
    eventually(
        Duration::from_secs(20),
        "traffic flows before the kill",
        || async { (successes_since(began) >= 300).then_some(()) },
    )
    .await;

    let killed = Instant::now();
    kill().await;
    let kill_took = killed.elapsed();
    // resumed: 300 successes since the last failure, over both replicas and every room
    let resumed = eventually(
        Duration::from_secs(45),
        "service resumes after the failover",
        || async {
            let log = log.lock().ok()?;
            let last_failure = log
                .outcomes
                .iter()
                .filter(|o| o.at + o.took >= killed && o.status >= 500)
                .map(|o| o.at)
                .max()?;
            let after = log
                .outcomes
                .iter()
                .filter(|o| o.at > last_failure && o.ok())
                .count();
            (after >= 300).then_some(last_failure)
        },
    )
    .await;
    let resumed_unix = unix_now();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }

    // the sweep carries on, on both replicas
    for app in apps.iter() {
        eventually(
            Duration::from_secs(20),
            "the sweep succeeds after the failover",
            || async {
                gauge(app, "liveroom_sweep_last_success_timestamp_seconds")
                    .await
                    .filter(|t| *t > resumed_unix)
            },
        )
        .await;
    }
    // webhook delivery carries on: a room started now is announced
    let fresh = apps[1].create_room("anchor-after", "after").await;
    apps[1].start(&fresh, "anchor-after").await.assert_ok();
    eventually(
        Duration::from_secs(20),
        "a webhook after the failover",
        || async {
            bodies
                .lock()
                .ok()?
                .iter()
                .any(|b| b.contains(&fresh))
                .then_some(())
        },
    )
    .await;

    // the watcher opened before the kill sees an event written after it
    apps[1].join(&rooms[0], "joined-after").await.assert_ok();
    eventually(
        Duration::from_secs(20),
        "the old stream carries a new event",
        || async { watched.lock().ok()?.contains("joined-after").then_some(()) },
    )
    .await;
    watcher.abort();

    // acknowledged writes, checked now through the API
    let (created, stopped, joined, lost_joins) = {
        let log = log.lock().expect("log");
        (
            log.created.clone(),
            log.stopped.clone(),
            log.joined.clone(),
            log.lost_joins.clone(),
        )
    };
    let mut rooms_lost = Vec::new();
    for (id, at) in &created {
        let a = apps[0].info(id, "reader").await;
        if a.status == 404 {
            rooms_lost.push((id.clone(), *at < killed));
        }
    }
    let mut stops_lost = Vec::new();
    for (id, at) in &stopped {
        let a = apps[0].info(id, "reader").await;
        if a.status == 200 && a.body["data"]["live_status"] != 2 {
            stops_lost.push((id.clone(), *at < killed));
        }
    }
    let joined_before: BTreeSet<(String, String)> = joined
        .iter()
        .filter(|(_, _, at)| *at < killed)
        .map(|(r, u, _)| (r.clone(), u.clone()))
        .collect();

    // what clients saw
    let log = log.lock().expect("log");
    // a request in flight at the kill counts as after it
    let after_kill: Vec<&Outcome> = log
        .outcomes
        .iter()
        .filter(|o| o.at + o.took >= killed)
        .collect();
    let failed: Vec<&&Outcome> = after_kill.iter().filter(|o| o.status >= 500).collect();
    let mut by_answer: BTreeMap<(u16, i64), usize> = BTreeMap::new();
    for o in log.outcomes.iter().filter(|o| !o.ok()) {
        *by_answer.entry((o.status, o.code)).or_default() += 1;
    }
    let mut failed_by_op: BTreeMap<String, usize> = BTreeMap::new();
    for o in &failed {
        *failed_by_op.entry(format!("{:?}", o.op)).or_default() += 1;
    }
    let slowest_failure = failed
        .iter()
        .map(|o| (o.took, o.op))
        .max()
        .unwrap_or((Duration::ZERO, Op::Heartbeat));
    let slowest_success = after_kill
        .iter()
        .filter(|o| o.ok())
        .map(|o| (o.took, o.op))
        .max()
        .unwrap_or((Duration::ZERO, Op::Heartbeat));
    let first_failure = failed.iter().map(|o| o.at).min();
    // from the kill to the end of the last failed request
    let window = failed
        .iter()
        .map(|o| (o.at + o.took).saturating_duration_since(killed))
        .max()
        .unwrap_or_default();
    let report = format!(
        "failover ({name}): {} requests, {} after the kill\n\
         kill (SIGKILL until the node stops answering) took {kill_took:?}\n\
         first failed request began {:?} after the kill; last one began {:?} after it\n\
         unavailability window (kill to the end of the last failed request): {window:?}\n\
         failed requests: {} (by op {failed_by_op:?}); every answer that was not 200/0: {by_answer:?}\n\
         slowest failed request: {slowest_failure:?} (LIVEROOM_REDIS_TIMEOUT_MS 1500); slowest success after the kill: {slowest_success:?}\n\
         acknowledged writes lost: rooms created {} of {} ({} acknowledged before the kill), \
         stops {} of {}, joins {} of {} acknowledged before the kill (members told 40901: {})\n",
        log.outcomes.len(),
        after_kill.len(),
        first_failure.map(|f| f.duration_since(killed)),
        resumed.duration_since(killed),
        failed.len(),
        rooms_lost.len(),
        created.len(),
        rooms_lost.iter().filter(|(_, before)| *before).count(),
        stops_lost.len(),
        stopped.len(),
        lost_joins.intersection(&joined_before).count(),
        joined_before.len(),
        lost_joins.len(),
    );
    println!("{report}");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-output");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join(format!("failover-{name}.txt")), &report);

    let wrong: Vec<(u16, i64, Op)> = log
        .outcomes
        .iter()
        .filter(|o| o.status >= 500 && !(o.status == 503 && o.code == 50300))
        .map(|o| (o.status, o.code, o.op))
        .collect();
    assert!(
        wrong.is_empty(),
        "failures other than 503/50300: {wrong:?}\n{report}"
    );
    assert!(
        log.outcomes
            .iter()
            .filter(|o| o.at + o.took < killed)
            .all(|o| o.status < 500),
        "no failure before the kill\n{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_master_killed_under_traffic_fails_over_with_503s_only() {
    let mut cluster = RedisCluster::start_with(1, &AOF);
    // every replica has synced with its master before the traffic starts
    for node in &cluster.nodes {
        eventually(Duration::from_secs(30), "replicas in sync", || async {
            let info = node.cli(&["INFO", "replication"]).await?;
            (info.contains("role:master") || info.contains("master_link_status:up")).then_some(())
        })
        .await;
    }
    let (hook, bodies) = receiver().await;
    let mut settings = replica_settings();
    settings.redis_cluster = Some(cluster.seeds());
    let env = replica_env(&hook);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let replicas = [
        Replica::start(&settings, &env),
        Replica::start(&settings, &env),
    ];
    let apps = [
        through(&format!("http://127.0.0.1:{}", replicas[0].port), &settings),
        through(&format!("http://127.0.0.1:{}", replicas[1].port), &settings),
    ];
    let mut master = None;
    for (i, node) in cluster.nodes.iter().enumerate() {
        if node
            .cli(&["ROLE"])
            .await
            .is_some_and(|r| r.lines().next().is_some_and(|l| l.contains("master")))
        {
            master = Some(i);
            break;
        }
    }
    let master = master.expect("a master");
    let victim = &mut cluster.nodes[master];
    failover_under_traffic("cluster", apps, bodies, || victim.kill()).await;
    drop(replicas);
}

/// Three sentinels (quorum 2, down-after 1 s) watching a primary with one replica.
struct Sentinels {
    ports: Vec<u16>,
    _processes: Vec<Guarded>,
}

impl Sentinels {
    async fn start(primary: u16) -> Self {
        let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        Self::start_on(primary, &ports, true).await
    }

    /// Sentinels on `ports`; waits until each knows the two others (and the primary's replica
    /// when it has one).
    async fn start_on(primary: u16, on: &[u16], with_replica: bool) -> Self {
        let mut ports = Vec::new();
        let mut processes = Vec::new();
        for &port in on {
            let dir = std::env::temp_dir().join(format!("liveroom-test-sentinel-{port}"));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("a directory");
            let conf = dir.join("sentinel.conf");
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\ndir {}\n\
                     sentinel monitor primary 127.0.0.1 {primary} 2\n\
                     sentinel down-after-milliseconds primary 1000\n\
                     sentinel failover-timeout primary 10000\n\
                     sentinel parallel-syncs primary 1\n",
                    dir.display()
                ),
            )
            .expect("the sentinel's config");
            processes.push(Guarded::spawn(
                &format!("exec redis-sentinel {}", conf.display()),
                &[],
                &dir.join("sentinel.log"),
            ));
            ports.push(port);
        }
        let sentinels = Self {
            ports,
            _processes: processes,
        };
        // each knows the replica and the two other sentinels
        for &port in &sentinels.ports {
            eventually(
                Duration::from_secs(30),
                "the sentinels know each other",
                || async {
                    let known = sentinel_cli(port, &["SENTINEL", "sentinels", "primary"]).await?;
                    let replicas = sentinel_cli(port, &["SENTINEL", "replicas", "primary"]).await?;
                    (known.matches("runid").count() == 2
                        && (!with_replica || replicas.contains("slave")))
                    .then_some(())
                },
            )
            .await;
        }
        sentinels
    }

    fn addresses(&self) -> String {
        self.ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

async fn sentinel_cli(port: u16, args: &[&str]) -> Option<String> {
    let out = tokio::process::Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .await
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_primary_killed_under_traffic_fails_over_with_503s_only() {
    let mut primary = RedisServer::start(&AOF);
    let primary_port = primary.url().rsplit(':').next().unwrap_or("").to_owned();
    let replica =
        RedisServer::start(&[&AOF[..], &["--replicaof", "127.0.0.1", &primary_port]].concat());
    eventually(Duration::from_secs(30), "the replica in sync", || async {
        let info = replica.cli(&["INFO", "replication"]).await?;
        info.contains("master_link_status:up").then_some(())
    })
    .await;
    let port: u16 = primary_port.parse().expect("a port");
    let sentinels = Sentinels::start(port).await;
    let (hook, bodies) = receiver().await;
    let settings = replica_settings();
    let mut env = replica_env(&hook);
    env.push(("LIVEROOM_REDIS_SENTINELS", sentinels.addresses()));
    env.push(("LIVEROOM_REDIS_SENTINEL_MASTER", "primary".to_owned()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let replicas = [
        Replica::start(&settings, &env),
        Replica::start(&settings, &env),
    ];
    let apps = [
        through(&format!("http://127.0.0.1:{}", replicas[0].port), &settings),
        through(&format!("http://127.0.0.1:{}", replicas[1].port), &settings),
    ];
    failover_under_traffic("sentinel", apps, bodies, || primary.kill()).await;
    // the replica is the primary now
    let role = replica.cli(&["ROLE"]).await.unwrap_or_default();
    assert!(
        role.lines().next().is_some_and(|l| l.contains("master")),
        "{role}"
    );
    drop(replicas);
}

/// The primary is looked up on the first call, not at start-up: a replica whose sentinels do not
/// answer yet starts, answers 503/50300 (and /readyz 503), and serves once they name a primary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_sentinels_down_a_replica_starts_answers_503_and_serves_once_they_answer() {
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut s = replica_settings();
    s.bind = "127.0.0.1:0".parse().expect("an address");
    s.rate_limit_user_per_sec = 0;
    s.rate_limit_ip_per_sec = 0;
    s.redis_sentinels = Some(
        ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(","),
    );
    s.redis_sentinel_master = Some("primary".to_owned());
    let app = spawn_app_with(s).await;
    let list = "/client/live/room/list?page_num=1&page_size=20";
    app.get(list, &token("u")).await.assert_error(503, 50300);
    assert_eq!(app.status_of("/readyz").await, 503);

    let primary = RedisServer::start(&[]);
    let port: u16 = primary
        .url()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a port");
    let _sentinels = Sentinels::start_on(port, &ports, false).await;
    eventually(
        Duration::from_secs(20),
        "served once the sentinels answer",
        || async {
            let a = app.get(list, &token("u")).await;
            (a.status == 200).then_some(())
        },
    )
    .await;
    assert_eq!(app.status_of("/readyz").await, 200);
    let id = app.create_room("anchor", "via sentinel").await;
    app.info(&id, "anchor").await.assert_ok();
}
