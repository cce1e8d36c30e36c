"""The building's matte on real photographs: it follows the tower, not the box drawn round it.

A user draws a loose box round one tower of a skyline: a little sky above it and
beside it, perhaps the roofs in front of its foot. The matte must take the tower
and leave that sky out, even where GrabCut on colour alone cannot tell them apart
(a lit facade against a glowing dusk sky, a grey glass tower against grey
clouds): a matte that falls back to the box leaves a translucent rectangle of
softened sky round the tower as it falls.

The plates are crops of real photographs (``tests/data/plates``, licences in
``SOURCES.md`` there); boxes are in the crop's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from moviola.vfx.collapse._matte import (
    MIN_SHARE,
    Region,
    _facade_columns,
    building_matte,
    parse_box,
    region_mask,
)

PLATES = Path(__file__).resolve().parent / "data" / "plates"


@dataclass(frozen=True)
class Tower:
    """A plate, the loose box a user would draw, a point on the facade and sky inside the box."""

    file: str
    box: str
    facade: tuple[int, int]  # x, y: certainly the tower
    sky: tuple[tuple[int, int], ...]  # x, y: inside the box, certainly not the tower

    def picture(self) -> NDArray[np.uint8]:
        bgr = cv2.imread(str(PLATES / self.file), cv2.IMREAD_COLOR)
        assert bgr is not None, self.file
        return np.ascontiguousarray(bgr[..., ::-1])

    def bounds(self) -> tuple[int, int, int, int]:
        x0, y0, x1, y1 = (int(v) for v in self.box.split(","))
        return x0, y0, x1, y1


TOWERS = [
    # a floodlit tower against the pink glow of a dusk sky, other lit towers behind it
    Tower("singapore_lit_tower.jpg", "220,100,365,530", (290, 300), ((226, 106), (359, 106), (352, 160))),
    # a red-lit tower, its neighbours dark, against a blue sky
    Tower("singapore_red_tower.jpg", "180,120,320,470", (250, 300), ((186, 126), (314, 126), (182, 300))),
    # an office tower backlit by a sunset, rooftops in front of its foot
    Tower("boston_tower.jpg", "185,130,335,380", (240, 230), ((191, 136), (329, 136), (326, 200))),
    # grey glass against grey clouds (a black and white photograph)
    Tower("london_walkie_talkie.jpg", "90,130,485,690", (280, 400), ((100, 140), (475, 140), (470, 300))),
]
IDS = [t.file.removesuffix(".jpg") for t in TOWERS]


@pytest.fixture(scope="module", params=TOWERS, ids=IDS)
def matted(request: pytest.FixtureRequest) -> tuple[Tower, NDArray[np.float32]]:
    tower: Tower = request.param
    return tower, building_matte(tower.picture(), parse_box(tower.box))


def test_the_matte_takes_the_tower(matted: tuple[Tower, NDArray[np.float32]]) -> None:
    tower, matte = matted
    x, y = tower.facade

    assert float(matte[y - 3 : y + 4, x - 3 : x + 4].min()) > 0.9


def test_the_sky_inside_the_box_is_left_out(matted: tuple[Tower, NDArray[np.float32]]) -> None:
    tower, matte = matted

    for x, y in tower.sky:
        assert float(matte[y - 2 : y + 3, x - 2 : x + 3].max()) < 0.1, (x, y)


def test_the_matte_is_not_the_box(matted: tuple[Tower, NDArray[np.float32]]) -> None:
    """Well under the box's area, and at most two of its four sides covered end to end (the
    foot, where the box cuts the tower, and perhaps one side of a tight box)."""
    tower, matte = matted
    x0, y0, x1, y1 = tower.bounds()
    inside = matte[y0:y1, x0:x1] > 0.5

    share = float(inside.mean())
    assert MIN_SHARE <= share <= 0.85
    sides = [inside[0], inside[-1], inside[:, 0], inside[:, -1]]
    assert sum(float(side.mean()) > 0.9 for side in sides) <= 2


def test_the_matte_is_soft_only_at_the_edge(matted: tuple[Tower, NDArray[np.float32]]) -> None:
    """Partial alpha lies along the silhouette, not over a translucent area of sky."""
    _, matte = matted
    partial = (matte > 0.05) & (matte < 0.95)
    outline = cv2.morphologyEx((matte > 0.5).astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    near = cv2.dilate(outline, np.ones((9, 9), np.uint8)) > 0

    assert float(partial[~near].sum()) <= 0.002 * float((matte > 0.5).sum())


def test_a_polygon_round_the_tower_is_the_precise_route() -> None:
    """A polygon drawn round the tower bounds the matte exactly; the tower inside it is kept."""
    tower = TOWERS[0]
    polygon = Region(((232.0, 112.0), (352.0, 112.0), (356.0, 520.0), (226.0, 520.0)), "tower.json")
    picture = tower.picture()

    matte = building_matte(picture, polygon, polygon=True)

    x, y = tower.facade
    assert float(matte[y, x]) > 0.9
    outside = region_mask(polygon, picture.shape[1], picture.shape[0]) == 0
    assert float(matte[outside].max()) == 0.0


def test_the_same_plate_and_box_give_the_same_matte() -> None:
    tower = TOWERS[3]

    first = building_matte(tower.picture(), parse_box(tower.box))
    second = building_matte(tower.picture(), parse_box(tower.box))

    assert np.array_equal(first, second)


def test_the_last_resort_narrows_the_box_to_the_facade() -> None:
    """When no GrabCut try finds the building, the region is narrowed to the facade's outer
    vertical edges and its roofline (from the edge profiles of its columns and rows), so
    no rectangle of sky is left round it."""
    picture = np.full((200, 200, 3), (150, 170, 200), np.uint8)  # sky
    picture[60:, 70:130] = (110, 120, 140)  # a facade...
    picture[70:190:10, 76:124] = (60, 60, 70)  # ...with rows of dark windows
    inside = region_mask(parse_box("30,20,170,200"), 200, 200)

    narrowed = _facade_columns(picture, inside)

    cols = np.flatnonzero(narrowed.any(axis=0))
    rows = np.flatnonzero(narrowed.any(axis=1))
    assert abs(int(cols[0]) - 70) <= 3 and abs(int(cols[-1]) - 129) <= 3
    assert abs(int(rows[0]) - 60) <= 3
