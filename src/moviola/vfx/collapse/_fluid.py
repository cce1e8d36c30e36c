"""Collapse dust as a fluid: velocity, density and temperature on a grid in the plate's plane.

Stable fluids (Stam 1999) on a collocated grid: semi-Lagrangian advection,
buoyancy (hot air rises, dust-laden air sinks and rolls along the ground),
vorticity confinement (Fedkiw, Stam and Jensen 2001) to keep the small curls a
coarse grid damps away, and a pressure projection solved exactly by a cosine
transform over a closed box whose floor is the ground. The standing building
is an obstacle (the flow inside it is stopped); the wind is the ambient flow.

The grid spans the frame with a margin on the sides and above, so dust can
leave the picture without meeting a wall, and has a fixed number of cells
across whatever the output size: a preview simulates the same air as the
final render. Density lives in two depth slabs sharing one velocity: dust
behind the facade plane and in front of it.

Mass: semi-Lagrangian advection is not conservative, so after every step the
total of each slab is put back to what it was, less what left through the
box's sides and what settled out (a slow half-life): dust comes only from
sources and never vanishes from one frame to the next.

Detail finer than the grid comes from advected texture coordinates (Neyret
2003): two sets of coordinates ride the flow, each reset in turn before it
stretches too far and cross-faded, so noise sampled through them moves with
the air; the renderer turns it into wisps (``_dustshade``).

Everything is deterministic from the seed, in pixels and seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray
from scipy.fft import dctn, idctn

from ._simulate import CRUSH_FADE_S, Event, SimResult

F32 = NDArray[np.float32]
F16 = NDArray[np.float16]

PREVIEW_SIDE = 960
PHASE_S = 0.35  # how long a set of texture coordinates rides the flow before it is reset
SETTLE_HALF_LIFE_S = 30.0  # collapse dust is fine: it stays up for minutes
_AIR = 0.6  # the air's own inertia against dust thrown into it (in density units)
DUST_PER_CELL = 14.0  # optical depth a collapsing building gives per cell of its area
_STIR = 25.0  # turbulent forcing, cells/s^2 at full stir
_STIR_DECAY_S = 1.6
_POROUS = 0.8  # what a standing cell keeps of the air's motion each step


def detail_noise(seed: int, size: int = 512) -> F32:
    """Tileable fractal noise, zero mean and unit spread: power falling as k^-3 from the
    texture's size down to two texels (the fine scales of turbulent smoke). It stirs the
    air here, and gives the renderer its detail."""
    rng = np.random.default_rng(seed + 4099)
    k = np.fft.fftfreq(size) * size
    kk = np.sqrt(k[:, None] ** 2 + k[None, :] ** 2)
    amp = np.where((kk >= 2.0) & (kk <= size / 2.5), np.maximum(kk, 1.0) ** -1.5, 0.0)
    phase = rng.uniform(0, 2 * np.pi, (size, size))
    field = np.fft.ifft2(amp * np.exp(1j * phase)).real
    field = (field - field.mean()) / max(float(field.std()), 1e-9)
    return np.asarray(field, np.float32)


@dataclass(frozen=True)
class FluidSettings:
    width: int  # output px
    height: int
    px_per_m: float
    ground_y: float  # px
    fps: float
    frames: int
    dust_density: float = 1.0
    wind: tuple[float, float] = (1.5, 0.0)  # m/s, +x right, +y down
    seed: int = 1
    cells_across: int = 320  # the same air at any output size of at least PREVIEW_SIDE px
    substeps: int = 2


@dataclass(frozen=True)
class Grid:
    """Where the grid lies on the plate: cell (0, 0)'s corner at ``origin`` (px), ``cell`` px square."""

    origin: tuple[float, float]
    cell: float
    shape: tuple[int, int]  # rows, columns

    def to_cells(self, x: F32 | float, y: F32 | float) -> tuple[F32, F32]:
        """Plate px to grid index space (cell centres at integers)."""
        return (np.asarray((np.asarray(x) - self.origin[0]) / self.cell - 0.5, np.float32),
                np.asarray((np.asarray(y) - self.origin[1]) / self.cell - 0.5, np.float32))  # fmt: skip


@dataclass
class DustVolume:
    """The dust for every output frame, on the part of the grid that covers the frame.

    ``density``: (frames, 2, rows, cols), slab 0 behind the facade, 1 in front,
    in optical depth per cell (alpha = 1 - exp(-density)). ``offsets``: (frames,
    4, rows, cols), the two phases' advected texture offsets (x, y) in cells;
    ``weights``: (frames, 2) each phase's share. ``turbulence``: (frames, rows,
    cols) the vorticity's size, 1/s, which says where fine detail belongs.
    ``mass``/``added``/``lost``: per frame and slab, for the conservation check.
    """

    grid: Grid  # the stored window
    density: F16
    offsets: F16
    weights: F32
    turbulence: F16
    mass: F32  # (frames, 2) total density at each frame
    added: F32  # (frames, 2) what sources put in since the previous frame
    lost: F32  # (frames, 2) what left the box or settled out since the previous frame
    peak_mass: float = 0.0


@dataclass(frozen=True)
class _Sources:
    """Dust sources, one row each: when, where, how much and how it moves."""

    t: F32
    x: F32  # px
    y: F32
    mass: F32  # density x cells
    heat: F32
    vx: F32  # px/s
    vy: F32
    front: F32  # share that goes in front of the facade plane
    size: NDArray[np.int8]  # 0 small, 1 medium, 2 large splat


_SPLAT_SIGMA = (1.5, 3.0, 6.0)  # cells, by source size


def _event_sources(events: list[Event], s: FluidSettings, cell: float, shard_radius: F32,
                   shard_front: F32, sim: SimResult, rng: np.random.Generator,
                   budget: float) -> _Sources:  # fmt: skip
    """What each of the simulation's events throws into the air.

    Amounts are in density x cells: a puff of ``r`` px seen at opacity ``a``
    carries about ``a * pi * (r / cell)**2``; the total is then scaled to
    ``budget`` (density x cells). Impacts on the ground make the surge: two jets
    along the ground away from the impact, hot enough to lift.
    """
    ppm = s.px_per_m
    d = s.dust_density
    rows: list[tuple[float, ...]] = []

    def puff(t: float, x: float, y: float, r_px: float, a: float, heat: float, vx: float,
             vy: float, front: float) -> None:  # fmt: skip
        r_cells = r_px / cell
        size = 0 if r_cells < 3.0 else (1 if r_cells < 7.0 else 2)  # which splat it gets
        # thrown dust comes out as jets, not a smooth push: each puff gets its own kick
        kick = rng.normal(0.0, 0.6, 2) * math.hypot(vx, vy) + rng.normal(0.0, 1.2 * ppm, 2)
        rows.append((t, x, y, d * a * math.pi * r_cells**2, heat, vx + kick[0], vy + kick[1], front,
                     size))  # fmt: skip

    for e in events:
        if e.kind == "crack":
            r = rng.uniform(0.4, 0.9) * ppm * min(2.0, 0.8 + 0.3 * e.energy)
            puff(e.t, e.x, e.y, r, 0.35, 0.1, rng.normal(0, 0.8) * ppm, rng.normal(0.5, 0.8) * ppm,
                 float(rng.uniform(0.3, 0.7)))  # fmt: skip
        elif e.kind == "crush":
            j = _nearest_shard(sim, e)
            rad = float(shard_radius[j]) if j >= 0 else 1.0 * ppm
            front = float(shard_front[j]) if j >= 0 else 0.5
            # a crushed piece becomes its own dust: most of its area, thrown along its motion
            # and the floors pancaking onto each other blow it out sideways
            side = float(rng.choice((-1.0, 1.0))) * rng.uniform(10.0, 25.0) * ppm
            puff(e.t, e.x, e.y, rad * 1.4, 1.0, 0.3, e.vx * 0.5 + side, e.vy * 0.3, front)
        elif e.kind == "ground":
            strength = min(1.0, math.log1p(e.energy / 2000.0) / 6.0)
            r = rng.uniform(1.2, 2.6) * ppm * (0.6 + strength)
            speed = rng.uniform(8.0, 20.0) * ppm * (0.5 + strength)
            lift = -rng.uniform(0.5, 2.0) * ppm
            y = s.ground_y - 0.5 * r
            for side in (-1.0, 1.0):
                puff(e.t, e.x + side * 0.6 * r, y, r, 0.9 * (0.4 + strength), 0.6, side * speed, lift,
                     float(rng.uniform(0.35, 0.75)))  # fmt: skip
        elif e.kind == "chip":  # a chip landing: a little puff where it strikes
            puff(e.t, e.x, s.ground_y - 0.2 * ppm, 0.35 * ppm, 0.5, 0.0, e.vx * 0.2, -0.3 * ppm,
                 float(rng.uniform(0.2, 0.8)))  # fmt: skip
        else:  # pieces striking each other
            r = rng.uniform(0.4, 0.8) * ppm
            amount = min(3.0, 0.5 + e.energy / 20000.0)
            puff(e.t, e.x, e.y, r, 0.3 * amount, 0.15, rng.normal(0, 1.0) * ppm, rng.normal(0, 1.0) * ppm,
                 float(rng.uniform(0.3, 0.7)))  # fmt: skip
    if not rows:
        z = np.zeros(0, np.float32)
        return _Sources(z, z, z, z, z, z, z, z, np.zeros(0, np.int8))
    a = np.asarray(rows, np.float32)
    # a building turns into dust in proportion to its size, however many events broke it:
    # the events share out the mass by their own weights
    a[:, 3] *= budget / max(float(a[:, 3].sum()), 1e-6)
    return _Sources(a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4], a[:, 5], a[:, 6], a[:, 7],
                    a[:, 8].astype(np.int8))


def _nearest_shard(sim: SimResult, e: Event) -> int:
    k = min(int(np.searchsorted(sim.times, e.t)), len(sim.times) - 1)
    p = sim.poses[k, :, :2]
    if not len(p):
        return -1
    return int(np.argmin((p[:, 0] - e.x) ** 2 + (p[:, 1] - e.y) ** 2))


def _grid_for(s: FluidSettings) -> Grid:
    side = max(s.width, s.height)
    # a preview (960 px) simulates the same air as its final; a smaller frame (a thumbnail, a
    # test) needs no finer grid than a cell every 3 px
    cells = s.cells_across if side >= PREVIEW_SIDE else max(64, min(s.cells_across, round(side / 3)))
    cell = side / cells
    x0, x1 = -0.25 * s.width, 1.25 * s.width
    y0 = -0.45 * s.height
    y1 = max(s.ground_y, 0.5 * s.height)
    return Grid((x0, y0), cell, (max(8, math.ceil((y1 - y0) / cell)), max(8, math.ceil((x1 - x0) / cell))))


def _window(grid: Grid, s: FluidSettings) -> tuple[slice, slice, Grid]:
    """The rows and columns that cover the frame (two cells of margin), and their own grid."""
    gh, gw = grid.shape
    c = grid.cell
    j0 = max(0, math.floor((0 - grid.origin[0]) / c) - 2)
    j1 = min(gw, math.ceil((s.width - grid.origin[0]) / c) + 2)
    i0 = max(0, math.floor((0 - grid.origin[1]) / c) - 2)
    i1 = min(gh, math.ceil((s.height - grid.origin[1]) / c) + 2)
    sub = Grid((grid.origin[0] + j0 * c, grid.origin[1] + i0 * c), c, (i1 - i0, j1 - j0))
    return slice(i0, i1), slice(j0, j1), sub


class _Poisson:
    """The pressure solve for a closed box: the 5-point Laplacian diagonalised by DCT-II."""

    def __init__(self, shape: tuple[int, int]) -> None:
        gh, gw = shape
        ly = 2.0 * np.cos(np.pi * np.arange(gh) / gh) - 2.0
        lx = 2.0 * np.cos(np.pi * np.arange(gw) / gw) - 2.0
        denom = ly[:, None] + lx[None, :]
        denom[0, 0] = 1.0
        self.inverse = (1.0 / denom).astype(np.float64)
        self.inverse[0, 0] = 0.0

    def solve(self, rhs: F32) -> F32:
        return np.asarray(idctn(dctn(rhs, type=2, norm="ortho") * self.inverse, type=2, norm="ortho"),
                          np.float32)  # fmt: skip


def _splat(shape: tuple[int, int], gx: F32, gy: F32, values: list[F32]) -> list[F32]:
    """Bilinear deposits of each of ``values`` at grid points (gx, gy)."""
    gh, gw = shape
    x0 = np.floor(gx).astype(np.int64)
    y0 = np.floor(gy).astype(np.int64)
    fx, fy = gx - x0, gy - y0
    out = [np.zeros(gh * gw, np.float64) for _ in values]
    for dx, dy, wgt in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy),
                        (1, 1, fx * fy)):  # fmt: skip
        xi, yi = x0 + dx, y0 + dy
        ok = (xi >= 0) & (xi < gw) & (yi >= 0) & (yi < gh)
        idx = (yi * gw + xi)[ok]
        for o, v in zip(out, values, strict=True):
            o += np.bincount(idx, (v * wgt)[ok], minlength=gh * gw)
    return [o.reshape(gh, gw).astype(np.float32) for o in out]


def _standing_cells(labels: NDArray[np.int32], grid: Grid) -> NDArray[np.int32]:
    """The shard label at each cell's centre (-1 where no building is), by nearest sampling."""
    h, w = labels.shape
    gh, gw = grid.shape
    xs = grid.origin[0] + (np.arange(gw) + 0.5) * grid.cell
    ys = grid.origin[1] + (np.arange(gh) + 0.5) * grid.cell
    xi, yi = np.floor(xs).astype(int), np.floor(ys).astype(int)
    out = np.full((gh, gw), -1, np.int32)
    okx, oky = (xi >= 0) & (xi < w), (yi >= 0) & (yi < h)
    out[np.ix_(oky, okx)] = labels[np.ix_(yi[oky], xi[okx])]
    return np.where(out >= 0, out, -1).astype(np.int32)


def simulate_dust(sim: SimResult, settings: FluidSettings, labels: NDArray[np.int32],
                  shard_radius: F32, chip_landings: list[Event] | None = None,
                  progress: Callable[[int], None] | None = None) -> DustVolume:  # fmt: skip
    """The dust of the whole shot, driven by the collapse's events.

    ``labels`` is the fracture's shard map at output size (-1 off the building):
    standing shards are the obstacle. ``shard_radius`` each shard's size in px.
    ``chip_landings`` are extra ground events (kind ``"chip"``) from the chips.
    """
    s = settings
    rng = np.random.default_rng(s.seed + 7919)
    grid = _grid_for(s)
    gh, gw = grid.shape
    cell = grid.cell
    rows, cols, window = _window(grid, s)
    wh, ww = window.shape
    # which shards stand in front of the facade plane: the back half of the slices is behind
    front_of = np.where(sim.slice >= np.median(sim.slice) if len(sim.slice) else [], 0.7, 0.3)
    events = sorted(list(sim.events) + list(chip_landings or []), key=lambda e: e.t)
    area_cells = float((labels >= 0).sum()) / (cell * cell)
    # only what broke within the shot turns to dust: a short shot is not all of it at once
    broke = float(np.mean(np.isfinite(sim.detach))) if len(sim.detach) else 0.0
    budget = DUST_PER_CELL * area_cells * s.dust_density * broke
    src = _event_sources(events, s, cell, shard_radius, np.asarray(front_of, np.float32), sim, rng,
                         budget)  # fmt: skip
    cells_of = _standing_cells(labels, grid)
    detach = np.concatenate([sim.detach, [np.inf]]).astype(np.float32)  # label -1 -> never
    poisson = _Poisson((gh, gw))
    jj, ii = np.meshgrid(np.arange(gw, dtype=np.float32), np.arange(gh, dtype=np.float32))
    u = np.zeros((gh, gw), np.float32)  # own velocity, cells/s (the wind is added to it)
    v = np.zeros((gh, gw), np.float32)
    temp = np.zeros((gh, gw), np.float32)
    stir = np.zeros((gh, gw), np.float32)  # how turbulent the air is, 0..1
    noise = detail_noise(s.seed)
    tex = float(noise.shape[0])
    dens = np.zeros((gh, gw, 2), np.float32)  # back, front
    offs = np.zeros((gh, gw, 4), np.float32)  # phase 0 x, y; phase 1 x, y (cells)
    wind = (s.wind[0] * s.px_per_m / cell, s.wind[1] * s.px_per_m / cell)
    # loose shards drag streamers of dust behind them
    vel = np.zeros_like(sim.poses[:, :, :2])
    vel[1:] = (sim.poses[1:, :, :2] - sim.poses[:-1, :, :2]) / np.maximum(
        np.diff(sim.times)[:, None, None], 1e-6
    )
    fr = s.frames
    vol = DustVolume(
        window,
        np.zeros((fr, 2, wh, ww), np.float16),
        np.zeros((fr, 4, wh, ww), np.float16),
        np.zeros((fr, 2), np.float32),
        np.zeros((fr, wh, ww), np.float16),
        np.zeros((fr, 2), np.float32),
        np.zeros((fr, 2), np.float32),
        np.zeros((fr, 2), np.float32),
    )
    h = 1.0 / (s.fps * s.substeps)
    settle = math.exp(-math.log(2.0) * h / SETTLE_HALF_LIFE_S)
    drag = math.exp(-h / 5.0)  # the stirred air calms in a few seconds
    cool = math.exp(-h / 1.5)
    calm = math.exp(-h / _STIR_DECAY_S)
    eps = 1.2  # vorticity confinement, in cell units
    at = 0
    added = np.zeros(2, np.float64)
    lost = np.zeros(2, np.float64)
    end_t = float(sim.times[-1]) if len(sim.times) else 0.0
    for frame in range(fr):
        t_frame = frame / s.fps
        _record(vol, frame, dens, offs, u, v, rows, cols, t_frame, added, lost)
        added[:] = 0.0
        lost[:] = 0.0
        for sub in range(s.substeps):
            t = t_frame + sub * h
            # --- sources due in this substep
            n0 = at
            while at < len(src.t) and src.t[at] < t + h:
                at += 1
            px = [src.x[n0:at]]
            py = [src.y[n0:at]]
            pm, ph, pvx, pvy = [src.mass[n0:at]], [src.heat[n0:at]], [src.vx[n0:at]], [src.vy[n0:at]]
            pf, psz = [src.front[n0:at]], [src.size[n0:at]]
            if t <= end_t and sim.poses.shape[1]:
                k = min(int(np.searchsorted(sim.times, t)), len(sim.times) - 1)
                loose = np.flatnonzero(np.isfinite(sim.detach) & (sim.detach <= t)
                                       & (sim.crushed + CRUSH_FADE_S > t))  # fmt: skip
                if len(loose):
                    sv = vel[k, loose]
                    speed = np.hypot(sv[:, 0], sv[:, 1])
                    go = speed > 3.0 * s.px_per_m
                    if go.any():
                        j = loose[go]
                        rad = shard_radius[j]
                        # a streamer: the dust a falling piece sheds over this substep's path
                        px.append(sim.poses[k, j, 0] - sv[go, 0] * h)
                        py.append(sim.poses[k, j, 1] - sv[go, 1] * h)
                        pm.append((0.004 * s.dust_density * speed[go] * h * rad / cell).astype(np.float32))
                        ph.append(np.full(len(j), 0.1, np.float32))
                        pvx.append(sv[go, 0] * 0.3)
                        pvy.append(sv[go, 1] * 0.3)
                        pf.append(front_of[j].astype(np.float32))
                        psz.append(np.zeros(len(j), np.int8))
            x_all, y_all = np.concatenate(px), np.concatenate(py)
            if len(x_all):
                m_all, f_all = np.concatenate(pm), np.concatenate(pf)
                sz_all = np.concatenate(psz)
                gx, gy = grid.to_cells(x_all, y_all)
                gy = np.minimum(gy, gh - 1.0)  # a source at the ground stays in the box
                h_all = np.concatenate(ph) * m_all
                mvx = np.concatenate(pvx) / cell * m_all
                mvy = np.concatenate(pvy) / cell * m_all
                for size, sigma in enumerate(_SPLAT_SIGMA):
                    pick = sz_all == size
                    if not pick.any():
                        continue
                    fields = _splat((gh, gw), gx[pick], gy[pick],
                                    [m_all[pick] * (1 - f_all[pick]), m_all[pick] * f_all[pick],
                                     h_all[pick], mvx[pick], mvy[pick]])  # fmt: skip
                    fields = [cv2.GaussianBlur(f, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
                              for f in fields]  # fmt: skip
                    mb, mf, heat, momx, momy = fields
                    before = dens[..., :2].sum(axis=(0, 1))
                    dens[..., 0] += mb
                    dens[..., 1] += mf
                    added += dens[..., :2].sum(axis=(0, 1)) - before
                    m = mb + mf
                    temp += heat / np.maximum(m + _AIR, 1e-6) * (m > 0)
                    stir = np.maximum(stir, m / (m + _AIR))
                    # the air takes on the dust's motion in proportion to how much was thrown
                    u += (momx - m * u) / (m + _AIR)
                    v += (momy - m * v) / (m + _AIR)
            # --- forces: buoyancy, vorticity confinement, calm
            load = dens[..., 0] + dens[..., 1]
            v += h * (-14.0 * temp + 1.2 * np.minimum(load, 3.0))  # cells/s^2; y is down
            curl = _d(v, 1) - _d(u, 0)
            mag = np.abs(curl)
            nx = _d(mag, 1)
            ny = _d(mag, 0)
            norm = np.sqrt(nx * nx + ny * ny) + 1e-5
            u += h * eps * (ny / norm) * curl
            v -= h * eps * (nx / norm) * curl
            # the turbulence thrown dust leaves in the air: a curl-noise stir, which confinement
            # then keeps from being smoothed away
            if stir.max() > 1e-3:
                psi = cv2.remap(noise, (jj * 0.35 + 11.0 * t) % tex, (ii * 0.35 - 7.0 * t) % tex,
                                cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)  # fmt: skip
                u += h * _STIR * stir * _d(psi, 0) / 0.35
                v -= h * _STIR * stir * _d(psi, 1) / 0.35
            u *= drag
            v *= drag
            # --- obstacles: what still stands, and the ground
            # the facade stops the air at its own depth only; dust in front of it and behind
            # passes, so what still stands holds the flow back rather than walling it off
            standing = detach[cells_of] > t
            u[standing] *= _POROUS
            v[standing] *= _POROUS
            v[-1] = np.minimum(v[-1], 0.0)
            # --- projection: the air is incompressible
            div = _d(u, 1) + _d(v, 0)
            p = poisson.solve(div)
            u -= _d(p, 1)
            v -= _d(p, 0)
            v[-1] = np.minimum(v[-1], 0.0)
            # --- advection by the air plus the wind
            ut, vt = u + wind[0], v + wind[1]
            map_x = jj - h * ut
            map_y = ii - h * vt
            mass0 = dens.sum(axis=(0, 1), dtype=np.float64)
            out = _outflow(dens, ut, vt, h)
            vel_t = cv2.remap(np.dstack([u, v, temp, stir]), map_x, map_y, cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
            u, v = vel_t[..., 0].copy(), vel_t[..., 1].copy()
            temp, stir = vel_t[..., 2] * cool, vel_t[..., 3] * calm
            dens = cv2.remap(dens, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                             borderValue=0)  # fmt: skip
            # turbulent mixing spreads the dust a little every step
            dens = cv2.GaussianBlur(np.maximum(dens, 0.0), (0, 0), 0.6)
            # keep the mass: what was there, less what flowed out, less what settled
            target = (mass0 - out) * settle
            now = dens.sum(axis=(0, 1), dtype=np.float64)
            scale = np.where(now > 1e-9, target / np.maximum(now, 1e-9), 1.0)
            dens *= scale.astype(np.float32)
            lost += mass0 - target
            offs = cv2.remap(offs, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            offs[..., 0] -= h * ut
            offs[..., 1] -= h * vt
            offs[..., 2] -= h * ut
            offs[..., 3] -= h * vt
            for phase in (0, 1):  # reset a phase as its weight passes through zero
                age_now = (t + h + phase * PHASE_S / 2) % PHASE_S
                if age_now < h:
                    offs[..., 2 * phase : 2 * phase + 2] = 0.0
        if progress is not None:
            progress(frame + 1)
    vol.peak_mass = float(vol.mass.sum(axis=1).max()) if fr else 0.0
    return vol


def _d(field: F32, axis: int) -> F32:
    """Central differences along ``axis`` (one-sided at the edges), in cells."""
    return np.asarray(np.gradient(field, axis=axis), np.float32)


def _outflow(dens: F32, ut: F32, vt: F32, h: float) -> NDArray[np.float64]:
    """Density carried out through the box's left, right and top sides in one step."""
    out = (dens[:, 0] * np.maximum(-ut[:, :1], 0.0)).sum(axis=0)
    out = out + (dens[:, -1] * np.maximum(ut[:, -1:], 0.0)).sum(axis=0)
    out = out + (dens[0] * np.maximum(-vt[0][:, None], 0.0)).sum(axis=0)
    return np.asarray(np.minimum(out * h, dens.sum(axis=(0, 1))), np.float64)


def _record(vol: DustVolume, frame: int, dens: F32, offs: F32, u: F32, v: F32, rows: slice,
            cols: slice, t: float, added: NDArray[np.float64], lost: NDArray[np.float64]) -> None:  # fmt: skip
    vol.density[frame] = np.moveaxis(dens[rows, cols], 2, 0)
    vol.offsets[frame] = np.moveaxis(offs[rows, cols], 2, 0)
    for phase in (0, 1):
        age = (t + phase * PHASE_S / 2) % PHASE_S
        vol.weights[frame, phase] = 1.0 - abs(2.0 * age / PHASE_S - 1.0)
    curl = _d(v, 1) - _d(u, 0)
    vol.turbulence[frame] = cv2.GaussianBlur(np.abs(curl).astype(np.float32), (0, 0), 1.5)[rows, cols]
    vol.mass[frame] = dens.sum(axis=(0, 1))
    vol.added[frame] = added
    vol.lost[frame] = lost
