"""The ad server's hard rules under concurrency, and the bandit against baselines.

1. Caps and pacing with 4 workers (goal: 0 frequency-cap violations over 100,000 simulated
   requests; daily pacing within +-5%). A MovieLens 100K service (943 members) with five
   campaigns: a daily goal (UTC), a campaign-wide hourly cap, a daily goal in Europe/Paris's
   days with age targeting, and a small lifetime budget; every campaign caps each member at
   3 a day and each creative at 1 an hour per member; and a house campaign with looser caps
   (20 a member a day, 4 a creative an hour), so that most requests write. Four processes
   (spawn), each its own ``AdServer(open_service(root))``, share one simulated clock over
   4 days: a shared counter hands out the requests in time order (a daily curve: evenings
   busy, mornings quiet), and each request is ``decide(member, "preroll", title_id=...,
   seconds=30, now=its time)``, so the workers are at most a few requests apart, as real
   workers on one clock are. Then the log (``ad_decisions``) is recounted per window: every
   cap, the budgets, the ad load, and each campaign's delivery a day against its goal. On
   SQLite and, where PostgreSQL's server is installed (Debian's /usr/lib/postgresql/*/bin),
   on PostgreSQL too.
2. The bandit with known reward rates (goal: it beats random and the fixed best-on-average
   creative on cumulative reward, with a 95% interval). ``moviola.ads.Policy`` driven
   directly as ``AdServer`` drives it: six member segments (their genres, a taste vector
   near the segment's, age band, gender; a random hour), six creatives of four advertisers;
   each round the policy's floored probabilities, a draw, a Bernoulli reward, ``learn`` with
   the propensity. One creative is best on average (10% everywhere) but five segments each
   have a specialist (18% there, 4% elsewhere), so the per-segment best differs. Against:
   uniform random, the fixed best-on-average creative, and the oracle (the best per segment),
   all on the same members and the same random numbers (common random numbers: a round's
   reward is ``u < p[segment, creative]`` with one ``u`` a round). Per exploration setting
   (epsilon-greedy, the default; softmax at lambda 4 and 30), over seeds: the
   mean cumulative reward with a 95% t interval, and the paired difference to each baseline.

    .venv/bin/python benchmarks/ads_bandit.py                       # both parts
    .venv/bin/python benchmarks/ads_bandit.py --part caps --requests 20000 --stores sqlite
    .venv/bin/python benchmarks/ads_bandit.py --part bandit --rounds 10000 --seeds 8
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import random
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from scipy import stats
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from ads_world import make_spot
from moviola.ads import AdsConfig, AdServer, Context, Policy, action_line, add_campaign
from moviola.stream import Service, init_service, load_movielens, open_service
from moviola.stream import _schema as t

# ---- 1. caps and pacing under concurrency ---------------------------------------------------------

START = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp())  # a Monday, 00:00 UTC
MEMBERS, TITLES = 943, 1682
LOAD_MS = round(AdsConfig().ad_seconds(100 * 60) * 1000)  # a MovieLens title has no trailer: 100 min assumed
# id, [campaign lines], [targeting lines], caps (per, max, window), creatives (id, spot)
CAPS_CAMPAIGNS: list[tuple[str, dict[str, Any], list[str], list[tuple[str, int, str]], list[tuple[str, str]]]] = [
    ("goal-utc", {"budget": 1_000_000, "daily_goal": 1500, "timezone": "UTC"}, [],
     [("member", 3, "1d"), ("creative", 1, "1h")], [("g15a", "a15.mp4"), ("g15b", "b15.mp4"), ("g30", "c30.mp4")]),
    ("hourly", {"budget": 1_000_000, "daily_goal": None, "timezone": "UTC"}, [],
     [("member", 3, "1d"), ("creative", 1, "1h"), ("campaign", 60, "1h")], [("h15", "a15.mp4"), ("h30", "c30.mp4")]),
    ("goal-paris", {"budget": 1_000_000, "daily_goal": 1200, "timezone": "Europe/Paris"}, ['ages = "18-49"'],
     [("member", 3, "1d"), ("creative", 1, "1h"), ("campaign", 100, "1h")], [("p15", "b15.mp4"), ("p30", "c30.mp4")]),
    ("small-budget", {"budget": 2500, "daily_goal": None, "timezone": "UTC"}, [],
     [("member", 3, "1d"), ("creative", 1, "1h")], [("s15", "a15.mp4"), ("s15b", "b15.mp4")]),
    ("house", {"budget": 10_000_000, "daily_goal": None, "timezone": "UTC"}, [],  # the filler: most pods write
     [("member", 20, "1d"), ("creative", 4, "1h")], [("house15", "b15.mp4"), ("house30", "c30.mp4")]),
]  # fmt: skip
WINDOW = {"1h": 3600, "1d": 86400}


def campaign_file(folder: Path, cid: str, c: dict[str, Any], targeting: list[str],
                  caps: list[tuple[str, int, str]], creatives: list[tuple[str, str]]) -> Path:  # fmt: skip
    body = ["[campaign]", f'id = "{cid}"', 'advertiser = "Bench"', f'name = "{cid}"', "start = 2026-03-01",
            "end = 2026-03-31", f'timezone = "{c["timezone"]}"', f"budget_impressions = {c['budget']}"]  # fmt: skip
    if c["daily_goal"]:
        body.append(f"daily_goal = {c['daily_goal']}")
    if targeting:
        body += ["[targeting]", *targeting]
    for per, most, window in caps:
        body += ["[[caps]]", f'per = "{per}"', f"max = {most}", f'window = "{window}"']
    for crid, spot in creatives:
        body += ["[[creatives]]", f'id = "{crid}"', f'video = "{spot}"']
    path = folder / f"{cid}.toml"
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    return path


def build(root: Path, spots: Path, db: str | None) -> Service:
    svc = init_service(root, db=db)
    load_movielens(svc)
    for cid, c, targeting, caps, creatives in CAPS_CAMPAIGNS:
        add_campaign(svc, campaign_file(spots, cid, c, targeting, caps, creatives))
    svc.engine.dispose()
    return svc


def timeline(n: int, days: int, seed: int) -> np.ndarray:
    """``n`` request times over ``days`` from START, sorted: a daily curve peaking at 21:00 UTC
    (1.7x the mean) with its trough at 09:00 (0.3x)."""
    rng = np.random.default_rng(seed)
    hours = np.arange(24)
    weight = 1 + 0.7 * np.cos(2 * np.pi * (hours - 21) / 24)
    day = rng.integers(0, days, n)
    hour = rng.choice(24, n, p=weight / weight.sum())
    return np.sort(START + day * 86400 + hour * 3600 + rng.random(n) * 3600)


def _worker(root: str, n: int, days: int, seed: int, number: int, counter: Any, go: Any, out: Any) -> None:
    try:
        ads = AdServer(open_service(root), seed=seed * 10 + number)
        times = timeline(n, days, seed)
        rng = np.random.default_rng(seed + 1)
        members, titles = rng.integers(1, MEMBERS + 1, n), rng.integers(1, TITLES + 1, n)
        ads.members.catalog()  # read before the clock starts (no decision, nothing written)
        ads.inventory()
        out.put(("ready", number))
        go.wait()
        pods: Counter[int] = Counter()
        errors: Counter[str] = Counter()
        first_error = ""
        ms: list[float] = []
        cpu = time.process_time()
        while True:
            with counter.get_lock():
                i = counter.value
                counter.value += 1
            if i >= n:
                break
            start = time.perf_counter()
            try:
                pod = ads.decide(f"u{members[i]}", "preroll", title_id=f"ml{titles[i]}", seconds=30, now=float(times[i]))
                pods[len(pod.decisions)] += 1
            except Exception as exc:  # counted and reported: an error under concurrency is a finding
                errors[type(exc).__name__] += 1
                first_error = first_error or "".join(traceback.format_exception_only(exc)).strip()[:300]
            ms.append((time.perf_counter() - start) * 1000)
        out.put(("done", number, pods, errors, first_error, ms, time.process_time() - cpu))
    except Exception:
        out.put(("failed", number, traceback.format_exc()))


def simulate(root: Path, n: int, days: int, workers: int, seed: int) -> tuple[float, Counter[int], Counter[str], str, np.ndarray]:  # fmt: skip
    ctx = multiprocessing.get_context("spawn")
    counter, go, out = ctx.Value("q", 0), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(root), n, days, seed, k, counter, go, out)) for k in range(workers)]
    for p in procs:
        p.start()
    for _ in procs:
        msg = out.get(timeout=600)
        if msg[0] == "failed":
            raise SystemExit(f"worker {msg[1]} failed:\n{msg[2]}")
    start = time.perf_counter()
    go.set()
    pods: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    first_error, ms, cpu = "", [], []
    for _ in procs:
        msg = out.get(timeout=7200)
        if msg[0] == "failed":
            raise SystemExit(f"worker {msg[1]} failed:\n{msg[2]}")
        pods.update(msg[2])
        errors.update(msg[3])
        first_error = first_error or msg[4]
        ms += msg[5]
        cpu.append(msg[6])
    wall = time.perf_counter() - start
    for p in procs:
        p.join(60)
    print(f"  {n:,} requests by {workers} workers in {wall:.1f} s: {n / wall:.0f} requests/s "
          f"(decide p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms, p99 "
          f"{np.percentile(ms, 99):.1f} ms, max {max(ms):.0f} ms; workers' CPU {sum(cpu):.0f} s)")  # fmt: skip
    return wall, pods, errors, first_error, np.array(ms)


def recount(svc: Service, days: int, pods: Counter[int]) -> bool:
    """Every rule recounted from the log; True when none was broken and pacing held."""
    d = t.ad_decisions.c
    with svc.engine.connect() as conn:
        rows = conn.execute(select(d.member_id, d.title_id, d.creative_id, d.campaign_id, d.ts)).all()
        duration = dict(conn.execute(select(t.ad_creatives.c.creative_id, t.ad_creatives.c.duration_ms)).all())  # type: ignore[arg-type]
    served = sum(k * v for k, v in pods.items())
    print(f"  pods: {', '.join(f'{k} ads: {pods[k]:,}' for k in sorted(pods))}; {served:,} ads served, "
          f"{len(rows):,} decisions in the log{'' if served == len(rows) else '  <-- MISMATCH'}")  # fmt: skip
    ok = served == len(rows)
    by_campaign: dict[str, list[tuple[str, str | None, str, int]]] = defaultdict(list)
    for member, title, creative, campaign, ts in rows:
        by_campaign[campaign].append((member, title, creative, int(ts)))
    print(f"  {'rule':<44}{'windows':>9}{'most in one':>13}{'violations':>12}")
    for cid, c, _, caps, _ in CAPS_CAMPAIGNS:
        mine = by_campaign.get(cid, [])
        for per, most, window in caps:
            seconds = WINDOW[window]
            key = {"member": lambda r: (r[0], r[3] // seconds), "creative": lambda r: (r[2], r[0], r[3] // seconds),  # noqa: B023
                   "campaign": lambda r: r[3] // seconds}[per]  # noqa: B023  # fmt: skip
            counts = Counter(key(r) for r in mine)
            bad = sum(1 for v in counts.values() if v > most)
            ok &= bad == 0
            print(f"  {cid + ': ' + str(most) + ' per ' + per + ' per ' + window:<44}{len(counts):>9,}"
                  f"{max(counts.values(), default=0):>13}{bad:>12}")  # fmt: skip
        ok &= len(mine) <= c["budget"]
        print(f"  {cid + ': budget ' + format(c['budget'], ','):<44}{1:>9}{len(mine):>13,}"
              f"{int(len(mine) > c['budget']):>12}")  # fmt: skip
    load = Counter()
    for member, title, creative, _, ts in rows:
        load[(member, title, int(ts) // 86400)] += duration[creative]
    bad = sum(1 for v in load.values() if v > LOAD_MS)
    ok &= bad == 0
    print(f"  {'ad load: ' + str(LOAD_MS // 1000) + ' s per member per title per day':<44}{len(load):>9,}"
          f"{max(load.values(), default=0) / 1000:>11.0f} s{bad:>12}")  # fmt: skip
    print("  daily goals (the campaign's local days the simulation covers whole):")
    for cid, c, _, _, _ in CAPS_CAMPAIGNS:
        if not c["daily_goal"]:
            continue
        zone, goal = ZoneInfo(c["timezone"]), c["daily_goal"]
        per_day: Counter[str] = Counter()
        by_hour: dict[str, Counter[int]] = defaultdict(Counter)
        for *_, ts in by_campaign.get(cid, []):
            local = datetime.fromtimestamp(ts, UTC).astimezone(zone)
            per_day[f"{local:%Y-%m-%d}"] += 1
            by_hour[f"{local:%Y-%m-%d}"][local.hour] += 1
        line = []
        for day in sorted(per_day):
            first = int(datetime.fromisoformat(day).replace(tzinfo=zone).timestamp())
            whole = first >= START and first + 86400 <= START + days * 86400
            share = per_day[day] / goal
            if whole:
                ok &= 0.95 <= share <= 1.05
            cumulative = np.cumsum([by_hour[day][h] for h in range(24)]) / goal
            line.append(f"{day} {per_day[day]:,}/{goal:,} = {share:.1%}{'' if whole else ' (part of the day)'}"
                        + (f" [by 06:00 {cumulative[5]:.0%}, 12:00 {cumulative[11]:.0%}, 18:00 {cumulative[17]:.0%};"
                           f" even line +1 h: 29%, 54%, 79%]" if whole else ""))  # fmt: skip
        print(f"    {cid} ({c['timezone']}):")
        for item in line:
            print(f"      {item}")
    return ok


@contextmanager
def postgres() -> Iterator[str | None]:
    """PostgreSQL on 127.0.0.1 in a temporary folder (tests/pg_server.py, as the tests start
    it), with a database for the benchmark; None when its server is not installed."""
    from pg_server import local_postgres

    with local_postgres("-c max_connections=200") as url:
        if url is None:
            yield None
            return
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        yield url.rsplit("/", 1)[0] + "/bench"


def caps_part(n: int, days: int, workers: int, stores: list[str], seed: int) -> dict[str, bool]:
    print(f"\n1. caps and pacing: {n:,} simulated requests over {days} days from {datetime.fromtimestamp(START, UTC):%Y-%m-%d}"
          f" (UTC), {workers} worker processes, one shared simulated clock; {MEMBERS} members, {TITLES} titles")  # fmt: skip
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        spots = folder / "spots"
        make_spot(spots / "a15.mp4", 15, size=(160, 90))
        make_spot(spots / "b15.mp4", 15, size=(160, 90), colour=(40, 80, 200))
        make_spot(spots / "c30.mp4", 30, size=(160, 90), colour=(30, 160, 60))
        for store in stores:
            with postgres() if store == "postgresql" else _nothing() as url:
                if store == "postgresql" and url is None:
                    print("  PostgreSQL: not installed here (no /usr/lib/postgresql/*/bin/initdb): skipped")
                    continue
                print(f"  -- {store} --")
                start = time.perf_counter()
                svc = build(folder / store, spots, url)
                print(f"  service built (MovieLens 100K, {len(CAPS_CAMPAIGNS)} campaigns) in {time.perf_counter() - start:.1f} s")
                _, pods, errors, first_error, _ = simulate(svc.root, n, days, workers, seed)
                if errors:
                    print(f"  ERRORS: {dict(errors)}; first: {first_error}")
                ok = recount(open_service(svc.root), days, pods) and not errors
                results[store] = ok
                print(f"  {store}: {'no rule broken, pacing within +-5%' if ok else 'FAILED (see above)'}")
                svc.engine.dispose()
    return results


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


# ---- 2. the bandit with known reward rates -------------------------------------------------------------

GENRES = ["Action", "Adventure", "Animation", "Comedy", "Crime", "Drama", "Horror", "Romance", "Sci-Fi", "Thriller"]
# segment: its genres, its usual age band and gender
SEGMENTS = [
    ({"Sci-Fi": 0.5, "Action": 0.3, "Thriller": 0.2}, "age20s", "g_M"),
    ({"Romance": 0.5, "Drama": 0.3, "Comedy": 0.2}, "age30s", "g_F"),
    ({"Animation": 0.6, "Comedy": 0.3, "Adventure": 0.1}, "age10s", "g_F"),
    ({"Crime": 0.4, "Thriller": 0.4, "Drama": 0.2}, "age40s", "g_M"),
    ({"Horror": 0.6, "Thriller": 0.3, "Action": 0.1}, "age20s", "g_F"),
    ({"Drama": 0.5, "Comedy": 0.3, "Romance": 0.2}, "age50s", "g_M"),
]  # fmt: skip
# creative id, campaign, advertiser, seconds, interactive
CREATIVES = [
    ("trailer-30", "studio", "Moviola Pictures", 30, False),
    ("orbit-15", "games", "Orbit Games", 15, False),
    ("orbit-15-overlay", "games", "Orbit Games", 15, True),
    ("phone-30", "phones", "Acme Phones", 30, False),
    ("phone-15-overlay", "phones", "Acme Phones", 15, True),
    ("car-30", "cars", "Motors", 30, False),
]  # fmt: skip
BASE, SPECIALIST, OTHER = 0.10, 0.18, 0.04


def true_rates() -> np.ndarray:
    """p[segment, creative]: the trailer 10% everywhere (best on average); creative s+1 is
    segment s's specialist (18% there, 4% elsewhere); the last segment has none."""
    p = np.full((len(SEGMENTS), len(CREATIVES)), OTHER)
    p[:, 0] = BASE
    for s in range(len(SEGMENTS) - 1):
        p[s, s + 1] = SPECIALIST
    return p


def members(rng: np.random.Generator, per_segment: int = 200) -> list[tuple[int, Context]]:
    """(segment, context without the hour) for each member: features that point to the
    segment, with noise (a vector near the segment's centroid, genre shares drawn around the
    segment's, its usual age band and gender most of the time)."""
    centroids = rng.normal(0, 1, (len(SEGMENTS), 8))
    out = []
    for s, (genres, age, gender) in enumerate(SEGMENTS):
        for _ in range(per_segment):
            v = centroids[s] + rng.normal(0, 0.7, 8)
            v = v / np.linalg.norm(v)
            weights = rng.dirichlet([20 * genres.get(g, 0.02) for g in GENRES])
            shares = {g: float(w) for g, w in zip(GENRES, weights, strict=True) if w >= 0.02}
            attrs = (age if rng.random() < 0.8 else f"age{rng.choice([10, 20, 30, 40, 50, 60])}s",
                     gender if rng.random() < 0.8 else rng.choice(["g_F", "g_M"]))  # fmt: skip
            out.append((s, Context(tuple(round(float(x), 5) for x in v), shares, (), -1, attrs)))
    return out


def run_bandit(args: tuple[str, float, int, int]) -> dict[str, Any]:
    """One seed of one exploration setting, with the baselines on the same random numbers."""
    exploration, value, seed, rounds = args
    config = AdsConfig(exploration=exploration, **({"softmax_lambda": value} if exploration == "softmax"
                                                    else {"epsilon": value}))  # fmt: skip
    policy = Policy(config, seed=seed)
    rng = np.random.default_rng(seed)
    people = members(rng)
    who = rng.integers(0, len(people), rounds)
    hours = rng.integers(0, 24, rounds)
    u = rng.random(rounds)  # a round's reward: u < p[segment, creative], for every policy
    p = true_rates()
    actions = [action_line(*c[:4], c[4]) for c in CREATIVES]
    draw = random.Random(seed)
    fixed = int(np.argmax(p.mean(axis=0)))
    reward = {"bandit": 0, "random": 0, "fixed best": 0, "oracle": 0}
    late = 0  # the bandit's reward in the last fifth
    start = time.perf_counter()
    for i in range(rounds):
        s, ctx = people[who[i]]
        shared = Context(ctx.member_vector, ctx.genres, (), int(hours[i]), ctx.attributes).line()
        probabilities = policy.probabilities(shared, actions)
        k = draw.choices(range(len(actions)), weights=probabilities)[0]
        r = float(u[i] < p[s, k])
        policy.learn(shared, actions, k, r, probabilities[k])
        reward["bandit"] += r
        late += r if i >= rounds * 4 // 5 else 0
        reward["random"] += u[i] < p[s, draw.randrange(len(actions))]
        reward["fixed best"] += u[i] < p[s, fixed]
        reward["oracle"] += u[i] < p[s].max()
    policy.close()
    return {"setting": (exploration, value), "seed": seed, "reward": reward, "late": late / (rounds - rounds * 4 // 5),
            "seconds": time.perf_counter() - start}  # fmt: skip


def interval(values: list[float]) -> tuple[float, float, float]:
    a = np.array(values, dtype=float)
    half = stats.t.ppf(0.975, len(a) - 1) * a.std(ddof=1) / math.sqrt(len(a)) if len(a) > 1 else float("nan")
    return float(a.mean()), float(a.mean() - half), float(a.mean() + half)


def bandit_part(rounds: int, seeds: int, settings: list[tuple[str, float]], processes: int) -> dict[str, bool]:
    p = true_rates()
    print(f"\n2. the bandit with known reward rates: {len(SEGMENTS)} segments x {len(CREATIVES)} creatives, "
          f"{rounds:,} rounds, {seeds} seeds, {processes} processes")  # fmt: skip
    print("  true rates (rows: segments; columns: " + ", ".join(c[0] for c in CREATIVES) + "):")
    for s in range(len(SEGMENTS)):
        print("    " + "  ".join(f"{x:.2f}" for x in p[s]))
    print(f"  per round on average: random {p.mean():.4f}, fixed best-on-average ({CREATIVES[int(np.argmax(p.mean(0)))][0]}) "
          f"{p.mean(0).max():.4f}, oracle {p.max(1).mean():.4f}")  # fmt: skip
    default = AdsConfig()
    print(f"  the default: exploration={default.exploration!r}, softmax_lambda={default.softmax_lambda:g} "
          f"(epsilon={default.epsilon:g}), propensity_floor={default.propensity_floor:g}")  # fmt: skip
    jobs = [(e, v, seed, rounds) for e, v in settings for seed in range(1, seeds + 1)]
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        results = pool.map(run_bandit, jobs)
    print(f"  {len(jobs)} runs in {time.perf_counter() - start:.0f} s "
          f"({np.mean([r['seconds'] for r in results]) / rounds * 1e6:.0f} us a round: predict, draw, learn)")  # fmt: skip
    baselines = ("random", "fixed best", "oracle")
    base = [r for r in results if r["setting"] == settings[0]]  # the baselines do not depend on the setting
    print(f"  cumulative reward over {rounds:,} rounds, mean [95% t interval] over {seeds} seeds:")
    for name in baselines:
        m, lo, hi = interval([r["reward"][name] for r in base])
        print(f"    {name:<30}{m:>9.1f}  [{lo:.1f}, {hi:.1f}]   ({m / rounds:.4f} a round)")
    verdict = {}
    for setting in settings:
        mine = sorted((r for r in results if r["setting"] == setting), key=lambda r: r["seed"])
        label = f"bandit, {setting[0]} {'lambda' if setting[0] == 'softmax' else 'epsilon'}={setting[1]:g}"
        m, lo, hi = interval([r["reward"]["bandit"] for r in mine])
        lm, llo, lhi = interval([r["late"] for r in mine])
        print(f"    {label:<30}{m:>9.1f}  [{lo:.1f}, {hi:.1f}]   ({m / rounds:.4f} a round; last fifth "
              f"{lm:.4f} [{llo:.4f}, {lhi:.4f}])")  # fmt: skip
        wins = True
        for name in baselines:
            dm, dlo, dhi = interval([r["reward"]["bandit"] - r["reward"][name] for r in mine])
            beats = dlo > 0
            if name != "oracle":
                wins &= beats
            print(f"      minus {name:<22}{dm:>+9.1f}  [{dlo:+.1f}, {dhi:+.1f}]"
                  f"{'   beats it' if beats else '' if name == 'oracle' else '   does NOT beat it'}")  # fmt: skip
        verdict[label] = wins
    best = max(settings, key=lambda s: np.mean([r["reward"]["bandit"] for r in results if r["setting"] == s]))
    print(f"  the best setting here: {best[0]} {best[1]:g}")
    return verdict


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=("both", "caps", "bandit"), default="both")
    parser.add_argument("--requests", type=int, default=100_000, help="simulated requests (part 1)")
    parser.add_argument("--days", type=int, default=4, help="simulated days (part 1)")
    parser.add_argument("--workers", type=int, default=4, help="worker processes (part 1)")
    parser.add_argument("--stores", default="sqlite,postgresql", help="part 1's stores, comma-separated")
    parser.add_argument("--rounds", type=int, default=20_000, help="rounds a run (part 2)")
    parser.add_argument("--seeds", type=int, default=10, help="seeds (part 2)")
    parser.add_argument("--settings", default="epsilon:0.1,softmax:4,softmax:30",
                        help="exploration settings (part 2): softmax:LAMBDA or epsilon:EPSILON, comma-separated")  # fmt: skip
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    print(f"cores: {cores}; load average {os.getloadavg()[0]:.1f}")
    caps = bandit = None
    if args.part in ("both", "caps"):
        caps = caps_part(args.requests, args.days, args.workers, args.stores.split(","), args.seed)
    if args.part in ("both", "bandit"):
        settings = [(e, float(v)) for e, v in (s.split(":") for s in args.settings.split(","))]
        bandit = bandit_part(args.rounds, args.seeds, settings, max(1, min(cores, 2)))
    print(f"\ntargets (load average now {os.getloadavg()[0]:.1f}):")
    if caps is not None:
        for store, ok in caps.items():
            print(f"  0 cap violations over {args.requests:,} requests with {args.workers} workers, pacing within "
                  f"+-5% ({store}): {'met' if ok else 'NOT met'}")  # fmt: skip
    if bandit is not None:
        for label, ok in bandit.items():
            print(f"  {label} beats random and the fixed best creative (95% interval): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
