"""The collapse's dust is a simulated fluid: deterministic, mass-keeping, born only at its sources.

The air is run by the real pipeline on the bundled palace plate (its fracture, its
physics, its events); the checks read the solver's own bookkeeping and its grids.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from moviola.vfx import CollapseRecipe, parse_box
from moviola.vfx.collapse._dustshade import shade_dust
from moviola.vfx.collapse._fluid import FluidSettings, detail_noise, simulate_dust
from moviola.vfx.collapse._plate import load_plate
from moviola.vfx.collapse._realism import dust_realism
from moviola.vfx.collapse._shot import Prepared, Simulated, prepare, run_simulation

PLATE = Path(__file__).resolve().parents[1] / "examples" / "palace" / "palace_plate.jpg"
REFERENCE = Path(__file__).resolve().parents[1] / "src/moviola/vfx/collapse/data/dust_reference.json"


@pytest.fixture(scope="module")
def shot() -> tuple[Prepared, Simulated]:
    recipe = CollapseRecipe(plate=str(PLATE), building=[list(p) for p in parse_box("88,8,512,384").points],
                            resolution=[480, 270], frames=60, name="fluid")  # fmt: skip
    prep = prepare(recipe, load_plate(PLATE), lambda _: None)
    return prep, run_simulation(prep, lambda _: None)


def _settings(prep: Prepared, **change: object) -> FluidSettings:
    r = prep.recipe
    s = FluidSettings(width=prep.size[0], height=prep.size[1], px_per_m=prep.px_per_m,
                      ground_y=prep.ground_y, fps=r.fps, frames=r.frames, seed=r.seed)  # fmt: skip
    return dataclasses.replace(s, **change)  # type: ignore[arg-type]


def _radius(prep: Prepared) -> np.ndarray:
    return np.array([math.sqrt(max(s.area, 1.0) / math.pi) for s in prep.fracture.shards], np.float32)


def test_the_same_seed_gives_the_same_air_bit_for_bit(shot: tuple[Prepared, Simulated]) -> None:
    prep, simd = shot
    again = simulate_dust(simd.sim, _settings(prep), prep.fracture.labels, _radius(prep),
                          simd.particles.landings)  # fmt: skip
    assert np.array_equal(again.density, simd.dust.density)
    assert np.array_equal(again.offsets, simd.dust.offsets)
    other = simulate_dust(simd.sim, _settings(prep, seed=prep.recipe.seed + 1), prep.fracture.labels,
                          _radius(prep), simd.particles.landings)  # fmt: skip
    assert not np.array_equal(other.density, simd.dust.density)


def test_dust_neither_appears_from_nowhere_nor_vanishes_between_frames(
    shot: tuple[Prepared, Simulated],
) -> None:
    vol = shot[1].dust
    total = vol.mass.sum(axis=1).astype(np.float64)
    assert total[-1] > 0, "a collapse raises dust"
    for f in range(1, len(total)):
        # what there is = what there was + what the sources put in - what left or settled
        expected = vol.mass[f - 1] + vol.added[f] - vol.lost[f]
        assert np.allclose(vol.mass[f], expected, rtol=2e-3, atol=1e-2), f
        # nothing goes in one frame: what leaves is the box's sides and a slow settling
        assert vol.lost[f].sum() <= 0.05 * (total[f - 1] + vol.added[f].sum()) + 1e-6, f
        assert (vol.added[f] >= 0).all()
    # no source, no dust: before the first event there is none
    first_event = min(e.t for e in shot[1].sim.events)
    before = int(first_event * shot[0].recipe.fps)
    assert total[: max(before, 1)].max() == 0.0


def test_dust_is_born_where_the_building_breaks(shot: tuple[Prepared, Simulated]) -> None:
    prep, simd = shot
    vol = simd.dust
    f = int(np.flatnonzero(vol.mass.sum(axis=1) > 0)[0]) + 2
    dens = vol.density[f].astype(np.float32).sum(axis=0)
    rows, cols = np.nonzero(dens > 0.05 * dens.max())
    g = vol.grid
    xs = g.origin[0] + (cols + 0.5) * g.cell
    ys = g.origin[1] + (rows + 0.5) * g.cell
    ev = np.array([(e.x, e.y) for e in simd.sim.events if e.t <= (f + 1) / prep.recipe.fps])
    nearest = np.sqrt(((xs[:, None] - ev[None, :, 0]) ** 2 + (ys[:, None] - ev[None, :, 1]) ** 2).min(axis=1))
    # within a few metres of an event (its puff, its jet, two frames of flight)
    assert np.percentile(nearest, 95) < 12.0 * prep.px_per_m + 6 * g.cell


def test_the_building_still_standing_holds_the_air_back(shot: tuple[Prepared, Simulated]) -> None:
    prep, simd = shot
    # the same shot with nothing standing (every shard loose from the start) moves its dust
    # differently: the obstacle is part of the solve
    sim = dataclasses.replace(simd.sim, detach=np.zeros_like(simd.sim.detach))
    loose = simulate_dust(sim, _settings(prep), prep.fracture.labels, _radius(prep), simd.particles.landings)
    assert not np.array_equal(loose.density, simd.dust.density)


def test_drawn_dust_is_premultiplied_and_frays_like_smoke_not_sprites(
    shot: tuple[Prepared, Simulated],
) -> None:
    prep, simd = shot
    vol = simd.dust
    f = int(np.argmax(vol.mass.sum(axis=1)))
    view = np.eye(3, dtype=np.float32)
    back, front = shade_dust(vol, f, view, prep.size, prep.dust_look(), detail_noise(prep.recipe.seed))
    for layer in (back, front):
        a = layer[..., 3].astype(np.float32)
        rgb = layer[..., :3].astype(np.float32)
        assert not (rgb[a <= 0] > 0).any()
        assert (rgb <= a[..., None] * prep.dust_look().ceiling + 1e-3).all()
    alpha = 1 - (1 - back[..., 3].astype(np.float32)) * (1 - front[..., 3].astype(np.float32))
    assert alpha.max() > 0.5
    ours = dust_realism(alpha)
    sprites = json.loads(REFERENCE.read_text())["sprites"]["spectrum_slope"]
    # sprites' power falls off a cliff at fine scales (about k^-9); a turbulent cloud's does not
    assert ours["spectrum_slope"] > sprites + 2.5, ours
