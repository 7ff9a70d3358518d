#!/usr/bin/env bash
# Viewer-scale heartbeat benchmark (issue 8). One command: builds release, starts its own Redis and
# liveroom on free ports (never 6379), runs the load generator (bench/src/bin/bench.rs: keep-alive
# HTTP/1.1, hdrhistogram) through the scenarios, the ceilings (/healthz through the same server,
# redis-benchmark with the heartbeat script) and the cost accounting, and writes the report to
# bench/results/latest.md (plus a dated copy) with SVG plots. Figures only, never pass/fail.
#
#   scripts/bench.sh [--quick] [--long] [--with-discovery] [--no-rate-limit] [--workers N]
#                    [--viewers N] [--rooms M] [--duration S] [--anchor-rooms N] [--close-ms MS]
#                    [-- EXTRA_MAIN_ARGS…]
#
#   --quick           5 s scenarios, 5 000 viewers (a smoke run, ~2 min)
#   --long            60 s scenarios, 20 s sweep points
#   --with-discovery  also run scripts/bench-discovery.sh at the end (its own Redis and server)
#   --no-rate-limit   LIVEROOM_RATE_LIMIT_USER_PER_SEC=0 too (the per-address limit is always off:
#                     every request comes from 127.0.0.1), to see what the limiter costs
#   --workers N       LIVEROOM_WORKER_THREADS=N for liveroom (default: liveroom's, one per core;
#                     on this 2-core machine, which Redis and the generator share, 1 costs less
#                     CPU per request: bench/README.md, "Worker threads")
#   after --, arguments go to `bench main` (see `target/release/bench main --help`)
#
# Needs: Rust (rustup), redis-server, redis-cli and redis-benchmark (installed from Debian's
# redis-server and redis-tools packages when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo
command -v redis-server >/dev/null || apt_install redis-server
command -v redis-benchmark >/dev/null || apt_install redis-tools

viewers=20000
rooms=200
duration=15
sweep_duration=8
anchor_rooms=1000
close_ms=5000
interval_ms=5000
misses=3
discovery=0
user_limit=""
workers=0
extra=()
command_line="scripts/bench.sh${*:+ $*}"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) viewers=5000; rooms=50; duration=5; sweep_duration=4 ;;
    --long) duration=60; sweep_duration=20 ;;
    --with-discovery) discovery=1 ;;
    --no-rate-limit) user_limit=0 ;;
    --workers) workers="$2"; shift ;;
    --viewers) viewers="$2"; shift ;;
    --rooms) rooms="$2"; shift ;;
    --duration) duration="$2"; shift ;;
    --anchor-rooms) anchor_rooms="$2"; shift ;;
    --close-ms) close_ms="$2"; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
echo ">> building (release)"
cargo build --release --quiet -p liveroom -p bench --bin liveroom --bin bench

work=$(mktemp -d "${TMPDIR:-/tmp}/liveroom-bench.XXXXXX")
redis_port=$(free_port)
app_port=$(free_port)
while [ "$app_port" = "$redis_port" ]; do app_port=$(free_port); done
redis_pid=""
app_pid=""
stop_app() {
  if [ -n "$app_pid" ]; then
    kill "$app_pid" 2>/dev/null || true
    wait "$app_pid" 2>/dev/null || true
    app_pid=""
  fi
}
cleanup() {
  stop_app
  if [ -n "$redis_pid" ]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
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
redis_url="redis://127.0.0.1:$redis_port"
secret="bench-$RANDOM$RANDOM$RANDOM"
export LIVEROOM_JWT_SECRET="$secret"

# start_app CLOSE_MS: liveroom serve on $app_port with the given anchor-offline close delay.
# Every request comes from 127.0.0.1, so the per-address rate limit is off; the per-user one stays
# (a viewer sends one heartbeat per interval, far below it).
start_app() {
  LIVEROOM_BIND="127.0.0.1:$app_port" \
  LIVEROOM_REDIS_URL="$redis_url" \
  LIVEROOM_HEARTBEAT_INTERVAL_MS="$interval_ms" \
  LIVEROOM_HEARTBEAT_MISSES="$misses" \
  LIVEROOM_ANCHOR_OFFLINE_CLOSE_MS="$1" \
  LIVEROOM_RATE_LIMIT_IP_PER_SEC=0 \
  LIVEROOM_WORKER_THREADS="$workers" \
  RUST_LOG=warn \
    env ${user_limit:+LIVEROOM_RATE_LIMIT_USER_PER_SEC="$user_limit"} \
    target/release/liveroom serve >>"$work/liveroom.log" 2>&1 &
  app_pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$app_port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "liveroom did not start:" >&2
  cat "$work/liveroom.log" >&2
  exit 1
}

{
  echo "uptime_start=$(uptime | sed 's/.*load average: //')"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "cores=$(nproc)"
  echo "memory=$(free -g | awk '/^Mem:/{print $2 " GiB"}')"
  echo "kernel=$(uname -r)"
  if [ "$workers" = 0 ]; then
    echo "workers=one per core (LIVEROOM_WORKER_THREADS=0)"
  else
    echo "workers=$workers (LIVEROOM_WORKER_THREADS=$workers)"
  fi
  echo "rustc=$(rustc --version | awk '{print $1, $2}')"
  echo "redis=$(redis-server --version | sed 's/.* v=\([^ ]*\).*/\1/')"
  if git rev-parse --short HEAD >/dev/null 2>&1; then
    echo "git=$(git rev-parse --short HEAD)$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
  else
    echo "git=?"
  fi
} >"$work/env.txt"
echo ">> redis-server on $redis_port, liveroom on $app_port; load average: $(uptime | sed 's/.*load average: //')"

# 1. The scenarios, the /healthz ceiling and the costs.
start_app 600000
target/release/bench main \
  --addr "127.0.0.1:$app_port" --redis "$redis_url" --prefix "lr:" --pid "$app_pid" \
  --clk-tck "$(getconf CLK_TCK)" --out "$work" \
  --viewers "$viewers" --rooms "$rooms" --interval-ms "$interval_ms" \
  --window-ms $((interval_ms * misses)) --duration "$duration" --sweep-duration "$sweep_duration" \
  "${extra[@]}"

# 2. The Redis ceiling: the heartbeat script itself, on the member `bench main` left fresh.
echo
echo ">> redis-benchmark: EVALSHA heartbeat.lua (load average: $(uptime | sed 's/.*load average: //'))"
sha=$(target/release/bench script heartbeat |
  redis-cli -p "$redis_port" -x SCRIPT LOAD | tr -d '\r')
if [ "$sha" != "$(cat "$work/heartbeat-sha")" ]; then
  echo "   warning: SCRIPT LOAD gave $sha, the server's heartbeat script is $(cat "$work/heartbeat-sha")" >&2
fi
# numkeys, the room's keys, then user, profile, window (a real member of a real room)
mapfile -t hb_args <"$work/redis-bench-args"
echo "   EVALSHA $sha ${hb_args[0]} ${hb_args[1]} … ${hb_args[*]: -3:1}"
redis-cli -p "$redis_port" info commandstats >"$work/redis-bench-before.txt"
redis-benchmark -h 127.0.0.1 -p "$redis_port" -c 64 -n 300000 --csv \
  EVALSHA "$sha" "${hb_args[@]}" >"$work/redis-bench-plain.csv"
redis-cli -p "$redis_port" info commandstats >"$work/redis-bench-after.txt"
tail -1 "$work/redis-bench-plain.csv" | sed 's/.*",\("[0-9.]*"\),/   rps \1, latency ms avg,min,p50,p95,p99,max: /'
redis-benchmark -h 127.0.0.1 -p "$redis_port" -c 64 -n 1000000 -P 16 --csv \
  EVALSHA "$sha" "${hb_args[@]}" >"$work/redis-bench-p16.csv"
tail -1 "$work/redis-bench-p16.csv" | sed 's/.*",\("[0-9.]*"\),/   rps \1 (-P 16), latency ms avg,min,p50,p95,p99,max: /'
stop_app

# 3. The sweeper's lag: a fresh liveroom that closes rooms 5 s after their anchors go silent.
echo
echo ">> anchors: $anchor_rooms rooms go silent, LIVEROOM_ANCHOR_OFFLINE_CLOSE_MS=$close_ms"
start_app "$close_ms"
target/release/bench anchors \
  --addr "127.0.0.1:$app_port" --redis "$redis_url" --prefix "lr:" --pid "$app_pid" \
  --clk-tck "$(getconf CLK_TCK)" --out "$work" \
  --rooms "$anchor_rooms" --viewers "$viewers" --close-ms "$close_ms" --interval-ms "$interval_ms"
stop_app

echo "uptime_end=$(uptime | sed 's/.*load average: //')" >>"$work/env.txt"
stamp=$(date +%Y-%m-%d-%H%M)
target/release/bench report --dir "$work" --out bench/results --stamp "$stamp" \
  --command "$command_line"

if [ "$discovery" = 1 ] && [ -x scripts/bench-discovery.sh ]; then
  echo
  echo ">> scripts/bench-discovery.sh"
  scripts/bench-discovery.sh
fi
