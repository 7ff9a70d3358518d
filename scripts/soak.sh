#!/usr/bin/env bash
# Soak test of the HTTP edge (issue 17), not in CI: N minutes of mixed API traffic (anchors
# creating, starting, updating and ending rooms; viewers joining, heartbeating and leaving;
# browsers listing and searching; event-stream watchers) with idle, slow (1 byte/s) and
# abandoned (half a body, then a reset) connections beside it, against a release build on its
# own Redis and free ports (never 6379). Every 10 s it samples liveroom's RSS and open fds,
# Redis's connected_clients and the p99 of the API traffic, prints a table and writes it to
# bench/results/soak-<date>.md (and soak-latest.md). Figures only, never pass/fail: what to
# look at is whether anything grows without bound.
#
#   scripts/soak.sh [--minutes N] [--viewers N] [--idle N] [--slow N]
#
#   --minutes N   how long (default 10)
#   --viewers N   viewers heartbeating every 2 s (default 40)
#   --idle N      connections that never send a byte (default 200)
#   --slow N      connections sending a head at 1 byte/s (default 50)
#
# The load is modest on purpose (a shared machine); the timeouts are the defaults (header 10 s,
# body 30 s, idle 60 s), so idle and slow connections are closed and come back all along.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo
command -v redis-server >/dev/null || apt_install redis-server
command -v redis-cli >/dev/null || apt_install redis-tools

minutes=10
viewers=40
idle=200
slow=50
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift ;;
    --viewers) viewers="$2"; shift ;;
    --idle) idle="$2"; shift ;;
    --slow) slow="$2"; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
echo ">> building (release)"
cargo build --release --quiet --bin liveroom

work=$(mktemp -d "${TMPDIR:-/tmp}/liveroom-soak.XXXXXX")
redis_port=$(free_port)
app_port=$(free_port)
while [ "$app_port" = "$redis_port" ]; do app_port=$(free_port); done
redis_pid=""
app_pid=""
cleanup() {
  if [ -n "$app_pid" ]; then kill "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true; fi
  if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$work" --logfile "$work/redis.log" &
redis_pid=$!
for _ in $(seq 100); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.05
done
secret="soak-$RANDOM$RANDOM$RANDOM"
# room for the idle and slow connections on both ends
ulimit -n 4096 2>/dev/null || true
# every request comes from 127.0.0.1: the per-address limit is off, the per-user one stays
LIVEROOM_BIND="127.0.0.1:$app_port" \
LIVEROOM_REDIS_URL="redis://127.0.0.1:$redis_port" \
LIVEROOM_JWT_SECRET="$secret" \
LIVEROOM_HEARTBEAT_INTERVAL_MS=2000 \
LIVEROOM_RATE_LIMIT_IP_PER_SEC=0 \
RUST_LOG=warn \
  target/release/liveroom serve >>"$work/liveroom.log" 2>&1 &
app_pid=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$app_port") 2>/dev/null && break
  sleep 0.1
done
stamp=$(date -u +%Y-%m-%d-%H%M)
mkdir -p bench/results
out="bench/results/soak-$stamp.md"
echo ">> redis-server on $redis_port, liveroom on $app_port (pid $app_pid); $minutes min; load average: $(uptime | sed 's/.*load average: //')"
{
  echo "# Soak: $minutes min, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "\`scripts/soak.sh --minutes $minutes --viewers $viewers --idle $idle --slow $slow\` at $(git rev-parse --short HEAD 2>/dev/null || echo '?');"
  echo "$(nproc) cores, load average at start $(uptime | sed 's/.*load average: //')."
  echo "Beside the API traffic: $idle idle connections, $slow slow (1 byte/s) ones, two abandoners (half a body, then a reset, twice a second each)."
  echo "Default edge limits (header 10 s, body 30 s, idle 60 s, 20 000 connections)."
  echo
} >"$work/report.md"
python3 scripts/soak.py --addr "127.0.0.1:$app_port" --secret "$secret" --pid "$app_pid" \
  --redis-port "$redis_port" --seconds $((minutes * 60)) --viewers "$viewers" --idle "$idle" \
  --slow "$slow" --out "$work/table.md" --svg "bench/results/soak-$stamp.svg"
cp "bench/results/soak-$stamp.svg" bench/results/soak-latest.svg
cat "$work/table.md" >>"$work/report.md"
{ echo; echo "![RSS, fds, Redis clients and p99 over the run](soak-$stamp.svg)"; } >>"$work/report.md"
if grep -qiE "panic|error" "$work/liveroom.log"; then
  { echo; echo "liveroom's log (errors):"; echo '```'; grep -iE "panic|error" "$work/liveroom.log" | tail -20; echo '```'; } >>"$work/report.md"
fi
cp "$work/report.md" "$out"
cp "$work/report.md" bench/results/soak-latest.md
echo
echo ">> written to $out"
