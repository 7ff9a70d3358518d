//! The like-storm benchmark of `scripts/bench-likes.sh` (issue 26): one live room of N members
//! (default 100 000, joined through the API), then every member likes it, round after round, as
//! fast as one replica takes them. Prints likes/s and latency, Redis µs per like (EVALSHA's
//! commandstats, and Redis's CPU), how many likes a script call carried, the longest Redis call
//! (SLOWLOG at a low threshold), and checks that no like is lost: the room's total equals the sum
//! of what the answers say (each member's last own total) and of what was sent.
//!
//! Prints figures (and writes them as JSON); the only failure is a lost like.

#[allow(dead_code)]
#[path = "bench/http.rs"]
mod http;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use redis::aio::MultiplexedConnection as Redis;
use serde_json::{Value, json};

use http::Conn;

#[derive(Parser)]
struct Cli {
    /// The liveroom replica.
    #[arg(long)]
    addr: SocketAddr,
    #[arg(long)]
    redis: String,
    #[arg(long, env = "LIVEROOM_JWT_SECRET")]
    secret: String,
    #[arg(long, default_value_t = 100_000)]
    members: usize,
    /// Every member likes once per round.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 128)]
    concurrency: usize,
    /// SLOWLOG's threshold during the storm, µs.
    #[arg(long, default_value_t = 100)]
    slowlog_us: u64,
    /// Where the figures go (JSON).
    #[arg(long)]
    out: std::path::PathBuf,
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

/// One answer: (request index, status, envelope data, latency).
type Answer = (usize, u16, Value, Duration);

/// `n` requests, `concurrency` at a time over keep-alive connections; `make(i)` gives
/// (method, path, token, body).
async fn run<F>(addr: SocketAddr, n: usize, concurrency: usize, make: F) -> (Vec<Answer>, f64)
where
    F: Fn(usize) -> (&'static str, String, String, Option<String>) + Sync,
{
    let started = Instant::now();
    let make = &make;
    let answers = futures_util::stream::iter(0..concurrency)
        .map(|w| async move {
            let mut conn = Conn::new(addr);
            let mut out = Vec::new();
            // worker w takes requests w, w + concurrency, …: each round interleaves the crowd
            for i in (w..n).step_by(concurrency) {
                let (method, path, token, body) = make(i);
                let req = http::request(method, &path, &token, body.as_deref());
                let t = Instant::now();
                let (status, data) = match conn.send(&req).await {
                    Ok((status, body)) => {
                        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                        let data = if v["code"] == 0 { v["data"].clone() } else { v };
                        (status, data)
                    }
                    Err(_) => (0, Value::Null),
                };
                out.push((i, status, data, t.elapsed()));
            }
            out
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    (
        answers.into_iter().flatten().collect(),
        started.elapsed().as_secs_f64(),
    )
}

async fn connect(url: &str) -> Redis {
    redis::Client::open(url)
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection")
}

async fn info_field(r: &mut Redis, section: &str, field: &str) -> String {
    let text: String = redis::cmd("INFO")
        .arg(section)
        .query_async(r)
        .await
        .unwrap_or_default();
    text.lines()
        .find_map(|l| {
            l.strip_prefix(&format!("{field}:"))
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default()
}

/// (calls, usec) of EVALSHA since the last CONFIG RESETSTAT.
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

/// Redis's CPU time so far (user + system), seconds.
async fn redis_cpu(r: &mut Redis) -> f64 {
    let get = |v: String| v.parse::<f64>().unwrap_or(0.0);
    get(info_field(r, "cpu", "used_cpu_user").await)
        + get(info_field(r, "cpu", "used_cpu_sys").await)
}

/// What SLOWLOG kept of the service's calls: the longest (µs, what, likes it carried), how many,
/// their p99 (µs), and the most µs a like cost in one call (a call's time over its likes).
struct Slow {
    longest_us: i64,
    longest: String,
    longest_likes: usize,
    kept: usize,
    p99_us: i64,
    worst_us_per_like: f64,
    /// The five longest: (µs, likes carried, when: unix s).
    top: Vec<(i64, usize, i64)>,
}

async fn slow_calls(r: &mut Redis) -> Slow {
    let log: Vec<Vec<redis::Value>> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(-1)
        .query_async(r)
        .await
        .unwrap_or_default();
    let mut slow = Slow {
        longest_us: 0,
        longest: String::new(),
        longest_likes: 0,
        kept: 0,
        p99_us: 0,
        worst_us_per_like: 0.0,
        top: Vec::new(),
    };
    let mut all = Vec::new();
    for entry in log {
        let Some(redis::Value::Int(us)) = entry.get(2) else {
            continue;
        };
        let Some(redis::Value::Array(args)) = entry.get(3) else {
            continue;
        };
        let word = |i: usize| match args.get(i) {
            Some(redis::Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        };
        if !word(0).eq_ignore_ascii_case("evalsha") {
            continue; // the benchmark's own probes
        }
        // EVALSHA sha numkeys keys… window max ttl (room place, user, count)…; SLOWLOG keeps
        // at most 32 arguments, the last saying how many more there were
        let keys: usize = word(2).parse().unwrap_or(0);
        let total_args = match args.last() {
            Some(redis::Value::BulkString(b)) => {
                let last = String::from_utf8_lossy(b);
                last.strip_prefix("... (")
                    .and_then(|rest| rest.split(' ').next())
                    .and_then(|n| n.parse::<usize>().ok())
                    .map_or(args.len(), |more| args.len() - 1 + more)
            }
            _ => args.len(),
        };
        let likes = total_args.saturating_sub(3 + keys + 3) / 3;
        slow.kept += 1;
        all.push(*us);
        let at = match entry.get(1) {
            Some(redis::Value::Int(at)) => *at,
            _ => 0,
        };
        slow.top.push((*us, likes, at));
        if likes > 0 {
            slow.worst_us_per_like = slow.worst_us_per_like.max(*us as f64 / likes as f64);
        }
        if *us > slow.longest_us {
            slow.longest_us = *us;
            slow.longest = format!("{} {} {}", word(0), word(1), word(2));
            slow.longest_likes = likes;
        }
    }
    all.sort_unstable();
    slow.top.sort_unstable_by_key(|t| std::cmp::Reverse(t.0));
    slow.top.truncate(5);
    if !all.is_empty() {
        slow.p99_us = all[(all.len() * 99 / 100).min(all.len() - 1)];
    }
    slow
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let mut r = connect(&cli.redis).await;
    let n = cli.members;

    // the room, live
    let anchor = token(&cli.secret, "storm-anchor");
    let mut conn = Conn::new(cli.addr);
    let body = json!({"title": "like storm"}).to_string();
    let req = http::request("POST", "/client/live/room/instance", &anchor, Some(&body));
    let (_, answer) = conn.send(&req).await.expect("create");
    let v: Value = serde_json::from_slice(answer).unwrap_or(Value::Null);
    let id = v["data"]["live_id"].as_str().expect("live_id").to_owned();
    let req = http::request("PUT", &format!("/client/live/room/{id}"), &anchor, None);
    conn.send(&req).await.expect("start");

    // the crowd joins through the API
    let t = Instant::now();
    let tokens: Vec<String> = (0..n)
        .map(|i| token(&cli.secret, &format!("fan{i}")))
        .collect();
    println!("tokens: {n} signed in {:.1} s", t.elapsed().as_secs_f64());
    let (joined, secs) = run(cli.addr, n, cli.concurrency, |i| {
        (
            "POST",
            format!("/client/live/room/user/{id}"),
            tokens[i].clone(),
            None,
        )
    })
    .await;
    let joined_ok = joined.iter().filter(|a| a.1 == 200).count();
    println!(
        "joined: {joined_ok}/{n} members in {secs:.1} s ({:.0} joins/s)",
        joined_ok as f64 / secs
    );

    // the storm: every member likes once per round, count 1–100
    let _: redis::RedisResult<()> = redis::cmd("CONFIG")
        .arg("SET")
        .arg("slowlog-log-slower-than")
        .arg(cli.slowlog_us)
        .query_async(&mut r)
        .await;
    let _: redis::RedisResult<()> = redis::cmd("CONFIG")
        .arg("SET")
        .arg("slowlog-max-len")
        .arg(100_000)
        .query_async(&mut r)
        .await;
    let _: redis::RedisResult<()> = redis::cmd("SLOWLOG").arg("RESET").query_async(&mut r).await;
    let _: redis::RedisResult<()> = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut r)
        .await;
    let cpu_before = redis_cpu(&mut r).await;
    let storm_started = now_ms() / 1000;
    let likes = n * cli.rounds;
    let count_of = |i: usize| (i * 7 + i / n) % 100 + 1;
    let (answers, secs) = run(cli.addr, likes, cli.concurrency, |i| {
        (
            "PUT",
            format!("/client/live/room/{id}/like"),
            tokens[i % n].clone(),
            Some(json!({"count": count_of(i)}).to_string()),
        )
    })
    .await;
    let cpu = redis_cpu(&mut r).await - cpu_before;
    let (calls, usec) = evalsha_stats(&mut r).await;
    let slow = slow_calls(&mut r).await;

    let mut hist = Histogram::<u64>::new(3).expect("histogram");
    let mut ok = 0u64;
    let mut sent = 0u64;
    let mut last_own: HashMap<usize, u64> = HashMap::new();
    let mut refused: HashMap<String, u64> = HashMap::new();
    for (i, status, data, took) in &answers {
        let _ = hist.record(took.as_micros() as u64);
        match data["count"].as_u64() {
            Some(own) if *status == 200 => {
                ok += 1;
                sent += count_of(*i) as u64;
                let e = last_own.entry(i % n).or_default();
                *e = (*e).max(own);
            }
            _ => {
                *refused
                    .entry(format!("{status} {}", data["code"]))
                    .or_default() += 1
            }
        }
    }
    let answered: u64 = last_own.values().sum();
    let req = http::request(
        "GET",
        &format!("/client/live/room/info/{id}"),
        &anchor,
        None,
    );
    let (_, info) = conn.send(&req).await.expect("info");
    let info: Value = serde_json::from_slice(info).unwrap_or(Value::Null);
    let total = info["data"]["likes"].as_u64().unwrap_or(0);
    let online = info["data"]["online_count"].as_u64().unwrap_or(0);

    let per_sec = ok as f64 / secs;
    let us_per_like = usec as f64 / ok.max(1) as f64;
    let cpu_us_per_like = cpu * 1e6 / ok.max(1) as f64;
    println!("room: {online} members online");
    println!(
        "likes: {ok}/{likes} in {secs:.1} s = {per_sec:.0} likes/s through one replica ({} in flight); refused: {refused:?}",
        cli.concurrency
    );
    println!(
        "latency: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(&hist, 0.5),
        ms(&hist, 0.99),
        ms(&hist, 1.0)
    );
    println!(
        "redis: {calls} EVALSHA ({:.1} likes a call), {us_per_like:.2} µs of script time per like, {cpu_us_per_like:.2} µs of Redis CPU per like",
        ok as f64 / calls.max(1) as f64
    );
    println!(
        "longest redis call: {} µs, a call of {} likes ({}); {} calls over {} µs, their p99 {} µs; \
         at most {:.1} µs a like in any of them",
        slow.longest_us,
        slow.longest_likes,
        slow.longest,
        slow.kept,
        cli.slowlog_us,
        slow.p99_us,
        slow.worst_us_per_like
    );
    let top: Vec<String> = slow
        .top
        .iter()
        .map(|(us, likes, at)| {
            format!(
                "{us} µs ({likes} likes, {} s in)",
                at - storm_started as i64
            )
        })
        .collect();
    println!("the five longest: {}", top.join(", "));
    let lost = total != answered || total != sent;
    println!(
        "no like lost: room total {total} {} sum of the answers' own totals {answered} {} sum sent {sent}",
        if total == answered { "==" } else { "!=" },
        if total == sent { "==" } else { "!=" },
    );
    let figures = json!({
        "members": n, "joined": joined_ok, "joins_per_sec": joined_ok as f64 / secs.max(1e-9),
        "likes": ok, "likes_sent": likes, "seconds": secs, "likes_per_sec": per_sec,
        "concurrency": cli.concurrency,
        "latency_ms": {"p50": ms(&hist, 0.5), "p99": ms(&hist, 0.99), "max": ms(&hist, 1.0)},
        "evalsha_calls": calls, "likes_per_call": ok as f64 / calls.max(1) as f64,
        "script_us_per_like": us_per_like, "redis_cpu_us_per_like": cpu_us_per_like,
        "longest_call_us": slow.longest_us, "longest_call": slow.longest,
        "longest_call_likes": slow.longest_likes, "slowlog_threshold_us": cli.slowlog_us,
        "calls_over_threshold": slow.kept, "p99_of_those_us": slow.p99_us,
        "worst_us_per_like_in_a_call": slow.worst_us_per_like,
        "room_total": total, "sum_of_own_totals": answered, "sum_sent": sent, "lost": lost,
    });
    std::fs::write(
        &cli.out,
        serde_json::to_string_pretty(&figures).unwrap_or_default(),
    )
    .expect("write the figures");
    if lost {
        std::process::exit(1);
    }
}
