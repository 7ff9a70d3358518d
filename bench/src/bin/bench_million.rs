//! The benchmark of `scripts/bench-million.sh` (issue 27): one room of a million members, on one
//! Redis or a Redis Cluster, driven through the `liveroom` library's own `Store` (the calls the
//! HTTP handlers make, without HTTP: on the 2-core machine of the other benchmarks HTTP would
//! measure the generator, not Redis).
//!
//! Phases, each with its wall time, throughput, the client's latency, Redis CPU per operation
//! (`INFO cpu` deltas over every master), EVALSHA time (`INFO commandstats`) and the longest
//! Redis calls (SLOWLOG at `--slowlog-us`, reset before the phase):
//!
//! 1. joins of M members into one live room (`Presence::join`, `--concurrency` in flight);
//! 2. memory: `used_memory` per member, `MEMORY USAGE` of each of the room's keys and of the
//!    users' pointer buckets, and on a cluster how keys, members and memory split over masters;
//! 3. heartbeats: every member once (`Presence::heartbeat`, batched by the store's batcher as a
//!    replica batches them);
//! 4. `user_list` pages of 100 at the start, middle and end of the crowd;
//! 5. stop of the room still holding them (`Rooms::stop`, O(1)) and their release by the shared
//!    sweep (two "replicas" running `liveroom::sweeper::run`, as `serve` does);
//! 6. the same members joined into a second room, then a crowd lapse: nobody beats any more, and
//!    the sweep of two replicas whose member window is short (`--lapse-window-ms`) removes all of
//!    them in bounded steps.
//!
//! Prints a Markdown report (and appends it to `--out`); never pass/fail, but a phase whose
//! calls failed says how many and the first error.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use hdrhistogram::Histogram;
use redis::Value;
use redis::aio::MultiplexedConnection as Redis;

use liveroom::config::{Config, Settings};
use liveroom::domain::ids::{LiveId, UserId};
use liveroom::domain::page::PageRequest;
use liveroom::domain::profile::{Looks, Profile};
use liveroom::domain::room::{NewRoom, NewRoomInput};
use liveroom::store::inspect::{KeyNames, script_shas};
use liveroom::store::{Connection, Store};

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T> = std::result::Result<T, Error>;

#[derive(Parser)]
struct Cli {
    /// One Redis (`redis://127.0.0.1:PORT`).
    #[arg(long, conflicts_with = "cluster")]
    redis_url: Option<String>,
    /// A Redis Cluster's seed URLs, comma-separated.
    #[arg(long)]
    cluster: Option<String>,
    /// Every master (host:port, comma-separated): where INFO, SLOWLOG and MEMORY are read.
    #[arg(long, value_delimiter = ',')]
    nodes: Vec<String>,
    /// Members joined into the room.
    #[arg(long, default_value_t = 1_000_000)]
    members: usize,
    /// Store calls in flight at once.
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// SLOWLOG's threshold during the phases, µs.
    #[arg(long, default_value_t = 1000)]
    slowlog_us: u64,
    /// The member window of the replicas that sweep the crowd's lapse (interval × misses).
    #[arg(long, default_value_t = 2000)]
    lapse_window_ms: u64,
    /// The rooms' members over this many shard rooms (issue 27; `PUT /server/live/room/{id}/shards`
    /// before the first member): 1 is the room alone.
    #[arg(long, default_value_t = 1)]
    shards: u32,
    /// Skip the second crowd and its lapse.
    #[arg(long)]
    no_lapse: bool,
    /// What this run is called in the report.
    #[arg(long, default_value = "one Redis")]
    label: String,
    /// The report is appended here too.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

const PREFIX: &str = "lr:";
/// Heartbeat interval × misses of the replicas that join and beat: 30 minutes, so that nobody
/// lapses while a million join.
const LONG_INTERVAL_MS: u64 = 5_000;
const LONG_MISSES: u64 = 360;
const PAGE: i64 = 100;
const PAGE_READS: usize = 20;

fn settings(cli: &Cli, interval_ms: u64, misses: u64) -> Settings {
    let mut s = liveroom::cli::default_settings();
    if let Some(url) = &cli.redis_url {
        s.redis_url = url.clone();
    }
    s.redis_cluster = cli.cluster.clone();
    s.redis_key_prefix = PREFIX.to_owned();
    s.jwt_secret = Some("bench-million".to_owned());
    s.heartbeat_interval_ms = interval_ms;
    s.heartbeat_misses = misses;
    // the silent anchor closes nothing during the run; one anchor makes both rooms
    s.anchor_offline_close_ms = 86_400_000;
    s.max_open_rooms_per_user = 0;
    s
}

/// A replica's store (its own connection), and its config.
async fn replica(s: Settings) -> Result<(Store, Config)> {
    let config = Config::try_from(s)?;
    let conn = Connection::open(&config.redis.target, config.redis.timeout).await?;
    let store = liveroom::app::state(&config, conn).store;
    Ok((store, config))
}

/// The shared sweep of `replicas` replicas, as `serve` runs it; stopped by the sender.
fn sweepers(replicas: &[Store], config: &Config) -> tokio::sync::watch::Sender<bool> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    for store in replicas {
        tokio::spawn(liveroom::sweeper::run(
            store.clone(),
            config.sweep_period,
            stopped.clone(),
        ));
    }
    stop
}

fn user(i: usize) -> Result<UserId> {
    Ok(UserId::parse(&format!("viewer-{i:07}"))?)
}

fn profile(i: usize) -> Result<Profile> {
    Ok(Profile {
        user_id: user(i)?,
        looks: Looks {
            nick: format!("观众{i}"),
            avatar: String::new(),
            extends: Default::default(),
        },
        admin: false,
    })
}

fn anchor() -> Result<Profile> {
    Ok(Profile {
        user_id: UserId::parse("bench-anchor")?,
        looks: Looks {
            nick: "主播".to_owned(),
            avatar: String::new(),
            extends: Default::default(),
        },
        admin: false,
    })
}

async fn live_room(store: &Store, config: &Config, title: &str, shards: u32) -> Result<LiveId> {
    let input = NewRoomInput {
        title: title.to_owned(),
        ..Default::default()
    };
    let new = NewRoom::parse(input, config.zone)?;
    let anchor = anchor()?;
    let id = store.rooms().create(new, &anchor).await?.live_id;
    if shards > 1 {
        store.rooms().set_member_shards(&id, shards).await?;
    }
    store.rooms().start(&id, &anchor.user_id).await?;
    Ok(id)
}

/// Each of a room's rooms of members (the room itself first) and its keys, in lib.lua's order.
fn rooms_of_members(id: &LiveId, shards: u32) -> Vec<(LiveId, Vec<String>)> {
    let names = KeyNames::new(PREFIX);
    (0..shards.max(1))
        .map(|s| {
            let tag = names.room_shard_tag(id, s, shards.max(1));
            let shard = LiveId::parse_member_room(&tag).unwrap_or_else(|| id.clone());
            let keys = names.room(&shard);
            (shard, keys)
        })
        .collect()
}

/// How many members each master holds (ZCARD of each room of members' members on its owner).
async fn members_per_master(nodes: &mut [Node], id: &LiveId, shards: u32) -> Result<Vec<usize>> {
    let mut per = vec![0; nodes.len()];
    for (_, keys) in rooms_of_members(id, shards) {
        let Ok(at) = owner(nodes, &keys[1]).await else {
            continue;
        };
        let n: i64 = redis::cmd("ZCARD")
            .arg(&keys[1])
            .query_async(&mut nodes[at].conn)
            .await?;
        per[at] += n.max(0) as usize;
    }
    Ok(per)
}

/// Whether any room of members of the room still holds the key at `place` (lib.lua's order).
async fn any_left(nodes: &mut [Node], id: &LiveId, shards: u32, place: usize) -> Result<bool> {
    for (_, keys) in rooms_of_members(id, shards) {
        if let Ok(at) = owner(nodes, &keys[place]).await {
            let held: i64 = redis::cmd("EXISTS")
                .arg(&keys[place])
                .query_async(&mut nodes[at].conn)
                .await?;
            if held == 1 {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Latencies in µs, up to an hour.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds")
}

/// What a phase's calls did on the client's side.
struct Driven {
    ops: usize,
    wall: Duration,
    latency: Histogram<u64>,
    errors: usize,
    first_error: Option<String>,
}

/// Runs `op(i)` for i in 0..n, `concurrency` at a time over the runtime's threads.
async fn drive<F, Fut>(n: usize, concurrency: usize, op: F) -> Result<Driven>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (op, next) = (op.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut latency = histogram();
            let (mut errors, mut first_error) = (0, None);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let t = Instant::now();
                if let Err(e) = op(i).await {
                    errors += 1;
                    first_error.get_or_insert_with(|| e.to_string());
                }
                latency.saturating_record((t.elapsed().as_micros() as u64).max(1));
            }
            (latency, errors, first_error)
        }));
    }
    let mut driven = Driven {
        ops: n,
        wall: Duration::ZERO,
        latency: histogram(),
        errors: 0,
        first_error: None,
    };
    for worker in workers {
        let (latency, errors, first_error) = worker.await?;
        driven.latency.add(&latency)?;
        driven.errors += errors;
        if driven.first_error.is_none() {
            driven.first_error = first_error;
        }
    }
    driven.wall = started.elapsed();
    Ok(driven)
}

// --- Redis, read as an operator would ---------------------------------------------------------

struct Node {
    addr: String,
    conn: Redis,
}

/// What INFO says at one moment.
#[derive(Clone, Default)]
struct Snapshot {
    cpu_s: f64,
    evalsha_calls: u64,
    evalsha_usec: u64,
    used_memory: i64,
    keys: i64,
}

async fn connect(addr: &str) -> Result<Node> {
    let conn = redis::Client::open(format!("redis://{addr}"))?
        .get_multiplexed_async_connection()
        .await?;
    Ok(Node {
        addr: addr.to_owned(),
        conn,
    })
}

async fn snapshot(node: &mut Node) -> Result<Snapshot> {
    let text: String = redis::cmd("INFO")
        .arg("cpu")
        .arg("commandstats")
        .arg("memory")
        .arg("keyspace")
        .query_async(&mut node.conn)
        .await?;
    let mut s = Snapshot::default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        match k {
            "used_cpu_sys" | "used_cpu_user" => s.cpu_s += v.trim().parse::<f64>().unwrap_or(0.0),
            "used_memory" => s.used_memory = v.trim().parse().unwrap_or(0),
            "cmdstat_evalsha" => {
                let get = |name: &str| {
                    v.split(',')
                        .find_map(|p| p.strip_prefix(&format!("{name}=")))
                        .and_then(|x| x.parse().ok())
                        .unwrap_or(0)
                };
                s.evalsha_calls = get("calls");
                s.evalsha_usec = get("usec");
            }
            "db0" => {
                s.keys = v
                    .split(',')
                    .find_map(|p| p.strip_prefix("keys="))
                    .and_then(|x| x.parse().ok())
                    .unwrap_or(0)
            }
            _ => {}
        }
    }
    Ok(s)
}

async fn snapshots(nodes: &mut [Node]) -> Result<Vec<Snapshot>> {
    let mut all = Vec::new();
    for node in nodes.iter_mut() {
        all.push(snapshot(node).await?);
    }
    Ok(all)
}

/// One SLOWLOG entry: how long, what (the script's file name for EVALSHA), on which node.
struct Slow {
    us: i64,
    what: String,
    node: String,
}

async fn slowlog_reset(nodes: &mut [Node], threshold_us: u64) -> Result<()> {
    for node in nodes.iter_mut() {
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("slowlog-log-slower-than")
            .arg(threshold_us)
            .arg("slowlog-max-len")
            .arg(1_000_000)
            .query_async(&mut node.conn)
            .await?;
        let _: () = redis::cmd("SLOWLOG")
            .arg("RESET")
            .query_async(&mut node.conn)
            .await?;
    }
    Ok(())
}

/// Every call SLOWLOG kept since the reset, longest first (the benchmark's own probes left out).
async fn slowlog(nodes: &mut [Node], scripts: &HashMap<String, &str>) -> Result<Vec<Slow>> {
    let mut all = Vec::new();
    for node in nodes.iter_mut() {
        let log: Vec<Vec<Value>> = redis::cmd("SLOWLOG")
            .arg("GET")
            .arg(-1)
            .query_async(&mut node.conn)
            .await?;
        for entry in log {
            let Some(Value::Int(us)) = entry.get(2) else {
                continue;
            };
            let args: Vec<String> = match entry.get(3) {
                Some(Value::Array(args)) => args
                    .iter()
                    .filter_map(|a| match a {
                        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let command = args
                .first()
                .map(|c| c.to_ascii_lowercase())
                .unwrap_or_default();
            if matches!(
                command.as_str(),
                "slowlog" | "memory" | "info" | "config" | "scan" | "dbsize" | "exists" | "cluster"
            ) {
                continue;
            }
            let what = match (command.as_str(), args.get(1)) {
                ("evalsha", Some(sha)) => format!(
                    "EVALSHA {}.lua (numkeys {})",
                    scripts.get(sha).copied().unwrap_or("?"),
                    args.get(2).map(String::as_str).unwrap_or("?")
                ),
                _ => args.iter().take(2).cloned().collect::<Vec<_>>().join(" "),
            };
            all.push(Slow {
                us: *us,
                what,
                node: node.addr.clone(),
            });
        }
    }
    all.sort_by_key(|s| std::cmp::Reverse(s.us));
    Ok(all)
}

/// The node that holds `key` (on a cluster the others answer MOVED).
async fn owner(nodes: &mut [Node], key: &str) -> Result<usize> {
    for (i, node) in nodes.iter_mut().enumerate() {
        let held: redis::RedisResult<i64> = redis::cmd("EXISTS")
            .arg(key)
            .query_async(&mut node.conn)
            .await;
        if held.is_ok() {
            return Ok(i);
        }
    }
    Err(format!("no node holds {key}").into())
}

async fn memory_usage(node: &mut Node, key: &str) -> Result<i64> {
    let bytes: Option<i64> = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(key)
        .arg("SAMPLES")
        .arg(0)
        .query_async(&mut node.conn)
        .await?;
    Ok(bytes.unwrap_or(0))
}

/// The keys of one node matching `pattern` (SCAN: a measurement, never a request's call).
async fn scan(node: &mut Node, pattern: &str) -> Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut node.conn)
            .await?;
        keys.extend(batch);
        if next == 0 {
            return Ok(keys);
        }
        cursor = next;
    }
}

/// The load average, and how much of the last 10 s some task waited for a core (PSI): on a
/// shared machine a Redis call's SLOWLOG time includes the time Redis waited.
fn loadavg() -> String {
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let waited = std::fs::read_to_string("/proc/pressure/cpu")
        .ok()
        .and_then(|p| {
            p.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|f| f.strip_prefix("avg10="))
                .map(|v| format!(" (CPU pressure {v} %)"))
        })
        .unwrap_or_default();
    format!("{load}{waited}")
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

// --- the report -------------------------------------------------------------------------------

struct Bench {
    cli: Cli,
    nodes: Vec<Node>,
    scripts: HashMap<String, &'static str>,
    report: String,
}

/// A phase under way: what Redis said at its start.
struct Phase {
    name: String,
    before: Vec<Snapshot>,
    load: String,
}

impl Bench {
    fn say(&mut self, text: &str) {
        println!("{text}");
        self.report.push_str(text);
        self.report.push('\n');
    }

    async fn begin(&mut self, name: &str) -> Result<Phase> {
        slowlog_reset(&mut self.nodes, self.cli.slowlog_us).await?;
        Ok(Phase {
            name: name.to_owned(),
            before: snapshots(&mut self.nodes).await?,
            load: loadavg(),
        })
    }

    /// The phase's figures: `ops` operations in `wall`; `per_node_ops` the operations each
    /// master served (None: not known per master).
    async fn end(
        &mut self,
        phase: Phase,
        driven: &Driven,
        per_node_ops: Option<Vec<usize>>,
    ) -> Result<Vec<Snapshot>> {
        let slow = slowlog(&mut self.nodes, &self.scripts).await?;
        let after = snapshots(&mut self.nodes).await?;
        let ops = driven.ops.max(1) as f64;
        let secs = driven.wall.as_secs_f64();
        let cpu: f64 = after
            .iter()
            .zip(&phase.before)
            .map(|(a, b)| a.cpu_s - b.cpu_s)
            .sum();
        let eval_calls: u64 = after
            .iter()
            .zip(&phase.before)
            .map(|(a, b)| a.evalsha_calls - b.evalsha_calls)
            .sum();
        let eval_usec: u64 = after
            .iter()
            .zip(&phase.before)
            .map(|(a, b)| a.evalsha_usec - b.evalsha_usec)
            .sum();
        let mut text = format!(
            "\n### {} ({})\n\n- {} operations in {:.2} s: **{:.0}/s**; load average {} at the start, {} at the end\n",
            phase.name,
            self.cli.label,
            driven.ops,
            secs,
            ops / secs.max(1e-9),
            phase.load,
            loadavg()
        );
        if !driven.latency.is_empty() {
            let _ = writeln!(
                text,
                "- client latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                ms(&driven.latency, 0.5),
                ms(&driven.latency, 0.99),
                ms(&driven.latency, 1.0)
            );
        }
        let _ = writeln!(
            text,
            "- Redis CPU (user+sys, all masters): {:.2} s, **{:.1} µs per operation**; EVALSHA: {} calls ({:.2} an operation), {:.1} µs of script per operation",
            cpu,
            cpu * 1e6 / ops,
            eval_calls,
            eval_calls as f64 / ops,
            eval_usec as f64 / ops
        );
        if driven.errors > 0 {
            let _ = writeln!(
                text,
                "- **{} calls failed**; the first: {}",
                driven.errors,
                driven.first_error.as_deref().unwrap_or("?")
            );
        }
        if self.nodes.len() > 1 {
            let _ = writeln!(
                text,
                "\n| master | Redis CPU s | share | EVALSHA calls | operations it served | µs CPU per operation it served | operations/s it served |\n|---|---:|---:|---:|---:|---:|---:|"
            );
            for (i, (a, b)) in after.iter().zip(&phase.before).enumerate() {
                let node_cpu = a.cpu_s - b.cpu_s;
                let served = per_node_ops.as_ref().map(|v| v[i]);
                let _ = writeln!(
                    text,
                    "| {} | {:.2} | {:.0} % | {} | {} | {} | {} |",
                    self.nodes[i].addr,
                    node_cpu,
                    100.0 * node_cpu / cpu.max(1e-9),
                    a.evalsha_calls - b.evalsha_calls,
                    served.map_or("—".to_owned(), |s| s.to_string()),
                    served.map_or("—".to_owned(), |s| if s == 0 {
                        "—".to_owned()
                    } else {
                        format!("{:.1}", node_cpu * 1e6 / s as f64)
                    }),
                    served.map_or("—".to_owned(), |s| format!("{:.0}", s as f64 / secs)),
                );
            }
            text.push('\n');
        }
        let over = slow.len();
        if over == 0 {
            let _ = writeln!(
                text,
                "- SLOWLOG: no call took {} µs or more",
                self.cli.slowlog_us
            );
        } else {
            let _ = writeln!(
                text,
                "- SLOWLOG: {over} calls of {} µs or more; the longest:",
                self.cli.slowlog_us
            );
            for s in slow.iter().take(5) {
                let _ = writeln!(text, "  - {} µs `{}` on {}", s.us, s.what, s.node);
            }
        }
        self.say(&text);
        Ok(after)
    }
}

/// Where a room's members live, and their memory: a table of the room's (or shard room's) keys,
/// and their bytes.
async fn room_memory(bench: &mut Bench, id: &LiveId, members: usize) -> Result<(String, i64)> {
    let names = [
        "room", "members", "joins", "entries", "uv", "anchor", "events",
    ];
    let keys = KeyNames::new(PREFIX).room(id);
    let mut text =
        String::from("| key | master | MEMORY USAGE | bytes per member |\n|---|---|---:|---:|\n");
    let mut room_total = 0;
    for (name, key) in names.iter().zip(&keys) {
        let Ok(at) = owner(&mut bench.nodes, key).await else {
            continue;
        };
        let bytes = memory_usage(&mut bench.nodes[at], key).await?;
        room_total += bytes;
        let _ = writeln!(
            text,
            "| `room:{{L}}{}` | {} | {} | {:.1} |",
            key.split('}').nth(1).unwrap_or(""),
            bench.nodes[at].addr,
            bytes,
            bytes as f64 / members as f64
        );
        let _ = name;
    }
    // the entries past their first bucket (`:entries:<b>`, lua/lib.lua): on the room's master
    if let Ok(at) = owner(&mut bench.nodes, &keys[3]).await {
        let found = scan(&mut bench.nodes[at], &format!("{}:*", keys[3])).await?;
        let mut bytes = 0;
        for key in &found {
            bytes += memory_usage(&mut bench.nodes[at], key).await?;
        }
        room_total += bytes;
        let _ = writeln!(
            text,
            "| `room:{{L}}:entries:<b>` ({} more buckets) | {} | {} | {:.1} |",
            found.len(),
            bench.nodes[at].addr,
            bytes,
            bytes as f64 / members as f64
        );
    }
    Ok((text, room_total))
}

/// The users' pointers: a table row, and their bytes.
async fn pointer_memory(bench: &mut Bench, members: usize) -> Result<(String, i64)> {
    let mut text = String::new();
    let mut buckets = (0, 0);
    let mut per_node = Vec::new();
    for node in bench.nodes.iter_mut() {
        let found = scan(node, &format!("{PREFIX}users:*")).await?;
        let mut bytes = 0;
        for key in &found {
            bytes += memory_usage(node, key).await?;
        }
        buckets.0 += found.len();
        buckets.1 += bytes;
        per_node.push((node.addr.clone(), found.len(), bytes));
    }
    let _ = writeln!(
        text,
        "| `users:{{bN}}` (the pointers, {} buckets) | {} | {} | {:.1} |",
        buckets.0,
        per_node
            .iter()
            .map(|(a, n, b)| format!("{a}: {n} buckets, {b} B"))
            .collect::<Vec<_>>()
            .join("; "),
        buckets.1,
        buckets.1 as f64 / members as f64
    );
    Ok((text, buckets.1))
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let members = cli.members;
    let mut nodes = Vec::new();
    for addr in &cli.nodes {
        nodes.push(connect(addr).await?);
    }
    if nodes.is_empty() {
        return Err("--nodes: at least one".into());
    }
    let shas = script_shas();
    let scripts = shas
        .into_iter()
        .map(|(name, sha)| (sha, name))
        .collect::<HashMap<_, _>>();
    let concurrency = cli.concurrency;
    let (a1, config) = replica(settings(&cli, LONG_INTERVAL_MS, LONG_MISSES)).await?;
    let (a2, _) = replica(settings(&cli, LONG_INTERVAL_MS, LONG_MISSES)).await?;
    let mut bench = Bench {
        cli,
        nodes,
        scripts,
        report: String::new(),
    };
    let header = format!(
        "\n## {} members in one room: {}{}\n\n{} masters ({}); the store's calls from one process, {} in flight; two replicas' sweeps (`liveroom::sweeper::run`, every {} ms); SLOWLOG at {} µs; `nproc` = {}",
        members,
        bench.cli.label,
        if bench.cli.shards > 1 {
            format!(", members over {} shard rooms", bench.cli.shards)
        } else {
            String::new()
        },
        bench.nodes.len(),
        bench.cli.nodes.join(", "),
        concurrency,
        config.sweep_period.as_millis(),
        bench.cli.slowlog_us,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    bench.say(&header);
    let stop_sweep = sweepers(&[a1.clone(), a2.clone()], &config);
    let shards = bench.cli.shards;
    let room = live_room(&a1, &config, "a million", shards).await?;
    let start = snapshots(&mut bench.nodes).await?;

    // 1. joins
    let phase = bench.begin("1. joins (`Presence::join`)").await?;
    let (store, id) = (a1.clone(), room.clone());
    let joined = drive(members, concurrency, move |i| {
        let (store, id) = (store.clone(), id.clone());
        async move {
            store.presence().join(&id, &profile(i)?).await?;
            Ok(())
        }
    })
    .await?;
    let keys = KeyNames::new(PREFIX).room(&room);
    let served = members_per_master(&mut bench.nodes, &room, shards).await?;
    let after_joins = bench.end(phase, &joined, None).await?;

    // 2. memory
    let info = a1.rooms().room(&room).await?;
    let mut text = format!(
        "\n### 2. memory ({})\n\n- the room: online_count {}, pv {}, uv {}\n",
        bench.cli.label, info.online_count, info.pv, info.uv
    );
    let used: i64 = after_joins
        .iter()
        .zip(&start)
        .map(|(a, b)| a.used_memory - b.used_memory)
        .sum();
    let _ = writeln!(
        text,
        "- `used_memory` after − before the joins, all masters: {} bytes = **{:.1} bytes per member**\n",
        used,
        used as f64 / members as f64
    );
    let mut total = 0;
    for (s, (shard, shard_keys)) in rooms_of_members(&room, shards).iter().enumerate() {
        if shards > 1 {
            let _ = writeln!(text, "\nshard {s} (`{}`):\n", shard_keys[0]);
        }
        let (table, bytes) = room_memory(&mut bench, shard, members).await?;
        text.push_str(&table);
        total += bytes;
    }
    let (row, bytes) = pointer_memory(&mut bench, members).await?;
    total += bytes;
    let _ = writeln!(
        text,
        "\n| the users' pointers, and the sum | master | MEMORY USAGE | bytes per member |\n|---|---|---:|---:|\n{row}| all of the above{} | | {} | **{:.1}** |",
        if shards > 1 { ", every shard" } else { "" },
        total,
        total as f64 / members as f64
    );
    if bench.nodes.len() > 1 {
        let _ = writeln!(
            text,
            "\n| master | members of the room it holds | keys (`db0`) | `used_memory` delta | share of the delta |\n|---|---:|---:|---:|---:|"
        );
        for (i, (a, b)) in after_joins.iter().zip(&start).enumerate() {
            let _ = writeln!(
                text,
                "| {} | {} | {} | {} | {:.0} % |",
                bench.nodes[i].addr,
                served[i],
                a.keys,
                a.used_memory - b.used_memory,
                100.0 * (a.used_memory - b.used_memory) as f64 / used.max(1) as f64
            );
        }
        let most = served.iter().copied().max().unwrap_or(0);
        let _ = writeln!(
            text,
            "\nThe room's members over {shards} shard room(s): the master holding most holds **{:.1} %** of them.",
            100.0 * most as f64 / members.max(1) as f64
        );
    }
    bench.say(&text);

    // 3. heartbeats, every member once, then once more: the steady state of a crowd that beats
    // every interval (the replica sends a profile it sent before as '', store/heartbeats.rs)
    for title in [
        "3. heartbeats, every member once (`Presence::heartbeat`, batched by the store)",
        "3b. heartbeats, every member once more (the steady state: each profile sent before)",
    ] {
        let phase = bench.begin(title).await?;
        let (store, id) = (a1.clone(), room.clone());
        let beaten = drive(members, concurrency, move |i| {
            let (store, id) = (store.clone(), id.clone());
            async move {
                store.presence().heartbeat(&id, &profile(i)?).await?;
                Ok(())
            }
        })
        .await?;
        bench.end(phase, &beaten, Some(served.clone())).await?;
    }

    // 4. user_list pages at the start, middle and end
    let last_page = (members as i64 + PAGE - 1) / PAGE;
    for (place, num) in [
        ("first page", 1),
        ("middle page", last_page / 2 + 1),
        ("last page", last_page),
    ] {
        let phase = bench
            .begin(&format!(
                "4. user_list: {place} (page_num {num}, {PAGE} a page), {PAGE_READS} reads one after another"
            ))
            .await?;
        let (store, id) = (a1.clone(), room.clone());
        let expect = if num == last_page {
            members as i64 - (last_page - 1) * PAGE
        } else {
            PAGE
        };
        let read = drive(PAGE_READS, 1, move |_| {
            let (store, id) = (store.clone(), id.clone());
            async move {
                let page = store
                    .presence()
                    .members(&id, PageRequest::parse(Some(num), Some(PAGE))?)
                    .await?;
                if page.list.len() as i64 != expect || page.total_count != members as u64 {
                    return Err(format!(
                        "page {num}: {} members of {} (expected {expect} of {members})",
                        page.list.len(),
                        page.total_count
                    )
                    .into());
                }
                Ok(())
            }
        })
        .await?;
        bench.end(phase, &read, None).await?;
    }

    // 5. stop, and the release of the million by the shared sweep
    let before_stop = snapshots(&mut bench.nodes).await?;
    let phase = bench
        .begin("5. stop of the room holding them (`Rooms::stop`), then their release by the sweep")
        .await?;
    let anchor_id = anchor()?.user_id;
    let t = Instant::now();
    a1.rooms().stop(&room, &anchor_id).await?;
    let stop_took = t.elapsed();
    while any_left(&mut bench.nodes, &room, shards, 7).await? {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let released = Driven {
        ops: members,
        wall: t.elapsed(),
        latency: histogram(),
        errors: 0,
        first_error: None,
    };
    bench.say(&format!(
        "\n- `Rooms::stop` answered in **{:.2} ms** (the room still holding {members} members); the sweep released them all {:.2} s after the stop",
        stop_took.as_secs_f64() * 1000.0,
        released.wall.as_secs_f64()
    ));
    let after_release = bench.end(phase, &released, None).await?;
    // every pointer says "in no room" (a sample)
    let mut still = 0;
    for i in (0..members).step_by((members / 1000).max(1)) {
        let id = user(i)?;
        let bucket = KeyNames::new(PREFIX).user_pointers(id.as_str());
        let at = owner(&mut bench.nodes, &bucket).await?;
        let pointer: Option<String> = redis::cmd("HGET")
            .arg(&bucket)
            .arg(id.as_str())
            .query_async(&mut bench.nodes[at].conn)
            .await?;
        if pointer.is_some_and(|p| p.split('\t').nth(2).is_some_and(|room| !room.is_empty())) {
            still += 1;
        }
    }
    let gauges = a1.sweep().gauges().await?;
    let freed: i64 = after_release
        .iter()
        .zip(&before_stop)
        .map(|(a, b)| b.used_memory - a.used_memory)
        .sum();
    let mut left = String::new();
    for (name, key) in ["members", "joins", "entries", "leaving", "leaving_entries"]
        .iter()
        .zip([&keys[1], &keys[2], &keys[3], &keys[7], &keys[8]])
    {
        if let Ok(at) = owner(&mut bench.nodes, key).await {
            let exists: i64 = redis::cmd("EXISTS")
                .arg(key)
                .query_async(&mut bench.nodes[at].conn)
                .await?;
            if exists == 1 {
                let bytes = memory_usage(&mut bench.nodes[at], key).await?;
                let _ = write!(left, " `{name}` {bytes} B;");
            }
        }
    }
    if let Ok(at) = owner(&mut bench.nodes, &keys[3]).await {
        let found = scan(&mut bench.nodes[at], &format!("{}:*", keys[3])).await?;
        if !found.is_empty() {
            let _ = write!(left, " {} entry buckets;", found.len());
        }
    }
    bench.say(&format!(
        "- after the release: {still} of {} sampled users' pointers still name a room; `members_online` {}; `used_memory` {} bytes lower than before the stop; the ended room keeps:{}",
        members.div_ceil((members / 1000).max(1)),
        gauges.members_online,
        freed,
        if left.is_empty() { " nothing of its members".to_owned() } else { left }
    ));

    if !bench.cli.no_lapse {
        // 6. a second crowd, then its lapse
        let room_b = live_room(&a1, &config, "a million, lapsing", shards).await?;
        let phase = bench
            .begin("6a. joins into a second room (the same users, their pointers released)")
            .await?;
        let (store, id) = (a1.clone(), room_b.clone());
        let joined = drive(members, concurrency, move |i| {
            let (store, id) = (store.clone(), id.clone());
            async move {
                store.presence().join(&id, &profile(i)?).await?;
                Ok(())
            }
        })
        .await?;
        let joined_at = Instant::now();
        let served_b = members_per_master(&mut bench.nodes, &room_b, shards).await?;
        bench.end(phase, &joined, None).await?;
        // the replicas go; two come whose member window is short (as after a restart with a
        // short window): nobody beats any more, so everyone lapses within that window
        let _ = stop_sweep.send(true);
        let lapse = settings(&bench.cli, bench.cli.lapse_window_ms / 2, 2);
        let (l1, lconfig) = replica(lapse.clone()).await?;
        let (l2, _) = replica(lapse).await?;
        let window = Duration::from_millis(lconfig.presence.member_window_ms);
        let since = joined_at.elapsed();
        if since < window {
            tokio::time::sleep(window - since).await;
        }
        // The room is due at its oldest member's lapse under the window it was joined with
        // (30 min): one join through a short-window replica brings it forward (ZADD LT), as
        // any join does; in a sharded room one join in each shard room (the probes' ids are
        // chosen so).
        let names = KeyNames::new(PREFIX);
        let mut probed = vec![false; shards.max(1) as usize];
        let mut probes = 0;
        for i in members.. {
            let shard = names.member_shard(user(i)?.as_str(), shards.max(1)) as usize;
            if !probed[shard] {
                probed[shard] = true;
                probes += 1;
                l1.presence().join(&room_b, &profile(i)?).await?;
            }
            if probed.iter().all(|p| *p) {
                break;
            }
        }
        let phase = bench
            .begin("6b. the crowd's lapse, swept by two replicas in bounded steps")
            .await?;
        let due = Instant::now() + window;
        let stop_lapse = sweepers(&[l1.clone(), l2.clone()], &lconfig);
        let mut all_gone = None;
        let mut counted = None;
        let give_up = Instant::now() + Duration::from_secs(1800);
        while (all_gone.is_none() || counted.is_none()) && Instant::now() < give_up {
            let left = any_left(&mut bench.nodes, &room_b, shards, 1).await?;
            if !left && all_gone.is_none() {
                all_gone = Some(Instant::now());
            }
            if counted.is_none() && l1.sweep().gauges().await?.members_online == 0 {
                counted = Some(Instant::now());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = stop_lapse.send(true);
        let swept = all_gone.map(|t| t.saturating_duration_since(due));
        let lapsed = Driven {
            ops: members + probes,
            wall: swept.unwrap_or_default(),
            latency: histogram(),
            errors: usize::from(swept.is_none()),
            first_error: swept
                .is_none()
                .then(|| "members were still in the room after 30 minutes".to_owned()),
        };
        let info = l1.rooms().room(&room_b).await?;
        bench.say(&format!(
            "\n- {} members lapsed; the last left the room {:.2} s after the crowd's window ended (that is the phase's wall time below); `members_online` 0 after {}; the room's `online_count` now {}",
            members + probes,
            lapsed.wall.as_secs_f64(),
            counted.map_or("never".to_owned(), |t| format!(
                "{:.2} s",
                t.saturating_duration_since(due).as_secs_f64()
            )),
            info.online_count
        ));
        bench.end(phase, &lapsed, Some(served_b)).await?;
    } else {
        let _ = stop_sweep.send(true);
    }

    if let Some(out) = &bench.cli.out {
        use std::io::Write as _;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(out)?;
        file.write_all(bench.report.as_bytes())?;
    }
    Ok(())
}
