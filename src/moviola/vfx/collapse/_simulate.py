"""The collapse itself: shards as rigid bodies in pymunk, glued by breakable bonds.

Why pymunk (Chipmunk2D) rather than pybullet: a plate is a picture of a facade
seen face on, so the shards move in its plane; a 2-D solver gives exactly the
degrees of freedom that show, is deterministic for a given build, steps a few
hundred bodies in milliseconds, and has the constraint impulses we need to
break bonds by force. Depth is carried as a layer order, not simulated.

Units are metres and seconds (the solver is happiest at human scale); the
image's pixels map to metres by the building's stated height. Image y points
down, so gravity is +y.

Bonds are a pivot (holds position) plus a gear (holds angle) between two shards,
or between a shard and the world (its foot on the ground, or the building that
carries on past the frame's edge). A bond breaks when the force it carries
exceeds its strength, proportional to its length. The failure mode sets how
strength drains away over time, and the falling mass does the rest: floors
loaded by debris from above fail by impact, as real progressive collapses do.

Two things stand in for the third dimension, without which a 2-D pile of loose
blocks would simply stand there:

- depth slices: every shard belongs to one of a few slices through the
  building's thickness and collides only with its own slice and the ground,
  so pieces slide past each other as they do in depth;
- pulverisation: a share of the shards (more near the failure) are crushed a
  moment after they come loose; they stop colliding and fade into the dust they
  make. Real collapses turn much of the structure to dust; the volume it frees
  is what lets the rest come down.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pymunk
from numpy.typing import NDArray

from ...core._collapse_timing import STOREY_M, front_accel, front_depth
from ._fracture import Fracture

F32 = NDArray[np.float32]
MODES = ("pancake", "topple", "blast")
GRAVITY = 9.81
_AREAL_DENSITY = 1000.0  # kg/m^2 of facade: a 0.4 m slab of 2500 kg/m^3
_SAFETY = 4.0  # an intact building holds its own weight this many times over
SLICES = 4  # depth slices through the building's thickness
_GROUND_BIT = 1 << 8
CRUSH_FADE_S = 0.35  # how long a crushed shard takes to turn to dust


@dataclass(frozen=True)
class SimSettings:
    fps: float
    frames: int
    start_s: float  # when the failure begins, seconds after the first frame
    mode: str
    failure: tuple[float, float]  # px
    px_per_m: float
    ground_y: float  # px
    frame_size: tuple[int, int]
    direction: int = -1  # topple: -1 left, +1 right
    substeps: int = 8  # per frame; the shutter samples are taken from these
    seed: int = 1
    duration_s: float | None = None  # how long the failure takes to run its course


@dataclass
class Event:
    """Where dust and chips come from: a bond snapping, or a shard hitting something."""

    t: float
    x: float  # px
    y: float
    energy: float  # J, or bond length (m) for a crack
    kind: str  # "crack", "impact", "ground" or "crush"
    vx: float = 0.0  # px/s of the body involved
    vy: float = 0.0


@dataclass
class SimResult:
    times: F32  # (S,) seconds of every substep, the first frame at 0
    poses: F32  # (S, n, 3) centroid x, y (px), angle (rad)
    detach: F32  # (n,) when each shard first lost a bond (inf: never)
    crushed: F32  # (n,) when each shard was crushed to dust (inf: never)
    slice: NDArray[np.int32]  # (n,) depth slice, 0 at the back
    events: list[Event] = field(default_factory=list)
    shake: F32 = field(default_factory=lambda: np.zeros(0, np.float32))  # (frames,) ground impulse
    broken: int = 0
    bonds: int = 0

    def pose_at(self, t: float) -> F32:
        """Poses at time ``t`` (linear between substeps; angles too, they change slowly)."""
        i = float(np.interp(t, self.times, np.arange(len(self.times))))
        k = min(int(i), len(self.times) - 2)
        f = i - k
        return np.asarray(self.poses[k] * (1 - f) + self.poses[k + 1] * f, np.float32)


class _Bond:
    __slots__ = ("a", "alive", "b", "delay", "gear", "length", "pivot", "strength", "x", "y")

    def __init__(self, a: int, b: int, x: float, y: float, length: float, strength: float,
                 pivot: pymunk.Constraint, gear: pymunk.Constraint, delay: float) -> None:  # fmt: skip
        self.a, self.b, self.x, self.y, self.length = a, b, x, y, length
        self.strength, self.pivot, self.gear = strength, pivot, gear
        self.alive = True
        self.delay = delay  # random lag of this bond behind the failure front (s)


def simulate(fracture: Fracture, settings: SimSettings, *,
             progress: Callable[[int], None] | None = None) -> SimResult:  # fmt: skip
    """Run the collapse for ``settings.frames`` frames; returns every substep's poses."""
    s = settings
    ppm = s.px_per_m
    rng = np.random.default_rng(s.seed)
    space = pymunk.Space()
    space.gravity = (0.0, GRAVITY)
    space.iterations = 14
    space.damping = 0.995
    space.sleep_time_threshold = 0.6
    space.collision_slop = 0.01

    ground = pymunk.Segment(space.static_body, (-50.0 * s.frame_size[0] / ppm, s.ground_y / ppm),
                            (50.0 * s.frame_size[0] / ppm, s.ground_y / ppm), 0.05)  # fmt: skip
    ground.friction, ground.elasticity, ground.collision_type = 0.9, 0.05, 2
    ground.filter = pymunk.ShapeFilter(categories=_GROUND_BIT)
    n = len(fracture.shards)
    slices = rng.integers(0, SLICES, n).astype(np.int32)
    fx, fy = s.failure
    reach = 0.6 * max(s.frame_size)
    near = np.array([math.exp(-((sh.centroid[0] - fx) ** 2 + (sh.centroid[1] - fy) ** 2) / (2 * reach**2))
                     for sh in fracture.shards])  # fmt: skip
    crush_p = 0.3 + 0.35 * near
    crush_delay = np.where(rng.random(n) < crush_p, rng.uniform(0.08, 0.7, n), np.inf)
    space.add(ground)

    bodies: list[pymunk.Body] = []
    shapes: list[pymunk.Shape] = []
    for shard in fracture.shards:
        cx, cy = shard.centroid
        verts = (shard.hull - np.array([cx, cy])) / ppm
        verts *= np.clip(
            1.0 - 0.5 / (np.linalg.norm(verts, axis=1, keepdims=True) * ppm + 1e-9), 0.5, 1.0
        )
        area_m2 = max(shard.area / (ppm * ppm), 1e-4)
        mass = area_m2 * _AREAL_DENSITY
        poly = [tuple(v) for v in verts.tolist()]
        moment = pymunk.moment_for_poly(mass, poly) if len(poly) >= 3 else mass * 0.1
        body = pymunk.Body(mass, max(moment, 1e-3))
        body.position = (cx / ppm, cy / ppm)
        shape = pymunk.Poly(body, poly) if len(poly) >= 3 else pymunk.Circle(body, 0.05)
        shape.friction, shape.elasticity, shape.collision_type = 0.75, 0.04, 1
        layer = 1 << int(slices[len(bodies)])
        shape.filter = pymunk.ShapeFilter(categories=layer, mask=layer | _GROUND_BIT)
        space.add(body, shape)
        bodies.append(body)
        shapes.append(shape)

    height_m = s.frame_size[1] / ppm
    load = _AREAL_DENSITY * GRAVITY * height_m  # N per metre of bond under a full-height wall
    bonds: list[_Bond] = []
    for link in fracture.bonds:
        a = bodies[link.a]
        b = bodies[link.b] if link.b >= 0 else space.static_body
        point = (link.x / ppm, link.y / ppm)
        pivot = pymunk.PivotJoint(a, b, point)
        gear = pymunk.GearJoint(a, b, 0.0, 1.0)
        pivot.collide_bodies = gear.collide_bodies = False
        length_m = link.length / ppm
        strength = _SAFETY * load * max(length_m, 0.05) * float(rng.uniform(0.7, 1.3))
        space.add(pivot, gear)
        bonds.append(_Bond(link.a, link.b, link.x, link.y, length_m, strength, pivot, gear,
                           float(rng.exponential(0.12))))  # fmt: skip

    holding = np.zeros(n, np.int64)  # bonds still holding each shard
    for glue in bonds:
        holding[glue.a] += 1
        if glue.b >= 0:
            holding[glue.b] += 1
    result = SimResult(np.zeros(0, np.float32), np.zeros((0, n, 3), np.float32),
                       np.full(n, np.inf, np.float32), np.full(n, np.inf, np.float32), slices,
                       bonds=len(bonds))  # fmt: skip
    shake = np.zeros(s.frames, np.float32)
    now = [0.0]

    def on_ground(arbiter: pymunk.Arbiter, _space: pymunk.Space, _data: object) -> None:
        if not arbiter.is_first_contact:
            return
        impulse = arbiter.total_impulse.length
        body = next(b for b in map(_body, arbiter.shapes) if b.body_type == pymunk.Body.DYNAMIC)
        v = body.velocity
        energy = 0.5 * body.mass * (v.x * v.x + v.y * v.y)
        if impulse < 50.0 and energy < 500.0:
            return
        frame = min(int(now[0] * s.fps), s.frames - 1)
        shake[frame] += impulse
        pts = arbiter.contact_point_set.points
        x, y = (pts[0].point_a.x, pts[0].point_a.y) if pts else (body.position.x, body.position.y)
        result.events.append(
            Event(now[0], x * ppm, y * ppm, energy, "ground", v.x * ppm, v.y * ppm)
        )

    def on_hit(arbiter: pymunk.Arbiter, _space: pymunk.Space, _data: object) -> None:
        if not arbiter.is_first_contact:
            return
        a, b = (_body(sh) for sh in arbiter.shapes)
        rel = a.velocity - b.velocity
        speed2 = rel.x * rel.x + rel.y * rel.y
        if speed2 < 9.0:  # under 3 m/s: a nudge, not an impact
            return
        mu = a.mass * b.mass / (a.mass + b.mass)
        pts = arbiter.contact_point_set.points
        if not pts:
            return
        p = pts[0].point_a
        result.events.append(Event(now[0], p.x * ppm, p.y * ppm, 0.5 * mu * speed2, "impact",
                                   a.velocity.x * ppm, a.velocity.y * ppm))  # fmt: skip

    space.on_collision(1, 2, post_solve=on_ground)
    space.on_collision(1, 1, post_solve=on_hit)

    dt = 1.0 / (s.fps * s.substeps)
    steps = s.frames * s.substeps
    times = np.arange(steps + 1, dtype=np.float64) * dt
    poses = np.zeros((steps + 1, len(bodies), 3), np.float32)
    top = min((sh.bbox[1] for sh in fracture.shards), default=0)
    span = max(max((sh.bbox[3] for sh in fracture.shards), default=1) - top, 1)
    storey = STOREY_M * ppm
    alive = list(bonds)
    blasted = False

    def record(i: int) -> None:
        for j, body in enumerate(bodies):
            p = body.position
            poses[i, j] = (p.x * ppm, p.y * ppm, body.angle)

    record(0)
    for i in range(1, steps + 1):
        t = times[i - 1]
        now[0] = t
        tau = t - s.start_s
        factor_of = _schedule(s, tau, fx, fy, top, span, storey)
        if s.mode == "blast" and tau >= 0 and not blasted:
            blasted = True
            _blast(bodies, s, fx, fy, storey, ppm, rng)
            result.events.append(Event(t, fx, fy, 5e5, "ground"))
        keep: list[_Bond] = [] if tau >= 0 else alive  # the building stood until now
        for bond in alive if tau >= 0 else ():
            factor = factor_of(bond)
            force = bond.pivot.impulse / dt
            torque = abs(bond.gear.impulse) / dt
            limit = bond.strength * factor
            if factor <= 0.0 or force > limit or torque > limit * max(bond.length, 0.5):
                space.remove(bond.pivot, bond.gear)
                bond.alive = False
                result.broken += 1
                for k in (bond.a, bond.b):
                    if k >= 0:
                        holding[k] -= 1
                    if k >= 0 and not math.isfinite(result.detach[k]):
                        result.detach[k] = t
                        bodies[k].activate()
                result.events.append(Event(t, bond.x, bond.y, bond.length, "crack"))
            else:
                keep.append(bond)
        alive = keep
        for j in np.flatnonzero(result.detach + crush_delay <= t).tolist():
            if math.isfinite(result.crushed[j]):
                continue
            v = bodies[j].velocity
            if v.x * v.x + v.y * v.y < 2.0:
                # at rest: a piece on the pile stays whole, but a loose stack standing
                # higher than a couple of storeys is what the falling floors crush
                # (only once nothing holds it: a piece still bonded is part of a standing wall,
                # and crushing it would punch a hole the sky shows through)
                height_m = s.ground_y / ppm - bodies[j].position.y
                if holding[j] > 0 or height_m < 7.0 or t - result.detach[j] < 0.5 + crush_delay[j]:
                    continue
            result.crushed[j] = t  # crushed: no more collisions, it turns to dust as it falls
            space.remove(shapes[j])
            for other in alive:
                if other.alive and j in (other.a, other.b):
                    space.remove(other.pivot, other.gear)
                    other.alive = False
                    for k in (other.a, other.b):
                        if k >= 0:
                            holding[k] -= 1
            alive = [other for other in alive if other.alive]
            body = bodies[j]
            v = body.velocity
            result.events.append(Event(t, body.position.x * ppm, body.position.y * ppm,
                                       body.mass * GRAVITY * 3.5, "crush", v.x * ppm, v.y * ppm))  # fmt: skip
        space.step(dt)
        record(i)
        if progress is not None and i % s.substeps == 0:
            progress(1)
    result.times = times.astype(np.float32)
    result.poses = poses
    result.shake = shake
    return result


def _schedule(s: SimSettings, tau: float, fx: float, fy: float, top: float, span: float,
              storey: float) -> Callable[[_Bond], float]:  # fmt: skip
    """How much of its strength each bond has left at ``tau`` seconds into the failure."""
    if tau < 0:
        return lambda bond: 1.0
    if s.mode == "pancake":
        # a front that runs down from the failure point at a little under free fall, or
        # reaching the foot in the time asked for: the model the previs's tower falls by too
        accel = front_accel(span / s.px_per_m, s.duration_s)
        depth = front_depth(tau, accel, storey / s.px_per_m) * s.px_per_m

        def pancake(bond: _Bond) -> float:
            ahead = fy + depth - bond.y - abs(bond.x - fx) * 0.25
            lag = bond.delay * 0.65 * GRAVITY * s.px_per_m * max(tau, 0.05)
            return 1.0 if ahead < lag else 0.0

        return pancake
    pace = 2.0 / s.duration_s if s.duration_s else 1.0  # topple and blast: 2 s by default
    if s.mode == "topple":
        hinge_x = fx

        def topple(bond: _Bond) -> float:
            if bond.b < 0:  # the foot: everything but the hinge side lets go
                near_hinge = (bond.x - hinge_x) * s.direction > -storey * 1.5
                return 1.0 if near_hinge and tau < 0.8 else 0.0
            return max(0.35, 1.0 - 0.5 * tau * pace)  # the falling mass tears apart as it tips

        return topple

    def blast(bond: _Bond) -> float:  # the blast floor is gone; the rest is shaken loose
        if abs(bond.y - fy) < storey * 1.2:
            return 0.0
        return max(0.25, 1.0 - 0.8 * tau * pace)

    return blast


def _body(shape: pymunk.Shape) -> pymunk.Body:
    body = shape.body
    assert body is not None  # every shape we add is on a body (the ground on the static one)
    return body


def _blast(bodies: list[pymunk.Body], s: SimSettings, fx: float, fy: float, storey: float,
           ppm: float, rng: np.random.Generator) -> None:  # fmt: skip
    for body in bodies:
        dx, dy = body.position.x * ppm - fx, body.position.y * ppm - fy
        d = math.hypot(dx, dy)
        if d > storey * 3:
            continue
        speed = 14.0 * (1.0 - d / (storey * 3)) * float(rng.uniform(0.6, 1.2))
        n = max(d, 1e-6)
        body.apply_impulse_at_local_point((body.mass * speed * dx / n, body.mass * speed * dy / n))
        body.angular_velocity += float(rng.normal(0, 2.0))
