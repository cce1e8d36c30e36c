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
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from .._filters import guided_filter
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
    eyes: float = 0.0  # eye aperture: off unless asked (it raised the age estimate in our tests)
    feather: float = 0.12  # the matte's softness, in face units

    def scaled(self, years: float) -> dict[str, float]:
        """Per-edit amounts for ``years`` taken off: grows quickly at first, then eases."""
        k = 1.0 - math.exp(-max(years, 0.0) / 16.0)  # 5 y: 0.27, 15 y: 0.61, 30 y: 0.85
        return {
            "wrinkles": min(1.0, 1.4 * k * self.wrinkles),
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
        return (float(np.clip(12.0 * self.mid_level, 0.2, 0.6)),
                float(np.clip(3.0 * self.coarse_level, 0.08, 0.4)))  # fmt: skip

    def follow(self, cheek: float, under: float) -> tuple[float, float]:
        if self.cheek_luma is None or self.under_luma is None:
            self.cheek_luma, self.under_luma = cheek, under
        else:
            self.cheek_luma += self.rate * (cheek - self.cheek_luma)
            self.under_luma += self.rate * (under - self.under_luma)
        return self.cheek_luma, self.under_luma


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


def warp_field(lm: F32, scale: float, shape: tuple[int, int], amounts: dict[str, float],
               step: int = 0) -> WarpField | None:  # fmt: skip
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
        """Handles on ``idx``: up the face by ``up_by`` and towards its middle by ``inward``
        (face units; negative is down or out)."""
        pts = lm[idx]
        side = centre - pts
        side = side - np.outer(side @ up, up)  # the across-face part only
        side /= np.maximum(np.hypot(side[:, 0], side[:, 1]), 1e-6)[:, None]
        d = (up * up_by + side * inward) * scale  # ``up`` points from chin to forehead
        for i, di in zip(idx, d, strict=True):
            handles.append((i, di.astype(np.float32)))

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
    p = np.asarray(pts, np.float32)
    d = np.asarray(disp, np.float32)
    r = 0.32 * scale
    d2 = ((p[:, None, :] - p[None, :, :]) ** 2).sum(-1)
    kernel = np.exp(-d2 / (2 * r * r)) + 1e-3 * np.eye(len(p))
    coef = np.linalg.solve(kernel.astype(np.float64), d.astype(np.float64)).astype(np.float32)
    h, w = shape
    step = step or max(4, round(scale / 8))  # the field is smooth on the scale of the face: ~30 nodes across
    gh, gw = math.ceil(h / step) + 1, math.ceil(w / step) + 1
    gy, gx = np.mgrid[0:gh, 0:gw].astype(np.float32) * np.float32(step)
    dx = gx.reshape(-1, 1) - p[None, :, 0]
    dy = gy.reshape(-1, 1) - p[None, :, 1]
    kg = np.exp((dx * dx + dy * dy) * np.float32(-1.0 / (2 * r * r)))
    grid = (kg @ coef).reshape(gh, gw, 2).astype(np.float32)
    grid[np.hypot(grid[..., 0], grid[..., 1]) < 0.01] = 0.0  # exactly still far from the face
    return WarpField(grid, step, h, w)


@dataclass
class WarpField:
    """A displacement field on a coarse grid (one node every ``step`` pixels)."""

    grid: F32  # (gh, gw, 2)
    step: float
    h: int
    w: int

    def _upsampled(self, grid: F32) -> F32:
        gh, gw = grid.shape[:2]
        size = (round((gw - 1) * self.step) + 1, round((gh - 1) * self.step) + 1)
        up = np.asarray(cv2.resize(grid, size, interpolation=cv2.INTER_LINEAR), np.float32)
        return up[: self.h, : self.w]  # a view: its users make new arrays from it

    def full(self) -> F32:
        return self._upsampled(self.grid)

    def scaled(self, k: float) -> WarpField:
        """The same warp, ``k`` times as strong (a fading edit), or at ``k`` times the size
        when ``resize`` (for a chroma plane at half size)."""
        return WarpField(self.grid * np.float32(k), self.step, self.h, self.w)

    def half(self) -> WarpField:
        """The field for a plane at half size (4:2:0 chroma)."""
        return self.resized(0.5, (self.w + 1) // 2, (self.h + 1) // 2)

    def resized(self, k: float, w: int, h: int) -> WarpField:
        """The same warp for the picture scaled by ``k`` to (w, h)."""
        return WarpField(self.grid * np.float32(k), self.step * k, h, w)

    def at(self, pts: F32) -> F32:
        """The displacement at points (bilinear on the grid)."""
        gh, gw = self.grid.shape[:2]
        x = np.clip(pts[:, 0] / self.step, 0, gw - 1.001)
        y = np.clip(pts[:, 1] / self.step, 0, gh - 1.001)
        x0, y0 = x.astype(int), y.astype(int)
        fx, fy = (x - x0)[:, None], (y - y0)[:, None]
        g = self.grid
        top = g[y0, x0] * (1 - fx) + g[y0, x0 + 1] * fx
        bottom = g[y0 + 1, x0] * (1 - fx) + g[y0 + 1, x0 + 1] * fx
        return np.asarray(top * (1 - fy) + bottom * fy, np.float32)



def apply_warp(img: NDArray[Any], field: WarpField) -> NDArray[Any]:
    """Move the picture by the field: the pixel at x shows what was at x - d(x)."""
    h, w = img.shape[:2]
    d = field.full()
    mx = np.arange(w, dtype=np.float32)[None, :] - d[..., 0]
    my = np.arange(h, dtype=np.float32)[:, None] - d[..., 1]
    moved = cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return np.asarray(moved, img.dtype)


def _mean_in(values: F32, weight: F32) -> float:
    total = float(weight.sum())
    return float(np.vdot(values, weight) / total) if total > 1e-3 else 0.0


def _up(img: F32, w: int, h: int) -> F32:
    return np.asarray(cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)


@dataclass
class RetouchPlan:
    """What the retouch will do to a face region: a smooth tonal change (display units,
    worked out at a reduced size and already weighted by the skin matte) and a warp."""

    delta: F32  # (wh, ww, 3), in the warped face's geometry
    skin: F32  # (wh, ww), the matte of the face as it was (before the warp)
    field: WarpField | None  # in the region's own pixels
    size: tuple[int, int]  # the region (w, h)
    landmarks: F32  # the region's landmarks after the warp


def work_size(lm: F32, size: tuple[int, int], max_unit: float = 72.0) -> tuple[int, int]:
    """The size to work a region out at: no finer than ``max_unit`` pixels to the face unit,
    so a 4K close-up costs what a 1080p medium shot does."""
    w, h = size
    f = min(1.0, max_unit / max(fr.face_scale(lm), 1e-3))
    return (max(8, round(w * f)), max(8, round(h * f))) if f < 1.0 else (w, h)


def plan_retouch(work: NDArray[Any], lm: F32, size: tuple[int, int], years: float, strengths: Strengths,
                 state: RetouchState) -> RetouchPlan:  # fmt: skip
    """Work out the retouch of a face region from ``work`` (the region at ``work_size``:
    8-bit RGB or display floats); ``lm`` are the landmarks in the full region's pixels."""
    amounts = strengths.scaled(years)
    w, h = size
    field = warp_field(lm, fr.face_scale(lm), (h, w), amounts)
    ww, wh = work.shape[1], work.shape[0]
    lm_w = lm * np.array([ww / w, wh / h], np.float32)
    work_f = work.astype(np.float32) * np.float32(1 / 255) if work.dtype == np.uint8 else np.asarray(work, np.float32)
    delta, skin = _tonal(work_f, lm_w, fr.face_scale(lm_w), amounts, strengths.feather, state)
    if field is not None:  # the change is worked out on the face as it was: move it with the face
        delta = apply_warp(delta, field.resized(ww / w, ww, wh))
    moved = lm if field is None else np.asarray(lm + field.at(lm), np.float32)
    return RetouchPlan(delta, skin, field, (w, h), moved)


def apply_plan(region: F32, plan: RetouchPlan, weight: float = 1.0) -> F32:
    """The retouched region (display floats): the warp, then the (already warped) tonal change."""
    w, h = plan.size
    out = apply_warp(region, plan.field.scaled(weight)) if plan.field is not None else region
    out = out + _up(plan.delta, w, h) * np.float32(weight)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _tonal(img: F32, lm: F32, scale: float, amounts: dict[str, float], feather: float,
           state: RetouchState) -> tuple[F32, F32]:  # fmt: skip
    """The tonal edits of ``img`` as a correction to add (already weighted by the skin
    matte), and that matte.

    Only the wrinkle band needs this resolution; folds, tone, the under-eye lift and
    chroma are smooth corrections, worked out on a still smaller copy (about 24 px to
    the face unit) and scaled back up.
    """
    h, w = img.shape[:2]
    step = max(1, int(scale // 24))
    masks = fr.face_masks(lm, (h, w), scale, feather, step=step)
    sh, sw = masks["skin"].shape
    small = np.asarray(cv2.resize(img, (sw, sh), interpolation=cv2.INTER_AREA), np.float32)
    s_scale = scale / step
    luma_s = small @ _LUMA
    # the skin matte, drawn from the mesh, refined to the plate: its soft edge snaps to the
    # picture's own edges (a jaw against the background, hair across the forehead)
    radius = max(1, round(0.1 * scale / step))
    skin_s = np.clip(guided_filter(luma_s, masks["skin"], radius, 2e-3), 0.0, 1.0).astype(np.float32)
    chroma_s = small - luma_s[..., None]
    g2_s = blur(luma_s, 0.075 * s_scale)
    g3_s = blur(luma_s, 0.28 * s_scale)
    coarse = g2_s - g3_s
    tau_mid, tau_coarse = state.texture(_mean_in(np.abs(luma_s - g2_s), skin_s), _mean_in(np.abs(coarse), skin_s))
    folds = np.maximum(masks["folds"], np.float32(0.6) * skin_s) * np.float32(amounts["folds"])
    spare = np.exp(-np.square(coarse * np.float32(1.0 / tau_coarse)))
    d_luma = -coarse * folds * spare * np.where(coarse < 0.0, np.float32(0.85), np.float32(0.35))
    cheek, under = state.follow(_mean_in(g3_s, masks["cheek"]), _mean_in(g3_s, masks["under_eye"]))
    lift = max(0.0, cheek - under) * amounts["under_eye"] * 0.85
    d_luma += np.float32(lift) * masks["under_eye"]
    tone = skin_s * np.float32(amounts["tone"])
    d_luma -= (g3_s - blur(luma_s, 0.6 * s_scale)) * (np.float32(0.35) * tone)  # blotchy tone
    d_chroma = (blur(chroma_s, 0.5 * s_scale) - blur(chroma_s, 0.05 * s_scale)) * (np.float32(0.7) * tone)[..., None]
    d_small = d_chroma + d_luma[..., None]

    # the wrinkle band: pull back dark creases most, and spare strong structure
    # (glasses rims, the nose's edge, a mole) by how far it stands out of skin texture
    luma = np.asarray(cv2.transform(img, _LUMA[None, :]), np.float32).reshape(h, w)
    g1 = np.asarray(cv2.GaussianBlur(luma, (0, 0), max(0.6, 0.006 * scale)), np.float32)
    mid = g1 - _up(g2_s, w, h)
    lines = _up(masks["lines"], w, h) * np.float32(amounts["wrinkles"])
    spare_m = np.exp(-np.square(mid * np.float32(1.0 / tau_mid)))
    d_mid = -mid * lines * spare_m * np.where(mid < 0.0, np.float32(0.96), np.float32(0.8))
    skin = _up(skin_s, w, h)
    delta = _up(d_small, w, h) + d_mid[..., None]
    # keep the face's overall colour where the plate has it: no drift against neck and ears
    drift = np.array([_mean_in(delta[::4, ::4, c], skin[::4, ::4]) for c in range(3)], np.float32)
    delta -= drift * np.float32(0.6)
    delta *= skin[..., None]
    return delta, skin
