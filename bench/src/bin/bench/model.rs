//! The figures a run produces, written as JSON by `bench main` and `bench anchors` and read back
//! by `bench report`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::load::{OPS, OpStats, Stats};
use super::sys::LoadAvg;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OpResult {
    pub op: String,
    pub count: u64,
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    pub throughput: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl OpResult {
    pub fn from_stats(name: &str, s: &OpStats, elapsed_s: f64) -> Self {
        let q = |p: f64| s.hist.value_at_quantile(p) as f64 / 1000.0;
        Self {
            op: name.to_owned(),
            count: s.count(),
            ok: s.ok,
            errors: s.errors.clone(),
            throughput: s.count() as f64 / elapsed_s.max(1e-9),
            mean_ms: s.hist.mean() / 1000.0,
            p50_ms: q(0.5),
            p90_ms: q(0.9),
            p99_ms: q(0.99),
            p999_ms: q(0.999),
            max_ms: s.hist.max() as f64 / 1000.0,
        }
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// One measured phase: what was sent, how it was answered, and what it cost.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PhaseResult {
    pub name: String,
    pub description: String,
    /// The heartbeat rate offered open-loop (None: closed-loop or no heartbeats).
    pub offered: Option<f64>,
    pub elapsed_s: f64,
    pub requests: u64,
    pub ops: Vec<OpResult>,
    pub error_samples: Vec<String>,
    pub server_cpu_s: f64,
    pub redis_cpu_s: f64,
    pub bench_cpu_s: f64,
    /// Busy CPU seconds of the whole machine (every process) over the phase.
    #[serde(default)]
    pub machine_cpu_s: f64,
    /// Seconds runnable but waiting for a CPU: liveroom, Redis, the generator (schedstat).
    #[serde(default)]
    pub runqueue_wait_s: [f64; 3],
    /// INFO commandstats deltas over the phase (scripts' own commands included).
    pub commands: BTreeMap<String, u64>,
    pub server_rss: u64,
    pub server_rss_peak: u64,
    pub load_start: LoadAvg,
    pub load_end: LoadAvg,
}

impl PhaseResult {
    pub fn fill_ops(&mut self, stats: &Stats) {
        self.requests = stats.total();
        self.ops = OPS
            .iter()
            .filter(|op| stats.op(**op).count() > 0)
            .map(|op| OpResult::from_stats(op.name(), stats.op(*op), self.elapsed_s))
            .collect();
        self.error_samples = stats.samples.clone();
    }

    pub fn op(&self, name: &str) -> Option<&OpResult> {
        self.ops.iter().find(|o| o.op == name)
    }

    pub fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed_s.max(1e-9)
    }

    pub fn errors(&self) -> u64 {
        self.ops.iter().map(OpResult::error_count).sum()
    }

    /// Microseconds per request that each process (liveroom, Redis, generator) waited for a CPU.
    pub fn wait_us(&self) -> [f64; 3] {
        let n = self.requests.max(1) as f64;
        self.runqueue_wait_s.map(|s| s * 1e6 / n)
    }

    pub fn per_1000(&self, secs: f64) -> f64 {
        secs * 1000.0 / (self.requests.max(1) as f64)
    }
}

/// The sweeper and other background work measured with no load: subtracted from phases.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Background {
    pub seconds: f64,
    pub commands: BTreeMap<String, u64>,
    pub redis_cpu_s: f64,
    pub server_cpu_s: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyMemory {
    pub what: String,
    pub bytes: u64,
    pub encoding: String,
    pub entries: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Memory {
    pub rooms: u64,
    pub members: u64,
    pub used_before: u64,
    pub used_after_rooms: u64,
    pub used_after_members: u64,
    /// MEMORY USAGE of one room's keys.
    pub room_keys: Vec<KeyMemory>,
    /// MEMORY USAGE of a user's hash, averaged over a sample of viewers.
    pub user_hash_avg: f64,
    pub user_hash_encoding: String,
    /// Redis settings that decide the encodings.
    pub config: BTreeMap<String, String>,
}

impl Memory {
    pub fn per_room(&self) -> f64 {
        self.used_after_rooms.saturating_sub(self.used_before) as f64 / self.rooms.max(1) as f64
    }

    pub fn per_member(&self) -> f64 {
        self.used_after_members
            .saturating_sub(self.used_after_rooms) as f64
            / self.members.max(1) as f64
    }
}

/// Commands one kind of request sends, counted with MONITOR.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RoundTrips {
    pub op: String,
    pub samples: usize,
    pub top_level_median: f64,
    pub top_level_max: u64,
    pub in_script_median: f64,
    /// The most common sequence of top-level commands (scripts by name).
    pub sequence: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MainSettings {
    pub viewers: usize,
    pub rooms: usize,
    pub interval_ms: u64,
    pub window_ms: u64,
    pub duration_s: f64,
    pub sweep_duration_s: f64,
    pub conns: usize,
    pub open_conns: usize,
    pub churners: usize,
    pub churn_rate: f64,
    pub reads_rate: f64,
    pub bench_threads: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MainResult {
    pub settings: MainSettings,
    pub healthz: PhaseResult,
    pub setup: PhaseResult,
    pub joins: PhaseResult,
    pub storm: PhaseResult,
    pub max: PhaseResult,
    pub sweep: Vec<PhaseResult>,
    pub churn: PhaseResult,
    pub reads: PhaseResult,
    pub background: Background,
    pub memory: Memory,
    pub round_trips: Vec<RoundTrips>,
    pub heartbeat_sha: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AnchorsResult {
    pub rooms: usize,
    pub bg_rooms: usize,
    pub viewers: usize,
    pub close_ms: u64,
    /// Per silent room: ended_ms − (anchor_seen + close_ms), Redis clock; None: never closed.
    pub lags_ms: Vec<Option<i64>>,
    /// Per silent room: when it closed, ms after the earliest deadline.
    pub closed_at_ms: Vec<i64>,
    /// Spread of the deadlines (last − first), ms.
    pub deadline_spread_ms: i64,
    /// Rooms whose anchors kept heartbeating that were closed anyway.
    pub bg_closed: usize,
    /// Closes in bursts (sweeps): how many rooms each burst closed.
    pub waves: Vec<usize>,
    /// Each burst: (rooms, first close, last close), ms after the earliest deadline.
    #[serde(default)]
    pub wave_spans: Vec<(usize, i64, i64)>,
    pub during: PhaseResult,
    pub starts: PhaseResult,
    pub api_check: String,
}
