#!/usr/bin/env bash
# Runs every check: installs what the tests need (redis-server, redis-tools), then
# cargo fmt --check, clippy with warnings as errors, and the whole test suite.
# The tests start their own redis-server processes on free ports and stop them afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo

apt_install redis-server redis-tools docker-compose nginx libnginx-mod-rtmp ffmpeg

echo ">> cargo fmt --check"
cargo fmt --all -- --check
echo ">> cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --quiet -- -D warnings
echo ">> cargo test (single Redis)"
cargo test --all-targets
echo ">> cargo test --test api (3-master Redis Cluster)"
LIVEROOM_TEST_REDIS=cluster cargo test --test api
