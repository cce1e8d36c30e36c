"""The de-aging retouch of one face crop: warp, frequency separation, recombine.

Everything is a smooth function of the pixels and of the (smoothed) landmarks,
so a steady face gives a steady result: no edit is switched on or off by a
threshold, and the few measured quantities (the cheek brightness an under-eye is
lifted towards) are carried from frame to frame by ``RetouchState``.

Working values are display-referred RGB in 0..1 (the plate's own encoding), where
a wrinkle is a dark line of a few percent: the scale a retoucher works in.

The luminance is split into four bands by blurs tied to the face's size:
``fine`` (pores and grain, kept untouched so skin stays alive), ``mid`` (wrinkles,
crow's feet, spots), ``coarse`` (folds, under-eye hollows) and ``base`` (tone).
Dark detail in ``mid`` is pulled back where lines are expected, dark ``coarse``
shading is lifted in the folds, the under-eyes are lifted towards the cheek's
brightness and chroma blotches are evened out. Small landmark-guided warps lift
jowls, cheeks, brows and mouth corners and open the eyes a little.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from . import _face_regions as fr

F32 = NDArray[np.float32]
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass(frozen=True)
class Strengths:
    """How much of each edit; 1.0 is the default for the chosen years."""

    wrinkles: float = 1.0
    under_eye: float = 1.0
    folds: float = 1.0  # nasolabial and marionette folds
    tone: float = 1.0  # skin tone evenness
    lift: float = 1.0  # jawline and cheek lift
    eyes: float = 1.0  # eye aperture
    feather: float = 0.12  # the matte's softness, in face units

    def scaled(self, years: float) -> dict[str, float]:
        """Per-edit amounts for ``years`` taken off: grows quickly at first, then eases."""
        k = 1.0 - math.exp(-max(years, 0.0) / 16.0)  # 5 y: 0.27, 15 y: 0.61, 30 y: 0.85
        return {
            "wrinkles": min(1.0, 1.25 * k * self.wrinkles),
            "under_eye": min(1.0, k * self.under_eye),
            "folds": min(1.0, 1.1 * k * self.folds),
            "tone": min(1.0, 0.8 * k * self.tone),
            "lift": k * self.lift,
            "eyes": k * self.eyes,
        }


@dataclass
class RetouchState:
    """What a face carries between frames: slowly varying measurements."""

    cheek_luma: float | None = None
    under_luma: float | None = None
    mid_level: float | None = None
    coarse_level: float | None = None
    rate: float = 0.15  # per frame; a still uses the first measurement as is

    def texture(self, mid: float, coarse: float) -> tuple[float, float]:
        """How strong a feature must be to count as structure rather than skin texture:
        a few times the face's own mean texture, so the same face at any sharpness or
        resolution is treated alike."""
        if self.mid_level is None or self.coarse_level is None:
            self.mid_level, self.coarse_level = mid, coarse
        else:
            self.mid_level += self.rate * (mid - self.mid_level)
            self.coarse_level += self.rate * (coarse - self.coarse_level)
        return (float(np.clip(8.0 * self.mid_level, 0.15, 0.5)),
                float(np.clip(3.0 * self.coarse_level, 0.08, 0.4)))  # fmt: skip

    def follow(self, cheek: float, under: float) -> tuple[float, float]:
        if self.cheek_luma is None or self.under_luma is None:
            self.cheek_luma, self.under_luma = cheek, under
        else:
            self.cheek_luma += self.rate * (cheek - self.cheek_luma)
            self.under_luma += self.rate * (under - self.under_luma)
        return self.cheek_luma, self.under_luma


@dataclass
class Retouched:
    image: F32  # the treated crop
    matte: F32  # where it differs from the plate, 0..1
    landmarks: F32  # the landmarks after the warp
    timings: dict[str, float] = field(default_factory=dict)


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
    small = cv2.resize(img, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / factor)
    return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)


def warp_field(lm: F32, scale: float, shape: tuple[int, int], amounts: dict[str, float],
               step: int = 8) -> F32 | None:  # fmt: skip
    """A smooth displacement field (h, w, 2), zero far from the face, from landmark handles.

    Each handle says where a point should move (in face units); still points and a
    ring around the face say where nothing should move. The field through them is a
    Gaussian radial-basis interpolation solved exactly, evaluated on a coarse grid.
    """
    lift, eyes = amounts["lift"], amounts["eyes"]
    if lift <= 0 and eyes <= 0:
        return None
    up = fr.up_vector(lm)
    centre = lm[fr.FACE_OVAL].mean(axis=0)
    handles: list[tuple[int, F32]] = []

    def move(idx: list[int], up_by: float, inward: float) -> None:
        for i in idx:
            side = centre - lm[i]
            side = side - up * float(np.dot(side, up))  # the across-face part only
            n = float(np.hypot(*side)) or 1.0
            d = up * (-up_by) + side / n * inward  # image y grows down: "up" is -up_by along up
            handles.append((i, (-d * scale).astype(np.float32)))

    # lifts: jowls up and in, cheekbones up, mouth corners a little up, brows up
    move(fr.RIGHT_JOWL + fr.LEFT_JOWL, 0.05 * lift, 0.02 * lift)
    move(fr.RIGHT_CHEEKBONE + fr.LEFT_CHEEKBONE, 0.04 * lift, -0.005 * lift)
    move(fr.MOUTH_CORNERS, 0.02 * lift, 0.0)
    move(fr.RIGHT_BROW[:5] + fr.LEFT_BROW[:5], 0.025 * lift, 0.0)
    # eye aperture: upper lids up a little (an older lid droops)
    move(fr.RIGHT_UPPER_LID + fr.LEFT_UPPER_LID, 0.02 * eyes, 0.0)
    pts = [lm[i] for i, _ in handles]
    disp = [d for _, d in handles]
    zero = np.zeros(2, np.float32)
    for i in fr.STILL_POINTS + fr.RIGHT_EYE[:9] + fr.LEFT_EYE[:9]:
        pts.append(lm[i])
        disp.append(zero)
    for i in fr.FACE_OVAL[::2]:  # a ring outside the face holds the background still
        pts.append(centre + (lm[i] - centre) * 1.22)
        disp.append(zero)
    p = np.asarray(pts, np.float64)
    d = np.asarray(disp, np.float64)
    r = 0.32 * scale
    d2 = ((p[:, None, :] - p[None, :, :]) ** 2).sum(-1)
    kernel = np.exp(-d2 / (2 * r * r)) + 1e-3 * np.eye(len(p))
    coef = np.linalg.solve(kernel, d)
    h, w = shape
    gh, gw = math.ceil(h / step) + 1, math.ceil(w / step) + 1
    gy, gx = np.mgrid[0:gh, 0:gw].astype(np.float64) * step
    g = np.stack([gx.ravel(), gy.ravel()], axis=1)
    kg = np.exp(-((g[:, None, :] - p[None, :, :]) ** 2).sum(-1) / (2 * r * r))
    field_small = (kg @ coef).reshape(gh, gw, 2).astype(np.float32)
    field_full = cv2.resize(field_small, ((gw - 1) * step + 1, (gh - 1) * step + 1),
                            interpolation=cv2.INTER_LINEAR)[:h, :w]  # fmt: skip
    return np.ascontiguousarray(field_full)


def apply_warp(img: F32, field_xy: F32) -> F32:
    """Move the picture by ``field_xy``: the pixel at x shows what was at x - d(x)."""
    h, w = img.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    moved = cv2.remap(img, gx - field_xy[..., 0], gy - field_xy[..., 1], cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_REFLECT)  # fmt: skip
    return np.asarray(moved, np.float32)


def moved_landmarks(lm: F32, field_xy: F32 | None) -> F32:
    if field_xy is None:
        return lm
    h, w = field_xy.shape[:2]
    xi = np.clip(np.round(lm[:, 0]).astype(int), 0, w - 1)
    yi = np.clip(np.round(lm[:, 1]).astype(int), 0, h - 1)
    return np.asarray(lm + field_xy[yi, xi], np.float32)


def _mean_in(values: F32, weight: F32) -> float:
    total = float(weight.sum())
    return float((values * weight).sum() / total) if total > 1e-3 else 0.0


def retouch(crop: F32, lm: F32, years: float, strengths: Strengths, state: RetouchState) -> Retouched:
    """De-age the face in ``crop`` (h, w, 3 display RGB 0..1) whose landmarks ``lm`` are in
    crop pixels."""
    amounts = strengths.scaled(years)
    scale = fr.face_scale(lm)
    h, w = crop.shape[:2]
    field_xy = warp_field(lm, scale, (h, w), amounts)
    warped = apply_warp(crop, field_xy) if field_xy is not None else crop
    lm2 = moved_landmarks(lm, field_xy)
    masks = fr.face_masks(lm2, (h, w), scale, strengths.feather, step=max(1, round(scale / 60)))
    skin = masks["skin"]

    luma = warped @ _LUMA
    chroma = warped - luma[..., None]
    g1 = blur(luma, max(0.6, 0.006 * scale))  # pores and grain stay below this
    g2 = blur(luma, 0.075 * scale)  # wrinkles and spots between g1 and g2
    g3 = blur(luma, 0.28 * scale)  # folds and hollows between g2 and g3
    fine, mid, coarse, base = luma - g1, g1 - g2, g2 - g3, g3

    # wrinkles: pull back the wrinkle band, dark creases most, but spare strong structure
    # (glasses rims, the nose's edge, a lash line) by how far it stands out of skin texture
    lines = masks["lines"] * amounts["wrinkles"]
    tau_mid, tau_coarse = state.texture(_mean_in(np.abs(mid), skin), _mean_in(np.abs(coarse), skin))
    spare = np.exp(-np.square(mid * (1.0 / tau_mid)))
    mid_new = mid * (1.0 - lines * spare * np.where(mid < 0.0, 0.96, 0.8))
    folds = np.maximum(masks["folds"], 0.45 * skin) * amounts["folds"]
    spare = np.exp(-np.square(coarse * (1.0 / tau_coarse)))
    coarse_new = coarse * (1.0 - folds * spare * np.where(coarse < 0.0, 0.85, 0.35))

    cheek, under = state.follow(_mean_in(base, masks["cheek"]), _mean_in(base, masks["under_eye"]))
    lift = max(0.0, cheek - under) * amounts["under_eye"] * 0.85
    base_new = base + lift * masks["under_eye"]
    tone = skin * amounts["tone"]
    broad = blur(base, 0.6 * scale)
    base_new = base_new - (base - broad) * (0.35 * tone)  # blotchy low-frequency tone
    luma_new = base_new + coarse_new + mid_new + fine

    c_mid = blur(chroma, 0.05 * scale)
    c_broad = blur(chroma, 0.5 * scale)
    chroma_new = chroma - (c_mid - c_broad) * (0.7 * tone)[..., None]  # redness, spots, veins
    out = luma_new[..., None] + chroma_new
    # keep the face's overall colour where the plate has it: no drift against the neck and ears
    delta = out - warped
    drift = np.array([_mean_in(delta[..., c], skin) for c in range(3)], np.float32)
    out = out - drift * 0.6
    matte = skin if field_xy is None else np.maximum(skin, _warp_support(field_xy, scale))
    result = warped + (out - warped) * skin[..., None]
    return Retouched(np.clip(result, 0.0, 1.0).astype(np.float32), matte, lm2)


def _warp_support(field_xy: F32, scale: float) -> F32:
    """Where the warp moves pixels by more than a hundredth of a pixel, softened."""
    mag = np.hypot(field_xy[..., 0], field_xy[..., 1])
    return np.clip(mag * 100.0, 0.0, 1.0).astype(np.float32)
