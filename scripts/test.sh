#!/usr/bin/env bash
# Runs every check: installs what the tests need (redis-server, redis-tools), then
# cargo fmt --check, clippy with warnings as errors, imports only down the layers and no
# cycles (scripts/check-imports.py),
# the spec's linters (scripts/spec-lint.sh)
# and the whole test suite.
# The tests start their own redis-server processes on free ports and stop them afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo

apt_install redis-server redis-tools docker-compose nginx libnginx-mod-rtmp ffmpeg \
  python3 python3-venv chromium fonts-wqy-zenhei
# node and npm as they are (a NodeSource nodejs brings its own npm), else Debian's
command -v npm >/dev/null 2>&1 || apt_install nodejs npm
# playwright-core for the browser test (tests/browser), driving Debian's chromium
(cd tests/browser && npm ci --no-audit --no-fund --silent)

echo ">> cargo fmt --check"
cargo fmt --all -- --check
echo ">> cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo ">> scripts/check-imports.py (imports go down the layers, no cycles between modules)"
python3 scripts/check-imports.py
echo ">> scripts/spec-lint.sh (openapi-spec-validator, Redocly, openapi-typescript + tsc)"
scripts/spec-lint.sh
echo ">> cargo test (single Redis)"
cargo test --all-targets
echo ">> cargo test --test api (3-master Redis Cluster)"
LIVEROOM_TEST_REDIS=cluster cargo test --test api
echo ">> scripts/fuzz.sh (Schemathesis against the served spec)"
scripts/fuzz.sh
