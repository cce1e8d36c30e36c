"""The clean plate: what the camera would see with the building gone.

The region the building covered (its matte, grown a little so no fringe of
facade survives) is filled by patch-based inpainting (``_inpaint``): pieces of
the picture round the hole, chosen so the city's windows and lights, the
skyline and the sky carry on across it, at full size so lights stay crisp, in
scene-linear ACEScg. The shot fills twice (the grown hole, then only under the
final matte); the second fill starts from the first (see ``clean_plate``).

A lit building's own light goes with it: ``building_glow`` fits its glow (its light
spread by lens and air, over a smooth sky) and finds the beacons on its roof;
``hole_mask`` grows the hole into the strong glow and the beacons, and ``clean_plate``
takes the rest of the glow off the plate (see the section below). All of it stays within
one building width of the matte.

The old fill, kept for where nothing can be copied (a hole over nearly all the
picture) and as the benchmark's baseline, is smooth: a plane fitted to a sky
round the hole, so its gradient carries on, plus the rest pulled in by push-pull
(a pyramid fill: Gortler et al. 1996), at most 960 px across. A user's own clean
plate replaces all this.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy import ndimage
from scipy.ndimage import binary_fill_holes, distance_transform_edt, minimum_filter1d

from ._inpaint import Fill, inpaint, push_pull

F32 = NDArray[np.float32]
_WORK_SIDE = 960  # the smooth fill's working size
_LAST: list[tuple[bytes, NDArray[np.bool_], Fill]] = []  # the last fill: picture digest, hole, fill


def hole_mask(matte: F32, image: F32 | None = None, *, glow: Glow | None = None) -> F32:
    """Where the building was, grown by ~0.4% of the frame so its fringe goes too, and, given
    the plate (``image``, or its ``glow`` measured already by ``building_glow``), into the
    building's strong glow and the beacons on its top, so they fall with it.

    Openings the matte leaves inside the building (sky seen through an arch) stay
    out of the hole: what the plate shows there is already what is behind.
    """
    kernel = _margin(*matte.shape)
    solid = (matte > 0.01).astype(np.uint8)
    grown = cv2.dilate(solid, kernel)
    if glow is None and image is not None:
        glow = building_glow(image, matte)
    if glow is not None:
        grown = grown | glow.hole.astype(np.uint8)
    openings = binary_fill_holes(solid > 0) & (solid == 0)
    openings = cv2.erode(openings.astype(np.uint8), kernel) > 0
    return np.asarray(grown * ~openings, np.float32)


def _margin(h: int, w: int) -> NDArray[np.uint8]:
    """The disc the building's matte is grown by: ~0.4% of the frame, so its fringe goes too."""
    r = max(2, round(0.004 * max(h, w)))
    return np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)), np.uint8)


# ---- the building's own light: its glow, and the beacons on its top --------------------------
#
# A lit building at night lights the air round it: lens bloom and lit haze make a halo that
# runs past its edge into the sky, brightest at the facade and fading with distance, and
# aircraft-warning beacons and antenna lights sit just above its roof. A hole grown by a
# fixed margin leaves both: once the tower has fallen, a faint glow and a red dot float in
# the sky. ``building_glow`` measures them from the plate.
#
# The glow is modelled as what it is, the building's own light (the plate under its matte)
# spread by a few Gaussians of fixed widths (5%, 15% and 40% of the building's width: the
# lens's bloom and the lit air), each with one strength for all channels, over a background
# that is a smooth surface (a quadratic in x and y per channel: a dusk sky's gradient). Both
# are fitted together by least squares (the strengths never negative), robustly (what lies
# more than three deviations off is dropped, three times), on the sky round the building
# only: pixels of little detail joined to the top of the view. So a lit neighbour, a city's
# windows or a bright patch of sky that is not shaped like the building's spread light
# cannot pass for glow, and a building not lit against a dark sky (``_lit``) makes none.
#
# Where the glow is strong (over a quarter of the sky behind it, on smooth open sky clear of
# anything else, within half the reach) it is filled like the building; beyond, it is
# subtracted, so the city lights under it keep their own pixels, fading to nothing at the
# reach. Beacons are small bright blobs in the building's top 15%, touching its sides or
# above its roof: what an opening a little bigger than a beacon takes away, three times the
# light round it and 0.05 linear at least, or clipped white and 40% over it (a daylit sky,
# a clipped wall, a sunlit stretch of sky have none), compact, grown into their bloom and
# the mast under them. Nothing reaches further than one building width from the matte (at
# most 15% of the frame's longer side): no unrelated light far off is touched, and the
# growth has a bound.

_GLOW_REACH = 1.0  # building widths: how far from the matte anything is touched (the cap)
_GLOW_REACH_MAX = 0.15  # ... and at most this share of the frame's longer side
_GLOW_SPREAD = (0.05, 0.15, 0.4)  # building widths: the Gaussians the glow is made of
_GLOW_TAPER = 0.7  # of the reach: where the subtracted glow starts fading to nothing at it
_GLOW_FLOOR = 0.002  # linear: a few 8-bit steps of a dark sky
_GLOW_FAINT = 0.04  # of the sky: a glow fainter than this (or 0.0005) is left alone
_GLOW_LIT = 1.5  # only a building whose bright part is this much over its sky glows ...
_GLOW_NIGHT = 10.0  # ... and whose brightest lights are this much over it ...
_GLOW_CLIPPED = 0.02  # ... or this share of it clipped at the plate's white (a dusk exposure)
_SKY_DETAIL = 0.05  # sky: detail under this share of its level (plus half _GLOW_FLOOR)
_FIT_SAMPLES = 20000  # sky pixels the fit uses, at most
_CORE_SHARE = 0.25  # glow over this share of the sky behind it is filled, not subtracted ...
_CORE_REACH = 0.5  # ... within this share of the reach ...
_CORE_CLEAR = 8.0  # ... and this many px from anything that is not sky (over a patch's width)
_BEACON_CONTRAST = 3.0  # a beacon is this many times the model round it brighter than it ...
_BEACON_FLOOR = 0.05  # ... and at least this much (linear) ...
_BEACON_CLIPPED = 0.4  # ... or, clipped (the plate's white), this share brighter
_BEACON_UP = 0.6  # building widths above its top a beacon may stand (on a mast)
_BEACON_SIDE = 0.02  # building widths off its sides (a light the matte cut) ...
_BEACON_HIGH = 0.15  # ... all of it in (or above) this top share of its height
_BEACON_CORE = 0.15  # building widths: a beacon's bright core fits in a square this big ...
_BEACON_SIZE = 0.6  # ... and with its bloom in one this big ...
_BEACON_BLOOM = 6.0  # ... and at most this many times the light itself
_BEACON_UP_MAX = 0.06  # of the frame's longer side: the highest a beacon may stand


@dataclass(frozen=True)
class Glow:
    """The light a building adds round itself, measured from the plate (``building_glow``)."""

    excess: F32  # (h, w, 3) linear light its glow adds beyond its margin; zero past the reach
    hole: NDArray[np.bool_]  # (h, w) its strong glow and its lights: filled with the building
    lights: NDArray[np.bool_]  # (h, w) its lights (beacons, antenna lights) and their bloom
    beyond: NDArray[np.bool_]  # (h, w) beyond its margin and within the reach
    reach: float  # px from the matte: nothing beyond is touched
    width: float  # px: the building's width the reach is measured in
    strength: tuple[float, ...]  # the glow's fitted strength per spread (channels' mean); () none

    @staticmethod
    def none(h: int, w: int) -> Glow:
        nothing = np.zeros((h, w), np.bool_)
        return Glow(np.zeros((h, w, 3), np.float32), nothing, nothing, nothing, 0.0, 0.0, ())

    @property
    def touched(self) -> NDArray[np.bool_]:
        """Beyond the building's margin, where the clean plate differs from the plate because
        of the glow (there it is never brighter than the plate: the glow only adds light)."""
        return np.asarray((self.hole | (self.excess.max(axis=2) > 0.0)) & self.beyond, np.bool_)


def building_glow(image: F32, matte: F32) -> Glow:
    """The glow and beacons round the building of ``matte`` in ``image`` (h, w, 3, linear)."""
    h, w = matte.shape
    solid_full = matte > 0.5
    if solid_full.sum() < 64:
        return Glow.none(h, w)
    rows = solid_full.sum(axis=1)
    width = float(np.median(rows[rows > 0]))
    reach = float(min(max(_GLOW_REACH * width, 12.0), _GLOW_REACH_MAX * max(h, w)))
    ys, xs = np.nonzero(solid_full)
    pad = math.ceil(1.5 * reach) + 2  # the sky the fit sees: half as far again
    y0, y1 = max(0, int(ys.min()) - pad), min(h, int(ys.max()) + 1 + pad)
    x0, x1 = max(0, int(xs.min()) - pad), min(w, int(xs.max()) + 1 + pad)
    img = np.ascontiguousarray(image[y0:y1, x0:x1], np.float32)
    soft = np.ascontiguousarray(matte[y0:y1, x0:x1], np.float32)
    solid = soft > 0.5
    dist = np.asarray(distance_transform_edt(~solid), np.float32)
    free = cv2.dilate((soft > 0.01).astype(np.uint8), np.ones((5, 5), np.uint8)) == 0
    lum = np.ascontiguousarray(img.mean(axis=2))
    local = _masked_blur(lum * free, free.astype(np.float32), 2.0)
    detail = _masked_blur(np.abs(lum - local) * free, free.astype(np.float32), 3.0)
    sky = _open_sky(free & (detail < _SKY_DETAIL * local + 0.5 * _GLOW_FLOOR), solid)
    back, excess, strength = _fit_glow(img, soft, sky, width)
    ch, cw = solid.shape
    strong = np.zeros((ch, cw), np.bool_)
    if strength:
        fade = np.clip((reach - dist) / ((1.0 - _GLOW_TAPER) * reach), 0.0, 1.0)
        excess *= (fade * fade * (3.0 - 2.0 * fade))[..., None]
        glow = excess.mean(axis=2)
        faint = np.maximum(_GLOW_FAINT * back.mean(axis=2), 0.0005)
        excess *= np.clip((glow - faint) / faint, 0.0, 1.0)[..., None]  # too faint to see
    beacons = _beacons(img, back + excess, solid, dist, reach, width, max(h, w))
    if strength:
        strong = _strong(img, excess, back, detail, sky | ~free, solid | beacons, dist, reach)
    # the glow subtracted is what lies round the building and its margin (its fringe: filled
    # anyway, and what the plate shows there may be facade, darker than what is behind); the
    # beacons and the strong glow are filled wherever they are
    building = cv2.dilate((soft > 0.01).astype(np.uint8), _margin(h, w)) > 0

    def full(part: NDArray[np.bool_]) -> NDArray[np.bool_]:
        out = np.zeros((h, w), np.bool_)
        out[y0:y1, x0:x1] = part
        return out

    light = np.zeros((h, w, 3), np.float32)
    light[y0:y1, x0:x1] = np.where(building[..., None], 0.0, excess)
    return Glow(light, full((strong | beacons) & (soft <= 0.01)), full(beacons & (soft <= 0.01)),
                full(~building & (dist <= reach)), reach, width, strength)  # fmt: skip


def light_matte(image: F32, clean: F32, matte: F32, glow: Glow) -> F32:
    """The building's matte raised over its lights (``glow.lights``), just enough that the
    facade layer carries them (``plate - (1 - a) * clean``, no brighter than the brightest
    facade pixel) and they fall with it; elsewhere the matte as it is."""
    inside = matte > 0.5
    limit = image[inside].max(axis=0) if inside.any() else image.reshape(-1, 3).max(axis=0)
    room = np.maximum(limit[None, None, :] - clean, 1e-4)
    need = np.clip(((image - clean) / room).max(axis=2), 0.0, 1.0)
    need[need < 0.02] = 0.0  # the fracture takes what is above 0.02
    return np.asarray(np.where(glow.lights, np.maximum(matte, need), matte), np.float32)


def _open_sky(smooth: NDArray[np.bool_], solid: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The smooth pixels joined to the top of the view (above the building's roof): the sky,
    not a dark wall or a calm stretch of water low in the city."""
    count, labels = cv2.connectedComponents(smooth.astype(np.uint8), connectivity=4)
    if count <= 1:
        return smooth
    rows = np.flatnonzero(solid.any(axis=1))
    top = max(1, int(rows[0])) if len(rows) else 1
    joined = np.unique(labels[:top][smooth[:top]])
    return np.asarray(np.isin(labels, joined[joined > 0]), np.bool_)


def _fit_glow(img: F32, soft: F32, sky: NDArray[np.bool_], width: float) -> tuple[F32, F32, tuple[float, ...]]:
    """The sky's smooth surface and the glow (each (h, w, 3)), fitted together on the sky; the
    glow is zero (and the strengths empty) when the building is not lit or nothing fits."""
    ch, cw = sky.shape
    gy, gx = np.mgrid[0:ch, 0:cw].astype(np.float32)
    u, v = gx / max(cw, 1) - 0.5, gy / max(ch, 1) - 0.5
    surface = np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], axis=-1)
    ys, xs = np.nonzero(sky)
    lum = img.mean(axis=2)
    if len(ys) < 100:
        fallback = _masked_blur(img, (soft <= 0.01).astype(np.float32), 8.0)
        return fallback, np.zeros_like(img), ()
    step = max(1, math.ceil(len(ys) / _FIT_SAMPLES))
    ys, xs = ys[::step], xs[::step]
    solid = soft > 0.5
    glows = solid.any() and _lit(img[solid], float(np.median(lum[ys, xs])), float(img.max()))
    light = img * soft[..., None]  # the building's own light
    spreads = [_spread(light, max(1.0, s * width)) for s in _GLOW_SPREAD] if glows else []
    n_surface = surface.shape[-1]
    # one system for the three channels: a surface each, and the spreads' strengths shared, so
    # the glow has the colour of the building's light (a lens's bloom does not tint it; a blue
    # sky brighter low down is not a yellow facade's glow)
    at = surface[ys, xs].astype(np.float64)
    blocks = [np.zeros((len(ys), 3 * n_surface + len(spreads))) for _ in range(3)]
    for c, block in enumerate(blocks):
        block[:, c * n_surface : (c + 1) * n_surface] = at
        for i, sp in enumerate(spreads):
            block[:, 3 * n_surface + i] = sp[ys, xs, c]
    design = np.concatenate(blocks)
    target = np.concatenate([img[ys, xs, c] for c in range(3)]).astype(np.float64)
    keep = np.ones(len(target), np.bool_)
    coef = np.zeros(design.shape[1])
    for _ in range(3):  # robust: what lies far off the fit (a bird, a cloud's edge) is dropped
        coef = _nonnegative_tail(design[keep], target[keep], len(spreads))
        off = np.abs(target - design @ coef)
        keep = off < 3.0 * 1.4826 * float(np.median(off[keep])) + 1e-6
    back = np.stack([surface @ coef[c * n_surface : (c + 1) * n_surface].astype(np.float32)
                     for c in range(3)], axis=-1)  # fmt: skip
    excess = np.zeros_like(img)
    for i, sp in enumerate(spreads):
        excess += np.float32(coef[3 * n_surface + i]) * sp
    strength = tuple(float(a) for a in coef[3 * n_surface :])
    return np.asarray(np.maximum(back, 0.0), np.float32), excess, strength


def _lit(building: F32, sky: float, white: float) -> bool:
    """Is the building lit against a dark or darkening sky (its own lights), not sunlit?

    Its bright part (the 75th percentile) must be _GLOW_LIT times the sky, and its lights
    must be those of a night: the brightest (99th percentile) _GLOW_NIGHT times the sky, or
    a share of it clipped at the plate's white (a dusk exposure). A sunlit facade brighter
    than a blue sky is neither."""
    lum = building.mean(axis=1)
    if float(np.percentile(lum, 75)) <= _GLOW_LIT * sky:
        return False
    clipped = float(np.mean(building.max(axis=1) >= 0.95 * white))
    return float(np.percentile(lum, 99)) >= _GLOW_NIGHT * sky or clipped >= _GLOW_CLIPPED


def _nonnegative_tail(design: NDArray[np.float64], target: NDArray[np.float64], tail: int) -> NDArray[np.float64]:
    """Least squares with the last ``tail`` coefficients kept at or above zero: every choice of
    which of them are held at zero (2^tail, a few) solved on the normal equations, the best
    that keeps the rest non-negative taken."""
    gram, rhs = design.T @ design, design.T @ target
    n = design.shape[1]
    ridge = 1e-9 * float(np.trace(gram)) / n * np.eye(n)  # never singular
    best, best_cost = np.zeros(n), np.inf
    for held in range(1 << tail):
        free = np.ones(n, np.bool_)
        for i in range(tail):
            free[n - tail + i] = not (held >> i) & 1
        coef = np.zeros(n)
        coef[free] = np.linalg.solve((gram + ridge)[np.ix_(free, free)], rhs[free])
        if (coef[n - tail :] < 0).any():
            continue
        cost = float(coef @ gram @ coef - 2.0 * coef @ rhs)
        if cost < best_cost:
            best, best_cost = coef, cost
    return best


def _spread(light: F32, sigma: float) -> F32:
    """``light`` blurred by a Gaussian of ``sigma`` px (a wide one at a reduced size)."""
    if sigma <= 6.0:
        return np.asarray(cv2.GaussianBlur(light, (0, 0), sigma), np.float32)
    k = int(sigma // 3.0)
    h, w = light.shape[:2]
    padded = cv2.copyMakeBorder(light, 0, -h % k, 0, -w % k, cv2.BORDER_REFLECT)
    small = cv2.resize(padded, (padded.shape[1] // k, padded.shape[0] // k), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / k)
    return _full_size(np.asarray(small, np.float32), k, w, h)


def _strong(img: F32, excess: F32, back: F32, detail: F32, open_sky: NDArray[np.bool_],
            ours: NDArray[np.bool_], dist: F32, reach: float) -> NDArray[np.bool_]:  # fmt: skip
    """Where the glow is strong enough to fill over rather than subtract: over _CORE_SHARE of
    the sky behind it, where the plate is smooth, in open sky (``open_sky``, the building
    counted as sky) and a patch and more from anything else (so a lit neighbour, the city's
    windows are kept, losing only the glow, and the fill is not drawn into continuing them),
    within _CORE_REACH of the reach, joined to the building (``ours``: it and its lights);
    never over (or a patch from) a light the model of sky and glow does not explain (a
    neighbour's beacon in the glow)."""
    glow = excess.mean(axis=2)
    sky = back.max(axis=2)
    unexplained = (img - back - excess).max(axis=2) > np.maximum(np.maximum(2.0 * excess.max(axis=2), 0.5 * sky), 0.02)
    unexplained = cv2.dilate((unexplained & ~ours).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    clear = distance_transform_edt((open_sky | ours) & ~unexplained) > _CORE_CLEAR
    strong = np.asarray((glow > _CORE_SHARE * np.maximum(back.mean(axis=2), _GLOW_FLOOR))
                        & (detail < 0.3 * glow) & clear & (dist < _CORE_REACH * reach) & ~ours, np.bool_)  # fmt: skip
    count, labels = cv2.connectedComponents((strong | ours).astype(np.uint8), connectivity=8)
    if count <= 1:
        return strong
    joined = np.unique(labels[ours])
    return np.asarray(strong & np.isin(labels, joined[joined > 0]), np.bool_)


def _masked_blur(values: F32, weight: F32, sigma: float) -> F32:
    """A Gaussian blur of ``values`` over where ``weight`` is 1 only (normalised convolution)."""
    if values.ndim == 3:
        num = cv2.GaussianBlur(values * weight[..., None], (0, 0), sigma)
        den = cv2.GaussianBlur(weight, (0, 0), sigma)[..., None]
    else:
        num = cv2.GaussianBlur(values * weight, (0, 0), sigma)
        den = cv2.GaussianBlur(weight, (0, 0), sigma)
    return np.asarray(num / np.maximum(den, 1e-6), np.float32)


def _full_size(coarse: F32, f: int, width: int, height: int) -> F32:
    """A coarse map (cells of ``f`` px from the crop's corner) back at the crop's size."""
    size = (coarse.shape[1] * f, coarse.shape[0] * f)
    up = cv2.resize(coarse, size, interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(np.asarray(up, np.float32)[:height, :width])


def _beacons(img: F32, model: F32, solid: NDArray[np.bool_], dist: F32, reach: float,
             width: float, frame: int) -> NDArray[np.bool_]:  # fmt: skip
    """Small bright blobs (beacons, antenna lights, a lit crown) touching the building's upper
    sides or above its top, with their bloom (as far as it stands above the ``model``, the
    background and the glow) and the mast under them; nothing beyond the reach."""
    ch, cw = solid.shape
    out = np.zeros((ch, cw), np.bool_)
    m = max(2, round(_BEACON_SIDE * width))
    top = np.where(solid.any(axis=0), np.argmax(solid, axis=0), ch)
    top = minimum_filter1d(top, 2 * m + 1, mode="nearest")  # the roof, a little past its corners
    rows = np.flatnonzero(solid.any(axis=1))
    # near its top only: lower down (beside a setback too), a light is more likely a neighbour's
    upper = np.arange(ch)[:, None] <= rows[0] + _BEACON_HIGH * (rows[-1] - rows[0])
    up = min(_BEACON_UP * width, _BEACON_UP_MAX * frame)
    above = (np.arange(ch)[:, None] <= top[None, :]) & (top < ch)[None, :] & (dist <= up)
    zone = (above | (dist <= m)) & upper & ~solid
    if not zone.any():
        return out
    # a light is small: what an opening a little bigger than a beacon's core takes away (a
    # clipped wall, a sunlit stretch of sky stay), a few times over what is round it, or
    # clipped (an 8-bit plate's white, where a beacon against a bright dusk sky ends up)
    core = max(3.0, _BEACON_CORE * width)
    k = 2 * math.ceil(core) + 1
    ys, xs = np.nonzero(cv2.dilate(zone.astype(np.uint8), np.ones((k, k), np.uint8)))
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    brightest = np.ascontiguousarray(img[y0:y1, x0:x1].max(axis=2))
    base = model[y0:y1, x0:x1].max(axis=2)
    bare = np.where(solid[y0:y1, x0:x1], base, brightest)
    local = cv2.morphologyEx(bare, cv2.MORPH_OPEN, np.ones((k, k), np.uint8))
    rise = brightest - local
    clipped = brightest >= 0.95 * float(img.max())
    seed = np.zeros((ch, cw), np.bool_)
    seed[y0:y1, x0:x1] = ((rise > np.maximum(_BEACON_CONTRAST * local, _BEACON_FLOOR))
                          | (clipped & (rise > np.maximum(_BEACON_CLIPPED * local, _BEACON_FLOOR))))  # fmt: skip
    seed &= zone
    if not seed.any():
        return out
    # a light is compact where it is over half its peak (a lit facade's fringe along the
    # matte is not): that core's size bounds its bloom
    count, parts = cv2.connectedComponents(seed.astype(np.uint8), connectivity=8)
    lift = np.zeros((ch, cw), np.float32)
    lift[y0:y1, x0:x1] = rise
    peak = np.zeros(count, np.float32)
    np.maximum.at(peak, parts[seed], lift[seed])
    bright = np.where(seed & (lift >= 0.5 * peak[parts]), parts, 0)
    sizes = np.zeros(count, np.float32)
    for label, where in enumerate(ndimage.find_objects(bright), start=1):
        if where is not None:
            sizes[label] = max(sl.stop - sl.start for sl in where)
    seed &= (sizes[parts] > 0) & (sizes[parts] <= core)
    if not seed.any():
        return out
    size = np.where(seed, sizes[parts], 0.0)  # each light's own size
    value = (img - model).max(axis=2)
    base = model.max(axis=2)
    limit = _BEACON_SIZE * width
    # each blob with as much of its bloom as stands out: the lowest threshold at which it is
    # still a blob (not run into a glow the model missed, or into the city)
    for share in (0.05, 0.1, 0.25, 0.5, 1.0, 2.0):
        grow = ((value > np.maximum(share * base, _GLOW_FLOOR)) & ~solid).astype(np.uint8)
        _, labels, stats, _ = cv2.connectedComponentsWithStats(grow, connectivity=8)
        seeded = np.unique(labels[seed])
        seeded = seeded[seeded > 0]
        if not len(seeded):
            break
        mine = np.isin(labels, seeded)
        which, d_px, s_px = labels[mine], dist[mine], size[mine]
        far, near, light = (np.full(len(stats), fill, np.float32) for fill in (-np.inf, np.inf, 0.0))
        np.maximum.at(far, which, d_px)
        np.minimum.at(near, which, d_px)
        np.maximum.at(light, which, s_px)
        far, near, light = far[seeded], near[seeded], light[seeded]
        for label, d_max, d_min, own in zip(seeded, far, near, light, strict=True):
            x, y, bw, bh = (int(v) for v in stats[label, :4])
            if max(bw, bh) > min(limit, max(12.0, _BEACON_BLOOM * own)) or d_max > reach:
                continue  # too big for a light's bloom (a cloud, the city), or running off
            blob = labels == label
            out |= blob
            seed &= ~blob
            if d_min > 2.0:  # standing clear of the roof: on a mast, taken down with it
                for c in range(x, x + bw):
                    if top[c] < ch:
                        out[y + bh // 2 : top[c] + 1, c] = True
    out = cv2.dilate(out.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))) > 0
    return np.asarray(out & (dist <= reach), np.bool_)


def _plane_base(image: F32, known: NDArray[np.bool_], ring: NDArray[np.bool_]) -> F32:
    h, w = known.shape
    ys, xs = np.nonzero(ring)
    if len(xs) < 12:
        ys, xs = np.nonzero(known)
    if len(xs) < 12:
        return np.zeros_like(image)
    step = max(1, len(xs) // 20000)
    xs, ys = xs[::step], ys[::step]
    u, v = xs / w - 0.5, ys / h - 0.5

    def basis(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.stack([np.ones_like(a), a, b], axis=-1)

    coef, *_ = np.linalg.lstsq(basis(u, v), image[ys, xs].astype(np.float64), rcond=None)
    gy, gx = np.mgrid[0:h, 0:w]
    surface = basis(gx / w - 0.5, gy / h - 0.5) @ coef
    # a plane runs away far from its data: keep its brightness and its hue (each
    # channel's share of the brightness) within what the ring holds
    samples = image[ys, xs].astype(np.float64)
    lum = np.maximum(samples.mean(axis=1), 1e-6)
    lo, hi = np.percentile(lum, 2), np.percentile(lum, 98)
    share = samples / lum[:, None]
    s_lo, s_hi = np.percentile(share, 2, axis=0), np.percentile(share, 98, axis=0)
    now = np.maximum(surface.mean(axis=2, keepdims=True), 1e-6)
    hue = np.clip(surface / now, s_lo, s_hi)
    surface = hue * np.clip(now, lo, hi)
    return np.asarray(np.maximum(surface, 0.0), np.float32)


def _sky_like(image: F32, ring: NDArray[np.bool_]) -> bool:
    """Is what surrounds the hole mostly smooth sky (where a gradient carries on)?

    A plane through bricks, grass and sky extrapolates to colours that are none
    of them; there the push-pull fill alone, which only blends what borders the
    hole, is the safer guess.
    """
    if ring.sum() < 50:
        return False
    lum = image.mean(axis=2)
    detail = np.abs(lum - cv2.GaussianBlur(lum, (0, 0), 2.0))
    smooth = detail[ring] < 0.015 * max(float(np.median(lum[ring])), 0.05) * 4
    return bool(smooth.mean() > 0.7)


def clean_plate(image: F32, hole: F32, *, glow: Glow | None = None) -> F32:
    """``image`` (h, w, 3, ACEScg) with the ``hole`` (h, w, 1 = fill) filled from around it.

    The fill is patch-based inpainting (``_inpaint``): the city, its windows and lights
    and the sky carry on across the hole. With the building's ``glow`` (``building_glow``)
    its excess light is taken off the plate first, so the fill's sources carry none and
    the faint glow beyond the hole is gone too; outside the hole and the glow's reach
    nothing changes. The last fill is remembered: filling part of
    the same hole in the same picture again (the shot does, once the matte is final)
    starts from it and only refines at full size; the same hole again gets the same fill. Where nothing around the hole can be
    copied (a hole over nearly all the picture), the smooth fill stands in.
    """
    mask = hole > 0
    plate = np.ascontiguousarray(image, np.float32)
    picture = plate
    if glow is not None and glow.reach > 0.0:
        picture = np.maximum(plate - glow.excess, 0.0)
    if not mask.any():
        return picture.copy()
    # the key is the picture the fill is made from: the same plate less another glow is another
    key = hashlib.blake2b(picture.tobytes(), digest_size=16).digest()
    last = _LAST[0] if _LAST else None
    fill = None
    if last is not None and last[0] == key and last[1].shape == mask.shape:
        if np.array_equal(mask, last[1]):  # the same fill again
            return _no_brighter(_feathered(picture, last[2].image, hole), plate, glow)
        # a hole inside the last one (give or take a pixel at its edge: the final matte's
        # fringe, dilated): start from that fill
        near = cv2.dilate(last[1].astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        if not (mask & ~near).any():
            fill = inpaint(picture, mask, prior=last[2])
    if fill is None:
        fill = inpaint(picture, mask)
    if fill is None:
        return _no_brighter(_push_pull_fill(picture, hole), plate, glow)
    _LAST[:] = [(key, mask, fill)]
    return _no_brighter(_feathered(picture, fill.image, hole), plate, glow)


def _no_brighter(clean: F32, plate: F32, glow: Glow | None) -> F32:
    """Round the building (beyond its margin, where the plate may show its darker fringe),
    where its glow was, what is behind is never brighter than the plate (the glow only adds
    light): the fill is held to it there."""
    if glow is None or glow.reach <= 0.0:
        return clean
    around = glow.touched[..., None]
    return np.asarray(np.where(around, np.minimum(clean, plate), clean), np.float32)


def _feathered(image: F32, fill: F32, hole: F32) -> F32:
    # feather over two pixels inside the hole's edge, so the seam is not a hard line
    soft = np.asarray(cv2.GaussianBlur(hole, (0, 0), 1.0), np.float32) * hole
    soft = np.clip(soft * 1.5, 0.0, 1.0)[..., None]
    return np.asarray(image * (1.0 - soft) + np.maximum(fill, 0.0) * soft, np.float32)


def _push_pull_fill(image: F32, hole: F32) -> F32:
    """The smooth fill (a plane for a sky, push-pull for the rest): kept as the fallback
    where nothing can be copied, and as the benchmark's baseline."""
    h, w = hole.shape
    scale = min(1.0, _WORK_SIDE / max(h, w))
    size = (max(4, round(w * scale)), max(4, round(h * scale)))
    small = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.float32)
    small_hole = cv2.resize(hole, size, interpolation=cv2.INTER_AREA) > 0.0
    known = ~small_hole
    r = max(3, round(0.12 * max(size)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    ring = (cv2.dilate(small_hole.astype(np.uint8), kernel) > 0) & known
    base = _plane_base(small, known, ring) if _sky_like(small, ring) else np.zeros_like(small)
    residual = push_pull(small - base, known.astype(np.float32))
    fill_small = base + residual
    fill = np.asarray(cv2.resize(fill_small, (w, h), interpolation=cv2.INTER_CUBIC), np.float32)
    return _feathered(image, fill, hole)
