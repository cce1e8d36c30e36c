"""Plan and audit the 120-page benchmark feature; print the figures.

The feature script is the one benchmarks/breakdown_speed.py generates. Its
breakdown (rules only, so the figure is the planner's alone) is made first
and not timed. Target (issue 3): plan and audit ~1,000 shots in <= 5 s on
2 cores. The baseline in the same process is re-planning with the previous
plan given (every scene unchanged, so shots are carried over, not made).

    .venv/bin/python benchmarks/plan_speed.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from breakdown_speed import make_feature

from moviola.plan import audit_plan, build_plan
from moviola.script import build_breakdown, parse_fountain


def median_time(fn, repeat: int = 3):  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return result, statistics.median(times)


def main() -> None:
    breakdown = build_breakdown(parse_fountain(make_feature()))
    print(f"cores: {len(os.sched_getaffinity(0))}; feature: {breakdown['script']['pages']} pages, "
          f"{len(breakdown['scenes'])} scenes")
    for style in ("classical", "documentary", "long-takes"):
        (doc, _), t_plan = median_time(lambda s=style: build_plan(breakdown, style=s))
        findings, t_audit = median_time(lambda d=doc: audit_plan(d))
        (_, _), t_replan = median_time(lambda s=style, d=doc: build_plan(breakdown, style=s, previous=d))
        print(f"{style:<12} {doc['totals']['shots']:>5} shots: plan {t_plan:.2f} s + audit "
              f"{t_audit:.2f} s = {t_plan + t_audit:.2f} s (target <= 5 s); {len(findings)} findings; "
              f"re-plan unchanged (baseline) {t_replan:.2f} s")


if __name__ == "__main__":
    main()
