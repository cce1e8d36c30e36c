"""Search over HTTP at a steady rate: does the server keep p95 under 30 ms with no errors?

The catalog is the one benchmarks/stream_search.py builds (MovieLens's 1,682 real titles
plus generated ones, 100,000 in all), with a trained model for the members' queries. The
real server (``moviola stream serve``, one uvicorn worker) is started in its own process
and warmed (each worker builds its index on its first search); then an open-loop client sends requests on a fixed schedule
(200 a second for 60 s by default) from a pool of keep-alive connections, and each
latency is measured from the moment the request was due (so a stalled server is not
hidden by a client that waits for it). The baseline, in the same run and at the same
rate, is ``GET /healthz``: the cost of the HTTP stack alone.

    .venv/bin/python benchmarks/stream_http.py                    # 100k titles, 200/s, 60 s
    .venv/bin/python benchmarks/stream_http.py --titles 10000 --seconds 20
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import numpy as np
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))
from stream_search import generated_catalog, with_typos

from moviola.stream import _schema as t
from moviola.stream import import_titles, init_service, load_movielens, train

BROAD = ["comedy", "90s", "drama", "action", "love", "star", "war", "the", "night", "man"]


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


def run_load(port: int, paths: list[str], rate: float, seconds: float, threads: int = 24) -> dict[str, float]:
    """Send ``paths`` (cycled) at ``rate`` per second for ``seconds``; latencies from the due time."""
    count = int(rate * seconds)
    start = time.perf_counter() + 0.5
    due: queue.Queue[tuple[float, str] | None] = queue.Queue()
    for i in range(count):
        due.put((start + i / rate, paths[i % len(paths)]))
    for _ in range(threads):
        due.put(None)
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while (item := due.get()) is not None:
            when, path = item
            delay = when - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                ok = False
            took = time.perf_counter() - when
            with lock:
                latencies.append(took)
                errors[0] += not ok
        conn.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    ms = np.array(latencies) * 1000
    wall = max(1e-9, time.perf_counter() - start)
    return {"requests": count, "errors": errors[0], "rate": count / wall,
            "p50": float(np.percentile(ms, 50)), "p95": float(np.percentile(ms, 95)),
            "p99": float(np.percentile(ms, 99)), "max": float(ms.max())}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--titles", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    args = parser.parse_args()
    print(f"cores: {len(os.sched_getaffinity(0))}; catalog {args.titles:,} titles; {args.rate:g} requests/s "
          f"for {args.seconds:g} s")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        svc = init_service(Path(tmp) / "svc")
        load_movielens(svc)
        with svc.engine.connect() as conn:
            real = [(str(a), str(b)) for a, b in conn.execute(select(t.titles.c.title_id, t.titles.c.title))]
        generated = Path(tmp) / "generated.csv"
        generated_catalog(generated, [b for _, b in real], args.titles - len(real))
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
        port = free_port()
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        server = subprocess.Popen([sys.executable, "-m", "moviola", "stream", "serve", str(svc.root),
                                   "--port", str(port), "--rate", "100000", "--burst", "100000",
                                   "--workers", str(args.workers)],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        try:
            wait_ready(port)
            t0 = time.perf_counter()
            for _ in range(args.workers * 4):  # each worker builds its own index on its first search
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
                conn.request("GET", "/search?q=warm&k=10")
                body = json.loads(conn.getresponse().read())
                conn.close()
            print(f"first search (the server builds its index): {time.perf_counter() - t0:.1f} s, "
                  f"semantic {body.get('semantic')}")  # fmt: skip
            for name, load in (("GET /healthz (baseline)", ["/healthz"]), ("GET /search", paths)):
                r = run_load(port, load, args.rate, args.seconds)
                print(f"{name:<24} {r['requests']:>6} requests at {r['rate']:.0f}/s: p50 {r['p50']:.1f} ms, "
                      f"p95 {r['p95']:.1f} ms, p99 {r['p99']:.1f} ms, max {r['max']:.0f} ms, errors {r['errors']}")  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=30)
        svc.engine.dispose()


if __name__ == "__main__":
    main()
