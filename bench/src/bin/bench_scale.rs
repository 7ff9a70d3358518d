//! The scale benchmark of `scripts/bench-scale.sh` (issue 12): a hot room and many rooms.
//!
//! - `bench_scale hot`: one room of N members (default 100 000) joined through the API; joins/s,
//!   heartbeats/s, Redis µs per heartbeat, user_list first and deep page, stop and delete
//!   latency, the longest Redis call of each phase (SLOWLOG), bytes per member; then a second
//!   crowd that lapses all at once (the script restarts the service with a short window) and
//!   how long the sweep takes to trim it.
//! - `bench_scale many`: R live rooms (default 10 000) with one viewer each across replicas;
//!   lapse announcement lag, top-level Redis commands a second while nothing is due, the
//!   anchor-offline close lag.
//!
//! Prints figures (and writes them as JSON); never pass/fail.

#[allow(dead_code)]
#[path = "bench/http.rs"]
mod http;

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use redis::aio::MultiplexedConnection as Redis;
use serde_json::{Value, json};

use http::Conn;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    step: Step,
}

#[derive(clap::Args, Clone)]
struct Common {
    /// liveroom replicas (comma-separated host:port)
    #[arg(long, value_delimiter = ',')]
    addrs: Vec<SocketAddr>,
    #[arg(long)]
    redis: String,
    #[arg(long, default_value = "lr:")]
    prefix: String,
    #[arg(long, env = "LIVEROOM_JWT_SECRET")]
    secret: String,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Where the figures go (JSON).
    #[arg(long)]
    out: std::path::PathBuf,
}

#[derive(Subcommand)]
enum Step {
    /// Phase 1 of the hot room: joins, heartbeats, user_list, stop, delete; then a second crowd
    /// joins and is left for the lapse phase.
    Hot {
        #[command(flatten)]
        common: Common,
        #[arg(long, default_value_t = 100_000)]
        members: usize,
    },
    /// Phase 2 of the hot room, after the restart with a short window: the crowd lapses at once.
    Lapse {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        live_id: String,
        #[arg(long, default_value_t = 100_000)]
        members: usize,
    },
    /// Many rooms on several replicas.
    Many {
        #[command(flatten)]
        common: Common,
        #[arg(long, default_value_t = 10_000)]
        rooms: usize,
        /// The replicas' member window (heartbeat interval × misses), ms.
        #[arg(long)]
        window_ms: u64,
        /// The replicas' anchor-offline close delay, ms.
        #[arg(long)]
        close_ms: u64,
        /// How long to count commands while nothing is due, s.
        #[arg(long, default_value_t = 10)]
        quiet_secs: u64,
    },
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

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

struct Client {
    addrs: Vec<SocketAddr>,
}

impl Client {
    /// One request on a fresh keep-alive connection of the pool `conns` (round robin over the
    /// replicas by `n`): (status, body, latency).
    async fn send(
        conn: &mut Conn,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&str>,
    ) -> (u16, Vec<u8>, Duration) {
        let req = http::request(method, path, token, body);
        let t = Instant::now();
        match conn.send(&req).await {
            Ok((status, body)) => (status, body.to_vec(), t.elapsed()),
            Err(_) => (0, Vec::new(), t.elapsed()),
        }
    }
}

/// Runs `n` requests, `concurrency` at a time over keep-alive connections; `make(i)` gives
/// (method, path, token, body). Answers (ok count, latency histogram in µs, seconds taken).
async fn run<F>(
    client: &Client,
    n: usize,
    concurrency: usize,
    make: F,
) -> (usize, Histogram<u64>, f64, Vec<(usize, Vec<u8>)>)
where
    F: Fn(usize) -> (String, String, String, Option<String>) + Sync,
{
    let started = Instant::now();
    let per = n.div_ceil(concurrency.max(1));
    let make = &make;
    let results = futures_util::stream::iter(0..concurrency)
        .map(|w| async move {
            let mut conn = Conn::new(client.addrs[w % client.addrs.len()]);
            let mut hist = Histogram::<u64>::new(3).expect("histogram");
            let mut ok = 0;
            let mut bodies = Vec::new();
            for i in (w * per)..((w + 1) * per).min(n) {
                let (method, path, token, body) = make(i);
                let (status, body, took) =
                    Client::send(&mut conn, &method, &path, &token, body.as_deref()).await;
                let _ = hist.record(took.as_micros() as u64);
                if status == 200 && http::envelope_code(&body) == Some(0) {
                    ok += 1;
                }
                bodies.push((i, body));
            }
            (ok, hist, bodies)
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    let mut hist = Histogram::<u64>::new(3).expect("histogram");
    let mut ok = 0;
    let mut bodies = Vec::new();
    for (o, h, b) in results {
        ok += o;
        let _ = hist.add(h);
        bodies.extend(b);
    }
    (ok, hist, started.elapsed().as_secs_f64(), bodies)
}

async fn connect(url: &str) -> Redis {
    redis::Client::open(url)
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection")
}

/// The longest call since the last reset (µs and what), then resets.
async fn longest_call(r: &mut Redis) -> (i64, String) {
    let log: Vec<Vec<redis::Value>> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(-1)
        .query_async(r)
        .await
        .unwrap_or_default();
    let _: redis::RedisResult<()> = redis::cmd("SLOWLOG").arg("RESET").query_async(r).await;
    let mut best = (0, String::new());
    let mut over = 0;
    for entry in log {
        let us = match entry.get(2) {
            Some(redis::Value::Int(us)) => *us,
            _ => continue,
        };
        let what = match entry.get(3) {
            Some(redis::Value::Array(args)) => args
                .iter()
                .take(2)
                .filter_map(|a| match a {
                    redis::Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join(" "),
            _ => String::new(),
        };
        // the benchmark's own probes (SLOWLOG, MEMORY USAGE, INFO, set-up) are not the service's
        let command = what.split(' ').next().unwrap_or("").to_ascii_lowercase();
        if matches!(
            command.as_str(),
            "slowlog" | "memory" | "info" | "config" | "flushall" | "dbsize" | "scan" | "debug"
        ) {
            continue;
        }
        over += 1;
        if us > best.0 {
            best = (us, what);
        }
    }
    // how rare the longest is: every service call over SLOWLOG's threshold (1 ms)
    if over > 0 {
        best.1 = format!("{}; {over} service calls over 1 ms", best.1);
    }
    best
}

async fn info_field(r: &mut Redis, section: &str, field: &str) -> String {
    let text: String = redis::cmd("INFO")
        .arg(section)
        .query_async(r)
        .await
        .unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_owned))
        .unwrap_or_default()
}

/// (calls, usec) of EVALSHA so far.
async fn evalsha_stats(r: &mut Redis) -> (u64, u64) {
    let line = info_field(r, "commandstats", "cmdstat_evalsha").await;
    let get = |k: &str| {
        line.split(',')
            .find_map(|p| p.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (get("calls"), get("usec"))
}

/// Top-level commands Redis has run (all types).
/// Top-level commands Redis runs for `during` (its MONITOR feed, leaving out the commands run
/// inside scripts, which it shows as coming from `lua`).
async fn top_level_commands(redis_url: &str, during: Duration) -> u64 {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let addr = redis_url
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    let Ok(mut stream) = tokio::net::TcpStream::connect(&addr).await else {
        return 0;
    };
    if stream.write_all(b"MONITOR\r\n").await.is_err() {
        return 0;
    }
    let mut lines = BufReader::new(stream).lines();
    let mut count = 0;
    let until = tokio::time::Instant::now() + during;
    while let Ok(Ok(Some(line))) = tokio::time::timeout_at(until, lines.next_line()).await {
        let from = line.split(']').next().unwrap_or("");
        if line.starts_with('+') && line != "+OK" && !from.ends_with("lua") {
            count += 1;
        }
    }
    count
}

async fn total_commands(r: &mut Redis) -> u64 {
    info_field(r, "stats", "total_commands_processed")
        .await
        .trim()
        .parse()
        .unwrap_or(0)
}

async fn used_memory(r: &mut Redis) -> i64 {
    info_field(r, "memory", "used_memory")
        .await
        .trim()
        .parse()
        .unwrap_or(0)
}

async fn memory_usage(r: &mut Redis, key: &str) -> i64 {
    redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(key)
        .arg("SAMPLES")
        .arg(0)
        .query_async::<Option<i64>>(r)
        .await
        .ok()
        .flatten()
        .unwrap_or(0)
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

fn lat(h: &Histogram<u64>) -> Value {
    json!({"p50_ms": ms(h, 0.5), "p99_ms": ms(h, 0.99), "max_ms": ms(h, 1.0)})
}

async fn create_live_room(c: &Common, client: &Client, anchor: &str, title: &str) -> String {
    let t = token(&c.secret, anchor);
    let mut conn = Conn::new(client.addrs[0]);
    let body = json!({"title": title}).to_string();
    let (_, answer, _) = Client::send(
        &mut conn,
        "POST",
        "/client/live/room/instance",
        &t,
        Some(&body),
    )
    .await;
    let v: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
    let id = v["data"]["live_id"].as_str().unwrap_or_default().to_owned();
    Client::send(
        &mut conn,
        "PUT",
        &format!("/client/live/room/{id}"),
        &t,
        None,
    )
    .await;
    id
}

async fn join_crowd(c: &Common, client: &Client, id: &str, tag: &str, n: usize) -> (usize, f64) {
    let tokens: Vec<String> = (0..n)
        .map(|i| token(&c.secret, &format!("{tag}{i}")))
        .collect();
    let (ok, _, secs, _) = run(client, n, c.concurrency, |i| {
        (
            "POST".into(),
            format!("/client/live/room/user/{id}"),
            tokens[i].clone(),
            None,
        )
    })
    .await;
    (ok, secs)
}

async fn hot(c: Common, members: usize) {
    let client = Client {
        addrs: c.addrs.clone(),
    };
    let mut r = connect(&c.redis).await;
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("slowlog-log-slower-than")
        .arg(1000)
        .query_async(&mut r)
        .await
        .unwrap_or(());
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("slowlog-max-len")
        .arg(10_000)
        .query_async(&mut r)
        .await
        .unwrap_or(());
    let mut phases = serde_json::Map::new();
    let id = create_live_room(&c, &client, "hot-anchor", "hot room").await;
    longest_call(&mut r).await;
    let mem_before = used_memory(&mut r).await;

    // joins
    let (ok, secs) = join_crowd(&c, &client, &id, "h", members).await;
    let mem_after = used_memory(&mut r).await;
    let (us, what) = longest_call(&mut r).await;
    println!(
        "joins: {ok}/{members} in {secs:.1} s = {:.0}/s; longest Redis call {us} µs ({what})",
        ok as f64 / secs
    );
    phases.insert(
        "join".into(),
        json!({"ok": ok, "per_sec": ok as f64 / secs, "longest_us": us, "longest": what}),
    );
    let bytes_per_member = (mem_after - mem_before) as f64 / members as f64;
    let key = |suffix: &str| format!("{}room:{{{id}}}{suffix}", c.prefix);
    let parts = json!({
        "members_zset": memory_usage(&mut r, &key(":members")).await as f64 / members as f64,
        "join_order": memory_usage(&mut r, &key(":joins")).await as f64 / members as f64,
        "entries_hash": memory_usage(&mut r, &key(":entries")).await as f64 / members as f64,
        // the users' pointers share 4096 bucket hashes (issue 27): one bucket, whole
        "user_pointer_bucket": memory_usage(
            &mut r,
            &liveroom::store::inspect::KeyNames::new(&c.prefix).user_pointers("h1")
        )
        .await,
    });
    println!("memory: {bytes_per_member:.0} bytes per member (used_memory delta); by key: {parts}");

    // heartbeats: every member once
    let tokens: Vec<String> = (0..members)
        .map(|i| token(&c.secret, &format!("h{i}")))
        .collect();
    let (calls0, usec0) = evalsha_stats(&mut r).await;
    let (ok, hist, secs, _) = run(&client, members, c.concurrency, |i| {
        (
            "GET".into(),
            format!("/client/live/room/heartbeat/{id}"),
            tokens[i].clone(),
            None,
        )
    })
    .await;
    let (calls1, usec1) = evalsha_stats(&mut r).await;
    let (us, what) = longest_call(&mut r).await;
    let redis_us = (usec1 - usec0) as f64 / (calls1 - calls0).max(1) as f64;
    println!(
        "heartbeats: {ok}/{members} in {secs:.1} s = {:.0}/s, p99 {:.2} ms; Redis {redis_us:.1} µs per EVALSHA; longest call {us} µs ({what})",
        ok as f64 / secs,
        ms(&hist, 0.99)
    );
    phases.insert(
        "heartbeat".into(),
        json!({"ok": ok, "per_sec": ok as f64 / secs, "latency": lat(&hist),
               "redis_us_per_call": redis_us, "longest_us": us, "longest": what}),
    );

    // user_list: the first page and the deepest
    let viewer = token(&c.secret, "h0");
    for (name, page) in [("user_list_first", 1), ("user_list_deep", members / 20)] {
        let (ok, hist, _, _) = run(&client, 200, 4, |_| {
            (
                "GET".into(),
                format!("/client/live/room/user_list?live_id={id}&page_num={page}&page_size=20"),
                viewer.clone(),
                None,
            )
        })
        .await;
        let (us, what) = longest_call(&mut r).await;
        println!(
            "{name} (page {page}): {ok}/200 ok, p50 {:.2} ms p99 {:.2} ms; longest call {us} µs ({what})",
            ms(&hist, 0.5),
            ms(&hist, 0.99)
        );
        phases.insert(
            name.into(),
            json!({"page": page, "latency": lat(&hist), "longest_us": us, "longest": what}),
        );
    }

    // stop, and the release of the crowd after it
    let anchor = token(&c.secret, "hot-anchor");
    let mut conn = Conn::new(client.addrs[0]);
    let (status, _, took) = Client::send(
        &mut conn,
        "POST",
        &format!("/client/live/room/{id}"),
        &anchor,
        None,
    )
    .await;
    let released_at = Instant::now();
    let leaving = key(":leaving");
    loop {
        let exists: i64 = redis::cmd("EXISTS")
            .arg(&leaving)
            .query_async(&mut r)
            .await
            .unwrap_or(0);
        if exists == 0 || released_at.elapsed() > Duration::from_secs(300) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let release_secs = released_at.elapsed().as_secs_f64();
    let (us, what) = longest_call(&mut r).await;
    println!(
        "stop: HTTP {status} in {:.1} ms; members released in {release_secs:.1} s; longest call {us} µs ({what})",
        took.as_secs_f64() * 1000.0
    );
    phases.insert(
        "stop".into(),
        json!({"status": status, "ms": took.as_secs_f64() * 1000.0, "release_secs": release_secs,
               "longest_us": us, "longest": what}),
    );
    let (status, _, took) = Client::send(
        &mut conn,
        "DELETE",
        &format!("/client/live/room/instance/{id}"),
        &anchor,
        None,
    )
    .await;
    let (us, what) = longest_call(&mut r).await;
    println!(
        "delete: HTTP {status} in {:.1} ms; longest call {us} µs ({what})",
        took.as_secs_f64() * 1000.0
    );
    phases.insert(
        "delete".into(),
        json!({"status": status, "ms": took.as_secs_f64() * 1000.0, "longest_us": us, "longest": what}),
    );

    // a second crowd, for the lapse phase (after the restart with a short window)
    let lapse_id = create_live_room(&c, &client, "lapse-anchor", "lapse room").await;
    let (ok, _) = join_crowd(&c, &client, &lapse_id, "l", members).await;
    println!("lapse crowd: {ok} joined room {lapse_id}");
    let out = json!({
        "members": members, "bytes_per_member": bytes_per_member, "bytes_by_key": parts,
        "phases": phases, "lapse_room": lapse_id,
    });
    let _ = std::fs::write(
        &c.out,
        serde_json::to_string_pretty(&out).unwrap_or_default(),
    );
    // the script reads the lapse room's id from here
    println!("LAPSE_ROOM={lapse_id}");
}

async fn lapse(c: Common, id: String, members: usize) {
    let mut r = connect(&c.redis).await;
    longest_call(&mut r).await;
    let started = Instant::now();
    let key = format!("{}room:{{{id}}}:members", c.prefix);
    loop {
        let card: i64 = redis::cmd("ZCARD")
            .arg(&key)
            .query_async(&mut r)
            .await
            .unwrap_or(0);
        if card == 0 || started.elapsed() > Duration::from_secs(600) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let (us, what) = longest_call(&mut r).await;
    println!(
        "lapse: {members} members trimmed in {secs:.1} s after the restart; longest call {us} µs ({what})"
    );
    let out = json!({"members": members, "trim_secs": secs, "longest_us": us, "longest": what});
    let _ = std::fs::write(
        &c.out,
        serde_json::to_string_pretty(&out).unwrap_or_default(),
    );
}

/// The room's events of one kind: (at ms, user_id).
async fn events_of(r: &mut Redis, key: &str, kind: &str) -> Vec<(u64, String)> {
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(key)
        .arg("-")
        .arg("+")
        .query_async(r)
        .await
        .unwrap_or_default();
    entries
        .into_iter()
        .filter_map(|(_, fields)| {
            let data = fields.into_iter().find(|(k, _)| k == "data")?.1;
            let v: Value = serde_json::from_str(&data).ok()?;
            (v["type"] == kind).then(|| {
                (
                    v["at"].as_u64().unwrap_or(0),
                    v["user_id"].as_str().unwrap_or("").to_owned(),
                )
            })
        })
        .collect()
}

fn quantiles(mut v: Vec<i64>) -> Value {
    v.sort_unstable();
    let q = |p: f64| {
        if v.is_empty() {
            0
        } else {
            v[((v.len() - 1) as f64 * p).round() as usize]
        }
    };
    json!({"n": v.len(), "p50_ms": q(0.5), "p99_ms": q(0.99), "max_ms": q(1.0)})
}

async fn many(c: Common, rooms: usize, window_ms: u64, close_ms: u64, quiet_secs: u64) {
    let client = Client {
        addrs: c.addrs.clone(),
    };
    let mut r = connect(&c.redis).await;
    let started = Instant::now();
    // rooms, each with its own anchor, created and started across the replicas
    let anchors: Vec<String> = (0..rooms)
        .map(|i| token(&c.secret, &format!("a{i}")))
        .collect();
    let (_, _, secs, created) = run(&client, rooms, c.concurrency, |i| {
        (
            "POST".into(),
            "/client/live/room/instance".into(),
            anchors[i].clone(),
            Some(json!({"title": format!("room {i}")}).to_string()),
        )
    })
    .await;
    println!("created {rooms} rooms in {secs:.1} s");
    let mut created: Vec<(usize, String)> = created
        .into_iter()
        .filter_map(|(i, body)| {
            let v: Value = serde_json::from_slice(&body).ok()?;
            Some((i, v["data"]["live_id"].as_str()?.to_owned()))
        })
        .collect();
    created.sort();
    let anchors: Vec<String> = created.iter().map(|(i, _)| anchors[*i].clone()).collect();
    let ids: Vec<String> = created.into_iter().map(|(_, id)| id).collect();
    let ids = &ids;
    let (ok, _, secs, _) = run(&client, ids.len(), c.concurrency, |i| {
        (
            "PUT".into(),
            format!("/client/live/room/{}", ids[i]),
            anchors[i].clone(),
            None,
        )
    })
    .await;
    println!("started {ok} rooms in {secs:.1} s");
    let viewers: Vec<String> = (0..ids.len())
        .map(|i| token(&c.secret, &format!("v{i}")))
        .collect();
    let (ok, _, secs, _) = run(&client, ids.len(), c.concurrency, |i| {
        (
            "POST".into(),
            format!("/client/live/room/user/{}", ids[i]),
            viewers[i].clone(),
            None,
        )
    })
    .await;
    println!("{ok} viewers joined, one a room, in {secs:.1} s; now everyone goes silent");
    let online_key = format!("{}stat:{{online}}", c.prefix);
    let online_peak: i64 = redis::cmd("GET")
        .arg(&online_key)
        .query_async::<Option<i64>>(&mut r)
        .await
        .ok()
        .flatten()
        .unwrap_or(0);

    // wait for every lapse (and every anchor_offline) to be announced
    let deadline = Instant::now() + Duration::from_millis(window_ms * 3 + 30_000);
    loop {
        let online: i64 = redis::cmd("GET")
            .arg(&online_key)
            .query_async::<Option<i64>>(&mut r)
            .await
            .ok()
            .flatten()
            .unwrap_or(0);
        if online <= 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let mut lags = Vec::with_capacity(ids.len());
    for id in ids {
        let key = format!("{}room:{{{id}}}:events", c.prefix);
        let joined = events_of(&mut r, &key, "member_joined").await;
        let left = events_of(&mut r, &key, "member_left").await;
        if let (Some((j, _)), Some((l, _))) = (joined.first(), left.first()) {
            lags.push(*l as i64 - (*j + window_ms) as i64);
        }
    }
    let lapse = quantiles(lags);
    println!("lapse announcement lag (member_left at − (join + window)): {lapse}");

    // quiet: nothing due until the closes
    let until_close = Duration::from_millis(close_ms).saturating_sub(started.elapsed());
    let quiet =
        Duration::from_secs(quiet_secs).min(until_close.saturating_sub(Duration::from_secs(2)));
    let c0 = total_commands(&mut r).await;
    let top_level = top_level_commands(&c.redis, quiet).await;
    let c1 = total_commands(&mut r).await;
    let secs = quiet.as_secs_f64().max(0.001);
    let per_sec = top_level as f64 / secs;
    // total_commands_processed counts the commands run inside scripts too (minus this INFO)
    let inner_per_sec = c1.saturating_sub(c0).saturating_sub(1) as f64 / secs;
    println!(
        "quiet: {per_sec:.1} top-level Redis commands a second from {} replicas while nothing is due ({rooms} live rooms; {inner_per_sec:.1} a second counting those inside scripts)",
        c.addrs.len()
    );

    // the anchor-offline closes
    let live_key = format!("{}idx:{{rooms}}:live", c.prefix);
    let deadline = Instant::now() + Duration::from_millis(close_ms * 2 + 60_000);
    loop {
        let live: i64 = redis::cmd("ZCARD")
            .arg(&live_key)
            .query_async(&mut r)
            .await
            .unwrap_or(0);
        if live == 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut lags = Vec::with_capacity(ids.len());
    for id in ids {
        let key = format!("{}room:{{{id}}}", c.prefix);
        let (seen, ended): (Option<i64>, Option<i64>) = redis::cmd("HMGET")
            .arg(&key)
            .arg("anchor_seen")
            .arg("ended_ms")
            .query_async(&mut r)
            .await
            .unwrap_or((None, None));
        if let (Some(seen), Some(ended)) = (seen, ended) {
            lags.push(ended - (seen + close_ms as i64));
        }
    }
    let close = quantiles(lags);
    println!("anchor-offline close lag (ended − (anchor seen + close delay)): {close}");
    let out = json!({
        "rooms": rooms, "replicas": c.addrs.len(), "window_ms": window_ms, "close_ms": close_ms,
        "members_online_peak": online_peak, "lapse_lag": lapse,
        "quiet_commands_per_sec": per_sec, "quiet_commands_per_sec_with_script_inner": inner_per_sec,
        "close_lag": close,
    });
    let _ = std::fs::write(
        &c.out,
        serde_json::to_string_pretty(&out).unwrap_or_default(),
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    match Cli::parse().step {
        Step::Hot { common, members } => hot(common, members).await,
        Step::Lapse {
            common,
            live_id,
            members,
        } => lapse(common, live_id, members).await,
        Step::Many {
            common,
            rooms,
            window_ms,
            close_ms,
            quiet_secs,
        } => many(common, rooms, window_ms, close_ms, quiet_secs).await,
    }
}
