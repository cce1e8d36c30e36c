"""Setting up a collapse shot: from recipe and plate to everything the frames need.

Stages (each timed by the caller): fit the plate to the output, find the
building's matte, make the clean plate, fracture, simulate, and run the dust.
Nothing here writes files; the frames and outputs are the caller's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from ...core import InputError
from ...core._colour import SRGB, convert, working_to_srgb8
from ._cleanplate import building_glow, clean_plate, hole_mask, light_matte
from ._comp import (
    PlateLight,
    Water,
    estimate_light,
    estimate_water,
    overscan_for,
    plate_noise,
    shake_offsets,
)
from ._dustshade import DustLook
from ._fluid import DustVolume, FluidSettings, simulate_dust
from ._fracture import Fracture, fracture
from ._matte import Region, building_matte, check_region, clip_region
from ._particles import ParticleFrames, ParticleSettings, simulate_particles
from ._plate import Fit, Plate, apply_fit, fit_plate, load_plate
from ._recipe import CollapseRecipe, fitted_size, size_problem
from ._render import ShardAtlas, build_atlas
from ._simulate import SimResult, SimSettings, simulate

F32 = NDArray[np.float32]
SIM_RATE = 192.0  # physics steps a second, preview and final alike (8 a frame at 24 fps)
Tick = Callable[[str], None]


@dataclass
class Prepared:
    recipe: CollapseRecipe
    plate: Plate
    fit: Fit
    size: tuple[int, int]
    image: F32  # the plate at output size (ACEScg), at the collapse's start
    matte: F32
    hole: F32
    fill: F32  # the clean plate at output size (for a still; a video blends per frame)
    fracture: Fracture
    atlas: ShardAtlas
    light: PlateLight
    noise: F32
    grain_px: float
    px_per_m: float
    ground_y: float
    failure: tuple[float, float]
    face_colour: tuple[float, float, float]
    dust_albedo: F32
    water: Water | None = None  # water below the building that reflects the shot
    glow: F32 | None = None  # a lit tower's halo outside its matte (plate less clean plate), else None
    cutout: Cutout | None = None  # the matte and clean plate as first made (what a farm's tasks share)

    def dust_look(self) -> DustLook:
        """The plate's light on the building's dust, and the brightest the lit dust can be."""
        sun = np.asarray(self.light.sun, np.float32) / 0.6  # the facade's lit stone is ~0.6 albedo
        sky = np.asarray(self.light.sky, np.float32)
        ceiling = float((self.dust_albedo * (sun + 0.7 * sky)).max()) * 1.35
        return DustLook(tuple(float(x) for x in sun), tuple(float(x) for x in sky),  # type: ignore[arg-type]
                        tuple(float(x) for x in self.dust_albedo), self.light.direction, ceiling)  # type: ignore[arg-type]  # fmt: skip


@dataclass
class Simulated:
    sim: SimResult
    particles: ParticleFrames
    dust: DustVolume
    shake: F32  # (frames, 3) dx, dy, roll
    overscan: float


def output_size(recipe: CollapseRecipe, plate: Plate) -> tuple[int, int]:
    """The recipe's resolution, or the plate's own size (to a multiple of 4), which is refused
    past the limit of a collapse render with the largest size that fits suggested."""
    if recipe.resolution:
        return int(recipe.resolution[0]), int(recipe.resolution[1])
    w, h = plate.width - plate.width % 4, plate.height - plate.height % 4
    if (why := size_problem(w, h)) is not None:
        fw, fh = fitted_size(w, h)
        raise InputError(f"the output is the plate's own size, {w}x{h}, unless a resolution is given, and that "
                         f"{why}; pass --resolution {fw}x{fh} (the plate's aspect within the limit)",
                         plate.path)  # fmt: skip
    return w, h


def _fitted_region(region: Region, fit: Fit) -> Region:
    return Region(tuple(fit.point(x, y) for x, y in region.points), region.source)


def prepare(
    recipe: CollapseRecipe, plate: Plate, tick: Tick, *, clean_plate_path: Path | None = None,
    known: Cutout | None = None,
) -> Prepared:
    """Everything up to the simulation: matte, clean plate, fracture, light, grain
    (``known``: the matte and clean plate already made for this recipe, see :class:`Cutout`)."""
    region = check_region(Region(tuple((float(x), float(y)) for x, y in recipe.building),
                                 recipe.building_source), plate.width, plate.height)  # fmt: skip
    w, h = output_size(recipe, plate)
    _, top, _, _ = region.bounds
    fit = fit_plate(plate.width, plate.height, w, h, keep_top=top)
    image = apply_fit(plate.frame_at(recipe.start_s()), fit)
    inside = clip_region(_fitted_region(region, fit), w, h)
    tick("load")
    if known is None:
        known = _matte_and_fill(recipe, plate, fit, image, inside, clean_plate_path, tick)
    matte, hole, fill, glow_light = known.matte, known.hole, known.fill, known.glow
    tick("clean_plate")
    if known.made is not None:  # a farm task: the rest was made by the simulation task, exactly
        m = known.made
        return Prepared(recipe, plate, fit, (w, h), image, matte, hole, m.fill, m.fracture, m.atlas, m.light,
                        m.noise, max(1.0, fit.scale), m.px_per_m, m.ground_y, m.failure, m.face_colour,
                        m.dust_albedo, m.water, glow_light, known)  # fmt: skip
    ys, xs = np.nonzero(matte > 0.5)
    if len(ys) == 0:
        raise InputError("the building matte is empty after fitting the plate to the output")
    top_y, foot_y = float(ys.min()), float(ys.max())
    if recipe.ground_y is not None:
        ground = fit.point(0.0, recipe.ground_y)[1]
    elif foot_y >= h - 2:  # the foot is off-frame: the ground is just below the frame
        ground = h + 0.04 * h
    else:
        ground = foot_y + 1.0
    px_per_m = max(ground - top_y, 8.0) / recipe.height_m
    failure = _failure_point(recipe, fit, matte, xs, ys, ground, top_y)
    area_frac = float(matte.sum()) / (w * h)
    base = 240.0  # the preview fractures like the final: what you preview is what you get
    count = int(
        np.clip(
            round(base / max(recipe.debris_size, 0.1) ** 2 * math.sqrt(area_frac / 0.35)), 24, 900
        )
    )
    rng = np.random.default_rng(recipe.seed)
    frac = fracture(image, matte, count=count, failure=failure, rng=rng, ground_y=ground)
    foreground, fill = unmix_facade(image, matte, fill)
    atlas = build_atlas(frac, foreground, matte)
    tick("fracture")
    light = estimate_light(image, matte, hole)
    noise = plate_noise(apply_fit(plate.frame(0), fit) if fit.scale <= 1 else plate.frame(0))
    building = image[matte > 0.5].mean(axis=0)
    grey = np.full(3, float(building.mean()), np.float32)
    face = (0.55 * (0.6 * grey + 0.4 * building)).astype(np.float32)
    if recipe.dust_colour is not None:
        albedo = convert(np.array([[recipe.dust_colour]], np.float32), SRGB, "ACEScg")[0, 0]
    else:  # concrete and plaster dust: the building's hue, mostly greyed, fairly bright
        albedo = 0.65 * grey + 0.35 * building
        albedo = albedo * (0.5 / max(float(albedo.mean()), 1e-4))
    water = None
    if recipe.water_y is not None:
        if recipe.water_y >= plate.height:
            raise InputError(f"the water line y={recipe.water_y:g} is below the plate ({plate.height} px high)",
                             plate.path)  # fmt: skip
        wy = round(fit.point(0.0, recipe.water_y)[1])
        if not 0 < wy < h:
            raise InputError(f"the water line y={recipe.water_y:g} falls outside the output frame once the "
                             "plate is fitted to it", plate.path)  # fmt: skip
        water = estimate_water(image, wy)
    return Prepared(recipe, plate, fit, (w, h), image, matte, hole, fill, frac, atlas, light, noise,
                    max(1.0, fit.scale), px_per_m, ground, failure,
                    tuple(float(v) for v in face), np.asarray(albedo, np.float32), water, glow_light, known)  # type: ignore[arg-type]  # fmt: skip


@dataclass
class Made:
    """What :func:`prepare` makes from the cut-out: the facade unmixed from the clean plate, the
    fracture and its atlas, the plate's light and noise, the scale and the water."""

    fill: F32  # the clean plate with the facade's edge unmixed
    fracture: Fracture
    atlas: ShardAtlas
    light: PlateLight
    noise: F32
    px_per_m: float
    ground_y: float
    failure: tuple[float, float]
    face_colour: tuple[float, float, float]
    dust_albedo: F32
    water: Water | None

    @classmethod
    def of(cls, prep: Prepared) -> Made:
        return cls(prep.fill, prep.fracture, prep.atlas, prep.light, prep.noise, prep.px_per_m, prep.ground_y,
                   prep.failure, prep.face_colour, prep.dust_albedo, prep.water)  # fmt: skip


@dataclass
class Cutout:
    """The building cut out of the plate: its matte, the hole to fill, the clean plate and a lit
    tower's glow outside the matte; and, read back from a farm's simulation file, what
    :func:`prepare` made from them, so that every frame task starts from the same pixels, at once."""

    matte: F32
    hole: F32
    fill: F32
    glow: F32 | None
    made: Made | None = None


def _matte_and_fill(recipe: CollapseRecipe, plate: Plate, fit: Fit, image: F32, inside: Region,
                    clean_plate_path: Path | None, tick: Tick) -> Cutout:  # fmt: skip
    display = working_to_srgb8(image)
    matte = building_matte(display, inside, refine=recipe.refine,
                           polygon=recipe.building_source != "box")  # fmt: skip
    tick("matte")
    glow = building_glow(image, matte)  # a lit tower's halo and beacons (none by day)
    hole = hole_mask(matte, glow=glow)
    glow_light: F32 | None = None
    if clean_plate_path is not None:
        user = load_plate(clean_plate_path, colourspace=recipe.plate_colourspace)
        if (user.width, user.height) != (plate.width, plate.height):
            raise InputError(f"the clean plate is {user.width}x{user.height}, the plate "
                             f"{plate.width}x{plate.height}; they must match", clean_plate_path)  # fmt: skip
        fill = apply_fit(user.frame(0), fit)
    else:
        fill = clean_plate(image, hole, glow=glow)
        matte = _consistent_matte(image, fill, matte, hole_mask(matte))  # the glow band is no facade
        matte = light_matte(image, fill, matte, glow)  # the beacons fall with the tower
        # fill again from everything the (now complete) matte leaves out, so the fill meets
        # the sky right at the building's edge and no seam traces its outline once it is gone;
        # where no building is, the plate itself is the clean plate, less the tower's glow
        solid = (matte > 0).astype(np.uint8)
        tight = np.maximum(cv2.dilate(solid, np.ones((3, 3), np.uint8)).astype(np.float32),
                           glow.hole.astype(np.float32))  # fmt: skip
        fill = clean_plate(image, tight, glow=glow)
        keep = (solid > 0) | glow.touched
        fill = np.asarray(np.where(keep[..., None], fill, image), np.float32)
        if glow.touched.any():  # the halo is the tower's own light: it goes out as the tower falls
            glow_light = np.asarray(np.where(solid[..., None] > 0, 0.0, np.maximum(image - fill, 0.0)), np.float32)
    return Cutout(matte, hole, fill, glow_light)


def unmix_facade(image: F32, matte: F32, fill: F32) -> tuple[F32, F32]:
    """The facade unmixed from the clean plate behind its soft edge: (premultiplied
    foreground, clean plate), so that at rest debris over clean plate is the plate exactly.

    A compositor must be able to trust the debris layer: no colour where its alpha is
    zero, and unpremultiplied never brighter than the lit facade itself (the plate's
    brightest value inside the building, per channel). Where the clean plate is darker
    than what a soft edge shows, the excess is background, not facade: it goes into the
    clean plate under that edge, which is then nearer the real background than before.
    """
    a = matte[..., None]
    inside = matte > 0.5
    limit = image[inside].max(axis=0) if inside.any() else image.reshape(-1, 3).max(axis=0)
    fg = np.maximum(image - (1.0 - a) * fill, 0.0)
    fg = np.minimum(fg, a * limit[None, None, :])  # zero where a == 0; F <= the lit facade
    fg = np.where(a > 0.0, fg, 0.0)
    soft = (matte > 0.0) & (matte < 1.0)
    back = (image - fg) / np.maximum(1.0 - a, 1e-6)
    ceiling = float(max(float(image.max()), float(limit.max())))
    fill = np.where(soft[..., None], np.clip(back, 0.0, ceiling), fill)
    return fg.astype(np.float32), np.asarray(fill, np.float32)


def _consistent_matte(image: F32, fill: F32, matte: F32, hole: F32) -> F32:
    """Make the matte agree with the clean plate, so that debris over it is the plate at rest.

    The shards carry ``plate - (1 - a) * clean`` (premultiplied). Two kinds of
    pixel in the hole need more matte than GrabCut gave them:

    - where that facade would go negative (a dark ornament edge against a
      bright filled sky), a = 1 - min(plate / clean) keeps it non-negative;
    - the fringe just outside the matte, where the plate is not yet the clean
      plate: its coverage is estimated along the line from the clean plate's
      colour to the nearby facade's (the classic colour-line unmixing).
    """
    inside = (matte > 0.5).astype(np.float32)
    k = 2 * max(2, round(0.004 * max(image.shape[:2]))) + 5  # wider than the hole's margin
    weight = cv2.blur(inside, (k, k))
    near_facade = cv2.blur(image * inside[..., None], (k, k)) / np.maximum(weight, 1e-6)[..., None]
    overall = image[matte > 0.5].mean(axis=0) if inside.any() else image.mean(axis=(0, 1))
    facade = np.where((weight > 0)[..., None], near_facade, overall)  # thin spires far from the body
    d = facade - fill
    along = ((image - fill) * d).sum(axis=2) / np.maximum((d * d).sum(axis=2), 1e-8)
    est = np.clip(along, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(fill > 1e-6, image / np.maximum(fill, 1e-6), 1.0).min(axis=2)
    need = np.clip(1.0 - ratio, 0.0, 1.0)
    raised = np.maximum(need, est) * (hole > 0)
    raised[raised < 0.02] = 0.0  # the fracture takes what is above 0.02
    return np.asarray(np.maximum(matte, raised), np.float32)


def _failure_point(recipe: CollapseRecipe, fit: Fit, matte: F32, xs: NDArray[np.intp], ys: NDArray[np.intp],
                   ground: float, top_y: float) -> tuple[float, float]:  # fmt: skip
    if recipe.failure is not None:
        return fit.point(float(recipe.failure[0]), float(recipe.failure[1]))
    if recipe.mode == "topple":
        x = float(xs.min()) if recipe.direction == "left" else float(xs.max())
        return x, ground
    if recipe.mode == "blast":
        return float(np.median(xs)), top_y + 0.55 * (min(ground, matte.shape[0]) - top_y)
    high = xs[ys <= top_y + 0.08 * (ground - top_y)]
    return float(np.median(high)), top_y + 0.06 * (ground - top_y)


def run_simulation(
    prep: Prepared, tick: Tick, progress: Callable[[int], None] | None = None
) -> Simulated:
    r = prep.recipe
    w, h = prep.size
    settings = SimSettings(fps=r.fps, frames=r.frames, start_s=r.start_s(), mode=r.mode,
                           failure=prep.failure, px_per_m=prep.px_per_m, ground_y=prep.ground_y,
                           frame_size=(w, h), direction=-1 if r.direction == "left" else 1,
                           substeps=max(4, round(SIM_RATE / r.fps)), seed=r.seed,
                           duration_s=r.duration_s)  # fmt: skip
    sim = simulate(prep.fracture, settings, progress=progress)
    tick("simulate")
    colours = _shard_colours(prep)
    radius = np.array(
        [math.sqrt(max(s.area, 1.0) / math.pi) for s in prep.fracture.shards], np.float32
    )
    psettings = ParticleSettings(px_per_m=prep.px_per_m, ground_y=prep.ground_y, fps=r.fps,
                                 frames=r.frames, debris_amount=r.debris_amount,
                                 max_chips=3000 if not r.preview else 1200, seed=r.seed)  # fmt: skip
    particles = simulate_particles(sim, psettings, colours)
    tick("particles")
    fsettings = FluidSettings(width=w, height=h, px_per_m=prep.px_per_m, ground_y=prep.ground_y,
                              fps=r.fps, frames=r.frames, dust_density=r.dust_density,
                              wind=(float(r.wind[0]), float(r.wind[1])), seed=r.seed)  # fmt: skip
    dust = simulate_dust(sim, fsettings, prep.fracture.labels, radius, particles.landings)
    shake = shake_offsets(sim.shake, r.fps, r.shake, (w, h), r.seed)
    tick("dust")
    return Simulated(sim, particles, dust, shake, overscan_for(shake, (w, h)))


def _shard_colours(prep: Prepared) -> F32:
    lab = prep.fracture.labels
    n = len(prep.fracture.shards)
    ok = lab >= 0
    counts = np.maximum(np.bincount(lab[ok], minlength=n), 1)
    out = np.stack(
        [np.bincount(lab[ok], prep.image[..., c][ok], minlength=n) / counts for c in range(3)],
        axis=1,
    )
    return np.asarray(out, np.float32)


def blend_clean(prep: Prepared, frame_index: int) -> F32:
    """This frame's clean plate: the fill inside the hole, the live plate outside it."""
    if prep.plate.frame_count == 1:
        return prep.fill
    live = apply_fit(prep.plate.frame_at(frame_index / prep.recipe.fps), prep.fit)
    soft = (
        np.clip(cv2.GaussianBlur(prep.hole, (0, 0), 1.0) * 1.5, 0, 1)[..., None]
        * prep.hole[..., None]
    )
    return np.asarray(live * (1 - soft) + prep.fill * soft, np.float32)
