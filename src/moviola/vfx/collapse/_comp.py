"""Compositing and photographic integration: the final comp is a formula of the layers.

    under = dustback + (1 - dustback.a) * cleanplate
    mid   = debris   + (1 - debris.a)   * under
    over  = dust     + (1 - dust.a)     * mid
    comp  = over + lightwrap + grain            (rgb; comp.a = 1)

with every layer premultiplied, scene-linear ACEScg, taken as the half floats
the EXRs hold, in float32. A compositor who reads the layers and does the same
gets the final comp back exactly (the tests do); one who wants less dust or no
grain changes one term.

Here too: the plate's light (sun and sky colour, for the dust), its grain, the
light wrap and the camera shake.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
LAYER_ORDER = ("cleanplate", "dustback", "debris", "dust", "lightwrap", "grain")


def over_chain(clean: F32, dustback: F32, debris: F32, dust: F32) -> tuple[F32, F32, F32]:
    """``under``, ``mid`` and ``over`` of the formula above (RGB), in its exact order."""
    under = dustback[..., :3] + (1.0 - dustback[..., 3:4]) * clean[..., :3]
    mid = debris[..., :3] + (1.0 - debris[..., 3:4]) * under
    over = dust[..., :3] + (1.0 - dust[..., 3:4]) * mid
    return under, mid, over


def comp_from_layers(clean: F32, dustback: F32, debris: F32, dust: F32, lightwrap: F32,
                     grain: F32, reflection: F32 | None = None) -> F32:  # fmt: skip
    """The final comp's RGB (h, w, 3) from the layers; the one formula used everywhere."""
    over = over_chain(clean, dustback, debris, dust)[2]
    comp = over + lightwrap[..., :3] + grain[..., :3]
    if reflection is not None:  # the water's reflection of what changed above it
        comp = comp + reflection[..., :3]
    return np.asarray(comp, np.float32)


@dataclass(frozen=True)
class Water:
    """A water surface below the building, in output px, and how it reflects the scene above:
    the mirror image blurred (ripples) and dimmed by its reflectance, per channel and per band
    of depth below the waterline (a reflection fades as the water falls away from the eye)."""

    y: int  # the first row of water
    gain: tuple[tuple[float, float, float], ...]  # per band, top band first
    blur: tuple[float, float]  # Gaussian sigma across, down (px)

    def mirrored(self, above: F32, rows: int) -> F32:
        """What ``above`` (the rows over the waterline) puts in the ``rows`` under it."""
        out = self._mirror(above, rows)
        gains = np.asarray(self.gain, np.float32)  # (bands, 3)
        centres = (np.arange(len(gains)) + 0.5) * rows / len(gains)
        row_gain = np.stack([np.interp(np.arange(rows), centres, gains[:, c]) for c in range(3)], axis=1)
        return np.asarray(out * row_gain[:, None, :].astype(np.float32), np.float32)

    def _mirror(self, above: F32, rows: int) -> F32:
        n = min(rows, self.y)
        flipped = above[self.y - n : self.y][::-1]
        out = np.zeros((rows, *above.shape[1:]), np.float32)
        # ripples smear far (a long exposure, hundreds of px): blurred at a size where the
        # narrower sigma is ~2 px, which looks the same and costs a small fraction
        f = max(1, int(min(self.blur) / 2.0))
        if f > 1 and n >= 4 * f:
            sw, sh = max(1, above.shape[1] // f), max(1, n // f)
            small = cv2.resize(np.ascontiguousarray(flipped), (sw, sh), interpolation=cv2.INTER_AREA)
            small = cv2.GaussianBlur(small, (0, 0), self.blur[0] / f, sigmaY=self.blur[1] / f)
            out[:n] = cv2.resize(small, (above.shape[1], n), interpolation=cv2.INTER_LINEAR).reshape(out[:n].shape)
        else:
            out[:n] = cv2.GaussianBlur(flipped, (0, 0), self.blur[0], sigmaY=self.blur[1])
        return out


_WATER_BANDS = 6


def estimate_water(image: F32, y: int) -> Water:
    """The water's reflectance and ripple blur from the plate itself: the blur, and the gain
    per band of depth, that best turn the mirrored scene into what the water shows (least
    squares, per channel)."""
    h, w = image.shape[:2]
    rows = min(h - y, y)
    below = image[y : y + rows]
    edges = np.linspace(0, rows, _WATER_BANDS + 1).round().astype(int)
    best: tuple[float, Water] | None = None
    for sx, sy in ((0.002, 0.01), (0.002, 0.03), (0.004, 0.06), (0.006, 0.12), (0.008, 0.2)):
        # the ripples' smear, across and down, as shares of the frame (a long exposure smears far)
        blur = (max(1.0, sx * w), max(1.0, sy * h))
        src = Water(y, ((1.0, 1.0, 1.0),), blur)._mirror(image[:y], rows)
        gains, err = [], 0.0
        for a, b in itertools.pairwise(edges):
            s_, t_ = src[a:b], below[a:b]
            g = ((s_ * t_).sum(axis=(0, 1)) / np.maximum((s_ * s_).sum(axis=(0, 1)), 1e-9)).clip(0.0, 1.0)
            gains.append(tuple(float(v) for v in g))
            err += float(((s_ * g - t_) ** 2).sum())
        if best is None or err < best[0]:
            best = (err, Water(y, tuple(gains), blur))  # type: ignore[arg-type]
    assert best is not None
    return best[1]


def light_wrap(background: F32, alpha: F32, radius: float, strength: float) -> F32:
    """Background light bleeding over the foreground's edges, as lenses and eyes see it."""
    if strength <= 0 or not alpha.any():
        return np.zeros((*background.shape[:2], 3), np.float32)
    blur_a = cv2.GaussianBlur(alpha, (0, 0), radius)
    edge = np.clip(alpha - blur_a, 0.0, 1.0) * 2.0 * alpha
    glow = cv2.GaussianBlur(background[..., :3], (0, 0), radius)
    return np.asarray(glow * (edge * strength)[..., None], np.float32)


@dataclass(frozen=True)
class PlateLight:
    """The plate's light, for lighting what we add: sun and sky colour, ACEScg."""

    sun: tuple[float, float, float]
    sky: tuple[float, float, float]
    direction: tuple[float, float]  # where light travels, image plane (x right, y down)


def estimate_light(image: F32, matte: F32, hole: F32) -> PlateLight:
    """Sun from the building's lit faces, sky from the open sky around it.

    The facade's brightest tenth is sunlit stone; its hue is the sun's (stone is
    near neutral). Of the building's left and right halves, the brighter says
    which side the sun comes from. The sky is the mean of what is not building.
    """
    inside = matte > 0.5
    lum = image.mean(axis=2)
    if inside.sum() > 100:
        values = lum[inside]
        bright = inside & (lum >= np.percentile(values, 90))
        sun = image[bright].mean(axis=0)
        ys, xs = np.nonzero(inside)
        mid = np.median(xs)
        left = lum[ys[xs < mid], xs[xs < mid]].mean() if (xs < mid).any() else 0.0
        right = lum[ys[xs >= mid], xs[xs >= mid]].mean() if (xs >= mid).any() else 0.0
        side = 0.45 if left > right * 1.05 else (-0.45 if right > left * 1.05 else 0.0)
    else:
        sun, side = np.array([1.0, 0.95, 0.88], np.float32), 0.3
    open_sky = (hole < 0.5) & (matte < 0.01)
    sky = image[open_sky].mean(axis=0) if open_sky.sum() > 100 else np.array([0.3, 0.35, 0.45])
    norm = math.hypot(side, 1.0)
    return PlateLight(tuple(float(v) for v in sun), tuple(float(v) for v in sky),  # type: ignore[arg-type]
                      (side / norm, 1.0 / norm))  # fmt: skip


def plate_noise(image: F32) -> F32:
    """The plate's noise per channel: the least high-pass spread among its flat patches."""
    h, w = image.shape[:2]
    detail = image - cv2.GaussianBlur(image, (0, 0), 1.5)
    tile = max(8, min(h, w) // 24)
    sig = []
    for y in range(0, h - tile + 1, tile):
        for x in range(0, w - tile + 1, tile):
            sig.append(detail[y : y + tile, x : x + tile].reshape(-1, 3).std(axis=0))
    if not sig:
        return np.full(3, 0.002, np.float32)
    arr = np.asarray(sig)
    return np.asarray(np.percentile(arr, 10, axis=0), np.float32)


def grain(shape: tuple[int, int], sigma: F32, grain_px: float, seed: int, frame: int,
          signal: F32) -> F32:  # fmt: skip
    """Animated grain: Gaussian noise of the plate's strength and grain size, stronger in lights."""
    h, w = shape
    rng = np.random.default_rng((seed, frame))
    gh, gw = max(2, round(h / grain_px)), max(2, round(w / grain_px))
    noise = rng.standard_normal((gh, gw, 3), dtype=np.float32)
    if (gh, gw) != (h, w):
        noise = cv2.resize(noise, (w, h), interpolation=cv2.INTER_LINEAR)
        noise *= np.float32(
            1.0 / 0.62 if grain_px > 1.5 else 1.0
        )  # bilinear upsampling loses spread
    # film and sensors: noise grows with the square root of the signal
    level = np.sqrt(np.clip(signal, 0.0, None) / 0.18 + 0.05)
    return np.asarray(noise * sigma * level, np.float32)


def shake_offsets(impulse: F32, fps: float, amount: float, size: tuple[int, int],
                  seed: int) -> F32:  # fmt: skip
    """Per frame: dx, dy (px) and roll (rad) of the camera shaken by the ground impacts.

    The ground's jolts are summed, decay over a quarter second, and drive a
    band-limited (8-14 Hz) wobble: the handheld-on-a-tripod kick real collapse
    footage shows when the debris lands.
    """
    n = len(impulse)
    out = np.zeros((n, 3), np.float32)
    if amount <= 0 or n == 0 or not impulse.any():
        return out
    decay = math.exp(-1.0 / (0.25 * fps))
    energy = np.zeros(n, np.float64)
    level = 0.0
    for i in range(n):
        level = level * decay + math.log1p(float(impulse[i]) / 5e3)
        energy[i] = level
    energy = energy / max(float(energy.max()), 1e-9)
    rng = np.random.default_rng(seed + 101)
    t = np.arange(n) / fps
    waves = [(rng.uniform(8, 14), rng.uniform(0, 2 * np.pi)) for _ in range(6)]

    def wob(k: int) -> NDArray[np.float64]:
        return sum(np.sin(2 * np.pi * f * t + p + k) for f, p in waves[k * 2 : k * 2 + 2]) / 2  # type: ignore[return-value]

    amp = amount * 0.006 * min(size)  # a full jolt moves the frame ~0.6% of its height
    out[:, 0] = amp * energy * wob(0)
    out[:, 1] = amp * energy * wob(1)
    out[:, 2] = amount * math.radians(0.12) * energy * wob(2)
    return out


def view_matrix(dx: float, dy: float, roll: float, size: tuple[int, int], overscan: float) -> F32:
    """Image px -> image px: roll and zoom about the centre, then shift."""
    w, h = size
    c, s = math.cos(roll) * overscan, math.sin(roll) * overscan
    cx, cy = w / 2, h / 2
    return np.array([[c, -s, cx - c * cx + s * cy + dx],
                     [s, c, cy - s * cx - c * cy + dy],
                     [0.0, 0.0, 1.0]], np.float32)  # fmt: skip


def overscan_for(shake: F32, size: tuple[int, int]) -> float:
    """Zoom just enough that the shaken frame never shows its edge."""
    if not len(shake) or not np.abs(shake).any():
        return 1.0
    w, h = size
    reach = float(np.abs(shake[:, :2]).max()) + 0.5 * max(w, h) * float(np.abs(shake[:, 2]).max())
    return 1.0 + 2.0 * reach / min(w, h)
