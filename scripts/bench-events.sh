#!/usr/bin/env bash
# The events benchmark (issue 28): N viewers (default 10 000) over M rooms (default 100) on one
# replica, twice, each on a fresh Redis and liveroom (release) on free ports:
#   1. streams: every viewer holds an event stream and sends no heartbeat (stream-carried
#      presence): liveroom RSS per stream, liveroom + Redis CPU per present viewer per second,
#      Redis commands a second, event latency p50/p99 and deliveries;
#   2. heartbeats: the same viewers with HTTP heartbeats every 5 s and no stream.
# The client is bench/src/bin/bench_events.rs. Figures go to bench/results/events-<date>.md.
# An open stream takes a descriptor in liveroom and one in the client: N is bounded by
# `ulimit -n` (the script raises the soft limit to the hard one).
# Usage: scripts/bench-events.sh [VIEWERS] [ROOMS] [IDLE_SECS]
# LIVEROOM_BIN=path runs that binary instead of building target/release/liveroom (an A/B);
# BENCH_CLIENT=path likewise for the client; BENCH_MODES="streams" runs one mode.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo
apt_install redis-server redis-tools
n="${1:-10000}"; m="${2:-100}"; idle="${3:-30}"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
out="${BENCH_OUT:-bench/results/events-$(date -u +%Y-%m-%d-%H%M).md}"
bin="${LIVEROOM_BIN:-target/release/liveroom}"
[ -n "${LIVEROOM_BIN:-}" ] || cargo build --release --quiet -p liveroom --bin liveroom
client="${BENCH_CLIENT:-target/release/bench_events}"
[ -n "${BENCH_CLIENT:-}" ] || cargo build --release --quiet -p bench --bin bench_events
export LIVEROOM_JWT_SECRET=bench-events
{
  echo "# Events benchmark, $(date -u '+%Y-%m-%d %H:%M') UTC"
  echo
  echo "\`scripts/bench-events.sh $n $m $idle\` at $(git rev-parse --short HEAD) (binary $bin), $(nproc) cores, ulimit -n $(ulimit -n);"
  echo "one liveroom (release) and one redis-server on this machine, client on the same machine."
  echo
} >"$out"

run() {
  local mode=$1
  local rport aport dir app
  rport=$(free_port); aport=$(free_port)
  while [ "$aport" = "$rport" ]; do aport=$(free_port); done
  dir=$(mktemp -d)
  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --daemonize yes --logfile "$dir/redis.log"
  LIVEROOM_BIND="127.0.0.1:$aport" LIVEROOM_REDIS_URL="redis://127.0.0.1:$rport" LIVEROOM_RATE_LIMIT_IP_PER_SEC=0 \
    LIVEROOM_RATE_LIMIT_USER_PER_SEC=0 LIVEROOM_SSE_PER_USER=0 LIVEROOM_MAX_OPEN_ROOMS_PER_USER=0 \
    LIVEROOM_SSE_MAX=0 LIVEROOM_MAX_CONNECTIONS=0 \
    RUST_LOG=warn "$bin" serve & app=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$aport/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  "$client" --addr "127.0.0.1:$aport" --redis "redis://127.0.0.1:$rport" --pid "$app" \
    --viewers "$n" --rooms "$m" --mode "$mode" --idle-secs "$idle" --out "$out" || true
  kill "$app" 2>/dev/null || true; wait "$app" 2>/dev/null || true
  redis-cli -p "$rport" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$dir"
}
for mode in ${BENCH_MODES:-streams heartbeats}; do run "$mode"; done
echo "written: $out"
