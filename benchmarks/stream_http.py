"""Search over HTTP at a steady rate: does the server keep p95 under 30 ms with no errors?

The catalog is the one benchmarks/stream_search.py builds (MovieLens's 1,682 real titles
plus generated ones, 100,000 in all), with a trained model for the members' queries. The
real server (``moviola stream serve``, ``--workers`` uvicorn processes) is started in its own
process and warmed (each worker builds its index on its first search). Then an open-loop
client sends requests on a fixed schedule (200 a second for 60 s by default) and each
latency is measured from the moment the request was due, so a stalled server is not hidden
by a client that waits for it.

The client shares the machine's cores with the server, so it is kept cheap: one thread, raw
keep-alive sockets driven by ``selectors`` (one request in flight per connection, no
pipelining; a new connection is opened when every open one is busy, up to ``MAX_CONNECTIONS``,
after which requests wait their turn, still timed from when they were due). Its CPU time is
printed beside the figures. Any status but 200, a closed connection or no answer within 10 s
is an error.

Printed from the same run, at the same rate: ``GET /healthz``, the cost of the HTTP stack
alone (the baseline); ``GET /search`` as served, with the share of queries whose vector came
from the server's cache of recent query vectors (the ``Server-Timing`` header of each
answer) and the server's own time per search; and, unless ``--query-cache on``, the same
requests against a server started with that cache off (``MOVIOLA_STREAM_QUERY_CACHE=0``):
every query embedded, as a stream of queries never seen before would be. The 760 request
paths (300 real titles, 300 with typos, 150 prefixes as typed, 10 broad words; 30% of them
for a member) are cycled, so with the cache on most queries repeat.

    .venv/bin/python benchmarks/stream_http.py                    # 100k titles, 200/s, 60 s, 2 workers
    .venv/bin/python benchmarks/stream_http.py --titles 10000 --seconds 20
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import selectors
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from stream_search import movielens_and_generated, with_typos

from moviola.stream import import_titles, train

BROAD = ["comedy", "90s", "drama", "action", "love", "star", "war", "the", "night", "man"]
MAX_CONNECTIONS = 256
TIMEOUT = 10.0  # seconds without an answer: an error
IDLE = 2.0  # seconds: a connection left idle longer is closed here before uvicorn's 5 s do
_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.I)
_STATUS = re.compile(rb"^HTTP/1\.[01] (\d{3})")
_TIMING = re.compile(rb"\r\nserver-timing:\s*search;dur=([0-9.]+), vector;desc=(\w+)", re.I)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


@dataclass(eq=False)  # hashed by identity: kept in a set while busy
class _Connection:
    sock: socket.socket
    due: float = 0.0  # when the request in flight was due (0: idle)
    used: float = 0.0  # when its last answer came
    buffer: bytearray = field(default_factory=bytearray)


@dataclass
class LoadResult:
    requests: int
    errors: int
    rate: float  # requests sent a second, as achieved
    latencies: np.ndarray  # ms, from when each request was due
    server_ms: list[float]  # the server's own time per search (Server-Timing)
    vectors: dict[str, int]  # cached / embedded / none (Server-Timing)
    connections: int  # opened in all
    client_cpu: float  # seconds of this process's CPU

    def line(self, name: str) -> str:
        ms = self.latencies
        return (f"{name:<30} {self.requests:>6} requests at {self.rate:.0f}/s: p50 {np.percentile(ms, 50):.1f} ms, "
                f"p95 {np.percentile(ms, 95):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms, max {ms.max():.0f} ms, "
                f"errors {self.errors}")  # fmt: skip


def run_load(port: int, paths: list[str], rate: float, seconds: float,
             on_head: Callable[[bytes], None] | None = None) -> LoadResult:  # fmt: skip
    """Send ``paths`` (cycled) at ``rate`` a second for ``seconds``, open loop: each request
    is sent when due on an idle keep-alive connection (a new one when all are busy) and timed
    from when it was due. ``on_head`` sees each whole answer's status line and headers."""
    count = int(rate * seconds)
    requests = [f"GET {p} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode() for p in paths]
    selector = selectors.DefaultSelector()
    idle: list[_Connection] = []
    busy: set[_Connection] = set()
    waiting: list[tuple[float, int]] = []  # due, request number: no connection could take them
    latencies: list[float] = []
    server_ms: list[float] = []
    vectors: dict[str, int] = {}
    errors = opened = 0
    cpu = time.process_time()

    def connect() -> _Connection | None:
        nonlocal opened
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        except OSError:
            return None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        opened += 1
        conn = _Connection(sock, used=time.perf_counter())
        selector.register(sock, selectors.EVENT_READ, conn)
        return conn

    def drop(conn: _Connection) -> None:
        selector.unregister(conn.sock)
        conn.sock.close()
        busy.discard(conn)
        if conn in idle:
            idle.remove(conn)

    def send(due: float, number: int) -> None:
        nonlocal errors
        conn = idle.pop() if idle else (connect() if len(busy) < MAX_CONNECTIONS else None)
        if conn is None:
            if len(busy) < MAX_CONNECTIONS:  # could not connect
                errors += 1
                latencies.append(time.perf_counter() - due)
            else:
                waiting.append((due, number))
            return
        try:
            conn.sock.sendall(requests[number % len(requests)])
        except OSError:
            drop(conn)
            errors += 1
            latencies.append(time.perf_counter() - due)
            return
        conn.due = due
        busy.add(conn)

    def finish(conn: _Connection, ok: bool) -> None:
        nonlocal errors
        latencies.append(time.perf_counter() - conn.due)
        errors += not ok
        conn.due, conn.used = 0.0, time.perf_counter()
        busy.discard(conn)
        if ok:
            idle.append(conn)
        else:
            drop(conn)
        if waiting:
            send(*waiting.pop(0))

    def receive(conn: _Connection) -> None:
        try:
            chunk = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            if conn.due:
                finish(conn, False)
            else:
                drop(conn)
            return
        conn.buffer += chunk
        head_end = conn.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = bytes(conn.buffer[: head_end + 2])
        length = _LENGTH.search(head)
        status = _STATUS.match(head)
        if length is None or status is None:  # not an answer this client reads: an error
            finish(conn, False)
            return
        end = head_end + 4 + int(length[1])
        if len(conn.buffer) < end:
            return
        del conn.buffer[:end]
        if on_head is not None:
            on_head(head)
        timing = _TIMING.search(head)
        if timing is not None:
            server_ms.append(float(timing[1]))
            kind = timing[2].decode()
            vectors[kind] = vectors.get(kind, 0) + 1
        finish(conn, status[1] == b"200")

    for _ in range(16):  # a few connections open before the clock starts
        if (conn := connect()) is not None:
            idle.append(conn)
    start = time.perf_counter() + 0.2
    sent = 0
    while sent < count or busy or waiting:
        now = time.perf_counter()
        while sent < count and start + sent / rate <= now:
            send(start + sent / rate, sent)
            sent += 1
        for conn in [c for c in busy if now - c.due > TIMEOUT]:
            finish(conn, False)
        for conn in [c for c in idle if now - c.used > IDLE]:
            drop(conn)
        wait = (start + sent / rate - now) if sent < count else 0.05
        for key, _ in selector.select(timeout=max(0.0, wait)):
            receive(key.data)
    wall = time.perf_counter() - start
    for conn in idle:
        drop(conn)
    selector.close()
    return LoadResult(count, errors, count / max(wall, 1e-9), np.array(latencies) * 1000, server_ms,
                      vectors, opened, time.process_time() - cpu)  # fmt: skip


def start_server(root: Path, port: int, workers: int, query_cache: bool) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if not query_cache:
        env["MOVIOLA_STREAM_QUERY_CACHE"] = "0"
    return subprocess.Popen([sys.executable, "-m", "moviola", "stream", "serve", str(root), "--port", str(port),
                             "--rate", "100000", "--burst", "100000", "--workers", str(workers)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def warm(port: int, workers: int) -> dict[str, object]:
    """Each worker builds its own index on its first search; ask until all have answered."""
    body: dict[str, object] = {}
    for _ in range(workers * 4):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        conn.request("GET", "/search?q=warm&k=10")
        body = json.loads(conn.getresponse().read())
        conn.close()
    return body


def report_search(name: str, r: LoadResult) -> None:
    print(r.line(name))
    looked = sum(r.vectors.values())
    if r.server_ms:
        s = np.array(r.server_ms)
        print(f"{'':<30} server's own time per search: p50 {np.percentile(s, 50):.2f} ms, "
              f"p95 {np.percentile(s, 95):.2f} ms, mean {s.mean():.2f} ms")  # fmt: skip
    if looked:
        cached, embedded = r.vectors.get("cached", 0), r.vectors.get("embedded", 0)
        print(f"{'':<30} query vectors: {cached:,} from the cache, {embedded:,} embedded "
              f"(hit rate {cached / max(1, cached + embedded):.1%})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--titles", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--query-cache", choices=("both", "on", "off"), default="both",
                        help="run /search with the server's query-vector cache on, off, or both")  # fmt: skip
    args = parser.parse_args()
    print(f"cores: {len(os.sched_getaffinity(0))}; catalog {args.titles:,} titles; {args.rate:g} requests/s "
          f"for {args.seconds:g} s; {args.workers} worker(s)")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        svc, real, generated = movielens_and_generated(Path(tmp), args.titles)
        import_titles(svc, generated)
        train(svc)
        rng = random.Random(11)
        queries = [title for _, title in rng.sample(real, 300)]
        queries += [q for q in (with_typos(title, rng) for _, title in rng.sample(real, 300)) if q]
        queries += [title[: rng.randint(3, 6)] for _, title in rng.sample(real, 150)]  # as you type
        paths = []
        for q in queries:
            member = f"&member=u{rng.randint(1, 943)}" if rng.random() < 0.3 else ""
            paths.append(f"/search?q={urllib.parse.quote(q)}&k=10{member}")
        paths += [f"/search?q={q}&k=10&member=u{rng.randint(1, 943)}" for q in BROAD]
        rng.shuffle(paths)
        caches = {"both": (True, False), "on": (True,), "off": (False,)}[args.query_cache]
        for n, query_cache in enumerate(caches):
            port = free_port()
            server = start_server(svc.root, port, args.workers, query_cache)
            try:
                wait_ready(port)
                t0 = time.perf_counter()
                body = warm(port, args.workers)
                print(f"server started with the query-vector cache {'on' if query_cache else 'off'}; first searches "
                      f"(each worker builds its index): {time.perf_counter() - t0:.1f} s, semantic {body.get('semantic')}")  # fmt: skip
                if n == 0:
                    r = run_load(port, ["/healthz"], args.rate, args.seconds)
                    print(r.line("GET /healthz (baseline)"))
                    print(f"{'':<30} client: {r.client_cpu / r.requests * 1000:.3f} ms of CPU a request, "
                          f"{r.connections} connections")  # fmt: skip
                r = run_load(port, paths, args.rate, args.seconds)
                report_search(f"GET /search (cache {'on' if query_cache else 'off'})", r)
                print(f"{'':<30} client: {r.client_cpu / r.requests * 1000:.3f} ms of CPU a request, "
                      f"{r.connections} connections")  # fmt: skip
            finally:
                server.terminate()
                server.wait(timeout=30)
        svc.engine.dispose()


if __name__ == "__main__":
    main()
