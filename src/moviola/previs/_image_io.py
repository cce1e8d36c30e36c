"""Object-id pictures: a distinct, stable colour per id, for the id pass."""

from __future__ import annotations

import colorsys

import numpy as np
from numpy.typing import NDArray


def id_colour(index: int) -> tuple[int, int, int]:
    """A distinct, stable colour per object id (golden-ratio hues); 0 (sky) is black."""
    if index <= 0:
        return (0, 0, 0)
    h = (index * 0.618033988749895) % 1.0
    s = 0.55 + 0.35 * ((index * 7) % 3) / 2
    v = 0.95 - 0.25 * ((index * 5) % 2)
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return (round(r * 255), round(g * 255), round(b * 255))


def id_image(ids: NDArray[np.int32], count: int) -> NDArray[np.uint8]:
    palette = np.array([id_colour(i) for i in range(count + 1)], np.uint8)
    return palette[np.clip(ids, 0, count)]
