"""Dust and fine debris: particles born where the building breaks, carried by the air.

Dust puffs are emitted where bonds crack, where shards are crushed, behind
falling pieces and, most of all, where debris hits the ground (the surge that
rolls out along the street in every real collapse). Each puff is carried by
the wind plus a divergence-free curl-noise field (Bridson et al. 2007), rises
while it is warm, slows as it mixes and grows as it spreads, thinning as it
grows so the mass of dust is roughly kept.

Chips are small solid fragments thrown out ballistically; they bounce once or
twice on the ground and settle into the pile.

Everything is in pixels and seconds (the simulation's metres times px/m), one
state per output frame, deterministic from the seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ._simulate import CRUSH_FADE_S, GRAVITY, Event, SimResult

F32 = NDArray[np.float32]

@dataclass(frozen=True)
class ParticleSettings:
    px_per_m: float
    ground_y: float  # px
    fps: float
    frames: int
    dust_density: float = 1.0
    debris_amount: float = 1.0
    wind: tuple[float, float] = (1.5, 0.0)  # m/s, +x to the right, +y down
    max_dust: int = 6000
    max_chips: int = 3000
    seed: int = 1


@dataclass
class ParticleFrames:
    """Per output frame: the dust puffs and chips alive, as (n, fields) float32 arrays.

    Dust rows: x, y, r, alpha, z, tint, rot, variant, vx, vy.
    Chip rows: x, y, vx, vy, size, r, g, b, rot, alpha.
    """

    dust: list[F32] = field(default_factory=list)
    chips: list[F32] = field(default_factory=list)
    peak_dust: int = 0
    peak_chips: int = 0


class _Curl:
    """A smooth, divergence-free 2-D velocity field: the curl of a sum of waves."""

    def __init__(self, rng: np.random.Generator, px_per_m: float) -> None:
        waves = 7
        lengths = np.geomspace(3.0, 28.0, waves) * px_per_m  # metres of eddy, in px
        theta = rng.uniform(0, 2 * np.pi, waves)
        self.kx = np.cos(theta) * 2 * np.pi / lengths
        self.ky = np.sin(theta) * 2 * np.pi / lengths
        self.w = rng.uniform(0.2, 0.9, waves)
        self.phase = rng.uniform(0, 2 * np.pi, waves)
        # stream-function amplitude so every octave stirs at a similar speed (px/s)
        self.amp = 1.0 / np.sqrt(self.kx**2 + self.ky**2)

    def velocity(self, x: F32, y: F32, t: float) -> tuple[F32, F32]:
        arg = np.outer(x, self.kx) + np.outer(y, self.ky) + self.w * t + self.phase
        c = np.cos(arg) * self.amp
        # u = d(psi)/dy, v = -d(psi)/dx for psi = sum amp sin(arg)
        return (c @ self.ky).astype(np.float32), (-(c @ self.kx)).astype(np.float32)


def simulate_particles(sim: SimResult, settings: ParticleSettings, colours: F32,
                       shard_radius: F32) -> ParticleFrames:  # fmt: skip
    """Dust and chips for every output frame, driven by the collapse's events.

    ``colours`` holds each shard's mean colour (n, 3), for the chips it sheds;
    ``shard_radius`` each shard's size in px, for the dust a crushed one makes.
    """
    s = settings
    ppm = s.px_per_m
    rng = np.random.default_rng(s.seed + 7919)
    curl = _Curl(rng, ppm)
    stir = 2.2 * ppm  # eddy speed, px/s
    wind = np.array(s.wind, np.float32) * ppm
    out = ParticleFrames()
    # dust state
    dx = np.zeros(0, np.float32)
    dy, dvx, dvy, dr0, dage, dlife, dalpha0, dz, dtint, drot, dspin, dvar, dheat = (
        np.zeros(0, np.float32) for _ in range(13)
    )
    # chip state
    cx, cy, cvx, cvy, csize, cr, cg, cb, crot, cspin, crest = (
        np.zeros(0, np.float32) for _ in range(11)
    )
    events = sorted(sim.events, key=lambda e: e.t)
    at = 0
    dt_frame = 1.0 / s.fps
    sub = 2
    vel = np.zeros_like(sim.poses[:, :, :2])
    vel[1:] = (sim.poses[1:, :, :2] - sim.poses[:-1, :, :2]) / np.maximum(
        np.diff(sim.times)[:, None, None], 1e-6
    )
    steps_per_frame = (len(sim.times) - 1) // max(s.frames, 1)

    for frame in range(s.frames):
        t0, t1 = frame * dt_frame, (frame + 1) * dt_frame
        births: list[tuple[float, ...]] = []
        chip_births: list[tuple[float, ...]] = []
        while at < len(events) and events[at].t < t1:
            e = events[at]
            at += 1
            _emit(e, rng, ppm, s, births, chip_births, colours, shard_radius, sim)
        # streamers behind falling pieces
        k = min(frame * steps_per_frame, len(sim.times) - 1)
        loose = np.flatnonzero(np.isfinite(sim.detach) & (sim.detach <= t0)
                               & (sim.crushed + CRUSH_FADE_S > t0))  # fmt: skip
        if len(loose):
            v = vel[k, loose]
            speed = np.hypot(v[:, 0], v[:, 1])
            go = loose[(speed > 3.0 * ppm) & (rng.random(len(loose)) < 0.5 * s.dust_density)]
            for j in go:
                px, py = sim.poses[k, j, 0], sim.poses[k, j, 1]
                rad = float(shard_radius[j])
                births.append((px + rng.normal(0, rad * 0.4), py + rng.normal(0, rad * 0.4),
                               vel[k, j, 0] * 0.35, vel[k, j, 1] * 0.35, rad * 0.45, 0.3, 0.2))  # fmt: skip
        if births:
            room = max(0, s.max_dust - len(dx))
            if len(births) > room:
                births = [births[i] for i in sorted(rng.choice(len(births), room, replace=False))]
            if births:
                b = np.asarray(births, np.float32)
                m = len(b)
                dx, dy = np.concatenate([dx, b[:, 0]]), np.concatenate([dy, b[:, 1]])
                dvx, dvy = np.concatenate([dvx, b[:, 2]]), np.concatenate([dvy, b[:, 3]])
                dr0 = np.concatenate([dr0, np.maximum(b[:, 4], 1.0)])
                dalpha0 = np.concatenate([dalpha0, b[:, 5]])
                dheat = np.concatenate([dheat, b[:, 6]])
                dage = np.concatenate([dage, np.zeros(m, np.float32)])
                dlife = np.concatenate([dlife, rng.uniform(7.0, 14.0, m).astype(np.float32)])
                dz = np.concatenate([dz, rng.uniform(-1, 1, m).astype(np.float32)])
                dtint = np.concatenate([dtint, rng.uniform(0.82, 1.08, m).astype(np.float32)])
                drot = np.concatenate([drot, rng.uniform(0, 2 * np.pi, m).astype(np.float32)])
                dspin = np.concatenate([dspin, rng.normal(0, 0.25, m).astype(np.float32)])
                dvar = np.concatenate([dvar, rng.integers(0, 4, m).astype(np.float32)])
        if chip_births:
            room = max(0, s.max_chips - len(cx))
            c = np.asarray(chip_births[:room], np.float32).reshape(-1, 8)
            m = len(c)
            cx, cy = np.concatenate([cx, c[:, 0]]), np.concatenate([cy, c[:, 1]])
            cvx, cvy = np.concatenate([cvx, c[:, 2]]), np.concatenate([cvy, c[:, 3]])
            csize = np.concatenate([csize, c[:, 4]])
            cr, cg, cb = (
                np.concatenate([cr, c[:, 5]]),
                np.concatenate([cg, c[:, 6]]),
                np.concatenate([cb, c[:, 7]]),
            )
            crot = np.concatenate([crot, rng.uniform(0, np.pi, m).astype(np.float32)])
            cspin = np.concatenate([cspin, rng.normal(0, 8, m).astype(np.float32)])
            crest = np.concatenate([crest, np.zeros(m, np.float32)])
        # advance the air and the chips through this frame
        h = dt_frame / sub
        for i in range(sub):
            t = t0 + i * h
            if len(dx):
                ux, uy = curl.velocity(dx, dy, t)
                buoy = -1.8 * ppm * dheat * np.exp(-dage / 2.5)  # warm dust rises (y is down)
                target_x = wind[0] + stir * ux
                target_y = wind[1] + stir * uy + buoy
                mix = 1.0 - np.exp(-(0.9 + 0.25 * dage) * h)
                dvx += (target_x - dvx) * mix
                dvy += (target_y - dvy) * mix
                dx += dvx * h
                dy += dvy * h
                r = _radius(dr0, dage)
                floor = s.ground_y - 0.35 * r
                under = dy > floor
                dy[under] = floor[under]
                dvy[under] = -np.abs(dvy[under]) * 0.15
                dvx[under] *= 1.0 + 0.2 * h  # the surge keeps rolling along the ground
                dage += h
                drot += dspin * h
            if len(cx):
                moving = crest < 0.4
                cvy[moving] += GRAVITY * ppm * h
                cvx *= np.float32(math.exp(-0.15 * h))
                cx[moving] += cvx[moving] * h
                cy[moving] += cvy[moving] * h
                crot += cspin * h * moving
                hit = (cy > s.ground_y) & moving
                cy[hit] = s.ground_y
                bounce = hit & (np.abs(cvy) > 2.0 * ppm)
                cvy[bounce] *= -0.3
                cvx[hit] *= 0.6
                cvy[hit & ~bounce] = 0.0
                resting = (np.abs(cy - s.ground_y) < 1.0) & (np.abs(cvy) < 1e-3)
                crest[resting] += h
        # retire: dust past its life, chips settled into the pile for a while
        if len(dx):
            keep = dage < dlife
            (dx, dy, dvx, dvy, dr0, dage, dlife, dalpha0, dz, dtint, drot, dspin, dvar, dheat) = (
                a[keep]
                for a in (
                    dx,
                    dy,
                    dvx,
                    dvy,
                    dr0,
                    dage,
                    dlife,
                    dalpha0,
                    dz,
                    dtint,
                    drot,
                    dspin,
                    dvar,
                    dheat,
                )
            )
        if len(cx):
            keep = crest < 1.5
            (cx, cy, cvx, cvy, csize, cr, cg, cb, crot, cspin, crest) = (
                a[keep] for a in (cx, cy, cvx, cvy, csize, cr, cg, cb, crot, cspin, crest)
            )
        r = _radius(dr0, dage)
        fade_in = np.clip(dage / 0.15, 0.0, 1.0)
        fade_out = np.clip((dlife - dage) / 2.0, 0.0, 1.0)
        alpha = dalpha0 * (dr0 / np.maximum(r, 1e-3)) ** 0.55 * fade_in * fade_out * s.dust_density
        out.dust.append(np.stack([dx, dy, r, np.clip(alpha, 0, 1), dz, dtint, drot, dvar, dvx, dvy],
                                 axis=1).astype(np.float32))  # fmt: skip
        calpha = np.clip(1.5 - crest, 0.0, 1.0)
        out.chips.append(np.stack([cx, cy, cvx, cvy, csize, cr, cg, cb, crot, calpha],
                                  axis=1).astype(np.float32))  # fmt: skip
        out.peak_dust = max(out.peak_dust, len(dx))
        out.peak_chips = max(out.peak_chips, len(cx))
    return out


def _radius(r0: F32, age: F32) -> F32:
    """Puffs swell fast as they are thrown out, then keep spreading slowly."""
    return np.asarray(r0 * (1.0 + 1.8 * (1.0 - np.exp(-age / 1.2)) + 0.22 * age), np.float32)


def _emit(e: Event, rng: np.random.Generator, ppm: float, s: ParticleSettings,
          births: list[tuple[float, ...]], chips: list[tuple[float, ...]],
          colours: F32, shard_radius: F32, sim: SimResult) -> None:  # fmt: skip
    """Dust (x, y, vx, vy, r0, alpha0, heat) and chips (x, y, vx, vy, size, r, g, b) for one event."""
    d, a = s.dust_density, s.debris_amount
    col = colours.mean(axis=0) if len(colours) else np.full(3, 0.3, np.float32)
    if e.kind == "crack":
        n = int(rng.poisson(min(4.0, 0.8 + 0.6 * e.energy) * d))
        for _ in range(n):
            births.append((e.x + rng.normal(0, 0.4 * ppm), e.y + rng.normal(0, 0.4 * ppm),
                           rng.normal(0, 0.8 * ppm), rng.normal(0.5, 0.8) * ppm,
                           rng.uniform(0.4, 0.9) * ppm, 0.45, 0.1))  # fmt: skip
        for _ in range(int(rng.poisson(1.0 * a))):
            chips.append((e.x, e.y, rng.normal(0, 1.2 * ppm), rng.normal(0.5, 1.5) * ppm,
                          rng.uniform(0.08, 0.25) * ppm, *(col * rng.uniform(0.3, 0.6))))  # fmt: skip
    elif e.kind == "crush":
        j = _nearest_shard(sim, e)
        rad = float(shard_radius[j]) if j >= 0 else 1.0 * ppm
        shade = colours[j] if j >= 0 else col
        for _ in range(int(rng.poisson(4.0 * d))):
            births.append((e.x + rng.normal(0, 0.4 * rad), e.y + rng.normal(0, 0.4 * rad),
                           e.vx * 0.5 + rng.normal(0, 1.5 * ppm), e.vy * 0.4 + rng.normal(0, 1.0 * ppm),
                           rad * rng.uniform(0.6, 1.0), 1.0, 0.25))  # fmt: skip
        for _ in range(int(rng.poisson(4.0 * a))):
            chips.append((e.x + rng.normal(0, 0.5 * rad), e.y + rng.normal(0, 0.5 * rad),
                          e.vx + rng.normal(0, 1.2 * ppm), e.vy + rng.normal(0, 1.2 * ppm),
                          rng.uniform(0.1, 0.35) * ppm, *(shade * rng.uniform(0.35, 0.7))))  # fmt: skip
    elif e.kind == "ground":
        strength = min(1.0, math.log1p(e.energy / 2000.0) / 6.0)
        for _ in range(int(rng.poisson((3.0 + 9.0 * strength) * d))):
            side = rng.choice((-1.0, 1.0))
            births.append((e.x + rng.normal(0, 1.0 * ppm), s.ground_y - rng.uniform(0, 1.5) * ppm,
                           side * rng.uniform(2.0, 9.0) * ppm * (0.5 + strength),
                           -rng.uniform(0.5, 3.0) * ppm, rng.uniform(1.2, 3.0) * ppm, 1.0, 0.5))  # fmt: skip
        for _ in range(int(rng.poisson(4.0 * a * (0.3 + strength)))):
            chips.append((e.x, s.ground_y - 0.2 * ppm, rng.normal(0, 4.0 * ppm),
                          -rng.uniform(2.0, 8.0) * ppm, rng.uniform(0.08, 0.3) * ppm,
                          *(col * rng.uniform(0.3, 0.6))))  # fmt: skip
    else:  # impact between pieces
        for _ in range(int(rng.poisson(min(3.0, 0.5 + e.energy / 20000.0) * d))):
            births.append((e.x, e.y, rng.normal(0, 1.0 * ppm), rng.normal(0, 1.0 * ppm),
                           rng.uniform(0.4, 0.8) * ppm, 0.5, 0.15))  # fmt: skip
        for _ in range(int(rng.poisson(1.0 * a))):
            chips.append((e.x, e.y, e.vx * 0.5 + rng.normal(0, 1.5 * ppm), rng.normal(-1.0, 1.5) * ppm,
                          rng.uniform(0.08, 0.2) * ppm, *(col * rng.uniform(0.3, 0.6))))  # fmt: skip


def _nearest_shard(sim: SimResult, e: Event) -> int:
    k = int(np.searchsorted(sim.times, e.t))
    k = min(k, len(sim.times) - 1)
    p = sim.poses[k, :, :2]
    if not len(p):
        return -1
    return int(np.argmin((p[:, 0] - e.x) ** 2 + (p[:, 1] - e.y) ** 2))
