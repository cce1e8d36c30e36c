"""The de-aging's tonal edits of the skin: texture, folds, spots, under-eyes, tone.

An apparent age is read mostly from the skin's texture between the pores and the
face's shading: fine lines and crow's feet, creases, folds, age spots and blotches
(measured: removing that band takes 10 to 45 years off an age network's estimate,
where halving it takes next to nothing). So the band between ``KEEP`` (pores and
grain: never touched, so the skin stays alive) and a base blur whose size grows
with the years is taken out of the skin, wholly once the years are enough:

- fine lines (``KEEP`` to ``LINES``): out at the ``wrinkles`` amount; below ``PORES``
  only where the band is line-like, so the pores stay and the skin does not turn to wax;
- creases, folds and spots (``LINES`` to the base): out at the ``folds`` amount, with
  dark features (a crease, a spot, a fold's shadow) pulled back more than light ones;
  measured on the skin alone, so a jaw's edge or a hairline is no crease;
- folds, troughs and hollows wider than that (nasolabial, marionette, the chin's
  crease, tear troughs, the jowls' shadow): filled to the level of the skin around
  them (a grey closing), the bulges beside them lowered a little (an opening);
- structure far stronger than any skin texture (a glasses rim, a nostril's edge) is
  spared, and so is whatever is not skin by colour (a beard, stubble, a frame);
- under-eyes lifted towards the cheek's brightness (eye bags and their shadow);
- the skin's colour relative to its brightness evened (blotches, redness, brown
  patches), from the skin alone, and held to the plate's on average: no cast.

Pure functions of the pixels and the (smoothed) landmarks, with the few measured
levels carried from frame to frame by ``RetouchState``: a steady face gets a steady
result.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from numpy.typing import NDArray

from .._filters import guided_filter
from . import _face_regions as fr

if TYPE_CHECKING:
    from ._retouch import RetouchState

F32 = NDArray[np.float32]
LUMA = np.array([0.299, 0.587, 0.114], np.float32)
KEEP = 0.008  # face units: finer than this is grain, kept as it is
PORES = 0.025  # from KEEP to this: pores (kept) and the finest lines (taken where line-like)
LINES = 0.06  # fine lines end here; creases and folds go on to the base


def base_sigma(years: float, folds: float) -> float:
    """The base blur (face units): how coarse a feature counts as age. Grows with the years,
    so a few years take the lines and many take the folds too."""
    return float(np.clip((0.07 + 0.0045 * years) * (0.6 + 0.4 * folds), LINES + 0.01, 0.3))


def blur(img: F32, sigma: float) -> F32:
    """A Gaussian blur that stays cheap for large sigmas (blur a smaller copy, then resize)."""
    if sigma < 0.6:
        return img
    h, w = img.shape[:2]
    factor = 1
    while sigma / (factor * 2) >= 1.8 and min(h, w) // (factor * 2) >= 8:
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


def skin_likeness(img: F32, luma: F32, cheek: F32, state: RetouchState, scale: float) -> F32:
    """How much each pixel looks like this face's skin by its colour (0..1), whatever its
    shading: colour is taken relative to brightness, so a fold's shadow is as much skin as
    the lit cheek. Grey or white hair, a beard and frames are far less coloured than skin
    (or another hue) and are left alone; so is what is far darker than the cheeks."""
    rel = np.asarray((img - luma[..., None]) / np.maximum(luma, np.float32(0.04))[..., None], np.float32)
    ref = np.array([mean_in(rel[..., c], cheek) for c in range(3)], np.float32)
    ref = state.follow_chroma(ref)
    norm2 = max(float(ref @ ref), 1e-4)
    along = np.asarray((rel @ ref) * np.float32(1.0 / norm2), np.float32)  # 1: as coloured as the cheeks
    across = rel - along[..., None] * ref[None, None, :]
    hue = np.exp(np.square(across).sum(-1) * np.float32(-0.5 / max(0.25 * norm2, 0.0064)))
    cheek_luma = max(mean_in(luma, cheek), 0.05)
    like = _smoothstep(along, 0.2, 0.5) * hue * _smoothstep(luma * np.float32(1.0 / cheek_luma), 0.25, 0.45)
    return blur(np.asarray(like, np.float32), 0.04 * scale)


def _smoothstep(x: NDArray[Any], lo: float, hi: float) -> F32:
    t = np.clip((x - np.float32(lo)) * np.float32(1.0 / (hi - lo)), 0.0, 1.0)
    return np.asarray(t * t * (3 - 2 * t), np.float32)


def _spare(band: F32, tau: float) -> F32:
    """1 for skin texture, falling to 0 for structure far stronger than any (a glasses rim):
    steep, so a deep crease is still taken out whole."""
    x = np.square(band * np.float32(1.0 / tau))
    return np.asarray(np.exp(-x * x), np.float32)


def _weighted(stack: F32, sigma: float) -> F32:
    """A weighted average around each pixel: ``stack``'s last channel is the weight, the others
    already multiplied by it; returns those others divided by the blurred weight (the skin's
    own colour, without the background, hair or eyes mixed in)."""
    b = blur(np.ascontiguousarray(stack, np.float32), sigma)
    return np.asarray(b[..., :-1] / b[..., -1:], np.float32)


SMALL_UNIT = 22.0  # px to the face unit of the copy the smooth edits are worked out on


def small_step(scale: float) -> float:
    """How many of the work size's pixels make one of the small copy's."""
    return max(1.0, scale / SMALL_UNIT)


def small_size(scale: float, size: tuple[int, int]) -> tuple[int, int]:
    """(w, h) of the copy the smooth edits are worked out on: ``SMALL_UNIT`` px to the face unit."""
    step = small_step(scale)
    return math.ceil(size[0] / step), math.ceil(size[1] / step)


VALLEY = 0.12  # face units: folds and creases up to about twice this wide are filled in


def tonal(img: F32, lm: F32, scale: float, amounts: dict[str, float], feather: float, base: float,
          state: RetouchState, layers: dict[str, F32] | None = None) -> tuple[F32, F32, F32, F32]:  # fmt: skip
    """The tonal edits of ``img`` (display RGB floats, landmarks ``lm`` in its pixels).

    Returns the fine lines' correction (luma, at ``img``'s size), and at the small size
    (``small_size``): the smooth correction (RGB), the skin matte, and the small copy.
    Only the fine lines need the full resolution; creases, folds, under-eyes and tone are
    smooth, worked out on a copy of ``SMALL_UNIT`` px to the face unit and scaled back up.
    ``layers``, when given, receives the intermediate layers (for debugging and tests)."""
    h, w = img.shape[:2]
    step = small_step(scale)
    masks = fr.face_masks(lm, (h, w), scale, feather, step=step)  # soft: painted small
    sh, sw = masks["skin"].shape
    small = np.asarray(cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA), np.float32)
    s_scale = scale / step
    luma_s = luma_of(small)
    # the matte, drawn from the mesh, snapped to the plate's own edges (a jaw against the
    # background, hair across the forehead), and kept to what is skin by its colour
    radius = max(1, round(0.1 * s_scale))
    skin = np.clip(guided_filter(luma_s, masks["skin"], radius, 2e-3), 0.0, 1.0).astype(np.float32)
    skin = (skin * skin_likeness(small, luma_s, masks["cheek"], state, s_scale)).astype(np.float32)

    # creases, folds and spots: the band from ``LINES`` to the base, dark ones first; at the
    # full amount the band is gone (a remnant still reads as age). The bands are measured on
    # the skin alone (blurs weighted by the matte), so the jaw's edge against the neck's
    # shadow, or the hairline against the hair, counts as no crease. One weighted blur at the
    # base's size gives the skin's local colour and brightness together.
    sk = skin + np.float32(1e-3)
    local = _weighted(np.dstack([small * sk[..., None], sk]), max(base, LINES) * s_scale)
    g_base = luma_of(local)
    g_lines = _weighted(np.dstack([luma_s * sk, sk]), LINES * s_scale)[..., 0]
    coarse = g_lines - g_base
    fine_full = _fine_band(img, scale)
    tau_f, tau_c = state.texture(mean_in(np.abs(_down(fine_full, sw, sh)), skin), mean_in(np.abs(coarse), skin))
    a_f = amounts["folds"]
    k_folds = masks["skin"] * np.where(coarse < 0, np.float32(min(1.0, 1.5 * a_f)), np.float32(a_f))
    d_luma = -coarse * k_folds * _spare(coarse, tau_c)
    # taking the creases out of a bright forehead darkens it on average: that much is given back
    d_luma -= np.float32(mean_in(d_luma, skin))
    # folds, troughs and hollows wider than the band (nasolabial, marionette, the chin's crease,
    # tear troughs, the jowl's shadow): filled in to the level of the skin around them (a grey
    # closing), where age puts them; the bulges beside them (eye bags, the fold's cheek)
    # lowered a little (an opening)
    lifted = g_lines + d_luma
    r = max(1, round(VALLEY * s_scale))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    relief = blur(np.dstack([np.asarray(cv2.morphologyEx(lifted, cv2.MORPH_CLOSE, disk), np.float32) - lifted,
                             lifted - np.asarray(cv2.morphologyEx(lifted, cv2.MORPH_OPEN, disk), np.float32)]),
                  0.5 * r)  # fmt: skip
    valley, ridge = relief[..., 0], relief[..., 1]
    a_v = amounts.get("valleys", 0.0)
    d_luma += valley * masks["valleys"] * np.float32(a_v)
    d_luma -= ridge * masks["bulges"] * np.float32(0.5 * a_v)
    # under-eyes: lifted towards the cheek's brightness (eye bags' shadow, tear troughs)
    cheek, under = state.follow(mean_in(g_base, masks["cheek"]), mean_in(g_base, masks["under_eye"]))
    d_luma += np.float32(max(0.0, cheek - under) * amounts["under_eye"] * 0.9) * masks["under_eye"]
    # blotches, redness and brown patches: the skin's colour (relative to its brightness, so
    # shading is kept) evened towards its broad colour, taken from the skin alone
    tone = np.float32(0.4 * amounts["tone"])
    broad = _weighted(np.dstack([small * sk[..., None], sk]), 0.5 * s_scale)
    l_broad = luma_of(broad)
    rel_local = (local - g_base[..., None]) / np.maximum(g_base, np.float32(0.04))[..., None]
    rel_broad = (broad - l_broad[..., None]) / np.maximum(l_broad, np.float32(0.04))[..., None]
    d_tone = (rel_broad - rel_local) * (g_base * tone)[..., None]
    delta = d_tone + d_luma[..., None]
    # keep the face's overall colour where the plate has it: no drift against the neck and ears
    # (a filled fold may brighten the face, as the fold's shadow darkened it)
    drift = np.array([mean_in(d_tone[..., c], skin) for c in range(3)], np.float32)
    delta = (delta - drift) * skin[..., None]

    # fine lines at full resolution, on brightness: dark ones first, gone at the full amount
    a_w = amounts["wrinkles"]
    k_lines = np.where(fine_full < 0, np.float32(min(1.0, 1.5 * a_w)), np.float32(a_w))
    skin_full = up(skin, w, h)
    d_fine = -fine_full * k_lines * _spare(fine_full, tau_f)
    d_fine = (d_fine - np.float32(mean_in(_down(d_fine, sw, sh), skin))) * skin_full  # no brightening
    if layers is not None:
        layers.update(skin=skin, coarse=coarse, valley=valley, ridge=ridge, d_luma=d_luma, d_tone=d_tone,
                      valleys=masks["valleys"], bulges=masks["bulges"])  # fmt: skip
    return np.asarray(d_fine, np.float32), np.asarray(delta, np.float32), skin, small


def _fine_band(img: F32, scale: float) -> F32:
    """Brightness between ``KEEP`` and ``LINES``: fine lines, crow's feet, small spots; of
    its finest part (under ``PORES``) only what is line-like, so the pores stay."""
    luma = luma_of(img)
    l1, l2 = blur(luma, KEEP * scale), blur(luma, PORES * scale)
    # the Hessian of the smoothed band at half size is enough to tell a line from a dot
    h, w = luma.shape
    half = np.asarray(cv2.resize(l2, (max(4, w // 2), max(4, h // 2)), interpolation=cv2.INTER_AREA), np.float32)
    line = up(_lineness(half), w, h)
    return np.asarray((l1 - l2) * line + l2 - blur(luma, LINES * scale), np.float32)


def _lineness(g: F32) -> F32:
    """0..1: how much the (blurred) picture is a thin line, dark or light, rather than a dot (a
    pore) or flat: from the Hessian's eigenvalues, one large and one small across a line."""
    dxx = cv2.Sobel(g, cv2.CV_32F, 2, 0, ksize=3)
    dyy = cv2.Sobel(g, cv2.CV_32F, 0, 2, ksize=3)
    dxy = cv2.Sobel(g, cv2.CV_32F, 1, 1, ksize=3)
    half_diff = np.sqrt(np.square(dxx - dyy) * np.float32(0.25) + np.square(dxy))
    mean = (dxx + dyy) * np.float32(0.5)
    big = np.abs(mean) + half_diff  # |the larger eigenvalue|
    small = np.abs(np.abs(mean) - half_diff)  # |the smaller|
    return np.asarray(np.clip((big - 2.0 * small) / (big + np.float32(1e-6)), 0.0, 1.0), np.float32)


def _down(img: F32, w: int, h: int) -> F32:
    return np.asarray(cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA), np.float32)
