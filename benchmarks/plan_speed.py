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
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from breakdown_speed import make_feature, timed

from moviola.plan import audit_plan, build_plan
from moviola.script import build_breakdown, parse_fountain


def main() -> None:
    breakdown = build_breakdown(parse_fountain(make_feature()))
    print(
        f"cores: {len(os.sched_getaffinity(0))}; feature: {breakdown['script']['pages']} pages, "
        f"{len(breakdown['scenes'])} scenes"
    )
    for style in ("classical", "documentary", "long-takes"):
        (doc, _), t_plan = timed(lambda s=style: build_plan(breakdown, style=s), repeat=3)
        findings, t_audit = timed(lambda d=doc: audit_plan(d), repeat=3)
        (_, _), t_replan = timed(
            lambda s=style, d=doc: build_plan(breakdown, style=s, previous=d), repeat=3
        )
        print(
            f"{style:<12} {doc['totals']['shots']:>5} shots: plan {t_plan:.2f} s + audit "
            f"{t_audit:.2f} s = {t_plan + t_audit:.2f} s (target <= 5 s); {len(findings)} findings; "
            f"re-plan unchanged (baseline) {t_replan:.2f} s"
        )


if __name__ == "__main__":
    main()
