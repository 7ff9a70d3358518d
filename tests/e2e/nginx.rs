//! An nginx of the tests' own from any main-context configuration (an `rtmp {}` block with its
//! `load_module`, an `http {}` block, a `stream {}` block...): it runs in the foreground as a
//! single process (`daemon off; master_process off;`) with `-p DIR -c DIR/nginx.conf`, its pid and
//! error log in DIR, and dies with the test process (`Guarded`) or when dropped.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::helpers::Guarded;

/// Debian's `libnginx-mod-rtmp`.
pub const RTMP_MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

pub struct NginxServer {
    pub dir: PathBuf,
    process: Option<Guarded>,
}

impl NginxServer {
    /// Starts nginx on `conf`, which is the configuration without `daemon`, `master_process`,
    /// `pid` and `error_log` (added here; `events {}` too when `conf` has none), and waits until
    /// every port of its `listen` directives accepts connections. `load_module` lines must come
    /// first in `conf`. An `http {}` block run without root needs its own `*_temp_path`s in DIR.
    pub fn start(conf: &str) -> Self {
        Self::start_with(conf, &[])
    }

    /// As `start`, with `files` written into DIR first (relative `include`s resolve there).
    pub fn start_with(conf: &str, files: &[(&str, String)]) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        assert!(
            Path::new("/usr/sbin/nginx").exists() || which("nginx"),
            "nginx is not installed (scripts/test.sh installs nginx and libnginx-mod-rtmp)"
        );
        let dir = std::env::temp_dir().join(format!(
            "liveroom-test-nginx-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("nginx dir");
        for (name, body) in files {
            std::fs::write(dir.join(name), body).expect("nginx file");
        }
        let d = dir.display();
        let events = if conf.contains("events {") {
            ""
        } else {
            "events { worker_connections 256; }\n"
        };
        let full = format!(
            "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
             {conf}\n{events}"
        );
        std::fs::write(dir.join("nginx.conf"), full).expect("nginx.conf");
        let process = Guarded::spawn(
            &format!("nginx -p {d}/ -c {d}/nginx.conf -e {d}/error.log"),
            &[],
            &dir.join("stderr.log"),
        );
        let server = Self {
            dir,
            process: Some(process),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        let everything: String = std::iter::once(conf.to_owned())
            .chain(files.iter().map(|(_, body)| body.clone()))
            .collect::<Vec<_>>()
            .join("\n");
        for port in listen_ports(&everything) {
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "nginx did not listen on {port}:\n{}\n{}",
                    server.error_log(),
                    std::fs::read_to_string(server.dir.join("stderr.log")).unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        server
    }

    /// What nginx logged so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for NginxServer {
    fn drop(&mut self) {
        drop(self.process.take()); // kills nginx and waits for it
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|p| p.join(program).exists()))
}

/// The ports of the `listen` directives (`listen 1935;`, `listen 127.0.0.1:8080 ...;`).
fn listen_ports(conf: &str) -> Vec<u16> {
    conf.lines()
        .filter_map(|line| line.trim().strip_prefix("listen "))
        .filter_map(|rest| {
            let addr = rest.split([' ', ';']).find(|s| !s.is_empty())?;
            addr.rsplit(':').next()?.parse().ok()
        })
        .collect()
}
