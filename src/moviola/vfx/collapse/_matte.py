"""The building's matte: a rough box or polygon, refined to its silhouette by GrabCut.

GrabCut (graph cuts over colour models, Rother et al. 2004, as OpenCV ships it)
runs on a crop round the region at most 480 px across, on the plate's structure
(lightness, detail, place) and then on its colour; the hard mask is then upsampled and its edge softened by
a guided filter on the full-size plate, so the matte follows real edges
(ornament against sky) with sub-pixel alpha instead of staircases.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from ...core import InputError
from .._filters import guided_filter

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]
MIN_SHARE = 0.35  # a building fills at least this much of the box drawn round it
_GRABCUT_SIDE = 480  # the crop GrabCut sees, at most: about 0.1 s an iteration
_MARGIN = 0.35  # of the region's larger side: the surroundings GrabCut learns background from
_EDGE_BAND = 6  # px at GrabCut's size: how far colour may move the outline structure found
_SPECK = 0.08  # a result under this share of its region found nothing
_STRONG_EDGE = 0.35  # of the strongest: an edge the last resort takes for the facade's
_SKY_BAND = 0.06  # of a box's height: the band at its top taken as probable sky


@dataclass(frozen=True)
class Region:
    """Where the user says the building is, in plate pixels: a polygon (a box is four corners)."""

    points: tuple[tuple[float, float], ...]
    source: str  # "box" or the polygon file's name

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        xs, ys = [p[0] for p in self.points], [p[1] for p in self.points]
        return min(xs), min(ys), max(xs), max(ys)

    def area(self) -> float:
        pts = self.points
        return 0.5 * abs(
            sum(pts[i - 1][0] * p[1] - p[0] * pts[i - 1][1] for i, p in enumerate(pts))
        )

    def as_list(self) -> list[list[float]]:
        return [[round(x, 3), round(y, 3)] for x, y in self.points]


def parse_box(text: str) -> Region:
    """``x0,y0,x1,y1`` in plate pixels: the left, top corner, then the right, bottom one.

    A box given the other way round (x1 left of x0, y1 above y0) is refused rather
    than flipped: swapped numbers are a typing slip as often as not, and a
    flipped guess renders some other part of the picture without a word. So are
    a box of no width or height, negative numbers (left of or above the plate)
    and numbers that are not finite.
    """
    try:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(
            f"--building {text!r} is not x0,y0,x1,y1 (four numbers, plate pixels)"
        ) from None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
        raise InputError(f"--building {text!r} has a coordinate that is not a finite number")
    if min(x0, y0, x1, y1) < 0:
        raise InputError(f"--building {text!r} has a negative coordinate: positions are plate pixels "
                         "from its top-left corner, x right and y down")  # fmt: skip
    if x1 < x0 or y1 < y0:
        axis = "x1 is left of x0" if x1 < x0 else "y1 is above y0"
        raise InputError(f"--building {text!r} is reversed ({axis}): give the left, top corner first, "
                         "then the right, bottom one")  # fmt: skip
    if x1 == x0 or y1 == y0:
        raise InputError(f"--building {text!r} is empty: it has no {'width' if x1 == x0 else 'height'}")
    return Region(((x0, y0), (x1, y0), (x1, y1), (x0, y1)), "box")


def read_polygon(path: Path) -> Region:
    """A polygon file: JSON (``[[x, y], ...]`` or ``{"points": [...]}``) or one ``x,y`` per line."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such polygon file", path)
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
        raw = data["points"] if isinstance(data, dict) else data
        points = [(float(p[0]), float(p[1])) for p in raw]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, IndexError):
        try:
            points = [tuple(float(v) for v in line.replace(";", ",").split(",")[:2])  # type: ignore[misc]
                      for line in text.splitlines() if line.strip() and not line.startswith("#")]  # fmt: skip
        except ValueError:
            raise InputError(
                "not a polygon: give JSON [[x, y], ...] or one x,y per line", path
            ) from None
    if len(points) < 3 or any(len(p) != 2 for p in points):
        raise InputError(f"a polygon needs at least 3 points, this has {len(points)}", path)
    return Region(tuple(points), path.name)


def check_region(region: Region, width: int, height: int) -> Region:
    """The user's region, refused unless it lies on the ``width`` x ``height`` plate.

    Every point must be on the plate (its edges included): a box or polygon that
    runs off it is refused, not clipped. Positions past the edge nearly always
    mean pixels of some other picture (a scaled-down copy, a crop, the output
    size instead of the plate's), and clipping would matte the wrong part of
    the frame without a word; a building that really runs off the plate is
    drawn to the edge (0, or the plate's width or height). A region of no area
    or only a sliver is refused too.
    """
    if not all(math.isfinite(c) for p in region.points for c in p):
        raise InputError(f"the building region ({region.source}) has a coordinate that is not a finite number")
    if region.area() < 1.0:
        raise InputError(f"the building region ({region.source}) has zero area: {_shown(region)}")
    x0, y0, x1, y1 = region.bounds
    if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
        raise InputError(
            f"the building region ({region.source}) {_shown(region)} lies outside the "
            f"{width}x{height} plate"
        )
    if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
        raise InputError(
            f"the building region ({region.source}) {_shown(region)} runs off the {width}x{height} plate: "
            f"positions are in the plate's own pixels, 0-{width} across and 0-{height} down; draw it to the edge"
        )
    if region.area() < 64:
        raise InputError(
            f"the building region ({region.source}) covers only {region.area():.0f} px of the plate; "
            "give the box in plate pixels"
        )
    return region


def clip_region(region: Region, width: int, height: int) -> Region:
    """The region (in output pixels, after fitting the plate) cut to the output frame, which
    crops the plate; refused when nothing or only a sliver of it is left in frame."""
    x0, y0, x1, y1 = region.bounds
    if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
        raise InputError(
            f"the building falls outside the {width}x{height} output frame once the plate is fitted to it"
        )
    clipped = tuple((min(max(x, 0.0), float(width)), min(max(y, 0.0), float(height)))
                    for x, y in region.points)  # fmt: skip
    inside = Region(clipped, region.source)
    if inside.area() < 64:
        raise InputError(
            f"only {inside.area():.0f} px of the building region ({region.source}) is left in the "
            f"{width}x{height} output frame once the plate is fitted to it"
        )
    return inside


def _shown(region: Region) -> str:
    points = region.as_list()
    return str(points) if len(points) <= 8 else f"{points[:4]}... ({len(points)} points)"


def region_mask(region: Region, width: int, height: int, scale: float = 1.0) -> U8:
    mask = np.zeros((height, width), np.uint8)
    pts = np.array([[x * scale, y * scale] for x, y in region.points], np.float64)
    cv2.fillPoly(mask, [np.rint(pts * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    return mask


def building_matte(
    display: U8, region: Region, *, refine: bool = True, polygon: bool = False
) -> F32:
    """Soft matte (h, w) in [0, 1] of the building inside ``region``.

    ``display`` is the plate as 8-bit display RGB, at the size the matte is wanted.
    With ``refine`` GrabCut decides which pixels of the region are building; a
    box's outside is certain background, a polygon's edge is only probable.
    """
    h, w = display.shape[:2]
    hard = region_mask(region, w, h).astype(np.float32)
    step = 1.0  # the size of one pixel of the refined mask, in plate pixels
    if refine:
        found = _refined(display, region, polygon)
        if found is not None:
            hard, step = found[0] * hard, found[1]
        # else: the region as drawn is the building (it leaves no background to learn from)
    if hard.sum() < 64:
        raise InputError(
            f"no building found inside the region ({region.source}); draw a tighter box or a "
            "polygon, or turn refinement off (--no-refine)"
        )
    hard = hard * (1.0 - see_through(display, hard))
    grey = cv2.cvtColor(display, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    radius = max(2, round(step / 2) + 1)  # spans the upsampling's steps
    soft = guided_filter(grey, hard, radius, 2e-4)
    soft = np.clip(soft, 0.0, 1.0) * region_mask(region, w, h)  # never spill outside the region
    soft[soft < 0.02] = 0.0
    soft[soft > 0.98] = 1.0
    return np.asarray(soft, np.float32)


def _refined(display: U8, region: Region, polygon: bool) -> tuple[F32, float] | None:
    """The building inside the region by GrabCut, as a hard mask (h, w) with the size of its
    pixels in plate pixels; None when the region leaves no background to learn from.

    GrabCut sees a crop round the region (the region and a margin of its surroundings,
    at most _GRABCUT_SIDE px across), so a small building keeps its detail and the
    background it learns is the one beside the building, not the far side of the city.
    It tries the plate's structure (lightness, detail and place: see _structure_features),
    with the outline then settled by colour, and then colour alone, each first with a
    loose box's top band taken as probable sky; the first that leaves the building at least MIN_SHARE
    of its region wins. When none does (a facade much like everything round it), the
    largest of their results that is not a speck, and failing that the region narrowed
    to the facade's outer vertical edges: never a rectangle of sky round the building.
    """
    h, w = display.shape[:2]
    x0, y0, x1, y1 = region.bounds
    margin = _MARGIN * max(x1 - x0, y1 - y0)
    cx0, cy0 = max(0, math.floor(x0 - margin)), max(0, math.floor(y0 - margin))
    cx1, cy1 = min(w, math.ceil(x1 + margin)), min(h, math.ceil(y1 + margin))
    crop = display[cy0:cy1, cx0:cx1]
    scale = min(1.0, _GRABCUT_SIDE / max(crop.shape[:2]))
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    shifted = Region(tuple((x - cx0, y - cy0) for x, y in region.points), region.source)
    inside = region_mask(shifted, size[0], size[1], scale)
    if inside.sum() == 0:
        return None
    best: U8 | None = None
    for features, refine_edge in ((_structure_features(small, inside), True), (small, False)):
        for sky_band in (True, False) if not polygon else (False,):
            gc = _grabcut_seed(inside, polygon, sky_band)
            if not ((gc == cv2.GC_BGD).any() or (gc == cv2.GC_PR_BGD).any()):
                return None  # nothing to learn a background from: the region is the building
            fg = _grabcut(features, gc, 3)
            if fg is None:
                continue
            if fg.sum() >= MIN_SHARE * inside.sum():
                best = _colour_edge(small, inside, fg) if refine_edge else fg
                break
            if fg.sum() >= _SPECK * inside.sum() and (best is None or fg.sum() > best.sum()):
                best = fg
        else:
            continue
        break
    if best is None:
        best = _facade_columns(small, inside)
    big = cv2.resize(best.astype(np.float32), (cx1 - cx0, cy1 - cy0), interpolation=cv2.INTER_LINEAR)
    hard = np.zeros((h, w), np.float32)
    hard[cy0:cy1, cx0:cx1] = big > 0.5
    return hard, 1.0 / scale


def _grabcut(features: U8, gc: U8, iterations: int) -> U8 | None:
    """GrabCut's building (its largest parts) from the starting labels ``gc``; None when one
    side has too few samples to model (a sliver of a plate)."""
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut's k-means start: deterministic mattes
    try:
        cv2.grabCut(np.ascontiguousarray(features[..., ::-1]), gc, None, bgd, fgd, iterations,
                    cv2.GC_INIT_WITH_MASK)  # fmt: skip
    except cv2.error:
        return None
    return _largest_parts(np.isin(gc, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8))


def _colour_edge(rgb: U8, inside: U8, fg: U8) -> U8:
    """The building found by structure with its outline decided again by colour, near where it was.

    Detail measured over a neighbourhood spills a few pixels past a facade's edge
    into the sky; colour, which the sky beside the building shows plainly, takes
    that fringe back. The building's core and everything far from its outline stay.
    """
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * _EDGE_BAND + 1, 2 * _EDGE_BAND + 1))
    core, reach = cv2.erode(fg, kernel) > 0, cv2.dilate(fg, kernel) > 0
    gc = np.full(fg.shape, cv2.GC_BGD, np.uint8)
    gc[reach & (inside > 0)] = cv2.GC_PR_BGD
    gc[(fg > 0) & (inside > 0)] = cv2.GC_PR_FGD
    gc[core] = cv2.GC_FGD
    edged = _grabcut(rgb, gc, 2)
    if edged is None or edged.sum() < 0.7 * fg.sum():  # colour alone lost the building: keep it
        return fg
    return edged


def _structure_features(rgb: U8, inside: U8) -> U8:
    """A three-channel picture GrabCut can model a tower by where its colour cannot: lightness,
    detail (gradient energy around each pixel: windows and mullions against a smooth sky
    of the same grey) and the distance from the region's middle column (a tower stands in
    the middle of the box drawn round it, what else is in the box beside it)."""
    lum = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32)
    gx = cv2.Sobel(lum, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(lum, cv2.CV_32F, 0, 1, ksize=3)
    energy = np.log1p(np.sqrt(cv2.GaussianBlur(gx * gx + gy * gy, (0, 0), 2.0)))
    detail = np.clip(energy * (255.0 / max(float(np.percentile(energy, 99.5)), 1e-6)), 0.0, 255.0)
    xs = np.flatnonzero(inside.any(axis=0))
    middle, half = 0.5 * (xs[0] + xs[-1]), 0.5 * (xs[-1] - xs[0] + 1)
    across = np.abs(np.arange(rgb.shape[1], dtype=np.float32) - middle) * (128.0 / half)
    across = np.broadcast_to(np.clip(across, 0.0, 255.0)[None, :], lum.shape)
    return np.stack([lum, detail, across], axis=-1).astype(np.uint8)


def _facade_columns(rgb: U8, inside: U8) -> U8:
    """The region narrowed to where the facade is: between its outermost strong vertical edges
    left and right of its middle, and below the first strong horizontal edge of its upper half
    (a roofline), from the edge profiles of its columns and rows."""
    lum = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    ys, xs = np.nonzero(inside)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    box = lum[y0:y1, x0:x1]
    out = inside.copy()
    if box.shape[0] < 8 or box.shape[1] < 8:
        return out
    cols = np.abs(cv2.Sobel(box, cv2.CV_32F, 1, 0, ksize=3)).mean(axis=0)
    rows = np.abs(cv2.Sobel(box, cv2.CV_32F, 0, 1, ksize=3)).mean(axis=1)
    bw, bh = box.shape[1], box.shape[0]
    edge = max(1, bw // 20, bh // 20)  # the box's own border is no facade edge

    def first_strong(profile: NDArray[np.float32]) -> int:
        if len(profile) == 0 or float(profile.max()) <= 0.0:
            return 0
        return int(np.argmax(profile >= _STRONG_EDGE * float(profile.max())))

    left = edge + first_strong(cols[edge : bw // 2])
    right = bw - edge - first_strong(cols[bw // 2 : bw - edge][::-1])
    roof = edge + first_strong(rows[edge : bh // 2])
    out[:, : x0 + left] = 0
    out[:, x0 + right :] = 0
    out[: y0 + roof] = 0
    return out


def _grabcut_seed(inside: U8, polygon: bool, sky_band: bool) -> U8:
    """GrabCut's starting labels: outside certain background, inside probable building."""
    gc = np.where(inside > 0, cv2.GC_PR_FGD, cv2.GC_BGD).astype(np.uint8)
    if sky_band:  # a rough box is drawn loose above a building: its top band is probably sky
        ys = np.flatnonzero(inside.any(axis=1))
        if len(ys) and ys[0] > 0:  # a box at the frame's top edge: the building goes on above
            band = max(2, round(_SKY_BAND * (ys[-1] + 1 - ys[0])))
            strip = np.zeros_like(inside)
            strip[ys[0] : ys[0] + band] = inside[ys[0] : ys[0] + band]
            gc[(strip > 0) & (gc == cv2.GC_PR_FGD)] = cv2.GC_PR_BGD
    if polygon:  # trust the polygon's interior, let its rim go either way
        core = cv2.erode(inside, np.ones((5, 5), np.uint8), iterations=2)
        rim = cv2.dilate(inside, np.ones((5, 5), np.uint8), iterations=2)
        gc[(rim > 0) & (inside == 0)] = cv2.GC_PR_BGD
        gc[core > 0] = cv2.GC_PR_FGD
    return gc


def see_through(display: U8, hard: F32) -> F32:
    """Openings in the building where the sky shows through (arches, a belfry's windows).

    GrabCut keeps them as building because they are enclosed by it; left in, they
    fall with the debris as blue shards. A patch inside the matte whose colour is
    the sky's (within two standard deviations of the sky just around the building,
    in Lab) and which is big enough to be an opening, not a blue tile, is sky.
    """
    h, w = hard.shape
    inside = hard > 0.5
    if inside.sum() < 100:
        return np.zeros((h, w), np.float32)
    lab = cv2.cvtColor(display, cv2.COLOR_RGB2LAB).astype(np.float32)
    r = max(3, round(0.03 * max(h, w)))
    ring = (cv2.dilate(inside.astype(np.uint8), np.ones((2 * r + 1, 2 * r + 1), np.uint8)) > 0) & ~inside
    if ring.sum() < 50:
        return np.zeros((h, w), np.float32)
    sky = lab[ring]
    mean, cov = sky.mean(axis=0), np.cov(sky.T) + np.eye(3) * 4.0
    inv = np.linalg.inv(cov)
    body = lab[inside].mean(axis=0) - mean
    if float(body @ inv @ body) < 9.0:  # a facade the colour of the sky: no opening can be told
        return np.zeros((h, w), np.float32)
    diff = lab - mean
    d2 = np.einsum("...i,ij,...j->...", diff, inv, diff)
    candidate = (inside & (d2 < 4.0)).astype(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(candidate, connectivity=8)
    min_area = max(20, int(0.0002 * h * w))
    keep = np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= min_area) + 1
    return np.isin(labels, keep).astype(np.float32)


def _largest_parts(fg: U8) -> U8:
    """Drop specks (birds, noise) GrabCut kept: components under 2% of the largest."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if count <= 2:
        return fg
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= 0.02 * areas.max()) + 1
    return np.isin(labels, keep).astype(np.uint8)
