"""Flicker of a refined clip: the frame-to-frame change that the render's motion does not explain.

The definition of de-aging's flicker (``moviola.vfx``'s face-quality ``FlickerMeter``),
over the whole frame instead of a face window: each frame and the one before as
8-bit grey; DIS optical flow (ULTRAFAST) of the *input* frames says where each
pixel of this frame was in the last; the previous frame is moved there (bilinear,
edges replicated) and the mean absolute difference taken, in 8-bit code values
(0..255), for the input and for the output with the same flow, so the two numbers
compare. It is reimplemented here rather than imported because that meter is a
stateful class tied to face boxes and 96-pixel windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..core import InputError
from ._flow import dis, gray8, grid
from ._request import F32


@dataclass(frozen=True)
class Flicker:
    """Mean flow-compensated change per frame pair, in 8-bit code values; None for a still."""

    before: float | None  # the input clip: what the flow cannot explain (its error, new edges)
    after: float | None  # the refined clip, measured along the input's motion
    pairs: int


def clip_flicker(inputs: Sequence[F32], outputs: Sequence[F32], mask: F32 | None = None) -> Flicker:
    """Flicker of ``outputs`` (and of ``inputs``) along the motion of ``inputs``.

    ``mask`` (h, w) 0..1 weights where it is measured (all of the frame by default)."""
    if len(inputs) != len(outputs):
        raise InputError(f"{len(inputs)} input frames but {len(outputs)} refined ones")
    if not inputs:
        return Flicker(None, None, 0)
    h, w = inputs[0].shape[:2]
    m = np.ones((h, w), np.float32) if mask is None else np.asarray(mask, np.float32)
    if m.shape != (h, w) or m.sum() <= 0:
        raise InputError(f"the mask must be ({h}, {w}) and not empty")
    engine = dis(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    gx, gy = grid(h, w)
    total_b = total_a = 0.0
    prev: tuple[np.ndarray, np.ndarray] | None = None
    for src, out in zip(inputs, outputs, strict=True):
        if src.shape[:2] != (h, w) or out.shape[:2] != (h, w):
            raise InputError("every frame of a clip must be the same size")
        b, a = gray8(src), gray8(out)
        if prev is not None:
            pb, pa = prev
            flow = engine.calc(b, pb, None)  # where each pixel of this frame was in the last
            mx, my = gx + flow[..., 0], gy + flow[..., 1]
            wb = cv2.remap(pb, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            wa = cv2.remap(pa, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            total_b += float((np.abs(b.astype(np.float32) - wb) * m).sum() / m.sum())
            total_a += float((np.abs(a.astype(np.float32) - wa) * m).sum() / m.sum())
        prev = (b, a)
    pairs = len(inputs) - 1
    if not pairs:
        return Flicker(None, None, 0)
    return Flicker(round(total_b / pairs, 3), round(total_a / pairs, 3), pairs)
