"""The dust volume drawn at full size: detail above the grid, light through the cloud.

On the grid: the sun's light reaches each cell through the dust between it
and the sun (Beer-Lambert, marched toward the plate's key light), the sky's
through the dust around it; multiple scattering inside a bright cloud keeps
its shadowed heart near a third of its lit face, as in footage. Colour is the
building's material under the plate's light.

At full size: the density is upsampled and broken up by noise carried on the
flow's advected texture coordinates: a log-normal cascade, strongest where
the air is turbulent, so a thin edge frays into wisps while a thick core stays
solid. The noise's own relief, seen toward the sun, gives the small billows a
lit side and a shadowed one.

Layers come out premultiplied (colour is zero where alpha is), each channel
no brighter than the lit material can be.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from ._fluid import DustVolume

F32 = NDArray[np.float32]
F16 = NDArray[np.float16]

_TEXELS_PER_CELL = 1.5
_SHADOW_STEPS = 14
_SHADOW_SIGMA = 0.15  # extinction per unit of density, for light through the cloud


@dataclass(frozen=True)
class DustLook:
    """How the plate lights the dust, and what it is made of (ACEScg)."""

    sun: tuple[float, float, float]  # the key light's colour on a white surface
    sky: tuple[float, float, float]
    albedo: tuple[float, float, float]
    direction: tuple[float, float]  # the light's travel in the image plane (x right, y down)
    ceiling: float  # no channel of unpremultiplied dust above this (the lit material)


def _lit_grid(dens: F32, look: DustLook) -> F32:
    """(rows, cols, 3) colour of the dust at each cell: sun through the cloud plus sky."""
    total = dens[0] + dens[1]
    sx, sy = look.direction
    step = 1.5
    tau = np.zeros_like(total)
    gh, gw = total.shape
    for k in range(1, _SHADOW_STEPS + 1):  # march toward the sun (against its travel)
        m = np.array([[1, 0, -sx * step * k], [0, 1, -sy * step * k]], np.float32)
        tau += cv2.warpAffine(total, m, (gw, gh), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0) * step  # fmt: skip
    # dust is dense but bright: light reaches a few cells in before it is spent, and what
    # is scattered many times inside keeps the shadowed heart near two-fifths of the lit face
    trans = np.exp(-_SHADOW_SIGMA * tau)
    around = cv2.GaussianBlur(total, (0, 0), 3.0)
    sky_open = 0.3 + 0.7 * np.exp(-_SHADOW_SIGMA * around)
    direct = 0.4 + 0.6 * trans
    sun = np.asarray(look.sun, np.float32)
    sky = np.asarray(look.sky, np.float32)
    alb = np.asarray(look.albedo, np.float32)
    colour = alb[None, None, :] * (sun * direct[..., None] + 0.7 * sky * sky_open[..., None])
    return np.asarray(colour, np.float32)


def shade_dust(vol: DustVolume, index: int, view: F32, size: tuple[int, int], look: DustLook,
               noise: F32) -> tuple[F16, F16]:  # fmt: skip
    """Frame ``index``'s dust behind and in front of the facade: (h, w, 4) premultiplied halves.

    ``view`` maps plate px to output px (the shaken camera, 3x3).
    """
    w, h = size
    back = np.zeros((h, w, 4), np.float16)
    front = np.zeros((h, w, 4), np.float16)
    dens = vol.density[index].astype(np.float32)
    if float(dens.max()) < 1e-3:
        return back, front
    g = vol.grid
    # output px (centres at i + 0.5) -> plate px -> grid index space (centres at integers)
    inv = np.linalg.inv(view.astype(np.float64))
    to_grid = np.array([[1 / g.cell, 0, -g.origin[0] / g.cell - 0.5],
                        [0, 1 / g.cell, -g.origin[1] / g.cell - 0.5], [0, 0, 1]]) @ inv  # fmt: skip
    # only where there is dust: its cells' box, taken to output px
    occupied = (dens[0] + dens[1]) > 2e-3
    rr, cc = np.nonzero(occupied)
    corners = np.array([[cc.min() - 2, rr.min() - 2, 1], [cc.max() + 2, rr.min() - 2, 1],
                        [cc.min() - 2, rr.max() + 2, 1], [cc.max() + 2, rr.max() + 2, 1]], np.float64)  # fmt: skip
    out_pts = (np.linalg.inv(to_grid) @ corners.T)[:2].T
    x0 = max(0, math.floor(out_pts[:, 0].min()))
    y0 = max(0, math.floor(out_pts[:, 1].min()))
    x1 = min(w, math.ceil(out_pts[:, 0].max()) + 1)
    y1 = min(h, math.ceil(out_pts[:, 1].max()) + 1)
    if x1 <= x0 or y1 <= y0:
        return back, front
    cw, ch = x1 - x0, y1 - y0
    # dst pixel (i, j) of the crop is output pixel centre (x0 + i + 0.5, y0 + j + 0.5)
    shift = np.array([[1, 0, x0 + 0.5], [0, 1, y0 + 0.5], [0, 0, 1]], np.float64)
    m = (to_grid @ shift)[:2].astype(np.float32)

    def up(field: F32, interp: int = cv2.INTER_LINEAR) -> F32:
        return np.asarray(cv2.warpAffine(field, m, (cw, ch), flags=interp | cv2.WARP_INVERSE_MAP,
                                         borderMode=cv2.BORDER_CONSTANT, borderValue=0), np.float32)  # fmt: skip

    colour = up(_lit_grid(dens, look))
    turb = up(vol.turbulence[index].astype(np.float32))
    offs = up(np.ascontiguousarray(np.moveaxis(vol.offsets[index].astype(np.float32), 0, 2)))
    # each crop pixel's grid position, for the noise lookup (an affine map of the crop's indices)
    jx, iy = np.meshgrid(np.arange(cw, dtype=np.float32), np.arange(ch, dtype=np.float32))
    gx = m[0, 0] * jx + m[0, 1] * iy + m[0, 2]
    gy = m[1, 0] * jx + m[1, 1] * iy + m[1, 2]
    w0, w1 = (float(x) for x in vol.weights[index])
    # where the flow has sheared a phase's coordinates, its noise is drawn out into streaks:
    # that phase gives way to the other (or to none) there
    grid_offs = vol.offsets[index].astype(np.float32)
    fades = []
    for phase, wgt in ((0, w0), (1, w1)):
        ox, oy = grid_offs[2 * phase], grid_offs[2 * phase + 1]
        stretch = (np.abs(np.gradient(ox, axis=1)) + np.abs(np.gradient(ox, axis=0))
                   + np.abs(np.gradient(oy, axis=1)) + np.abs(np.gradient(oy, axis=0)))  # fmt: skip
        fades.append(up(np.asarray(wgt * np.exp(-stretch / 0.6), np.float32)))
    norm = 1.0 / np.maximum(np.sqrt(fades[0] ** 2 + fades[1] ** 2), 0.35)
    sx, sy = look.direction
    tpc = _TEXELS_PER_CELL

    def sample(dx: float, dy: float) -> F32:
        """The blended noise at every crop pixel, its lookup moved (dx, dy) texels."""
        acc = np.zeros((ch, cw), np.float32)
        for phase, wgt in ((0, fades[0]), (1, fades[1])):
            if (w0, w1)[phase] < 1e-3:
                continue
            mx = (gx + offs[..., 2 * phase]) * tpc + dx + 97.0 * phase
            my = (gy + offs[..., 2 * phase + 1]) * tpc + dy + 61.0 * phase
            acc += wgt * cv2.remap(noise, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
        return np.asarray(acc * norm, np.float32)

    n = sample(0.0, 0.0)
    # turbulent air frays the cloud most; calm air leaves it smoother
    amp = 0.45 + 0.5 * np.clip(turb / 1.5, 0.0, 1.0)
    cascade = np.exp(amp * n - 0.5 * amp * amp)
    erosion = 0.18 * np.exp(0.8 * sample(37.0, 11.0))
    # the thin haze a coarse grid smears round a cloud is eaten away unevenly by the
    # noise: the edge frays into wisps instead of fading like a Gaussian
    fine = [np.maximum(np.maximum(up(dens[k], cv2.INTER_CUBIC), 0.0) * cascade - erosion, 0.0) * 1.5
            for k in (0, 1)]  # fmt: skip
    # self-shadowing at full size: the detailed cloud between each pixel and the sun, a few
    # steps out (the grid's shadow already holds the large scale)
    total = fine[0] + fine[1]
    px_per_cell = float(math.hypot(*np.linalg.inv(m[:, :2].astype(np.float64))[:, 0]))
    tau = np.zeros_like(total)
    prev = 0.0
    for reach in (0.5, 1.2, 2.5, 4.5):  # cells toward the sun
        dist = reach * px_per_cell
        toward = np.array([[1, 0, -sx * dist], [0, 1, -sy * dist]], np.float32)
        tau += cv2.warpAffine(total, toward, (cw, ch), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0) * (reach - prev)  # fmt: skip
        prev = reach
    near = 0.55 + 0.45 * np.exp(-_SHADOW_SIGMA * 2.0 * tau)
    # and the noise's own relief: denser here than toward the sun is a small face it lights
    relief = np.clip(1.0 + 0.2 * (n - sample(-sx * 2.5, -sy * 2.5)), 0.7, 1.3)
    lit = np.minimum(colour * (near * relief)[..., None], look.ceiling)
    for slab, target in ((0, back), (1, front)):
        alpha = 1.0 - np.exp(-fine[slab])
        alpha[alpha < 2e-3] = 0.0
        target[y0:y1, x0:x1, :3] = lit * alpha[..., None]
        target[y0:y1, x0:x1, 3] = alpha
    return back, front
