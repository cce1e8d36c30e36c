"""Collapse speed: the preview and the final of the demo's shot, stage by stage.

The shot is the bundled full-resolution plate (examples/skyline, 1920x1080, rendered at
its own size); ``--palace`` measures the small palace plate upscaled instead, as issue 5 did.

Targets (issue 5, on 2 CPU cores): a 1920x1080, 120-frame final collapse with
every layer in <= 3 minutes; the preview (960x540, 48 frames) in <= 20 s.
Baseline in the same process: the output floor, i.e. writing the same number
of layer EXRs (same sizes, same codecs, real pixels from the render) with
nothing rendered, so the share of the time that is only disk and compression
shows. The traditional pipeline's figures (artist hours, published) come from
the report.

    .venv/bin/python benchmarks/collapse_speed.py [--preview-only] [--palace] [--keep DIR]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from moviola.core._image_io import read_exr  # noqa: E402
from moviola.vfx import LAYERS, CollapseRecipe, parse_box, preview_of, run_collapse  # noqa: E402
from moviola.vfx.collapse._layers import layer_path, write_layer  # noqa: E402

PALACE = ROOT / "examples" / "palace" / "palace_plate.jpg"
SKYLINE = ROOT / "examples" / "skyline" / "recipe.json"
NAME = "shot"
PLATE = PALACE if "--palace" in sys.argv else ROOT / "examples" / "skyline" / "marina_bay_plate.jpg"


def _recipe(**changes: Any) -> CollapseRecipe:
    if "--palace" in sys.argv:
        box = parse_box("88,8,512,384")
        return CollapseRecipe(plate=str(PALACE), building=[list(p) for p in box.points], name=NAME,
                              **changes)  # fmt: skip
    import dataclasses

    from moviola.vfx.collapse._recipe import read_recipe

    return dataclasses.replace(read_recipe(SKYLINE), name=NAME, **changes)


def _print(title: str, report: dict[str, Any]) -> None:
    w, h = report["resolution"]
    print(f"\n{title}: {report['frames']} frames at {w}x{h} in {report['wall_s']:.1f} s "
          f"({report['wall_s'] / report['frames']:.2f} s a frame)")  # fmt: skip
    for stage, seconds in report["stages"].items():
        print(f"  {stage:<14} {seconds:8.2f} s")
    cost = report["cost"]
    print(f"  CPU {cost['cpu_s']:.0f} s = {cost['cpu_hours']:.4f} CPU-hours, ${cost['cost_usd']:.4f} "
          f"at ${cost['price_per_vcpu_hour_usd']:.4f}/vCPU-hour")  # fmt: skip


def _output_floor(out: Path, frames: int, signed: bool = False) -> float:
    """Write the render's own layers again (frame 1060's pixels) as many times as it wrote them
    (``signed``: each with its Content Credentials sidecar, as the render writes them)."""
    frame = 1001 + min(frames - 1, 59)
    data = {}
    for layer in LAYERS:
        ch = read_exr(layer_path(out, NAME, layer, frame))
        if layer == "mattes":
            data[layer] = {k: v.astype("float16") for k, v in ch.items()}
        else:
            names = "RGBA" if "A" in ch else "RGB"
            import numpy as np

            data[layer] = {names: np.stack([ch[c] for c in names], axis=-1).astype("float16")}
    scratch = Path(tempfile.mkdtemp(prefix="moviola-floor-"))
    from concurrent.futures import ThreadPoolExecutor

    stamp = None
    if signed:
        from moviola.provenance import Claim, Ingredient, Stamp, credentials_for

        stamp = Stamp(credentials_for(None), Claim("benchmark", command="benchmark",
                                                   parent=Ingredient(PLATE, "plate", "parentOf")))  # fmt: skip
    t = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:  # the render writes on two worker threads too
        jobs = [pool.submit(write_layer, scratch, NAME, layer, 1001 + i, data[layer], 24.0, {}, stamp=stamp)
                for i in range(frames) for layer in LAYERS]  # fmt: skip
        for j in jobs:
            j.result()
    seconds = time.perf_counter() - t
    shutil.rmtree(scratch)
    return seconds


def main() -> None:
    keep = None
    if "--keep" in sys.argv:
        keep = Path(sys.argv[sys.argv.index("--keep") + 1])
    print(f"machine: {os.cpu_count()} cores")
    base = Path(tempfile.mkdtemp(prefix="moviola-collapse-bench-"))
    try:
        preview = preview_of(_recipe(resolution=[960, 540]), (1920, 1080))
        report = run_collapse(preview, base / "preview")
        _print("Preview (target <= 20 s)", report)
        print(f"  renderer: {report['renderer']}")
        if "--preview-only" in sys.argv:
            return
        final = _recipe(resolution=[1920, 1080], frames=120)
        report = run_collapse(final, base / "final")
        _print("Final with every layer (target <= 180 s)", report)
        sizes = sum(p.stat().st_size for p in (base / "final" / "layers").rglob("*.exr"))
        sequences = sum(1 for p in (base / "final" / "layers").iterdir() if p.is_dir())
        print(f"  layers on disk: {sizes / 1e9:.2f} GB ({sequences} sequences)")
        floor = _output_floor(base / "final", 120)
        print(f"\nBaseline, same process: writing the same {120 * len(LAYERS)} layer EXRs with nothing "
              f"rendered takes {floor:.1f} s ({100 * floor / report['wall_s']:.0f}% of the final)")  # fmt: skip
        signed = _output_floor(base / "final", 120, signed=True)
        print(f"  the same, each signed (a .c2pa sidecar, as the render writes them): {signed:.1f} s; "
              f"Content Credentials cost {signed - floor:.1f} s of the final's {report['wall_s']:.0f} s")  # fmt: skip
        trad = report["cost"]["traditional"]
        lo, hi = trad["artist_hours"]
        print(f"Traditional pipeline (published estimate): {lo:g}-{hi:g} artist hours for such a shot; "
              f"this render: {report['wall_s'] / 60:.1f} min of machine time "
              f"({trad['times_faster_than_low']:.0f}-{trad['times_faster_than_high']:.0f}x less wall time)")  # fmt: skip
        if keep is not None:
            shutil.copytree(base / "final", keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
