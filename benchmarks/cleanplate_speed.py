"""Matte and clean-plate speed on the Singapore plate, at the preview's and the final's size.

The shot is the demo's: the floodlit tower of the Marina Bay plate, boxed as in
``examples/skyline/recipe.json``. It is matted (``building_matte``), and filled twice
as the shot does: the grown hole, then only under the matte (the second call starts
from the first). Then the same with the building's glow (``building_glow``: the glow
fitted, beacons found; the hole grown into them, the glow taken off the plate before
the fill). A second case is a tower-shaped hole over 15% of the frame, the size the
speed targets are set for.

Targets (on 2 CPU cores): the matte <= 3 s at 1920x1080; a clean plate <= 12 s a
call at 1920x1080 with a 15% hole, <= 3 s at 960x540. Baseline in the same process:
the old fill (a plane for a sky plus push-pull, a smooth blur), which the patch-based
fill replaced; it is much faster and useless where the building hid a city.

The plate is ``/work/shared/data/plates/singapore_skyline_dusk_budgie.jpg`` (3840x2160),
else the bundled ``examples/skyline/marina_bay_plate.jpg``, else the test crop
``tests/data/plates/singapore_lit_tower.jpg`` stretched to each size.

    .venv/bin/python benchmarks/cleanplate_speed.py
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from moviola.core._colour import SRGB, to_working, working_to_srgb8  # noqa: E402
from moviola.vfx.collapse import _cleanplate  # noqa: E402
from moviola.vfx.collapse._cleanplate import (  # noqa: E402
    _push_pull_fill,
    building_glow,
    clean_plate,
    hole_mask,
)
from moviola.vfx.collapse._matte import building_matte, parse_box  # noqa: E402

F32 = NDArray[np.float32]
SHARED = Path("/work/shared/data/plates/singapore_skyline_dusk_budgie.jpg")
BUNDLED = ROOT / "examples" / "skyline" / "marina_bay_plate.jpg"
CROP = ROOT / "tests" / "data" / "plates" / "singapore_lit_tower.jpg"
BOX = (1415.0, 195.0, 1535.0, 610.0)  # the demo's box on the 1920x1080 plate
CROP_BOX = (220.0, 100.0, 365.0, 530.0)  # the same tower in the test crop
SIZES = ((960, 540), (1920, 1080))


def plate_at(width: int, height: int) -> tuple[NDArray[np.uint8], tuple[float, ...], str]:
    """The plate as 8-bit RGB at ``width`` x ``height`` and the demo's box scaled to it."""
    path = next((p for p in (SHARED, BUNDLED) if p.is_file()), CROP)
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    box = CROP_BOX if path == CROP else BOX
    sx = width / (bgr.shape[1] if path == CROP else 1920)
    sy = height / (bgr.shape[0] if path == CROP else 1080)
    rgb = cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA)[..., ::-1]
    return np.ascontiguousarray(rgb), (box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy), path.name


def timed(fn: Callable[[], F32]) -> tuple[F32, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def tower_hole(width: int, height: int) -> F32:
    """A tower-shaped hole over 15% of the frame: a fifth of its width, three quarters high."""
    hole = np.zeros((height, width), np.float32)
    x0, y0 = round(0.62 * width), round(0.08 * height)
    hole[y0 : y0 + round(0.75 * height), x0 : x0 + round(0.2 * width)] = 1.0
    return hole


def run(width: int, height: int) -> None:
    rgb, box, name = plate_at(width, height)
    image = to_working(rgb.astype(np.float32) / 255.0, SRGB)
    display = working_to_srgb8(image)
    region = parse_box(",".join(f"{v:.0f}" for v in box))
    matte, t_matte = timed(lambda: building_matte(display, region))
    hole = hole_mask(matte)
    tight = cv2.dilate((matte > 0).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)
    print(f"\n{width}x{height} ({name}, box {region.as_list()[0]}-{region.as_list()[2]})")
    print(f"  matte                         {t_matte:6.2f} s   (matte {100 * float((matte > 0.5).mean()):.1f}% "
          f"of the frame, {100 * float((matte > 0.5).sum()) / region.area():.0f}% of the box)")  # fmt: skip
    _cleanplate._LAST.clear()
    _, t_first = timed(lambda: clean_plate(image, hole))
    _, t_second = timed(lambda: clean_plate(image, tight))
    _, t_old1 = timed(lambda: _push_pull_fill(image, hole))
    _, t_old2 = timed(lambda: _push_pull_fill(image, tight))
    print(f"  clean plate, demo tower       {t_first:6.2f} s + {t_second:5.2f} s (second call)"
          f"   old push-pull {t_old1:5.2f} s + {t_old2:5.2f} s   hole {100 * float(hole.mean()):.1f}%")  # fmt: skip
    glow, t_glow = timed(lambda: building_glow(image, matte))
    lit = hole_mask(matte, glow=glow)
    tight_lit = np.maximum(tight, glow.hole.astype(np.float32))
    _cleanplate._LAST.clear()
    _, t_lit1 = timed(lambda: clean_plate(image, lit, glow=glow))
    _, t_lit2 = timed(lambda: clean_plate(image, tight_lit, glow=glow))
    print(f"  ... with the glow             {t_glow:6.2f} s glow + {t_lit1:5.2f} s + {t_lit2:5.2f} s (second call)"
          f"   hole {100 * float(lit.mean()):.1f}%, glow strength {[round(a, 3) for a in glow.strength]}")  # fmt: skip
    big = tower_hole(width, height)
    _cleanplate._LAST.clear()
    _, t_big = timed(lambda: clean_plate(image, big))
    inner = cv2.erode(big, np.ones((9, 9), np.uint8))
    _, t_big2 = timed(lambda: clean_plate(image, inner))
    _, t_big_old = timed(lambda: _push_pull_fill(image, big))
    print(f"  clean plate, 15% tower hole   {t_big:6.2f} s + {t_big2:5.2f} s (second call)"
          f"   old push-pull {t_big_old:5.2f} s")  # fmt: skip


def main() -> None:
    import os

    print(f"cleanplate_speed: {os.cpu_count()} CPU cores")
    for width, height in SIZES:
        run(width, height)


if __name__ == "__main__":
    main()
