#!/usr/bin/env bash
# The like-storm benchmark (issue 26): one live room of 100 000 members (joined through the API)
# likes as fast as one liveroom replica takes it, on this machine's release build, with its own
# redis-server and liveroom on free loopback ports. Prints likes/s, Redis µs per like, the
# longest Redis call (SLOWLOG at 100 µs) and whether any like was lost (the room's total against
# the answers); writes bench/results/likes-<date>.md (+ JSON beside it). Fails only on a lost like.
#
#   scripts/bench-likes.sh                          # 100 000 members, 2 rounds of likes
#   scripts/bench-likes.sh --members 20000 --rounds 3
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo
command -v redis-server >/dev/null || apt_install redis-server redis-tools

members=100000
rounds=2
concurrency=128
while [ $# -gt 0 ]; do
  case "$1" in
    --members) members="$2"; shift ;;
    --rounds) rounds="$2"; shift ;;
    --concurrency) concurrency="$2"; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

echo ">> building (release)"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet -p liveroom -p bench --bin liveroom --bin bench_likes

own_workdir likes
export LIVEROOM_JWT_SECRET="likes-$RANDOM$RANDOM"
results=bench/results
mkdir -p "$results"
stamp=$(date -u +%Y-%m-%d-%H%M)

start_redis
port=$(free_port)
# a long member window: nobody lapses while the crowd joins and likes (no heartbeats are sent)
env LIVEROOM_BIND="127.0.0.1:$port" LIVEROOM_REDIS_URL="redis://127.0.0.1:$redis_port" \
  LIVEROOM_REDIS_KEY_PREFIX="lr:" LIVEROOM_RATE_LIMIT_IP_PER_SEC=0 LIVEROOM_RATE_LIMIT_USER_PER_SEC=0 \
  LIVEROOM_HEARTBEAT_INTERVAL_MS=120000 RUST_LOG=warn \
  target/release/liveroom serve >>"$work/liveroom.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

echo ">> like storm: $members members, $rounds rounds, $concurrency in flight (load average $(uptime | sed 's/.*load average: //'))"
status=0
target/release/bench_likes --addr "127.0.0.1:$port" --redis "redis://127.0.0.1:$redis_port" \
  --members "$members" --rounds "$rounds" --concurrency "$concurrency" \
  --out "$work/likes.json" | tee "$work/likes.txt" || status=$?

{
  echo "# Like storm, $stamp UTC"
  echo
  echo "\`scripts/bench-likes.sh --members $members --rounds $rounds --concurrency $concurrency\` on $(nproc) cores"
  echo "($(uname -sr); redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'); load average before: $(uptime | sed 's/.*load average: //'))."
  echo "One redis-server and one liveroom replica (release) on loopback; the load generator on the same machine."
  echo
  echo '```'
  cat "$work/likes.txt"
  echo '```'
  echo
  echo '```json'
  cat "$work/likes.json" 2>/dev/null || true
  echo '```'
} >"$results/likes-$stamp.md"
echo ">> figures in $results/likes-$stamp.md"
exit "$status"
