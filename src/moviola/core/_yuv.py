"""RGB to BT.709 limited-range YUV 4:2:0, in NumPy: what the animatic encodes.

Composing frames in YUV ourselves means a held picture is converted once, and
per frame only the timecode's glyphs (pre-converted) are pasted in.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

U8 = NDArray[np.uint8]


#: BT.709 limited range: Y from RGB, and U, V from the 2x2 mean, each with its offset.
_Y = np.array([[0.2126, 0.7152, 0.0722, 0.0]]) * (219 / 255) + np.array([[0, 0, 0, 16.0]])
_UV = (np.array([[-0.1146, -0.3854, 0.5, 0.0], [0.5, -0.4542, -0.0458, 0.0]]) * (224 / 255)
       + np.array([[0, 0, 0, 128.0], [0, 0, 0, 128.0]]))  # fmt: skip


def rgb_to_yuv_planes(rgb: U8) -> tuple[U8, U8, U8]:
    """Y (h x w) and U, V (h/2 x w/2) planes; height and width must be even.

    OpenCV's matrix transform and area resize (the 2x2 mean) do it four times faster than
    NumPy, within one code value of the exact figures; the animatic converts every picture
    that changes, snow falling included.
    """
    import cv2

    rgb = np.ascontiguousarray(rgb, np.uint8)
    y = cv2.transform(rgb, _Y)
    half = cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA)
    uv = cv2.transform(half, _UV)
    return (np.ascontiguousarray(y.reshape(rgb.shape[:2])), np.ascontiguousarray(uv[..., 0]),
            np.ascontiguousarray(uv[..., 1]))  # fmt: skip


def rgb_to_yuv420(rgb: U8) -> U8:
    """BT.709 limited-range YUV 4:2:0 in PyAV's planar layout ((h * 3/2) x w)."""
    return pack_planes(*rgb_to_yuv_planes(rgb))


def pack_planes(y: U8, u: U8, v: U8) -> U8:
    """Y, U, V planes (even sizes) in PyAV's packed yuv420p layout ((h * 3/2) x w): the
    planes one after the other, so any even height packs (U alone need not fill whole rows)."""
    return np.concatenate([y.ravel(), u.ravel(), v.ravel()]).reshape(-1, y.shape[1])


def planes(yuv: U8, height: int) -> tuple[U8, U8, U8]:
    """Writable views of the Y, U and V planes of a packed (h * 3/2) x w frame."""
    w = yuv.shape[1]
    flat = yuv.reshape(-1)
    n, q = height * w, (height // 2) * (w // 2)
    return (flat[:n].reshape(height, w), flat[n : n + q].reshape(height // 2, w // 2),
            flat[n + q : n + 2 * q].reshape(height // 2, w // 2))  # fmt: skip
