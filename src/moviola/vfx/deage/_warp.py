"""The de-aging's shape changes: a smooth displacement field through landmark handles.

Age moves soft tissue down and in: jowls sag over the jawline, the cheek's fat pad
slides down and flattens, the lower face lengthens, the brow and the upper lid's fold
drop. The field undoes a little of each: jowls and the jaw's corners lift and tuck in,
the mid-cheek fills out, the chin rises a touch, brows and lid folds lift. Still
points (nose, mouth's middle, irises, eye corners) and a ring around the face hold
everything else, so the background never moves.

The field is a Gaussian radial-basis interpolation through the handles, solved
exactly and evaluated on a coarse grid: a smooth function of the (smoothed)
landmarks, so a steady face gets a steady warp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from . import _face_regions as fr

F32 = NDArray[np.float32]

# the mid-cheek, where the cheek's fat pad flattens with age: filled out (pushed outwards)
RIGHT_MID_CHEEK = [93, 132, 58]
LEFT_MID_CHEEK = [323, 361, 288]
CHIN = [152, 148, 377, 176, 400]
# the skin between brow and upper-lid crease: lifted with the brow (a hooded lid opens)
RIGHT_LID_FOLD = [247, 30, 29, 27, 28, 56]
LEFT_LID_FOLD = [467, 260, 259, 257, 258, 286]


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
        """The same warp, ``k`` times as strong (a fading edit)."""
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


_COORDS: dict[tuple[int, int], F32] = {}


def _coords(h: int, w: int) -> F32:
    """(h, w, 2) pixel coordinates, kept for the few sizes a shot uses."""
    grid = _COORDS.get((h, w))
    if grid is None:
        if len(_COORDS) > 16:
            _COORDS.clear()
        grid = np.dstack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)))
        _COORDS[(h, w)] = grid
    return grid


def apply_warp(img: NDArray[Any], field: WarpField) -> NDArray[Any]:
    """Move the picture by the field: the pixel at x shows what was at x - d(x)."""
    h, w = img.shape[:2]
    where = cv2.subtract(_coords(h, w), field.full())
    moved = cv2.remap(img, where, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return np.asarray(moved, img.dtype)


def warp_field(lm: F32, scale: float, shape: tuple[int, int], amounts: dict[str, float],
               step: int = 0) -> WarpField | None:  # fmt: skip
    """A smooth displacement field (h, w, 2), zero far from the face, from landmark handles.

    ``amounts``: ``lift`` (jowls, jaw, cheeks, chin, brows), ``volume`` (the mid-cheek
    filled out), ``lids`` (brow-to-lid fold lifted), ``eyes`` (eye aperture); each in
    0..~2, where 1 is the full change for a large number of years.
    """
    lift, eyes = amounts["lift"], amounts["eyes"]
    volume, lids = amounts.get("volume", 0.0), amounts.get("lids", 0.0)
    if lift <= 0 and eyes <= 0 and volume <= 0 and lids <= 0:
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

    # lifts: jowls up and in, the jaw's corners up, cheekbones up, mouth corners a little
    # up, the chin a touch up (a shorter lower face), brows up
    move(fr.RIGHT_JOWL + fr.LEFT_JOWL, 0.06 * lift, 0.025 * lift)
    move([58, 288], 0.03 * lift, 0.0)
    move(fr.RIGHT_CHEEKBONE + fr.LEFT_CHEEKBONE, 0.035 * lift, -0.005 * lift)
    move(fr.MOUTH_CORNERS, 0.02 * lift, 0.0)
    move(CHIN, 0.03 * lift, 0.0)
    move(fr.RIGHT_BROW[:5] + fr.LEFT_BROW[:5], 0.025 * lift + 0.01 * lids, 0.0)
    # volume: the mid-cheek out (a fuller, rounder face)
    move(RIGHT_MID_CHEEK + LEFT_MID_CHEEK, 0.0, -0.03 * volume)
    # the lid fold up with the brow, and (asked for) the upper lids up
    move(RIGHT_LID_FOLD + LEFT_LID_FOLD, 0.018 * lids, 0.0)
    if eyes > 0:
        move(fr.RIGHT_UPPER_LID + fr.LEFT_UPPER_LID, 0.02 * eyes, 0.0)
    moved = {i for i, _ in handles}
    pts = [lm[i] for i, _ in handles]
    disp = [d for _, d in handles]
    zero = np.zeros(2, np.float32)
    still = fr.STILL_POINTS + fr.RIGHT_EYE[:9] + fr.LEFT_EYE[:9]
    if eyes <= 0:  # the lid's margin stays where it is: only the fold above it lifts
        still = still + fr.RIGHT_UPPER_LID + fr.LEFT_UPPER_LID
    for i in still:
        if i not in moved:
            pts.append(lm[i])
            disp.append(zero)
    for i in fr.FACE_OVAL[::2]:  # a ring outside the face holds the background still
        pts.append(centre + (lm[i] - centre) * 1.25)
        disp.append(zero)
    p = np.asarray(pts, np.float32)
    d = np.asarray(disp, np.float32)
    r = 0.3 * scale
    d2 = ((p[:, None, :] - p[None, :, :]) ** 2).sum(-1)
    kernel = np.exp(-d2 / (2 * r * r)) + 1e-3 * np.eye(len(p))
    # OpenCV's own solver and product, not numpy's: OpenBLAS's threads, woken beside MediaPipe's
    # and the encoder's, turned a 0.2 ms solve into 100 ms. The Gaussian kernel with its ridge is
    # symmetric positive definite: Cholesky, a fifth of LU's time
    _, solved = cv2.solve(kernel.astype(np.float64), d.astype(np.float64), flags=cv2.DECOMP_CHOLESKY)
    coef = np.asarray(solved, np.float32)
    h, w = shape
    step = step or max(4, round(scale / 5))  # smooth on the face's scale: ~20 nodes across
    gh, gw = math.ceil(h / step) + 1, math.ceil(w / step) + 1
    gy, gx = np.mgrid[0:gh, 0:gw].astype(np.float32) * np.float32(step)
    dx = gx.reshape(-1, 1) - p[None, :, 0]
    dy = gy.reshape(-1, 1) - p[None, :, 1]
    kg = np.exp((dx * dx + dy * dy) * np.float32(-1.0 / (2 * r * r)))
    grid = np.asarray(cv2.gemm(np.ascontiguousarray(kg, np.float32), coef, 1.0, None, 0.0), np.float32)
    grid = grid.reshape(gh, gw, 2)
    grid[np.hypot(grid[..., 0], grid[..., 1]) < 0.01] = 0.0  # exactly still far from the face
    return WarpField(grid, step, h, w)
