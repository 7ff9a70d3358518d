#!/usr/bin/env bash
# The test suite, run again and again with `stress --cpu 2` (Debian's stress) busy beside it, to
# show the tests do not race the clock on a loaded machine (issue 14). Each run is a whole
# `cargo test --all-targets` (one Redis; with --cluster, `cargo test --test api` on a 3-master
# cluster). Writes a table of the runs to bench/results/stress-suite-<date>.md and keeps the log
# of any failed run beside it. Figures only: it reports, it does not gate CI.
#
#   scripts/stress-suite.sh [--runs N] [--cluster]   # default 10 runs, one Redis
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo
command -v stress >/dev/null || apt_install stress
command -v redis-server >/dev/null || apt_install redis-server redis-tools

runs=10
mode=single
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift ;;
    --cluster) mode=cluster ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

suite() {
  if [ "$mode" = cluster ]; then
    LIVEROOM_TEST_REDIS=cluster cargo test -q --test api
  else
    cargo test -q --all-targets
  fi
}

echo ">> building the tests"
if [ "$mode" = cluster ]; then cargo test -q --test api --no-run; else cargo test -q --all-targets --no-run; fi

stamp=$(date -u +%Y-%m-%d-%H%M)
report="bench/results/stress-suite-$stamp-$mode.md"
stress --cpu 2 >/dev/null 2>&1 &
stress_pid=$!
trap 'kill "$stress_pid" 2>/dev/null || true; pkill -P "$stress_pid" 2>/dev/null || true' EXIT INT TERM

{
  echo "# The suite under \`stress --cpu 2\`"
  echo
  echo "\`scripts/stress-suite.sh --runs $runs${mode/single/}\` at \`$(git rev-parse --short HEAD)$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')\`, $(nproc) cores, started $(date -u '+%Y-%m-%d %H:%M') UTC; each run: $( [ "$mode" = cluster ] && echo '`LIVEROOM_TEST_REDIS=cluster cargo test --test api`' || echo '`cargo test --all-targets` (one Redis)')."
  echo
  echo "| run | result | tests passed | seconds | load average after |"
  echo "|---:|---|---:|---:|---|"
} >"$report"

failed=0
for run in $(seq 1 "$runs"); do
  log=$(mktemp)
  started=$(date +%s)
  if suite >"$log" 2>&1; then result=green; else result=FAILED; failed=$((failed + 1)); fi
  took=$(( $(date +%s) - started ))
  passed=$(grep -o '[0-9]* passed' "$log" | awk '{s += $1} END {print s + 0}')
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "| $run | $result | $passed | $took | $load |" >>"$report"
  echo "run $run/$runs: $result, $passed passed, ${took}s, load $load"
  if [ "$result" = FAILED ]; then
    cp "$log" "${report%.md}-run$run.log"
    grep -E '^(test .* FAILED|---- |thread .* panicked)' "$log" | head -20 || true
  fi
  rm -f "$log"
done
{
  echo
  echo "$((runs - failed)) of $runs runs green."
} >>"$report"
echo ">> $report: $((runs - failed)) of $runs green"
