//! End-to-end tests: liveroom with the world around it. Besides `redis-server` they need Debian's
//! `chromium` and node/npm (browser), python3 with venv (sdk), `docker-compose` (deploy), `nginx`
//! with `libnginx-mod-rtmp` (replicas, streams), `ffmpeg` (streams) and `prometheus` (prometheus); `scripts/test.sh` installs
//! them. A plain `cargo test` does not build this binary (`test = false` in Cargo.toml):
//! `cargo test --test e2e` runs it. The harness is tests/api's, shared by path, not copied.

#[path = "../api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "../api/replica.rs"]
#[allow(dead_code)]
mod replica;
#[path = "../api/stream_support.rs"]
#[allow(dead_code)]
mod stream_support;

mod browser;
mod deploy;
mod failover;
mod nginx;
mod prometheus;
mod replicas;
mod sdk;
mod streams;
