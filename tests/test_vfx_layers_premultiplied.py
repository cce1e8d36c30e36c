"""A compositor can trust the collapse's layers: premultiplied cleanly, within the lit material.

Every layer with alpha, every frame of a render: no colour where alpha is zero, and
unpremultiplied no brighter than the plate's own facade (the debris is the facade lit by
the plate's light, not fifteen times brighter; found at frame 1060 of the demo before).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("moderngl")

from moviola.core._image_io import read_exr
from moviola.vfx import CollapseRecipe, layer_path, parse_box, run_collapse

PLATE = Path(__file__).resolve().parents[1] / "examples" / "palace" / "palace_plate.jpg"


def test_every_layer_with_alpha_is_premultiplied_within_the_facade_range(tmp_path: Path) -> None:
    recipe = CollapseRecipe(plate=str(PLATE), building=[list(p) for p in parse_box("88,8,512,384").points],
                            resolution=[640, 360], frames=72, name="p")  # fmt: skip
    run_collapse(recipe, tmp_path)
    plate = read_exr(layer_path(tmp_path, "p", "comp", 1001))  # at rest the comp is the plate
    brightest = max(float(plate[c].max()) for c in "RGB")
    for frame in range(1001, 1073):
        for layer in ("debris", "dust", "dustback"):
            ch = read_exr(layer_path(tmp_path, "p", layer, frame))
            a = ch["A"]
            rgb = np.stack([ch[c] for c in "RGB"], axis=-1)
            assert not (np.abs(rgb[a <= 0]) > 0).any(), (layer, frame, "colour where alpha is zero")
            assert (rgb <= a[..., None] * (brightest + 0.01) + 2e-3).all(), (
                layer, frame, float((rgb - a[..., None] * brightest).max()))
