//! The load generator: workers, each owning one keep-alive connection, driven open-loop (a fixed
//! schedule of intended send times; latency counted from the intended time when the connection
//! was still busy, so a stall is not hidden — no coordinated omission) or closed-loop (send the
//! next request as soon as the previous answer arrived).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::http::{Conn, envelope_code};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Op {
    Healthz,
    Heartbeat,
    AnchorBeat,
    Create,
    Start,
    Join,
    Rejoin,
    Hop,
    Leave,
    Info,
    UserList,
    List,
    Search,
}

pub const OPS: [Op; 13] = [
    Op::Healthz,
    Op::Heartbeat,
    Op::AnchorBeat,
    Op::Create,
    Op::Start,
    Op::Join,
    Op::Rejoin,
    Op::Hop,
    Op::Leave,
    Op::Info,
    Op::UserList,
    Op::List,
    Op::Search,
];

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Healthz => "healthz",
            Op::Heartbeat => "heartbeat",
            Op::AnchorBeat => "anchor heartbeat",
            Op::Create => "create",
            Op::Start => "start",
            Op::Join => "join",
            Op::Rejoin => "re-join after 40901",
            Op::Hop => "join (room hop)",
            Op::Leave => "leave",
            Op::Info => "info",
            Op::UserList => "user_list",
            Op::List => "list",
            Op::Search => "search",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Latency and outcome counts of one kind of request.
pub struct OpStats {
    pub hist: Histogram<u64>,
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
}

impl OpStats {
    fn new() -> Self {
        Self {
            // microseconds, 1 µs to 5 min
            hist: Histogram::new_with_bounds(1, 300_000_000, 3).expect("histogram bounds"),
            ok: 0,
            errors: BTreeMap::new(),
        }
    }

    pub fn count(&self) -> u64 {
        self.hist.len()
    }
}

pub struct Stats {
    pub ops: Vec<OpStats>,
    /// A few error answers, verbatim, for the report.
    pub samples: Vec<String>,
}

impl Stats {
    pub fn new() -> Self {
        Self {
            ops: OPS.iter().map(|_| OpStats::new()).collect(),
            samples: Vec::new(),
        }
    }

    pub fn op(&self, op: Op) -> &OpStats {
        &self.ops[op.index()]
    }

    pub fn record(&mut self, op: Op, latency: Duration, outcome: &Result<(), String>) {
        let s = &mut self.ops[op.index()];
        let us = (latency.as_micros() as u64).clamp(1, 300_000_000);
        let _ = s.hist.record(us);
        match outcome {
            Ok(()) => s.ok += 1,
            Err(label) => *s.errors.entry(label.clone()).or_default() += 1,
        }
    }

    pub fn merge(&mut self, other: &Stats) {
        for (a, b) in self.ops.iter_mut().zip(&other.ops) {
            let _ = a.hist.add(&b.hist);
            a.ok += b.ok;
            for (k, v) in &b.errors {
                *a.errors.entry(k.clone()).or_default() += v;
            }
        }
        for s in &other.samples {
            if self.samples.len() < 5 {
                self.samples.push(s.clone());
            }
        }
    }

    pub fn total(&self) -> u64 {
        self.ops.iter().map(OpStats::count).sum()
    }
}

/// What one answer means: Ok, or an error label such as "409/40901" or "io: ...".
pub fn judge(op: Op, status: u16, body: &[u8]) -> Result<(), String> {
    if op == Op::Healthz {
        return if status == 200 {
            Ok(())
        } else {
            Err(format!("{status}"))
        };
    }
    match envelope_code(body) {
        Some(0) if status == 200 => Ok(()),
        Some(code) => Err(format!("{status}/{code}")),
        None => Err(format!("{status}/no envelope")),
    }
}

/// A stream of requests for one worker.
pub trait Source: Send + 'static {
    /// Writes the next request into `buf` (cleared) and says what it is; None: no more.
    fn next(&mut self, buf: &mut Vec<u8>) -> Option<Op>;
    /// How the last request went (its answer's body, for sources that read it).
    fn done(&mut self, _op: Op, _outcome: &Result<(), String>, _body: &[u8]) {}
}

#[derive(Clone, Copy)]
pub enum Pace {
    /// As fast as the connection answers.
    Closed,
    /// This many requests per second over all the group's workers.
    Open(f64),
}

/// The result of one group of workers.
pub struct GroupRun {
    pub stats: Stats,
    /// From the common start to the last answer.
    pub elapsed: Duration,
}

/// When a group stops: at `until`, or earlier when `stop` turns true.
#[derive(Clone)]
pub struct Until {
    pub at: Instant,
    pub stop: Arc<AtomicBool>,
}

impl Until {
    pub fn after(d: Duration) -> Self {
        Self {
            at: Instant::now() + d,
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    fn over(&self, now: Instant) -> bool {
        now >= self.at || self.stop.load(Ordering::Relaxed)
    }
}

/// Runs one worker per source, all starting at `t0`, until `until` (or the sources run dry).
pub async fn run_group(
    addr: SocketAddr,
    sources: Vec<Box<dyn Source>>,
    pace: Pace,
    t0: Instant,
    until: Until,
) -> GroupRun {
    let workers = sources.len();
    let mut handles = Vec::with_capacity(workers);
    for (i, src) in sources.into_iter().enumerate() {
        let (offset, interval) = match pace {
            Pace::Closed => (Duration::ZERO, Duration::ZERO),
            Pace::Open(rate) => {
                let rate = rate.max(0.001);
                (
                    Duration::from_secs_f64(i as f64 / rate),
                    Duration::from_secs_f64(workers as f64 / rate),
                )
            }
        };
        let until = until.clone();
        let open = matches!(pace, Pace::Open(_));
        handles.push(tokio::spawn(async move {
            worker(addr, src, open, t0 + offset, interval, until).await
        }));
    }
    let mut stats = Stats::new();
    let mut last = t0;
    for h in handles {
        if let Ok((s, end)) = h.await {
            stats.merge(&s);
            last = last.max(end);
        }
    }
    GroupRun {
        stats,
        elapsed: last.saturating_duration_since(t0),
    }
}

async fn worker(
    addr: SocketAddr,
    mut src: Box<dyn Source>,
    open: bool,
    first: Instant,
    interval: Duration,
    until: Until,
) -> (Stats, Instant) {
    let mut conn = Conn::new(addr);
    let mut stats = Stats::new();
    let mut buf = Vec::with_capacity(1024);
    let mut k: u32 = 0;
    let mut last = Instant::now();
    // open the connection before the clock starts (steady state: keep-alive connections exist)
    let _ = conn
        .send(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")
        .await;
    if !open && first > Instant::now() {
        tokio::time::sleep_until(first.into()).await;
    }
    loop {
        let now = Instant::now();
        let started = if open {
            let intended = first + interval * k;
            k += 1;
            // a backlog (the server fell behind) drains for 2 s at most after the end
            if until.over(intended) || now >= until.at + Duration::from_secs(2) {
                break;
            }
            if intended > now {
                // on time: count from the actual send (the timer's own lateness is ours)
                tokio::time::sleep_until(intended.into()).await;
                Instant::now()
            } else {
                // the connection was busy past the intended time: count from it
                intended
            }
        } else {
            if until.over(now) {
                break;
            }
            now
        };
        buf.clear();
        let Some(op) = src.next(&mut buf) else {
            break;
        };
        let (outcome, body) = match conn.send(&buf).await {
            Ok((status, body)) => (judge(op, status, body), body),
            Err(e) => (Err(format!("io: {}", e.kind())), &[][..]),
        };
        last = Instant::now();
        stats.record(op, last - started, &outcome);
        if outcome.is_err() && stats.samples.len() < 3 {
            let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
            stats
                .samples
                .push(format!("{}: {:?} {text}", op.name(), outcome));
        }
        src.done(op, &outcome, body);
    }
    (stats, last)
}

/// Answers by request index (None: failed, or not kept).
type Answers = Arc<std::sync::Mutex<Vec<Option<Vec<u8>>>>>;

/// A list of requests shared by workers, each taken once; answers kept when asked.
pub struct Batch {
    items: Arc<Vec<(Op, Vec<u8>)>>,
    next: Arc<std::sync::atomic::AtomicUsize>,
    answers: Option<Answers>,
    current: usize,
}

/// Sends every request once over `conns` connections, as fast as they answer. Answers (bodies)
/// of the successful ones are returned, by index, when `keep` is set.
pub async fn batch(
    addr: SocketAddr,
    conns: usize,
    items: Vec<(Op, Vec<u8>)>,
    keep: bool,
) -> (GroupRun, Vec<Option<Vec<u8>>>) {
    let n = items.len();
    let items = Arc::new(items);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let answers = keep.then(|| Arc::new(std::sync::Mutex::new(vec![None; n])));
    let sources: Vec<Box<dyn Source>> = (0..conns.clamp(1, n.max(1)))
        .map(|_| {
            Box::new(Batch {
                items: items.clone(),
                next: next.clone(),
                answers: answers.clone(),
                current: 0,
            }) as Box<dyn Source>
        })
        .collect();
    let run = run_group(
        addr,
        sources,
        Pace::Closed,
        Instant::now(),
        Until::after(Duration::from_secs(3600)),
    )
    .await;
    let answers = answers
        .map(|a| std::mem::take(&mut *a.lock().expect("answers")))
        .unwrap_or_default();
    (run, answers)
}

impl Source for Batch {
    fn next(&mut self, buf: &mut Vec<u8>) -> Option<Op> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let (op, bytes) = self.items.get(i)?;
        self.current = i;
        buf.extend_from_slice(bytes);
        Some(*op)
    }

    fn done(&mut self, _op: Op, outcome: &Result<(), String>, body: &[u8]) {
        if let (Some(answers), Ok(())) = (&self.answers, outcome) {
            answers.lock().expect("answers")[self.current] = Some(body.to_vec());
        }
    }
}

/// Cycles through prebuilt requests: worker `w` of `n` takes `w, w + n, w + 2n, …`. A request
/// answered 409/40901 (the member lapsed) is followed by the member's join, as a client does.
pub struct Cycle {
    pub op: Op,
    pub requests: Arc<Vec<Vec<u8>>>,
    /// The join of the same user, for a re-join after 40901 (empty: none).
    pub rejoins: Arc<Vec<Vec<u8>>>,
    pub at: usize,
    pub step: usize,
    pub pending_rejoin: Option<usize>,
    pub last: usize,
}

impl Cycle {
    pub fn sources(
        op: Op,
        requests: Arc<Vec<Vec<u8>>>,
        rejoins: Arc<Vec<Vec<u8>>>,
        workers: usize,
    ) -> Vec<Box<dyn Source>> {
        let workers = workers.clamp(1, requests.len().max(1));
        (0..workers)
            .map(|w| {
                Box::new(Cycle {
                    op,
                    requests: requests.clone(),
                    rejoins: rejoins.clone(),
                    at: w,
                    step: workers,
                    pending_rejoin: None,
                    last: 0,
                }) as Box<dyn Source>
            })
            .collect()
    }
}

impl Source for Cycle {
    fn next(&mut self, buf: &mut Vec<u8>) -> Option<Op> {
        if self.requests.is_empty() {
            return None;
        }
        if let Some(i) = self.pending_rejoin.take() {
            buf.extend_from_slice(&self.rejoins[i]);
            return Some(Op::Rejoin);
        }
        let i = self.at % self.requests.len();
        self.at += self.step;
        self.last = i;
        buf.extend_from_slice(&self.requests[i]);
        Some(self.op)
    }

    fn done(&mut self, op: Op, outcome: &Result<(), String>, _body: &[u8]) {
        if op == self.op
            && !self.rejoins.is_empty()
            && matches!(outcome, Err(label) if label == "409/40901")
        {
            self.pending_rejoin = Some(self.last);
        }
    }
}

/// A small deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
