#!/usr/bin/env python3
"""Soak load for scripts/soak.sh (issue 17): mixed API traffic beside idle, slow and abandoned
connections, against one liveroom; samples RSS, open fds, Redis connected_clients and the p99 of
the API traffic every 10 s and prints (and writes) a table. Figures only, never pass/fail.

usage: soak.py --addr HOST:PORT --secret S --pid PID --redis-port P --seconds N --out FILE
               [--viewers N] [--idle N] [--slow N]"""
import argparse, asyncio, base64, hashlib, hmac, json, os, random, socket, struct, subprocess
import sys, time


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(secret, sub):
    now = int(time.time())
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"sub": sub, "iat": now, "exp": now + 86400, "nick": f"soak-{sub}"}
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


class Stats:
    def __init__(self):
        self.latencies = []  # ms, since the last sample
        self.requests = 0
        self.errors = 0  # transport errors and 5xx
        self.statuses = {}
        self.idle_closed = 0
        self.slow_closed = 0
        self.abandoned = 0
        self.sse_events = 0


STATS = Stats()


class Client:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closes it."""

    def __init__(self, addr, tok):
        self.host, self.port = addr.split(":")
        self.tok = tok
        self.reader = self.writer = None

    async def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: soak\r\nAuthorization: Bearer {self.tok}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        ).encode()
        started = time.monotonic()
        for attempt in (0, 1):
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection(self.host, int(self.port))
                self.writer.write(head + data)
                await self.writer.drain()
                status_line = await asyncio.wait_for(self.reader.readline(), 10)
                if not status_line:
                    raise ConnectionError("closed")
                length = 0
                while True:
                    line = await self.reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.lower() == "content-length":
                        length = int(value.strip())
                payload = await self.reader.readexactly(length) if length else b""
                status = int(status_line.split()[1])
                break
            except (ConnectionError, asyncio.IncompleteReadError, OSError, asyncio.TimeoutError):
                self.close()
                if attempt == 1:
                    STATS.errors += 1
                    return None, None
                # an idle keep-alive connection closed by the server: reconnect once
                started = time.monotonic()
        STATS.latencies.append((time.monotonic() - started) * 1000)
        STATS.requests += 1
        STATS.statuses[status] = STATS.statuses.get(status, 0) + 1
        if status >= 500:
            STATS.errors += 1
        try:
            return status, json.loads(payload or b"null")
        except ValueError:
            return status, None

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def anchor(addr, secret, n, stop):
    c = Client(addr, token(secret, f"anchor{n}"))
    while not stop.is_set():
        status, body = await c.call("POST", "/client/live/room/instance", {"title": f"soak {n}"})
        if status != 200:
            await asyncio.sleep(1)
            continue
        live_id = body["data"]["live_id"]
        await c.call("PUT", f"/client/live/room/{live_id}")
        for i in range(10):
            if stop.is_set():
                break
            await c.call("GET", f"/client/live/room/heartbeat/{live_id}")
            await c.call("PUT", "/client/live/room/extends", {"live_id": live_id, "extends": {"i": str(i)}})
            await asyncio.sleep(2)
        await c.call("POST", f"/client/live/room/{live_id}")
        await c.call("DELETE", f"/client/live/room/instance/{live_id}")


async def viewer(addr, secret, n, stop):
    c = Client(addr, token(secret, f"viewer{n}"))
    while not stop.is_set():
        status, body = await c.call("GET", "/client/live/room/list?page_num=1&page_size=20")
        rooms = (body or {}).get("data", {}).get("list") or []
        if status != 200 or not rooms:
            await asyncio.sleep(1)
            continue
        live_id = random.choice(rooms)["live_id"]
        status, _ = await c.call("POST", f"/client/live/room/user/{live_id}")
        for _ in range(random.randint(3, 10)):
            if stop.is_set() or status != 200:
                break
            await asyncio.sleep(2)
            status, _ = await c.call("GET", f"/client/live/room/heartbeat/{live_id}")
            await c.call("GET", f"/client/live/room/info/{live_id}")
        await c.call("DELETE", f"/client/live/room/user/{live_id}")


async def browser(addr, secret, n, stop):
    c = Client(addr, token(secret, f"browser{n}"))
    while not stop.is_set():
        await c.call("GET", f"/client/live/room?page_num=1&page_size=20&keyword=soak%20{n % 5}")
        await c.call("GET", "/client/live/room/list?page_num=2&page_size=10")
        await asyncio.sleep(0.5)


async def watcher(addr, secret, n, stop):
    """An anchor watching its own room's events until the room ends, again and again."""
    tok = token(secret, f"watcher{n}")
    c = Client(addr, tok)
    host, port = addr.split(":")
    while not stop.is_set():
        status, body = await c.call("POST", "/client/live/room/instance", {"title": f"watched {n}"})
        if status != 200:
            await asyncio.sleep(1)
            continue
        live_id = body["data"]["live_id"]
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(
                f"GET /client/live/room/events/{live_id} HTTP/1.1\r\nHost: soak\r\n"
                f"Authorization: Bearer {tok}\r\n\r\n".encode()
            )
            await writer.drain()
            await c.call("PUT", f"/client/live/room/{live_id}")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not stop.is_set():
                await c.call("GET", f"/client/live/room/heartbeat/{live_id}")
                try:
                    chunk = await asyncio.wait_for(reader.read(4096), 2)
                except asyncio.TimeoutError:
                    continue
                if not chunk:
                    break
                STATS.sse_events += chunk.count(b"\nevent:")
            await c.call("DELETE", f"/client/live/room/instance/{live_id}")
            writer.close()
        except OSError:
            STATS.errors += 1
            await asyncio.sleep(1)


async def idle(addr, stop):
    """Connects and says nothing; when the server closes it, connects again."""
    host, port = addr.split(":")
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
            while not stop.is_set():
                try:
                    if not await asyncio.wait_for(reader.read(1024), 1):
                        STATS.idle_closed += 1
                        break
                except asyncio.TimeoutError:
                    continue
            writer.close()
        except OSError:
            await asyncio.sleep(1)


async def slow(addr, stop):
    """Slowloris: a request head one byte a second; when the server closes it, again."""
    host, port = addr.split(":")
    head = b"GET /client/live/room/list HTTP/1.1\r\nHost: soak\r\nX-Slow: " + b"a" * 200
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
            for b in head:
                if stop.is_set():
                    break
                writer.write(bytes([b]))
                await writer.drain()
                try:
                    if not await asyncio.wait_for(reader.read(1024), 1):
                        break
                except asyncio.TimeoutError:
                    pass
            STATS.slow_closed += 1
            writer.close()
        except OSError:
            await asyncio.sleep(1)


async def abandoner(addr, stop):
    """Twice a second: half a request (a body that stops), then a reset."""
    host, port = addr.split(":")
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(
                b"POST /client/live/room/instance HTTP/1.1\r\nHost: soak\r\n"
                b"Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"title\":"
            )
            await writer.drain()
            await asyncio.sleep(random.uniform(0, 0.2))
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.close()
            STATS.abandoned += 1
        except OSError:
            pass
        await asyncio.sleep(0.5)


def process_figures(pid, redis_port):
    rss = fds = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) / 1024
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        pass
    clients = "?"
    try:
        out = subprocess.run(
            ["redis-cli", "-p", str(redis_port), "info", "clients"], capture_output=True, text=True, timeout=5
        ).stdout
        for line in out.splitlines():
            if line.startswith("connected_clients:"):
                clients = int(line.split(":")[1]) - 1  # not counting this redis-cli
    except (OSError, subprocess.SubprocessError):
        pass
    return rss, fds, clients


def pct(sorted_ms, p):
    if not sorted_ms:
        return 0.0
    return sorted_ms[min(len(sorted_ms) - 1, int(len(sorted_ms) * p))]


def plot_svg(rows, path):
    """Four small panels over time (RSS, fds, Redis clients, p99), plain SVG: what to look at is
    whether a line keeps climbing."""
    panels = [("RSS MiB", "rss"), ("open fds", "fds"), ("Redis clients", "clients"), ("p99 ms", "p99")]
    w, h, pad = 420, 160, 36
    t_max = max((r["t"] for r in rows), default=1) or 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * w}" height="{2 * h}" font-family="sans-serif" font-size="11">']
    for i, (title, key) in enumerate(panels):
        x0, y0 = (i % 2) * w, (i // 2) * h
        values = [float(r[key]) if isinstance(r[key], (int, float)) else 0.0 for r in rows]
        v_max = max(values, default=1) * 1.1 or 1
        out.append(f'<rect x="{x0 + pad}" y="{y0 + 14}" width="{w - pad - 10}" height="{h - pad - 14}" fill="none" stroke="#ccc"/>')
        out.append(f'<text x="{x0 + pad}" y="{y0 + 11}">{title} (max {max(values, default=0):.1f})</text>')
        out.append(f'<text x="{x0 + 2}" y="{y0 + 24}">{v_max:.0f}</text><text x="{x0 + 2}" y="{y0 + h - pad}">0</text>')
        out.append(f'<text x="{x0 + w - 60}" y="{y0 + h - pad + 14}">{t_max} s</text>')
        points = " ".join(
            f"{x0 + pad + (w - pad - 10) * r['t'] / t_max:.1f},{y0 + h - pad - (h - pad - 14) * v / v_max:.1f}"
            for r, v in zip(rows, values)
        )
        out.append(f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{points}"/>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


async def sampler(args, stop, rows):
    started = time.monotonic()
    header = (
        f"{'t (s)':>6} {'RSS MiB':>8} {'fds':>5} {'redis clients':>13} {'req/s':>6} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'idle closed':>11} {'slow closed':>11} {'abandoned':>9}"
    )
    print(header, flush=True)
    last = started
    while True:
        now = time.monotonic()
        lat = sorted(STATS.latencies)
        STATS.latencies = []
        requests, STATS.requests = STATS.requests, 0
        rss, fds, clients = process_figures(args.pid, args.redis_port)
        row = {
            "t": round(now - started),
            "rss": rss,
            "fds": fds,
            "clients": clients,
            "rps": requests / max(now - last, 0.001),
            "p50": pct(lat, 0.5),
            "p99": pct(lat, 0.99),
            "errors": STATS.errors,
            "idle_closed": STATS.idle_closed,
            "slow_closed": STATS.slow_closed,
            "abandoned": STATS.abandoned,
        }
        rows.append(row)
        print(
            f"{row['t']:>6} {rss:>8.1f} {fds:>5} {clients!s:>13} {row['rps']:>6.0f} {row['p50']:>7.2f} "
            f"{row['p99']:>7.2f} {row['errors']:>6} {row['idle_closed']:>11} {row['slow_closed']:>11} "
            f"{row['abandoned']:>9}",
            flush=True,
        )
        last = now
        if stop.is_set():
            return header
        try:
            await asyncio.wait_for(stop.wait(), 10)
        except asyncio.TimeoutError:
            pass


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--addr", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--redis-port", type=int, required=True)
    p.add_argument("--seconds", type=int, default=600)
    p.add_argument("--viewers", type=int, default=40)
    p.add_argument("--idle", type=int, default=200)
    p.add_argument("--slow", type=int, default=50)
    p.add_argument("--out", required=True)
    p.add_argument("--svg", help="also plot RSS, fds, Redis clients and p99 over time to this SVG")
    args = p.parse_args()
    stop = asyncio.Event()
    rows = []
    tasks = [asyncio.create_task(anchor(args.addr, args.secret, n, stop)) for n in range(6)]
    tasks += [asyncio.create_task(viewer(args.addr, args.secret, n, stop)) for n in range(args.viewers)]
    tasks += [asyncio.create_task(browser(args.addr, args.secret, n, stop)) for n in range(4)]
    tasks += [asyncio.create_task(watcher(args.addr, args.secret, n, stop)) for n in range(4)]
    tasks += [asyncio.create_task(idle(args.addr, stop)) for _ in range(args.idle)]
    tasks += [asyncio.create_task(slow(args.addr, stop)) for _ in range(args.slow)]
    tasks += [asyncio.create_task(abandoner(args.addr, stop)) for _ in range(2)]
    sampling = asyncio.create_task(sampler(args, stop, rows))
    await asyncio.sleep(args.seconds)
    stop.set()
    header = await sampling
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    first, end = rows[1] if len(rows) > 1 else rows[0], rows[-1]
    with open(args.out, "w") as f:
        f.write("| t (s) | RSS MiB | fds | Redis clients | req/s | p50 ms | p99 ms | errors | idle closed | slow closed | abandoned |\n")
        f.write("|---|---|---|---|---|---|---|---|---|---|---|\n")
        for r in rows:
            f.write(
                f"| {r['t']} | {r['rss']:.1f} | {r['fds']} | {r['clients']} | {r['rps']:.0f} | {r['p50']:.2f} | "
                f"{r['p99']:.2f} | {r['errors']} | {r['idle_closed']} | {r['slow_closed']} | {r['abandoned']} |\n"
            )
        f.write(
            f"\nStart (t={first['t']} s) vs end (t={end['t']} s): RSS {first['rss']:.1f} -> {end['rss']:.1f} MiB, "
            f"fds {first['fds']} -> {end['fds']}, Redis clients {first['clients']} -> {end['clients']}, "
            f"p99 {first['p99']:.2f} -> {end['p99']:.2f} ms. Statuses: {dict(sorted(STATS.statuses.items()))}; "
            f"SSE events read: {STATS.sse_events}.\n"
        )
    if args.svg:
        plot_svg(rows, args.svg)
    print(f"\nstatuses: {dict(sorted(STATS.statuses.items()))}, SSE events read: {STATS.sse_events}")


if __name__ == "__main__":
    asyncio.run(main())
