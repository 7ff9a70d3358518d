#!/usr/bin/env bash
# Discovery benchmark (issue 4): loads 100 000 rooms with realistic Chinese and English titles
# into a private redis-server through a private `liveroom serve`, then prints p50/p90/p99
# latency, throughput, Redis commands and Redis CPU per request of the live list and of search,
# and the Redis memory the search index costs per room. Figures only, never pass/fail.
#
#   scripts/bench-discovery.sh [--rooms N] [--requests N] [--concurrency N] ...
#
# (every argument goes to the load generator, bench/src/bin/bench_discovery.rs; see --help there).
# The server runs with rate limits off and a 10-hour anchor-offline close, so that the loaded
# rooms stay as loaded for the whole run.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo
command -v redis-server >/dev/null || apt_install redis-server
command -v redis-cli >/dev/null || apt_install redis-tools

cargo build --release -p liveroom -p bench --bin liveroom --bin bench_discovery

work=$(mktemp -d "${TMPDIR:-/tmp}/liveroom-bench.XXXXXX")
redis_port=$(free_port)
app_port=$(free_port)
while [ "$app_port" = "$redis_port" ]; do app_port=$(free_port); done
redis_pid=""
app_pid=""

cleanup() {
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null && wait "$app_pid" 2>/dev/null || true
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$work" >"$work/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 100); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.05
done
echo "redis-server $(redis-server --version | awk '{print $3}') on port $redis_port (pid $redis_pid)"

secret="bench-secret-$RANDOM$RANDOM"
LIVEROOM_JWT_SECRET="$secret" \
LIVEROOM_BIND="127.0.0.1:$app_port" \
LIVEROOM_REDIS_URL="redis://127.0.0.1:$redis_port" \
LIVEROOM_REDIS_KEY_PREFIX="lr:" \
LIVEROOM_ANCHOR_OFFLINE_CLOSE_MS=36000000 \
LIVEROOM_RATE_LIMIT_USER_PER_SEC=0 \
LIVEROOM_RATE_LIMIT_IP_PER_SEC=0 \
RUST_LOG="${RUST_LOG:-warn}" \
  target/release/liveroom serve >"$work/liveroom.log" 2>&1 &
app_pid=$!
echo "liveroom serve on port $app_port (pid $app_pid)"

LIVEROOM_JWT_SECRET="$secret" target/release/bench_discovery \
  --addr "127.0.0.1:$app_port" \
  --redis "redis://127.0.0.1:$redis_port" \
  --prefix "lr:" \
  "$@"

echo
echo "redis: $(redis-cli -p "$redis_port" info memory | grep -E '^used_memory_human' | tr -d '\r')," \
  "$(redis-cli -p "$redis_port" dbsize | tr -d '\r') keys"
