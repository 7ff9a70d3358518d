//! The events benchmark of `scripts/bench-events.sh` (issue 28): N viewers over M rooms on one
//! replica, present either by their open event streams (stream-carried presence, no heartbeat
//! requests) or by HTTP heartbeats every few seconds (no streams), the way clients did before.
//!
//! Each run: M rooms created and started, N viewers joined; then, with `--mode streams`, N SSE
//! streams opened (liveroom RSS before and after: bytes per stream), an idle window (liveroom and
//! Redis CPU per present viewer per second, Redis commands a second), and an events window (one
//! `extends` a second, round robin over the rooms: latency from the event's write, its `at` on
//! Redis's clock, to each watcher, and how many of the expected deliveries arrived). With
//! `--mode heartbeats` the idle window has every viewer beat every `--heartbeat-secs`.
//!
//! Prints figures as markdown (and appends them to `--out`); never pass/fail.

#[allow(dead_code)]
#[path = "bench/http.rs"]
mod http;
#[allow(dead_code)]
#[path = "bench/redis_stats.rs"]
mod redis_stats;
#[allow(dead_code)]
#[path = "bench/sys.rs"]
mod sys;

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use http::Conn;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Presence carried by open event streams.
    Streams,
    /// HTTP heartbeats, no streams.
    Heartbeats,
}

#[derive(Parser)]
struct Cli {
    /// liveroom's address
    #[arg(long)]
    addr: SocketAddr,
    /// Redis URL (for INFO)
    #[arg(long)]
    redis: String,
    /// liveroom's pid (RSS, CPU)
    #[arg(long)]
    pid: String,
    /// LIVEROOM_JWT_SECRET
    #[arg(long, env = "LIVEROOM_JWT_SECRET")]
    secret: String,
    #[arg(long, default_value_t = 10_000)]
    viewers: usize,
    #[arg(long, default_value_t = 100)]
    rooms: usize,
    #[arg(long, value_enum, default_value = "streams")]
    mode: Mode,
    /// The idle window, seconds.
    #[arg(long, default_value_t = 30)]
    idle_secs: u64,
    /// The events window, seconds (one extends a second).
    #[arg(long, default_value_t = 20)]
    events_secs: u64,
    #[arg(long, default_value_t = 5)]
    heartbeat_secs: u64,
    /// A prefix for user ids, so that runs on one Redis do not meet.
    #[arg(long, default_value = "b")]
    tag: String,
    /// Markdown file the figures are appended to.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

const CLK_TCK: f64 = 100.0;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn token(secret: &str, sub: &str) -> String {
    let exp = now_ms() / 1000 + 24 * 3600;
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": sub, "nick": sub, "exp": exp}),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign a token")
}

/// Sends a request on `conn` and answers the envelope's data (panics on anything but code 0:
/// the setup must work).
async fn call(conn: &mut Conn, request: &[u8]) -> serde_json::Value {
    let (status, body) = conn.send(request).await.expect("request sent");
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    assert!(status == 200 && v["code"] == 0, "{status}: {v}");
    v["data"].clone()
}

/// Runs `f` over `items`, `at_once` at a time, each worker with a connection of its own.
async fn over<T, F, Fut>(addr: SocketAddr, items: Vec<T>, at_once: usize, f: F)
where
    T: Send + 'static,
    F: Fn(Conn, T) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Conn> + Send,
{
    let queue = Arc::new(Mutex::new(items.into_iter()));
    let workers = (0..at_once).map(|_| {
        let (queue, f) = (queue.clone(), f.clone());
        tokio::spawn(async move {
            let mut conn = Conn::new(addr);
            loop {
                let next = queue.lock().ok().and_then(|mut q| q.next());
                let Some(item) = next else { break };
                conn = f(conn, item).await;
            }
        })
    });
    futures_util::future::join_all(workers).await;
}

/// Opens one event stream and follows it, recording the latency of every extends_updated.
async fn watch(
    addr: SocketAddr,
    room: String,
    token: String,
    opened: Arc<AtomicU64>,
    latencies: Arc<Mutex<Histogram<u64>>>,
    permit: tokio::sync::OwnedSemaphorePermit,
) {
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return;
    };
    let head = format!(
        "GET /client/live/room/events/{room} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    drop(token);
    if s.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 2048];
    // the head
    loop {
        let Ok(n) = s.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = http::find(&buf, b"\r\n\r\n") {
            if !buf.starts_with(b"HTTP/1.1 200") {
                eprintln!(
                    "stream refused: {}",
                    String::from_utf8_lossy(&buf[..end.min(200)])
                );
                return;
            }
            buf.drain(..end + 4);
            break;
        }
    }
    opened.fetch_add(1, Ordering::Relaxed);
    drop(permit);
    buf.shrink_to_fit();
    loop {
        let Ok(n) = s.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        let now = now_ms();
        buf.extend_from_slice(&chunk[..n]);
        while let Some(end) = http::find(&buf, b"\n\n") {
            let frame = &buf[..end];
            if http::find(frame, b"extends_updated").is_some()
                && let Some(at) = http::find(frame, b"\"at\":")
            {
                let digits: String = frame[at + 5..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .map(|b| *b as char)
                    .collect();
                if let Ok(at) = digits.parse::<u64>()
                    && let Ok(mut h) = latencies.lock()
                {
                    let _ = h.record(now.saturating_sub(at).max(1));
                }
            }
            buf.drain(..end + 2);
        }
        if buf.is_empty() {
            buf = Vec::new(); // an idle stream holds no buffer
        }
    }
}

async fn metric(addr: SocketAddr, name: &str) -> Option<u64> {
    let mut conn = Conn::new(addr);
    let (_, body) = conn
        .send(&http::request("GET", "/metrics", "", None))
        .await
        .ok()?;
    String::from_utf8_lossy(body).lines().find_map(|l| {
        l.strip_prefix(name)?
            .strip_prefix(' ')?
            .trim()
            .parse::<f64>()
            .ok()
            .map(|v| v as u64)
    })
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let addr = cli.addr;
    let mut out = String::new();
    let mut say = |line: String| {
        println!("{line}");
        out.push_str(&line);
        out.push('\n');
    };
    let mut redis = redis_stats::connect(&cli.redis).await;
    let tag = cli.tag.clone();

    // rooms, started
    let anchors: Vec<(String, String)> = (0..cli.rooms)
        .map(|r| {
            let t = token(&cli.secret, &format!("{tag}-anchor-{r}"));
            (format!("{tag}-anchor-{r}"), t)
        })
        .collect();
    let rooms = Arc::new(Mutex::new(Vec::new()));
    {
        let rooms = rooms.clone();
        over(addr, anchors.clone(), 16, move |mut conn, (_, t)| {
            let rooms = rooms.clone();
            async move {
                let body = json!({"title": "bench events"}).to_string();
                let data = call(
                    &mut conn,
                    &http::request("POST", "/client/live/room/instance", &t, Some(&body)),
                )
                .await;
                let id = data["live_id"].as_str().unwrap_or("").to_owned();
                call(
                    &mut conn,
                    &http::request("PUT", &format!("/client/live/room/{id}"), &t, None),
                )
                .await;
                if let Ok(mut r) = rooms.lock() {
                    r.push((id, t));
                }
                conn
            }
        })
        .await;
    }
    let rooms: Vec<(String, String)> = rooms.lock().map(|r| r.clone()).unwrap_or_default();
    // viewers, joined
    let viewers: Vec<(String, String)> = (0..cli.viewers)
        .map(|v| {
            (
                rooms[v % rooms.len()].0.clone(),
                token(&cli.secret, &format!("{tag}-viewer-{v}")),
            )
        })
        .collect();
    let joined = Instant::now();
    over(
        addr,
        viewers.clone(),
        64,
        |mut conn, (room, t)| async move {
            call(
                &mut conn,
                &http::request("POST", &format!("/client/live/room/user/{room}"), &t, None),
            )
            .await;
            conn
        },
    )
    .await;
    say(format!(
        "### {} viewers over {} rooms, mode {}\n\njoined in {:.1} s",
        cli.viewers,
        cli.rooms,
        if cli.mode == Mode::Streams {
            "streams (stream-carried presence)"
        } else {
            "HTTP heartbeats every 5 s, no streams"
        },
        joined.elapsed().as_secs_f64()
    ));

    let latencies = Arc::new(Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 600_000, 3).expect("histogram"),
    ));
    let (rss_before, _) = sys::rss(&cli.pid);
    let mut stop_beats: Option<tokio::sync::watch::Sender<bool>> = None;
    match cli.mode {
        Mode::Streams => {
            let opened = Arc::new(AtomicU64::new(0));
            let started = Instant::now();
            // at most 256 streams opening at once
            let opening = Arc::new(tokio::sync::Semaphore::new(256));
            for (room, t) in viewers.clone() {
                let Ok(permit) = opening.clone().acquire_owned().await else {
                    break;
                };
                tokio::spawn(watch(
                    addr,
                    room,
                    t,
                    opened.clone(),
                    latencies.clone(),
                    permit,
                ));
            }
            let until = Instant::now() + Duration::from_secs(60);
            while (opened.load(Ordering::Relaxed) as usize) < cli.viewers && Instant::now() < until
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
            let (rss_after, _) = sys::rss(&cli.pid);
            let n = opened.load(Ordering::Relaxed);
            say(format!(
                "streams open: {n} in {:.1} s; liveroom RSS {:.1} MiB -> {:.1} MiB: **{:.0} B per stream**",
                started.elapsed().as_secs_f64(),
                rss_before as f64 / 1048576.0,
                rss_after as f64 / 1048576.0,
                (rss_after.saturating_sub(rss_before)) as f64 / n.max(1) as f64
            ));
        }
        Mode::Heartbeats => {
            let (tx, rx) = tokio::sync::watch::channel(false);
            stop_beats = Some(tx);
            let workers = 128.min(cli.viewers.max(1));
            let period = Duration::from_secs(cli.heartbeat_secs);
            for w in 0..workers {
                let mine: Vec<(String, String)> =
                    viewers.iter().skip(w).step_by(workers).cloned().collect();
                let mut stop = rx.clone();
                tokio::spawn(async move {
                    let mut conn = Conn::new(addr);
                    let gap = period / (mine.len().max(1) as u32);
                    let mut tick = tokio::time::interval(gap);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    for (room, t) in mine.iter().cycle() {
                        tokio::select! {
                            _ = stop.changed() => return,
                            _ = tick.tick() => {}
                        }
                        let _ = conn
                            .send(&http::request(
                                "GET",
                                &format!("/client/live/room/heartbeat/{room}"),
                                t,
                                None,
                            ))
                            .await;
                    }
                });
            }
            tokio::time::sleep(period * 2).await; // the beats settle into their pace
        }
    }

    // the idle window: presence only
    let cpu0 = sys::cpu_secs(&cli.pid, CLK_TCK);
    let rcpu0 = redis_stats::cpu_secs(&mut redis).await;
    let stats0 = redis_stats::info(&mut redis, "stats").await;
    let calls0 = redis_stats::command_calls(&mut redis).await;
    let t0 = Instant::now();
    // second by second too: the steady second (the rooms' renewals, the sweep) apart from the
    // rounds that come with the streams (keep-alives every 45 s, slot renewals every minute)
    let mut seconds: Vec<(f64, f64)> = Vec::new(); // liveroom, Redis: CPU seconds of each second
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let mut last = (run_secs(&cli.pid), redis_stats::cpu_secs(&mut redis).await);
    while t0.elapsed() + Duration::from_millis(500) < Duration::from_secs(cli.idle_secs) {
        tick.tick().await;
        let now = (run_secs(&cli.pid), redis_stats::cpu_secs(&mut redis).await);
        seconds.push(((now.0 - last.0).max(0.0), (now.1 - last.1).max(0.0)));
        last = now;
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = sys::cpu_secs(&cli.pid, CLK_TCK) - cpu0;
    let rcpu = redis_stats::cpu_secs(&mut redis).await - rcpu0;
    let stats1 = redis_stats::info(&mut redis, "stats").await;
    let calls1 = redis_stats::command_calls(&mut redis).await;
    // what liveroom sends: scripts (EVALSHA), and the reads it sends as commands (scripts run
    // neither of these, so the counts are top-level calls)
    let sent: u64 = redis_stats::delta(&calls1, &calls0)
        .iter()
        .filter(|(name, _)| {
            matches!(
                name.as_str(),
                "evalsha" | "evalsha_ro" | "xread" | "xrange" | "xrevrange" | "time"
            )
        })
        .map(|(_, calls)| *calls)
        .sum();
    let mut busiest: Vec<(String, u64)> =
        redis_stats::delta(&calls1, &calls0).into_iter().collect();
    busiest.sort_by_key(|(_, calls)| std::cmp::Reverse(*calls));
    busiest.truncate(6);
    let commands = |s: &std::collections::BTreeMap<String, String>| {
        s.get("total_commands_processed")
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let present = metric(addr, "liveroom_members_online").await.unwrap_or(0);
    let per = |cpu: f64| cpu / secs / present.max(1) as f64 * 1e6;
    say(format!(
        "idle window {secs:.0} s, {present} present viewers: liveroom CPU {:.3} s ({:.2} µs per present viewer per second), \
         Redis CPU {:.3} s ({:.2} µs), **together {:.2} µs per present viewer per second**; Redis calls {:.0}/s \
         (commands, those scripts run included: {:.0}/s; most: {busiest:?})",
        cpu,
        per(cpu),
        rcpu,
        per(rcpu),
        per(cpu + rcpu),
        sent as f64 / secs,
        (commands(&stats1) - commands(&stats0)) / secs
    ));
    if !seconds.is_empty() {
        let median = |of: fn(&(f64, f64)) -> f64| {
            let mut v: Vec<f64> = seconds.iter().map(of).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (steady_l, steady_r) = (median(|s| s.0), median(|s| s.1));
        let above: f64 = seconds
            .iter()
            .map(|s| (s.0 - steady_l).max(0.0) + (s.1 - steady_r).max(0.0))
            .sum();
        let window = seconds.len() as f64;
        let above_per_viewer = above / window / present.max(1) as f64 * 1e6;
        let busiest = seconds
            .iter()
            .fold((0.0f64, 0.0f64), |m, s| (m.0.max(s.0), m.1.max(s.1)));
        say(format!(
            "second by second ({window:.0} s, /proc/PID/task/*/schedstat and Redis's INFO cpu): the steady (median) second \
             liveroom {:.1} ms, Redis {:.1} ms; the seconds above it (the keep-alive rounds, the slots' renewals, noise) \
             add **{above_per_viewer:.2} µs per present viewer per second** ({:.0} ms over the window; busiest second: \
             liveroom {:.0} ms, Redis {:.0} ms). If the steady second does not grow with the streams (compare a run at \
             another size), at 50 000 streams over the same rooms: {above_per_viewer:.2} + {:.2} = **{:.2} µs**",
            steady_l * 1e3,
            steady_r * 1e3,
            above * 1e3,
            busiest.0 * 1e3,
            busiest.1 * 1e3,
            (steady_l + steady_r) / 50_000.0 * 1e6,
            above_per_viewer + (steady_l + steady_r) / 50_000.0 * 1e6,
        ));
    }
    if let Some(stop) = stop_beats.take() {
        let _ = stop.send(true);
    }

    if cli.mode == Mode::Streams {
        // the events window: one extends a second, round robin
        let mut conn = Conn::new(addr);
        let mut sent = 0u64;
        let mut expected = 0u64;
        for k in 0..cli.events_secs {
            let (room, t) = &rooms[(k as usize) % rooms.len()];
            let body = json!({"live_id": room, "extends": {"k": k.to_string()}}).to_string();
            call(
                &mut conn,
                &http::request("PUT", "/client/live/room/extends", t, Some(&body)),
            )
            .await;
            sent += 1;
            expected += viewers.iter().filter(|(r, _)| r == room).count() as u64;
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        let h = latencies.lock().map(|h| h.clone()).expect("histogram");
        say(format!(
            "events: {sent} extends_updated, {} of {expected} deliveries; latency write -> watcher p50 {} ms, p99 {} ms, max {} ms",
            h.len(),
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.99),
            h.max()
        ));
    }
    say(String::new());
    if let Some(path) = cli.out
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
    {
        let _ = f.write_all(out.as_bytes());
    }
}

/// CPU seconds a process's threads have run, summed over /proc/PID/task/*/schedstat
/// (nanoseconds: fine enough for one second's work, where /proc/PID/stat counts 10 ms ticks). A
/// thread that ends leaves the sum: read it across windows of a server whose threads stay.
fn run_secs(pid: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0.0;
    };
    let ns: f64 = tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .sum();
    ns / 1e9
}
