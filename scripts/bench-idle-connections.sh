#!/usr/bin/env bash
# liveroom RSS per idle keep-alive connection (issue 28): N connections (default 10 000) each
# send one `GET /readyz`, read the answer and stay open; liveroom's RSS before and after, on a
# fresh Redis and liveroom (release) on free ports. Prints one line; the figure goes with the
# events benchmark's in bench/results/. N is bounded by `ulimit -n` (raised to the hard limit).
# Usage: scripts/bench-idle-connections.sh [CONNECTIONS]
# LIVEROOM_BIN=path runs that binary instead of building target/release/liveroom (an A/B).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_cargo
apt_install redis-server redis-tools python3
n="${1:-10000}"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
bin="${LIVEROOM_BIN:-target/release/liveroom}"
[ -n "${LIVEROOM_BIN:-}" ] || cargo build --release --quiet -p liveroom --bin liveroom
rport=$(free_port); aport=$(free_port)
while [ "$aport" = "$rport" ]; do aport=$(free_port); done
dir=$(mktemp -d)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --daemonize yes --logfile "$dir/redis.log"
LIVEROOM_JWT_SECRET=bench-idle LIVEROOM_BIND="127.0.0.1:$aport" LIVEROOM_REDIS_URL="redis://127.0.0.1:$rport" \
  LIVEROOM_RATE_LIMIT_IP_PER_SEC=0 LIVEROOM_MAX_CONNECTIONS=0 RUST_LOG=warn "$bin" serve & app=$!
cleanup() {
  kill "$app" 2>/dev/null || true; wait "$app" 2>/dev/null || true
  redis-cli -p "$rport" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$aport/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
python3 - "$aport" "$app" "$n" <<'EOF'
import socket, sys, time
port, pid, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
def rss():
    return int(open(f"/proc/{pid}/statm").read().split()[1]) * 4096
def answer(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("liveroom closed a connection before answering")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")]
    while length and len(body) < length[0]:
        body += s.recv(4096)
time.sleep(1)
before = rss()
conns = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /readyz HTTP/1.1\r\nHost: bench\r\n\r\n")
    answer(s)
    conns.append(s)
time.sleep(2)
after = rss()
print(f"idle keep-alive connections: {len(conns)}; liveroom RSS {before / 1048576:.1f} MiB -> "
      f"{after / 1048576:.1f} MiB: {(after - before) / len(conns):.0f} B per connection")
EOF
