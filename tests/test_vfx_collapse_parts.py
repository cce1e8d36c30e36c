"""A collapse rendered in parts, as a render farm runs it, is the collapse rendered in one go.

The simulation once (``--simulate-only``), frame ranges in any order (``--frame-range``),
then the plain command: the same layers, bit for bit, the same review frames and the same
realism figures; and the parts refuse what they cannot do, in one line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from moviola.core._image_io import read_exr  # noqa: E402
from moviola.vfx.collapse._simcache import CACHE_NAME  # noqa: E402

RECIPE = ROOT / "examples" / "palace" / "recipe.json"


def collapse(out: Path, *extra: str, size: str = "160x120", check: bool = True) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "moviola", "vfx", "collapse", "--recipe", str(RECIPE), "--frames", "8",
            "--out", str(out), *extra]  # fmt: skip
    if "--preview" not in extra:
        args += ["--resolution", size]
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=300)


def movie_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_parts_in_any_order_give_the_layers_of_one_render_bit_for_bit(tmp_path: Path) -> None:
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    collapse(whole)
    collapse(parts, "--simulate-only")
    assert (parts / CACHE_NAME).is_file()
    assert not (parts / "layers").exists()  # the simulation task draws nothing
    collapse(parts, "--frame-range", "1005-1008")
    collapse(parts, "--frame-range", "1001-1004")
    again = collapse(parts, "--frame-range", "1003-1006")  # a task run twice draws nothing twice
    assert "0 drawn, 4 already whole" in again.stdout
    collapse(parts)
    files = sorted(p.relative_to(whole) for p in (whole / "layers").rglob("*.exr"))
    assert files == sorted(p.relative_to(parts) for p in (parts / "layers").rglob("*.exr"))
    assert len(files) == 8 * 8
    for rel in files:
        a, b = read_exr(whole / rel), read_exr(parts / rel)
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a), rel
    w, p = (json.loads((d / "report.json").read_text()) for d in (whole, parts))
    assert p["frames_rendered"] == 0  # the last command only gathered
    a, b = movie_frames(whole / "palace_collapse_review.mp4"), movie_frames(parts / "palace_collapse_review.mp4")
    assert len(a) == len(b) == 8 and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert p["dust_realism"] == w["dust_realism"]
    assert not (parts / CACHE_NAME).exists() and not (parts / ".moviola-parts").exists()


def test_a_preview_in_parts_is_the_same_review_movie(tmp_path: Path) -> None:
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    collapse(whole, "--preview")
    collapse(parts, "--preview", "--simulate-only")
    collapse(parts, "--preview", "--frame-range", "1001-1008")
    collapse(parts, "--preview")
    a, b = movie_frames(whole / "palace_collapse_review.mp4"), movie_frames(parts / "palace_collapse_review.mp4")
    assert len(a) == len(b) == 8
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert sorted(p.name for p in parts.iterdir()) == sorted(p.name for p in whole.iterdir())


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--frame-range", "1001-1004"], 3, "--simulate-only first"),  # the folder holds no render begun
    (["--frame-range", "990-1004"], 2, "outside the shot's frames 1001-1008"),
    (["--frame-range", "1004-1001"], 2, "the first frame is after the last"),
    (["--frame-range", "ten"], 2, "not a frame range"),
    (["--simulate-only", "--frame-range", "1001-1004"], 2, "not both"),
])  # fmt: skip
def test_a_part_that_cannot_be_drawn_is_refused_and_leaves_nothing(tmp_path: Path, run_cli: Any, args: list[str],
                                                                   code: int, message: str) -> None:  # fmt: skip
    out = tmp_path / "out"
    done = run_cli("vfx", "collapse", "--recipe", RECIPE, "--frames", "8", "--resolution", "160x120", "--out", out,
                   *args)  # fmt: skip
    assert done.code == code, done.err
    assert message in " ".join(done.err.split())
    assert not out.exists()


def test_a_simulation_of_another_recipe_is_not_used(tmp_path: Path) -> None:
    out = tmp_path / "out"
    collapse(out, "--simulate-only")
    refused = collapse(out, "--frame-range", "1001-1002", "--seed", "9", check=False)
    assert refused.returncode != 0
    assert "different recipe" in " ".join(refused.stderr.split())


@pytest.mark.parametrize("plate", ["palace", "skyline"])
def test_the_stored_shot_is_the_prepared_shot_value_for_value_and_type_for_type(tmp_path: Path, plate: str) -> None:
    """What a frame task reads back (cut-out, fracture, atlas, light, water...) is what the
    simulation task prepared: equal arrays of the same dtype, equal numbers of the same type
    (a NumPy scalar mixes differently with float32 than a Python float does)."""
    from dataclasses import fields, replace

    from moviola.vfx.collapse._plate import load_plate
    from moviola.vfx.collapse._recipe import read_recipe
    from moviola.vfx.collapse._shot import prepare, run_simulation
    from moviola.vfx.collapse._simcache import load_simulation, save_simulation

    folder = ROOT / "examples" / plate
    recipe = read_recipe(folder / "recipe.json")
    recipe = replace(recipe, plate=str(folder / recipe.plate), resolution=[320, 180], frames=6).validate()
    if plate == "skyline":
        assert recipe.water_y is not None  # the bay: the water is stored too
    source = load_plate(Path(recipe.plate))
    prep = prepare(recipe, source, lambda _: None)
    simd = run_simulation(prep, lambda _: None)
    save_simulation(tmp_path / CACHE_NAME, simd, prep, "k")
    loaded = load_simulation(tmp_path / CACHE_NAME, "k")
    assert loaded is not None
    again = prepare(recipe, source, lambda _: None, known=loaded[1])

    def same(x: Any, y: Any, where: str) -> None:
        assert type(x) is type(y), (where, type(x), type(y))
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y), where
        elif isinstance(x, (list, tuple)):
            assert len(x) == len(y), where
            for i, (a, b) in enumerate(zip(x, y, strict=True)):
                same(a, b, f"{where}[{i}]")
        elif hasattr(x, "__dataclass_fields__"):
            for f in fields(x):
                same(getattr(x, f.name), getattr(y, f.name), f"{where}.{f.name}")
        else:
            assert x == y, where

    for f in fields(prep):
        if f.name not in ("recipe", "plate", "cutout"):
            same(getattr(prep, f.name), getattr(again, f.name), f.name)
