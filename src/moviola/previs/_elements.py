"""VFX elements staged in the set: the tower that falls, the fireball, the fire, the debris.

A shot the plan marks as VFX shows its element, as simple animated proxies a
director can judge framing and timing by. Each is a named prim under
``/World/Elements`` (a layout artist can move it) and its animation is
time-sampled on the scene's timeline (it plays in the animatic, in usdview and
in Blender, and exports with the stage).

- ``collapse``: a tower sized from the text (storeys counted where the script
  gives them, 3.5 m each) whose floors let go at the times
  :class:`~moviola.core._collapse_timing.CollapseTiming` gives, the model the
  final shot's simulation breaks its bonds by: the same duration and failure
  order. It starts on the beat that says the building drops, and a coarse dust
  volume rolls out from its foot.
- ``explosion``: a fireball that blooms and dies into smoke; ``fire``: flames
  that flicker, with smoke above; ``destruction``: debris that tumbles down;
  ``set_extension``: a skyline of lit towers far off; ``creature``: a dark
  stand-in of its size. Each is placed where its shot's camera looks (on the
  tower when the tower is in view), timed from the shot's first use in the cut; a
  destruction or explosion shot whose text wrecks a vehicle also throws a car across.

Crowd and weather shots point at the scene's crowd and weather (see
``_crowds`` and ``_weather``). Nothing here reads files.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field, replace
from typing import Any

from ..core._collapse_timing import STOREY_M, CollapseTiming, collapse_duration
from ..plan import CAMERAS, Shot
from ._prims import ball, box, cone, plan_to_world, pxr
from ._staging import Staging

FIRST_FRAME = 1001
INDOORS = ("room", "corridor", "vehicle", "bus")  # blocking kinds with walls round the action
DUST = (0.56, 0.54, 0.5)
FIRE = (1.0, 0.5, 0.12)
FLAME = (1.0, 0.78, 0.3)
SMOKE = (0.22, 0.22, 0.23)
CONCRETE = (0.62, 0.6, 0.56)
TOWER_WIDTH_M = 18.0
DEFAULT_STOREYS = 12
CRUSHED_M = 0.45  # what a storey is once pancaked
_DROP = re.compile(r"\b(drops?|collaps\w*|falls?|folds?|gives? way|comes? down|pancak\w*|topples?|"
                   r"crumbles?|caves? in)\b", re.I)  # fmt: skip


@dataclass(frozen=True)
class Element:
    """What was staged: for the cameras' subjects, the checks and previs.json."""

    name: str  # the object name (prim under /World/Elements)
    kind: str
    shots: tuple[str, ...]
    first: int  # frames of its animation
    last: int
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _View:
    """A shot's camera, enough to place something where it looks."""

    x: float
    y: float
    height: float
    pan: float  # degrees on the plan
    tilt: float
    vfov: float  # degrees
    limit: float = 1e9  # indoors: how far the camera sees before a wall (m)
    ceiling: float = 1e9  # indoors: how high an element may reach

    @property
    def indoors(self) -> bool:
        return self.limit < 1e8

    def fits(self) -> float:
        """How big something can be to show whole, half the frame's height, short of the wall."""
        return max(0.2, self.limit * math.tan(math.radians(self.vfov / 2)))

    @staticmethod
    def of(shot: Shot, blocking: dict[str, Any] | None = None) -> _View:
        c = shot.camera
        _, h = CAMERAS[c.body].used(c.aspect)
        vfov = c.vfov or math.degrees(2 * math.atan(h / (2 * float(shot.lens_mm))))
        view = _View(c.x, c.y, c.height, c.pan, c.tilt, vfov)
        kind = str((blocking or {}).get("kind", ""))
        if kind in INDOORS:  # an element inside the set, under its ceiling, short of its far wall
            half_w, half_d = float(blocking["width"]) / 2, float(blocking["depth"]) / 2  # type: ignore[index]
            a = math.radians(c.pan)
            ends = [(half - abs(p)) / abs(v) for p, v, half in ((c.x, math.cos(a), half_w), (c.y, math.sin(a), half_d))
                    if abs(v) > 1e-6]  # fmt: skip
            wall = min((e for e in ends if e > 0), default=2.0)
            view = replace(view, limit=max(1.0, wall - 0.4), ceiling=2.1 if kind in ("vehicle", "bus") else 2.5)
        return view

    def along(self, distance: float) -> tuple[float, float]:
        a = math.radians(self.pan)
        return self.x + distance * math.cos(a), self.y + distance * math.sin(a)

    def standing_distance(self, height: float, *, fill: float = 0.42) -> float:
        """How far off something ``height`` tall stands so its top sits ``fill`` of the
        frame above the centre (all of it in frame when the camera looks up at it)."""
        top = math.radians(self.tilt + fill * self.vfov)
        if top <= math.radians(2.0):  # a level camera: fill the frame's height with it
            return min(self.limit, max(6.0, (height / 2) / math.tan(math.radians(self.vfov * 0.3))))
        return min(self.limit, max(6.0, (height - self.height) / math.tan(top)))

    def ahead(self, x: float, y: float) -> float:
        """How far in front of the camera (along its look on the plan) a plan point is."""
        a = math.radians(self.pan)
        return (x - self.x) * math.cos(a) + (y - self.y) * math.sin(a)

    def airborne(self, size: float, beyond: float = 0.0, side: float = 0.0, up: float = 0.12
                 ) -> tuple[float, float, float]:  # fmt: skip
        """(x, y, height): a thing ``size`` across about half the frame's height, ``up`` of the
        frame above its centre (over the heads in front), no nearer than ``beyond`` metres,
        ``side`` of the frame's half width off to the right (negative: left)."""
        d = min(self.limit, max(5.0, beyond, (size / 2) / math.tan(math.radians(self.vfov * 0.25))))
        x, y = self.along(d)
        a = math.radians(self.pan)
        half_w = d * math.tan(math.radians(self.vfov * 1.2))  # a 2.39 frame is 2.4 times wider
        x, y = x + side * half_w * math.sin(a), y - side * half_w * math.cos(a)
        elevation = math.radians(self.tilt + up * self.vfov)
        height = max(size / 2, self.height + d * math.tan(elevation))
        return x, y, min(height, self.ceiling - size / 2)


def shot_beats(scene: dict[str, Any], shot_id: str) -> list[int]:
    return sorted({int(e["beat"]) for e in scene.get("edit", []) if e.get("shot") == shot_id})


def _seconds(frame: int, fps: float) -> float:
    return (frame - FIRST_FRAME) / fps


def _frame(seconds: float, fps: float) -> int:
    return FIRST_FRAME + round(seconds * fps)


def stage_elements(stage: Any, scene: dict[str, Any], shots: list[Shot], fps: float,
                   staging: Staging, timings: dict[str, Any], beat_frames: dict[int, int],
                   beats: list[dict[str, Any]], last_frame: int) -> list[Element]:  # fmt: skip
    """Stage every VFX shot's element; returns what was staged, by name."""
    _, _, _, UsdGeom = pxr()
    vfx = [s for s in shots if s.vfx and s.vfx_kind]
    if not vfx:
        return []
    UsdGeom.Xform.Define(stage, "/World/Elements")
    made: list[Element] = []
    tower: Element | None = None
    tower_at: tuple[float, float, float] | None = None  # plan x, y and height
    collapse_shots = [s for s in vfx if s.vfx_kind == "collapse"]
    if collapse_shots:
        tower, tower_at = _tower(stage, scene, collapse_shots, fps, staging, timings, beat_frames,
                                 beats, last_frame)  # fmt: skip
        made.append(tower)
        made.append(_tower_dust(stage, tower, tower_at, fps, last_frame))
    people = [(float(m["x"]), float(m["y"])) for c in scene.get("blocking", {}).get("characters", [])
              for m in c.get("marks", [])]  # fmt: skip
    placed = 0  # elements placed by a camera: the next one goes to the side, not behind it
    for shot in vfx:
        kind = str(shot.vfx_kind)
        first = timings[shot.id].start if shot.id in timings else FIRST_FRAME
        view = _View.of(shot, scene.get("blocking"))
        # on the tower while it stands and is in view; after the fall, where the camera looks
        standing = tower is not None and first < tower.first
        on_tower = tower_at if tower_at is not None and standing and _sees(view, tower_at) else None
        clear = max((view.ahead(x, y) for x, y in people), default=0.0) + 4.0  # past the cast
        side = 0.0 if on_tower is not None else _SIDES[placed % len(_SIDES)]
        tag = "".join(ch if ch.isalnum() else "_" for ch in shot.id)
        if kind == "explosion":
            made.append(_explosion(stage, f"explosion_{tag}", shot, view, first, fps, on_tower, clear, side))
        elif kind == "fire":
            made.append(_fire(stage, f"fire_{tag}", shot, view, first, fps, last_frame, on_tower, clear, side))
        elif kind == "destruction":
            last = timings[shot.id].end if shot.id in timings else first + round(2 * fps)
            made.append(_debris(stage, f"debris_{tag}", shot, view, first, last, fps, clear, side))
        elif kind == "set_extension":
            made.append(_skyline(stage, f"skyline_{tag}", shot, view))
        elif kind == "creature":
            made.append(_creature(stage, f"creature_{tag}", shot, view, clear))
        else:
            continue
        placed += on_tower is None and kind in ("explosion", "fire", "destruction")
        said = " ".join(str(beats[b].get("text", "")) for b in shot_beats(scene, shot.id) if 0 <= b < len(beats))
        if kind in ("destruction", "explosion") and not view.indoors and _CRASH.search(said) and _VEHICLE.search(said):
            made.append(_crash(stage, f"crash_{tag}", shot, view, first, fps, clear, _SIDES[placed % len(_SIDES)]))
            placed += 1
    return made


_SIDES = (0.0, -0.3, 0.3, -0.15, 0.15)  # across the frame (share of its half width)
_CRASH = re.compile(r"\b(crash\w*|crush\w*|smash\w*|pile-up|collid\w*|flips?|overturn\w*|explodes?|"
                    r"slams?|rams?|wreck\w*)\b", re.I)  # fmt: skip
_VEHICLE = re.compile(r"\b(cars?|taxis?|vans?|fiat|trucks?|lorry|bus|colectivo|motorcycle|vehicle)\b", re.I)


def _sees(view: _View, at: tuple[float, float, float]) -> bool:
    """Whether something at plan ``at`` (x, y, height) lies within the camera's pan, roughly."""
    dx, dy = at[0] - view.x, at[1] - view.y
    bearing = math.degrees(math.atan2(dy, dx))
    off = abs((bearing - view.pan + 180.0) % 360.0 - 180.0)
    return off < 35.0


# The tower -------------------------------------------------------------------------------------


def collapse_start(scene: dict[str, Any], shots: list[Shot], beats: list[dict[str, Any]],
                   beat_frames: dict[int, int], timings: dict[str, Any], fps: float) -> tuple[float, str]:  # fmt: skip
    """When the building lets go (scene seconds) and why: the first beat of a collapse shot
    whose action says it drops, or half a second into the shot's first use (a recipe's default)."""
    covered = sorted({b for s in shots for b in shot_beats(scene, s.id)})
    for b in covered:
        text = str(beats[b].get("text", "")) if 0 <= b < len(beats) else ""
        if _DROP.search(text):
            return _seconds(beat_frames.get(b, FIRST_FRAME), fps) + 0.2, f"beat {b}: {text[:60]}"
    first = min((timings[s.id].start for s in shots if s.id in timings), default=FIRST_FRAME)
    return _seconds(first, fps) + 0.5, "the shot's first use"


def collapse_timing(staging: Staging, start_s: float) -> tuple[CollapseTiming, str]:
    """The tower's timing: a linked recipe's duration and mode (what the final shot does), else
    the script's stated duration, else the physics default, for the storeys the text gives."""
    storeys = staging.storeys or DEFAULT_STOREYS
    height = storeys * STOREY_M
    recipe = staging.collapse
    if recipe is not None:
        duration = collapse_duration(recipe.height_m, recipe.duration_s)
        return CollapseTiming(height, storeys, start_s, duration, recipe.mode), f"recipe ({recipe.shot})"
    if staging.event_s:
        return CollapseTiming(height, storeys, start_s, staging.event_s), "script"
    return CollapseTiming(height, storeys, start_s, None), "physics (0.8 g)"


def _tower(stage: Any, scene: dict[str, Any], shots: list[Shot], fps: float, staging: Staging,
           timings: dict[str, Any], beat_frames: dict[int, int], beats: list[dict[str, Any]],
           last_frame: int) -> tuple[Element, tuple[float, float, float]]:  # fmt: skip
    Gf, _, _, UsdGeom = pxr()
    start_s, why = collapse_start(scene, shots, beats, beat_frames, timings, fps)
    timing, source = collapse_timing(staging, start_s)
    view = _View.of(shots[0])
    d = view.standing_distance(timing.height_m) + TOWER_WIDTH_M / 2
    x, y = view.along(d)
    root = UsdGeom.Xform.Define(stage, "/World/Elements/tower")
    root.AddTranslateOp().Set(Gf.Vec3d(*plan_to_world(x, y)))
    root.AddRotateYOp().Set(float(view.pan - 90.0))  # a facade square to the camera
    fails = timing.floor_failures()
    n = len(fails)
    storey = timing.height_m / n
    rng = random.Random(f"tower {scene.get('number')}")
    ops = []
    for k in range(n):
        cube = box(stage, f"/World/Elements/tower/floor_{k:02d}", (0.0, (k + 0.5) * storey, 0.0),
                   (TOWER_WIDTH_M, storey * 0.97, TOWER_WIDTH_M * 0.8), CONCRETE, kind="windows")  # fmt: skip
        prim = cube.GetPrim()
        ops.append((prim, rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)))
    first_fail = min(fails)
    settle = max(fails) + math.sqrt(2 * timing.height_m / 9.81) + 0.6
    step = max(1, round(fps / 12))
    frames = list(range(_frame(first_fail, fps) - 1, min(last_frame, _frame(settle, fps)) + step, step))
    poses = _pancake_poses(fails, storey, [_seconds(f, fps) for f in frames])
    for k, (prim, jx, jz, jr) in enumerate(ops):
        xf = UsdGeom.Xformable(prim)
        translate, scale = xf.GetOrderedXformOps()[0], xf.GetOrderedXformOps()[-1]
        tilt_x = xf.AddRotateXOp(opSuffix="tumble")
        tilt_z = xf.AddRotateZOp(opSuffix="tumble")
        xf.SetXformOpOrder([translate, tilt_x, tilt_z, scale])
        tilt_x.Set(0.0)
        tilt_z.Set(0.0)
        for frame, row in zip(frames, poses, strict=True):
            centre, thick, crushed = row[k]
            spread = 1.0 + 0.25 * crushed
            translate.Set(Gf.Vec3d(jx * 1.5 * crushed, centre, jz * 1.5 * crushed), frame)
            scale.Set(Gf.Vec3f(TOWER_WIDTH_M * spread, thick, TOWER_WIDTH_M * 0.8 * spread), frame)
            tilt_x.Set(float(jr * 6.0 * crushed), frame)
            tilt_z.Set(float(jx * 5.0 * crushed), frame)
    prim = root.GetPrim()
    prim.SetCustomDataByKey("moviola:element", "collapse")
    prim.SetCustomDataByKey("moviola:storeys", n)
    prim.SetCustomDataByKey("moviola:height_m", float(timing.height_m))
    from pxr import Vt

    prim.SetCustomDataByKey("moviola:failure_frames", Vt.IntArray([_frame(t, fps) for t in fails]))
    prim.SetMetadata("documentation", f"{n}-storey tower; collapse from {why}; timing: {source}")
    element = Element("tower", "collapse", tuple(s.id for s in shots), _frame(first_fail, fps),
                      frames[-1] if frames else _frame(first_fail, fps),
                      {"storeys": n, "height_m": round(timing.height_m, 1), "start_s": round(start_s, 3),
                       "duration_s": round(max(fails) - first_fail, 3), "timing": source,
                       "order": "top first" if timing.mode == "pancake" else timing.mode,
                       "failure_frames": [_frame(t, fps) for t in fails]})  # fmt: skip
    return element, (x, y, timing.height_m)


def _pancake_poses(fails: list[float], storey: float, times: list[float]
                   ) -> list[list[tuple[float, float, float]]]:  # fmt: skip
    """Per time, per floor (ground first): (centre height, thickness, how crushed 0..1).

    A floor stands until its slab lets go, then falls freely onto what is below it,
    which it cannot pass: the floors stack up as they pancake, each crushed to less
    than half a metre by the time it lands.
    """
    out = []
    for t in times:
        row = []
        below = 0.0  # top of what is under this floor
        for k, tf in enumerate(fails):
            rest = (k + 0.5) * storey
            fallen = 0.5 * 9.81 * (t - tf) ** 2 if t > tf else 0.0
            crushed = min(1.0, fallen / storey) if t > tf else 0.0
            thick = storey * 0.97 + (CRUSHED_M - storey * 0.97) * crushed
            centre = max(rest - fallen, below + thick / 2)
            row.append((centre, thick, crushed))
            below = centre + thick / 2
        out.append(row)
    return out


def _tower_dust(stage: Any, tower: Element, at: tuple[float, float, float], fps: float,
                last_frame: int) -> Element:  # fmt: skip
    """A coarse dust volume: puffs that boil out from the tower's foot and roll outward."""
    Gf, _, _, UsdGeom = pxr()
    fails = [(_seconds(f, fps)) for f in tower.detail["failure_frames"]]
    start = sorted(fails)[len(fails) // 2]  # when the falling mass reaches the lower floors
    x, y, height = at
    root = UsdGeom.Xform.Define(stage, "/World/Elements/tower_dust")
    root.AddTranslateOp().Set(Gf.Vec3d(*plan_to_world(x, y)))
    rng = random.Random("dust")
    count = 14
    size = max(8.0, height * 0.25)
    last = start
    for i in range(count):
        emit = start + i * 0.22
        angle = 2 * math.pi * i / count + rng.uniform(-0.2, 0.2)
        puff = ball(stage, f"/World/Elements/tower_dust/puff_{i:02d}", (0.0, 0.0, 0.0), 1.0, DUST)
        xf = UsdGeom.Xformable(puff.GetPrim())
        translate = xf.GetOrderedXformOps()[0]
        scale = xf.AddScaleOp()
        scale.Set(Gf.Vec3f(0.001, 0.001, 0.001))
        step = max(1, round(fps / 6))
        end = min(last_frame, _frame(emit + 9.0, fps))
        translate.Set(Gf.Vec3d(0, 0, 0))
        for frame in range(_frame(emit, fps) - 1, end + step, step):
            tau = _seconds(frame, fps) - emit
            if tau < 0:
                scale.Set(Gf.Vec3f(0.001, 0.001, 0.001), frame)
                continue
            reach = TOWER_WIDTH_M / 2 + 10.0 * (1 - math.exp(-tau / 2.5)) * size / 8
            r = 3.0 + size * (1 - math.exp(-tau / 2.0))
            translate.Set(Gf.Vec3d(reach * math.cos(angle), r * 0.55, reach * math.sin(angle)), frame)
            scale.Set(Gf.Vec3f(r, r * 0.75, r), frame)
        last = max(last, _seconds(end, fps))
    return Element("tower_dust", "dust", tower.shots, _frame(start, fps), _frame(last, fps),
                   {"puffs": count, "start_s": round(start, 3)})  # fmt: skip


# Other elements ---------------------------------------------------------------------------------


def _placed(view: _View, size: float, on_tower: tuple[float, float, float] | None, share: float,
            clear: float, side: float) -> tuple[float, float, float]:  # fmt: skip
    if on_tower is not None:  # on the tower's face, toward the camera, ``share`` of its height up
        tx, ty, th = on_tower
        dx, dy = view.x - tx, view.y - ty
        d = math.hypot(dx, dy) or 1.0
        reach = TOWER_WIDTH_M * 0.45
        return tx + dx / d * reach, ty + dy / d * reach, th * share
    return view.airborne(size, clear, side)


def _explosion(stage: Any, name: str, shot: Shot, view: _View, first: int, fps: float,
               on_tower: tuple[float, float, float] | None, clear: float, side: float) -> Element:  # fmt: skip
    """A fireball already blooming on the shot's first frame, dying into smoke that rises."""
    Gf, _, _, UsdGeom = pxr()
    size = min(1.6, view.fits()) if view.indoors else 8.0  # a fireball fits the room it goes off in
    x, y, h = _placed(view, size, on_tower, 0.6, clear, side)
    path = f"/World/Elements/{name}"
    UsdGeom.Xform.Define(stage, path)
    fire = ball(stage, f"{path}/fireball", plan_to_world(x, y, h), 1.0, FIRE, kind="emissive", emission=2.2)
    smoke = ball(stage, f"{path}/smoke", plan_to_world(x, y, h), 1.0, SMOKE)
    grow = UsdGeom.Xformable(fire.GetPrim()).AddScaleOp()
    for frame, r in ((first - 2, 0.001), (first, size * 0.3), (first + round(0.3 * fps), size / 2),
                     (first + round(1.0 * fps), size * 0.35), (first + round(1.6 * fps), 0.001)):  # fmt: skip
        grow.Set(Gf.Vec3f(r, r, r), frame)
    lift = UsdGeom.Xformable(smoke.GetPrim()).GetOrderedXformOps()[0]
    puff = UsdGeom.Xformable(smoke.GetPrim()).AddScaleOp()
    rise = 6.0
    if view.indoors:  # up to the ceiling, and no higher than the top of the frame
        d = math.hypot(x - view.x, y - view.y)
        top = view.height + d * math.tan(math.radians(view.tilt + 0.35 * view.vfov))
        rise = max(0.0, min(view.ceiling - size * 0.5, top) - h)
    for frame, r, up in ((first - 2, 0.001, 0.0), (first + round(0.3 * fps), 0.001, 0.0),
                         (first + round(1.2 * fps), size * 0.45, min(1.5, rise)),
                         (first + round(4.0 * fps), size * 0.7, rise)):  # fmt: skip
        puff.Set(Gf.Vec3f(r, r, r), frame)
        lift.Set(Gf.Vec3d(*plan_to_world(x, y, h + up)), frame)
    return Element(name, "explosion", (shot.id,), first, first + round(4.0 * fps),
                   {"radius_m": size / 2, "at": [round(x, 2), round(y, 2), round(h, 2)]})  # fmt: skip


def _fire(stage: Any, name: str, shot: Shot, view: _View, first: int, fps: float, last_frame: int,
          on_tower: tuple[float, float, float] | None, clear: float, side: float) -> Element:  # fmt: skip
    """Flames that catch on the shot's first use and flicker on to the end of the scene, a
    plume of smoke above them."""
    Gf, _, _, UsdGeom = pxr()
    height = min(1.4, view.fits()) if view.indoors else 6.0
    if on_tower is not None:  # the building burning a third of the way up
        x, y, base = _placed(view, height, on_tower, 0.3, clear, side)
    else:  # standing on the ground, far enough that its flames reach the middle of the frame
        d = max(clear, view.standing_distance(height, fill=0.1))
        x, y, _h = view.airborne(height, d, side)
        base = max(0.0, view.height + d * math.tan(math.radians(view.tilt - 0.3 * view.vfov)))
    path = f"/World/Elements/{name}"
    UsdGeom.Xform.Define(stage, path)
    rng = random.Random(name)
    step = max(1, round(fps / 8))
    for i, (dx, r, hh, colour) in enumerate(((0.0, 1.6, height, FIRE), (-1.4, 1.0, height * 0.6, FLAME),
                                             (1.3, 1.1, height * 0.7, FLAME))):  # fmt: skip
        flame = cone(stage, f"{path}/flame_{i}", plan_to_world(x + dx, y, base), r, hh, colour,
                     kind="emissive", emission=1.8)  # fmt: skip
        flicker = UsdGeom.Xformable(flame.GetPrim()).AddScaleOp()
        flicker.Set(Gf.Vec3f(1, 1, 1))  # the default, for a tool that ignores time: burning
        if first > FIRST_FRAME:  # not yet burning
            flicker.Set(Gf.Vec3f(0.001, 0.001, 0.001), first - 1)
        for frame in range(first, last_frame + step, step):
            k = rng.uniform(0.75, 1.2)
            flicker.Set(Gf.Vec3f(rng.uniform(0.85, 1.1), k, rng.uniform(0.85, 1.1)), frame)
    for i in range(3):  # the plume: thinning as it rises, drifting with the wind
        puff = ball(stage, f"{path}/smoke_{i}", plan_to_world(x + i * 0.9, y, base + height + 1.5 + i * 2.2),
                    1.0 + i * 0.5, SMOKE)  # fmt: skip
        grow = UsdGeom.Xformable(puff.GetPrim()).AddScaleOp()
        grow.Set(Gf.Vec3f(1.0, 0.8, 1.0))
        grow.Set(Gf.Vec3f(0.001, 0.001, 0.001), max(FIRST_FRAME, first - 1))
        grow.Set(Gf.Vec3f(1.0, 0.8, 1.0), first + round((0.5 + i * 0.4) * fps))
    return Element(name, "fire", (shot.id,), first, last_frame,
                   {"height_m": height, "at": [round(x, 2), round(y, 2), round(base, 2)]})  # fmt: skip


def _debris(stage: Any, name: str, shot: Shot, view: _View, first: int, last: int, fps: float,
            clear: float, side: float) -> Element:  # fmt: skip
    """Chunks of concrete tumbling down through the frame, one after another, all through the
    shot (a camera looking up never sees them land, so each falls from above the frame)."""
    Gf, _, _, UsdGeom = pxr()
    x, y, _h = view.airborne(10.0, clear, side, up=0.0)
    d = math.hypot(x - view.x, y - view.y)
    top = min(view.ceiling, view.height + d * math.tan(math.radians(view.tilt + 0.6 * view.vfov)))  # above the frame
    mid = view.height + d * math.tan(math.radians(view.tilt))
    path = f"/World/Elements/{name}"
    UsdGeom.Xform.Define(stage, path)
    rng = random.Random(name)
    count = 12
    span = max(last - first, round(0.5 * fps))
    fall = math.sqrt(2 * max(top, 1.0) / 9.81)
    step = max(1, round(fps / 12))
    end = last + round(fall * fps)
    for i in range(count):
        size = rng.uniform(0.8, 2.2)
        ox, oy = rng.uniform(-5, 5), rng.uniform(-3, 3)
        if i < count // 3:  # the first few already in the frame, between its middle and its top
            at = mid + (top - mid) * (i + 1) / (count // 3 + 1)
            start = first - round(math.sqrt(2 * (top + size - at) / 9.81) * fps)
        else:  # the rest fall in through the shot, the last ones at its end
            start = first + round((i / (count - 1)) * span) - round(rng.uniform(0.2, 0.6) * fps)
        chunk = box(stage, f"{path}/chunk_{i:02d}", plan_to_world(x + ox, y + oy, top + size),
                    (size, size * 0.6, size * 0.8), CONCRETE)  # fmt: skip
        xf = UsdGeom.Xformable(chunk.GetPrim())
        translate = xf.GetOrderedXformOps()[0]
        spin = xf.AddRotateXYZOp()
        spin.Set(Gf.Vec3f(0, 0, 0))
        rate = [rng.uniform(-300, 300) for _ in range(3)]
        landed_at = math.sqrt(2 * (top + size - size * 0.3) / 9.81)
        translate.Set(Gf.Vec3d(*plan_to_world(x + ox, y + oy, top + size)), start - 1)
        for frame in range(start, start + round((landed_at + 0.2) * fps) + step, step):
            t = max(0.0, (frame - start) / fps)
            hh = max(size * 0.3, top + size - 0.5 * 9.81 * t * t)
            translate.Set(Gf.Vec3d(*plan_to_world(x + ox * (1 + 0.2 * t), y + oy, hh)), frame)
            spin.Set(Gf.Vec3f(*(r * min(t, landed_at) for r in rate)), frame)
    return Element(name, "destruction", (shot.id,), first, end,
                   {"chunks": count, "at": [round(x, 2), round(y, 2), round(top, 2)]})  # fmt: skip


def _crash(stage: Any, name: str, shot: Shot, view: _View, first: int, fps: float, clear: float,
           side: float) -> Element:  # fmt: skip
    """A car thrown across the frame by the blast: from mid-frame it arcs over, rolling once,
    and lands on its roof."""
    Gf, _, _, UsdGeom = pxr()
    x, y, h = view.airborne(4.5, max(clear, 12.0), side, up=-0.1)
    a = math.radians(view.pan)
    across = (math.sin(a), -math.cos(a))  # the frame's left to right on the plan
    path = f"/World/Elements/{name}"
    root = UsdGeom.Xform.Define(stage, path)
    move = root.AddTranslateOp()
    roll = root.AddRotateXYZOp()
    root.AddRotateYOp().Set(float(view.pan))  # broadside to the camera
    shown = root.AddScaleOp()  # not there before the blast throws it in
    shown.Set(Gf.Vec3f(0.001, 0.001, 0.001), first - 1)
    shown.Set(Gf.Vec3f(1.0, 1.0, 1.0), first)
    # about its own middle, so it rolls over rather than through the road
    box(stage, f"{path}/body", (0.0, -0.2, 0.0), (4.3, 0.8, 1.8), (0.75, 0.6, 0.15))
    box(stage, f"{path}/cabin", (0.2, 0.45, 0.0), (2.2, 0.55, 1.6), (0.75, 0.6, 0.15))
    length = round(1.6 * fps)
    for k in range(0, length + 1, max(1, round(fps / 12))):
        t = k / length
        slide = 6.0 * (1 - (1 - t) ** 2)  # thrown, slowing down
        lift = max(0.0, h - 0.75) * (1 - t * t) + 1.5 * math.sin(math.pi * t)  # up a little, then down
        px, py = x + across[0] * (slide - 3.0), y + across[1] * (slide - 3.0)
        move.Set(Gf.Vec3d(*plan_to_world(px, py, 0.75 + max(0.0, lift))), first + k)
        roll.Set(Gf.Vec3f(180.0 * min(1.0, t * 1.3), 0.0, 0.0), first + k)
    return Element(name, "crash", (shot.id,), first, first + length,
                   {"at": [round(x, 2), round(y, 2)]})  # fmt: skip


def _skyline(stage: Any, name: str, shot: Shot, view: _View) -> Element:
    """The city beyond the set: a band of towers with lit windows, far along the camera's look."""
    _, _, _, UsdGeom = pxr()
    path = f"/World/Elements/{name}"
    UsdGeom.Xform.Define(stage, path)
    rng = random.Random(name)
    spread = math.radians(view.vfov * 1.6)
    for i in range(24):
        d = rng.uniform(180.0, 420.0)
        a = math.radians(view.pan) + rng.uniform(-spread, spread)
        x, y = view.x + d * math.cos(a), view.y + d * math.sin(a)
        height = 25.0 + rng.random() ** 2 * 110.0
        span = rng.uniform(14.0, 30.0)
        shade = rng.uniform(0.35, 0.55)
        box(stage, f"{path}/tower_{i:02d}", plan_to_world(x, y, height / 2), (span, height, span),
            (shade, shade, shade * 1.05), kind="windows", yaw=rng.uniform(0, 90))  # fmt: skip
    return Element(name, "set_extension", (shot.id,), FIRST_FRAME, FIRST_FRAME, {"towers": 24})


def _creature(stage: Any, name: str, shot: Shot, view: _View, clear: float) -> Element:
    x, y = view.along(max(6.0, clear, view.standing_distance(4.0, fill=0.2)))
    path = f"/World/Elements/{name}"
    cone(stage, path, plan_to_world(x, y, 0.0), 1.2, 4.0, (0.15, 0.18, 0.22), cylinder=True)
    return Element(name, "creature", (shot.id,), FIRST_FRAME, FIRST_FRAME, {"height_m": 4.0})


__all__ = ["Element", "collapse_start", "collapse_timing", "stage_elements"]
