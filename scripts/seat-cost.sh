#!/usr/bin/env bash
# Redis time per seat script call (issue 26): a private redis-server on a free port with SLOWLOG
# at threshold 0, `liveroom serve` (target/debug, build it first) on another free port, a live
# `free` room with 7 of its 8 seats taken, then 500 take/leave cycles of the eighth member and
# 105 seat lists, through curl. Prints calls, mean, median and max µs of each seat script, as
# SLOWLOG measured them. SLOWLOG at 0 also logs every command inside a script, which adds to its
# time: the figures are an upper bound. Not a test, not in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p /tmp/seats
free() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
RP=$(free); AP=$(free)
redis-server --port $RP --save '' --appendonly no --daemonize yes --pidfile /tmp/seats/m-redis.pid >/dev/null
sleep 0.5
LIVEROOM_JWT_SECRET=dev LIVEROOM_REDIS_URL=redis://127.0.0.1:$RP LIVEROOM_BIND=127.0.0.1:$AP \
  LIVEROOM_RATE_LIMIT_USER_PER_SEC=0 LIVEROOM_RATE_LIMIT_IP_PER_SEC=0 target/debug/liveroom serve >/tmp/seats/m-serve.log 2>&1 &
SERVE=$!
trap 'kill $SERVE; redis-cli -p $RP shutdown nosave >/dev/null 2>&1 || true' EXIT
sleep 1.5
export LIVEROOM_JWT_SECRET=dev
B=http://127.0.0.1:$AP; H='content-type: application/json'
A=$(target/debug/liveroom token --sub anchor --ttl 3600)
ROOM=$(curl -s -XPOST $B/client/live/room/instance -H "Authorization: Bearer $A" -H "$H" -d '{"title":"m"}')
L=$(echo "$ROOM" | grep -o '"live_id":"[^"]*"' | cut -d'"' -f4)
curl -s -XPUT $B/client/live/room/$L -H "Authorization: Bearer $A" >/dev/null
for i in 1 2 3 4 5 6 7 8; do
  T=$(target/debug/liveroom token --sub u$i --ttl 3600)
  curl -s -XPOST $B/client/live/room/user/$L -H "Authorization: Bearer $T" >/dev/null
  [ $i -lt 8 ] && curl -s -XPOST $B/client/live/room/seat/$L -H "Authorization: Bearer $T" -H "$H" -d '{}' >/dev/null
done
T=$(target/debug/liveroom token --sub u8 --ttl 3600)
redis-cli -p $RP config set slowlog-log-slower-than 0 >/dev/null
redis-cli -p $RP config set slowlog-max-len 100000 >/dev/null
redis-cli -p $RP slowlog reset >/dev/null
for i in $(seq 500); do
  curl -s -XPOST $B/client/live/room/seat/$L -H "Authorization: Bearer $T" -H "$H" -d '{"extends":{"k":"v"}}' >/dev/null
  curl -s -XDELETE $B/client/live/room/seat/$L -H "Authorization: Bearer $T" >/dev/null
  [ $((i % 100)) -eq 0 ] && curl -s $B/client/live/room/seat/$L -H "Authorization: Bearer $T" >/dev/null
done
for i in $(seq 100); do curl -s $B/client/live/room/seat/$L -H "Authorization: Bearer $T" >/dev/null; done
# the same cycles without SLOWLOG: INFO commandstats' EVALSHA time per call (take and leave
# together), the figure without the logging's cost
redis-cli -p $RP config set slowlog-log-slower-than 10000 >/dev/null
redis-cli -p $RP config resetstat >/dev/null
for i in $(seq 500); do
  curl -s -XPOST $B/client/live/room/seat/$L -H "Authorization: Bearer $T" -H "$H" -d '{"extends":{"k":"v"}}' >/dev/null
  curl -s -XDELETE $B/client/live/room/seat/$L -H "Authorization: Bearer $T" >/dev/null
done
echo "take+leave without SLOWLOG: $(redis-cli -p $RP info commandstats | grep cmdstat_evalsha | tr -d '\r')"
# a baseline on the same machine at the same moment: 1000 heartbeats (heartbeat.lua, one call each)
redis-cli -p $RP config resetstat >/dev/null
for i in $(seq 1000); do
  curl -s $B/client/live/room/heartbeat/$L -H "Authorization: Bearer $T" >/dev/null
done
echo "heartbeats (baseline): $(redis-cli -p $RP info commandstats | grep cmdstat_evalsha | tr -d '\r')"
# EVALSHA entries: numkeys 11, then ARGV: seat_take 8, seat_leave 3, seats 1
redis-cli -p $RP --no-raw slowlog get 100000 > /tmp/seats/slowlog.txt
python3 - <<'PY'
import re
text=open('/tmp/seats/slowlog.txt').read()
entries=re.split(r'\n(?=\s*\d+\) 1\) \(integer\))', text)
stats={}
for e in entries:
    ints=re.findall(r'\(integer\) (\d+)', e)
    strs=re.findall(r'"((?:[^"\\]|\\.)*)"', e)
    if len(ints)<3 or not strs or strs[0].upper()!='EVALSHA': continue
    us=int(ints[2]); nkeys=int(strs[2])
    nargs=len(strs)-3-nkeys-2  # the entry's client address and name follow the arguments
    name={(11,8):'seat_take',(11,3):'seat_leave',(11,1):'seats'}.get((nkeys,nargs))
    if name: stats.setdefault(name,[]).append(us)
for k,v in sorted(stats.items()):
    v.sort(); print(f"{k}: calls {len(v)}, mean {sum(v)/len(v):.1f} us, p50 {v[len(v)//2]} us, max {v[-1]} us")
PY
