#!/usr/bin/env python3
"""Redis memory per member: joins N users to one room through the API, then reads MEMORY USAGE
of the room's keys and of the users' own hashes. Prints figures; never pass/fail.

usage: member-memory.py BASE_URL JWT_SECRET REDIS_PORT KEY_PREFIX [MEMBERS]
(scripts/member-memory.sh starts its own Redis and liveroom and calls this.)"""
import base64, hashlib, hmac, http.client, json, subprocess, sys, threading, time, urllib.parse


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(secret, sub, nick):
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"sub": sub, "exp": int(time.time()) + 3600, "nick": nick}).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


def call(conn, method, path, tok, body=None):
    headers = {"Authorization": f"Bearer {tok}", "Content-Type": "application/json"}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    resp = conn.getresponse()
    data = json.loads(resp.read() or b"null")
    if resp.status != 200:
        raise SystemExit(f"{method} {path}: {resp.status} {data}")
    return data


def redis(port, *args):
    out = subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True)
    return out.stdout.strip()


def used_memory(port):
    info = redis(port, "INFO", "memory")
    return int(next(l.split(":")[1] for l in info.splitlines() if l.startswith("used_memory:")))


def usage_of_pattern(port, pattern):
    """How many keys match, and the sum of their MEMORY USAGE (SCAN: a measurement, not a request)."""
    keys = redis(port, "--scan", "--pattern", pattern).split()
    if not keys:
        return 0, 0
    cmds = "".join(f"MEMORY USAGE {k} SAMPLES 0\n" for k in keys)
    out = subprocess.run(["redis-cli", "-p", str(port)], input=cmds, capture_output=True, text=True).stdout
    return len(keys), sum(int(x) for x in out.split() if x.isdigit())


def main():
    base, secret, port, prefix = sys.argv[1:5]
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 10000
    u = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    anchor = token(secret, "mem-anchor", "主播")
    room = call(conn, "POST", "/client/live/room/instance", anchor, {"title": "memory"})["data"]["live_id"]
    call(conn, "PUT", f"/client/live/room/{room}", anchor)
    before = used_memory(port)
    started = time.time()

    def worker(ids):
        c = http.client.HTTPConnection(u.hostname, u.port)
        for i in ids:
            call(c, "POST", f"/client/live/room/user/{room}", token(secret, f"viewer-{i:06d}", f"观众{i}"))

    threads = [threading.Thread(target=worker, args=(range(k, n, 16),)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.time() - started
    after = used_memory(port)
    conn = http.client.HTTPConnection(u.hostname, u.port)  # the first one idled out meanwhile
    info = call(conn, "GET", f"/client/live/room/info/{room}", anchor)["data"]
    keys = {s: f"{prefix}room:{{{room}}}{s}" for s in ["", ":members", ":order", ":joins", ":entries", ":uv", ":anchor"]}
    usage = {s: int(redis(port, "MEMORY", "USAGE", k, "SAMPLES", "0") or 0) for s, k in keys.items()}
    # the entries past their first bucket (`:entries:<b>`, lua/lib.lua), since issue 27
    more, more_bytes = usage_of_pattern(port, keys[":entries"] + ":*")
    usage[":entries"] += more_bytes
    # the join order: a sorted set (`:order`) before issue 27, a hash of chunks (`:joins`) since
    per_member_room = (usage[":members"] + usage[":order"] + usage[":joins"] + usage[":entries"]) / n
    # the users' pointers: a hash each (`user:{U}`), or shared bucket hashes (`users:{b}`)
    own, own_bytes = usage_of_pattern(port, f"{prefix}user:*")
    shared, shared_bytes = usage_of_pattern(port, f"{prefix}users:*")
    user_bytes = (own_bytes + shared_bytes) / n
    print(f"members joined: {n} in {took:.1f} s ({n / took:.0f} joins/s); online_count={info['online_count']} pv={info['pv']} uv={info['uv']}")
    for s, b in usage.items():
        print(f"  MEMORY USAGE room{s or ' (hash)'}: {b} bytes")
    print(f"  (the entries over {more + 1} buckets)")
    print(f"room-side bytes per member (members + join order + entries): {per_member_room:.0f}")
    print(f"user pointers (room, seq, im_userid): {own} own keys + {shared} shared buckets, {user_bytes:.0f} bytes per user")
    print(f"total MEMORY USAGE per member: {per_member_room + user_bytes:.0f} bytes")
    print(f"used_memory per member (after - before the joins): {(after - before) / n:.0f} bytes")
    # what the joins cost Redis: every script call of the run (joins, their pointers, the sweep)
    for line in redis(port, "INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_evalsha:"):
            print(f"script calls (whole run): {line.split(':', 1)[1]}")


if __name__ == "__main__":
    main()
