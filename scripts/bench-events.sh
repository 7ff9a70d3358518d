#!/usr/bin/env bash
# The events scenario: W SSE watchers (default 10 000) across R rooms (default 100) on one replica.
# Starts its own Redis and liveroom (release) on free ports; prints Redis connections, liveroom
# memory per watcher and event delivery latency p50/p99 from write to watcher (the Python client
# reading every socket is part of what is measured).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo
apt_install redis-server redis-tools
w="${1:-10000}"; r="${2:-100}"; rounds="${3:-3}"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
rport=$(free_port); aport=$(free_port)
while [ "$aport" = "$rport" ]; do aport=$(free_port); done
dir=$(mktemp -d)
cargo build --release --quiet -p liveroom --bin liveroom
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --daemonize yes --logfile "$dir/redis.log"
export LIVEROOM_JWT_SECRET=bench-events
LIVEROOM_BIND="127.0.0.1:$aport" LIVEROOM_REDIS_URL="redis://127.0.0.1:$rport" LIVEROOM_RATE_LIMIT_IP_PER_SEC=0 \
  LIVEROOM_RATE_LIMIT_USER_PER_SEC=0 LIVEROOM_SSE_PER_USER=0 LIVEROOM_MAX_OPEN_ROOMS_PER_USER=0 \
  RUST_LOG=warn target/release/liveroom serve & app=$!
trap 'kill $app 2>/dev/null; redis-cli -p $rport shutdown nosave >/dev/null 2>&1; rm -rf "$dir"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$aport/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
python3 scripts/bench-events.py "$aport" "$rport" "$app" "$w" "$r" "$rounds"
