"""The de-aging retouch of one face crop: plan (warp, tonal change, hair), then apply.

Everything is a smooth function of the pixels and of the (smoothed) landmarks,
so a steady face gives a steady result: no edit is switched on or off by a
threshold, and the few measured quantities (the cheek brightness an under-eye is
lifted towards, the skin's chroma, the texture level, the hair's colour) are carried
from frame to frame by ``RetouchState``.

Working values are display-referred RGB in 0..1 (the plate's own encoding).
The edits live in their own modules: ``_texture`` (lines, folds, spots, under-eyes,
tone), ``_warp`` (jowls, jaw, cheeks, chin, brows and lids), ``_hair`` (grey hair
given its colour back). Their amounts grow with the years taken off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from . import _face_regions as fr
from ._hair import HairPlan
from ._hair import hair_change as hair_delta
from ._texture import base_sigma, blur, tonal
from ._warp import WarpField, apply_warp, warp_field

__all__ = ["RetouchPlan", "RetouchState", "Strengths", "WarpField", "apply_plan", "apply_warp", "blur",
           "plan_retouch", "warp_field", "work_size"]

F32 = NDArray[np.float32]


@dataclass(frozen=True)
class Strengths:
    """How much of each edit; 1.0 is the default for the chosen years."""

    wrinkles: float = 1.0
    under_eye: float = 1.0
    folds: float = 1.0  # nasolabial and marionette folds, creases, spots
    tone: float = 1.0  # skin tone evenness
    lift: float = 1.0  # jawline, jowls, cheeks, chin, brows and lid folds (a landmark-guided warp)
    eyes: float = 0.0  # eye aperture: off unless asked (it raised the age estimate in our tests)
    feather: float = 0.12  # the matte's softness, in face units

    def scaled(self, years: float, intensity: float = 1.0) -> dict[str, float]:
        """Per-edit amounts for ``years`` taken off. The texture edits are whole after a few
        years (half a wrinkle still reads as a wrinkle to the eye and to an age model):
        more years reach coarser features instead (``base_sigma``). The shape edits grow
        with the years. ``intensity`` (from ``_calibrate``) scales everything for a face that
        shows its years more, or less, than most."""
        y = max(years, 0.0) * max(intensity, 0.0)
        k = min(1.5, y / 20.0)  # 10 y: 0.5, 20 y: 1, 30 y and more: 1.5
        return {
            "wrinkles": min(1.0, y / 6.0 * self.wrinkles),
            "folds": min(1.0, y / 10.0 * self.folds),
            "valleys": min(1.0, y / 25.0 * self.folds),  # folds and hollows wider than a line, filled in
            "under_eye": min(1.0, y / 15.0 * self.under_eye),
            "tone": min(1.0, y / 15.0 * self.tone),
            "lift": k * self.lift,
            "volume": 0.4 * k * self.lift,  # costs likeness quickly, buys little on its own
            "lids": 0.25 * k * self.lift,  # a hooded lid opened; more reads as surprise
            "eyes": k * self.eyes,
            "hair": min(1.0, y / 15.0),
        }


@dataclass
class RetouchState:
    """What a face carries between frames: slowly varying measurements."""

    cheek_luma: float | None = None
    under_luma: float | None = None
    mid_level: float | None = None
    coarse_level: float | None = None
    chroma: F32 | None = None
    hair: dict[str, Any] = field(default_factory=dict)  # the hair's measured colour and matte
    rate: float = 0.15  # per frame; a still uses the first measurement as is

    def follow_chroma(self, value: F32) -> F32:
        """The cheeks' chroma, steadied."""
        if self.chroma is None:
            self.chroma = value.astype(np.float32)
        else:
            self.chroma = (self.chroma + np.float32(self.rate) * (value - self.chroma)).astype(np.float32)
        return self.chroma

    def texture(self, mid: float, coarse: float) -> tuple[float, float]:
        """How strong a feature must be to count as structure rather than skin texture:
        a few times the face's own mean texture, so the same face at any sharpness or
        resolution is treated alike."""
        if self.mid_level is None or self.coarse_level is None:
            self.mid_level, self.coarse_level = mid, coarse
        else:
            self.mid_level += self.rate * (mid - self.mid_level)
            self.coarse_level += self.rate * (coarse - self.coarse_level)
        return (float(np.clip(14.0 * self.mid_level, 0.2, 0.5)),
                float(np.clip(10.0 * self.coarse_level, 0.25, 0.5)))  # fmt: skip

    def follow(self, cheek: float, under: float) -> tuple[float, float]:
        if self.cheek_luma is None or self.under_luma is None:
            self.cheek_luma, self.under_luma = cheek, under
        else:
            self.cheek_luma += self.rate * (cheek - self.cheek_luma)
            self.under_luma += self.rate * (under - self.under_luma)
        return self.cheek_luma, self.under_luma


@dataclass
class RetouchPlan:
    """What the retouch will do to a face region: a tonal change (display units, worked out
    at a reduced size and already weighted by the mattes), a brightness gain (the hair's,
    or None) and a warp."""

    delta: F32  # (sh, sw, 3): in the warped face's geometry, at any size (scaled to the region's)
    skin: F32  # (sh, sw), the matte of the face as it was (before the warp)
    field: WarpField | None  # in the region's own pixels
    size: tuple[int, int]  # the region (w, h)
    landmarks: F32  # the region's landmarks after the warp
    gain: F32 | None = None  # (sh, sw), multiplies brightness before the deltas are added
    fine: F32 | None = None  # (wh, ww), the fine lines' change of brightness (neutral grey)


def work_size(lm: F32, size: tuple[int, int], max_unit: float = 64.0) -> tuple[int, int]:
    """The size to work a region out at: no finer than ``max_unit`` pixels to the face unit,
    so a 4K close-up costs what a 1080p medium shot does (fine lines need ~60 px to the unit)."""
    w, h = size
    f = min(1.0, max_unit / max(fr.face_scale(lm), 1e-3))
    return (max(8, round(w * f)), max(8, round(h * f))) if f < 1.0 else (w, h)


def plan_retouch(work: NDArray[Any], lm: F32, size: tuple[int, int], years: float, strengths: Strengths,
                 state: RetouchState, hair: HairPlan | None = None, matte: F32 | None = None,
                 intensity: float = 1.0) -> RetouchPlan:  # fmt: skip
    """Work out the retouch of a face region from ``work`` (the region at ``work_size``:
    8-bit RGB or display floats); ``lm`` are the landmarks in the full region's pixels.
    ``hair`` and ``matte`` (the person's matte at the work size) recolour grey hair."""
    amounts = strengths.scaled(years, intensity)
    w, h = size
    warp = warp_field(lm, fr.face_scale(lm), (h, w), amounts)
    ww, wh = work.shape[1], work.shape[0]
    lm_w = lm * np.array([ww / w, wh / h], np.float32)
    work_f = work.astype(np.float32) * np.float32(1 / 255) if work.dtype == np.uint8 else np.asarray(work, np.float32)
    scale = fr.face_scale(lm_w)
    base = base_sigma(years * intensity, strengths.folds)
    d_fine, d_small, skin, small = tonal(work_f, lm_w, scale, amounts, strengths.feather, base, state)
    gain = None
    if hair is not None and matte is not None:  # the hair's change, on the small copy: the gain
        sw, sh = small.shape[1], small.shape[0]  # multiplies each strand's own pixels at full size
        lm_s = lm * np.array([sw / w, sh / h], np.float32)
        matte_s = np.asarray(cv2.resize(matte, (sw, sh), interpolation=cv2.INTER_AREA), np.float32)
        change = hair_delta(small, lm_s, fr.face_scale(lm_s), matte_s, skin, hair, amounts["hair"], state,
                            detail=work_f)  # fmt: skip
        if change is not None:
            gain = change[0]
            d_small = d_small + change[1]
    if warp is not None:  # the change is worked out on the face as it was: move it with the face
        d_fine = apply_warp(d_fine, warp.resized(ww / w, ww, wh))
        small_warp = warp.resized(d_small.shape[1] / w, d_small.shape[1], d_small.shape[0])
        d_small = apply_warp(d_small, small_warp)
        gain = apply_warp(gain, small_warp) if gain is not None else None
    moved = lm if warp is None else np.asarray(lm + warp.at(lm), np.float32)
    return RetouchPlan(d_small, skin, warp, (w, h), moved, gain, d_fine)


def _up(img: F32, w: int, h: int) -> F32:
    return np.asarray(cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)


def apply_plan(region: F32, plan: RetouchPlan, weight: float = 1.0) -> F32:
    """The retouched region (display floats): the warp, then the (already warped) gain and
    tonal change."""
    w, h = plan.size
    out = apply_warp(region, plan.field.scaled(weight)) if plan.field is not None else region
    if plan.gain is not None:
        gain = np.float32(1.0) + (_up(plan.gain, w, h) - np.float32(1.0)) * np.float32(weight)
        out = out * gain[..., None]
    delta = _up(plan.delta, w, h)
    if plan.fine is not None:
        delta = delta + _up(plan.fine, w, h)[..., None]
    out = out + delta * np.float32(weight)
    return np.clip(out, 0.0, 1.0).astype(np.float32)
