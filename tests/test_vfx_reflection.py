"""Water under the building reflects the shot: the tower's reflection goes as the tower falls.

On the bundled skyline (Marina Bay at dusk, the towers mirrored in the bay), with the
waterline given (`water_y`), a `reflection` layer carries what the water shows of our
changes: nothing at rest, the fallen tower's reflection taken away, and the comp is
still exactly the layers recombined.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("moderngl")

from moviola.core import InputError
from moviola.core._image_io import read_exr
from moviola.vfx import layer_path, run_collapse
from moviola.vfx.collapse._comp import comp_from_layers, estimate_water
from moviola.vfx.collapse._recipe import read_recipe

RECIPE = Path(__file__).resolve().parents[1] / "examples" / "skyline" / "recipe.json"


def _rgb(path: Path) -> np.ndarray:
    ch = read_exr(path)
    return np.stack([ch[c] for c in ("R", "G", "B", "A") if c in ch], axis=-1).astype(np.float32)


@pytest.fixture(scope="module")
def render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reflection")
    recipe = dataclasses.replace(read_recipe(RECIPE), resolution=[480, 272], frames=30, fps=8.0,
                                 name="bay", shake=0.0)  # fmt: skip
    assert recipe.water_y is not None
    run_collapse(recipe, out)
    return out


def test_at_rest_the_water_shows_nothing_new(render: Path) -> None:
    refl = _rgb(layer_path(render, "bay", "reflection", 1001))
    assert np.abs(refl).max() < 1e-3


def test_the_fallen_towers_reflection_goes_with_it(render: Path) -> None:
    refl = _rgb(layer_path(render, "bay", "reflection", 1030))
    wy = round(632 * 272 / 1080)
    assert np.abs(refl[: wy - 1]).max() == 0.0  # nothing above the waterline
    # under the tower (x 1415-1535 of 1920), its lit reflection is taken away
    below_tower = refl[wy + 2 : wy + 40, round(1415 / 4) : round(1535 / 4)]
    assert below_tower.mean() < -0.005, below_tower.mean()
    # far from it the water is as it was
    assert np.abs(refl[wy:, :120]).max() < 0.01


@pytest.mark.parametrize("frame", [1001, 1030])
def test_layers_with_the_reflection_recombine_to_the_comp_exactly(render: Path, frame: int) -> None:
    layer = {n: _rgb(layer_path(render, "bay", n, frame))
             for n in ("cleanplate", "dustback", "debris", "dust", "lightwrap", "grain", "reflection", "comp")}  # fmt: skip
    rebuilt = comp_from_layers(layer["cleanplate"], layer["dustback"], layer["debris"], layer["dust"],
                               layer["lightwrap"], layer["grain"], layer["reflection"]).astype(np.float16)  # fmt: skip
    assert np.array_equal(rebuilt.astype(np.float32), layer["comp"][..., :3])


def test_the_waters_reflectance_is_measured_from_the_plate() -> None:
    rng = np.random.default_rng(3)
    scene = rng.uniform(0.1, 0.9, (60, 80, 3)).astype(np.float32)
    picture = np.concatenate([scene, scene[::-1] * np.float32(0.5)], axis=0)  # a still mirror, half as bright
    water = estimate_water(picture, 60)
    assert water.y == 60
    gains = np.asarray(water.gain)
    assert np.all(np.abs(gains[:2] - 0.5) < 0.15), gains


def test_a_waterline_off_the_plate_is_refused(tmp_path: Path) -> None:
    recipe = read_recipe(RECIPE)
    with pytest.raises(InputError, match="water_y"):
        dataclasses.replace(recipe, water_y=-3.0).validate()
    with pytest.raises(InputError, match="water line"):
        run_collapse(dataclasses.replace(recipe, water_y=5000.0, resolution=[480, 272], frames=4), tmp_path / "x")
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())
