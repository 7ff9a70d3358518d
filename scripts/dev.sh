#!/usr/bin/env bash
# Runs liveroom for development: installs and starts a Redis on 127.0.0.1 when none answers,
# sets a development secret, prints a token and the Swagger UI address, and serves.
# Settings come from the environment (LIVEROOM_*), as in production.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo

REDIS_PORT="${REDIS_PORT:-6379}"
export LIVEROOM_REDIS_URL="${LIVEROOM_REDIS_URL:-redis://127.0.0.1:${REDIS_PORT}}"
export LIVEROOM_JWT_SECRET="${LIVEROOM_JWT_SECRET:-dev-secret-change-me}"
export LIVEROOM_BIND="${LIVEROOM_BIND:-127.0.0.1:8080}"

apt_install redis-server redis-tools
if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  echo ">> starting redis-server on 127.0.0.1:${REDIS_PORT} (data in target/dev-redis)" >&2
  mkdir -p target/dev-redis
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$PWD/target/dev-redis" \
    --appendonly yes --appendfsync everysec --daemonize yes \
    --logfile "$PWD/target/dev-redis/redis.log" >/dev/null
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

cargo build --release --bin liveroom
bin=target/release/liveroom
token=$("$bin" token --sub anchor-1 --nick "主播1" --ttl 86400)
port="${LIVEROOM_BIND##*:}"
# `liveroom token` in another shell needs the same secret (the README's "Try it" sets it).
if [ "$LIVEROOM_JWT_SECRET" = dev-secret-change-me ]; then
  secret="export LIVEROOM_JWT_SECRET=dev-secret-change-me"
else
  secret="export LIVEROOM_JWT_SECRET=...   (the secret you gave dev.sh)"
fi
cat >&2 <<MSG

  Swagger UI:  http://127.0.0.1:${port}/docs   (Authorize with the token below)
  A token for user anchor-1 (24 h):
    ${token}
  More, in another shell:
    ${secret}
    ${bin} token --sub someone --nick 昵称
  Try:         the README's "Try it"

MSG
exec "$bin" serve
