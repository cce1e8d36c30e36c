"""The clean plate: what the camera would see with the building gone.

The region the building covered (its matte, grown a little so no fringe of
facade survives) is filled from the surroundings in two parts:

- where the ring of background around the hole is mostly smooth sky, a smooth
  base: a plane per channel fitted by least squares to that ring, so a sky's
  gradient (darker overhead, paler toward the horizon) carries on across the
  hole instead of going flat (a quadratic overshoots into saturated colour
  across big holes; a plane through bricks and grass does too, so busy
  surroundings get no base);
- the difference between plate and base, pulled into the hole by push-pull
  (a pyramid fill: Gortler et al. 1996), so the fill meets the edge without a
  seam and clouds at the edge fade into it.

Everything happens in scene-linear ACEScg, at a working size of at most 960 px
(the fill is smooth, so that costs nothing visible) and is upsampled back. A
user's own clean plate replaces all this.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import binary_fill_holes

F32 = NDArray[np.float32]
_WORK_SIDE = 960


def hole_mask(matte: F32) -> F32:
    """Where the building was, grown by ~0.4% of the frame so its fringe goes too.

    Openings the matte leaves inside the building (sky seen through an arch) stay
    out of the hole: what the plate shows there is already what is behind.
    """
    h, w = matte.shape
    r = max(2, round(0.004 * max(h, w)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    solid = (matte > 0.01).astype(np.uint8)
    grown = cv2.dilate(solid, kernel)
    openings = binary_fill_holes(solid > 0) & (solid == 0)
    openings = cv2.erode(openings.astype(np.uint8), kernel) > 0
    return np.asarray(grown * ~openings, np.float32)


def _push_pull(values: F32, weight: F32) -> F32:
    """Fill where ``weight`` is 0 from where it is 1, smoothly (pyramid push-pull)."""
    levels: list[tuple[F32, F32]] = []
    v, w = values * weight[..., None], weight.copy()
    while min(w.shape) > 2:
        levels.append((v, w))
        v = np.asarray(cv2.pyrDown(v), np.float32)
        w = np.asarray(cv2.pyrDown(w), np.float32)
    known = w > 1e-6
    coarse = np.zeros_like(v)
    coarse[known] = v[known] / w[known][:, None]
    if (~known).any():  # a level with nothing known: the mean of what is
        coarse[~known] = coarse[known].mean(axis=0) if known.any() else 0.0
    for v, w in reversed(levels):
        up = np.asarray(cv2.resize(coarse, (w.shape[1], w.shape[0]), interpolation=cv2.INTER_LINEAR),
                        np.float32)  # fmt: skip
        alpha = np.clip(w, 0.0, 1.0)[..., None]
        mean = np.where(w[..., None] > 1e-6, v / np.maximum(w, 1e-6)[..., None], 0.0)
        coarse = np.asarray(alpha * mean + (1.0 - alpha) * up, np.float32)
    return coarse


def _plane_base(image: F32, known: NDArray[np.bool_], ring: NDArray[np.bool_]) -> F32:
    h, w = known.shape
    ys, xs = np.nonzero(ring)
    if len(xs) < 12:
        ys, xs = np.nonzero(known)
    if len(xs) < 12:
        return np.zeros_like(image)
    step = max(1, len(xs) // 20000)
    xs, ys = xs[::step], ys[::step]
    u, v = xs / w - 0.5, ys / h - 0.5

    def basis(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.stack([np.ones_like(a), a, b], axis=-1)

    coef, *_ = np.linalg.lstsq(basis(u, v), image[ys, xs].astype(np.float64), rcond=None)
    gy, gx = np.mgrid[0:h, 0:w]
    surface = basis(gx / w - 0.5, gy / h - 0.5) @ coef
    # a plane runs away far from its data: keep its brightness and its hue (each
    # channel's share of the brightness) within what the ring holds
    samples = image[ys, xs].astype(np.float64)
    lum = np.maximum(samples.mean(axis=1), 1e-6)
    lo, hi = np.percentile(lum, 2), np.percentile(lum, 98)
    share = samples / lum[:, None]
    s_lo, s_hi = np.percentile(share, 2, axis=0), np.percentile(share, 98, axis=0)
    now = np.maximum(surface.mean(axis=2, keepdims=True), 1e-6)
    hue = np.clip(surface / now, s_lo, s_hi)
    surface = hue * np.clip(now, lo, hi)
    return np.asarray(np.maximum(surface, 0.0), np.float32)


def _sky_like(image: F32, ring: NDArray[np.bool_]) -> bool:
    """Is what surrounds the hole mostly smooth sky (where a gradient carries on)?

    A plane through bricks, grass and sky extrapolates to colours that are none
    of them; there the push-pull fill alone, which only blends what borders the
    hole, is the safer guess.
    """
    if ring.sum() < 50:
        return False
    lum = image.mean(axis=2)
    detail = np.abs(lum - cv2.GaussianBlur(lum, (0, 0), 2.0))
    smooth = detail[ring] < 0.015 * max(float(np.median(lum[ring])), 0.05) * 4
    return bool(smooth.mean() > 0.7)


def clean_plate(image: F32, hole: F32) -> F32:
    """``image`` (h, w, 3, ACEScg) with the ``hole`` (h, w, 1 = fill) filled from around it."""
    h, w = hole.shape
    scale = min(1.0, _WORK_SIDE / max(h, w))
    size = (max(4, round(w * scale)), max(4, round(h * scale)))
    small = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.float32)
    small_hole = cv2.resize(hole, size, interpolation=cv2.INTER_AREA) > 0.0
    known = ~small_hole
    r = max(3, round(0.12 * max(size)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    ring = (cv2.dilate(small_hole.astype(np.uint8), kernel) > 0) & known
    base = _plane_base(small, known, ring) if _sky_like(small, ring) else np.zeros_like(small)
    residual = _push_pull(small - base, known.astype(np.float32))
    fill_small = base + residual
    fill = np.asarray(cv2.resize(fill_small, (w, h), interpolation=cv2.INTER_CUBIC), np.float32)
    # feather over two pixels inside the hole's edge, so the seam is not a hard line
    soft = np.asarray(cv2.GaussianBlur(hole, (0, 0), 1.0), np.float32) * hole
    soft = np.clip(soft * 1.5, 0.0, 1.0)[..., None]
    out = image * (1.0 - soft) + np.maximum(fill, 0.0) * soft
    return np.asarray(out, np.float32)
