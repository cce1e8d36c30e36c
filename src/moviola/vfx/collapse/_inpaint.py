"""Patch-based inpainting: a hole filled with pieces of the picture around it.

Wexler et al. 2007 (completion as a global optimisation over patches) with the
nearest-neighbour field found by PatchMatch (Barnes et al. 2009), coarse to fine,
on a crop of the hole and a band round it (so sources lie near the hole and the
city continues rather than the sky being copied into the street):

- the coarsest level, where the hole is a couple of 7x7 patches thick, is filled
  from its edge inward (onion peel), each ring from the best match of what is
  known round it by exhaustive search, or continuing a neighbour's match;
- each finer level doubles the matches, then takes a few EM steps: PatchMatch for
  every patch touching the hole (jump-flood propagation of the neighbours'
  matches, a random search round each, all pixels at once in numpy), then a vote:
  each hole pixel is the weighted mean of what the overlapping matches say,
  weighted by similarity and by how near the patch is to known picture;
- patches are compared in a perceptual encoding of the scene-linear values (lit
  windows and a dark street differ as the eye sees them) by 16 DCT terms, which
  turns a patch distance into one lookup; votes average the linear values;
- a match is charged for its offset, much more for a vertical one (a skyline's
  sky, towers and lights change with height, much less along it), for sources
  other matches copy already (so a flat patch is not stamped everywhere), and
  less when it continues a neighbour's (coherent pieces, whose votes agree);
- at full size the fill's broad shading is rebuilt by a Poisson solve from its
  sources' gradients, so where two copied pieces meet there is no seam, and its
  grain and fine detail (lights, window frames) are its sources' own pixels.

Everything is vectorised over the hole's pixels; the random numbers come from a
seeded generator, so the same picture and hole give the same fill.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.fft import dctn, idctn
from scipy.ndimage import distance_transform_edt
from scipy.sparse import csc_matrix
from scipy.sparse.linalg import splu

F32 = NDArray[np.float32]
I32 = NDArray[np.int32]
Mask = NDArray[np.bool_]

_R = 3  # patch radius: 7x7 patches
_COARSE_THICKNESS = 14.0  # the coarsest level has a hole about two patches thick
_NEAR_Y, _NEAR_X = 1.0, 0.1  # cost of a match's offset, per squared crop side
_COARSE_SIDE = 160  # the coarsest level is at most about this big ...
_COARSE_SOURCES = 6000  # ... and searched exhaustively over this many sources
_COHERENCE = 0.3  # how much cheaper a match is that continues a neighbour's ...
_PEEL_COHERENCE = 0.5  # ... and while peeling, where each choice rests on less evidence
_REUSE = 0.002  # cost of a source per patch that copies it already
_TRUST, _DEEP = 1.3, 30.0  # a vote's weight falls by this per pixel into the hole, to that depth
_SHARP_MID, _SHARP_FINE = 1.0, 0.5  # vote weights: exp(-cost / (sharp * 75th percentile))
_STEPS_MID, _STEPS_FINE = 2, 1  # EM steps at the levels between and at full size
_SHADING = 4.0  # px: the blur that parts a fill's shading from its grain and fine detail
_MEMBRANE_CELLS = 20000  # the grid the hole's edge is carried across on, at most


@dataclass(frozen=True)
class Fill:
    """An inpainted picture and its matches, so a second fill of part of the hole can start there."""

    image: F32  # (h, w, 3) linear, the hole filled
    source: I32  # (h, w, 2) the source pixel (y, x) each hole pixel was voted from; -1 elsewhere


def encode(linear: F32) -> F32:
    """Scene-linear values to a perceptual scale for comparing patches (a 2.2 power)."""
    return np.asarray(np.power(np.maximum(linear, 0.0), 1.0 / 2.2), np.float32)


def push_pull(values: F32, weight: F32) -> F32:
    """Fill where ``weight`` is 0 from where it is 1, smoothly (pyramid push-pull, Gortler et
    al. 1996)."""
    levels: list[tuple[F32, F32]] = []
    v, w = values * weight[..., None], weight.copy()
    while min(w.shape) > 2:
        levels.append((v, w))
        v = np.asarray(cv2.pyrDown(v), np.float32)
        w = np.asarray(cv2.pyrDown(w), np.float32)
        if v.ndim == 2:  # pyrDown drops a channel axis of length 1
            v = v[..., None]
    known = w > 1e-6
    coarse = np.zeros_like(v)
    coarse[known] = v[known] / w[known][:, None]
    if (~known).any():  # a level with nothing known: the mean of what is
        coarse[~known] = coarse[known].mean(axis=0) if known.any() else 0.0
    for v, w in reversed(levels):
        up = cv2.resize(coarse, (w.shape[1], w.shape[0]), interpolation=cv2.INTER_LINEAR)
        up = np.asarray(up, np.float32).reshape(v.shape)
        alpha = np.clip(w, 0.0, 1.0)[..., None]
        mean = np.where(w[..., None] > 1e-6, v / np.maximum(w, 1e-6)[..., None], 0.0)
        coarse = np.asarray(alpha * mean + (1.0 - alpha) * up, np.float32)
    return coarse


class _Level:
    """One pyramid level of the crop: the estimate, where it may copy from, the field."""

    def __init__(self, lin: F32, hole: Mask) -> None:
        self.lin = lin
        self.hole = hole
        self.h, self.w = hole.shape
        k = np.ones((2 * _R + 1, 2 * _R + 1), np.uint8)
        touched = cv2.dilate(hole.astype(np.uint8), k) > 0
        valid = ~touched
        valid[:_R], valid[-_R:], valid[:, :_R], valid[:, -_R:] = False, False, False, False
        self.valid = valid
        self.ty, self.tx = (a.astype(np.int32) for a in np.nonzero(touched))  # patches on the hole
        self.slot = np.full((self.h, self.w), -1, np.int32)
        self.slot[self.ty, self.tx] = np.arange(len(self.ty), dtype=np.int32)
        self.hy, self.hx = (a.astype(np.int32) for a in np.nonzero(hole))
        # a patch deep in the hole is a guess built on guesses: its vote counts for less
        depth = np.minimum(distance_transform_edt(hole)[self.ty, self.tx], _DEEP)
        self.trust = np.power(_TRUST, -depth).astype(np.float32)
        self.vy, self.vx = (a.astype(np.int32) for a in np.nonzero(valid))
        if len(self.vy):
            _, idx = distance_transform_edt(~valid, return_indices=True)
            self.near = np.asarray(idx, np.int32)  # nearest valid centre to every pixel
        self.side2 = float(max(self.h, self.w)) ** 2
        self.use: F32 | None = None  # how often each source is copied (see _use)

    def snap(self, cy: I32, cx: I32) -> tuple[I32, I32]:
        cy = np.clip(cy, 0, self.h - 1)
        cx = np.clip(cx, 0, self.w - 1)
        return self.near[0, cy, cx], self.near[1, cy, cx]

    def random_sources(self, n: int, rng: np.random.Generator) -> tuple[I32, I32]:
        pick = rng.integers(0, len(self.vy), n)
        return self.vy[pick], self.vx[pick]


class _Field:
    """The nearest-neighbour field of a level: a source centre and a cost per domain pixel."""

    def __init__(self, sy: I32, sx: I32) -> None:
        self.sy, self.sx = sy, sx
        self.cost = np.zeros(len(sy), np.float32)


def _dct(k: int) -> F32:
    """The k-th orthonormal DCT-II basis vector of a patch's width."""
    n = np.arange(2 * _R + 1)
    v = np.cos(np.pi * (n + 0.5) * k / (2 * _R + 1)) * math.sqrt(2.0 / (2 * _R + 1))
    return np.asarray(v / math.sqrt(2.0) if k == 0 else v, np.float32)


# Patches are compared by their low frequencies: a 2-D DCT of the lightness up to the third
# order and of the two colour-difference channels up to the first (16 numbers of 147). Both
# bases are orthonormal, so distances between descriptors are distances between the patches
# seen through them, and each coefficient is a separable filter.
_OPPONENT = np.array([[1, 1, 1], [1, -1, 0], [1, 1, -2]], np.float32) / np.array(
    [[math.sqrt(3)], [math.sqrt(2)], [math.sqrt(6)]], np.float32)  # fmt: skip
_TERMS = [(0, ky, kx) for ky in range(4) for kx in range(4) if ky + kx <= 3] + [
    (c, ky, kx) for c in (1, 2) for ky, kx in ((0, 0), (0, 1), (1, 0))]  # fmt: skip
_DCT = [_dct(k) for k in range(4)]


def _describe(perc: F32, box: tuple[int, int, int, int] | None = None,
              out: F32 | None = None) -> F32:  # fmt: skip
    """Each pixel's patch as its DCT terms: (h, w, 16). With ``box`` (y0, y1, x0, x1), only
    that part of ``out`` is recomputed (what the hole's new estimate can change)."""
    h, w = perc.shape[:2]
    if box is None or out is None:
        y0, y1, x0, x1 = 0, h, 0, w
        out = np.empty((h, w, len(_TERMS)), np.float32)
    else:
        y0, y1, x0, x1 = box
    # the patches of the box read up to _R beyond it
    a0, a1, b0, b1 = max(0, y0 - _R), min(h, y1 + _R), max(0, x0 - _R), min(w, x1 + _R)
    opp = cv2.transform(np.ascontiguousarray(perc[a0:a1, b0:b1]), _OPPONENT)
    planes = cv2.split(opp)
    terms = [cv2.sepFilter2D(planes[c], cv2.CV_32F, _DCT[kx], _DCT[ky],
                             borderType=cv2.BORDER_REFLECT) for c, ky, kx in _TERMS]  # fmt: skip
    merged = cv2.merge(terms)
    out[y0:y1, x0:x1] = merged[y0 - a0 : y1 - a0, x0 - b0 : x1 - b0]
    return out


def _costs(desc: F32, level: _Level, sy: I32, sx: I32) -> F32:
    """Patch distance (mean squared, perceptual) of each domain pixel to its candidate, plus the
    charge for the candidate's offset."""
    k = desc.shape[2]
    flat = desc.reshape(-1, k)
    d = flat[level.ty * level.w + level.tx] - flat[sy * level.w + sx]
    near = _offset_cost(level, sy - level.ty, sx - level.tx)
    if level.use is not None:  # sources many others copy already cost more
        near += _REUSE * level.use[sy * level.w + sx]
    return np.asarray(np.einsum("ij,ij->i", d, d) / (3 * (2 * _R + 1) ** 2) + near, np.float32)


def _try(desc: F32, level: _Level, field: _Field, cy: I32, cx: I32, ok: Mask | None = None,
         discount: float = 0.0) -> None:  # fmt: skip
    """Take the candidate sources that beat each pixel's match; a match continuing a
    neighbour's (``discount``) is charged less, so the field stays in coherent pieces and
    the votes agree instead of blurring."""
    sy, sx = level.snap(cy, cx)
    cost = _costs(desc, level, sy, sx) * (1.0 - discount)
    better = cost < field.cost
    if ok is not None:
        better &= ok
    field.sy[better], field.sx[better], field.cost[better] = sy[better], sx[better], cost[better]


def _patchmatch(desc: F32, level: _Level, field: _Field, rng: np.random.Generator,
                jumps: list[int], radius: int) -> None:  # fmt: skip
    """One PatchMatch sweep over all domain pixels at once: propagation of the neighbours'
    matches at falling jump lengths (jump flood), then a random search around each match."""
    level.use = _use(level, field)
    field.cost = _costs(desc, level, field.sy, field.sx)
    ty, tx = level.ty, level.tx
    for step in jumps:
        for dy, dx in ((step, 0), (-step, 0), (0, step), (0, -step)):
            ny, nx = ty + dy, tx + dx
            inside = (ny >= 0) & (ny < level.h) & (nx >= 0) & (nx < level.w)
            j = level.slot[np.clip(ny, 0, level.h - 1), np.clip(nx, 0, level.w - 1)]
            ok = inside & (j >= 0)
            j = np.maximum(j, 0)
            _try(desc, level, field, field.sy[j] - dy, field.sx[j] - dx, ok, _COHERENCE)
    r = radius
    while r >= 1:
        n = len(ty)
        _try(desc, level, field, field.sy + rng.integers(-r, r + 1, n, dtype=np.int32),
             field.sx + rng.integers(-r, r + 1, n, dtype=np.int32))  # fmt: skip
        r //= 2


def _use(level: _Level, field: _Field) -> F32:
    """How many patches copy each source pixel, on average over the patch round it: a fill
    copying one smooth patch over and over is flat where the picture has grain and detail."""
    count = np.bincount(field.sy * level.w + field.sx, minlength=level.h * level.w)
    k = 2 * _R + 1
    per_pixel = count.astype(np.float32).reshape(level.h, level.w)
    return np.asarray(cv2.blur(per_pixel, (k, k)), np.float32).ravel()


def _vote(level: _Level, field: _Field, sharp: float) -> None:
    """Each hole pixel becomes the weighted mean of what the patches over it were matched to."""
    good = float(np.percentile(field.cost, 75)) + 1e-6
    # one more slot, of no weight, for the patch centres off the crop's edge (-1 in the map)
    similar = np.exp(-field.cost / (sharp * good)) + 1e-6
    weight = np.append(similar * level.trust, 0.0).astype(np.float32)
    base = np.append(field.sy * level.w + field.sx, 0).astype(np.int64)
    pw = level.w + 2 * _R
    slots = np.pad(level.slot, _R, constant_values=-1).ravel()
    at = (level.hy.astype(np.int64) + _R) * pw + (level.hx + _R)
    channels = [np.ascontiguousarray(level.lin[..., c]).ravel() for c in range(3)]
    acc = np.zeros((3, len(at)), np.float32)
    total = np.zeros(len(at), np.float32)
    for qy in range(-_R, _R + 1):
        for qx in range(-_R, _R + 1):
            j = slots.take(at - (qy * pw + qx))  # the patch centred at p - q covers p
            wj = weight.take(j)
            src = base.take(j) + (qy * level.w + qx)
            np.clip(src, 0, level.h * level.w - 1, out=src)  # the weightless slot's
            for c in range(3):
                acc[c] += channels[c].take(src) * wj
            total += wj
    level.lin[level.hy, level.hx] = (acc / total).T


def _refresh(desc: F32, level: _Level, perc: F32) -> None:
    """The descriptors again where the hole's new estimate changed them."""
    perc[level.hy, level.hx] = encode(level.lin[level.hy, level.hx])
    y0, y1 = int(level.hy.min()), int(level.hy.max()) + 1
    x0, x1 = int(level.hx.min()), int(level.hx.max()) + 1
    box = (max(0, y0 - _R), min(level.h, y1 + _R), max(0, x0 - _R), min(level.w, x1 + _R))
    _describe(perc, box, desc)


def _em(level: _Level, field: _Field, rng: np.random.Generator, steps: int,
        jumps: list[int], radius: int, sharp: float) -> None:  # fmt: skip
    """``steps`` rounds of matching (PatchMatch) and voting at one level."""
    perc = encode(level.lin)
    desc = _describe(perc)
    for _ in range(steps):
        _patchmatch(desc, level, field, rng, jumps, radius)
        _vote(level, field, sharp)
        _refresh(desc, level, perc)


def _crop(hole: Mask) -> tuple[int, int, int, int]:
    """The hole's bounding box grown by a band the sources are taken from."""
    h, w = hole.shape
    ys, xs = np.nonzero(hole)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    bh, bw = y1 - y0, x1 - x0
    band = max(24, round(0.45 * max(bh, bw)), round(1.2 * min(bh, bw)))
    return max(0, y0 - band), min(h, y1 + band), max(0, x0 - band), min(w, x1 + band)


def inpaint(image: F32, hole: Mask, *, seed: int = 0, prior: Fill | None = None) -> Fill | None:
    """``image`` (h, w, 3, scene-linear) with the ``hole`` (h, w, True = fill) filled from around it.

    With a ``prior`` whose hole covered this one (the same picture), only the finest
    level runs, starting from its fill and matches. None when nothing around the hole
    can be copied from (no whole patch outside it).
    """
    h, w = hole.shape
    if not hole.any():
        return Fill(image.copy(), np.full((h, w, 2), -1, np.int32))
    rng = np.random.default_rng(seed)
    y0, y1, x0, x1 = _crop(hole)
    lin = np.ascontiguousarray(image[y0:y1, x0:x1], np.float32)
    crop_hole = np.ascontiguousarray(hole[y0:y1, x0:x1])
    finest = _Level(lin.copy(), crop_hole)
    if not len(finest.vy):
        return None
    if prior is not None:
        finest.lin[crop_hole] = prior.image[y0:y1, x0:x1][crop_hole]
        src = prior.source[y0:y1, x0:x1][finest.ty, finest.tx]
        sy, sx = src[:, 0] - y0, src[:, 1] - x0
        missing = src[:, 0] < 0
        ry, rx = finest.random_sources(int(missing.sum()), rng)
        sy[missing], sx[missing] = ry, rx
        field = _Field(*finest.snap(sy, sx))
        _em(finest, field, rng, 1, [4, 2, 1], 4, _SHARP_FINE)
    else:
        field = _pyramid(finest, rng)
    _match_edges(finest, field)
    out = image.copy()
    out[y0:y1, x0:x1][crop_hole] = np.maximum(finest.lin[crop_hole], 0.0)
    source = np.full((h, w, 2), -1, np.int32)
    j = finest.slot[finest.hy, finest.hx]
    source[finest.hy + y0, finest.hx + x0, 0] = field.sy[j] + y0
    source[finest.hy + y0, finest.hx + x0, 1] = field.sx[j] + x0
    return Fill(out, source)


def _match_edges(level: _Level, field: _Field) -> None:
    """Rebuild the fill's broad shading from its matches' gradients (Poisson), so it has no seams.

    Each region of the fill is copied from somewhere, and where two meet (the
    part continued from the left and the part from the right), or where the
    fill meets the hole's edge, their shading can step: a brighter cloud, a
    darker stretch of sky. The fill is split into its shading (a blur) and its
    grain and fine detail; the shading is integrated again from the gradients
    its matches have at their sources (a Poisson solve on the crop, by DCT), so
    each piece keeps its shape but the steps between them are spread out; the
    remaining difference at the hole's edge is spread over the hole (push-pull).
    The detail is each pixel's source's own.
    """
    hole = level.hole
    h, w = hole.shape
    perc = encode(level.lin)
    known = (~hole).astype(np.float32)
    # the shading of the picture round the hole, from its own pixels only
    weight = cv2.GaussianBlur(known, (0, 0), _SHADING)
    smooth = cv2.GaussianBlur(perc * known[..., None], (0, 0), _SHADING)
    smooth = np.asarray(smooth / np.maximum(weight, 1e-6)[..., None], np.float32)
    own_y = np.repeat(np.arange(h, dtype=np.int32)[:, None], w, axis=1)
    own_x = np.repeat(np.arange(w, dtype=np.int32)[None, :], h, axis=0)
    j = level.slot[hole]
    sy, sx = field.sy[j], field.sx[j]
    own_y[hole], own_x[hole] = sy, sx
    shading = np.empty_like(perc)
    for c in range(3):
        p = np.ascontiguousarray(smooth[..., c])
        gx = np.zeros((h, w), np.float32)
        gy = np.zeros((h, w), np.float32)
        gx[:, :-1] = p[:, 1:] - p[:, :-1]
        gy[:-1] = p[1:] - p[:-1]
        for g, dy, dx in ((gx, 0, 1), (gy, 1, 0)):
            # an edge with an end in the hole takes the gradient at that end's source
            part = g[: h - dy, : w - dx]
            a_in, b_in = hole[: h - dy, : w - dx], hole[dy:, dx:]
            ay, ax = own_y[: h - dy, : w - dx][a_in], own_x[: h - dy, : w - dx][a_in]
            part[a_in] = p[np.minimum(ay + dy, h - 1), np.minimum(ax + dx, w - 1)] - p[ay, ax]
            m = b_in & ~a_in
            by, bx = own_y[dy:, dx:][m], own_x[dy:, dx:][m]
            part[m] = p[by, bx] - p[np.maximum(by - dy, 0), np.maximum(bx - dx, 0)]
        div = gx.copy()
        div[:, 1:] -= gx[:, :-1]
        div += gy
        div[1:] -= gy[:-1]
        shading[..., c] = _poisson(div)
    ring = (known > 0) & (cv2.dilate(hole.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    diff = (smooth - shading) * ring[..., None]
    shading += _membrane(np.asarray(diff, np.float32), ring, hole)
    # the grain and fine detail: each pixel's own source's, which has no seams
    detail = perc[sy, sx] - smooth[sy, sx]
    level.lin[hole] = np.power(np.maximum(shading[hole] + detail, 0.0), 2.2)


def _membrane(diff: F32, ring: Mask, hole: Mask) -> F32:
    """``diff`` (given on the ``ring`` round the hole) carried smoothly across the hole: the
    harmonic interpolation (Laplace's equation, solved on a grid of at most ~20,000 hole
    cells), plus what is left at full size pulled in by push-pull. A sky brighter on one
    side than the other becomes a ramp across the hole, not a level."""
    weight = ring.astype(np.float32)
    around = push_pull(diff, weight)  # the ring's values carried outward over the known picture
    h, w = hole.shape
    step = max(1, math.ceil(math.sqrt(float(hole.sum()) / _MEMBRANE_CELLS)))
    size = (math.ceil(w / step), math.ceil(h / step))
    coarse = cv2.resize(hole.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0
    values = np.asarray(cv2.resize(around, size, interpolation=cv2.INTER_AREA), np.float32)
    values = values.reshape(size[1], size[0], -1)
    solved = values.copy()
    ys, xs = np.nonzero(coarse)
    if len(ys):
        index = np.full(coarse.shape, -1, np.int64)
        index[ys, xs] = np.arange(len(ys))
        rows, cols, vals = [], [], []
        diag = np.zeros(len(ys))
        rhs = np.zeros((len(ys), values.shape[2]))
        for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            ny, nx = ys + dy, xs + dx
            on = (ny >= 0) & (ny < coarse.shape[0]) & (nx >= 0) & (nx < coarse.shape[1])
            diag += on  # off the crop's edge: no neighbour (no flow across it)
            ny, nx = np.clip(ny, 0, coarse.shape[0] - 1), np.clip(nx, 0, coarse.shape[1] - 1)
            other = index[ny, nx]
            inner = on & (other >= 0)
            rows.append(np.flatnonzero(inner))
            cols.append(other[inner])
            vals.append(np.full(int(inner.sum()), -1.0))
            edge = on & (other < 0)
            rhs[edge] += values[ny[edge], nx[edge]]
        matrix = csc_matrix((np.concatenate([diag + 1e-9, *vals]),  # never singular
                             (np.concatenate([np.arange(len(ys)), *rows]),
                              np.concatenate([np.arange(len(ys)), *cols]))),
                            shape=(len(ys), len(ys)))  # fmt: skip
        solved[ys, xs] = splu(matrix).solve(rhs)
    up = cv2.resize(solved, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w, -1)
    rest = (diff - up) * ring[..., None]  # what the coarse grid missed along the ring
    out = up + push_pull(np.asarray(rest, np.float32), weight)
    return np.asarray(out * hole[..., None], np.float32)


def _poisson(div: F32) -> F32:
    """The picture whose Laplacian is ``div``, with no flow across the crop's edges (DCT)."""
    h, w = div.shape
    coef = dctn(div.astype(np.float64), type=2, norm="ortho")
    ky = 2.0 * np.cos(np.pi * np.arange(h) / h) - 2.0
    kx = 2.0 * np.cos(np.pi * np.arange(w) / w) - 2.0
    denom = ky[:, None] + kx[None, :]
    denom[0, 0] = 1.0
    coef /= denom
    coef[0, 0] = 0.0  # the mean is free: the push-pull step sets the level
    return np.asarray(idctn(coef, type=2, norm="ortho"), np.float32)


def _pyramid(finest: _Level, rng: np.random.Generator) -> _Field:
    """Coarse to fine: the coarsest level searched exhaustively, each finer one by PatchMatch
    from the last one's matches."""
    thickness = 2.0 * float(distance_transform_edt(finest.hole).max())
    depth = max(0, math.floor(math.log2(max(thickness / _COARSE_THICKNESS, 1.0))))
    depth = max(depth, math.ceil(math.log2(max(max(finest.h, finest.w) / _COARSE_SIDE, 1.0))))
    levels = [finest]
    while len(levels) <= depth and min(levels[-1].h, levels[-1].w) >= 4 * (2 * _R + 1):
        top = levels[-1]
        size = ((top.w + 1) // 2, (top.h + 1) // 2)
        lin = np.asarray(cv2.resize(top.lin, size, interpolation=cv2.INTER_AREA), np.float32)
        hole = cv2.resize(top.hole.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0
        level = _Level(lin, hole)
        if len(level.vy) < 16:
            break
        levels.append(level)
    field = _coarsest(levels[-1], rng)
    for i in range(len(levels) - 2, -1, -1):
        level = levels[i]
        field = _upsample(levels[i + 1], field, level, rng)
        steps, radius = (_STEPS_FINE, 4) if i == 0 else (_STEPS_MID, 8)
        _em(level, field, rng, steps, [4, 2, 1], radius, _SHARP_MID if i > 0 else _SHARP_FINE)
    return field


def _patches(perc: F32, ys: I32, xs: I32) -> F32:
    """The 7x7x3 patches centred at (ys, xs), flattened; the picture's edge mirrored."""
    pad = cv2.copyMakeBorder(perc, _R, _R, _R, _R, cv2.BORDER_REFLECT)
    win = np.lib.stride_tricks.sliding_window_view(pad, (2 * _R + 1, 2 * _R + 1), axis=(0, 1))
    return np.ascontiguousarray(win[ys, xs].reshape(len(ys), -1), np.float32)


def _nearest(level: _Level, tvec: F32, tmask: F32, ty: I32, tx: I32, svec: F32,
             sy: I32, sx: I32) -> tuple[NDArray[np.intp], F32]:  # fmt: skip
    """The best source for each target patch by exhaustive search, comparing only the target's
    known values (``tmask``), with the offset charge: indices into the sources and costs."""
    best = np.empty(len(ty), np.intp)
    cost = np.empty(len(ty), np.float32)
    s2 = (svec * svec).T
    chunk = max(1, 2_000_000 // max(len(sy), 1))
    for a in range(0, len(ty), chunk):
        t, m = tvec[a : a + chunk], tmask[a : a + chunk]
        d = (m * t * t).sum(axis=1)[:, None] - 2.0 * ((m * t) @ svec.T) + m @ s2
        d /= np.maximum(m.sum(axis=1), 1.0)[:, None]
        d += _offset_cost(level, sy[None, :] - ty[a : a + chunk, None],
                          sx[None, :] - tx[a : a + chunk, None])  # fmt: skip
        best[a : a + chunk] = np.argmin(d, axis=1)
        cost[a : a + chunk] = np.take_along_axis(d, best[a : a + chunk, None], axis=1)[:, 0]
    return best, cost


def _offset_cost(level: _Level, dy: I32, dx: I32) -> F32:
    """The charge for copying from (dy, dx) away: far, and above all up or down, costs more."""
    fy, fx = dy.astype(np.float32), dx.astype(np.float32)
    return np.asarray((_NEAR_Y * fy * fy + _NEAR_X * fx * fx) / level.side2, np.float32)


def _coarsest(level: _Level, rng: np.random.Generator) -> _Field:
    """The coarsest level, where the hole is a few patches thick: filled from its edge inward
    (onion peel), each ring of pixels from the best match of what is known around it (by
    exhaustive search over a few thousand sources, or continuing a neighbour's match where
    that is nearly as good); the patches round the hole get their best match too."""
    n_src = min(len(level.vy), _COARSE_SOURCES)
    pick = np.sort(rng.choice(len(level.vy), n_src, replace=False))
    sy, sx = level.vy[pick], level.vx[pick]
    perc = encode(level.lin)
    svec = _patches(perc, sy, sx)
    src = np.full((2, level.h, level.w), -1, np.int32)  # each filled pixel's source
    unknown = level.hole.copy()
    ring = np.ones((3, 3), np.uint8)
    while unknown.any():
        front = unknown & (cv2.dilate((~unknown).astype(np.uint8), ring) > 0)
        if not front.any():  # cannot happen while there are sources; no endless loop regardless
            front = unknown
        fy, fx = (a.astype(np.int32) for a in np.nonzero(front))
        known = np.repeat((~unknown).astype(np.float32)[..., None], 3, axis=2)
        tvec, tmask = _patches(perc, fy, fx), _patches(known, fy, fx)
        best, cost = _nearest(level, tvec, tmask, fy, fx, svec, sy, sx)
        by, bx, bcost = sy[best], sx[best], cost
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                ny, nx = np.clip(fy + dy, 0, level.h - 1), np.clip(fx + dx, 0, level.w - 1)
                has = src[0, ny, nx] >= 0
                cy, cx = level.snap(src[0, ny, nx] - dy, src[1, ny, nx] - dx)
                cvec = _patches(perc, cy, cx)
                c = (tmask * (tvec - cvec) ** 2).sum(axis=1) / np.maximum(tmask.sum(axis=1), 1.0)
                c += _offset_cost(level, cy - fy, cx - fx)
                c *= 1.0 - _PEEL_COHERENCE
                take = has & (c < bcost)
                by[take], bx[take], bcost[take] = cy[take], cx[take], c[take]
        level.lin[fy, fx] = level.lin[by, bx]
        perc[fy, fx] = perc[by, bx]
        src[0, fy, fx], src[1, fy, fx] = by, bx
        unknown &= ~front
    ty, tx = level.ty, level.tx
    fsy, fsx = src[0, ty, tx], src[1, ty, tx]
    rest = fsy < 0  # patches near the hole, centred outside it
    best, _ = _nearest(level, _patches(perc, ty[rest], tx[rest]),
                       np.ones((int(rest.sum()), svec.shape[1]), np.float32),
                       ty[rest], tx[rest], svec, sy, sx)  # fmt: skip
    fsy[rest], fsx[rest] = sy[best], sx[best]
    return _Field(fsy, fsx)


def _upsample(coarse: _Level, field: _Field, fine: _Level, rng: np.random.Generator) -> _Field:
    """The next finer level: the estimate upsampled in the hole, each match doubled."""
    up = cv2.resize(coarse.lin, (fine.w, fine.h), interpolation=cv2.INTER_LINEAR)
    fine.lin[fine.hole] = np.asarray(up, np.float32)[fine.hole]
    py = np.minimum(fine.ty // 2, coarse.h - 1)
    px = np.minimum(fine.tx // 2, coarse.w - 1)
    j = coarse.slot[py, px]
    ok = j >= 0
    j = np.maximum(j, 0)
    sy = np.where(ok, 2 * field.sy[j] + (fine.ty - 2 * py), 0).astype(np.int32)
    sx = np.where(ok, 2 * field.sx[j] + (fine.tx - 2 * px), 0).astype(np.int32)
    ry, rx = fine.random_sources(int((~ok).sum()), rng)
    sy[~ok], sx[~ok] = ry, rx
    field = _Field(*fine.snap(sy, sx))
    _vote(fine, field, 1.0)  # the doubled matches' own pixels: sharper than the upsampled fill
    return field
