#!/usr/bin/env bash
# The scale benchmark (issue 12): a hot room and many rooms, on this machine's release build,
# each on its own redis-server and liveroom replicas on free loopback ports. Prints figures
# (never pass/fail) and writes bench/results/scale-latest.md (+ JSON beside it).
#
#   scripts/bench-scale.sh                 # 100 000 members in one room; 10 000 rooms on 3 replicas
#   scripts/bench-scale.sh --members 20000 --rooms 2000   # smaller
#   scripts/bench-scale.sh --only hot|many
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo
command -v redis-server >/dev/null || apt_install redis-server redis-tools

members=100000
rooms=10000
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --members) members="$2"; shift ;;
    --rooms) rooms="$2"; shift ;;
    --only) only="$2"; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

echo ">> building (release)"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet -p liveroom -p bench --bin liveroom --bin bench_scale --bin bench

own_workdir scale
export LIVEROOM_JWT_SECRET="scale-$RANDOM$RANDOM"
results=bench/results
mkdir -p "$results"

# start_app PORT ENV... : one liveroom replica on the current Redis
start_app() {
  local port=$1; shift
  env LIVEROOM_BIND="127.0.0.1:$port" LIVEROOM_REDIS_URL="redis://127.0.0.1:$redis_port" \
    LIVEROOM_REDIS_KEY_PREFIX="lr:" LIVEROOM_RATE_LIMIT_IP_PER_SEC=0 LIVEROOM_RATE_LIMIT_USER_PER_SEC=0 RUST_LOG=warn "$@" \
    target/release/liveroom serve >>"$work/liveroom-$port.log" 2>&1 &
  pids+=($!)
  app_pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "liveroom did not start:" >&2; cat "$work/liveroom-$port.log" >&2; exit 1
}

if [ "$only" != "many" ]; then
  echo ">> hot room: $members members (load average $(uptime | sed 's/.*load average: //'))"
  start_redis
  port=$(free_port)
  # a long window while the crowd joins, beats and is listed
  start_app "$port" LIVEROOM_HEARTBEAT_INTERVAL_MS=60000
  target/release/bench_scale hot --addrs "127.0.0.1:$port" --redis "redis://127.0.0.1:$redis_port" \
    --members "$members" --out "$work/hot.json" | tee "$work/hot.txt"
  lapse_room=$(sed -n 's/^LAPSE_ROOM=//p' "$work/hot.txt")
  # the same crowd, lapsed all at once: the service comes back with a 3 s window
  kill "$app_pid"; wait "$app_pid" 2>/dev/null || true
  start_app "$port" LIVEROOM_HEARTBEAT_INTERVAL_MS=1000
  target/release/bench_scale lapse --addrs "127.0.0.1:$port" --redis "redis://127.0.0.1:$redis_port" \
    --live-id "$lapse_room" --members "$members" --out "$work/lapse.json" | tee -a "$work/hot.txt"
  kill "$app_pid"; wait "$app_pid" 2>/dev/null || true
  echo ">> redis-benchmark: EVALSHA heartbeat.lua on one node (a 100-member room)"
  sha=$(target/release/bench script heartbeat |
    redis-cli -p "$redis_port" -x SCRIPT LOAD | tr -d '\r')
  redis-cli -p "$redis_port" HSET 'b:room:{live_b}' live_status 1 anchor_id a >/dev/null
  for i in $(seq 0 99); do echo "ZADD b:room:{live_b}:members 99999999999999 u$i"; done | redis-cli -p "$redis_port" >/dev/null
  redis-benchmark -p "$redis_port" -n 200000 -c 50 -q EVALSHA "$sha" 10 'b:room:{live_b}' \
    'b:room:{live_b}:members' 'b:room:{live_b}:joins' 'b:room:{live_b}:entries' 'b:room:{live_b}:uv' \
    'b:room:{live_b}:anchor' 'b:room:{live_b}:events' 'b:room:{live_b}:leaving' 'b:room:{live_b}:leaving_entries' \
    'b:room:{live_b}:bans' u1 '{"nick":"u1"}' 15000 | tr '\r' '\n' | tail -1 | tee -a "$work/hot.txt"
  cp "$work/hot.txt" "$results/scale-hot-latest.txt"
  cp "$work/hot.json" "$results/scale-hot-latest.json"
  cp "$work/lapse.json" "$results/scale-lapse-latest.json"
fi

if [ "$only" != "hot" ]; then
  echo ">> many rooms: $rooms live rooms, one viewer each, 3 replicas (load average $(uptime | sed 's/.*load average: //'))"
  start_redis
  addrs=""
  close_ms=90000
  for _ in 1 2 3; do
    port=$(free_port)
    start_app "$port" LIVEROOM_HEARTBEAT_INTERVAL_MS=1000 LIVEROOM_ANCHOR_OFFLINE_CLOSE_MS=$close_ms \
      LIVEROOM_MAX_OPEN_ROOMS_PER_USER=0
    addrs="$addrs${addrs:+,}127.0.0.1:$port"
  done
  target/release/bench_scale many --addrs "$addrs" --redis "redis://127.0.0.1:$redis_port" \
    --rooms "$rooms" --window-ms 3000 --close-ms "$close_ms" --quiet-secs 20 \
    --out "$work/many.json" | tee "$work/many.txt"
  cp "$work/many.txt" "$results/scale-many-latest.txt"
  cp "$work/many.json" "$results/scale-many-latest.json"
fi
echo ">> figures in $results/scale-*-latest.*"
