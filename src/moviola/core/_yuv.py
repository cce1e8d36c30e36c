"""RGB to BT.709 limited-range YUV 4:2:0, in NumPy: what the animatic encodes.

Composing frames in YUV ourselves means a held picture is converted once, and
per frame only the timecode's glyphs (pre-converted) are pasted in.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

U8 = NDArray[np.uint8]


def rgb_to_yuv_planes(rgb: U8) -> tuple[U8, U8, U8]:
    """Y (h x w) and U, V (h/2 x w/2) planes; height and width must be even."""
    f = rgb.astype(np.float32)
    y = 16 + (0.2126 * f[..., 0] + 0.7152 * f[..., 1] + 0.0722 * f[..., 2]) * (219 / 255)
    q = (f[0::2, 0::2] + f[1::2, 0::2] + f[0::2, 1::2] + f[1::2, 1::2]) * 0.25
    u = 128 + (-0.1146 * q[..., 0] - 0.3854 * q[..., 1] + 0.5 * q[..., 2]) * (224 / 255)
    v = 128 + (0.5 * q[..., 0] - 0.4542 * q[..., 1] - 0.0458 * q[..., 2]) * (224 / 255)
    y8, u8, v8 = (np.rint(p).clip(0, 255).astype(np.uint8) for p in (y, u, v))
    return y8, u8, v8


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
