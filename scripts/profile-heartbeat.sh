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

own_workdir profile
start_redis
start_heartbeat_target "$bin" 1 100
lua="$work/heartbeat.lua"

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
