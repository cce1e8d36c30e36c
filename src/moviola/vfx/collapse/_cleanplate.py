"""The clean plate: what the camera would see with the building gone.

The region the building covered (its matte, grown a little so no fringe of
facade survives) is filled by patch-based inpainting (``_inpaint``): pieces of
the picture round the hole, chosen so the city's windows and lights, the
skyline and the sky carry on across it, at full size so lights stay crisp, in
scene-linear ACEScg. The shot fills twice (the grown hole, then only under the
final matte); the second fill starts from the first (see ``clean_plate``).

The old fill, kept for where nothing can be copied (a hole over nearly all the
picture) and as the benchmark's baseline, is smooth: a plane fitted to a sky
round the hole, so its gradient carries on, plus the rest pulled in by push-pull
(a pyramid fill: Gortler et al. 1996), at most 960 px across. A user's own clean
plate replaces all this.
"""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import binary_fill_holes

from ._inpaint import Fill, inpaint, push_pull

F32 = NDArray[np.float32]
_WORK_SIDE = 960  # the smooth fill's working size
_LAST: list[tuple[bytes, NDArray[np.bool_], Fill]] = []  # the last fill: picture digest, hole, fill


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
    """``image`` (h, w, 3, ACEScg) with the ``hole`` (h, w, 1 = fill) filled from around it.

    The fill is patch-based inpainting (``_inpaint``): the city, its windows and lights
    and the sky carry on across the hole. The last fill is remembered: filling part of
    the same hole in the same picture again (the shot does, once the matte is final)
    starts from it and only refines at full size; the same hole again gets the same fill. Where nothing around the hole can be
    copied (a hole over nearly all the picture), the smooth fill stands in.
    """
    mask = hole > 0
    if not mask.any():
        return np.asarray(image, np.float32).copy()
    picture = np.ascontiguousarray(image, np.float32)
    key = hashlib.blake2b(picture.tobytes(), digest_size=16).digest()
    last = _LAST[0] if _LAST else None
    fill = None
    if last is not None and last[0] == key and last[1].shape == mask.shape:
        if np.array_equal(mask, last[1]):  # the same fill again
            return _feathered(picture, last[2].image, hole)
        # a hole inside the last one (give or take a pixel at its edge: the final matte's
        # fringe, dilated): start from that fill
        near = cv2.dilate(last[1].astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        if not (mask & ~near).any():
            fill = inpaint(picture, mask, prior=last[2])
    if fill is None:
        fill = inpaint(picture, mask)
    if fill is None:
        return _push_pull_fill(picture, hole)
    _LAST[:] = [(key, mask, fill)]
    return _feathered(picture, fill.image, hole)


def _feathered(image: F32, fill: F32, hole: F32) -> F32:
    # feather over two pixels inside the hole's edge, so the seam is not a hard line
    soft = np.asarray(cv2.GaussianBlur(hole, (0, 0), 1.0), np.float32) * hole
    soft = np.clip(soft * 1.5, 0.0, 1.0)[..., None]
    return np.asarray(image * (1.0 - soft) + np.maximum(fill, 0.0) * soft, np.float32)


def _push_pull_fill(image: F32, hole: F32) -> F32:
    """The smooth fill (a plane for a sky, push-pull for the rest): kept as the fallback
    where nothing can be copied, and as the benchmark's baseline."""
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
    residual = push_pull(small - base, known.astype(np.float32))
    fill_small = base + residual
    fill = np.asarray(cv2.resize(fill_small, (w, h), interpolation=cv2.INTER_CUBIC), np.float32)
    return _feathered(image, fill, hole)
