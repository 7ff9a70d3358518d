//! The report: Markdown with the figures against the targets, and SVG plots.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::model::{AnchorsResult, MainResult, PhaseResult};
use super::plot::{Series, bar_chart, line_chart};

#[derive(clap::Args, Clone)]
pub struct ReportArgs {
    /// Directory holding main.json, anchors.json, redis-bench-*.csv and env.txt
    #[arg(long)]
    pub dir: PathBuf,
    /// Where the report goes
    #[arg(long, default_value = "bench/results")]
    pub out: PathBuf,
    /// Name of the dated copy (e.g. 2025-01-31-1200)
    #[arg(long)]
    pub stamp: String,
    /// The command that produced the run, quoted in the report
    #[arg(long, default_value = "scripts/bench.sh")]
    pub command: String,
}

/// One redis-benchmark CSV line: requests per second, p50 and p99 (ms).
#[derive(Default, Clone, Copy)]
struct RedisBench {
    rps: f64,
    p50: f64,
    p99: f64,
}

fn redis_bench(path: &Path) -> Option<RedisBench> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text
        .lines()
        .rfind(|l| !l.trim().is_empty() && !l.starts_with("\"test\""))?;
    // the test name may hold commas and quotes: the 7 numbers are the last fields
    let fields: Vec<f64> = line
        .rsplitn(8, ',')
        .take(7)
        .map(|f| f.trim().trim_matches('"').parse().unwrap_or(0.0))
        .collect();
    // reversed: max, p99, p95, p50, min, avg, rps
    Some(RedisBench {
        rps: *fields.get(6)?,
        p50: *fields.get(3)?,
        p99: *fields.get(1)?,
    })
}

/// Calls per command in a saved `INFO commandstats`.
fn commandstats(path: &Path) -> BTreeMap<String, u64> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once(':')?;
            let calls = v.split(',').find_map(|f| f.strip_prefix("calls="))?;
            Some((k.strip_prefix("cmdstat_")?.to_owned(), calls.parse().ok()?))
        })
        .collect()
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    let text = std::fs::read_to_string(path).ok()?;
    match serde_json::from_str(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            None
        }
    }
}

fn env(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(dir.join("env.txt"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

fn verdict(ok: bool) -> &'static str {
    if ok { "**met**" } else { "**missed**" }
}

fn mb(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / 1_048_576.0)
}

fn percentile(sorted: &[i64], q: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// Background commands over `seconds`, to subtract from a phase of that length.
fn background_share(main: &MainResult, name: &str, seconds: f64) -> f64 {
    let b = &main.background;
    let n = if name.is_empty() {
        b.commands.values().sum::<u64>()
    } else {
        b.commands.get(name).copied().unwrap_or(0)
    };
    n as f64 / b.seconds.max(1e-9) * seconds
}

fn net_per_request(main: &MainResult, p: &PhaseResult, name: &str) -> f64 {
    let raw = if name.is_empty() {
        p.commands.values().sum::<u64>()
    } else {
        p.commands.get(name).copied().unwrap_or(0)
    } as f64;
    ((raw - background_share(main, name, p.elapsed_s)) / p.requests.max(1) as f64).max(0.0)
}

fn phase_table(md: &mut String, p: &PhaseResult) {
    let _ = writeln!(
        md,
        "\n**{}** — {}. {:.1} s; load average {} → {}.\n",
        p.name, p.description, p.elapsed_s, p.load_start, p.load_end
    );
    md.push_str(
        "| request | count | errors | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |\n",
    );
    md.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for o in &p.ops {
        let errors = if o.errors.is_empty() {
            "0".to_owned()
        } else {
            o.errors
                .iter()
                .map(|(k, v)| format!("{v} × {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            o.op, o.count, errors, o.throughput, o.p50_ms, o.p90_ms, o.p99_ms, o.p999_ms, o.max_ms
        );
    }
    for s in &p.error_samples {
        let _ = writeln!(md, "\n> e.g. `{}`", s.replace('`', "'"));
    }
}

pub fn write(a: ReportArgs) {
    let main: MainResult =
        read_json(&a.dir.join("main.json")).expect("main.json (run `bench main` first)");
    let anchors: Option<AnchorsResult> = read_json(&a.dir.join("anchors.json"));
    let rb_plain = redis_bench(&a.dir.join("redis-bench-plain.csv"));
    let rb_pipe = redis_bench(&a.dir.join("redis-bench-p16.csv"));
    let env = env(&a.dir);
    let e = |k: &str| env.get(k).cloned().unwrap_or_else(|| "?".into());
    std::fs::create_dir_all(&a.out).expect("report directory");

    let s = &main.settings;
    let hb = |p: &PhaseResult| p.op("heartbeat").cloned().unwrap_or_default();
    let healthz = main.healthz.op("healthz").cloned().unwrap_or_default();
    let max = hb(&main.max);
    let ratio_healthz = max.throughput / healthz.throughput.max(1e-9);
    // the sweep point nearest a fraction of the maximum
    let point = |fraction: f64| {
        main.sweep
            .iter()
            .min_by(|x, y| {
                let d = |p: &PhaseResult| {
                    (p.offered.unwrap_or(0.0) / max.throughput.max(1e-9) - fraction).abs()
                };
                d(x).total_cmp(&d(y))
            })
            .cloned()
            .unwrap_or_default()
    };
    let half = point(0.5);
    let half_hb = hb(&half);
    let most = point(0.8);
    let most_hb = hb(&most);
    // a sweep point's heartbeat p99 against its offered load, as the targets rows say it
    let p99_at = |p: &PhaseResult| {
        let offered = p.offered.unwrap_or(0.0);
        format!(
            "p99 {:.2} ms at {offered:.0}/s offered ({:.0}% of {:.0}/s",
            hb(p).p99_ms,
            offered / max.throughput.max(1e-9) * 100.0,
            max.throughput
        )
    };
    let hb_liveroom_us = main.max.server_cpu_s * 1e6 / main.max.requests.max(1) as f64;
    let rt = |label: &str| main.round_trips.iter().find(|r| r.op == label).cloned();
    let rt_fmt = |label: &str| match rt(label) {
        Some(r) => format!("{:.0} ({})", r.top_level_median, r.sequence),
        None => "not measured".into(),
    };
    let rt_ok = |label: &str, limit: f64| rt(label).is_some_and(|r| r.top_level_median <= limit);
    let mem = &main.memory;
    let per_member = mem.per_member();
    let lag = anchors.as_ref().map(|an| {
        let mut v: Vec<i64> = an.lags_ms.iter().flatten().copied().collect();
        v.sort_unstable();
        v
    });

    let mut md = String::new();
    let _ = writeln!(md, "# Benchmark: viewer-scale heartbeat load\n");
    let _ = writeln!(
        md,
        "Run {} with `{}` on {} ({} cores, {}), Linux {}, {}, redis-server {}; liveroom at `{}`, \
         worker threads: {}.\n",
        a.stamp,
        a.command,
        e("cpu"),
        e("cores"),
        e("memory"),
        e("kernel"),
        e("rustc"),
        e("redis"),
        e("git"),
        e("workers")
    );
    let _ = writeln!(
        md,
        "Load average (`uptime`) before: {}; after: {}. The generator, liveroom and Redis share these \
         cores, so every figure includes their contention; other builds may have been running.\n",
        e("uptime_start"),
        e("uptime_end")
    );
    let _ = writeln!(
        md,
        "Settings: {} viewers in {} rooms, heartbeat interval {} ms (member window {} ms); {} s per \
         scenario, {} s per sweep point; closed-loop runs on {} connections, open-loop runs on {} \
         connections that the viewers share (as behind a load balancer); generator threads: {}.\n",
        s.viewers,
        s.rooms,
        s.interval_ms,
        s.window_ms,
        s.duration_s,
        s.sweep_duration_s,
        s.conns,
        s.open_conns,
        s.bench_threads
    );

    // Targets
    md.push_str("## Targets\n\n| target | measured | |\n|---|---|---|\n");
    let _ = writeln!(
        md,
        "| heartbeat = 1 Redis round trip | {} | {} |",
        rt_fmt("heartbeat"),
        verdict(rt_ok("heartbeat", 1.0))
    );
    let _ = writeln!(
        md,
        "| join ≤ 2 round trips | returning user {}; room hop {}; first time seen {} | {} |",
        rt_fmt("join"),
        rt_fmt("join (room hop)"),
        rt_fmt("join (first time seen)"),
        verdict(rt_ok("join", 2.0))
    );
    let _ = writeln!(
        md,
        "| leave ≤ 2 round trips | {} | {} |",
        rt_fmt("leave"),
        verdict(rt_ok("leave", 2.0))
    );
    let _ = writeln!(
        md,
        "| info = 1, user_list page = 1 | info {}; user_list {} | {} |",
        rt_fmt("info"),
        rt_fmt("user_list (page of 20)"),
        verdict(rt_ok("info", 1.0) && rt_ok("user_list (page of 20)", 1.0))
    );
    let _ = writeln!(
        md,
        "| heartbeat throughput ≥ 0.45 × /healthz (same run) | {:.0}/s vs {:.0}/s = {:.2} × | {} |",
        max.throughput,
        healthz.throughput,
        ratio_healthz,
        verdict(ratio_healthz >= 0.45)
    );
    let _ = writeln!(
        md,
        "| p99 < 5 ms at half the maximum rate | {}; other processes meanwhile: {:.2} cores) | {} |",
        p99_at(&half),
        (half.machine_cpu_s - half.server_cpu_s - half.redis_cpu_s - half.bench_cpu_s).max(0.0)
            / half.elapsed_s.max(1e-9),
        verdict(half_hb.count > 0 && half_hb.p99_ms < 5.0)
    );
    // issue 16's targets
    let _ = writeln!(
        md,
        "| liveroom CPU per heartbeat ≤ 20 µs (issue 16) | {hb_liveroom_us:.1} µs (closed-loop maximum; worker threads: {}) | {} |",
        e("workers"),
        verdict(main.max.requests > 0 && hb_liveroom_us <= 20.0)
    );
    let _ = writeln!(
        md,
        "| heartbeat throughput ≥ 0.5 × /healthz (issue 16) | {ratio_healthz:.2} × | {} |",
        verdict(ratio_healthz >= 0.5)
    );
    let _ = writeln!(
        md,
        "| p99 < 5 ms at 80% of the maximum rate (issue 16) | {}) | {} |",
        p99_at(&most),
        verdict(most_hb.count > 0 && most_hb.p99_ms < 5.0)
    );
    let _ = writeln!(
        md,
        "| Redis memory ≤ 200 bytes per online member | {per_member:.0} bytes (used_memory delta over {} joins, user hash included) | {} |",
        mem.members,
        verdict(per_member <= 200.0)
    );
    match (&anchors, &lag) {
        (Some(an), Some(l)) => {
            let within = l.iter().filter(|&&x| x <= 1000).count();
            let all_closed = l.len() == an.rooms;
            let _ = writeln!(
                md,
                "| every silent anchor's room closed ≤ 1 s after its deadline, at {} rooms | {} of {} within 1 s; lag p50 {} ms, p99 {} ms, max {} ms{} | {} |",
                an.rooms,
                within,
                an.rooms,
                percentile(l, 0.5),
                percentile(l, 0.99),
                l.last().copied().unwrap_or(0),
                if all_closed {
                    String::new()
                } else {
                    format!("; {} never closed", an.rooms - l.len())
                },
                verdict(all_closed && within == an.rooms)
            );
        }
        _ => md.push_str("| sweeper lag ≤ 1 s at 1 000 rooms | not measured | |\n"),
    }

    // Ceilings
    md.push_str("\n## Heartbeat against its ceilings\n\n");
    md.push_str("| what | req/s | p50 ms | p99 ms | heartbeat as a ratio of it |\n|---|---:|---:|---:|---:|\n");
    let _ = writeln!(
        md,
        "| `/healthz` through the same server (HTTP stack, no Redis), closed-loop, {} connections | {:.0} | {:.2} | {:.2} | {:.2} |",
        s.conns, healthz.throughput, healthz.p50_ms, healthz.p99_ms, ratio_healthz
    );
    let _ = writeln!(
        md,
        "| heartbeat (HS256 + EVALSHA heartbeat.lua), closed-loop, {} connections | {:.0} | {:.2} | {:.2} | 1.00 |",
        s.conns, max.throughput, max.p50_ms, max.p99_ms
    );
    for (name, rb) in [
        (
            "redis-benchmark EVALSHA heartbeat.lua, unpipelined, 64 clients",
            rb_plain,
        ),
        (
            "redis-benchmark EVALSHA heartbeat.lua, `-P 16`, 64 clients",
            rb_pipe,
        ),
    ] {
        match rb {
            Some(rb) => {
                let _ = writeln!(
                    md,
                    "| {name} | {:.0} | {:.2} | {:.2} | {:.2} |",
                    rb.rps,
                    rb.p50,
                    rb.p99,
                    max.throughput / rb.rps.max(1e-9)
                );
            }
            None => {
                let _ = writeln!(md, "| {name} | not run | | | |");
            }
        }
    }
    let us = |p: &PhaseResult, secs: f64| secs * 1e6 / p.requests.max(1) as f64;
    let hb_cpu = [
        us(&main.max, main.max.server_cpu_s),
        us(&main.max, main.max.redis_cpu_s),
        us(&main.max, main.max.bench_cpu_s),
    ];
    let hz_cpu = [
        us(&main.healthz, main.healthz.server_cpu_s),
        us(&main.healthz, main.healthz.bench_cpu_s),
    ];
    let _ = writeln!(
        md,
        "\nCPU per request, measured in the two closed-loop runs: a heartbeat costs liveroom {:.1} µs + \
         Redis {:.1} µs + the generator {:.1} µs = {:.1} µs; a `/healthz` costs liveroom {:.1} µs + the \
         generator {:.1} µs = {:.1} µs. All three processes share the same {} cores, so the ratio of \
         CPU per request, {:.2}, bounds the ratio of throughputs; without Redis on these cores it \
         would be {:.2}.",
        hb_cpu[0],
        hb_cpu[1],
        hb_cpu[2],
        hb_cpu.iter().sum::<f64>(),
        hz_cpu[0],
        hz_cpu[1],
        hz_cpu.iter().sum::<f64>(),
        e("cores"),
        hz_cpu.iter().sum::<f64>() / hb_cpu.iter().sum::<f64>().max(1e-9),
        hz_cpu.iter().sum::<f64>() / (hb_cpu[0] + hb_cpu[2]).max(1e-9)
    );
    let before = commandstats(&a.dir.join("redis-bench-before.txt"));
    let after = commandstats(&a.dir.join("redis-bench-after.txt"));
    let calls = |k: &str| {
        after.get(k).copied().unwrap_or(0) as f64 - before.get(k).copied().unwrap_or(0) as f64
    };
    let evalsha = calls("evalsha").max(1.0);
    let path = ["hmget", "time", "zscore", "zadd", "hget", "hset"]
        .iter()
        .map(|k| format!("{k} {:.2}", calls(k) / evalsha))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(
        md,
        "\nThe script redis-benchmark replays is `lib.lua` + `heartbeat.lua` as the server loads it \
         (SHA `{}`), on a real member of a real room, so each call takes the common path. Commands \
         per call in the unpipelined run (INFO commandstats): {path}.",
        main.heartbeat_sha
    );

    // Scenarios
    md.push_str("\n## Scenarios\n\n![throughput per scenario](");
    let _ = writeln!(md, "{}-throughput.svg)\n", a.stamp);
    let _ = writeln!(
        md,
        "![heartbeat latency against offered load]({}-latency.svg)",
        a.stamp
    );
    for p in [
        &main.healthz,
        &main.setup,
        &main.joins,
        &main.storm,
        &main.max,
    ] {
        phase_table(&mut md, p);
    }
    md.push_str("\n### Latency against offered load (heartbeats, open-loop)\n\n");
    md.push_str(
        "Sweep points run on the closed-loop run's connections; the storm point on the open-loop \
         connections. *Other processes* = busy cores of the whole machine (/proc/stat) minus \
         liveroom, Redis and the generator: work this benchmark did not send.\n\n",
    );
    md.push_str(
        "*Run-queue wait* = time the threads of each process spent runnable but waiting for a \
         core (`/proc/PID/task/*/schedstat`), per request: liveroom / Redis / generator.\n\n",
    );
    md.push_str("| offered req/s | connections | achieved req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors | cores: ours / other processes | run-queue wait µs per request | load average |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|\n");
    let ours =
        |p: &PhaseResult| (p.server_cpu_s + p.redis_cpu_s + p.bench_cpu_s) / p.elapsed_s.max(1e-9);
    let others = |p: &PhaseResult| (p.machine_cpu_s / p.elapsed_s.max(1e-9) - ours(p)).max(0.0);
    let mut points: Vec<&PhaseResult> = main.sweep.iter().collect();
    points.push(&main.storm);
    points.sort_by(|x, y| {
        x.offered
            .unwrap_or(0.0)
            .total_cmp(&y.offered.unwrap_or(0.0))
    });
    for p in &points {
        let h = hb(p);
        let conns = if p.name.starts_with("sweep") {
            s.conns
        } else {
            s.open_conns
        };
        let _ = writeln!(
            md,
            "| {:.0} | {conns} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {:.2} / {:.2} | {:.0} / {:.0} / {:.0} | {} |",
            p.offered.unwrap_or(0.0),
            h.throughput,
            h.p50_ms,
            h.p90_ms,
            h.p99_ms,
            h.p999_ms,
            h.max_ms,
            p.errors(),
            ours(p),
            others(p),
            p.wait_us()[0],
            p.wait_us()[1],
            p.wait_us()[2],
            p.load_end
        );
    }
    for p in [&main.churn, &main.reads] {
        phase_table(&mut md, p);
    }

    // Costs
    md.push_str("\n## Cost accounting\n\n### Redis round trips per request (MONITOR)\n\n");
    md.push_str(
        "Each kind of request sent one at a time while `MONITOR` ran; a command belongs to the \
         request whose send→answer window holds its timestamp (the sweeper's own scripts are left \
         out). *Top level* = commands the server sent (round trips, unless sent together); \
         *in scripts* = commands the scripts ran.\n\n",
    );
    md.push_str("| request | samples | top level (median) | top level (max) | in scripts (median) | top-level commands |\n|---|---:|---:|---:|---:|---|\n");
    for r in &main.round_trips {
        let _ = writeln!(
            md,
            "| {} | {} | {:.0} | {} | {:.0} | {} |",
            r.op, r.samples, r.top_level_median, r.top_level_max, r.in_script_median, r.sequence
        );
    }
    md.push_str("\n### Per phase (INFO commandstats, /proc)\n\n");
    let _ = writeln!(
        md,
        "Commands counted by `INFO commandstats` include those run inside scripts; `EVALSHA` calls \
         are the top-level script calls. The background measured with no load ({:.0} s: {:.0} \
         commands/s, {:.0} EVALSHA/s — the sweeper) is subtracted. CPU from `/proc/PID/stat` \
         (liveroom, the generator) and `INFO cpu` (Redis); RSS from `/proc/PID/status`.\n",
        main.background.seconds,
        main.background.commands.values().sum::<u64>() as f64 / main.background.seconds.max(1e-9),
        main.background
            .commands
            .get("evalsha")
            .copied()
            .unwrap_or(0) as f64
            / main.background.seconds.max(1e-9)
    );
    md.push_str("| phase | requests | Redis commands / request | EVALSHA / request | liveroom CPU s / 1000 req | Redis CPU s / 1000 req | generator CPU s / 1000 req | cores busy: liveroom + Redis + generator / whole machine | run-queue wait µs / request: liveroom / Redis / generator | liveroom RSS (peak) |\n|---|---:|---:|---:|---:|---:|---:|---|---|---|\n");
    let mut phases: Vec<&PhaseResult> = vec![
        &main.healthz,
        &main.setup,
        &main.joins,
        &main.storm,
        &main.max,
    ];
    phases.extend(main.sweep.iter());
    phases.extend([&main.churn, &main.reads]);
    if let Some(an) = &anchors {
        phases.push(&an.during);
    }
    for p in phases {
        let _ = writeln!(
            md,
            "| {} | {} | {:.2} | {:.2} | {:.3} | {:.3} | {:.3} | {:.2} + {:.2} + {:.2} / {:.2} | {:.0} / {:.0} / {:.0} | {} ({}) |",
            p.name,
            p.requests,
            net_per_request(&main, p, ""),
            net_per_request(&main, p, "evalsha"),
            p.per_1000(p.server_cpu_s),
            p.per_1000(p.redis_cpu_s),
            p.per_1000(p.bench_cpu_s),
            p.server_cpu_s / p.elapsed_s.max(1e-9),
            p.redis_cpu_s / p.elapsed_s.max(1e-9),
            p.bench_cpu_s / p.elapsed_s.max(1e-9),
            p.machine_cpu_s / p.elapsed_s.max(1e-9),
            p.wait_us()[0],
            p.wait_us()[1],
            p.wait_us()[2],
            mb(p.server_rss),
            mb(p.server_rss_peak)
        );
    }
    md.push_str("\nCommands per heartbeat in the closed-loop run, by command:\n\n| command | per heartbeat |\n|---|---:|\n");
    let mut by_cmd: Vec<(&String, f64)> = main
        .max
        .commands
        .keys()
        .map(|k| (k, net_per_request(&main, &main.max, k)))
        .filter(|(_, v)| *v >= 0.005)
        .collect();
    by_cmd.sort_by(|x, y| y.1.total_cmp(&x.1));
    for (k, v) in by_cmd {
        let _ = writeln!(md, "| {k} | {v:.2} |");
    }
    let cores: f64 = e("cores").parse().unwrap_or(2.0);
    let busy =
        |p: &PhaseResult| (p.server_cpu_s + p.redis_cpu_s + p.bench_cpu_s) / p.elapsed_s.max(1e-9);
    let _ = writeln!(
        md,
        "\nCPU in use during the closed-loop heartbeat run: liveroom {:.2} cores, Redis {:.2}, \
         generator {:.2} — {:.2} of {cores:.0}. During the /healthz run: liveroom {:.2}, generator \
         {:.2}.",
        main.max.server_cpu_s / main.max.elapsed_s.max(1e-9),
        main.max.redis_cpu_s / main.max.elapsed_s.max(1e-9),
        main.max.bench_cpu_s / main.max.elapsed_s.max(1e-9),
        busy(&main.max),
        main.healthz.server_cpu_s / main.healthz.elapsed_s.max(1e-9),
        main.healthz.bench_cpu_s / main.healthz.elapsed_s.max(1e-9)
    );

    // Memory
    md.push_str("\n## Redis memory\n\n");
    let _ = writeln!(
        md,
        "`INFO memory` used_memory: {} before, {} after {} rooms were created and started ({:.0} bytes \
         per room, its index entries and the anchor's user hash included), {} after {} viewers joined \
         ({:.0} bytes per member, the user's own hash included).\n",
        mem.used_before,
        mem.used_after_rooms,
        mem.rooms,
        mem.per_room(),
        mem.used_after_members,
        mem.members,
        per_member
    );
    md.push_str("`MEMORY USAGE` of one room's keys right after the joins:\n\n| key | bytes | encoding | entries | bytes per entry |\n|---|---:|---|---:|---:|\n");
    let mut member_keys = 0u64;
    let mut members_in_room = 0u64;
    let mut other_keys = Vec::new();
    for k in &mem.room_keys {
        let per = if k.entries > 0 {
            format!("{:.0}", k.bytes as f64 / k.entries as f64)
        } else {
            "".into()
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            k.what, k.bytes, k.encoding, k.entries, per
        );
        let name = k.what.split(' ').next().unwrap_or("");
        if matches!(name, "members" | "order" | "entries") {
            member_keys += k.bytes;
            members_in_room = members_in_room.max(k.entries);
        } else if name != "room" && name != "anchor" {
            other_keys.push(k.clone());
        }
    }
    let room_part = member_keys as f64 / members_in_room.max(1) as f64;
    let _ = writeln!(
        md,
        "| a viewer's user hash (average of a sample) | {:.0} | {} | | |\n",
        mem.user_hash_avg, mem.user_hash_encoding
    );
    let others = other_keys
        .iter()
        .map(|k| {
            format!(
                "{} {:.0}",
                k.what,
                k.bytes as f64 / members_in_room.max(1) as f64
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(
        md,
        "Per member from the keys: {room_part:.0} bytes in the room's member structures (members + \
         order + entries, {members_in_room} members) + {:.0} bytes of user hash = {:.0} bytes; the \
         room's other growing keys add, per member: {others}. The used_memory delta ({per_member:.0}) \
         also holds what MEMORY USAGE leaves out: Redis's main dictionary entry of each new key \
         (a user hash per viewer) and allocator rounding. Encodings follow {}. \
         `scripts/member-memory.sh` puts 10 000 members in one room, past the listpack limits, so \
         there the zsets are skiplists and the entries a hashtable (~490 bytes per member); here a \
         room holds {} members.",
        mem.user_hash_avg,
        room_part + mem.user_hash_avg,
        mem.config
            .iter()
            .map(|(k, v)| format!("`{k} {v}`"))
            .collect::<Vec<_>>()
            .join(", "),
        s.viewers / s.rooms.max(1)
    );

    // Sweeper
    md.push_str("\n## Sweeper lag: rooms whose anchors went silent\n\n");
    if let (Some(an), Some(l)) = (&anchors, &lag) {
        let _ = writeln!(
            md,
            "A second `liveroom serve` (same Redis) with `LIVEROOM_ANCHOR_OFFLINE_CLOSE_MS={}`: {} \
             rooms stay live with anchors heartbeating once a second and {} viewers heartbeating; \
             then {} anchors create and start a room and go silent (their deadlines fall within {} \
             ms of each other). The lag of a room is `ended_ms − (anchor_seen + close ms)`, both \
             read from the room hash (Redis's clock).\n",
            an.close_ms, an.bg_rooms, an.viewers, an.rooms, an.deadline_spread_ms
        );
        let _ = writeln!(
            md,
            "| rooms | closed | within 1 s | lag p50 | p90 | p99 | max | rooms closed per sweep (bursts) | rooms with live anchors closed |\n|---:|---:|---:|---:|---:|---:|---:|---|---:|\n| {} | {} | {} | {} ms | {} ms | {} ms | {} ms | {:?} | {} |",
            an.rooms,
            l.len(),
            l.iter().filter(|&&x| x <= 1000).count(),
            percentile(l, 0.5),
            percentile(l, 0.9),
            percentile(l, 0.99),
            l.last().copied().unwrap_or(0),
            an.waves,
            an.bg_closed
        );
        if !an.wave_spans.is_empty() {
            md.push_str("\nThe bursts of closes (one per sweep of the replica), in ms after the earliest deadline:\n\n| burst | rooms closed | first close | last close | ms per room within the burst |\n|---:|---:|---:|---:|---:|\n");
            for (i, (n, first, last)) in an.wave_spans.iter().enumerate() {
                let _ = writeln!(
                    md,
                    "| {} | {n} | {first} | {last} | {:.2} |",
                    i + 1,
                    (last - first) as f64 / (*n as f64 - 1.0).max(1.0)
                );
            }
        }
        let _ = writeln!(md, "\n{}.\n", an.api_check);
        let _ = writeln!(md, "![sweeper lag]({}-sweeper.svg)", a.stamp);
        phase_table(&mut md, &an.starts);
        phase_table(&mut md, &an.during);
    } else {
        md.push_str("Not run.\n");
    }

    // Plots
    let latency = {
        let pts = |f: fn(&super::model::OpResult) -> f64| -> Vec<(f64, f64)> {
            points
                .iter()
                .map(|p| (p.offered.unwrap_or(0.0), f(&hb(p))))
                .collect()
        };
        let series = vec![
            Series {
                name: "p50".into(),
                points: pts(|o| o.p50_ms),
                steps: false,
            },
            Series {
                name: "p90".into(),
                points: pts(|o| o.p90_ms),
                steps: false,
            },
            Series {
                name: "p99".into(),
                points: pts(|o| o.p99_ms),
                steps: false,
            },
            Series {
                name: "p99.9".into(),
                points: pts(|o| o.p999_ms),
                steps: false,
            },
        ];
        line_chart(
            "Heartbeat latency against offered load (open-loop)",
            "offered heartbeats per second",
            "latency, ms (log)",
            &series,
            true,
            &[(
                max.throughput,
                format!("closed-loop max {:.0}/s", max.throughput),
            )],
            &[(5.0, "5 ms".into())],
        )
    };
    let mut bars: Vec<(String, f64)> = vec![
        ("/healthz (closed-loop)".into(), healthz.throughput),
        ("heartbeat (closed-loop)".into(), max.throughput),
        (
            format!(
                "heartbeat storm ({:.0}/s offered)",
                main.storm.offered.unwrap_or(0.0)
            ),
            main.storm.throughput(),
        ),
        ("churn: all requests".into(), main.churn.throughput()),
        ("reads: all requests".into(), main.reads.throughput()),
        ("setup: viewers join".into(), main.joins.throughput()),
    ];
    if let Some(rb) = rb_plain {
        bars.push(("redis-benchmark EVALSHA".into(), rb.rps));
    }
    if let Some(rb) = rb_pipe {
        bars.push(("redis-benchmark EVALSHA -P 16".into(), rb.rps));
    }
    let throughput = bar_chart("Throughput per scenario", "requests per second", &bars);
    let sweeper = lag.as_ref().map(|l| {
        let n = l.len().max(1) as f64;
        let points = l
            .iter()
            .enumerate()
            .map(|(i, &x)| (x as f64, (i + 1) as f64 / n))
            .collect();
        line_chart(
            "Sweeper lag after the anchor-offline deadline (CDF)",
            "ms after the deadline",
            "fraction of rooms closed",
            &[Series {
                name: "rooms closed".into(),
                points,
                steps: true,
            }],
            false,
            &[(1000.0, "target 1 s".into())],
            &[],
        )
    });

    for name in ["latest".to_owned(), a.stamp.clone()] {
        let text = md.replace(&format!("]({}-", a.stamp), &format!("]({name}-"));
        std::fs::write(a.out.join(format!("{name}.md")), text).expect("write the report");
        std::fs::write(a.out.join(format!("{name}-latency.svg")), &latency).expect("svg");
        std::fs::write(a.out.join(format!("{name}-throughput.svg")), &throughput).expect("svg");
        if let Some(svg) = &sweeper {
            std::fs::write(a.out.join(format!("{name}-sweeper.svg")), svg).expect("svg");
        }
    }
    let raw = serde_json::json!({"main": main, "anchors": anchors});
    std::fs::write(
        a.out.join("latest.json"),
        serde_json::to_string_pretty(&raw).expect("json"),
    )
    .expect("write latest.json");
    println!(
        "wrote {} and {}",
        a.out.join("latest.md").display(),
        a.out.join(format!("{}.md", a.stamp)).display()
    );
}
