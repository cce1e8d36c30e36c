"""The farm's overhead against a plain render of the same collapse, and what N nodes would take.

Runs, in this process's machine, one after another on the bundled full-resolution plate
(examples/skyline, 1920x1080 x 120 frames, every layer):

- baseline: ``moviola vfx collapse --recipe ...`` (one process, both cores);
- farm, local executor: ``moviola farm submit -- moviola vfx collapse ...`` (simulation, frame
  ranges one after another, gather; by default one range, as one task runs at a time);
- farm, Ray: the same submitted to a real Ray cluster started here (a head and a worker,
  ``ray start``, one CPU each), so by default two frame ranges, run at once.

``--chunk 30`` splits the shot into four ranges whatever the farm (what a bigger farm does).

Printed: wall seconds of each and the overhead against the baseline; every task's seconds
(from the job's task states); the frames checked identical to the baseline's; and the
scaling model on paper for N nodes from the measured task times:

    T(N) = simulate + start + ceil(frames / N) * (seconds a frame) + gather

with a range of frames/N on each node (a shared disk that keeps up is assumed; the plate, the
simulation file and the frames cross it). ``--preview`` runs the 960 px preview instead, for a
quick look.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402

from moviola.core._image_io import read_exr  # noqa: E402

SKYLINE = ROOT / "examples" / "skyline"


def run(args: list[str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "moviola", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})  # fmt: skip
    return time.perf_counter() - t0


def task_seconds(storage: Path) -> dict[str, float]:
    job = sorted((storage / ".moviola-farm").iterdir())[-1]
    out = {}
    for f in sorted((job / "tasks").glob("*.json")):
        s = json.loads(f.read_text())
        out[f.stem] = round(s["finished"] - s["started"], 1)
    return out


def identical(a: Path, b: Path) -> int:
    files = sorted(p.relative_to(a) for p in (a / "layers").rglob("*.exr"))
    assert files == sorted(p.relative_to(b) for p in (b / "layers").rglob("*.exr")), "different files"
    for rel in files:
        x, y = read_exr(a / rel), read_exr(b / rel)
        assert all(np.array_equal(x[k], y[k]) for k in x), f"{rel} differs"
    return len(files)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chunk", type=int, default=0,
                    help="frames per task (default 0: the farm's own default, a range per task it runs at once)")
    ap.add_argument("--preview", action="store_true", help="the 960 px preview instead of the final")
    ap.add_argument("--no-ray", action="store_true", help="only the local executor")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds of baseline, local and Ray, one after another (a shared machine's load drifts: "
                         "each overhead is against the same round's baseline; medians printed)")  # fmt: skip
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="moviola-farm-bench-"))
    cmd = ["vfx", "collapse", "--recipe", "recipe.json", "--out", "shot"] + (["--preview"] if a.preview else [])
    print(f"collapse {'preview' if a.preview else '1920x1080 x 120, all layers'} on {os.cpu_count()} cores, "
          f"--chunk {a.chunk}")  # fmt: skip
    over: dict[str, list[float]] = {"local": [], "ray": []}
    tasks: dict[str, float] = {}
    base = 0.0
    try:
        for round_ in range(1, a.repeat + 1):
            for name in ("baseline", "local", "ray"):
                shutil.rmtree(work / name, ignore_errors=True)
                (work / name).mkdir()
                for f in SKYLINE.iterdir():
                    shutil.copy(f, work / name / f.name)
            print(f"round {round_}:", flush=True)
            base = run(cmd, work / "baseline")
            print(f"  baseline (one process):      {base:7.1f} s", flush=True)
            if round_ == 1:
                realism = json.loads((work / "baseline" / "shot" / "report.json").read_text())["dust_realism"]
                print("    dust realism (edge dimension, spectrum slope): "
                      + ", ".join(f"{k} {realism[k]['edge_dimension']} / {realism[k]['spectrum_slope']}"
                                  for k in ("ours", "real", "sprites")))  # fmt: skip
            local = run(["farm", "submit", "--chunk", str(a.chunk), "--", "moviola", *cmd], work / "local")
            over["local"].append(100 * (local / base - 1))
            print(f"  farm, local executor:        {local:7.1f} s  overhead {over['local'][-1]:+.1f}%")
            tasks = task_seconds(work / "local")
            print("    tasks:", ", ".join(f"{k} {v} s" for k, v in tasks.items()))
            if not a.preview:
                print(f"    {identical(work / 'baseline' / 'shot', work / 'local' / 'shot')} EXRs identical "
                      "to the baseline", flush=True)  # fmt: skip
            if not a.no_ray:
                from ray_cluster import ray_cluster

                # the cluster is up only for its own run: its idle daemons would slow the others
                with ray_cluster(head_cpus=1) as cluster:
                    cluster.add_worker(cpus=1)
                    ray = run(["farm", "submit", "--farm", cluster.address, "--chunk", str(a.chunk), "--",
                               "moviola", *cmd], work / "ray")  # fmt: skip
                over["ray"].append(100 * (ray / base - 1))
                print(f"  farm, Ray (head + worker):   {ray:7.1f} s  overhead {over['ray'][-1]:+.1f}%")
                print("    tasks:", ", ".join(f"{k} {v} s" for k, v in task_seconds(work / "ray").items()))
                if not a.preview:
                    print(f"    {identical(work / 'baseline' / 'shot', work / 'ray' / 'shot')} EXRs identical "
                          "to the baseline", flush=True)  # fmt: skip
        for name, values in over.items():
            if values:
                print(f"overhead, {name}: median {statistics.median(values):+.1f}% over {len(values)} round(s) "
                      f"({', '.join(f'{v:+.1f}%' for v in values)})")  # fmt: skip
        ranges = [v for k, v in tasks.items() if k.startswith("frames-")]
        sim, gather = tasks.get("simulate", 0.0), tasks.get("gather", 0.0)
        frames = 48 if a.preview else 120
        # what a task pays to start beyond the one-process render's own work, shared by its tasks
        start = max(0.0, sum(ranges) + sim + gather - base) / max(1, len(ranges) + 1)
        per_frame = max(0.0, sum(ranges) - start * len(ranges)) / frames
        print(f"scaling on paper (the last round's local tasks: simulate {sim} s, {len(ranges)} range(s) "
              f"{'+'.join(str(r) for r in ranges)} s, gather {gather} s; so {per_frame:.2f} s a frame and "
              f"~{start:.1f} s to start a task; each node as this machine, one range per node):")  # fmt: skip
        for n in (1, 2, 4, 8, 16):
            t = sim + start + math.ceil(frames / n) * per_frame + gather
            print(f"  {n:2d} nodes: {t:6.1f} s  ({base / t:4.1f}x the one-process render)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
