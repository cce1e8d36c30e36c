"""Measures that tell real dust from sprites: the fractal edge and the power spectrum.

A review found the collapse's dust reading as sprites: round, flat puffs with
scalloped edges. Two numbers separate the two and can be compared with the same
numbers measured on photographs of real dust and smoke:

- **Edge dimension**: the box-counting dimension of the alpha's iso-contour.
  A smooth blob's edge is a curve, D ≈ 1.0; a fractal edge is crinkled at every
  scale (a Koch curve 1.26; a thresholded β = 3 random field about 1.3;
  Sreenivasan & Meneveau 1986 measured ≈ 1.35 on turbulent jets and wakes).
  At photographic resolution a real cumuliform plume is only slightly above 1
  over 2–64 px (its crinkle grows with scale), so this number separates less
  than the spectrum does.
- **Spectrum slope**: the slope of log P(k) against log k of the radially
  averaged power spectrum. Turbulent density images fall as a power law,
  P ~ k^-β with β ≈ 2–3.7; a field of soft Gaussian puffs has little power
  below the puff size and falls much faster (β of 9 or more).

Everything here is I/O-free and works on float32 arrays; ``reference_alpha``
turns a photograph of a plume against the sky into a density estimate so the
same measures apply to it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from importlib import resources
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
F16 = NDArray[np.float16]
U8 = NDArray[np.uint8]

#: Below this alpha a pixel counts as empty when cropping a frame to its content.
CONTENT_ALPHA = 0.02
#: Longer side, in pixels, that frames are resampled to before measuring, so that
#: photographs and renders of different sizes are measured over the same scales.
WORK_SIZE = 512
#: The spectrum slope is fitted for wavelengths from 1/4 of the shorter side down
#: to this many pixels: longer waves are the plume's overall shape, shorter ones
#: are resampling, JPEG and segmentation noise.
MIN_WAVELENGTH_PX = 8.0


def edge_dimension(alpha: F32, level: float = 0.5) -> float:
    """Box-counting dimension of the iso-contour ``alpha == level``.

    The contour is the set of pixels inside (``alpha >= level``) with a 4-neighbour
    outside; pixels on the frame's border are left out, since there the frame
    cuts the plume rather than the plume ending. Boxes are dyadic, from 2 px up to
    1/8 of the contour's extent (the longer side of its bounding box); for each
    size the fewest occupied boxes over four grid offsets is counted, and the
    dimension is the least-squares slope of log N against log 1/s. Returns NaN when
    there is no contour or it is too small for three box sizes (extent < 48 px).
    """
    a = np.asarray(alpha, dtype=np.float32)
    if a.ndim != 2:
        raise ValueError(f"alpha must be 2-D, got shape {a.shape}")
    inside = a >= level
    eroded = cv2.erode(inside.astype(np.uint8), _CROSS, borderType=cv2.BORDER_REPLICATE)
    edge = inside & (eroded == 0)
    edge[0, :] = edge[-1, :] = False
    edge[:, 0] = edge[:, -1] = False
    ys, xs = np.nonzero(edge)
    if ys.size == 0:
        return math.nan
    extent = max(int(np.ptp(ys)), int(np.ptp(xs))) + 1
    sizes = [2**i for i in range(1, 16) if 2**i <= extent / 8]
    if len(sizes) < 3:
        return math.nan
    counts = [_boxes(ys, xs, s) for s in sizes]
    slope = np.polyfit(np.log(1.0 / np.asarray(sizes, float)), np.log(counts), 1)[0]
    return float(slope)


def radial_power_spectrum(field: F32, bins: int = 32) -> tuple[F32, F32]:
    """The field's power spectrum averaged over rings, in log-spaced bins of |k|.

    The field's mean is removed and it is multiplied by a 2-D Hann window (so that
    the frame's edges do not add a k^-2 tail of their own) before the FFT. ``k`` is
    in cycles per pixel, from 1/(shorter side) to the Nyquist 0.5; each bin reports
    the mean |k| and mean power of its frequencies, and empty bins are dropped.
    Returns ``(k, power)``, both float32.
    """
    k, power, _ = _ring_spectrum(field, bins)
    return k.astype(np.float32), power.astype(np.float32)


def radial_spectrum_slope(alpha_or_density: F32) -> float:
    """Slope of log P against log k over the mid band (β = −slope).

    The band runs from a wavelength of 1/4 of the shorter side down to
    ``MIN_WAVELENGTH_PX`` (8 px), i.e. k from 4/L to 1/8 cycles per pixel; the
    least-squares fit weights each ring by the square root of its frequency
    count (the few-mode rings at low k are the noisiest). On fractional Brownian
    fields cut from larger ones it recovers β to about ±0.1.
    Turbulent smoke and dust give about −2.5 to −3.7; soft round puffs give a
    much steeper (more negative) slope. NaN for a flat field.
    """
    f = np.asarray(alpha_or_density, dtype=np.float32)
    if float(np.ptp(f)) == 0.0:
        return math.nan
    k, power, count = _ring_spectrum(f, 32)
    lo, hi = 4.0 / min(f.shape), 1.0 / MIN_WAVELENGTH_PX
    band = (k >= lo) & (k <= hi) & (power > 0)
    if int(band.sum()) < 3:
        return math.nan
    # a ring's mean power is noisier the fewer frequencies it holds
    fit = np.polyfit(np.log(k[band]), np.log(power[band]), 1, w=np.sqrt(count[band]))
    return float(fit[0])


def prepare(alpha: F32, size: int | None = WORK_SIZE) -> F32:
    """Crop a frame to its content (alpha > ``CONTENT_ALPHA``, padded by 5 %) and
    shrink it so that its longer side is at most ``size`` px (``None`` keeps it).

    Measuring every source over about the same number of pixels keeps the box
    sizes and the spectrum band comparable between a 500 px photograph and a
    1920 px render. Frames are never enlarged: interpolation would add a smooth
    fall-off of its own at the smallest scales.
    """
    a = np.clip(np.asarray(alpha, dtype=np.float32), 0.0, 1.0)
    ys, xs = np.nonzero(a > CONTENT_ALPHA)
    if ys.size:
        h, w = a.shape
        py, px = int(0.05 * (np.ptp(ys) + 1)), int(0.05 * (np.ptp(xs) + 1))
        a = a[
            max(0, ys.min() - py) : min(h, ys.max() + py + 1),
            max(0, xs.min() - px) : min(w, xs.max() + px + 1),
        ]
    if size is not None and max(a.shape) > size:
        scale = size / max(a.shape)
        shape = (max(1, round(a.shape[1] * scale)), max(1, round(a.shape[0] * scale)))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        a = cv2.resize(a, shape, interpolation=interp)
    return np.ascontiguousarray(a, dtype=np.float32)


def dust_realism(
    alpha_frames: Sequence[F32] | F32, level: float = 0.5, size: int | None = WORK_SIZE
) -> dict[str, float | int | list[float]]:
    """Edge dimension and spectrum slope over one frame or several (medians).

    Each frame is first ``prepare``-d (cropped to its content, shrunk to at most
    ``size``). Frames without a usable contour give NaN for the edge and are left
    out of its median. Returns ``edge_dimension``, ``spectrum_slope`` (medians),
    the per-frame lists ``edge_dimensions`` and ``spectrum_slopes``, and ``frames``.
    """
    arr = alpha_frames
    frames = [arr] if isinstance(arr, np.ndarray) and arr.ndim == 2 else list(arr)
    if not frames:
        raise ValueError("no frames to measure")
    edges: list[float] = []
    slopes: list[float] = []
    for frame in frames:
        a = prepare(frame, size)
        edges.append(edge_dimension(a, level))
        slopes.append(radial_spectrum_slope(a) if min(a.shape) >= 16 else math.nan)
    return {
        "edge_dimension": _nanmedian(edges),
        "spectrum_slope": _nanmedian(slopes),
        "edge_dimensions": edges,
        "spectrum_slopes": slopes,
        "frames": len(frames),
    }


def reference_alpha(
    rgb_u8: U8, sky_box: tuple[int, int, int, int] | None = None, blur_px: float = 1.0
) -> F32:
    """A density estimate for a photograph of smoke or dust against the sky.

    The sky's colour is the median CIELAB colour of ``sky_box`` (x0, y0, x1, y1),
    or, by default, of a band 4 % deep along the top edge. A pixel's density is
    its CIELAB distance from that colour, mapped linearly from the sky's own
    spread (99th percentile of the distances inside the sky sample: nearer is 0)
    to the plume's typical contrast (the median distance of the pixels beyond
    twice that spread: farther is 1), so the 0.5 contour sits where the plume
    has half its usual contrast with the sky. Distance rather than brightness
    catches both the sunlit tops (lighter than the sky) and the shadowed
    undersides (darker) of a plume. A ``blur_px`` Gaussian suppresses JPEG
    blocking. Meant for a crop that holds only plume and sky, with a sky that is
    even: anything else that differs from the sky (towers, ground, a sky
    gradient) reads as dust.
    """
    img = np.asarray(rgb_u8)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an RGB image, got shape {img.shape}")
    lab = cv2.cvtColor(img.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    h, w = lab.shape[:2]
    if sky_box is None:
        sample = lab[: max(2, int(0.04 * h))].reshape(-1, 3)
    else:
        x0, y0, x1, y1 = sky_box
        sample = lab[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)].reshape(-1, 3)
        if sample.shape[0] < 4:
            raise ValueError(f"sky box {sky_box} holds too few pixels")
    sky = np.median(sample, axis=0)
    dist = np.linalg.norm(lab - sky, axis=2)
    floor = float(np.percentile(np.linalg.norm(sample - sky, axis=1), 99))
    plume = dist[dist > 2.0 * floor + 1e-3]
    top = float(np.median(plume)) if plume.size else floor + 1.0
    top = max(top, floor + 1e-3)
    density: F32 = np.clip((dist - floor) / (top - floor), 0.0, 1.0).astype(np.float32)
    if blur_px > 0:
        density = np.asarray(cv2.GaussianBlur(density, (0, 0), blur_px), dtype=np.float32)
    return density


def texture_density(rgb_u8: U8) -> F32:
    """CIELAB lightness / 100 of a crop that lies wholly inside smoke or dust.

    Where no sky shows (a frame filled with smoke), the light scattered by the
    smoke stands in for its density; only the spectrum is measured on it, since
    its iso-contours are shading, not the plume's edge.
    """
    img = np.asarray(rgb_u8)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an RGB image, got shape {img.shape}")
    lab = cv2.cvtColor(img.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    return np.ascontiguousarray(lab[:, :, 0] / 100.0, dtype=np.float32)


_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


def _ring_spectrum(
    field: F32, bins: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Ring-averaged Hann-windowed power: mean |k|, mean power and count per bin."""
    f = np.asarray(field, dtype=np.float64)
    if f.ndim != 2 or min(f.shape) < 16:
        raise ValueError(f"field must be 2-D and at least 16 px a side, got {f.shape}")
    h, w = f.shape
    window = np.outer(np.hanning(h), np.hanning(w))
    spectrum = np.abs(np.fft.fft2((f - f.mean()) * window)) ** 2
    ky = np.fft.fftfreq(h)[:, None]
    kx = np.fft.fftfreq(w)[None, :]
    k = np.sqrt(ky * ky + kx * kx).ravel()
    edges = np.geomspace(1.0 / min(h, w), 0.5, bins + 1)
    which = np.digitize(k, edges) - 1
    keep = (which >= 0) & (which < bins)
    total = np.bincount(which[keep], weights=spectrum.ravel()[keep], minlength=bins)
    k_sum = np.bincount(which[keep], weights=k[keep], minlength=bins)
    count = np.bincount(which[keep], minlength=bins).astype(np.float64)
    has = count > 0
    return k_sum[has] / count[has], total[has] / count[has], count[has]


def _boxes(ys: NDArray[np.intp], xs: NDArray[np.intp], s: int) -> int:
    """Fewest boxes of side ``s`` that hold every point, over four grid offsets."""
    best = None
    for oy, ox in ((0, 0), (s // 2, 0), (0, s // 2), (s // 2, s // 2)):
        keys = ((ys + oy) // s).astype(np.int64) << 32 | ((xs + ox) // s).astype(np.int64)
        n = int(np.unique(keys).size)
        best = n if best is None else min(best, n)
    assert best is not None
    return best


def _nanmedian(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.median(finite)) if finite else math.nan


def sprite_frame(seed: int, n: int = 512, puffs: int = 40) -> F32:
    """Alpha of ``puffs`` soft round Gaussian puffs, composited by over: the sprite look."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    alpha = np.zeros((n, n), np.float32)
    for _ in range(puffs):
        cx, cy = rng.normal(n / 2, n / 7, 2)
        sigma = rng.uniform(n / 25, n / 10)
        opacity = rng.uniform(0.5, 0.9)
        puff = opacity * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma * sigma))
        alpha = puff + alpha * (1.0 - puff)
    return np.asarray(alpha, np.float32)


def measure_dust(into: dict[int, dict[str, Any]], frame: int, front: F16, back: F16) -> None:
    """One rendered frame's dust (both layers, as the eye sees them together) measured into
    ``into[frame]``; a frame without a cloud yet is left out. Thread-safe for distinct frames."""
    a = 1.0 - (1.0 - front[..., 3].astype(np.float32)) * (1.0 - back[..., 3].astype(np.float32))
    if float(a.max()) < 0.5:
        return
    m = dust_realism(np.asarray(a, np.float32))
    into[frame] = {key: _rounded(float(m[key])) for key in ("edge_dimension", "spectrum_slope")}  # type: ignore[arg-type]


def reference_figures() -> dict[str, Any]:
    """The figures measured on real dust and smoke photographs (and on sprites), shipped with us."""
    text = (resources.files("moviola.vfx.collapse") / "data" / "dust_reference.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def realism_report(measured: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The report's ``dust_realism``: ours per frame and median, beside real footage and sprites."""
    ref = reference_figures()
    frames = sorted(measured)
    edges = [measured[f]["edge_dimension"] for f in frames]
    slopes = [measured[f]["spectrum_slope"] for f in frames]
    return {
        "method": ref["method"],
        "frames": {str(f): measured[f] for f in frames},
        "ours": {"edge_dimension": _rounded(_nanmedian([e for e in edges if e is not None])),
                 "spectrum_slope": _rounded(_nanmedian([s for s in slopes if s is not None]))},
        "real": {k: ref["median"][k] for k in ("edge_dimension", "spectrum_slope")},
        "sprites": {k: ref["sprites"][k] for k in ("edge_dimension", "spectrum_slope")},
        "references": [{"name": i["name"], "source": i["source"], "kind": i["kind"],
                        "edge_dimension": i["edge_dimension"], "spectrum_slope": i["spectrum_slope"]}
                       for i in ref["images"]],
    }  # fmt: skip


def _rounded(x: float) -> float | None:
    return None if not math.isfinite(x) else round(float(x), 4)
