#!/usr/bin/env bash
# Runs every check (.ci/run calls this): installs what the tests need, then cargo fmt --check,
# clippy with warnings as errors (tests/e2e included), imports only down the layers and no
# cycles (scripts/check-imports.py),
# the spec's linters (scripts/spec-lint.sh), the unit tests and tests/api on one Redis and on a
# 3-master Redis Cluster, tests/e2e on both, and Schemathesis (scripts/fuzz.sh).
# The tests start their own redis-server processes on free ports and stop them afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo

# The unit tests and tests/api need only these.
apt_install redis-server redis-tools
# tests/e2e: docker-compose (deploy), nginx + nginx-rtmp and ffmpeg (replicas, streams), python3
# with venv (sdk; also spec-lint and fuzz), chromium and a CJK font (browser).
apt_install docker-compose nginx libnginx-mod-rtmp ffmpeg python3 python3-venv chromium \
  fonts-wqy-zenhei
# node and npm as they are (a NodeSource nodejs brings its own npm), else Debian's: the browser
# test's playwright-core (tests/e2e/browser) and spec-lint's tools.
# deploy/: promtool and prometheus (scripts/check-deploy.sh, tests/e2e/prometheus.rs), redis-sentinel
# (the Sentinel failover test in tests/e2e).
apt_install prometheus redis-sentinel
command -v npm >/dev/null 2>&1 || apt_install nodejs npm
(cd tests/e2e/browser && npm ci --no-audit --no-fund --silent)

echo ">> cargo fmt --check"
cargo fmt --all -- --check
echo ">> cargo clippy --workspace --all-targets -- -D warnings (and tests/e2e)"
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo clippy --test e2e --quiet -- -D warnings
echo ">> scripts/check-imports.py (imports go down the layers, no cycles between modules)"
python3 scripts/check-imports.py
echo ">> scripts/check-deploy.sh (Prometheus rules and their unit tests, the Grafana dashboard, the Kubernetes manifests)"
scripts/check-deploy.sh
echo ">> scripts/spec-lint.sh (openapi-spec-validator, Redocly, openapi-typescript + tsc)"
scripts/spec-lint.sh
echo ">> cargo test (unit tests, tests/api and tests/store, single Redis)"
cargo test --all-targets
echo ">> cargo test --test api --test store (3-master Redis Cluster)"
LIVEROOM_TEST_REDIS=cluster cargo test --test api --test store
echo ">> cargo test --test e2e (single Redis, then a 3-master Redis Cluster)"
cargo test --test e2e
# the failover tests start their own Redis (a cluster with replicas, a Sentinel primary): once is enough
LIVEROOM_TEST_REDIS=cluster cargo test --test e2e -- --skip failover::
echo ">> scripts/fuzz.sh (Schemathesis against the served spec)"
scripts/fuzz.sh
