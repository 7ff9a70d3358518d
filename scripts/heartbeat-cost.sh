#!/usr/bin/env bash
# The heartbeat's CPU, quickly (issue 16): liveroom's and Redis's CPU per request for /healthz and
# for heartbeats, with wrk closed-loop (one thread, 64 connections) against a release build on its
# own Redis and free ports, 200 viewers in one room (or --rooms N; rate limits off: each viewer
# beats far more often than a real one; a member window of 10 minutes, so that none lapses while
# the others join). CPU from /proc/PID/stat (liveroom) and INFO cpu (Redis). Prints figures,
# never pass/fail; for A/B runs of two builds or settings (the full picture is scripts/bench.sh).
#
#   scripts/heartbeat-cost.sh [--bin PATH] [--seconds N] [--viewers N] [--rooms N] [--conns N]
#                             [-- ENV=VALUE…]
#
#   --bin PATH   the liveroom binary (default: target/release/liveroom, built first)
#   after --, settings for liveroom, e.g. -- LIVEROOM_WORKER_THREADS=1
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
bin=""
seconds=6
viewers=200
rooms=1
conns=64
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin="$2"; shift ;;
    --seconds) seconds="$2"; shift ;;
    --viewers) viewers="$2"; shift ;;
    --rooms) rooms="$2"; shift ;;
    --conns) conns="$2"; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
command -v redis-server >/dev/null || apt_install redis-server redis-tools
command -v wrk >/dev/null || apt_install wrk
if [ -z "$bin" ]; then
  ensure_cargo
  cargo build --release --quiet -p liveroom --bin liveroom
  bin=target/release/liveroom
fi

own_workdir hbcost
start_redis
# every call over 1 ms is kept, for the longest ones at the end
redis-cli -p "$redis_port" config set slowlog-log-slower-than 1000 >/dev/null
redis-cli -p "$redis_port" config set slowlog-max-len 10000 >/dev/null
start_heartbeat_target "$bin" "$rooms" "$viewers" "${extra[@]}"

liveroom_ticks() { awk '{print $14 + $15}' "/proc/$app_pid/stat"; }
redis_secs() {
  redis-cli -p "$redis_port" info cpu | tr -d '\r' |
    awk -F: '/^used_cpu_(sys|user):/ {s += $2} END {printf "%.3f", s}'
}
ticks_per_sec=$(getconf CLK_TCK)
# heartbeats that shared a script call, and those calls (store/heartbeats.rs)
batched() {
  curl -sf "$base/metrics" |
    awk '/^liveroom_heartbeat_batched_total/ {b = $2} /^liveroom_heartbeat_batch_calls_total/ {c = $2}
         END {printf "%d %d", b, c}'
}
run() { # NAME, wrk arguments…
  local name=$1
  shift
  local l0 r0 l1 r1 b0 b1
  b0=$(batched); l0=$(liveroom_ticks); r0=$(redis_secs)
  wrk -t1 -c"$conns" -d"${seconds}s" --latency "$@" >"$work/wrk.txt"
  l1=$(liveroom_ticks); r1=$(redis_secs); b1=$(batched)
  python3 - "$name" "$work/wrk.txt" "$l0" "$l1" "$r0" "$r1" "$ticks_per_sec" $b0 $b1 <<'PY'
import re, sys
name, path, l0, l1, r0, r1, hz, beats0, calls0, beats1, calls1 = sys.argv[1:]
text = open(path).read()
n = int(re.search(r"(\d+) requests in", text).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
live = (float(l1) - float(l0)) / float(hz) * 1e6 / n
red = (float(r1) - float(r0)) * 1e6 / n
beats, calls = int(beats1) - int(beats0), int(calls1) - int(calls0)
shared = f"  shared calls: {100 * beats / n:3.0f}% of beats, {beats / calls:4.1f} a call" if calls else ""
print(f"{name:10} {rps:9.0f}/s  liveroom {live:5.1f} µs  Redis {red:5.1f} µs  p99 {p99}"
      + shared + (f"  NON-2XX {bad.group(1)}" if bad else ""))
PY
}
run healthz "$base/healthz"
run heartbeat -s "$work/heartbeat.lua" "$base"
run heartbeat -s "$work/heartbeat.lua" "$base"
# the Redis calls over 1 ms while it ran (SLOWLOG): how many, and the five longest
echo "Redis calls over 1 ms: $(redis-cli -p "$redis_port" slowlog len)"
redis-cli -p "$redis_port" --json slowlog get 10000 | python3 -c '
import json, sys
calls = sorted(json.load(sys.stdin), key=lambda c: -c[2])[:5]
for c in calls:
    args = " ".join(str(a) for a in c[3][:3])
    print(f"  {c[2] / 1000:7.2f} ms  {args[:80]}")
'

