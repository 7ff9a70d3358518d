//! A `liveroom serve` process of the tests' own (the binary, not an in-process app), on a free
//! port of this Redis and key prefix: for tests of what only a real process shows (threads,
//! signals, several replicas). Shared by tests/api and tests/e2e.

use std::time::Duration;

use super::helpers::*;

pub struct Replica {
    pub port: u16,
    env: Vec<(String, String)>,
    log: std::path::PathBuf,
    pub process: Option<Guarded>,
}

impl Replica {
    pub fn start(settings: &liveroom::config::Settings, extra: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut env = vec![
            ("LIVEROOM_BIND".to_owned(), format!("127.0.0.1:{port}")),
            (
                "LIVEROOM_REDIS_KEY_PREFIX".to_owned(),
                settings.redis_key_prefix.clone(),
            ),
            ("LIVEROOM_JWT_SECRET".to_owned(), SECRET.to_owned()),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
            (
                "LIVEROOM_RATE_LIMIT_USER_PER_SEC".to_owned(),
                "0".to_owned(),
            ),
            ("LIVEROOM_RATE_LIMIT_IP_PER_SEC".to_owned(), "0".to_owned()),
            // The same quota as the in-process apps (off): the traffic below creates rooms.
            (
                "LIVEROOM_MAX_OPEN_ROOMS_PER_USER".to_owned(),
                settings.max_open_rooms_per_user.to_string(),
            ),
        ];
        // Sentinels in `extra` name the Redis on their own (a URL beside them is refused)
        let sentinels = extra.iter().any(|(k, _)| *k == "LIVEROOM_REDIS_SENTINELS");
        match &settings.redis_cluster {
            _ if sentinels => {}
            Some(seeds) => env.push(("LIVEROOM_REDIS_CLUSTER".to_owned(), seeds.clone())),
            None => env.push(("LIVEROOM_REDIS_URL".to_owned(), settings.redis_url.clone())),
        }
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let log = std::env::temp_dir().join(format!("liveroom-test-replica-{port}.log"));
        let mut replica = Self {
            port,
            env,
            log,
            process: None,
        };
        replica.run();
        replica
    }

    pub fn run(&mut self) {
        let bin = env!("CARGO_BIN_EXE_liveroom");
        self.process = Some(Guarded::spawn(
            &format!("exec {bin} serve"),
            &self.env,
            &self.log,
        ));
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "replica on {} did not start",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then waits for the process to exit (bounded).
    #[allow(dead_code)] // tests/e2e's rolling restart
    pub async fn terminate(&mut self) -> Duration {
        let process = self.process.as_ref().expect("running");
        let started = std::time::Instant::now();
        process.signal("TERM");
        eventually(
            Duration::from_secs(20),
            "the replica exits after SIGTERM",
            || async { (!process.alive()).then_some(()) },
        )
        .await;
        self.process = None;
        started.elapsed()
    }
}

/// A TestApp-shaped client of the load balancer (no app of its own).
pub fn through(base: &str, settings: &liveroom::config::Settings) -> TestApp {
    TestApp::client_of(base, settings.clone())
}
