#!/usr/bin/env bash
# Server-only throughput of a cached list page (40 live rooms), measured by wrk beside /healthz:
# a cached page never reaches Redis, so the size of the data set does not change this figure.
# Needs the release build (cargo build --release -p liveroom) and wrk (Debian package).
set -e
cd "$(dirname "$0")/../.."
. scripts/lib.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/liveroom-wrk.XXXXXX")
RP=$(free_port); AP=$(free_port)
redis-server --port $RP --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --logfile "$work/wrk-redis.log"
sleep 0.3
SECRET=wrk-secret
LIVEROOM_JWT_SECRET=$SECRET LIVEROOM_BIND=127.0.0.1:$AP LIVEROOM_REDIS_URL=redis://127.0.0.1:$RP \
LIVEROOM_RATE_LIMIT_USER_PER_SEC=0 LIVEROOM_RATE_LIMIT_IP_PER_SEC=0 LIVEROOM_ANCHOR_OFFLINE_CLOSE_MS=36000000 \
RUST_LOG=warn target/release/liveroom serve > "$work/wrk-app.log" 2>&1 &
APP=$!
sleep 1
tok() { python3 -c "
import hmac,hashlib,base64,json,time,sys
b=lambda d: base64.urlsafe_b64encode(d).rstrip(b'=').decode()
h=b(json.dumps({'alg':'HS256','typ':'JWT'}).encode()); p=b(json.dumps({'sub':sys.argv[1],'nick':'主播'+sys.argv[1],'exp':int(time.time())+3600}).encode())
s=b(hmac.new(b'$SECRET',(h+'.'+p).encode(),hashlib.sha256).digest()); print(h+'.'+p+'.'+s)" "$1"; }
for i in $(seq 1 40); do
  T=$(tok anchor$i)
  ID=$(curl -s -H "Authorization: Bearer $T" -H 'Content-Type: application/json' -d "{\"title\":\"王者荣耀 巅峰赛 第${i}场\",\"notice\":\"欢迎来到直播间\"}" http://127.0.0.1:$AP/client/live/room/instance | python3 -c 'import sys,json;print(json.load(sys.stdin)["data"]["live_id"])')
  curl -s -X PUT -H "Authorization: Bearer $T" http://127.0.0.1:$AP/client/live/room/$ID >/dev/null
done
V=$(tok viewer)
echo "list page bytes: $(curl -s -H "Authorization: Bearer $V" "http://127.0.0.1:$AP/client/live/room/list?page_num=1&page_size=20" | wc -c)"
for path in /healthz "/client/live/room/list?page_num=1&page_size=20" "/client/live/room?page_num=1&page_size=20"; do
  echo "== $path"
  wrk -t1 -c4 -d5s --latency -H "Authorization: Bearer $V" "http://127.0.0.1:$AP$path" | grep -E 'Requests/sec|50%|99%|Non-2xx'
done
kill $APP; wait $APP 2>/dev/null || true
redis-cli -p $RP shutdown nosave >/dev/null 2>&1 || true
rm -rf "$work"
