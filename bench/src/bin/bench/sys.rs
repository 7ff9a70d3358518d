//! What the kernel says about a process (/proc/PID/stat, /proc/PID/status) and the machine
//! (/proc/loadavg).

use serde::{Deserialize, Serialize};

/// CPU seconds (user + system) of a process, from /proc/PID/stat (`pid` "self": this one).
pub fn cpu_secs(pid: &str, clk_tck: f64) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // fields after the command name, which is in parentheses and may hold spaces
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // after ')': state is field 3 of the man page, so utime (14) and stime (15) are at 11, 12
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (get(11) + get(12)) / clk_tck.max(1.0)
}

/// VmRSS and VmHWM of a process, in bytes.
pub fn rss(pid: &str) -> (u64, u64) {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return (0, 0);
    };
    let kb = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or(0)
    };
    (kb("VmRSS:"), kb("VmHWM:"))
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LoadAvg(pub f64, pub f64, pub f64);

impl LoadAvg {
    pub fn now() -> Self {
        let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let v: Vec<f64> = text
            .split_whitespace()
            .take(3)
            .filter_map(|x| x.parse().ok())
            .collect();
        match v[..] {
            [a, b, c] => Self(a, b, c),
            _ => Self::default(),
        }
    }
}

impl std::fmt::Display for LoadAvg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.2}, {:.2}, {:.2}", self.0, self.1, self.2)
    }
}

/// Seconds the threads of a process have spent runnable but waiting for a CPU (the second field
/// of /proc/PID/task/TID/schedstat), summed over its threads.
pub fn runqueue_wait_secs(pid: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0.0;
    };
    let mut ns = 0u64;
    for task in tasks.flatten() {
        let path = task.path().join("schedstat");
        if let Ok(text) = std::fs::read_to_string(path) {
            ns += text
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    ns as f64 / 1e9
}

/// Resource readings at one moment, for deltas over a phase.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub server_cpu: f64,
    pub bench_cpu: f64,
    /// Run-queue waits (s) of liveroom, Redis and the generator.
    pub waits: [f64; 3],
    /// Busy CPU seconds of the whole machine (all cores, every process).
    pub machine_busy: f64,
}

impl Snapshot {
    pub fn take(pid: &str, redis_pid: &str, clk_tck: f64) -> Self {
        Self {
            waits: [
                runqueue_wait_secs(pid),
                runqueue_wait_secs(redis_pid),
                runqueue_wait_secs("self"),
            ],
            server_cpu: cpu_secs(pid, clk_tck),
            bench_cpu: cpu_secs("self", clk_tck),
            machine_busy: machine_busy_secs(clk_tck),
        }
    }
}

/// Busy CPU seconds of the machine so far, from the first line of /proc/stat: everything but
/// idle and iowait.
pub fn machine_busy_secs(clk_tck: f64) -> f64 {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().next() else {
        return 0.0;
    };
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() < 5 {
        return 0.0;
    }
    (v.iter().sum::<f64>() - v[3] - v[4]) / clk_tck.max(1.0)
}
