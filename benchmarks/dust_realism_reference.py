"""Dust realism, reference figures: real plumes against synthetic sprites.

Measures the edge dimension and the spectrum slope (``moviola.vfx.collapse._realism``)
on the public-domain photographs in ``examples/reference-dust/`` and on a synthetic
"sprites" baseline (a few dozen soft round Gaussian puffs composited by over),
prints both, and writes ``src/moviola/vfx/collapse/data/dust_reference.json`` for
the collapse report's "ours vs real" lines.

Each photograph is measured on a fixed crop. A ``plume`` crop holds plume and an
even sky, and its density comes from ``reference_alpha``; a ``texture`` crop lies
wholly inside smoke, its density is the lightness, and only its spectrum counts.

    .venv/bin/python benchmarks/dust_realism_reference.py [--no-write]
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from moviola.vfx.collapse._realism import (  # noqa: E402
    MIN_WAVELENGTH_PX,
    WORK_SIZE,
    dust_realism,
    reference_alpha,
    sprite_frame,
    texture_density,
)

IMAGES = ROOT / "examples" / "reference-dust"
OUT = ROOT / "src" / "moviola" / "vfx" / "collapse" / "data" / "dust_reference.json"
SCHEMA = "moviola.vfx.dust_reference/1"

#: name, file, kind, crop (x0, y0, x1, y1), sky box inside the crop, source line.
REFERENCES: list[dict[str, Any]] = [
    {
        "name": "Space Shuttle launch exhaust cloud",
        "file": "shuttle_launch_nasa.jpg",
        "kind": "plume",
        "crop": [510, 0, 845, 500],
        "sky_box": [5, 60, 45, 200],
        "source": "NASA, public domain (via bcrowell/lm)",
    },
    {
        "name": "Mount St. Helens ash column, 18 May 1980",
        "file": "mount_st_helens_1980_usgs.jpg",
        "kind": "texture",
        "crop": [100, 0, 280, 220],
        "sky_box": None,
        "source": "Austin Post, USGS, public domain (via bcrowell/lm)",
    },
    {
        "name": "Funny River Fire smoke, Alaska",
        "file": "funny_river_fire_usfs.jpg",
        "kind": "texture",
        "crop": [0, 0, 1024, 360],
        "sky_box": None,
        "source": "US Forest Service, public domain (via WRF-Chem-Polar/wrf-chem-polar.github.io)",
    },
]

SPRITE_PUFFS = 40
SPRITE_FRAMES = 5
SPRITE_SIZE = 512


def density_of(ref: dict[str, Any], images: Path = IMAGES) -> np.ndarray:
    """The density field that the reference's figures are measured on."""
    bgr = cv2.imread(str(images / ref["file"]), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(images / ref["file"])
    x0, y0, x1, y1 = ref["crop"]
    rgb = np.ascontiguousarray(bgr[y0:y1, x0:x1, ::-1])
    if ref["kind"] == "plume":
        return reference_alpha(rgb, tuple(ref["sky_box"]))
    return texture_density(rgb)


def measure_reference(ref: dict[str, Any], images: Path = IMAGES) -> dict[str, float | None]:
    """Edge dimension (plume crops only) and spectrum slope of one reference."""
    figures = dust_realism(density_of(ref, images))
    # a texture crop's iso-contours are shading, not the plume's edge
    edge = figures["edge_dimension"] if ref["kind"] == "plume" else math.nan
    return {"edge_dimension": _num(edge), "spectrum_slope": _num(figures["spectrum_slope"])}


def measure_sprites() -> dict[str, Any]:
    frames = [sprite_frame(seed, SPRITE_SIZE, SPRITE_PUFFS) for seed in range(SPRITE_FRAMES)]
    figures = dust_realism(frames)
    return {
        "puffs": SPRITE_PUFFS,
        "frames": SPRITE_FRAMES,
        "size": SPRITE_SIZE,
        "edge_dimension": _num(figures["edge_dimension"]),
        "spectrum_slope": _num(figures["spectrum_slope"]),
    }


def build() -> dict[str, Any]:
    images = []
    for ref in REFERENCES:
        images.append({**ref, **measure_reference(ref)})
    edges = [i["edge_dimension"] for i in images if i["edge_dimension"] is not None]
    slopes = [i["spectrum_slope"] for i in images if i["spectrum_slope"] is not None]
    return {
        "schema": SCHEMA,
        "method": {
            "edge": "box-counting dimension of the alpha == 0.5 contour; dyadic boxes "
            "from 2 px to 1/8 of the contour's extent; frames cropped to content and "
            f"shrunk to at most {WORK_SIZE} px",
            "spectrum": "slope of log P vs log k of the Hann-windowed, ring-averaged power "
            f"spectrum, for wavelengths from 1/4 of the shorter side to {MIN_WAVELENGTH_PX:g} px",
            "plume": "density = CIELAB distance from the sky box's colour, 0 at the sky's "
            "spread, 1 at the plume's median contrast (reference_alpha)",
            "texture": "density = CIELAB lightness of a crop wholly inside smoke; spectrum only",
        },
        "images": images,
        "median": {
            "edge_dimension": float(np.median(edges)) if edges else None,
            "spectrum_slope": float(np.median(slopes)) if slopes else None,
            "edge_images": len(edges),
            "spectrum_images": len(slopes),
        },
        "sprites": measure_sprites(),
    }


def _num(value: object) -> float | None:
    v = float(value)  # type: ignore[arg-type]
    return round(v, 4) if math.isfinite(v) else None


def _fmt(v: float | None) -> str:
    return "   n/a" if v is None else f"{v:6.3f}"


def main(argv: list[str]) -> int:
    data = build()
    print(f"{'reference':44s} {'kind':8s} {'edge D':>7s} {'slope':>7s}")
    rows = [
        (i["name"][:44], i["kind"], i["edge_dimension"], i["spectrum_slope"])
        for i in data["images"]
    ]
    m, s = data["median"], data["sprites"]
    rows.append(("real (median)", "", m["edge_dimension"], m["spectrum_slope"]))
    sprites = f"sprites ({s['puffs']} puffs, {s['frames']} frames)"
    rows.append((sprites, "", s["edge_dimension"], s["spectrum_slope"]))
    for name, kind, edge, slope in rows:
        print(f"{name:44s} {kind:8s} {_fmt(edge)} {_fmt(slope)}")
    if "--no-write" not in argv:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps(data, indent=2) + "\n")
        print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
