# Shared by the scripts: install what is missing from Debian's packages, find the toolchain.
# shellcheck shell=bash

# apt_install PKG... : installs the packages that are not installed yet (needs root or sudo).
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo ">> installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# ensure_cargo: cargo on PATH (rustup's default location included).
ensure_cargo() {
  if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  command -v cargo >/dev/null 2>&1 || {
    echo "cargo not found: install Rust (https://rustup.rs) first" >&2
    exit 1
  }
}

# free_port: a loopback port nobody listens on now (never 6379), for the scripts' own servers.
free_port() {
  local port
  while :; do
    # below Linux's ephemeral range (32768-60999), where outgoing connections take their
    # local ports: a port that is free now stays free for a server about to bind it
    port=$(( 20000 + RANDOM % 12000 ))
    [ "$port" -eq 6379 ] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
}

# own_workdir NAME: a scratch directory ($work) for the script's own servers, whose pids go in
# $pids; on exit every one is stopped and the directory removed.
own_workdir() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/liveroom-$1.XXXXXX")
  pids=()
  trap stop_own_servers EXIT INT TERM
}
stop_own_servers() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}

# start_redis: a Redis of the script's own on a free port (no persistence), once it answers.
# Needs own_workdir; sets redis_port.
start_redis() {
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$work" --logfile "$work/redis-$redis_port.log" &
  pids+=($!)
  for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.05; done
}

# start_heartbeat_target BIN ROOMS VIEWERS [ENV=VALUE…]: the liveroom binary BIN on the current
# Redis (start_redis) and a free port, rate limits off and a member window of 10 minutes (none
# lapses while the others join); ROOMS rooms started and VIEWERS viewers joined, viewer i in
# room i mod ROOMS; and $work/heartbeat.lua, a wrk script whose every request is the next
# viewer's heartbeat (so a burst spans the rooms). The ENV settings go to liveroom.
# Sets app_pid and base (the server's URL).
start_heartbeat_target() {
  local bin=$1 rooms=$2 viewers=$3
  shift 3
  local port secret
  port=$(free_port)
  secret="hb-$RANDOM$RANDOM"
  env LIVEROOM_BIND="127.0.0.1:$port" LIVEROOM_REDIS_URL="redis://127.0.0.1:$redis_port" \
    LIVEROOM_JWT_SECRET="$secret" LIVEROOM_RATE_LIMIT_IP_PER_SEC=0 \
    LIVEROOM_RATE_LIMIT_USER_PER_SEC=0 LIVEROOM_HEARTBEAT_MISSES=120 RUST_LOG=warn "$@" \
    "$bin" serve >"$work/liveroom.log" 2>&1 &
  app_pid=$!
  pids+=($app_pid)
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  base="http://127.0.0.1:$port"
  local live_id live_ids=() r i t
  for r in $(seq 1 "$rooms"); do
    t=$(LIVEROOM_JWT_SECRET="$secret" "$bin" token --sub "anchor$r")
    live_id=$(curl -sf -H "Authorization: Bearer $t" -H 'Content-Type: application/json' \
      -d '{"title":"heartbeats"}' "$base/client/live/room/instance" |
      python3 -c 'import sys, json; print(json.load(sys.stdin)["data"]["live_id"])')
    curl -sf -X PUT -H "Authorization: Bearer $t" "$base/client/live/room/$live_id" >/dev/null
    live_ids+=("$live_id")
  done
  {
    echo "local beats = {"
    for i in $(seq 1 "$viewers"); do
      t=$(LIVEROOM_JWT_SECRET="$secret" "$bin" token --sub "viewer$i")
      live_id=${live_ids[$(((i - 1) % rooms))]}
      curl -sf -X POST -H "Authorization: Bearer $t" "$base/client/live/room/user/$live_id" >/dev/null
      echo "  {\"/client/live/room/heartbeat/$live_id\", \"Bearer $t\"},"
    done
    echo "}"
    echo "local n = 0"
    echo "request = function()"
    echo "  n = n % #beats + 1"
    echo "  return wrk.format('GET', beats[n][1], {Authorization = beats[n][2]})"
    echo "end"
  } >"$work/heartbeat.lua"
}
