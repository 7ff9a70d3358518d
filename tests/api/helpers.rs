//! The test harness: a real `redis-server` per test binary on a free port (and private ones for
//! tests that kill theirs), a fresh app on port 0 per test with its own key prefix, and clients.

use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use liveroom::app::Application;
use liveroom::config::Settings;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const SECRET: &str = "test-secret";

/// A redis-server of the tests' own. It dies with the test process: it is started under a shell
/// that kills it when our end of its stdin closes, whatever way the test process ends.
pub struct RedisServer {
    pub port: u16,
    pub dir: std::path::PathBuf,
    guard: Child,
    extra_args: Vec<String>,
}

/// A process of the tests' own that dies with the test process: it runs under a shell that kills
/// it when our end of the shell's stdin closes, whatever way the test process ends.
pub struct Guarded {
    guard: Child,
    pid_file: std::path::PathBuf,
}

impl Guarded {
    /// Runs `command` (a shell command line) with `env`, its output to `log`.
    pub fn spawn(command: &str, env: &[(String, String)], log: &std::path::Path) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let pid_file = std::env::temp_dir().join(format!(
            "liveroom-test-{}-{}.pid",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let script = format!(
            "{command} >{log} 2>&1 & pid=$!; echo $pid > {pid}; read _ ; kill -9 $pid 2>/dev/null; \
             wait $pid 2>/dev/null",
            log = log.display(),
            pid = pid_file.display()
        );
        let guard = Command::new("sh")
            .arg("-c")
            .arg(script)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sh");
        Self { guard, pid_file }
    }

    pub fn pid(&self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Some(pid) = std::fs::read_to_string(&self.pid_file)
                .ok()
                .and_then(|p| p.trim().parse().ok())
            {
                return Some(pid);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Sends a signal (`TERM`, `STOP`, `CONT`, ...) to the process.
    #[allow(dead_code)] // tests/e2e's rolling restart (Replica::terminate)
    pub fn signal(&self, name: &str) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .args([format!("-{name}"), pid.to_string()])
                .status();
        }
    }

    /// Whether the process still runs (an exited one stays a zombie until the shell reaps it).
    #[allow(dead_code)] // tests/e2e's rolling restart (Replica::terminate)
    pub fn alive(&self) -> bool {
        self.pid().is_some_and(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    stat.rsplit_once(')')
                        .map(|(_, rest)| rest.trim().to_owned())
                })
                .is_some_and(|rest| !rest.starts_with('Z'))
        })
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if let Some(stdin) = self.guard.stdin.as_mut() {
            let _ = stdin.write_all(b"\n");
        }
        let _ = self.guard.wait();
        let _ = std::fs::remove_file(&self.pid_file);
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

impl RedisServer {
    pub fn start(extra_args: &[&str]) -> Self {
        let extra_args: Vec<String> = extra_args.iter().map(|s| s.to_string()).collect();
        for _ in 0..20 {
            let port = free_port();
            let dir = std::env::temp_dir().join(format!("liveroom-test-redis-{port}"));
            let _ = std::fs::create_dir_all(&dir);
            let guard = Self::spawn(port, &dir, &extra_args);
            let server = Self {
                port,
                dir,
                guard,
                extra_args: extra_args.clone(),
            };
            if server.wait_ready(Duration::from_secs(5)) {
                return server;
            }
        }
        panic!("could not start redis-server (is it installed? scripts/test.sh installs it)");
    }

    /// Starts a server on a given port (cluster nodes need one whose port + 10000 is free too).
    pub fn start_on(port: u16, extra_args: &[&str]) -> Self {
        let extra_args: Vec<String> = extra_args.iter().map(|s| s.to_string()).collect();
        let dir = std::env::temp_dir().join(format!("liveroom-test-redis-{port}"));
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::create_dir_all(&dir);
        let guard = Self::spawn(port, &dir, &extra_args);
        Self {
            port,
            dir,
            guard,
            extra_args,
        }
    }

    fn spawn(port: u16, dir: &std::path::Path, extra: &[String]) -> Child {
        let args = format!(
            "--port {port} --bind 127.0.0.1 --save '' --appendonly no --dir {} {}",
            dir.display(),
            extra.join(" ")
        );
        // `exec 3<&0` keeps our pipe; when it closes, `read` returns and the server is killed.
        let script = format!(
            "redis-server {args} >{dir}/redis.log 2>&1 & pid=$!; echo $pid > {dir}/redis.pid; \
             read _ ; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null",
            dir = dir.display()
        );
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sh")
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn wait_ready(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self
                .cli_blocking(&["PING"])
                .map(|s| s.trim() == "PONG")
                .unwrap_or(false)
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Runs redis-cli against this server and returns what it printed. For the harness's own
    /// set-up and tear-down, outside any test's runtime; tests use the async `cli`.
    fn cli_blocking(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "--no-raw"])
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs redis-cli against this server and returns what it printed. A child process awaited
    /// on the runtime, so the app under test keeps serving while redis-cli runs.
    pub async fn cli(&self, args: &[&str]) -> Option<String> {
        let out = tokio::process::Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "--no-raw"])
            .args(args)
            .kill_on_drop(true)
            .output()
            .await
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Starts `redis-cli MONITOR` against this server.
    pub async fn monitor(&self) -> Monitor {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "monitor"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-cli monitor");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        // MONITOR answers OK once it is on
        let first = tokio::time::timeout(Duration::from_secs(5), lines.next_line())
            .await
            .ok()
            .and_then(Result::ok)
            .flatten()
            .unwrap_or_default();
        assert_eq!(first.trim(), "OK", "monitor did not start");
        Monitor { child, lines }
    }

    pub fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.dir.join("redis.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Pauses (SIGSTOP) or resumes (SIGCONT) the server.
    pub fn signal_pause(&self, pause: bool) {
        let pid = self.pid().expect("redis pid");
        let sig = if pause { "-STOP" } else { "-CONT" };
        let ok = Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {sig}");
    }

    /// Kills the server (SIGKILL) and waits until it no longer answers.
    pub async fn kill(&mut self) {
        if let Some(stdin) = self.guard.stdin.as_mut() {
            let _ = stdin.write_all(b"\n");
        }
        let _ = self.guard.wait();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && self.cli(&["PING"]).await.is_some() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts the server again on the same port and waits until it answers.
    pub async fn restart(&mut self) {
        self.guard = Self::spawn(self.port, &self.dir, &self.extra_args);
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.cli(&["PING"]).await.is_none_or(|s| s.trim() != "PONG") {
            assert!(Instant::now() < deadline, "redis did not come back");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A running `redis-cli MONITOR`.
pub struct Monitor {
    child: tokio::process::Child,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl Monitor {
    /// The lines seen up to (and with) the first that contains `marker` (or up to a silence of
    /// 10 s, which the caller's assertions then show).
    pub async fn until(mut self, marker: &str) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(Ok(Some(line))) =
            tokio::time::timeout(Duration::from_secs(10), self.lines.next_line()).await
        {
            let done = line.contains(marker);
            out.push(line);
            if done {
                break;
            }
        }
        let _ = self.child.kill().await;
        out
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(stdin) = self.guard.stdin.as_mut() {
            let _ = stdin.write_all(b"\n");
        }
        let _ = self.guard.wait();
    }
}

/// A 3-master Redis Cluster of the tests' own.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    pub fn start() -> Self {
        Self::start_with(0, &[])
    }

    /// 3 masters with `replicas` replicas each (`redis-cli --cluster create --cluster-replicas`),
    /// every node started with `extra` arguments besides the cluster's.
    pub fn start_with(replicas: usize, extra: &[&str]) -> Self {
        let count = 3 * (1 + replicas);
        for _ in 0..10 {
            // A cluster node also listens on port + 10000: both must be free, and below 65536.
            let ports: Vec<u16> = (0..count).map(|_| free_cluster_port()).collect();
            if ports.iter().collect::<std::collections::HashSet<_>>().len() < count {
                continue;
            }
            let nodes: Vec<RedisServer> = ports
                .iter()
                .map(|&port| {
                    let conf = format!("nodes-{port}.conf");
                    let mut args = vec![
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        &conf,
                        "--cluster-node-timeout",
                        "2000",
                    ];
                    args.extend_from_slice(extra);
                    RedisServer::start_on(port, &args)
                })
                .collect();
            if nodes.iter().any(|n| !n.wait_ready(Duration::from_secs(5))) {
                continue;
            }
            let addrs: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
            let created = Command::new("redis-cli")
                .arg("--cluster")
                .arg("create")
                .args(&addrs)
                .args(["--cluster-replicas", &replicas.to_string()])
                .arg("--cluster-yes")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if !created {
                continue;
            }
            let cluster = Self { nodes };
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                let ok = cluster.nodes.iter().all(|n| {
                    n.cli_blocking(&["CLUSTER", "INFO"])
                        .is_some_and(|i| i.contains("cluster_state:ok"))
                });
                if ok {
                    return cluster;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("could not start a redis cluster");
    }

    pub fn seeds(&self) -> String {
        self.nodes
            .iter()
            .map(RedisServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn free_cluster_port() -> u16 {
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(7)
        ^ std::process::id();
    loop {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let candidate = 20000 + (seed >> 8) as u16 % 30000;
        let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
        if free(candidate) && free(candidate + 10000) {
            return candidate;
        }
    }
}

/// The Redis shared by the tests of this binary (each test has its own key prefix): one node,
/// or a 3-master cluster when `LIVEROOM_TEST_REDIS=cluster`.
pub enum SharedRedis {
    Single(RedisServer),
    Cluster(RedisCluster),
}

/// A Redis of one test's own (to count its clients, pause it, …): one node, or a 3-master
/// cluster when `LIVEROOM_TEST_REDIS=cluster`, with settings that point at it.
pub struct PrivateRedis {
    pub nodes: Vec<RedisServer>,
}

impl PrivateRedis {
    pub fn start() -> (Self, Settings) {
        match std::env::var("LIVEROOM_TEST_REDIS").as_deref() {
            Ok("cluster") => {
                let cluster = RedisCluster::start();
                let mut s = test_settings();
                s.redis_cluster = Some(cluster.seeds());
                (
                    Self {
                        nodes: cluster.nodes,
                    },
                    s,
                )
            }
            _ => {
                let redis = RedisServer::start(&[]);
                let s = settings_for(&redis);
                (Self { nodes: vec![redis] }, s)
            }
        }
    }
}

pub fn shared_redis() -> &'static SharedRedis {
    static REDIS: OnceLock<SharedRedis> = OnceLock::new();
    REDIS.get_or_init(|| match std::env::var("LIVEROOM_TEST_REDIS").as_deref() {
        Ok("cluster") => SharedRedis::Cluster(RedisCluster::start()),
        _ => SharedRedis::Single(RedisServer::start(&[])),
    })
}

impl SharedRedis {
    /// redis-cli against the shared Redis (following redirects on a cluster).
    pub async fn cli(&self, args: &[&str]) -> Option<String> {
        match self {
            Self::Single(server) => server.cli(args).await,
            Self::Cluster(cluster) => {
                let mut all = vec!["-c"];
                all.extend_from_slice(args);
                cluster.nodes[0].cli(&all).await
            }
        }
    }

    /// redis-cli against every node (one on a single Redis).
    pub async fn on_every_node(&self, args: &[&str]) {
        for node in self.nodes() {
            node.cli(args).await.expect("redis-cli");
        }
    }

    /// The nodes: one on a single Redis.
    pub fn nodes(&self) -> Vec<&RedisServer> {
        match self {
            Self::Single(server) => vec![server],
            Self::Cluster(cluster) => cluster.nodes.iter().collect(),
        }
    }

    /// Points the settings at this Redis.
    pub fn configure(&self, s: &mut Settings) {
        match self {
            Self::Single(server) => {
                s.redis_url = server.url();
                s.redis_cluster = None;
            }
            Self::Cluster(cluster) => s.redis_cluster = Some(cluster.seeds()),
        }
    }

    /// MONITOR on the node that holds `key` (the only node on a single Redis).
    pub async fn monitor_of(&self, key: &str) -> Monitor {
        match self {
            Self::Single(server) => server.monitor().await,
            Self::Cluster(cluster) => {
                let slot = cluster.nodes[0]
                    .cli(&["CLUSTER", "KEYSLOT", key])
                    .await
                    .unwrap_or_default();
                let slot: u16 = slot
                    .trim()
                    .trim_start_matches("(integer) ")
                    .parse()
                    .unwrap_or(0);
                let mut owner = &cluster.nodes[0];
                for node in &cluster.nodes {
                    if owns_slot(node, slot).await {
                        owner = node;
                        break;
                    }
                }
                owner.monitor().await
            }
        }
    }

    /// MONITOR on a single Redis; on a cluster, on the node of the global indexes.
    pub async fn monitor(&self) -> Monitor {
        self.monitor_of("idx:{rooms}").await
    }
}

/// Whether the node serves `slot` (from the `myself` line of CLUSTER NODES).
async fn owns_slot(node: &RedisServer, slot: u16) -> bool {
    let nodes = node.cli(&["CLUSTER", "NODES"]).await.unwrap_or_default();
    let Some(me) = nodes.lines().find(|l| l.contains("myself")) else {
        return false;
    };
    me.split_whitespace().skip(8).any(|range| {
        let (start, end) = range.split_once('-').unwrap_or((range, range));
        match (start.parse::<u16>(), end.parse::<u16>()) {
            (Ok(start), Ok(end)) => (start..=end).contains(&slot),
            _ => false,
        }
    })
}

pub fn unique_prefix() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "t{}-{}:",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Settings for a test app: the shared Redis, a fresh prefix, port 0.
pub fn test_settings() -> Settings {
    let mut s = liveroom::cli::default_settings();
    s.bind = "127.0.0.1:0".parse().expect("addr");
    shared_redis().configure(&mut s);
    s.redis_key_prefix = unique_prefix();
    s.jwt_secret = Some(SECRET.to_owned());
    // tests send bursts from one address; the rate-limit tests turn the limits on
    s.rate_limit_user_per_sec = 0;
    s.rate_limit_ip_per_sec = 0;
    // tests make many rooms per anchor; the quota test turns the limit on
    s.max_open_rooms_per_user = 0;
    s
}

/// Settings for a test app on a private single Redis (tests that kill, pause or count theirs).
pub fn settings_for(redis: &RedisServer) -> Settings {
    let mut s = test_settings();
    s.redis_cluster = None;
    s.redis_url = redis.url();
    s
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub settings: Settings,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    pub server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    /// A client of a server this test did not spawn (a load balancer, another process).
    pub fn client_of(base: &str, settings: Settings) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        Self {
            base: base.to_owned(),
            client,
            settings,
            shutdown: None,
            server: None,
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(test_settings()).await
}

pub async fn spawn_app_with(settings: Settings) -> TestApp {
    liveroom::telemetry::init_with("text", "warn");
    let app = Application::build(settings.clone())
        .await
        .expect("app builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = rx.await;
    }));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    TestApp {
        base,
        client,
        settings,
        shutdown: Some(tx),
        server: Some(server),
    }
}

/// An answer: status, body as JSON (Null when not JSON), headers.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    pub fn code(&self) -> i64 {
        self.body["code"].as_i64().unwrap_or(-1)
    }

    /// Asserts the contract's error answer: HTTP status, envelope code, a message.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: i64) {
        assert_eq!(self.status.as_u16(), status, "{:?}", self.body);
        assert_eq!(self.code(), code, "{:?}", self.body);
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{:?}",
            self.body
        );
        assert!(
            self.body["request_id"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{:?}",
            self.body
        );
        assert!(self.body.get("data").is_none(), "{:?}", self.body);
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "{:?}", self.body);
        assert_eq!(self.code(), 0, "{:?}", self.body);
        assert_eq!(self.body["message"], "success");
        &self.body["data"]
    }
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A token signed with the tests' secret for `sub`, with any extra claims.
pub fn token_with(claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("sign")
}

pub fn token(sub: &str) -> String {
    token_with(json!({"sub": sub, "exp": now_secs() + 3600, "nick": format!("nick-{sub}")}))
}

/// A token of the platform's admin `ops` (the server API, moderation of any room).
pub fn admin_token() -> String {
    token_with(json!({"sub": "ops", "exp": now_secs() + 3600, "admin": true}))
}

impl TestApp {
    /// A metric of `/metrics` without labels (`name value`), None when the scrape fails or the
    /// metric is not there.
    pub async fn metric(&self, name: &str) -> Option<u64> {
        let text = self
            .client
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            headers,
        }
    }

    /// The HTTP status of an unauthenticated GET (operational endpoints).
    pub async fn status_of(&self, path: &str) -> u16 {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("sent");
        resp.status().as_u16()
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.request(Method::GET, path, Some(token), None).await
    }

    /// Creates a room as `anchor` and returns its live_id.
    pub async fn create_room(&self, anchor: &str, title: &str) -> String {
        self.create_room_with(&token(anchor), title).await
    }

    /// Creates a room with the caller's token (and so its profile) and returns its live_id.
    pub async fn create_room_with(&self, token: &str, title: &str) -> String {
        let a = self
            .request(
                Method::POST,
                "/client/live/room/instance",
                Some(token),
                Some(json!({"title": title})),
            )
            .await;
        a.assert_ok()["live_id"]
            .as_str()
            .expect("live_id")
            .to_owned()
    }

    pub async fn info(&self, live_id: &str, user: &str) -> Answer {
        self.get(&format!("/client/live/room/info/{live_id}"), &token(user))
            .await
    }

    pub async fn start(&self, live_id: &str, user: &str) -> Answer {
        self.request(
            Method::PUT,
            &format!("/client/live/room/{live_id}"),
            Some(&token(user)),
            None,
        )
        .await
    }

    pub async fn stop(&self, live_id: &str, user: &str) -> Answer {
        self.request(
            Method::POST,
            &format!("/client/live/room/{live_id}"),
            Some(&token(user)),
            None,
        )
        .await
    }

    pub async fn delete(&self, live_id: &str, user: &str) -> Answer {
        self.request(
            Method::DELETE,
            &format!("/client/live/room/instance/{live_id}"),
            Some(&token(user)),
            None,
        )
        .await
    }

    pub async fn join(&self, live_id: &str, user: &str) -> Answer {
        self.request(
            Method::POST,
            &format!("/client/live/room/user/{live_id}"),
            Some(&token(user)),
            None,
        )
        .await
    }

    pub async fn leave(&self, live_id: &str, user: &str) -> Answer {
        self.request(
            Method::DELETE,
            &format!("/client/live/room/user/{live_id}"),
            Some(&token(user)),
            None,
        )
        .await
    }

    pub async fn heartbeat(&self, live_id: &str, user: &str) -> Answer {
        self.get(
            &format!("/client/live/room/heartbeat/{live_id}"),
            &token(user),
        )
        .await
    }

    pub async fn user_list(&self, live_id: &str, page_num: u32, page_size: u32) -> Answer {
        self.get(
            &format!(
                "/client/live/room/user_list?live_id={live_id}&page_num={page_num}&page_size={page_size}"
            ),
            &token("lister"),
        )
        .await
    }

    /// Spreads a room's members over `shards` shard rooms, as the platform's admin
    /// (`PUT /server/live/room/{live_id}/shards`).
    pub async fn set_member_shards(&self, live_id: &str, shards: u32) -> Answer {
        self.request(
            Method::PUT,
            &format!("/server/live/room/{live_id}/shards"),
            Some(&admin_token()),
            Some(json!({ "member_shards": shards })),
        )
        .await
    }

    /// A room's online_count as info shows it.
    pub async fn online_count(&self, live_id: &str) -> u64 {
        self.info(live_id, "observer").await.assert_ok()["online_count"]
            .as_u64()
            .expect("count")
    }

    /// The room the user's pointer names ("" when none): the user's field of the pointer
    /// buckets, `seq TAB im_userid TAB room` (store/keys.rs `user_pointers`; the room compact,
    /// read back by `store::inspect::pointer_room`).
    pub async fn pointer_room(&self, user: &str) -> String {
        let bucket = liveroom::store::inspect::KeyNames::new(&self.settings.redis_key_prefix)
            .user_pointers(user);
        let record = shared_redis()
            .cli(&["--raw", "HGET", &bucket, user])
            .await
            .unwrap_or_default();
        let stored = record
            .trim_end_matches('\n')
            .split('\t')
            .nth(2)
            .unwrap_or("");
        liveroom::store::inspect::pointer_room(stored)
            .map(|id| id.to_string())
            .unwrap_or_else(|| stored.to_owned())
    }

    /// Redis key of this app's deployment (its prefix + `rest`).
    pub fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.settings.redis_key_prefix)
    }

    /// Stops the app (graceful shutdown) and waits for it.
    pub async fn stop_app(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

/// Polls `check` until it returns Some, or panics after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
