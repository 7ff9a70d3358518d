#!/usr/bin/env bash
# Schemathesis against the spec liveroom serves: every check, a bounded number of examples per
# operation, and the stateful phase that chains create -> info/start/join/... through the spec's
# links. Starts its own redis-server and liveroom on free ports and stops them at exit; installs
# schemathesis into a virtualenv under target/ the first time. Exits non-zero on any failure.
#
#   scripts/fuzz.sh                    # the CI run
#   FUZZ_EXAMPLES=100 scripts/fuzz.sh  # more examples per operation
#   scripts/fuzz.sh --phases stateful  # extra arguments go to `schemathesis run`
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo

SCHEMATHESIS_VERSION="4.32.5"
EXAMPLES="${FUZZ_EXAMPLES:-100}"
VENV="$PWD/target/pyenv"
OUT="$PWD/target/fuzz"
# Not ensure_resource_availability (ST302): a stateful scenario may delete a room through the
# admin's DELETE /server/live/room/{live_id} and then read or delete it as its anchor; the 404
# that follows is right, but the check takes it for a created resource gone missing.
# use_after_free still checks that a deleted room answers 404.
CHECKS="not_a_server_error,status_code_conformance,content_type_conformance,\
response_schema_conformance,response_headers_conformance,negative_data_rejection,\
missing_required_header,unsupported_method,use_after_free,ignored_auth"

command -v redis-server >/dev/null 2>&1 || apt_install redis-server redis-tools
command -v python3 >/dev/null 2>&1 || apt_install python3 python3-venv

# The virtualenv is shared with the SDK test (tests/e2e/sdk): change it under its lock.
mkdir -p target
(
  flock 9
  if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    echo ">> installing schemathesis $SCHEMATHESIS_VERSION into $VENV" >&2
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check \
      "schemathesis==$SCHEMATHESIS_VERSION"
  fi
) 9>target/pyenv.lock

cargo build --quiet --bin liveroom
BIN="$PWD/target/debug/liveroom"

rm -rf "$OUT"
mkdir -p "$OUT/redis"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$OUT/redis" \
  >"$OUT/redis.log" 2>&1 &
pids+=($!)

APP_PORT=$(free_port)
export LIVEROOM_BIND="127.0.0.1:$APP_PORT"
export LIVEROOM_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export LIVEROOM_JWT_SECRET="fuzz-secret"
export LIVEROOM_HOOK_SECRET="fuzz-hook-secret"
export LIVEROOM_LOG_FORMAT=text
export RUST_LOG="${RUST_LOG:-info}"
# the fuzzer is one user sending as fast as it can: no rate limits here (their 429 is declared)
export LIVEROOM_RATE_LIMIT_USER_PER_SEC=0 LIVEROOM_RATE_LIMIT_IP_PER_SEC=0
for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
"$BIN" serve >"$OUT/liveroom.log" 2>&1 &
pids+=($!)

BASE="http://127.0.0.1:$APP_PORT"
for _ in $(seq 200); do
  curl -fs "$BASE/readyz" >/dev/null 2>&1 && break
  sleep 0.05
done
curl -fs "$BASE/readyz" >/dev/null || {
  echo "liveroom did not become ready; its log:" >&2
  cat "$OUT/liveroom.log" >&2
  exit 1
}

TOKEN=$("$BIN" token --sub fuzz --nick fuzzer --ttl 7200)
# The server API (tag Server) answers admin tokens only: it is fuzzed with one, the rest with a
# user's (set here rather than with --header, which would override the per-operation one).
ADMIN_TOKEN=$("$BIN" token --sub fuzz-admin --admin --ttl 7200)
# The event stream stays open until the live ends: read a linked room's for 2 s, not the default
# 10. The hooks take the configured secret (random ones only ever meet 403).
cat >"$OUT/schemathesis.toml" <<TOML
headers = { Authorization = "Bearer $TOKEN" }

[[operations]]
include-tag = "Server"
headers = { Authorization = "Bearer $ADMIN_TOKEN" }

[[operations]]
include-operation-id = "roomEvents"
request-timeout = 2
max-stream-events = 10

[[operations]]
include-tag = "Hooks"
parameters = { secret = "$LIVEROOM_HOOK_SECRET" }
TOML
echo ">> schemathesis $SCHEMATHESIS_VERSION against $BASE/openapi.json ($EXAMPLES examples per operation)" >&2
started=$(date +%s)
status=0
# Run from target/fuzz (schemathesis keeps its .schemathesis/ cache in the working directory).
# CPython 3.11 (Debian 12's) can raise "SystemError: AST constructor recursion depth mismatch"
# inside Hypothesis while it merely describes a filter lambda for its repr:
# treat that description as unknown instead of failing the run.
(cd "$OUT" && "$VENV/bin/python" - --config-file "$OUT/schemathesis.toml" run "$BASE/openapi.json" \
  --checks "$CHECKS" \
  --max-examples "$EXAMPLES" \
  --request-timeout 10 \
  --workers 2 \
  --report junit --report-dir "$OUT" \
  "$@" <<'PY'
import sys
from hypothesis.internal import lambda_sources

_describe = getattr(lambda_sources, "_lambda_description", None)
if _describe is not None:
    def _safe_description(f, *args, **kwargs):
        try:
            return _describe(f, *args, **kwargs)
        except SystemError:
            return "lambda: <unknown>"

    lambda_sources._lambda_description = _safe_description

from schemathesis.cli import schemathesis

sys.argv[0] = "schemathesis"
sys.exit(schemathesis())
PY
) || status=$?
echo ">> schemathesis finished in $(( $(date +%s) - started )) s with status $status" >&2
if [ "$status" -ne 0 ]; then
  echo ">> liveroom log: $OUT/liveroom.log" >&2
fi
exit "$status"
