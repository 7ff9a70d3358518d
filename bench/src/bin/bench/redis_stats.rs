//! What Redis says about itself: INFO sections, command counts, memory per key, and MONITOR
//! (to count the commands each request sends at top level, apart from those its scripts run).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

pub type Redis = redis::aio::MultiplexedConnection;

pub async fn connect(url: &str) -> Redis {
    redis::Client::open(url)
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to redis")
}

pub async fn info(redis: &mut Redis, section: &str) -> BTreeMap<String, String> {
    let text: String = redis::cmd("INFO")
        .arg(section)
        .query_async(redis)
        .await
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
        .collect()
}

/// Calls per command (INFO commandstats; commands that scripts run are counted too).
pub async fn command_calls(redis: &mut Redis) -> BTreeMap<String, u64> {
    info(redis, "commandstats")
        .await
        .into_iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix("cmdstat_")?.to_owned();
            let calls = v
                .split(',')
                .find_map(|f| f.strip_prefix("calls="))?
                .parse()
                .ok()?;
            Some((name, calls))
        })
        .collect()
}

pub fn delta(
    after: &BTreeMap<String, u64>,
    before: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

/// Redis's CPU seconds (user + system) so far.
pub async fn cpu_secs(redis: &mut Redis) -> f64 {
    let cpu = info(redis, "cpu").await;
    let get = |k: &str| {
        cpu.get(k)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    get("used_cpu_user") + get("used_cpu_sys")
}

pub async fn used_memory(redis: &mut Redis) -> u64 {
    info(redis, "memory")
        .await
        .get("used_memory")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub async fn memory_usage(redis: &mut Redis, key: &str) -> u64 {
    redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(key)
        .arg("SAMPLES")
        .arg(0)
        .query_async::<Option<u64>>(redis)
        .await
        .ok()
        .flatten()
        .unwrap_or(0)
}

pub async fn encoding(redis: &mut Redis, key: &str) -> String {
    redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(key)
        .query_async::<Option<String>>(redis)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| "-".into())
}

/// Redis's config value (CONFIG GET), or "".
pub async fn config(redis: &mut Redis, name: &str) -> String {
    let v: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg(name)
        .query_async(redis)
        .await
        .unwrap_or_default();
    v.get(1).cloned().unwrap_or_default()
}

/// One command seen by MONITOR.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Unix seconds (Redis's clock, this machine's).
    pub at: f64,
    /// Run by a script (else sent by a client).
    pub in_script: bool,
    pub command: String,
    pub first_arg: String,
}

/// A MONITOR session: started before the sample, stopped after it.
pub struct Monitor {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Vec<Seen>>,
}

impl Monitor {
    pub async fn start(url: &str) -> std::io::Result<Self> {
        let hostport = url
            .trim_start_matches("redis://")
            .trim_end_matches('/')
            .rsplit('@')
            .next()
            .unwrap_or("127.0.0.1:6379")
            .to_owned();
        let mut stream = TcpStream::connect(&hostport).await?;
        stream.write_all(b"*1\r\n$7\r\nMONITOR\r\n").await?;
        let mut reader = BufReader::new(stream);
        let mut first = String::new();
        reader.read_line(&mut first).await?;
        if !first.starts_with("+OK") {
            return Err(std::io::Error::other(format!("MONITOR: {first}")));
        }
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut line = String::new();
            loop {
                line.clear();
                tokio::select! {
                    _ = &mut stopped => break,
                    r = reader.read_line(&mut line) => match r {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            if let Some(s) = parse_monitor_line(&line) {
                                seen.push(s);
                            }
                        }
                    }
                }
            }
            seen
        });
        Ok(Self { stop, task })
    }

    pub async fn finish(self) -> Vec<Seen> {
        // let the last lines arrive
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}

fn parse_monitor_line(line: &str) -> Option<Seen> {
    let line = line.strip_prefix('+')?;
    let (ts, rest) = line.split_once(' ')?;
    let at: f64 = ts.parse().ok()?;
    let open = rest.find('[')?;
    let close = rest.find(']')?;
    let who = &rest[open + 1..close];
    let in_script = who.ends_with("lua");
    let mut tokens = quoted(&rest[close + 1..]);
    let command = tokens.next()?.to_ascii_lowercase();
    let first_arg = tokens.next().unwrap_or_default();
    Some(Seen {
        at,
        in_script,
        command,
        first_arg,
    })
}

/// The quoted tokens of a MONITOR line ("a" "b\"c" …), unescaped enough to compare.
fn quoted(s: &str) -> impl Iterator<Item = String> + '_ {
    let mut chars = s.chars().peekable();
    std::iter::from_fn(move || {
        // find the opening quote
        loop {
            match chars.next()? {
                '"' => break,
                _ => continue,
            }
        }
        let mut out = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                }
                '"' => return Some(out),
                c => out.push(c),
            }
        }
        Some(out)
    })
}

pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}
