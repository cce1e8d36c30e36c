"""Fracture: the facade cut into shards that follow its structure.

- Floors first: rows where the facade's horizontal edges pile up (cornices,
  sills, slab lines) become the lines shards break along, as storeys do.
- Within a floor, Voronoi cells around seeds, stretched sideways (slabs and
  lintels, not needles), seeded densest around the failure point and sparsest
  at the base, where the big pieces stay big.
- A cell cut in two by the building's outline becomes two shards; slivers join
  a neighbour.

Each shard keeps its own pixels (its texture), its outline (the convex hull the
physics uses) and its bonds: the neighbours it shares an edge with, and how
long that edge is (a longer bond is a stronger one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import find_objects
from scipy.spatial import cKDTree

F32 = NDArray[np.float32]
I32 = NDArray[np.int32]


@dataclass
class Shard:
    index: int
    area: float  # px, weighted by the matte
    centroid: tuple[float, float]  # px
    hull: NDArray[np.float64]  # (k, 2) convex outline, px
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)
    floor: int


@dataclass
class Bond:
    a: int
    b: int  # -1: the ground or the building beyond the frame's edge
    x: float
    y: float
    length: float  # px of shared edge


@dataclass
class Fracture:
    labels: I32  # (h, w) shard index, -1 outside the building
    shards: list[Shard]
    bonds: list[Bond]
    floors: list[float] = field(default_factory=list)  # y of the floor lines, px
    edge: F32 = field(default_factory=lambda: np.zeros((0, 0), np.float32))  # fracture faces, 0..1


def find_peaks(x: NDArray[np.float64], *, distance: float, prominence: float) -> NDArray[np.intp]:
    """``scipy.signal.find_peaks(x, distance=, prominence=)``'s peaks, the same ones in the same
    order: local maxima (a flat top's middle), then the highest kept of any closer than
    ``distance``, then those standing ``prominence`` above the higher of their two bases.

    Our own because importing ``scipy.signal`` takes 0.7-1.4 s, paid by every farm task that
    prepares a shot; ``tests/test_vfx_fracture.py`` holds it to SciPy's answer.
    """
    x = np.asarray(x, np.float64)
    n = len(x)
    found: list[int] = []
    i = 1
    while i < n - 1:
        if x[i - 1] < x[i]:
            ahead = i + 1
            while ahead < n - 1 and x[ahead] == x[i]:
                ahead += 1
            if x[ahead] < x[i]:
                found.append((i + ahead - 1) // 2)
                i = ahead
        i += 1
    peaks = np.array(found, np.intp)
    # the highest first; SciPy orders ties by np.argsort's default, and so do we
    keep = np.ones(len(peaks), bool)
    gap = math.ceil(distance)
    order = np.argsort(x[peaks])
    for j in order[::-1]:
        if not keep[j]:
            continue
        k = j - 1
        while k >= 0 and peaks[j] - peaks[k] < gap:
            keep[k] = False
            k -= 1
        k = j + 1
        while k < len(peaks) and peaks[k] - peaks[j] < gap:
            keep[k] = False
            k += 1
    peaks = peaks[keep]
    proms = np.empty(len(peaks))
    for m, p in enumerate(peaks):
        top = x[p]
        left = right = top
        k = p
        while k >= 0 and x[k] <= top:
            left = min(left, x[k])
            k -= 1
        k = p
        while k < n and x[k] <= top:
            right = min(right, x[k])
            k += 1
        proms[m] = top - max(left, right)
    return peaks[proms >= prominence]


def floor_lines(image: F32, inside: NDArray[np.bool_], top: int, bottom: int) -> list[float]:
    """Rows of strong horizontal structure inside the building, about a storey apart."""
    lum = image.mean(axis=2)
    gy = np.abs(np.diff(lum, axis=0, prepend=lum[:1]))
    per_row = (gy * inside).sum(axis=1) / np.maximum(inside.sum(axis=1), 1)
    height = max(bottom - top, 1)
    profile = np.convolve(per_row, np.ones(3) / 3, mode="same")[top:bottom]
    if len(profile) < 8:
        return []
    min_gap = max(4, height // 14)
    peaks = find_peaks(profile, distance=min_gap, prominence=float(profile.std()) * 0.5)
    if len(peaks) < 2:  # a plain facade: storeys of a tenth of its height
        return [top + height * k / 10 for k in range(1, 10)]
    return [float(top + p) for p in peaks]


def _seeds(inside: NDArray[np.bool_], count: int, failure: tuple[float, float],
           rng: np.random.Generator) -> NDArray[np.float64]:  # fmt: skip
    ys, xs = np.nonzero(inside)
    y0, y1 = ys.min(), ys.max()
    span = max(y1 - y0, 1)
    fx, fy = failure
    sigma = 0.3 * max(span, xs.max() - xs.min())
    d2 = (xs - fx) ** 2 + (ys - fy) ** 2
    # denser near the failure, sparser toward the base: the base breaks into big pieces
    density = (1.0 + 3.0 * np.exp(-d2 / (2 * sigma * sigma))) * (1.25 - 0.75 * (ys - y0) / span)
    p = density / density.sum()
    pick = rng.choice(len(xs), size=min(count * 4, len(xs)), replace=False, p=p)
    cand = np.stack([xs[pick], ys[pick]], axis=1).astype(np.float64)
    cand += rng.uniform(-0.5, 0.5, cand.shape)
    # thin the candidates to a blue-noise set: drop any closer than the local spacing
    # (taken in random order, so sparse regions keep their share)
    spacing = np.sqrt(inside.sum() / max(count, 1)) * 0.7
    local = spacing / np.sqrt(density[pick] / density.mean())
    kept: list[int] = []
    grid: dict[tuple[int, int], list[int]] = {}
    cell = max(float(local.min()), 1.0)
    reach = int(np.ceil(local.max() / cell))
    for i in range(len(cand)):
        x, y = cand[i]
        gx, gy = int(x // cell), int(y // cell)
        near = (j for dx in range(-reach, reach + 1) for dy in range(-reach, reach + 1)
                for j in grid.get((gx + dx, gy + dy), ()))  # fmt: skip
        if any((cand[j, 0] - x) ** 2 + (cand[j, 1] - y) ** 2 < local[i] ** 2 for j in near):
            continue
        kept.append(i)
        grid.setdefault((gx, gy), []).append(i)
    return cand[kept]


def fracture(image: F32, matte: F32, *, count: int, failure: tuple[float, float],
             rng: np.random.Generator, ground_y: float | None = None) -> Fracture:  # fmt: skip
    """Cut the building (``matte`` > 0) into about ``count`` shards."""
    h, w = matte.shape
    inside = matte > 0.02
    ys, _ = np.nonzero(inside)
    top, bottom = int(ys.min()), int(ys.max()) + 1
    floors = floor_lines(image, inside, top, bottom)
    edges = np.array([top - 1.0, *floors, bottom + 1.0])
    band = np.clip(np.searchsorted(edges, np.arange(h), side="right") - 1, 0, len(edges) - 2)
    seeds = _seeds(inside, count, failure, rng)
    seed_band = np.clip(np.searchsorted(edges, seeds[:, 1], side="right") - 1, 0, len(edges) - 2)
    labels = np.full((h, w), -1, np.int32)
    aniso = np.array([1.0, 1.7])  # cells wider than tall: slabs and lintels
    py, px = np.nonzero(inside)
    pb = band[py]
    for b in np.unique(pb):
        mine = np.flatnonzero(seed_band == b)
        sel = pb == b
        if len(mine) == 0:  # a floor without a seed: one shard per such band
            labels[py[sel], px[sel]] = -2 - b
            continue
        tree = cKDTree(seeds[mine] * aniso)
        _, nearest = tree.query(np.stack([px[sel], py[sel]], axis=1) * aniso)
        labels[py[sel], px[sel]] = mine[nearest]
    labels = _split_and_merge(labels, max(12, inside.sum() // (count * 8)))
    shards = _shards(labels, matte, band)
    bonds = _bonds(labels, h, w, ground_y)
    return Fracture(labels, shards, bonds, floors, _fracture_faces(labels, h, w))


def _split_and_merge(labels: I32, min_area: int) -> I32:
    """Renumber 0..n-1: each connected piece its own shard, slivers merged into a neighbour."""
    out = np.full(labels.shape, -1, np.int32)
    n = 0
    small: list[tuple[NDArray[np.intp], NDArray[np.intp]]] = []
    shift = int(-labels.min()) + 1 if labels.min() < -1 else 0  # seedless floors are -2, -3, ...
    ids = np.where(labels == -1, 0, labels + shift + 1)
    for value, box in enumerate(find_objects(ids), start=1):
        if box is None:
            continue
        y0, x0 = box[0].start, box[1].start
        crop = (ids[box] == value).astype(np.uint8)
        parts, comp = cv2.connectedComponents(crop, connectivity=4)
        for k in range(1, parts):
            cy, cx = np.nonzero(comp == k)
            if len(cy) < min_area:
                small.append((cy + y0, cx + x0))
            else:
                out[cy + y0, cx + x0] = n
                n += 1
    for _ in range(4):  # slivers take the label most common around them
        left = []
        for cy, cx in small:
            ring = []
            for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                yy = np.clip(cy + dy, 0, labels.shape[0] - 1)
                xx = np.clip(cx + dx, 0, labels.shape[1] - 1)
                ring.append(out[yy, xx])
            around = np.concatenate(ring)
            around = around[around >= 0]
            if len(around):
                out[cy, cx] = np.bincount(around).argmax()
            else:
                left.append((cy, cx))
        small = left
        if not small:
            break
    for cy, cx in small:  # isolated specks: shards of their own
        out[cy, cx] = n
        n += 1
    return out


def _shards(labels: I32, matte: F32, band: NDArray[np.intp]) -> list[Shard]:
    n = int(labels.max()) + 1
    ys, xs = np.nonzero(labels >= 0)
    lab = labels[ys, xs]
    weight = matte[ys, xs].astype(np.float64)
    area = np.bincount(lab, weight, n)
    cx = np.bincount(lab, weight * (xs + 0.5), n) / np.maximum(area, 1e-9)
    cy = np.bincount(lab, weight * (ys + 0.5), n) / np.maximum(area, 1e-9)
    order = np.argsort(lab, kind="stable")
    bounds = np.searchsorted(lab[order], np.arange(n + 1))
    shards = []
    for i in range(n):
        idx = order[bounds[i] : bounds[i + 1]]
        sx, sy = xs[idx], ys[idx]
        corners = np.concatenate([np.stack([sx, sy], 1), np.stack([sx + 1, sy], 1),
                                  np.stack([sx, sy + 1], 1), np.stack([sx + 1, sy + 1], 1)])  # fmt: skip
        hull = cv2.convexHull(corners.astype(np.float32)).reshape(-1, 2).astype(np.float64)
        shards.append(Shard(i, float(area[i]), (float(cx[i]), float(cy[i])), hull,
                            (int(sx.min()), int(sy.min()), int(sx.max()) + 1, int(sy.max()) + 1),
                            int(band[int(cy[i]) if 0 <= cy[i] < len(band) else 0])))  # fmt: skip
    return shards


def _bonds(labels: I32, h: int, w: int, ground_y: float | None) -> list[Bond]:
    """Shared edges between shards, and anchors where the building meets ground or frame edge."""
    pairs: list[NDArray[np.int64]] = []
    pos: list[tuple[NDArray[np.intp], NDArray[np.intp]]] = []
    for a, b, ys, xs in ((labels[:, :-1], labels[:, 1:], *np.mgrid[0:h, 0:w - 1]),
                         (labels[:-1, :], labels[1:, :], *np.mgrid[0:h - 1, 0:w])):  # fmt: skip
        sel = (a != b) & (a >= 0) & (b >= 0)
        lo, hi = np.minimum(a[sel], b[sel]), np.maximum(a[sel], b[sel])
        pairs.append(lo.astype(np.int64) * 1_000_000 + hi)
        pos.append((ys[sel], xs[sel]))
    codes = np.concatenate(pairs)
    yy = np.concatenate([p[0] for p in pos]).astype(np.float64) + 0.5
    xx = np.concatenate([p[1] for p in pos]).astype(np.float64) + 0.5
    bonds: list[Bond] = []
    if len(codes):
        uniq, inv, counts = np.unique(codes, return_inverse=True, return_counts=True)
        mx = np.bincount(inv, xx) / counts
        my = np.bincount(inv, yy) / counts
        for code, c, x, y in zip(uniq, counts, mx, my, strict=True):
            if c >= 2:
                bonds.append(
                    Bond(
                        int(code // 1_000_000), int(code % 1_000_000), float(x), float(y), float(c)
                    )
                )
    # anchors: the building's foot on the ground, and where it runs off the frame
    rows = {"bottom": labels[h - 1, :], "top": labels[0, :]}
    cols = {"left": labels[:, 0], "right": labels[:, w - 1]}
    if ground_y is not None and ground_y < h - 1:
        gy = int(max(0, min(h - 1, round(ground_y) - 1)))
        rows["ground"] = labels[gy, :]
    for name, line in list(rows.items()) + list(cols.items()):
        for value in np.unique(line[line >= 0]):
            where = np.flatnonzero(line == value)
            if len(where) < 2:
                continue
            mid = float(where.mean()) + 0.5
            if name in ("left", "right"):
                x, y = (0.0 if name == "left" else float(w)), mid
            else:
                x, y = mid, {"bottom": float(h), "top": 0.0}.get(name, float(ground_y or h))
            bonds.append(Bond(int(value), -1, x, y, float(len(where))))
    return bonds


def _fracture_faces(labels: I32, h: int, w: int) -> F32:
    """How near each pixel is to a crack between shards (1 on it, 0 beyond ~2 px)."""
    crack = np.zeros((h, w), bool)
    d = (labels[:, 1:] != labels[:, :-1]) & (labels[:, 1:] >= 0) & (labels[:, :-1] >= 0)
    crack[:, 1:] |= d
    crack[:, :-1] |= d
    d = (labels[1:, :] != labels[:-1, :]) & (labels[1:, :] >= 0) & (labels[:-1, :] >= 0)
    crack[1:, :] |= d
    crack[:-1, :] |= d
    dist = cv2.distanceTransform((~crack).astype(np.uint8), cv2.DIST_L2, 3)
    r = max(1.5, 0.0018 * max(h, w))
    return np.asarray(np.clip(1.0 - dist / r, 0.0, 1.0) * (labels >= 0), np.float32)
