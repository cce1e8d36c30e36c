"""The de-aging's tonal edits of the skin: texture, folds, spots, under-eyes, tone.

An apparent age is read mostly from the skin's texture between the pores and the
face's shading: fine lines and crow's feet, creases, folds, age spots and blotches
(measured: removing that band takes 10 to 45 years off an age network's estimate,
where halving it takes next to nothing). So the band between ``KEEP`` (pores and
grain: never touched, so the skin stays alive) and a base blur whose size grows
with the years is taken out of the skin, wholly once the years are enough:

- fine lines (``KEEP`` to ``LINES``): out at the ``wrinkles`` amount;
- creases, folds and spots (``LINES`` to the base): out at the ``folds`` amount, with
  dark features (a crease, a spot, a fold's shadow) pulled back more than light ones;
- structure far stronger than any skin texture (a glasses rim, a nostril's edge) is
  spared, and so is whatever is not skin by colour (a beard, stubble, a frame);
- under-eyes lifted towards the cheek's brightness (eye bags and their shadow);
- chroma blotches evened; the face's overall colour held to the plate's.

Pure functions of the pixels and the (smoothed) landmarks, with the few measured
levels carried from frame to frame by ``RetouchState``: a steady face gets a steady
result.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np
from numpy.typing import NDArray

from .._filters import guided_filter
from . import _face_regions as fr

if TYPE_CHECKING:
    from ._retouch import RetouchState

F32 = NDArray[np.float32]
LUMA = np.array([0.299, 0.587, 0.114], np.float32)
KEEP = 0.01  # face units: finer than this is pores and grain, kept as it is
LINES = 0.06  # fine lines end here; creases and folds go on to the base


def base_sigma(years: float, folds: float) -> float:
    """The base blur (face units): how coarse a feature counts as age. Grows with the years,
    so a few years take the lines and many take the folds too."""
    return float(np.clip((0.07 + 0.0045 * years) * (0.6 + 0.4 * folds), LINES + 0.01, 0.3))


def blur(img: F32, sigma: float) -> F32:
    """A Gaussian blur that stays cheap for large sigmas (blur a smaller copy, then resize)."""
    if sigma < 0.5:
        return img
    h, w = img.shape[:2]
    factor = 1
    while sigma / (factor * 2) >= 2.5 and min(h, w) // (factor * 2) >= 8:
        factor *= 2
    if factor == 1:
        return np.asarray(cv2.GaussianBlur(img, (0, 0), sigma), np.float32)
    small = cv2.resize(
        img, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA
    )
    small = cv2.GaussianBlur(small, (0, 0), sigma / factor)
    return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)


def luma_of(img: F32) -> F32:
    """Brightness (Rec. 601 weights) of an RGB float picture; OpenCV's, not a BLAS product,
    whose threads fight MediaPipe's and the encoder's for the cores."""
    h, w = img.shape[:2]
    return np.asarray(cv2.transform(np.ascontiguousarray(img, np.float32), LUMA[None, :]), np.float32).reshape(h, w)


def mean_in(values: F32, weight: F32) -> float:
    total = float(weight.sum())
    return float(np.vdot(values, weight) / total) if total > 1e-3 else 0.0


def up(img: F32, w: int, h: int) -> F32:
    if (img.shape[1], img.shape[0]) == (w, h):
        return img
    return np.asarray(cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)


def skin_likeness(img: F32, cheek: F32, state: RetouchState, scale: float) -> F32:
    """How much each pixel looks like this face's skin by its colour (0..1): grey or white
    hair, stubble and frames are far from the cheeks' chroma and are left alone."""
    chroma = img - luma_of(img)[..., None]
    ref = np.array([mean_in(chroma[..., c], cheek) for c in range(3)], np.float32)
    ref = state.follow_chroma(ref)
    spread = max(0.6 * float(np.linalg.norm(ref)), 0.05)
    d2 = np.square(chroma - ref).sum(-1) * np.float32(1.0 / (spread * spread))
    like = np.exp(np.float32(-0.5) * d2)
    return blur(np.asarray(like, np.float32), 0.04 * scale)


def small_size(scale: float, size: tuple[int, int]) -> tuple[int, int]:
    """(w, h) of the copy the smooth edits are worked out on: about 24 px to the face unit."""
    step = max(1, int(scale // 24))
    return math.ceil(size[0] / step), math.ceil(size[1] / step)


def tonal(img: F32, lm: F32, scale: float, amounts: dict[str, float], feather: float, base: float,
          state: RetouchState) -> tuple[F32, F32, F32, F32]:  # fmt: skip
    """The tonal edits of ``img`` (display RGB floats, landmarks ``lm`` in its pixels).

    Returns the fine lines' correction (luma, at ``img``'s size), and at the small size
    (``small_size``): the smooth correction (RGB), the skin matte, and the small copy.
    Only the fine lines need the full resolution; creases, folds, under-eyes and tone are
    smooth, worked out on a copy of about 24 px to the face unit and scaled back up."""
    h, w = img.shape[:2]
    step = max(1, int(scale // 24))
    masks = fr.face_masks(lm, (h, w), scale, feather, step=step)  # soft: painted small
    sh, sw = masks["skin"].shape
    small = np.asarray(cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA), np.float32)
    s_scale = scale / step
    luma_s = luma_of(small)
    # the matte, drawn from the mesh, snapped to the plate's own edges (a jaw against the
    # background, hair across the forehead), and kept to what is skin by its colour
    radius = max(1, round(0.1 * s_scale))
    skin = np.clip(guided_filter(luma_s, masks["skin"], radius, 2e-3), 0.0, 1.0).astype(np.float32)
    skin = (skin * skin_likeness(small, masks["cheek"], state, s_scale)).astype(np.float32)

    # creases, folds and spots: the band from ``LINES`` to the base, dark ones first; at the
    # full amount the band is gone (a remnant still reads as age)
    g_lines = blur(luma_s, LINES * s_scale)
    g_base = blur(luma_s, base * s_scale)
    coarse = g_lines - g_base
    fine_full = _fine_band(img, scale)
    tau_f, tau_c = state.texture(mean_in(np.abs(_down(fine_full, sw, sh)), skin), mean_in(np.abs(coarse), skin))
    spare_c = np.exp(-np.square(coarse * np.float32(1.0 / tau_c)))
    a_f = amounts["folds"]
    folds = np.maximum(masks["folds"], masks["skin"])
    k_folds = folds * np.where(coarse < 0, np.float32(min(1.0, 1.5 * a_f)), np.float32(a_f))
    d_luma = -coarse * k_folds * spare_c
    # under-eyes: lifted towards the cheek's brightness (eye bags' shadow, tear troughs)
    cheek, under = state.follow(mean_in(g_base, masks["cheek"]), mean_in(g_base, masks["under_eye"]))
    d_luma += np.float32(max(0.0, cheek - under) * amounts["under_eye"] * 0.9) * masks["under_eye"]
    # blotchy tone and chroma: evened towards the skin's broad colour
    tone = np.float32(0.5 * amounts["tone"])
    g_rgb = blur(small, base * s_scale)
    d_tone = (blur(g_rgb, 0.5 * s_scale) - g_rgb) * tone
    d_tone -= luma_of(d_tone)[..., None] * np.float32(0.5)  # colour more than brightness
    delta = d_tone + d_luma[..., None]
    # keep the face's overall colour and brightness where the plate has them: no drift against
    # the neck and ears (taking the creases out of a bright forehead darkens it on average)
    drift = np.array([mean_in(delta[..., c], skin) for c in range(3)], np.float32)
    delta = (delta - drift) * skin[..., None]

    # fine lines at full resolution, on brightness: dark ones first, gone at the full amount
    a_w = amounts["wrinkles"]
    spare_f = np.exp(-np.square(fine_full * np.float32(1.0 / tau_f)))
    k_lines = np.where(fine_full < 0, np.float32(min(1.0, 1.5 * a_w)), np.float32(a_w))
    skin_full = up(skin, w, h)
    d_fine = -fine_full * k_lines * spare_f
    d_fine = (d_fine - np.float32(mean_in(_down(d_fine, sw, sh), skin))) * skin_full  # no brightening
    return np.asarray(d_fine, np.float32), np.asarray(delta, np.float32), skin, small


def _fine_band(img: F32, scale: float) -> F32:
    """Brightness between ``KEEP`` and ``LINES``: fine lines, crow's feet, small spots."""
    luma = luma_of(img)
    return np.asarray(blur(luma, KEEP * scale) - blur(luma, LINES * scale), np.float32)


def _down(img: F32, w: int, h: int) -> F32:
    return np.asarray(cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA), np.float32)
