"""The clean plate: what the building hid, filled with the picture's own structure, not a blur.

``clean_plate(image, hole)`` takes a scene-linear picture and a hole (1 = fill) and
returns the picture with the hole filled by patch-based inpainting: a grid of
windows carries on with its period, lights stay points of light, a smooth sky
stays smooth (no seams), and nothing outside the hole changes. The same picture
and hole always give the same fill. The old fill, a smooth push-pull blur, is the
foil: where it would pass a test, the test is not about structure.

Pictures are synthetic (so the truth behind the hole is known) or crops of real
photographs (``tests/data/plates``, licences in ``SOURCES.md`` there).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from moviola.core._colour import SRGB, to_working
from moviola.vfx.collapse._cleanplate import _push_pull_fill, clean_plate, hole_mask
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
