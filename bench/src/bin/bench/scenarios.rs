//! The scenarios: what each step sends, and what it reads back from Redis and /proc.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::future::join_all;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use liveroom::domain::ids::LiveId;
use liveroom::store::inspect::{KeyNames, script_shas};
use serde_json::{Value, json};

use super::http::{Conn, encode, request};
use super::load::{Cycle, GroupRun, Op, Pace, Rng, Source, Stats, Until, batch, judge, run_group};
use super::model::{
    AnchorsResult, Background, KeyMemory, MainResult, MainSettings, Memory, PhaseResult, RoundTrips,
};
use super::redis_stats::{self as rs, Monitor, Redis};
use super::sys::{self, LoadAvg, Snapshot};

#[derive(clap::Args, Clone)]
pub struct Common {
    /// host:port of `liveroom serve`
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// The Redis it uses
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis: String,
    /// Its LIVEROOM_REDIS_KEY_PREFIX
    #[arg(long, default_value = "lr:")]
    pub prefix: String,
    /// Its HS256 secret
    #[arg(long, env = "LIVEROOM_JWT_SECRET", hide_env_values = true)]
    pub secret: String,
    /// Its process id (for /proc: CPU seconds and RSS)
    #[arg(long)]
    pub pid: String,
    /// Clock ticks per second (`getconf CLK_TCK`)
    #[arg(long, default_value_t = 100.0)]
    pub clk_tck: f64,
    /// Directory for the JSON results
    #[arg(long, default_value = ".")]
    pub out: PathBuf,
}

#[derive(clap::Args, Clone)]
pub struct MainArgs {
    #[command(flatten)]
    pub common: Common,
    /// Viewers, each joining once and then heartbeating
    #[arg(long, default_value_t = 20_000)]
    pub viewers: usize,
    /// Rooms they are spread over
    #[arg(long, default_value_t = 200)]
    pub rooms: usize,
    /// The contract's heartbeat interval (LIVEROOM_HEARTBEAT_INTERVAL_MS)
    #[arg(long, default_value_t = 5000)]
    pub interval_ms: u64,
    /// The member window (interval × misses)
    #[arg(long, default_value_t = 15_000)]
    pub window_ms: u64,
    /// Seconds per scenario
    #[arg(long, default_value_t = 15.0)]
    pub duration: f64,
    /// Seconds per point of the offered-load sweep
    #[arg(long, default_value_t = 8.0)]
    pub sweep_duration: f64,
    /// Points of the sweep, as fractions of the closed-loop maximum
    #[arg(long, default_value = "0.25,0.5,0.75,0.8,0.9")]
    pub sweep: String,
    /// Connections of the closed-loop runs (as `wrk -c64`)
    #[arg(long, default_value_t = 64)]
    pub conns: usize,
    /// Connections of the open-loop runs (the viewers share them, as behind a load balancer)
    #[arg(long, default_value_t = 256)]
    pub open_conns: usize,
    /// Users who join, hop and leave in the churn scenario
    #[arg(long, default_value_t = 400)]
    pub churners: usize,
    /// Joins, hops and leaves per second in the churn scenario
    #[arg(long, default_value_t = 400.0)]
    pub churn_rate: f64,
    /// info, user_list, list and search per second in the reads scenario
    #[arg(long, default_value_t = 400.0)]
    pub reads_rate: f64,
    /// Requests of each kind watched with MONITOR to count round trips
    #[arg(long, default_value_t = 30)]
    pub samples: usize,
    /// Seconds of no load, to measure the background (sweeper) cost
    #[arg(long, default_value_t = 3.0)]
    pub idle: f64,
}

#[derive(clap::Args, Clone)]
pub struct AnchorsArgs {
    #[command(flatten)]
    pub common: Common,
    /// Live rooms whose anchors go silent
    #[arg(long, default_value_t = 1_000)]
    pub rooms: usize,
    /// Live rooms whose anchors keep heartbeating (once a second), holding the viewers
    #[arg(long, default_value_t = 200)]
    pub bg_rooms: usize,
    /// Viewers heartbeating meanwhile
    #[arg(long, default_value_t = 20_000)]
    pub viewers: usize,
    /// The service's LIVEROOM_ANCHOR_OFFLINE_CLOSE_MS
    #[arg(long, default_value_t = 5_000)]
    pub close_ms: u64,
    /// The service's LIVEROOM_HEARTBEAT_INTERVAL_MS
    #[arg(long, default_value_t = 5_000)]
    pub interval_ms: u64,
    #[arg(long, default_value_t = 256)]
    pub open_conns: usize,
    #[arg(long, default_value_t = 64)]
    pub conns: usize,
    /// Seconds to wait for the closes after the last deadline
    #[arg(long, default_value_t = 60.0)]
    pub timeout: f64,
}

const TOPICS: [&str; 8] = [
    "王者荣耀",
    "英雄联盟",
    "music",
    "cooking",
    "户外",
    "Talk show",
    "唱歌",
    "chess",
];

fn token(secret: &str, sub: &str, nick: &str) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        + 24 * 3600;
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": sub, "nick": nick, "exp": exp}),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign a token")
}

struct Ctx {
    addr: SocketAddr,
    redis_url: String,
    redis: Redis,
    pid: String,
    redis_pid: String,
    clk: f64,
    keys: KeyNames,
}

struct Meter {
    snap: Snapshot,
    commands: BTreeMap<String, u64>,
    redis_cpu: f64,
    load: LoadAvg,
}

impl Ctx {
    async fn new(c: &Common) -> Self {
        let mut redis = rs::connect(&c.redis).await;
        let redis_pid = rs::info(&mut redis, "server")
            .await
            .get("process_id")
            .cloned()
            .unwrap_or_default();
        Self {
            addr: c.addr,
            redis_url: c.redis.clone(),
            redis,
            redis_pid,
            pid: c.pid.clone(),
            clk: c.clk_tck,
            keys: KeyNames::new(&c.prefix),
        }
    }

    async fn meter(&mut self) -> Meter {
        Meter {
            snap: Snapshot::take(&self.pid, &self.redis_pid, self.clk),
            commands: rs::command_calls(&mut self.redis).await,
            redis_cpu: rs::cpu_secs(&mut self.redis).await,
            load: LoadAvg::now(),
        }
    }

    async fn finish(
        &mut self,
        m: Meter,
        name: &str,
        description: String,
        offered: Option<f64>,
        stats: &Stats,
        elapsed: Duration,
    ) -> PhaseResult {
        let snap = Snapshot::take(&self.pid, &self.redis_pid, self.clk);
        let commands = rs::command_calls(&mut self.redis).await;
        let redis_cpu = rs::cpu_secs(&mut self.redis).await;
        let (rss, peak) = sys::rss(&self.pid);
        let mut p = PhaseResult {
            name: name.to_owned(),
            description,
            offered,
            elapsed_s: elapsed.as_secs_f64(),
            server_cpu_s: snap.server_cpu - m.snap.server_cpu,
            bench_cpu_s: snap.bench_cpu - m.snap.bench_cpu,
            machine_cpu_s: snap.machine_busy - m.snap.machine_busy,
            runqueue_wait_s: [
                snap.waits[0] - m.snap.waits[0],
                snap.waits[1] - m.snap.waits[1],
                snap.waits[2] - m.snap.waits[2],
            ],
            redis_cpu_s: redis_cpu - m.redis_cpu,
            commands: rs::delta(&commands, &m.commands),
            server_rss: rss,
            server_rss_peak: peak,
            load_start: m.load,
            load_end: LoadAvg::now(),
            ..Default::default()
        };
        p.fill_ops(stats);
        print_phase(&p);
        p
    }
}

fn print_phase(p: &PhaseResult) {
    println!();
    println!(
        "== {} — {}  ({:.1} s, load {})",
        p.name, p.description, p.elapsed_s, p.load_end
    );
    println!(
        "   {:<22} {:>8} {:>7} {:>9} {:>7} {:>7} {:>7} {:>7} {:>8}",
        "request", "count", "errors", "req/s", "p50 ms", "p90", "p99", "p99.9", "max"
    );
    for o in &p.ops {
        println!(
            "   {:<22} {:>8} {:>7} {:>9.0} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>8.2}",
            o.op,
            o.count,
            o.error_count(),
            o.throughput,
            o.p50_ms,
            o.p90_ms,
            o.p99_ms,
            o.p999_ms,
            o.max_ms
        );
        for (label, n) in &o.errors {
            println!("     error {label}: {n}");
        }
    }
    for s in &p.error_samples {
        println!("     e.g. {s}");
    }
    println!(
        "   CPU: liveroom {:.2} s ({:.3} s per 1000 requests), Redis {:.2} s, generator {:.2} s, whole machine {:.2} s",
        p.server_cpu_s,
        p.per_1000(p.server_cpu_s),
        p.redis_cpu_s,
        p.bench_cpu_s,
        p.machine_cpu_s
    );
    let w = p.wait_us();
    println!(
        "   waiting for a CPU, µs per request: liveroom {:.0}, Redis {:.0}, generator {:.0}",
        w[0], w[1], w[2]
    );
}

/// Runs groups of workers side by side for `dur`; their statistics merged.
async fn run_groups(
    addr: SocketAddr,
    groups: Vec<(Vec<Box<dyn Source>>, Pace)>,
    dur: Duration,
) -> (Stats, Duration) {
    // time for every worker to open its connection first
    let t0 = Instant::now() + Duration::from_millis(500);
    let until = Until {
        at: t0 + dur,
        stop: Arc::new(AtomicBool::new(false)),
    };
    let runs: Vec<GroupRun> = join_all(
        groups
            .into_iter()
            .map(|(sources, pace)| run_group(addr, sources, pace, t0, until.clone())),
    )
    .await;
    let mut stats = Stats::new();
    let mut elapsed = Duration::ZERO;
    for r in &runs {
        stats.merge(&r.stats);
        elapsed = elapsed.max(r.elapsed);
    }
    (stats, elapsed)
}

async fn wait_ready(addr: SocketAddr) {
    let mut conn = Conn::new(addr);
    let req = request("GET", "/readyz", "", None);
    for _ in 0..300 {
        if let Ok((200, _)) = conn.send(&req).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("liveroom at {addr} never became ready");
}

fn data_of(body: &[u8]) -> Option<Value> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("data").cloned()
}

struct Rooms {
    ids: Vec<String>,
    anchor_tokens: Vec<String>,
}

/// Creates `n` rooms (one anchor each) and starts them: (rooms, the statistics of both steps).
async fn create_rooms(
    ctx: &Ctx,
    secret: &str,
    tag: &str,
    n: usize,
    conns: usize,
) -> (Rooms, Stats, Duration) {
    let t = Instant::now();
    let anchor_tokens: Vec<String> = (0..n)
        .map(|i| token(secret, &format!("{tag}-a{i}"), &format!("主播{i}")))
        .collect();
    let creates = anchor_tokens
        .iter()
        .enumerate()
        .map(|(i, tok)| {
            let title = format!("{} {i}号直播间", TOPICS[i % TOPICS.len()]);
            let body = json!({"title": title}).to_string();
            (
                Op::Create,
                request("POST", "/client/live/room/instance", tok, Some(&body)),
            )
        })
        .collect();
    let (created, answers) = batch(ctx.addr, conns, creates, true).await;
    let ids: Vec<String> = answers
        .iter()
        .map(|a| {
            a.as_deref()
                .and_then(data_of)
                .and_then(|d| d.get("live_id")?.as_str().map(str::to_owned))
                .unwrap_or_else(|| panic!("a create failed: {:?}", created.stats.samples))
        })
        .collect();
    let starts = ids
        .iter()
        .zip(&anchor_tokens)
        .map(|(id, tok)| {
            (
                Op::Start,
                request("PUT", &format!("/client/live/room/{id}"), tok, None),
            )
        })
        .collect();
    let (started, _) = batch(ctx.addr, conns, starts, false).await;
    let mut stats = created.stats;
    stats.merge(&started.stats);
    (Rooms { ids, anchor_tokens }, stats, t.elapsed())
}

struct Viewers {
    users: Vec<String>,
    heartbeats: Arc<Vec<Vec<u8>>>,
    joins: Arc<Vec<Vec<u8>>>,
}

fn viewers(secret: &str, tag: &str, n: usize, rooms: &[String]) -> Viewers {
    let users: Vec<String> = (0..n).map(|i| format!("{tag}-v{i}")).collect();
    let mut heartbeats = Vec::with_capacity(n);
    let mut joins = Vec::with_capacity(n);
    for (i, user) in users.iter().enumerate() {
        let tok = token(secret, user, &format!("观众{i}"));
        let room = &rooms[i % rooms.len()];
        heartbeats.push(request(
            "GET",
            &format!("/client/live/room/heartbeat/{room}"),
            &tok,
            None,
        ));
        joins.push(request(
            "POST",
            &format!("/client/live/room/user/{room}"),
            &tok,
            None,
        ));
    }
    Viewers {
        users,
        heartbeats: Arc::new(heartbeats),
        joins: Arc::new(joins),
    }
}

fn heartbeat_sources(v: &Viewers, workers: usize) -> Vec<Box<dyn Source>> {
    Cycle::sources(
        Op::Heartbeat,
        v.heartbeats.clone(),
        v.joins.clone(),
        workers,
    )
}

/// Joins, room hops and leaves of users who come and go.
struct Churn {
    tokens: Vec<String>,
    state: Vec<Option<usize>>,
    rooms: Arc<Vec<String>>,
    at: usize,
    rng: Rng,
    pending: (usize, Option<usize>),
}

impl Source for Churn {
    fn next(&mut self, buf: &mut Vec<u8>) -> Option<Op> {
        let i = self.at % self.tokens.len();
        self.at += 1;
        let n = self.rooms.len();
        let (op, method, room, target) = match self.state[i] {
            None => {
                let r = self.rng.below(n);
                (Op::Join, "POST", r, Some(r))
            }
            Some(cur) if self.rng.next().is_multiple_of(2) => {
                let r = (cur + 1 + self.rng.below(n.max(2) - 1)) % n;
                (Op::Hop, "POST", r, Some(r))
            }
            Some(cur) => (Op::Leave, "DELETE", cur, None),
        };
        self.pending = (i, target);
        let path = format!("/client/live/room/user/{}", self.rooms[room]);
        buf.extend_from_slice(&request(method, &path, &self.tokens[i], None));
        Some(op)
    }

    fn done(&mut self, op: Op, outcome: &Result<(), String>, _body: &[u8]) {
        let (i, target) = self.pending;
        if outcome.is_ok() || op == Op::Leave {
            self.state[i] = target;
        }
    }
}

/// info, user_list, list and search, in turn, by users taken in turn.
struct Reads {
    tokens: Vec<String>,
    rooms: Arc<Vec<String>>,
    k: usize,
    rng: Rng,
}

impl Source for Reads {
    fn next(&mut self, buf: &mut Vec<u8>) -> Option<Op> {
        self.k += 1;
        let room = &self.rooms[self.rng.below(self.rooms.len())];
        let (op, path) = match self.k % 4 {
            0 => (Op::Info, format!("/client/live/room/info/{room}")),
            1 => (
                Op::UserList,
                format!("/client/live/room/user_list?live_id={room}&page_num=1&page_size=20"),
            ),
            2 => (
                Op::List,
                format!(
                    "/client/live/room/list?page_num={}&page_size=20",
                    1 + self.rng.below(3)
                ),
            ),
            _ => (
                Op::Search,
                format!(
                    "/client/live/room?keyword={}&page_num=1&page_size=20",
                    encode(TOPICS[self.rng.below(TOPICS.len())])
                ),
            ),
        };
        let token = &self.tokens[self.k % self.tokens.len()];
        buf.extend_from_slice(&request("GET", &path, token, None));
        Some(op)
    }
}

pub async fn main(a: MainArgs, threads: usize) {
    let c = &a.common;
    std::fs::create_dir_all(&c.out).expect("output directory");
    let mut ctx = Ctx::new(c).await;
    wait_ready(ctx.addr).await;
    let dur = Duration::from_secs_f64(a.duration);
    let n = a.viewers.max(1);
    let m = a.rooms.clamp(1, n);
    let storm_rate = n as f64 * 1000.0 / a.interval_ms as f64;
    let mut out = MainResult {
        settings: MainSettings {
            viewers: n,
            rooms: m,
            interval_ms: a.interval_ms,
            window_ms: a.window_ms,
            duration_s: a.duration,
            sweep_duration_s: a.sweep_duration,
            conns: a.conns,
            open_conns: a.open_conns,
            churners: a.churners,
            churn_rate: a.churn_rate,
            reads_rate: a.reads_rate,
            bench_threads: threads,
        },
        heartbeat_sha: script_shas()
            .into_iter()
            .find(|(name, _)| *name == "heartbeat")
            .map(|(_, sha)| sha)
            .unwrap_or_default(),
        ..Default::default()
    };

    // 1. The ceiling of the HTTP stack: /healthz, no Redis, the same generator.
    let healthz = Arc::new(vec![request("GET", "/healthz", "", None); a.conns]);
    let meter = ctx.meter().await;
    let (stats, el) = run_groups(
        ctx.addr,
        vec![(
            Cycle::sources(Op::Healthz, healthz, Arc::new(vec![]), a.conns),
            Pace::Closed,
        )],
        dur,
    )
    .await;
    out.healthz = ctx
        .finish(
            meter,
            "healthz ceiling",
            format!("GET /healthz, closed-loop, {} connections", a.conns),
            None,
            &stats,
            el,
        )
        .await;

    // 2. Rooms: created and started by their anchors.
    let used_before = rs::used_memory(&mut ctx.redis).await;
    let meter = ctx.meter().await;
    let (rooms, stats, el) = create_rooms(&ctx, &c.secret, "bench", m, a.conns).await;
    out.setup = ctx
        .finish(
            meter,
            "setup: rooms",
            format!(
                "{m} anchors create and start a room, {} connections",
                a.conns
            ),
            None,
            &stats,
            el,
        )
        .await;
    let used_after_rooms = rs::used_memory(&mut ctx.redis).await;
    let room_ids = Arc::new(rooms.ids.clone());

    // 3. Viewers join once.
    let v = viewers(&c.secret, "bench", n, &room_ids);
    let joins: Vec<(Op, Vec<u8>)> = v.joins.iter().map(|r| (Op::Join, r.clone())).collect();
    let meter = ctx.meter().await;
    let t = Instant::now();
    let (joined, _) = batch(ctx.addr, a.conns, joins, false).await;
    out.joins = ctx
        .finish(
            meter,
            "setup: viewers join",
            format!(
                "{n} viewers join {m} rooms ({} each), closed-loop, {} connections",
                n / m,
                a.conns
            ),
            None,
            &joined.stats,
            t.elapsed(),
        )
        .await;
    let used_after_members = rs::used_memory(&mut ctx.redis).await;
    out.memory = memory(
        &mut ctx,
        &rooms.ids[0],
        &v.users,
        used_before,
        used_after_rooms,
        used_after_members,
        m,
        n,
    )
    .await;
    out.memory.members = joined.stats.op(Op::Join).ok;

    // 4. The background: what the sweeper costs with nobody sending.
    let meter = ctx.meter().await;
    tokio::time::sleep(Duration::from_secs_f64(a.idle)).await;
    let after = ctx.meter().await;
    out.background = Background {
        seconds: a.idle,
        commands: rs::delta(&after.commands, &meter.commands),
        redis_cpu_s: after.redis_cpu - meter.redis_cpu,
        server_cpu_s: after.snap.server_cpu - meter.snap.server_cpu,
    };

    // 5. The heartbeat storm: every viewer once per interval, open-loop.
    let meter = ctx.meter().await;
    let (stats, el) = run_groups(
        ctx.addr,
        vec![(heartbeat_sources(&v, a.open_conns), Pace::Open(storm_rate))],
        dur,
    )
    .await;
    out.storm = ctx
        .finish(
            meter,
            "heartbeat storm",
            format!(
                "{n} viewers in {m} rooms, one heartbeat each per {} ms: open-loop {storm_rate:.0}/s over {} connections",
                a.interval_ms, a.open_conns
            ),
            Some(storm_rate),
            &stats,
            el,
        )
        .await;

    // 6. The same at the maximum rate, closed-loop.
    let meter = ctx.meter().await;
    let (stats, el) = run_groups(
        ctx.addr,
        vec![(heartbeat_sources(&v, a.conns), Pace::Closed)],
        dur,
    )
    .await;
    out.max = ctx
        .finish(
            meter,
            "heartbeat maximum",
            format!(
                "the same viewers' heartbeats, closed-loop, {} connections",
                a.conns
            ),
            None,
            &stats,
            el,
        )
        .await;
    let max_rate = out.max.op("heartbeat").map(|o| o.throughput).unwrap_or(0.0);

    // 7. Latency against offered load.
    let fractions: Vec<f64> = a
        .sweep
        .split(',')
        .filter_map(|f| f.trim().parse().ok())
        .collect();
    for f in fractions {
        // below n / 12 per second a viewer would wait longer than the window between beats
        let rate = (f * max_rate).max(n as f64 / 12.0);
        let meter = ctx.meter().await;
        let (stats, el) = run_groups(
            ctx.addr,
            // the connections of the maximum's run, so that the points compare with it
            vec![(heartbeat_sources(&v, a.conns), Pace::Open(rate))],
            Duration::from_secs_f64(a.sweep_duration),
        )
        .await;
        let p = ctx
            .finish(
                meter,
                &format!("sweep {:.0}%", f * 100.0),
                format!(
                    "heartbeats open-loop at {rate:.0}/s ({:.0}% of the maximum), {} connections",
                    f * 100.0,
                    a.conns
                ),
                Some(rate),
                &stats,
                el,
            )
            .await;
        out.sweep.push(p);
    }

    // 8. Churn: joins, hops and leaves at a steady rate alongside the storm.
    let churn_workers = 16.min(a.churners.max(1));
    let mut churn_sources: Vec<Box<dyn Source>> = Vec::new();
    for w in 0..churn_workers {
        let tokens: Vec<String> = (w..a.churners.max(1))
            .step_by(churn_workers)
            .map(|i| token(&c.secret, &format!("bench-c{i}"), &format!("路人{i}")))
            .collect();
        let k = tokens.len();
        churn_sources.push(Box::new(Churn {
            tokens,
            state: vec![None; k],
            rooms: room_ids.clone(),
            at: 0,
            rng: Rng::new(w as u64 + 1),
            pending: (0, None),
        }));
    }
    let meter = ctx.meter().await;
    let (stats, el) = run_groups(
        ctx.addr,
        vec![
            (heartbeat_sources(&v, a.open_conns), Pace::Open(storm_rate)),
            (churn_sources, Pace::Open(a.churn_rate)),
        ],
        dur,
    )
    .await;
    out.churn = ctx
        .finish(
            meter,
            "churn",
            format!(
                "the storm ({storm_rate:.0}/s) plus {} users joining, hopping and leaving at {:.0}/s",
                a.churners, a.churn_rate
            ),
            Some(storm_rate),
            &stats,
            el,
        )
        .await;

    // 9. Reads alongside the storm.
    let read_sources: Vec<Box<dyn Source>> = (0..16)
        .map(|w| {
            Box::new(Reads {
                // several readers per connection: each stays far below the per-user rate limit
                tokens: (0..8)
                    .map(|i| {
                        let n = w * 8 + i;
                        token(&c.secret, &format!("bench-r{n}"), &format!("读者{n}"))
                    })
                    .collect(),
                rooms: room_ids.clone(),
                k: w,
                rng: Rng::new(1000 + w as u64),
            }) as Box<dyn Source>
        })
        .collect();
    let meter = ctx.meter().await;
    let (stats, el) = run_groups(
        ctx.addr,
        vec![
            (heartbeat_sources(&v, a.open_conns), Pace::Open(storm_rate)),
            (read_sources, Pace::Open(a.reads_rate)),
        ],
        dur,
    )
    .await;
    out.reads = ctx
        .finish(
            meter,
            "reads",
            format!(
                "the storm ({storm_rate:.0}/s) plus info, user_list, list and search at {:.0}/s",
                a.reads_rate
            ),
            Some(storm_rate),
            &stats,
            el,
        )
        .await;

    // 10. Round trips per request, with MONITOR, one request at a time.
    out.round_trips = round_trips(&mut ctx, &c.secret, &rooms.ids, a.samples).await;

    // 11. What redis-benchmark replays: the heartbeat script on a real member of a real room.
    let room = &rooms.ids[0];
    let user = &v.users[0];
    let mut conn = Conn::new(ctx.addr);
    let _ = conn.send(&v.heartbeats[0]).await;
    let room_keys = ctx.keys.room(&LiveId::parse(room).expect("a live_id"));
    let entry: Option<String> = redis::cmd("HGET")
        .arg(&room_keys[3])
        .arg(user)
        .query_async(&mut ctx.redis)
        .await
        .unwrap_or(None);
    let profile = entry
        .as_deref()
        .and_then(|e| e.splitn(3, '\t').nth(2))
        .unwrap_or("{}")
        .to_owned();
    let mut lines: Vec<String> = vec![room_keys.len().to_string()];
    lines.extend(room_keys.iter().cloned());
    lines.extend([user.clone(), profile, a.window_ms.to_string()]);
    std::fs::write(c.out.join("redis-bench-args"), lines.join("\n") + "\n")
        .expect("write redis-bench-args");
    std::fs::write(c.out.join("heartbeat-sha"), &out.heartbeat_sha).expect("write heartbeat-sha");
    std::fs::write(
        c.out.join("main.json"),
        serde_json::to_string_pretty(&out).expect("json"),
    )
    .expect("write main.json");
    println!("\nwrote {}", c.out.join("main.json").display());
}

#[allow(clippy::too_many_arguments)]
async fn memory(
    ctx: &mut Ctx,
    room: &str,
    users: &[String],
    used_before: u64,
    used_after_rooms: u64,
    used_after_members: u64,
    rooms: usize,
    members: usize,
) -> Memory {
    let keys = ctx.keys.room(&LiveId::parse(room).expect("a live_id"));
    let mut room_keys = Vec::new();
    for key in &keys {
        let kind: String = redis::cmd("TYPE")
            .arg(key)
            .query_async(&mut ctx.redis)
            .await
            .unwrap_or_default();
        let len_cmd = match kind.as_str() {
            "zset" => Some("ZCARD"),
            "hash" => Some("HLEN"),
            "stream" => Some("XLEN"),
            _ => None,
        };
        let entries: u64 = match len_cmd {
            Some(cmd) => redis::cmd(cmd)
                .arg(key)
                .query_async(&mut ctx.redis)
                .await
                .unwrap_or(0),
            None => 0,
        };
        // "room:{live_…}:members" → "members zset"; the room hash has no suffix
        let suffix = key.rsplit_once('}').map(|(_, s)| s).unwrap_or("");
        let what = match suffix.strip_prefix(':') {
            Some(name) => format!("{name} ({kind})"),
            None => format!("room ({kind})"),
        };
        room_keys.push(KeyMemory {
            what,
            bytes: rs::memory_usage(&mut ctx.redis, key).await,
            encoding: rs::encoding(&mut ctx.redis, key).await,
            entries,
        });
    }
    // the users' pointers share bucket hashes: every bucket the users fall in, over the users
    let buckets: std::collections::BTreeSet<String> =
        users.iter().map(|u| ctx.keys.user_pointers(u)).collect();
    let mut total = 0u64;
    for bucket in &buckets {
        total += rs::memory_usage(&mut ctx.redis, bucket).await;
    }
    let user_hash_encoding = rs::encoding(&mut ctx.redis, &ctx.keys.user_pointers(&users[0])).await;
    let mut config = BTreeMap::new();
    for name in [
        "zset-max-listpack-entries",
        "zset-max-listpack-value",
        "hash-max-listpack-entries",
        "hash-max-listpack-value",
    ] {
        config.insert(name.to_owned(), rs::config(&mut ctx.redis, name).await);
    }
    Memory {
        rooms: rooms as u64,
        members: members as u64,
        used_before,
        used_after_rooms,
        used_after_members,
        room_keys,
        user_hash_avg: total as f64 / users.len().max(1) as f64,
        user_hash_encoding,
        config,
    }
}

/// Sends each kind of request `samples` times, one at a time, while MONITOR records what Redis
/// receives; a command belongs to the request whose send..answer window holds its timestamp.
async fn round_trips(
    ctx: &mut Ctx,
    secret: &str,
    rooms: &[String],
    samples: usize,
) -> Vec<RoundTrips> {
    let names: HashMap<String, &str> = script_shas()
        .into_iter()
        .map(|(name, sha)| (sha, name))
        .collect();
    let sweeper_scripts = [
        "claim",
        "sweep_room",
        "reschedule",
        "close_offline",
        "purge",
    ];
    let occupied = ctx.keys.sweep_due();

    let Ok(monitor) = Monitor::start(&ctx.redis_url).await else {
        eprintln!("MONITOR refused: no round-trip counts");
        return Vec::new();
    };
    let mut conn = Conn::new(ctx.addr);
    // (label, start, end) in unix seconds
    let mut windows: Vec<(&'static str, f64, f64)> = Vec::new();
    let run = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let m = rooms.len();
    for k in 0..samples {
        let user = format!("bench-rt{run}-{k}");
        let tok = token(secret, &user, &format!("样本{k}"));
        let a = &rooms[k % m];
        let b = &rooms[(k + 1) % m];
        let steps: Vec<(&'static str, Op, Vec<u8>)> = vec![
            (
                "join (first time seen)",
                Op::Join,
                request("POST", &format!("/client/live/room/user/{a}"), &tok, None),
            ),
            (
                "join (room hop)",
                Op::Hop,
                request("POST", &format!("/client/live/room/user/{b}"), &tok, None),
            ),
            (
                "leave",
                Op::Leave,
                request("DELETE", &format!("/client/live/room/user/{b}"), &tok, None),
            ),
            (
                "join",
                Op::Join,
                request("POST", &format!("/client/live/room/user/{a}"), &tok, None),
            ),
            (
                "heartbeat",
                Op::Heartbeat,
                request(
                    "GET",
                    &format!("/client/live/room/heartbeat/{a}"),
                    &tok,
                    None,
                ),
            ),
            (
                "info",
                Op::Info,
                request("GET", &format!("/client/live/room/info/{a}"), &tok, None),
            ),
            (
                "user_list (page of 20)",
                Op::UserList,
                request(
                    "GET",
                    &format!("/client/live/room/user_list?live_id={a}&page_num=1&page_size=20"),
                    &tok,
                    None,
                ),
            ),
            (
                "list (page of 20)",
                Op::List,
                request(
                    "GET",
                    "/client/live/room/list?page_num=1&page_size=20",
                    &tok,
                    None,
                ),
            ),
            (
                "search (page of 20)",
                Op::Search,
                request(
                    "GET",
                    &format!(
                        "/client/live/room?keyword={}&page_num=1&page_size=20",
                        encode(TOPICS[k % TOPICS.len()])
                    ),
                    &tok,
                    None,
                ),
            ),
            ("healthz", Op::Healthz, request("GET", "/healthz", "", None)),
            (
                "leave",
                Op::Leave,
                request("DELETE", &format!("/client/live/room/user/{a}"), &tok, None),
            ),
        ];
        for (label, op, req) in steps {
            tokio::time::sleep(Duration::from_millis(2)).await;
            let t1 = rs::unix_now();
            let ok = match conn.send(&req).await {
                Ok((status, body)) => judge(op, status, body).is_ok(),
                Err(_) => false,
            };
            let t2 = rs::unix_now();
            if ok {
                windows.push((label, t1, t2));
            } else {
                eprintln!("round trips: {label} failed; not counted");
            }
        }
    }
    let seen = monitor.finish().await;

    // per window: top-level commands (by name) and the count of script commands
    let mut top: Vec<Vec<String>> = vec![Vec::new(); windows.len()];
    let mut inner: Vec<u64> = vec![0; windows.len()];
    for cmd in &seen {
        let i = windows.partition_point(|w| w.2 < cmd.at);
        let Some(w) = windows.get(i) else { continue };
        if cmd.at < w.1 {
            continue;
        }
        if cmd.in_script {
            inner[i] += 1;
            continue;
        }
        let name = if cmd.command == "evalsha" {
            let script = names
                .get(&cmd.first_arg)
                .copied()
                .unwrap_or("(another script)");
            if sweeper_scripts.contains(&script) {
                continue;
            }
            format!("EVALSHA {script}")
        } else {
            if cmd.first_arg == occupied && cmd.command == "zrange" {
                continue;
            }
            cmd.command.to_ascii_uppercase()
        };
        top[i].push(name);
    }
    let mut labels: Vec<&'static str> = Vec::new();
    for w in &windows {
        if !labels.contains(&w.0) {
            labels.push(w.0);
        }
    }
    labels
        .into_iter()
        .map(|label| {
            let idx: Vec<usize> = (0..windows.len())
                .filter(|&i| windows[i].0 == label)
                .collect();
            let mut counts: Vec<u64> = idx.iter().map(|&i| top[i].len() as u64).collect();
            let mut inners: Vec<u64> = idx.iter().map(|&i| inner[i]).collect();
            let mut sequences: BTreeMap<String, usize> = BTreeMap::new();
            for &i in &idx {
                *sequences.entry(compress(&top[i])).or_default() += 1;
            }
            let sequence = sequences
                .into_iter()
                .max_by_key(|(_, n)| *n)
                .map(|(s, _)| s)
                .unwrap_or_default();
            RoundTrips {
                op: label.to_owned(),
                samples: idx.len(),
                top_level_median: median(&mut counts),
                top_level_max: counts.iter().copied().max().unwrap_or(0),
                in_script_median: median(&mut inners),
                sequence,
            }
        })
        .collect()
}

/// "A → B → B → B" as "A → 3 × B".
fn compress(names: &[String]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < names.len() {
        let run = names[i..].iter().take_while(|n| **n == names[i]).count();
        parts.push(if run > 1 {
            format!("{run} × {}", names[i])
        } else {
            names[i].clone()
        });
        i += run;
    }
    parts.join(" → ")
}

fn median(v: &mut [u64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0
    }
}

pub async fn anchors(a: AnchorsArgs) {
    let c = &a.common;
    std::fs::create_dir_all(&c.out).expect("output directory");
    let mut ctx = Ctx::new(c).await;
    wait_ready(ctx.addr).await;
    let interval = a.interval_ms as f64 / 1000.0;

    // Rooms whose anchors keep heartbeating (once a second), and their viewers.
    let (bg, _, _) = create_rooms(&ctx, &c.secret, "anchors-bg", a.bg_rooms.max(1), a.conns).await;
    let stop = Arc::new(AtomicBool::new(false));
    let forever = Until {
        at: Instant::now() + Duration::from_secs(3600),
        stop: stop.clone(),
    };
    let anchor_beats = Arc::new(
        bg.ids
            .iter()
            .zip(&bg.anchor_tokens)
            .map(|(id, tok)| {
                request(
                    "GET",
                    &format!("/client/live/room/heartbeat/{id}"),
                    tok,
                    None,
                )
            })
            .collect::<Vec<_>>(),
    );
    let beats = tokio::spawn(run_group(
        ctx.addr,
        Cycle::sources(Op::AnchorBeat, anchor_beats, Arc::new(vec![]), 16),
        Pace::Open(bg.ids.len() as f64),
        Instant::now() + Duration::from_millis(500),
        forever.clone(),
    ));
    let v = viewers(&c.secret, "anchors", a.viewers.max(1), &bg.ids);
    let joins: Vec<(Op, Vec<u8>)> = v.joins.iter().map(|r| (Op::Join, r.clone())).collect();
    let _ = batch(ctx.addr, a.conns, joins, false).await;
    let storm_rate = v.users.len() as f64 / interval;
    let meter = ctx.meter().await;
    let storm = tokio::spawn(run_group(
        ctx.addr,
        heartbeat_sources(&v, a.open_conns),
        Pace::Open(storm_rate),
        Instant::now() + Duration::from_millis(500),
        forever,
    ));
    tokio::time::sleep(Duration::from_secs(2)).await;

    // The silent rooms: created and started (the start is the anchor's last heartbeat).
    let m2 = ctx.meter().await;
    let (silent, stats, el) =
        create_rooms(&ctx, &c.secret, "anchors-silent", a.rooms.max(1), a.conns).await;
    let starts = ctx
        .finish(
            m2,
            "silent rooms: create and start",
            format!(
                "{} anchors create and start a room, then go silent",
                silent.ids.len()
            ),
            None,
            &stats,
            el,
        )
        .await;
    let hash_keys: Vec<String> = silent
        .ids
        .iter()
        .map(|id| ctx.keys.room(&LiveId::parse(id).expect("a live_id"))[0].clone())
        .collect();

    // Wait for the closes: poll the room hashes.
    let mut rows: Vec<(Option<String>, Option<i64>, Option<i64>)>;
    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut pipe = redis::pipe();
        for k in &hash_keys {
            pipe.cmd("HMGET")
                .arg(k)
                .arg("live_status")
                .arg("anchor_seen")
                .arg("ended_ms");
        }
        rows = pipe.query_async(&mut ctx.redis).await.unwrap_or_default();
        let open = rows.iter().filter(|r| r.2.is_none()).count();
        let waited = started.elapsed().as_secs_f64();
        if open == 0 || waited > a.close_ms as f64 / 1000.0 + a.timeout {
            println!("anchors: {open} rooms still open after {waited:.1} s");
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let storm = storm.await.expect("storm");
    let beats = beats.await.expect("anchor beats");
    let mut stats = storm.stats;
    stats.merge(&beats.stats);
    let during = ctx
        .finish(
            meter,
            "anchors: heartbeats meanwhile",
            format!(
                "{} viewers at {storm_rate:.0}/s and {} anchors once a second, while {} silent rooms close",
                v.users.len(),
                bg.ids.len(),
                silent.ids.len()
            ),
            Some(storm_rate),
            &stats,
            storm.elapsed,
        )
        .await;

    let close = a.close_ms as i64;
    let deadlines: Vec<i64> = rows.iter().filter_map(|r| r.1.map(|s| s + close)).collect();
    let first_deadline = deadlines.iter().copied().min().unwrap_or(0);
    let last_deadline = deadlines.iter().copied().max().unwrap_or(0);
    let lags_ms: Vec<Option<i64>> = rows
        .iter()
        .map(|r| match (r.1, r.2) {
            (Some(seen), Some(ended)) => Some(ended - (seen + close)),
            _ => None,
        })
        .collect();
    let mut ended: Vec<i64> = rows.iter().filter_map(|r| r.2).collect();
    ended.sort_unstable();
    // bursts of closes (one per sweep): (rooms, first close, last close), ms after the first
    // deadline
    let mut spans: Vec<(usize, i64, i64)> = Vec::new();
    let mut prev: Option<i64> = None;
    for &e in &ended {
        let at = e - first_deadline;
        match (prev, spans.last_mut()) {
            (Some(p), Some(span)) if e - p <= 250 => {
                span.0 += 1;
                span.2 = at;
            }
            _ => spans.push((1, at, at)),
        }
        prev = Some(e);
    }
    let waves: Vec<usize> = spans.iter().map(|s| s.0).collect();
    let mut bg_closed = 0;
    for id in &bg.ids {
        let key = ctx.keys.room(&LiveId::parse(id).expect("a live_id"))[0].clone();
        let status: Option<String> = redis::cmd("HGET")
            .arg(&key)
            .arg("live_status")
            .query_async(&mut ctx.redis)
            .await
            .unwrap_or(None);
        if status.as_deref() == Some("2") {
            bg_closed += 1;
        }
    }
    // The API's view of one closed room.
    let mut conn = Conn::new(ctx.addr);
    let req = request(
        "GET",
        &format!("/client/live/room/info/{}", silent.ids[0]),
        &silent.anchor_tokens[0],
        None,
    );
    let api_check = match conn.send(&req).await {
        Ok((200, body)) => match data_of(body) {
            Some(d) => format!(
                "GET info of a silent room: live_status {}, end_time {}",
                d["live_status"], d["end_time"]
            ),
            None => "GET info: no data".into(),
        },
        Ok((status, _)) => format!("GET info: HTTP {status}"),
        Err(e) => format!("GET info: {e}"),
    };
    let closed_lags: Vec<i64> = lags_ms.iter().flatten().copied().collect();
    println!(
        "anchors: {} of {} closed; lag max {} ms; waves {:?}; {api_check}",
        closed_lags.len(),
        lags_ms.len(),
        closed_lags.iter().max().copied().unwrap_or(0),
        waves
    );
    let out = AnchorsResult {
        rooms: silent.ids.len(),
        bg_rooms: bg.ids.len(),
        viewers: v.users.len(),
        close_ms: a.close_ms,
        closed_at_ms: ended.iter().map(|e| e - first_deadline).collect(),
        deadline_spread_ms: last_deadline - first_deadline,
        lags_ms,
        bg_closed,
        waves,
        wave_spans: spans,
        during,
        starts,
        api_check,
    };
    std::fs::write(
        c.out.join("anchors.json"),
        serde_json::to_string_pretty(&out).expect("json"),
    )
    .expect("write anchors.json");
    println!("wrote {}", c.out.join("anchors.json").display());
}
