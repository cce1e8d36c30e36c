"""Chips: the small solid fragments a breaking building sheds.

They are thrown out ballistically where bonds crack, where pieces strike each
other or the ground and where a piece is crushed; they bounce once or twice on
the ground and settle into the pile. Each one's first hard strike is kept as
an event, so the dust simulation raises a little dust where it lands. (The
dust itself is a fluid: ``_fluid``.)

Everything is in pixels and seconds (the simulation's metres times px/m), one
state per output frame, deterministic from the seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ._simulate import GRAVITY, Event, SimResult

F32 = NDArray[np.float32]


@dataclass(frozen=True)
class ParticleSettings:
    px_per_m: float
    ground_y: float  # px
    fps: float
    frames: int
    debris_amount: float = 1.0
    max_chips: int = 3000
    seed: int = 1


@dataclass
class ParticleFrames:
    """Per output frame, the chips alive as (n, 10) float32 rows: x, y, vx, vy, size, r, g, b,
    rot, alpha; and every chip's first hard landing."""

    chips: list[F32] = field(default_factory=list)
    landings: list[Event] = field(default_factory=list)
    peak_chips: int = 0


def simulate_particles(sim: SimResult, settings: ParticleSettings, colours: F32) -> ParticleFrames:
    """The chips for every output frame, driven by the collapse's events.

    ``colours`` holds each shard's mean colour (n, 3), for the chips it sheds.
    Each chip's first strike on the ground is kept as an event (kind ``"chip"``),
    so the dust simulation can raise a little dust where it lands.
    """
    s = settings
    ppm = s.px_per_m
    rng = np.random.default_rng(s.seed + 7919)
    out = ParticleFrames()
    cx, cy, cvx, cvy, csize, cr, cg, cb, crot, cspin, crest, cland = (
        np.zeros(0, np.float32) for _ in range(12)
    )
    events = sorted(sim.events, key=lambda e: e.t)
    at = 0
    dt_frame = 1.0 / s.fps
    sub = 2
    for frame in range(s.frames):
        t0, t1 = frame * dt_frame, (frame + 1) * dt_frame
        chip_births: list[tuple[float, ...]] = []
        while at < len(events) and events[at].t < t1:
            _emit(events[at], rng, ppm, s, chip_births, colours, sim)
            at += 1
        if chip_births:
            room = max(0, s.max_chips - len(cx))
            c = np.asarray(chip_births[:room], np.float32).reshape(-1, 8)
            m = len(c)
            cx, cy = np.concatenate([cx, c[:, 0]]), np.concatenate([cy, c[:, 1]])
            cvx, cvy = np.concatenate([cvx, c[:, 2]]), np.concatenate([cvy, c[:, 3]])
            csize = np.concatenate([csize, c[:, 4]])
            cr, cg, cb = (np.concatenate([cr, c[:, 5]]), np.concatenate([cg, c[:, 6]]),
                          np.concatenate([cb, c[:, 7]]))  # fmt: skip
            crot = np.concatenate([crot, rng.uniform(0, np.pi, m).astype(np.float32)])
            cspin = np.concatenate([cspin, rng.normal(0, 8, m).astype(np.float32)])
            crest = np.concatenate([crest, np.zeros(m, np.float32)])
            cland = np.concatenate([cland, np.zeros(m, np.float32)])
        # advance the chips through this frame
        h = dt_frame / sub
        for i in range(sub):
            if not len(cx):
                break
            moving = crest < 0.4
            cvy[moving] += GRAVITY * ppm * h
            cvx *= np.float32(math.exp(-0.15 * h))
            cx[moving] += cvx[moving] * h
            cy[moving] += cvy[moving] * h
            crot += cspin * h * moving
            hit = (cy > s.ground_y) & moving
            first = hit & (cland == 0) & (cvy > 2.0 * ppm)
            for j in np.flatnonzero(first):  # a hard first strike raises a little dust
                out.landings.append(Event(t0 + (i + 1) * h, float(cx[j]), s.ground_y,
                                          float(csize[j]), "chip", float(cvx[j]), float(cvy[j])))  # fmt: skip
            cland[hit] = 1.0
            cy[hit] = s.ground_y
            bounce = hit & (np.abs(cvy) > 2.0 * ppm)
            cvy[bounce] *= -0.3
            cvx[hit] *= 0.6
            cvy[hit & ~bounce] = 0.0
            resting = (np.abs(cy - s.ground_y) < 1.0) & (np.abs(cvy) < 1e-3)
            crest[resting] += h
        # retire chips settled into the pile for a while
        if len(cx):
            keep = crest < 1.5
            (cx, cy, cvx, cvy, csize, cr, cg, cb, crot, cspin, crest, cland) = (
                a[keep] for a in (cx, cy, cvx, cvy, csize, cr, cg, cb, crot, cspin, crest, cland)
            )
        calpha = np.clip(1.5 - crest, 0.0, 1.0)
        out.chips.append(np.stack([cx, cy, cvx, cvy, csize, cr, cg, cb, crot, calpha],
                                  axis=1).astype(np.float32))  # fmt: skip
        out.peak_chips = max(out.peak_chips, len(cx))
    return out


def _emit(e: Event, rng: np.random.Generator, ppm: float, s: ParticleSettings,
          chips: list[tuple[float, ...]], colours: F32, sim: SimResult) -> None:  # fmt: skip
    """Chips (x, y, vx, vy, size, r, g, b) for one event, coloured by the stone they came from."""
    a = s.debris_amount
    col = colours.mean(axis=0) if len(colours) else np.full(3, 0.3, np.float32)
    if e.kind == "crack":
        for _ in range(int(rng.poisson(1.0 * a))):
            chips.append((e.x, e.y, rng.normal(0, 1.2 * ppm), rng.normal(0.5, 1.5) * ppm,
                          rng.uniform(0.08, 0.25) * ppm, *(col * rng.uniform(0.6, 1.0))))  # fmt: skip
    elif e.kind == "crush":
        j = _nearest_shard(sim, e)
        shade = colours[j] if j >= 0 else col
        for _ in range(int(rng.poisson(6.0 * a))):
            chips.append((e.x + rng.normal(0, 0.5 * ppm), e.y + rng.normal(0, 0.5 * ppm),
                          e.vx + rng.normal(0, 1.5 * ppm), e.vy + rng.normal(0, 1.5 * ppm),
                          rng.uniform(0.1, 0.4) * ppm, *(shade * rng.uniform(0.6, 1.0))))  # fmt: skip
    elif e.kind == "ground":
        strength = min(1.0, math.log1p(e.energy / 2000.0) / 6.0)
        for _ in range(int(rng.poisson(5.0 * a * (0.3 + strength)))):
            chips.append((e.x, s.ground_y - 0.2 * ppm, rng.normal(0, 4.0 * ppm),
                          -rng.uniform(2.0, 8.0) * ppm, rng.uniform(0.08, 0.3) * ppm,
                          *(col * rng.uniform(0.5, 0.9))))  # fmt: skip
    else:  # pieces striking each other
        for _ in range(int(rng.poisson(1.5 * a))):
            chips.append((e.x, e.y, e.vx * 0.5 + rng.normal(0, 1.5 * ppm), rng.normal(-1.0, 1.5) * ppm,
                          rng.uniform(0.08, 0.2) * ppm, *(col * rng.uniform(0.6, 1.0))))  # fmt: skip


def _nearest_shard(sim: SimResult, e: Event) -> int:
    k = int(np.searchsorted(sim.times, e.t))
    k = min(k, len(sim.times) - 1)
    p = sim.poses[k, :, :2]
    if not len(p):
        return -1
    return int(np.argmin((p[:, 0] - e.x) ** 2 + (p[:, 1] - e.y) ** 2))
