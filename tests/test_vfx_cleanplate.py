"""The clean plate: what the building hid, filled with the picture's own structure, not a blur.

``clean_plate(image, hole)`` takes a scene-linear picture and a hole (1 = fill) and
returns the picture with the hole filled by patch-based inpainting: a grid of
windows carries on with its period, lights stay points of light, a smooth sky
stays smooth (no seams), and nothing outside the hole changes. The same picture
and hole always give the same fill. The old fill, a smooth push-pull blur, is the
foil: where it would pass a test, the test is not about structure.

Pictures are synthetic (so the truth behind the hole is known) or crops of real
photographs (``tests/data/plates``, licences in ``SOURCES.md`` there). The night city
with a lit tower is drawn here (``night_city``), with and without the tower, its glow and
its beacon, so the plate the tower hid is known exactly.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from moviola.core._colour import SRGB, to_working, working_to_srgb8
from moviola.vfx.collapse import _cleanplate
from moviola.vfx.collapse._cleanplate import (
    Glow,
    _push_pull_fill,
    building_glow,
    clean_plate,
    hole_mask,
    light_matte,
)
from moviola.vfx.collapse._inpaint import inpaint
from moviola.vfx.collapse._matte import building_matte, parse_box

F32 = NDArray[np.float32]
PLATES = Path(__file__).resolve().parent / "data" / "plates"
PERIOD_X, PERIOD_Y = 12, 16


# ---- pictures whose truth behind the hole is known -------------------------------------------


def window_grid(height: int = 200, width: int = 320) -> F32:
    """A facade: a grid of lit windows, 5x8 px every 12 px across and 16 px down."""
    picture = np.full((height, width, 3), (0.06, 0.05, 0.045), np.float32)
    for y in range(4, height, PERIOD_Y):
        for x in range(3, width, PERIOD_X):
            picture[y : y + 8, x : x + 5] = (0.9, 0.7, 0.4)
    return picture


def sky(height: int = 200, width: int = 320) -> F32:
    """A clear sky: deep blue overhead, paler toward the horizon, a little warmer to the right."""
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    u = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :, None]
    top, bottom = np.array([0.02, 0.05, 0.20], np.float32), np.array([0.25, 0.30, 0.45], np.float32)
    return np.asarray(top + (bottom - top) * t + np.array([0.03, 0.01, 0.0]) * u, np.float32)


def city_lights(height: int = 200, width: int = 320, seed: int = 3) -> F32:
    """A night city: a dark ground scattered with small bright lights."""
    rng = np.random.default_rng(seed)
    picture = np.full((height, width, 3), 0.01, np.float32)
    for _ in range(height * width // 60):
        y, x = int(rng.integers(0, height - 2)), int(rng.integers(0, width - 2))
        picture[y : y + 2, x : x + 2] = rng.uniform(0.5, 1.0) * np.array([1.0, 0.8, 0.5], np.float32)
    return picture


def box_hole(height: int, width: int, y0: int, y1: int, x0: int, x1: int) -> F32:
    hole = np.zeros((height, width), np.float32)
    hole[y0:y1, x0:x1] = 1.0
    return hole


def luma(picture: F32) -> F32:
    return np.asarray(np.power(np.maximum(picture, 0.0), 1 / 2.2).mean(axis=2), np.float32)


def detail(picture: F32) -> F32:
    """High-frequency energy per pixel: the squared Laplacian of the perceptual lightness."""
    return np.asarray(cv2.Laplacian(luma(picture), cv2.CV_32F) ** 2, np.float32)


def interior(hole: F32, margin: int = 4) -> NDArray[np.bool_]:
    """The hole less a margin at its edge (where the feather blends fill and picture)."""
    k = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
    return cv2.erode((hole > 0).astype(np.uint8), k) > 0


def dominant_lag(profile: NDArray[np.floating], lo: int, hi: int) -> int:
    p = np.asarray(profile, np.float64) - float(np.mean(profile))
    corr = [float((p[:-lag] * p[lag:]).mean()) for lag in range(lo, hi)]
    return lo + int(np.argmax(corr))


# ---- structure, not blur ---------------------------------------------------------------------


def test_a_hole_in_a_window_grid_is_filled_with_the_grid() -> None:
    picture = window_grid()
    hole = box_hole(200, 320, 60, 140, 120, 210)
    inner = interior(hole)

    filled = clean_plate(picture, hole)

    ys, xs = np.nonzero(inner)
    patch = luma(filled)[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    assert dominant_lag(patch.mean(axis=0), 6, 20) == PERIOD_X  # windows across, 12 px apart
    assert dominant_lag(patch.mean(axis=1), 8, 26) == PERIOD_Y  # floors down, 16 px apart
    outside = float(detail(picture)[hole == 0].mean())
    assert float(detail(filled)[inner].mean()) >= 0.5 * outside
    assert float(detail(_push_pull_fill(picture, hole))[inner].mean()) < 0.1 * outside  # a blur


def test_lights_in_the_hole_stay_points_of_light() -> None:
    picture = city_lights()
    hole = box_hole(200, 320, 50, 150, 110, 200)
    inner = interior(hole)

    filled = clean_plate(picture, hole)

    brightest = float(np.percentile(luma(picture)[hole == 0], 99.5))
    assert float(np.percentile(luma(filled)[inner], 99.5)) >= 0.8 * brightest
    lit = float((luma(picture)[hole == 0] > 0.5 * brightest).mean())
    assert float((luma(filled)[inner] > 0.5 * brightest).mean()) >= 0.5 * lit
    assert float(np.percentile(luma(_push_pull_fill(picture, hole))[inner], 99.5)) < 0.6 * brightest


def test_a_smooth_sky_stays_smooth_and_carries_its_gradient() -> None:
    picture = sky()
    hole = box_hole(200, 320, 40, 170, 120, 200)
    inner = hole > 0

    filled = clean_plate(picture, hole)

    gy, gx = np.gradient(luma(filled))
    steep = np.hypot(gx, gy)
    ty, tx = np.gradient(luma(picture))
    assert float(steep[inner].max()) <= 1.5 * float(np.hypot(tx, ty).max()) + 1e-3  # no seams
    assert float(np.abs(luma(filled) - luma(picture))[inner].max()) < 0.02  # the sky behind


def test_a_real_skyline_behind_a_tower_is_not_a_smear() -> None:
    """The lit tower of the Singapore plate, matted and removed: the city and the sky carry
    on with as much detail as round the hole; the old fill's blur had a fraction of it."""
    rgb = cv2.imread(str(PLATES / "singapore_lit_tower.jpg"), cv2.IMREAD_COLOR)[..., ::-1]
    picture = to_working(rgb.astype(np.float32) / 255.0, SRGB)
    hole = hole_mask(building_matte(np.ascontiguousarray(rgb), parse_box("220,100,365,530")))
    ring = (cv2.dilate((hole > 0).astype(np.uint8), np.ones((41, 41), np.uint8)) > 0) & (hole == 0)
    inner = interior(hole)

    filled = clean_plate(picture, hole)

    around = float(detail(picture)[ring].mean())
    assert float(detail(filled)[inner].mean()) >= 0.5 * around
    assert float(detail(_push_pull_fill(picture, hole))[inner].mean()) < 0.25 * around
    assert np.array_equal(filled[hole == 0], picture[hole == 0])


# ---- the contract ----------------------------------------------------------------------------


def test_nothing_outside_the_hole_changes() -> None:
    picture = window_grid()
    hole = box_hole(200, 320, 60, 140, 120, 210)

    filled = clean_plate(picture, hole)

    assert filled.shape == picture.shape and filled.dtype == np.float32
    assert np.array_equal(filled[hole == 0], picture[hole == 0])
    assert np.isfinite(filled).all() and float(filled.min()) >= 0.0


def test_the_same_picture_and_hole_give_the_same_fill() -> None:
    picture = city_lights(seed=11)
    hole = box_hole(200, 320, 40, 160, 100, 190)

    first = clean_plate(picture, hole)
    second = clean_plate(picture.copy(), hole.copy())

    assert np.array_equal(first, second)
    a = inpaint(picture, hole > 0)
    b = inpaint(picture, hole > 0)
    assert a is not None and b is not None
    assert np.array_equal(a.image, b.image) and np.array_equal(a.source, b.source)


def test_filling_part_of_the_last_hole_again_refines_that_fill() -> None:
    """The shot fills the grown hole, then again only under the final matte: the second fill
    starts from the first, keeps the grid, and is itself repeatable."""
    picture = window_grid()
    grown = box_hole(200, 320, 56, 144, 116, 214)
    tight = box_hole(200, 320, 62, 138, 122, 208)

    clean_plate(picture, grown)
    refined = clean_plate(picture, tight)
    again = clean_plate(picture, tight)

    assert np.array_equal(refined, again)
    assert np.array_equal(refined[tight == 0], picture[tight == 0])
    inner = interior(tight)
    assert float(detail(refined)[inner].mean()) >= 0.5 * float(detail(picture)[tight == 0].mean())


# ---- bad inputs ------------------------------------------------------------------------------


def test_an_empty_hole_returns_the_picture() -> None:
    picture = sky()

    filled = clean_plate(picture, np.zeros((200, 320), np.float32))

    assert np.array_equal(filled, picture)


def test_a_hole_over_the_whole_picture_gives_a_finite_picture() -> None:
    """Nothing is left to copy from: no error, a finite picture of the right shape."""
    picture = sky()

    filled = clean_plate(picture, np.ones((200, 320), np.float32))

    assert filled.shape == picture.shape and np.isfinite(filled).all()


def test_a_hole_left_with_too_little_to_copy_falls_back_to_the_smooth_fill() -> None:
    picture = sky(40, 40)
    hole = np.ones((40, 40), np.float32)
    hole[:, :3] = 0.0  # a strip too thin for one whole patch

    filled = clean_plate(picture, hole)

    assert np.isfinite(filled).all()
    assert np.array_equal(filled[hole == 0], picture[hole == 0])


@pytest.mark.parametrize(
    ("name", "edges"),
    [
        ("left edge", (30, 170, 0, 60)),
        ("top left corner", (0, 70, 0, 90)),
        ("bottom edge", (140, 200, 100, 220)),
        ("right edge, full height", (0, 200, 270, 320)),
    ],
)
def test_a_hole_touching_the_frame_is_filled(name: str, edges: tuple[int, int, int, int]) -> None:
    picture = sky()
    hole = box_hole(200, 320, *edges)

    filled = clean_plate(picture, hole)

    assert np.isfinite(filled).all(), name
    assert float(np.abs(luma(filled) - luma(picture))[hole > 0].max()) < 0.05, name
    assert np.array_equal(filled[hole == 0], picture[hole == 0]), name


# ---- a lit tower at night: its glow and its beacon go with it ----------------------------------

NIGHT_H, NIGHT_W = 360, 640
TOWER_X0, TOWER_X1, TOWER_TOP = 372, 418, 70  # the lit tower, 46 px wide, down to the frame's foot
BEACON = (44, 395)  # y, x: a red aircraft-warning light on a mast over the roof
NEIGHBOUR = (446, 478, 150)  # x0, x1, top: a lit neighbour 28 px to the tower's right


def _blur(mask: NDArray[np.bool_], sigma: float) -> F32:
    return np.asarray(cv2.GaussianBlur(mask.astype(np.float32), (0, 0), sigma), np.float32)


def night_city(*, tower: bool = True, neighbour: bool = False, glow: float = 1.0, seed: int = 5) -> F32:
    """A night skyline, scene-linear, through an 8-bit sRGB plate as a photograph would be.

    A dark gradient sky (city glow low down), rows of dark blocks with lit windows and
    street lights, a lit tower far to the left with its own small glow; with ``tower``,
    the lit tower (a window grid), a mast with a red beacon and its bloom, and the tower's
    glow (lens bloom and lit air: its silhouette blurred 14 px and 30 px, warm, ``glow``
    times as strong) over everything. The same ``seed`` without the tower is the truth.
    """
    rng = np.random.default_rng(seed)
    h, w = NIGHT_H, NIGHT_W
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    u = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :, None]
    top, low = np.array([0.003, 0.004, 0.010], np.float32), np.array([0.030, 0.022, 0.018], np.float32)
    picture = np.array(np.broadcast_to(top + (low - top) * t**1.5 + np.array([0.004, 0.002, 0.0]) * u,
                                       (h, w, 3)), np.float32)  # fmt: skip
    x = 0
    while x < w:  # the low city
        bw, roof = int(rng.integers(18, 60)), int(rng.integers(int(0.58 * h), int(0.8 * h)))
        picture[roof:, x : x + bw] = (0.006, 0.006, 0.007)
        for wy in range(roof + 3, h - 2, 6):
            for wx in range(x + 2, min(x + bw - 2, w - 2), 5):
                if rng.random() < 0.35:
                    picture[wy : wy + 3, wx : wx + 2] = rng.uniform(0.3, 1.0) * np.array([0.6, 0.45, 0.25])
        x += bw + int(rng.integers(0, 6))
    for _ in range(300):  # street lights
        y, x = int(rng.integers(int(0.7 * h), h - 2)), int(rng.integers(0, w - 2))
        picture[y : y + 2, x : x + 2] = rng.uniform(0.4, 1.2) * np.array([1.0, 0.8, 0.5])
    far = np.zeros((h, w), np.bool_)  # a lit tower far to the left, with its own glow
    far[110:, 70:102] = True
    picture[far] = (0.012, 0.012, 0.014)
    for wy in range(116, h, 8):
        for wx in range(73, 100, 6):
            if rng.random() < 0.6:
                picture[wy : wy + 3, wx : wx + 3] = (0.55, 0.45, 0.3)
    picture += _blur(far, 10)[..., None] * np.array([0.03, 0.025, 0.018], np.float32)
    if neighbour:
        x0, x1, roof = NEIGHBOUR
        picture[roof:, x0:x1] = (0.02, 0.02, 0.022)
        for wy in range(roof + 4, h, 7):
            for wx in range(x0 + 2, x1 - 2, 5):
                picture[wy : wy + 3, wx : wx + 2] = (0.6, 0.5, 0.35)
    if tower:
        body = np.zeros((h, w), np.bool_)
        body[TOWER_TOP:, TOWER_X0:TOWER_X1] = True
        picture[body] = (0.015, 0.014, 0.017)
        for wy in range(TOWER_TOP + 4, h, 9):
            for wx in range(TOWER_X0 + 3, TOWER_X1 - 3, 7):
                if rng.random() < 0.75:
                    picture[wy : wy + 4, wx : wx + 3] = (0.75, 0.58, 0.32)
        picture[48:TOWER_TOP, 394:397] = 0.02  # the mast
        halo = (_blur(body, 14)[..., None] * np.array([0.10, 0.075, 0.045], np.float32)
                + _blur(body, 30)[..., None] * np.array([0.025, 0.02, 0.012], np.float32))  # fmt: skip
        gy, gx = np.mgrid[0:h, 0:w]
        r2 = ((gy - BEACON[0]) ** 2 + (gx - BEACON[1]) ** 2).astype(np.float32)
        lamp = (r2 <= 6.5)[..., None] * np.array([1.2, 0.06, 0.03], np.float32)
        bloom = np.exp(-r2 / 50.0)[..., None] * np.array([0.25, 0.012, 0.006], np.float32)
        picture = picture + glow * halo + lamp + bloom
    return to_working(working_to_srgb8(picture).astype(np.float32) / 255.0, SRGB)


def tower_box() -> str:
    return f"{TOWER_X0 - 12},36,{TOWER_X1 + 12},{NIGHT_H}"  # loose, the beacon inside


@pytest.fixture(scope="module")
def night() -> dict[str, F32 | Glow]:
    """The night plate and its truth, the matte, the glow, and the clean plate made with the
    fixed margin (before) and with the glow-aware hole (after)."""
    plate, truth = night_city(), night_city(tower=False)
    matte = building_matte(working_to_srgb8(plate), parse_box(tower_box()))
    glow = building_glow(plate, matte)
    _cleanplate._LAST.clear()
    before = clean_plate(plate, hole_mask(matte))
    hole = hole_mask(matte, glow=glow)
    after = clean_plate(plate, hole, glow=glow)
    return {"plate": plate, "truth": truth, "matte": matte, "glow": glow, "hole": hole,
            "before": before, "after": after}  # fmt: skip


def lum(picture: F32) -> F32:
    return np.asarray(picture.mean(axis=2), np.float32)


def tower_surroundings(reach: float = 50.0, sky_only: bool = True) -> NDArray[np.bool_]:
    """The sky round the tower (within ``reach`` px, above the low city): where its glow was."""
    body = np.zeros((NIGHT_H, NIGHT_W), np.uint8)
    body[TOWER_TOP:, TOWER_X0:TOWER_X1] = 1
    d = cv2.distanceTransform(1 - body, cv2.DIST_L2, 5)
    near = (d < reach) & (body == 0)
    if sky_only:
        near &= np.arange(NIGHT_H)[:, None] < 0.55 * NIGHT_H
    return np.asarray(near, np.bool_)


def ghost(clean: F32, truth: F32, where: NDArray[np.bool_]) -> tuple[float, float]:
    """The clean plate's brightness over the truth there, blurred 3 px (a glow, not grain):
    mean and 95th percentile, linear."""
    excess = cv2.GaussianBlur(lum(clean) - lum(truth), (0, 0), 3.0)
    return float(excess[where].mean()), float(np.percentile(excess[where], 95))


def test_the_glow_round_a_lit_tower_leaves_no_ghost(night: dict[str, F32 | Glow]) -> None:
    """The tower's halo bleeds 40 px into the night sky; once the tower is gone the sky there is
    the sky, not a faint tower of light (the fixed margin left most of it)."""
    plate, truth, before, after = (np.asarray(night[k]) for k in ("plate", "truth", "before", "after"))
    near = tower_surroundings()
    glow_mean, _ = ghost(plate, truth, near)

    mean_before, p95_before = ghost(before, truth, near)
    mean_after, p95_after = ghost(after, truth, near)

    assert mean_before > 0.5 * glow_mean  # the foil: the fixed margin keeps the halo
    assert mean_after < 0.15 * glow_mean, (mean_after, glow_mean)
    assert p95_after < 0.35 * p95_before, (p95_after, p95_before)
    assert abs(mean_after) < 0.0015  # and not dug into a dark hole either


def test_no_bright_blob_is_left_where_the_beacon_was(night: dict[str, F32 | Glow]) -> None:
    plate, truth, before, after = (np.asarray(night[k]) for k in ("plate", "truth", "before", "after"))
    gy, gx = np.mgrid[0:NIGHT_H, 0:NIGHT_W]
    around = (gy - BEACON[0]) ** 2 + (gx - BEACON[1]) ** 2 <= 12**2  # the lamp and its bloom

    sky = float(truth[around].max())
    assert float(plate[around].max()) > 0.5 + sky  # the beacon is there ...
    assert float(before[around].max()) > 0.3 + sky  # ... and the fixed margin left it
    assert float(after[around].max()) < 0.01 + sky, float(after[around].max())
    red = after[..., 0] - after[..., 1:].mean(axis=2)
    assert float(red[around].max()) < 0.01 + float((truth[..., 0] - truth[..., 1:].mean(axis=2))[around].max())


def test_city_lights_away_from_the_tower_are_untouched(night: dict[str, F32 | Glow]) -> None:
    """Pixel for pixel the plate outside the grown hole and the glow's reach; the growth is
    capped at the reach (one building width from the matte), and the city far off is never in it."""
    plate, matte, after, hole = (np.asarray(night[k]) for k in ("plate", "matte", "after", "hole"))
    glow = night["glow"]
    assert isinstance(glow, Glow)
    changed = hole > 0
    changed |= glow.touched

    assert np.array_equal(after[~changed], plate[~changed])
    d = cv2.distanceTransform((matte <= 0.01).astype(np.uint8), cv2.DIST_L2, 5)
    assert float(d[changed].max()) <= glow.reach + 1.0
    assert glow.reach <= glow.width + 1e-6
    far_city = (d > glow.reach + 1.0) & (np.arange(NIGHT_H)[:, None] > 0.6 * NIGHT_H)
    lights = far_city & (lum(plate) > 0.2)
    assert lights.sum() > 500 and not changed[lights].any()


def test_a_lit_neighbour_beside_the_tower_keeps_its_windows() -> None:
    """A lit tower standing 28 px off is not glow (it is not the tower's light spread): none of
    it is filled, and it loses at most the tower's glow over it."""
    plate, truth = night_city(neighbour=True), night_city(tower=False, neighbour=True)
    matte = building_matte(working_to_srgb8(plate), parse_box(tower_box()))
    glow = building_glow(plate, matte)
    hole = hole_mask(matte, glow=glow)
    x0, x1, roof = NEIGHBOUR
    wall = np.zeros((NIGHT_H, NIGHT_W), np.bool_)
    wall[roof:, x0:x1] = True

    clean = clean_plate(plate, hole, glow=glow)

    assert not (hole > 0)[wall].any()
    lost = float((lum(plate) - lum(clean))[wall].mean())
    glow_over = float((lum(plate) - lum(truth))[wall].mean())
    assert -1e-6 <= lost <= 1.5 * glow_over + 1e-4, (lost, glow_over)
    windows = wall & (lum(truth) > 0.3)
    assert np.abs(lum(clean) - lum(truth))[windows].mean() < 0.03


def test_a_brighter_glow_is_still_capped_at_one_building_width() -> None:
    """Five times the halo: the hole grows into it, never past the reach."""
    plate = night_city(glow=5.0)
    matte = building_matte(working_to_srgb8(plate), parse_box(tower_box()))
    glow = building_glow(plate, matte)

    hole = hole_mask(matte, glow=glow)

    grown = (hole > 0) & (hole_mask(matte) == 0)
    assert grown.sum() > 2000  # it does grow into the glow
    d = cv2.distanceTransform((matte <= 0.01).astype(np.uint8), cv2.DIST_L2, 5)
    assert float(d[grown | glow.touched].max()) <= glow.reach + 1.0
    assert glow.reach <= glow.width + 1e-6


def test_the_glow_aware_fill_is_the_same_every_time_and_keyed_by_the_glow(
    night: dict[str, F32 | Glow],
) -> None:
    """Computed once per shot, the clean plate must not flicker between runs: the same plate,
    hole and glow give the same fill; the remembered fill is keyed by the picture less the
    glow, so a fill without it is not served from a fill with it."""
    plate, matte, hole = (np.asarray(night[k]) for k in ("plate", "matte", "hole"))
    glow = night["glow"]
    assert isinstance(glow, Glow)
    _cleanplate._LAST.clear()

    first = clean_plate(plate, hole, glow=glow)
    again = building_glow(plate, matte)
    second = clean_plate(plate.copy(), hole.copy(), glow=again)
    plain = clean_plate(plate, hole)

    assert np.array_equal(again.excess, glow.excess) and np.array_equal(again.hole, glow.hole)
    assert np.array_equal(first, second)
    assert not np.array_equal(plain[glow.touched], first[glow.touched])
    # the shot's second fill, under the final matte and the glow's hole, starts from the first
    tight = np.maximum(cv2.dilate((matte > 0).astype(np.uint8), np.ones((3, 3), np.uint8)),
                       glow.hole.astype(np.uint8)).astype(np.float32)  # fmt: skip
    clean_plate(plate, hole, glow=glow)
    refined = clean_plate(plate, tight, glow=glow)
    assert np.array_equal(refined, clean_plate(plate, tight, glow=glow))
    assert np.array_equal(refined[glow.touched & (tight == 0)], first[glow.touched & (tight == 0)])


def test_the_lights_ride_with_the_building(night: dict[str, F32 | Glow]) -> None:
    """Raised over the beacon, the matte lets the facade layer carry it: at rest the layer over
    the clean plate is the plate again (``plate - (1 - a) * clean`` within the facade's light),
    so the beacon falls with the tower."""
    plate, matte, after = (np.asarray(night[k]) for k in ("plate", "matte", "after"))
    glow = night["glow"]
    assert isinstance(glow, Glow)

    raised = light_matte(plate, after, matte, glow)

    assert glow.lights[BEACON] and float(raised[BEACON]) > 0.5
    assert np.array_equal(raised[~glow.lights], matte[~glow.lights])
    up = raised > matte  # (under 0.02 the shot keeps the plate, or carries it as added light)
    assert up.sum() > 30
    a = raised[..., None]
    limit = plate[matte > 0.5].max(axis=0)
    facade = np.minimum(np.maximum(plate - (1.0 - a) * after, 0.0), a * limit)
    rest = facade + (1.0 - a) * after
    assert float(np.abs(rest - plate)[up].max()) < 1e-4


@pytest.mark.parametrize(
    ("file", "box"),
    [("boston_tower.jpg", "185,130,335,380"), ("singapore_red_tower.jpg", "180,120,320,470")],
)
def test_a_tower_that_is_not_lit_makes_no_glow(file: str, box: str) -> None:
    """A tower darker than its sky (backlit at sunset; red-lit against a blue dusk sky) has no
    glow to take: nothing is subtracted and the hole is the fixed margin's, give or take a light."""
    rgb = np.ascontiguousarray(cv2.imread(str(PLATES / file), cv2.IMREAD_COLOR)[..., ::-1])
    picture = to_working(rgb.astype(np.float32) / 255.0, SRGB)
    matte = building_matte(rgb, parse_box(box))

    glow = building_glow(picture, matte)

    assert glow.strength == () and float(glow.excess.max()) == 0.0
    grown = (hole_mask(matte, glow=glow) > 0) & (hole_mask(matte) == 0)
    assert grown.sum() <= 0.002 * float((matte > 0.5).sum())


def test_the_dusk_tower_loses_its_beacon_and_keeps_its_neighbours() -> None:
    """The floodlit Marina Bay tower at dusk: its red beacon and glow go into the hole, which
    stays within the reach and grows by a small share; the curved tower beside it keeps its own
    red light (the glow neither fills nor dims it: only the fixed margin, which the shot's final
    matte decides on, comes near)."""
    rgb = np.ascontiguousarray(cv2.imread(str(PLATES / "singapore_lit_tower.jpg"), cv2.IMREAD_COLOR)[..., ::-1])
    picture = to_working(rgb.astype(np.float32) / 255.0, SRGB)
    matte = building_matte(rgb, parse_box("220,100,365,530"))

    glow = building_glow(picture, matte)

    hole = hole_mask(matte, glow=glow)
    assert glow.strength != ()  # a lit tower: it glows
    grown = (hole > 0) & (hole_mask(matte) == 0)
    assert 0 < grown.sum() <= 0.1 * float((matte > 0.5).sum())
    red = picture[..., 0] - picture[..., 1:].mean(axis=2)
    bloom = red[125:150, 300:330] > 0.2  # the beacon's red bloom over the roof's right corner
    assert bloom.sum() > 100 and (hole[125:150, 300:330] > 0)[bloom].all()
    assert not (hole_mask(matte)[125:150, 300:330] > 0)[bloom].all()
    side = red[280:320, 200:230]  # the neighbour's red light, just left of the tower's matte
    y, x = np.unravel_index(int(np.argmax(side)), side.shape)
    assert float(side[y, x]) > 0.3
    assert not glow.hole[280 + y, 200 + x] and not glow.touched[280 + y, 200 + x]
