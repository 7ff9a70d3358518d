#!/usr/bin/env bash
# One room of MEMBERS members (default 1 000 000), issue 27: joined through the store's own calls
# (bench/src/bin/bench_million.rs), first on a fresh redis-server, then on a fresh 3-master Redis
# Cluster, both on free ports. Phases: joins, memory, heartbeats, user_list deep pages, stop and
# release, a second crowd's lapse. The report goes to bench/results/million-<date>.md.
#
# usage: scripts/bench-million.sh [MEMBERS] [-- flags of bench_million]
# BENCH_MILLION_ONLY=single|cluster runs one of the two.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo
apt_install redis-server redis-tools
members="${1:-1000000}"
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
only="${BENCH_MILLION_ONLY:-}"
cargo build --release --quiet -p bench --bin bench_million
bin=target/release/bench_million
own_workdir million
out="bench/results/million-$(date -u +%Y-%m-%d-%H%M).md"
{
  echo "# A room of $members members (issue 27)"
  echo
  echo "\`scripts/bench-million.sh $members\` at $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src bench || echo ' (with uncommitted changes)'), $(date -u '+%Y-%m-%d %H:%M') UTC;"
  echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/ {print $2}') GB; $(redis-server --version | cut -d' ' -f3)."
  echo "Redis without persistence. Other engineers' builds share the machine: each phase says its load average."
} >"$out"

# a cluster node also listens on port + 10000: both must be free
cluster_port() {
  local port
  while :; do
    port=$(free_port)
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$((port + 10000))") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
}

# start_cluster: three masters on free ports (sets ports, cluster_pids), once cluster_state:ok.
start_cluster() {
  ports=()
  cluster_pids=()
  while [ ${#ports[@]} -lt 3 ]; do
    p=$(cluster_port)
    [[ " ${ports[*]} " == *" $p "* ]] || ports+=("$p")
  done
  for p in "${ports[@]}"; do
    redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
      --cluster-enabled yes --cluster-config-file "nodes-$p.conf" --cluster-node-timeout 5000 \
      --logfile "$work/redis-$p.log" &
    pids+=($!)
    cluster_pids+=($!)
  done
  for p in "${ports[@]}"; do
    for _ in $(seq 100); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.05; done
    redis-cli -p "$p" ping >/dev/null 2>&1 || return 1
  done
  redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes \
    >"$work/create.log" 2>&1 || return 1
  for _ in $(seq 200); do
    local ok=1
    for p in "${ports[@]}"; do
      redis-cli -p "$p" cluster info | grep -q cluster_state:ok || ok=0
    done
    [ $ok = 1 ] && return 0
    sleep 0.1
  done
  return 1
}

if [ "$only" != "cluster" ]; then
  start_redis
  "$bin" --redis-url "redis://127.0.0.1:$redis_port" --nodes "127.0.0.1:$redis_port" \
    --members "$members" --label "one Redis" --out "$out" "$@"
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
fi

if [ "$only" != "single" ]; then
  # a few tries: the other engineers' test clusters take ports from the same range
  for _ in 1 2 3 4 5; do
    if start_cluster; then break; fi
    echo ">> the cluster did not come up on ${ports[*]}; trying other ports" >&2
    for p in "${ports[@]}"; do tail -3 "$work/redis-$p.log" >&2 || true; done
    for pid in "${cluster_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    ports=()
  done
  [ ${#ports[@]} -eq 3 ] || { echo "no cluster" >&2; exit 1; }
  nodes=$(printf '127.0.0.1:%s,' "${ports[@]}")
  seeds=$(printf 'redis://127.0.0.1:%s,' "${ports[@]}")
  "$bin" --cluster "${seeds%,}" --nodes "${nodes%,}" --members "$members" \
    --label "3-master cluster" --out "$out" "$@"
fi
echo "report: $out"
