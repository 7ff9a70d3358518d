#!/usr/bin/env bash
# A CPU profile of liveroom serving heartbeats (issue 16), as a flame graph: a release build with
# frame pointers (its own target dir, target/profiling), its own Redis and free ports, one room
# of 100 viewers, and wrk sending their heartbeats closed-loop on 64 connections while
# `perf record` samples liveroom. Writes bench/results/heartbeat-flame.svg (inferno) and prints
# the functions with the most samples. Figures only, never pass/fail; not part of CI.
#
#   scripts/profile-heartbeat.sh [--seconds N] [--stacks FILE]   # default 10 s; FILE keeps the
#                                                                # folded stacks (inferno-collapse-perf)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo
command -v redis-server >/dev/null || apt_install redis-server redis-tools
command -v wrk >/dev/null || apt_install wrk
command -v perf >/dev/null || apt_install linux-perf
command -v inferno-flamegraph >/dev/null || cargo install --locked --quiet inferno

seconds=10
stacks=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift ;;
    --stacks) stacks="$2"; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

echo ">> building (release, frame pointers, target/profiling)"
RUSTFLAGS="-C force-frame-pointers=yes" CARGO_TARGET_DIR=target/profiling \
  cargo build --release --quiet -p liveroom --bin liveroom
bin=target/profiling/release/liveroom

work=$(mktemp -d "${TMPDIR:-/tmp}/liveroom-profile.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$work" --logfile "$work/redis.log" &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
app_port=$(free_port)
secret="profile-$RANDOM$RANDOM"
LIVEROOM_BIND="127.0.0.1:$app_port" LIVEROOM_REDIS_URL="redis://127.0.0.1:$redis_port" \
  LIVEROOM_JWT_SECRET="$secret" LIVEROOM_RATE_LIMIT_IP_PER_SEC=0 LIVEROOM_RATE_LIMIT_USER_PER_SEC=0 \
  RUST_LOG=warn "$bin" serve >"$work/liveroom.log" 2>&1 &
app_pid=$!
pids+=($app_pid)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$app_port") 2>/dev/null && break; sleep 0.1; done

base="http://127.0.0.1:$app_port"
token() { LIVEROOM_JWT_SECRET="$secret" "$bin" token --sub "$1"; }
anchor=$(token anchor)
live_id=$(curl -sf -H "Authorization: Bearer $anchor" -H 'Content-Type: application/json' \
  -d '{"title":"profile"}' "$base/client/live/room/instance" |
  python3 -c 'import sys, json; print(json.load(sys.stdin)["data"]["live_id"])')
curl -sf -X PUT -H "Authorization: Bearer $anchor" "$base/client/live/room/$live_id" >/dev/null
# 100 viewers join; wrk's connections take their tokens in turn
tokens=()
for i in $(seq 1 100); do
  t=$(token "viewer$i")
  curl -sf -X POST -H "Authorization: Bearer $t" "$base/client/live/room/user/$live_id" >/dev/null
  tokens+=("$t")
done
lua="$work/heartbeat.lua"
{
  echo "local tokens = {"
  for t in "${tokens[@]}"; do echo "  \"$t\","; done
  echo "}"
  echo "local n = 0"
  echo "request = function()"
  echo "  n = n % #tokens + 1"
  echo "  return wrk.format('GET', '/client/live/room/heartbeat/$live_id', {Authorization = 'Bearer ' .. tokens[n]})"
  echo "end"
} >"$lua"

echo ">> wrk: heartbeats, 64 connections, $((seconds + 4)) s; perf samples liveroom (pid $app_pid) for $seconds s"
wrk -t1 -c64 -d"$((seconds + 4))s" --latency -s "$lua" "$base" >"$work/wrk.txt" &
wrk_pid=$!
sleep 2
perf record -F 499 -g -p "$app_pid" -o "$work/perf.data" -- sleep "$seconds" 2>"$work/perf.log" >/dev/null
wait "$wrk_pid" || true
grep -E "Requests/sec|50%|99%|Non-2xx" "$work/wrk.txt" || true
perf script -i "$work/perf.data" 2>/dev/null | inferno-collapse-perf >"$work/collapsed.txt"
[ -n "$stacks" ] && cp "$work/collapsed.txt" "$stacks"
mkdir -p bench/results
inferno-flamegraph --title "liveroom: heartbeats (wrk -c64, $(date -u '+%Y-%m-%d %H:%M UTC'))" \
  <"$work/collapsed.txt" >bench/results/heartbeat-flame.svg
echo ">> the functions with the most samples (self time)"
# (head closes the pipe early: not a failure)
perf report -i "$work/perf.data" --no-children --sort symbol --stdio 2>/dev/null |
  grep -E '^ +[0-9]' | sed -E 's/ +-? +-? *$//' | cut -c1-160 | head -25 || true
echo ">> flame graph: bench/results/heartbeat-flame.svg"
