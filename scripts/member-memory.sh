#!/usr/bin/env bash
# Redis memory per member on a room of N members (default 10 000): starts its own Redis and
# liveroom on free ports, joins N users through the API, prints MEMORY USAGE figures.
# The window is long (30 min) and the silent anchor closes nothing for a day: the crowd stays.
# LIVEROOM_BIN: a binary to run instead of building release (memory does not depend on the build).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo
apt_install redis-server redis-tools
n="${1:-10000}"
rport=$(free_port); aport=$(free_port)
while [ "$aport" = "$rport" ]; do aport=$(free_port); done
dir=$(mktemp -d)
bin="${LIVEROOM_BIN:-target/release/liveroom}"
[ -n "${LIVEROOM_BIN:-}" ] || cargo build --release --quiet -p liveroom --bin liveroom
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --daemonize yes --logfile "$dir/redis.log"
LIVEROOM_BIND="127.0.0.1:$aport" LIVEROOM_REDIS_URL="redis://127.0.0.1:$rport" LIVEROOM_JWT_SECRET=mem LIVEROOM_RATE_LIMIT_IP_PER_SEC=0 LIVEROOM_HEARTBEAT_INTERVAL_MS=600000 LIVEROOM_ANCHOR_OFFLINE_CLOSE_MS=86400000 \
  RUST_LOG=warn "$bin" serve & app=$!
trap 'kill $app 2>/dev/null; redis-cli -p $rport shutdown nosave >/dev/null 2>&1; rm -rf "$dir"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$aport/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
python3 scripts/member-memory.py "http://127.0.0.1:$aport" mem "$rport" "lr:" "$n"
