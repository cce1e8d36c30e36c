"""Does a breakdown grow with the script, and no faster? Print the figures.

Scripts of 500 to 5,000 scenes (each a heading, an action line, two speeches) go through
the whole `moviola breakdown` step on a project (rules only: parse, scenes, tags,
document and reports), then through a second draft with one scene added (the revision
matching that carries people's decisions across). The baseline is the 500-scene run in
the same process: each row prints its time per scene and that against the baseline's.
Linear growth keeps the ratio near 1; the quadratic report and revision code this
replaced took 118 s for 5,000 headings (issue 11).

    .venv/bin/python benchmarks/breakdown_scaling.py
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from moviola.core import init_project, open_project
from moviola.script import import_script, run_breakdown

SIZES = (500, 1000, 2000, 5000)


def script(scenes: int, extra: str = "") -> str:
    parts = ["Title: Scaling\n\n"]
    for i in range(scenes):
        parts.append(f"INT. ROOM {i} - DAY\n\nANNA walks in with a lamp {i}. The door slams.\n\n"
                     f"ANNA\nHello {i}.\n\nBOB\n(quietly)\nGo away.\n\n")  # fmt: skip
    return "".join(parts) + extra


def main() -> None:
    print(f"breakdown scaling on {os.cpu_count()} cores (rules only, with reports)")
    print(f"{'scenes':>7} {'first s':>8} {'ms/scene':>9} {'vs 500':>7} {'revision s':>11} {'ms/scene':>9} {'vs 500':>7}")
    base: tuple[float, float] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        for n in SIZES:
            root = Path(tmp) / f"p{n}"
            draft = Path(tmp) / f"s{n}.fountain"
            draft.write_text(script(n), encoding="utf-8")
            import_script(init_project(root), draft)
            t0 = time.perf_counter()
            run_breakdown(open_project(root), use_model=False)
            first = time.perf_counter() - t0
            draft.write_text(script(n, "INT. ONE MORE ROOM - NIGHT\n\nThe end.\n"), encoding="utf-8")
            import_script(open_project(root), draft)
            t0 = time.perf_counter()
            run_breakdown(open_project(root), use_model=False)
            revision = time.perf_counter() - t0
            per = (first / n * 1000, revision / n * 1000)
            base = base or per
            print(f"{n:>7} {first:>8.2f} {per[0]:>9.2f} {per[0] / base[0]:>6.2f}x "
                  f"{revision:>11.2f} {per[1]:>9.2f} {per[1] / base[1]:>6.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
