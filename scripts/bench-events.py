# The events scenario (scripts/bench-events.sh): N SSE watchers over R rooms on one liveroom;
# prints Redis clients, liveroom RSS per watcher, and the delivery latency from an event's write
# (its `at`, Redis's clock, same host) to each watcher. Each round updates every room's extends
# once, one room at a time, and reads that room's watchers before the next.
# Usage: bench-events.py PORT REDIS_PORT LIVEROOM_PID WATCHERS ROOMS ROUNDS  (LIVEROOM_JWT_SECRET set)
import json, os, selectors, socket, subprocess, sys, time, urllib.request
PORT, RPORT, PID, N, R, ROUNDS = (int(a) for a in sys.argv[1:7])
BASE = f"127.0.0.1:{PORT}"
def tok(sub): return subprocess.run(["target/release/liveroom", "token", "--sub", sub], capture_output=True, text=True).stdout.strip()
def req(method, path, t, body=None):
    r = urllib.request.Request("http://" + BASE + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                               headers={"Authorization": "Bearer " + t, "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(r))
def rss(): return int([l for l in open(f"/proc/{PID}/status") if l.startswith("VmRSS")][0].split()[1])
def clients(): return len([l for l in subprocess.run(["redis-cli", "-p", str(RPORT), "CLIENT", "LIST"], capture_output=True, text=True).stdout.splitlines() if "addr=" in l]) - 1
anchor = tok("anchor")
rooms = [req("POST", "/client/live/room/instance", anchor, {"title": f"r{i}"})["data"]["live_id"] for i in range(R)]
for r in rooms: req("PUT", f"/client/live/room/{r}", anchor)
time.sleep(0.5)
base_rss, base_clients = rss(), clients()
sel = selectors.DefaultSelector(); socks = []
for i in range(N):
    room = rooms[i % R]
    s = socket.create_connection(("127.0.0.1", PORT))
    s.sendall(f"GET /client/live/room/events/{room} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {anchor}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head: head += s.recv(4096)
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    s.setblocking(False); sel.register(s, selectors.EVENT_READ, {"buf": b""}); socks.append(s)
time.sleep(1)
print(f"watchers={N} rooms={R} redis_clients {base_clients} -> {clients()}  liveroom RSS {base_rss} -> {rss()} KiB ({(rss()-base_rss)*1024/N:.0f} B per watcher)")
lat = []
for k in range(ROUNDS):
  for r in rooms:
    req("PUT", "/client/live/room/extends", anchor, {"live_id": r, "extends": {"k": str(k)}})
    want = N // R; got = 0; deadline = time.time() + 20
    while got < want and time.time() < deadline:
        for key, _ in sel.select(timeout=1):
            d = key.data; chunk = key.fileobj.recv(65536); now = time.time() * 1000; d["buf"] += chunk
            while b"\n\n" in d["buf"]:
                frame, d["buf"] = d["buf"].split(b"\n\n", 1)
                for line in frame.split(b"\n"):
                    if line.startswith(b"data:"):
                        ev = json.loads(line[5:])
                        if ev.get("type") == "extends_updated": lat.append(now - ev["at"]); got += 1
lat.sort()
print(f"events delivered {len(lat)} of {N*ROUNDS}; latency write->watcher p50 {lat[len(lat)//2]:.1f} ms p99 {lat[int(len(lat)*0.99)]:.1f} ms max {lat[-1]:.1f} ms")
