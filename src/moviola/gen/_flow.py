"""Optical flow between consecutive input frames (OpenCV DIS), and warps along it.

The render's own motion: :func:`motion` says where each pixel of a frame was in
the previous one, and which pixels it can say that for (forward and backward flow
agree, and the place is inside the picture); the rest were just revealed.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ._request import F32

U8 = NDArray[np.uint8]


def gray8(image: F32) -> U8:
    """An sRGB 0..1 frame as 8-bit grey (OpenCV's RGB->grey weights)."""
    rgb = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), np.uint8)


def dis(preset: int) -> Any:
    return cv2.DISOpticalFlow.create(preset)


def grid(h: int, w: int) -> tuple[F32, F32]:
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    return gx, gy


def motion(cur: F32, prev: F32, *, max_side: int = 1024) -> tuple[F32, F32]:
    """(flow, valid): cur(x) ~ prev(x + flow(x)); valid 1 where that holds, 0 where revealed.

    Computed at most ``max_side`` pixels wide (DIS MEDIUM) and scaled back up."""
    h, w = cur.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    a, b = gray8(cur), gray8(prev)
    if scale < 1.0:
        size = (max(8, round(w * scale)), max(8, round(h * scale)))
        a = cv2.resize(a, size, interpolation=cv2.INTER_AREA)
        b = cv2.resize(b, size, interpolation=cv2.INTER_AREA)
    flow_engine = dis(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    fwd = np.asarray(flow_engine.calc(a, b, None), np.float32)
    bwd = np.asarray(flow_engine.calc(b, a, None), np.float32)
    sh, sw = a.shape
    gx, gy = grid(sh, sw)
    mx, my = gx + fwd[..., 0], gy + fwd[..., 1]
    back = cv2.remap(bwd, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    err = np.sum((fwd + back) ** 2, axis=2)
    mag = np.sum(fwd**2, axis=2) + np.sum(back**2, axis=2)
    inside = (mx >= 0) & (mx <= sw - 1) & (my >= 0) & (my <= sh - 1)
    valid = ((err <= 0.01 * mag + 0.5) & inside).astype(np.float32)
    if scale < 1.0:
        fwd = cv2.resize(fwd, (w, h), interpolation=cv2.INTER_LINEAR) * np.float32(w / sw)
        valid = (cv2.resize(valid, (w, h), interpolation=cv2.INTER_LINEAR) > 0.999).astype(
            np.float32
        )
    return fwd, valid


def to_grid(flow: F32, valid: F32, h: int, w: int) -> tuple[F32, F32]:
    """Flow and validity brought to an (h, w) grid (the latents), vectors rescaled; a cell is
    valid only if all it covers is."""
    fw = flow.shape[1]
    f = cv2.resize(flow, (w, h), interpolation=cv2.INTER_AREA) * np.float32(w / fw)
    v = (cv2.resize(valid, (w, h), interpolation=cv2.INTER_AREA) > 0.999).astype(np.float32)
    return np.asarray(f, np.float32), v


def warp_nearest(planes: F32, flow: F32) -> F32:
    """(c, h, w) planes moved along ``flow`` taking the nearest sample: Gaussian noise stays
    unit-variance Gaussian (a blend of samples would not)."""
    _, h, w = planes.shape
    gx, gy = grid(h, w)
    ix = np.clip(np.rint(gx + flow[..., 0]), 0, w - 1).astype(np.intp)
    iy = np.clip(np.rint(gy + flow[..., 1]), 0, h - 1).astype(np.intp)
    return np.ascontiguousarray(planes[:, iy, ix])


def warp_linear(planes: F32, flow: F32) -> F32:
    """(c, h, w) planes moved along ``flow``, bilinear (for latents, which are smooth)."""
    _, h, w = planes.shape
    gx, gy = grid(h, w)
    mx, my = gx + flow[..., 0], gy + flow[..., 1]
    return np.stack(
        [cv2.remap(p, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE) for p in planes]
    ).astype(np.float32)


def pad_edge(arr: F32, ph: int, pw: int) -> F32:
    if not (ph or pw):
        return arr
    pads = ((0, ph), (0, pw)) + (((0, 0),) if arr.ndim == 3 else ())
    return np.pad(arr, pads, mode="edge")
