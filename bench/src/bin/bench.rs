//! The viewer-scale benchmark of `scripts/bench.sh` (issue 8): a load generator over keep-alive
//! HTTP/1.1 connections (no processes spawned), the cost accounting Redis and /proc give, and the
//! report. Three steps, each a subcommand, because the script restarts the service in between:
//!
//! - `bench main`: /healthz ceiling, rooms and viewers, heartbeat storm (open-loop at N/interval,
//!   closed-loop at maximum, a sweep of offered rates), churn, reads, round trips per request
//!   (MONITOR), memory per room and per member. Writes `main.json` and `redis-bench-args`.
//! - `bench anchors`: 1 000 live rooms whose anchors go silent, under heartbeat load; how long
//!   after its deadline each is closed. Writes `anchors.json`.
//! - `bench report`: reads those and redis-benchmark's CSV, writes Markdown and SVG plots.

#[path = "bench/http.rs"]
mod http;
#[path = "bench/load.rs"]
mod load;
#[path = "bench/model.rs"]
mod model;
#[path = "bench/plot.rs"]
mod plot;
#[path = "bench/redis_stats.rs"]
mod redis_stats;
#[path = "bench/report.rs"]
mod report;
#[path = "bench/scenarios.rs"]
mod scenarios;
#[path = "bench/sys.rs"]
mod sys;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Viewer-scale heartbeat benchmark of liveroom (scripts/bench.sh runs it)")]
struct Cli {
    /// Threads of the load generator (1, like `wrk -t1`: the machine is shared with the server
    /// and Redis).
    #[arg(long, default_value_t = 1, global = true)]
    threads: usize,
    #[command(subcommand)]
    step: Step,
}

#[derive(Subcommand)]
enum Step {
    /// Ceilings, storm, churn, reads, costs.
    Main(scenarios::MainArgs),
    /// The sweeper's lag closing rooms whose anchors went silent.
    Anchors(scenarios::AnchorsArgs),
    /// Markdown and SVG from the JSON of the other steps.
    Report(report::ReportArgs),
    /// Prints a script's text as the service loads it (for redis-benchmark: same SHA).
    Script {
        /// The script's name (its .lua file), e.g. heartbeat.
        name: String,
    },
}

fn main() {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.threads.max(1))
        .enable_all()
        .build()
        .expect("tokio runtime");
    match cli.step {
        Step::Main(args) => rt.block_on(scenarios::main(args, cli.threads)),
        Step::Anchors(args) => rt.block_on(scenarios::anchors(args)),
        Step::Report(args) => report::write(args),
        Step::Script { name } => match liveroom::store::inspect::script_text(&name) {
            Some(text) => print!("{text}"),
            None => {
                eprintln!("no script named {name}");
                std::process::exit(2);
            }
        },
    }
}
