"""Ad decisions: in process (goal p95 <= 5 ms) and ``/ads/vast`` over HTTP at 200 requests a
second for 60 s (goal p95 <= 25 ms, 0 errors, on 2 cores).

The service: MovieLens 100K (943 members with their histories, 1,682 titles), trained, so
every member has the recommender's vector of their taste; four campaigns, ten creatives
in all (real H.264 spots made here, 160x90, 15 s and 30 s; three with a SIMID overlay),
frequency caps on all, a daily goal on two, targeting by the title's genre, the member's
age and the member's genres on three. Caps and budgets are generous, so that a member who
comes back a dozen times still gets ads; the share of empty answers is printed.

1. In process, ``AdServer.decide(member, "preroll", title_id=..., seconds=30)`` at the real
   time, one request at a time, over random members (943) and titles (1,682), after a short
   warm-up. Split into requests whose member's facts were read from the store (the first
   of each member: their ratings, genres, vector) and the ones the 30 s cache answered.
   Baselines from the same run, on a copy of the same store and the same requests:
   - the same decisions with a uniform policy in place of Vowpal Wabbit: what the bandit
     itself costs (the rest is rules, counters and the store);
   - the same decisions with ``_decide._reserve`` swapped for the same statements as fixed
     SQL text (SQLite): what the store itself costs, without building SQLAlchemy statements;
   - ``vast_document`` alone on the pods decided: what the HTTP answer adds to a decision;
   - ``recommend(member, k=10)``: an existing per-member read of the same service.
   Then the same requests again on a fresh copy with every step timed (member facts,
   campaigns read, rules, counters read, the policy, the reservation transaction, the
   learner's sync), to show where the time goes.
2. As the log grows: the learner's sweep (closing every decision whose player never sent a
   closing event, 5,000 at a time, inside a request) and the collector's ``complete`` beacon,
   with the ``events`` table holding the beacons of past decisions.
3. Over HTTP: the real server (``moviola stream serve --workers 2``) on a fresh copy, an
   open-loop client (benchmarks/stream_http.py's, extended to read ``X-Moviola-Ads``)
   sending ``/ads/vast?member=uN&title=mlN&slot=preroll&seconds=30`` at the rate, beside
   ``GET /healthz`` at the same rate (the HTTP stack alone, the baseline). First a few
   requests at once on the fresh server (a restart under load), then a sequential warm-up.
   Then lower rates for 15 s each, each on a fresh copy and server, to show where it holds.

    .venv/bin/python benchmarks/ads_serving.py                        # 3,000 decisions; 200/s for 60 s
    .venv/bin/python benchmarks/ads_serving.py --decisions 1000 --seconds 20
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select, update

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from stream_http import free_port, run_load, wait_ready

from ads_world import make_spot
from moviola.ads import (
    AdsConfig,
    AdServer,
    Policy,
    Signer,
    add_campaign,
    record_beacon,
    sweep,
    vast_document,
)
from moviola.stream import Service, init_service, load_movielens, open_service, recommend, train
from moviola.stream import _schema as t

IN_PROCESS_GOAL_MS = 5.0
HTTP_GOAL_MS = 25.0
MEMBERS = 943
TITLES = 1682
SIMID_HTML = "<!doctype html><meta charset=utf-8><title>overlay</title><button>Add to my list</button>\n"
_STATUS = re.compile(rb"^HTTP/1\.[01] (\d{3})")
_ADS = re.compile(rb"\r\nx-moviola-ads:\s*(\d+)", re.I)


# ---- the service ------------------------------------------------------------------------------

# (id, advertiser, [campaign lines], [targeting lines], [(per, max, window)], [(creative, spot, simid)])
CAMPAIGNS: list[tuple[str, str, list[str], list[str], list[tuple[str, int, str]], list[tuple[str, str, bool]]]] = [
    ("cinema-club", "Moviola Pictures", ["daily_goal = 1000000", 'category = "IAB1-5"'], [],
     [("member", 20, "1d"), ("creative", 6, "1h")],
     [("club-15-overlay", "a15.mp4", True), ("club-15", "b15.mp4", False), ("club-30", "c30.mp4", False)]),
    ("drama-week", "Arthouse Films", ['timezone = "Europe/Paris"'], ['genres = ["Drama", "Romance"]'],
     [("member", 12, "1d")], [("drama-15", "d15.mp4", False), ("drama-30", "e30.mp4", False)]),
    ("young-adults", "Acme Phones", ["daily_goal = 500000"], ['ages = "18-34"'],
     [("member", 12, "1d"), ("campaign", 100000, "1h")],
     [("phone-15-overlay", "b15.mp4", True), ("phone-30", "c30.mp4", False)]),
    ("genre-fans", "Orbit Games", [], ['member_genres = ["Sci-Fi", "Action", "Thriller"]'],
     [("creative", 4, "1h"), ("member", 15, "1d")],
     [("orbit-15", "a15.mp4", False), ("orbit-15b", "d15.mp4", False), ("orbit-30-overlay", "e30.mp4", True)]),
]  # fmt: skip


def campaign_file(folder: Path, cid: str, advertiser: str, lines: list[str], targeting: list[str],
                  caps: list[tuple[str, int, str]], creatives: list[tuple[str, str, bool]]) -> Path:  # fmt: skip
    body = ["[campaign]", f'id = "{cid}"', f'advertiser = "{advertiser}"', f'name = "{cid}"', "start = 2020-01-01",
            "end = 2099-12-31", "budget_impressions = 100000000", 'click_through = "/?title=ml1"', *lines]  # fmt: skip
    if targeting:
        body += ["[targeting]", *targeting]
    for per, most, window in caps:
        body += ["[[caps]]", f'per = "{per}"', f"max = {most}", f'window = "{window}"']
    for crid, spot, simid in creatives:
        body += ["[[creatives]]", f'id = "{crid}"', f'video = "{spot}"']
        if simid:
            body += ['simid = "simid/overlay.html"', 'ad_parameters = { kind = "add_to_list", label = "Add it" }']
    path = folder / f"{cid}.toml"
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    return path


def build_service(folder: Path) -> Service:
    start = time.perf_counter()
    svc = init_service(folder / "base")
    load_movielens(svc)
    loaded = time.perf_counter()
    train(svc)
    trained = time.perf_counter()
    spots = folder / "spots"
    for name, seconds, colour in (("a15", 15, (200, 80, 40)), ("b15", 15, (40, 80, 200)), ("c30", 30, (30, 160, 60)),
                                  ("d15", 15, (160, 40, 160)), ("e30", 30, (220, 200, 40))):  # fmt: skip
        make_spot(spots / f"{name}.mp4", seconds, size=(160, 90), colour=colour)
    (spots / "simid").mkdir()
    (spots / "simid" / "overlay.html").write_text(SIMID_HTML, encoding="utf-8")
    for c in CAMPAIGNS:
        add_campaign(svc, campaign_file(spots, *c))
    print(f"service: MovieLens 100K loaded in {loaded - start:.1f} s, trained in {trained - loaded:.1f} s; "
          f"{len(CAMPAIGNS)} campaigns, {sum(len(c[5]) for c in CAMPAIGNS)} creatives "
          f"({sum(s for c in CAMPAIGNS for *_, s in c[5])} with SIMID), spots made and added in "
          f"{time.perf_counter() - trained:.1f} s")  # fmt: skip
    svc.engine.dispose()
    return svc


def copy_service(base: Service, folder: Path) -> Service:
    shutil.copytree(base.root, folder)
    return open_service(folder)


def request_list(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [(f"u{rng.randint(1, MEMBERS)}", f"ml{rng.randint(1, TITLES)}") for _ in range(n)]


# ---- in process ---------------------------------------------------------------------------------


class UniformPolicy(Policy):
    """Every eligible creative equally likely, no model: the decision without the bandit."""

    def __init__(self, config: AdsConfig) -> None:  # no Vowpal Wabbit workspace
        self.config, self.base, self.learned, self._lock = config, "uniform", 0, threading.Lock()

    def probabilities(self, shared: str, actions: Any) -> list[float]:
        return [1 / len(actions)] * len(actions) if actions else []

    def learn(self, *args: Any, **kwargs: Any) -> None:
        pass


UPSERT = ("INSERT INTO ad_counters (key, n, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE "
          "SET n = ad_counters.n + excluded.n WHERE ad_counters.n + excluded.n <= ? RETURNING n")
LOG = ("INSERT INTO ad_decisions (serving_id, member_id, title_id, slot, position, creative_id, campaign_id, "
       "propensity, context, model_version, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def plain_sql_reserve(service: Service, pod: list[tuple[list[Any], Any, dict[str, Any]]], member_id: str,
                      title_id: str | None, slot: str) -> None:  # fmt: skip
    """``_decide._reserve`` with the same statements as fixed SQL text (SQLite): what the
    store itself costs, without SQLAlchemy in the transaction."""
    import moviola.ads._decide as dm

    with dm.write_lock(service), service.engine.begin() as conn:
        for index, (rules, decision, record) in enumerate(pod):
            for limit in rules:
                if limit.add > limit.most or conn.exec_driver_sql(
                        UPSERT, (limit.key, limit.add, limit.expires_at, limit.most)).first() is None:  # fmt: skip
                    raise dm._Taken(index, limit.key)
            conn.exec_driver_sql(LOG, (decision.serving_id, member_id, title_id, slot, decision.position,
                                       decision.creative.creative_id, decision.campaign.campaign_id,
                                       decision.propensity, json.dumps(record, separators=(",", ":")),
                                       decision.model_version, decision.ts))  # fmt: skip


def warm_up(ads: AdServer) -> None:
    for i in range(30):  # the catalog, the title vectors (an SVD), the policy, the inventory
        ads.decide("u1", "preroll", title_id=f"ml{1 + i}", seconds=30)


def timed_decisions(ads: AdServer, requests: list[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """ms per decision, whether the member's facts were read (first visit), the pods."""
    seen = {"u1"}
    ms, cold, pods = [], [], []
    for member, title in requests:
        cold.append(member not in seen)
        seen.add(member)
        start = time.perf_counter()
        pod = ads.decide(member, "preroll", title_id=title, seconds=30)
        ms.append((time.perf_counter() - start) * 1000)
        pods.append(pod)
    return np.array(ms), np.array(cold), pods


def pct(ms: np.ndarray | list[float]) -> str:
    a = np.asarray(ms)
    if not len(a):
        return "-"
    return (f"p50 {np.percentile(a, 50):6.2f} ms  p95 {np.percentile(a, 95):6.2f} ms  "
            f"p99 {np.percentile(a, 99):6.2f} ms  max {a.max():6.1f} ms")  # fmt: skip


def report_decisions(label: str, ms: np.ndarray, cold: np.ndarray, pods: list[Any]) -> None:
    ads = Counter(len(p.decisions) for p in pods)
    print(f"  {label:<34} {pct(ms)}  ({len(ms):,} requests)")
    print(f"  {'  member read from the store':<34} {pct(ms[cold])}  ({int(cold.sum()):,})")
    print(f"  {'  member cached':<34} {pct(ms[~cold])}  ({int((~cold).sum()):,})")
    print(f"  {'':<34} ads a pod: " + ", ".join(f"{k}: {ads[k]:,}" for k in sorted(ads)))


STEPS = ("member facts", "title check + genres", "campaigns read", "rules (targeting, limits)", "counters read",
         "policy (VW predict)", "reservation transaction", "learner sync")  # fmt: skip


def instrument(ads: AdServer, totals: dict[str, list[float]]) -> Callable[[], None]:
    """Wrap each step of ``decide`` with a timer; returns the function that unwraps them."""
    import moviola.ads._decide as dm

    current: dict[str, float] = defaultdict(float)

    def wrap(fn: Callable[..., Any], label: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                current[label] += time.perf_counter() - start

        return timed

    saved = {name: getattr(dm, name) for name in ("_held", "_reserve", "targeted", "limits")}
    dm._held = wrap(dm._held, "counters read")
    dm._reserve = wrap(dm._reserve, "reservation transaction")
    dm.targeted = wrap(dm.targeted, "rules (targeting, limits)")
    dm.limits = wrap(dm.limits, "rules (targeting, limits)")
    ads.members.facts = wrap(ads.members.facts, "member facts")  # type: ignore[method-assign]
    ads.members.title_genres = wrap(ads.members.title_genres, "title check + genres")  # type: ignore[method-assign]
    ads.check_title = wrap(ads.check_title, "title check + genres")  # type: ignore[method-assign]
    ads.inventory = wrap(ads.inventory, "campaigns read")  # type: ignore[method-assign]
    ads.policy.probabilities = wrap(ads.policy.probabilities, "policy (VW predict)")  # type: ignore[method-assign]
    ads.learner.sync = wrap(ads.learner.sync, "learner sync")  # type: ignore[method-assign]
    original_decide = ads.decide

    def decide(*args: Any, **kwargs: Any) -> Any:
        current.clear()
        start = time.perf_counter()
        try:
            return original_decide(*args, **kwargs)
        finally:
            total = time.perf_counter() - start
            for label in STEPS:
                totals[label].append(current.get(label, 0.0) * 1000)
            totals["total"].append(total * 1000)

    ads.decide = decide  # type: ignore[method-assign]

    def restore() -> None:
        for name, fn in saved.items():
            setattr(dm, name, fn)

    return restore


def in_process(base: Service, folder: Path, n: int) -> tuple[float, list[Any]]:
    print(f"\n1. in process: AdServer.decide(member, 'preroll', title_id=..., seconds=30), {n:,} requests "
          f"over {MEMBERS} members and {TITLES} titles, real time, one at a time (load average "
          f"{os.getloadavg()[0]:.1f})")  # fmt: skip
    requests = request_list(n, seed=5)
    svc = copy_service(base, folder / "vw")
    ads = AdServer(svc, seed=1)
    start = time.perf_counter()
    warm_up(ads)
    print(f"  warm-up (30 decisions: catalog, title vectors, policy): {time.perf_counter() - start:.2f} s")
    ms, cold, pods = timed_decisions(ads, requests)
    report_decisions("decide, Vowpal Wabbit (as served)", ms, cold, pods)
    p95 = float(np.percentile(ms, 95))

    usvc = copy_service(base, folder / "uniform")
    uads = AdServer(usvc, seed=1, policy=UniformPolicy(AdsConfig()))
    warm_up(uads)
    ums, ucold, upods = timed_decisions(uads, requests)
    report_decisions("baseline: decide, uniform policy", ums, ucold, upods)

    import moviola.ads._decide as dm

    psvc = copy_service(base, folder / "plain-sql")
    pads = AdServer(psvc, seed=1)
    saved, dm._reserve = dm._reserve, plain_sql_reserve  # type: ignore[assignment]
    try:
        warm_up(pads)
        pms, pcold, ppods = timed_decisions(pads, requests)
    finally:
        dm._reserve = saved
    report_decisions("baseline: reservation as plain SQL", pms, pcold, ppods)

    signer = Signer.for_service(svc)
    track: Callable[[str, str], str] = lambda sid, e: f"http://127.0.0.1:8700/ads/t/{sid}/{e}?s={signer.sign(sid)}"  # noqa: E731
    render = []
    sizes = []
    for pod in pods:
        start = time.perf_counter()
        body = vast_document(pod, "http://127.0.0.1:8700", track)
        render.append((time.perf_counter() - start) * 1000)
        sizes.append(len(body))
    print(f"  {'baseline: vast_document alone':<34} {pct(render)}  (mean {np.mean(sizes) / 1000:.1f} kB a document)")
    rec = []
    for member, _ in requests[:500]:
        start = time.perf_counter()
        recommend(svc, member, k=10)
        rec.append((time.perf_counter() - start) * 1000)
    print(f"  {'baseline: recommend(member, k=10)':<34} {pct(rec)}  (500 members)")

    bsvc = copy_service(base, folder / "breakdown")
    bads = AdServer(bsvc, seed=1)
    warm_up(bads)
    totals: dict[str, list[float]] = defaultdict(list)
    restore = instrument(bads, totals)
    try:
        _, bcold, _ = timed_decisions(bads, requests)
    finally:
        restore()
    total = np.array(totals["total"])
    print(f"  where the time goes (the same requests, every step timed; total {pct(total)}):")
    print(f"    {'step':<28}{'mean':>9}{'share':>8}{'p95':>9}   {'mean, member read':>18}{'mean, cached':>14}")
    for label in STEPS:
        a = np.array(totals[label])
        print(f"    {label:<28}{a.mean():>6.3f} ms{a.sum() / total.sum():>8.1%}{np.percentile(a, 95):>6.2f} ms"
              f"   {a[bcold].mean():>15.3f} ms{a[~bcold].mean():>11.3f} ms")  # fmt: skip
    rest = total - sum(np.array(totals[label]) for label in STEPS)
    print(f"    {'the rest (glue, features)':<28}{rest.mean():>6.3f} ms{rest.sum() / total.sum():>8.1%}"
          f"{np.percentile(rest, 95):>6.2f} ms")  # fmt: skip
    for s in (svc, usvc, psvc, bsvc):
        s.engine.dispose()
    return p95, pods


# ---- as the log grows --------------------------------------------------------------------------


def log_growth(folder: Path, pods: list[Any], events_rows: int, stale: int) -> None:
    print(f"\n2. as the log grows: the learner's sweep (run inside a request, every 30 s in each worker) and the "
          f"collector, with {events_rows:,} beacons of past decisions in the events table")  # fmt: skip
    svc = open_service(folder / "vw")  # the store the in-process decisions were taken on
    config = AdsConfig()
    d = t.ad_decisions.c
    with svc.engine.begin() as conn:
        decisions = conn.execute(select(func.count()).select_from(t.ad_decisions)).scalar_one()
        old = [r[0] for r in conn.execute(select(d.serving_id).order_by(d.ts, d.serving_id).limit(stale))]
        conn.execute(update(t.ad_decisions).where(d.serving_id.in_(old)).values(ts=d.ts - 700))  # past close_after
    start = time.perf_counter()
    closed = sweep(svc, config)
    first = time.perf_counter() - start
    print(f"  sweep closing {closed:,} stale decisions (of {decisions:,} in the log), no events: {first * 1000:.0f} ms "
          f"({first / max(closed, 1) * 1000:.2f} ms a decision)")  # fmt: skip
    kinds = ["ad_impression", "ad_creative_view", "ad_start", "ad_first_quartile", "ad_midpoint",
             "ad_third_quartile", "ad_complete", "ad_close_linear"]  # fmt: skip
    now = int(time.time())
    with svc.engine.begin() as conn:
        for lo in range(0, events_rows, 20000):
            conn.execute(insert(t.events), [{"event_id": f"bench:{i}", "member_id": "u1", "kind": kinds[i % 8],
                                             "title_id": "ml1", "ad_serving_id": uuid.uuid4().hex, "ts": now - 3600}
                                            for i in range(lo, min(events_rows, lo + 20000))])  # fmt: skip
        total_events = conn.execute(select(func.count()).select_from(t.events)).scalar_one()
        conn.execute(t.ad_rewards.delete())  # the same decisions, open again
    start = time.perf_counter()
    closed = sweep(svc, config)
    second = time.perf_counter() - start
    print(f"  sweep closing {closed:,} stale decisions, {total_events:,} events: {second * 1000:.0f} ms "
          f"({second / max(closed, 1) * 1000:.2f} ms a decision; a full batch of 5,000, as 200 requests/s leave "
          f"every 30 s: ~{second / max(closed, 1) * 5000:.0f} s in one request, in one write transaction)")  # fmt: skip
    with svc.engine.connect() as conn:
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN SELECT kind FROM events WHERE ad_serving_id = 'x'").all()
    print(f"  the sweep's query per decision, SELECT kind FROM events WHERE ad_serving_id = ?: {plan[-1][-1]}")
    signer = Signer.for_service(svc)
    with svc.engine.begin() as conn:
        conn.execute(t.ad_rewards.delete())
    beacon = []
    for pod in pods[:200]:
        if not pod.decisions:
            continue
        sid = pod.decisions[0].serving_id
        sig = signer.sign(sid)
        record_beacon(svc, signer, config, sid, "impression", sig)
        start = time.perf_counter()
        record_beacon(svc, signer, config, sid, "complete", sig)
        beacon.append((time.perf_counter() - start) * 1000)
    print(f"  collector, the 'complete' beacon (it closes the decision), {total_events:,} events: {pct(beacon)}")
    svc.engine.dispose()


# ---- over HTTP -----------------------------------------------------------------------------------


def run_ads_load(port: int, paths: list[str], rate: float, seconds: float) -> dict[str, Any]:
    """benchmarks/stream_http.py's open-loop client, also reading each answer's
    ``X-Moviola-Ads`` (ads in the pod) and counting statuses."""
    ads: Counter[int] = Counter()
    statuses: Counter[str] = Counter()

    def head(answer: bytes) -> None:
        status = _STATUS.match(answer)
        statuses[status[1].decode() if status else "unreadable"] += 1
        if (n := _ADS.search(answer)) is not None:
            ads[int(n[1])] += 1

    r = run_load(port, paths, rate, seconds, on_head=head)
    return {"requests": r.requests, "errors": r.errors, "rate": r.rate, "ms": r.latencies, "ads": ads,
            "statuses": statuses, "connections": r.connections, "cpu": r.client_cpu}  # fmt: skip


def cold_burst(port: int, n: int) -> None:
    """``n`` requests at once on the fresh server, as a restarted server under load gets them."""
    times: list[float] = []
    failed: list[str] = []

    def one(i: int) -> None:
        start = time.perf_counter()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            conn.request("GET", f"/ads/vast?member=u{900 + i}&title=ml{900 + i}&slot=preroll&seconds=30")
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                failed.append(str(response.status))
        except OSError as exc:
            failed.append(type(exc).__name__)
        times.append(time.perf_counter() - start)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    print(f"  cold start: {n} requests at once on the fresh server: answered in {min(times):.1f} to {max(times):.1f} s"
          f"{', failed: ' + ', '.join(failed) if failed else ''}")  # fmt: skip


def start_server(root: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    """``moviola stream serve`` in a session of its own (so it and its workers can be ended
    together however busy they are)."""
    return subprocess.Popen([sys.executable, "-m", "moviola", "stream", "serve", str(root), "--port", str(port),
                             "--rate", "100000", "--burst", "100000", "--workers", str(workers)],
                            env={**os.environ, "HF_HUB_OFFLINE": "1"}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:  # workers still busy with a backlog: end the group started above
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)


def fresh_server(base: Service, folder: Path, rate: float, seconds: float, seed: int, workers: int
                 ) -> tuple[list[str], int, Any]:  # fmt: skip
    """A copy of the service served by ``workers`` processes, and the /ads/vast requests to send it
    (random members and titles, ``rate`` a second for ``seconds``)."""
    svc = copy_service(base, folder)
    svc.engine.dispose()
    rng = random.Random(seed)
    paths = [f"/ads/vast?member=u{rng.randint(1, MEMBERS)}&title=ml{rng.randint(1, TITLES)}&slot=preroll&seconds=30"
             for _ in range(int(rate * seconds))]  # fmt: skip
    port = free_port()
    return paths, port, start_server(svc.root, port, workers)


def over_http(base: Service, folder: Path, rate: float, seconds: float, workers: int, cold: int) -> tuple[float, int]:
    print(f"\n3. over HTTP: moviola stream serve --workers {workers}, {rate:g} requests/s for {seconds:g} s, "
          f"open loop (load average {os.getloadavg()[0]:.1f})")  # fmt: skip
    paths, port, server = fresh_server(base, folder / "http", rate, seconds, 9, workers)
    try:
        wait_ready(port)
        if cold:
            cold_burst(port, cold)
        start = time.perf_counter()
        firsts = []
        for i in range(1, 21):  # one at a time, each on a new connection (either worker may take it)
            one = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            conn.request("GET", f"/ads/vast?member=u{i}&title=ml{i}&slot=preroll&seconds=30")
            conn.getresponse().read()
            conn.close()
            firsts.append(time.perf_counter() - one)
        print(f"  warm-up: 20 requests one at a time in {time.perf_counter() - start:.1f} s (slowest {max(firsts):.2f} s: "
              f"a worker's first decision reads the catalog and computes the title vectors)")  # fmt: skip
        h = run_load(port, ["/healthz"], rate, seconds)
        print(f"  {'GET /healthz (baseline)':<24} {h.requests:>6} requests at {h.rate:.0f}/s: {pct(h.latencies)}, "
              f"errors {h.errors}")  # fmt: skip
        r = run_ads_load(port, paths, rate, seconds)
        print(f"  {'GET /ads/vast':<24} {r['requests']:>6} requests at {r['rate']:.0f}/s: {pct(r['ms'])}, "
              f"errors {r['errors']}")  # fmt: skip
        answered = sum(r["ads"].values())
        print(f"  {'':<24} ads a pod: " + ", ".join(f"{k}: {r['ads'][k]:,}" for k in sorted(r["ads"]))
              + f"; empty VAST {r['ads'][0] / max(answered, 1):.1%}; statuses {dict(r['statuses'])}")  # fmt: skip
        print(f"  {'':<24} client: {r['cpu'] / r['requests'] * 1000:.3f} ms of CPU a request, "
              f"{r['connections']} connections")  # fmt: skip
        ms = r["ms"]
        for lo in range(0, int(seconds), max(1, int(seconds) // 6)):  # where in the run the slow ones were
            chunk = ms[int(lo * rate) : int((lo + max(1, int(seconds) // 6)) * rate)]
            if len(chunk):
                print(f"  {'':<24} seconds {lo:>3}+: p95 {np.percentile(chunk, 95):6.1f} ms, max {chunk.max():6.0f} ms")
    finally:
        stop_server(server)
    return float(np.percentile(r["ms"], 95)), int(r["errors"])


def ladder(base: Service, folder: Path, rates: list[float], seconds: float, workers: int) -> None:
    """Lower rates, each on a fresh copy and a fresh server (an overloaded run leaves a backlog):
    where the service holds and where it tips over."""
    print(f"  lower rates, {seconds:g} s each, each on a fresh server (where it holds):")
    for rate in rates:
        paths, port, server = fresh_server(base, folder / f"ladder-{rate:g}", rate, seconds, int(rate), workers)
        try:
            wait_ready(port)
            for i in range(1, 21):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                conn.request("GET", f"/ads/vast?member=u{i}&title=ml{i}&slot=preroll&seconds=30")
                conn.getresponse().read()
                conn.close()
            r = run_ads_load(port, paths, rate, seconds)
            print(f"  {'GET /ads/vast':<24} {r['requests']:>6} requests at {r['rate']:.0f}/s: {pct(r['ms'])}, "
                  f"errors {r['errors']}")  # fmt: skip
        finally:
            stop_server(server)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=3000, help="in-process requests")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--events", type=int, default=100_000, help="ad events in the log for part 2 (0: skip it)")
    parser.add_argument("--stale", type=int, default=1000, help="stale decisions the sweeps of part 2 close")
    parser.add_argument("--cold", type=int, default=8, help="requests at once on the fresh server (0: none)")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--ladder", default="50,100,150", help="lower rates to run after, 15 s each ('' for none)")
    parser.add_argument("--base", type=Path, help="a service this script built before (its 'base' folder): "
                        "copied, not rebuilt")  # fmt: skip
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(f"cores: {cores}; load average {os.getloadavg()[0]:.1f}; {args.decisions:,} decisions in process; {args.rate:g} requests/s for {args.seconds:g} s "
          f"over HTTP, {args.workers} worker(s)")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = open_service(args.base) if args.base else build_service(folder)
        p95, pods = in_process(base, folder, args.decisions)
        if args.events:
            log_growth(folder, pods, args.events, args.stale)
        http = None if args.no_http else over_http(base, folder, args.rate, args.seconds, args.workers, args.cold)
        if not args.no_http and args.ladder:
            ladder(base, folder, [float(x) for x in args.ladder.split(",")], 15.0, args.workers)
    print(f"\ntargets (load average now {os.getloadavg()[0]:.1f}, 1 min):")
    print(f"  in-process decision p95 {p95:.2f} ms (goal <= {IN_PROCESS_GOAL_MS:g} ms): "
          f"{'met' if p95 <= IN_PROCESS_GOAL_MS else 'NOT met'}")  # fmt: skip
    if http is not None:
        ok = http[0] <= HTTP_GOAL_MS and http[1] == 0
        print(f"  /ads/vast over HTTP at {args.rate:g}/s for {args.seconds:g} s: p95 {http[0]:.1f} ms, {http[1]} errors "
              f"(goal <= {HTTP_GOAL_MS:g} ms, 0 errors, on 2 cores; this machine has {cores}): "
              f"{'met' if ok else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
