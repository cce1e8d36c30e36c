"""USD layout of a scene: the set proxy, mannequins and one camera per shot.

Conventions: metres (``metersPerUnit = 1``), Y up, a ``/World`` default
prim, the scene's cut on a timeline that starts at frame 1001. The plan's
floor (x right, y up the page) maps to USD X and -Z; heights go to Y.
A shot's camera looks down its local -Z (USD's camera convention), so a pan of
θ degrees on the plan is a rotation of θ - 90 about Y; tilt is about X and a
dutch angle about Z. Focal length and apertures are the used filmback (crop
rule applied) in USD's lens units: tenths of a scene unit, so in a metre stage
25 mm is written 0.25 (what Blender's and every other importer reads as 25 mm).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..plan import CAMERAS, Shot
from ..plan._audit import blocking_from_json
from ..script import parse_heading
from ._crowds import stage_crowds
from ._elements import Element, stage_elements
from ._poses import pose_cues
from ._prims import box as _box
from ._prims import plan_to_world
from ._prims import pxr as _pxr
from ._prims import safe as _safe
from ._props import Prop, insert_props, place_props
from ._sets import stage_set
from ._staging import Staging
from ._weather import stage_weather

FIRST_FRAME = 1001
#: Mannequin colours, one per character in order (they tell people apart at a glance).
COLOURS = (
    (0.84, 0.25, 0.22), (0.20, 0.45, 0.80), (0.25, 0.65, 0.30), (0.58, 0.40, 0.74),
    (0.95, 0.55, 0.15), (0.55, 0.35, 0.28), (0.89, 0.47, 0.76), (0.10, 0.75, 0.80),
)  # fmt: skip
#: Joint angles (degrees) of the mannequin's poses: hips, knees, shoulders, elbows, lean.
#: Hips and shoulders swing forward for positive angles, knees and elbows bend; ``pelvis``
#: is the pelvis height in metres (for a 1.75 m mannequin), ``lean`` tips the body forward.
POSES: dict[str, dict[str, float]] = {
    "stand": {"hip": 0, "knee": 0, "shoulder": -8, "elbow": 10, "lean": 0, "pelvis": 0.95},
    "sit": {"hip": 90, "knee": 90, "shoulder": 15, "elbow": 45, "lean": -5, "pelvis": 0.5},
    "walk": {"hip": 0, "knee": 10, "shoulder": -5, "elbow": 20, "lean": 3, "pelvis": 0.94},
    "run": {"hip": 10, "knee": 50, "shoulder": 0, "elbow": 90, "lean": 14, "pelvis": 0.9},
    "point": {"hip": 0, "knee": 0, "shoulder": 85, "elbow": 0, "lean": 0, "pelvis": 0.95},
    "fall": {"hip": 20, "knee": 30, "shoulder": 150, "elbow": 20, "lean": 85, "pelvis": 0.22},
}
POSE_CHANGE_FRAMES = 8  # how long a change of pose takes


def lens_units(mm: float, meters_per_unit: float = 1.0) -> float:
    """Millimetres as UsdGeomCamera's lens units (tenths of a scene unit)."""
    return mm / (100.0 * meters_per_unit)


def lens_mm(units: float, meters_per_unit: float = 1.0) -> float:
    """UsdGeomCamera lens units back to millimetres, to float precision (0.21 is 21.0 mm)."""
    import numpy as np

    return float(str(np.float32(float(units) * 100.0 * meters_per_unit)))


def camera_rotation(pan: float, tilt: float, roll: float) -> tuple[float, float, float]:
    """(rotateY, rotateX, rotateZ) in degrees for a plan pan/tilt/roll."""
    return (pan - 90.0, tilt, roll)


@dataclass(frozen=True)
class ShotTiming:
    start: int  # first frame of the shot in the scene's cut
    end: int  # last frame


def shot_timings(scene: dict[str, Any], fps: float) -> dict[str, ShotTiming]:
    """Frames each shot spans in the scene's cut (first use to last)."""
    frame = float(FIRST_FRAME)
    spans: dict[str, list[float]] = {}
    for item in scene.get("edit", []):
        start, frame = frame, frame + float(item["duration_s"]) * fps
        span = spans.setdefault(item["shot"], [start, frame])
        span[1] = frame
    return {k: ShotTiming(round(a), max(round(a), round(b) - 1)) for k, (a, b) in spans.items()}


def beat_frames(scene: dict[str, Any], fps: float) -> dict[int, int]:
    """The first frame of each beat in the cut."""
    frame = float(FIRST_FRAME)
    out: dict[int, int] = {}
    for item in scene.get("edit", []):
        out.setdefault(int(item["beat"]), round(frame))
        frame += float(item["duration_s"]) * fps
    return out


def build_scene_stage(
    scene: dict[str, Any],
    shots: list[Shot],
    fps: float,
    path: Path | None = None,
    *,
    beats: list[dict[str, Any]] | None = None,
    staging: Staging | None = None,
) -> Any:
    """A USD stage for one scene of a plan (in memory, or a new layer at ``path``).

    ``beats`` are the breakdown's beats of the scene (with their text): the action
    lines set the mannequins' poses (sits, runs, points, falls). ``staging`` is what
    the script says the scene looks like (the hour, colour words, weather, extras,
    the storeys of a tower): the set, its lights, crowds, weather and VFX elements.
    """
    _Gf, _Sdf, Usd, UsdGeom = _pxr()
    stage = Usd.Stage.CreateNew(str(path)) if path else Usd.Stage.CreateInMemory()
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    timings = shot_timings(scene, fps)
    last = max((t.end for t in timings.values()), default=FIRST_FRAME)
    stage.SetStartTimeCode(FIRST_FRAME)
    stage.SetEndTimeCode(last)
    stage.SetTimeCodesPerSecond(fps)
    stage.SetFramesPerSecond(fps)
    world = UsdGeom.Xform.Define(stage, "/World")
    stage.SetDefaultPrim(world.GetPrim())
    world.GetPrim().SetMetadata("comment", f"Scene {scene['number']}: {scene.get('heading', '')}")
    blocking = blocking_from_json(scene.get("blocking", {}))
    heading = parse_heading(str(scene.get("heading", "")))
    # What the renderer needs to light the set: inside or out, and the hour.
    world.GetPrim().SetCustomDataByKey("moviola:scene", str(scene["number"]))
    world.GetPrim().SetCustomDataByKey("moviola:int_ext", heading.int_ext or "")
    world.GetPrim().SetCustomDataByKey("moviola:time_of_day", heading.time_of_day or "")
    staging = staging or Staging()
    if staging.hour:  # the hour the breakdown resolved: a CONTINUOUS scene stays as dark
        world.GetPrim().SetCustomDataByKey("moviola:hour", staging.hour)
    for key, tint in (("moviola:sky_tint", staging.sky_tint), ("moviola:light_tint", staging.light_tint)):
        if tint is not None:
            world.GetPrim().SetCustomDataByKey(key, _Gf.Vec3f(*tint))
    hour = (staging.hour or heading.time_of_day or "").upper()
    night = any(w in hour for w in ("NIGHT", "DUSK", "EVENING", "NOCHE", "MIDNIGHT", "SUNSET"))
    texts = [str(b.get("text", "")) for b in beats or [] if b.get("kind") == "action"]
    looks_up = any(s.camera.tilt > 8.0 or s.angle == "low" for s in shots)
    built = stage_set(stage, blocking, str(scene.get("heading", "")), texts, night=night,
                      looks_up=looks_up, ground=staging.ground)  # fmt: skip
    world.GetPrim().SetCustomDataByKey("moviola:set_kind", built.kind)
    frames = beat_frames(scene, fps)
    cues = pose_cues(beats or [], list(blocking.people))
    if blocking.kind in ("vehicle", "bus"):  # passengers and drivers sit from the start
        for name in blocking.people:
            cues[name] = [(0, "sit")] + [c for c in cues.get(name, []) if c[1] != "sit"]
    UsdGeom.Xform.Define(stage, "/World/Characters")
    for i, (name, person) in enumerate(blocking.people.items()):
        timeline = [(frames.get(b, FIRST_FRAME), pose) for b, pose in cues.get(name, [])]
        _mannequin(stage, f"/World/Characters/{_safe(name)}", person, COLOURS[i % len(COLOURS)],
                   frames, fps, timeline)  # fmt: skip
    props = place_props(blocking, beats or [], cues) + insert_props(shots)
    if props:
        UsdGeom.Xform.Define(stage, "/World/Props")
    for prop in props:
        _prop(stage, f"/World/Props/{_safe(prop.name)}", prop)
    keep_clear = [(m.x, m.y) for p in blocking.people.values() for m in p.marks]
    keep_clear += [(s.camera.x, s.camera.y) for s in shots]
    crowds = stage_crowds(stage, staging.crowds, built.kind, built.slots, blocking, keep_clear, last, fps)
    weather = stage_weather(stage, staging.weather, shots, fps, last)
    elements = stage_elements(stage, scene, shots, fps, staging, timings, frames, beats or [], last)
    if crowds or weather or elements:
        world.GetPrim().SetCustomDataByKey("moviola:staged", json.dumps({
            "set": built.kind,
            "elements": [{"name": e.name, "kind": e.kind, "shots": list(e.shots), "first": e.first,
                          "last": e.last, **e.detail} for e in elements],
            "crowds": [{"name": c.name, "count": c.count, "asked": c.asked, "where": c.where} for c in crowds],
            "weather": [{"name": w.name, "columns": w.columns, "flakes": w.flakes} for w in weather],
        }, sort_keys=True))  # fmt: skip
    UsdGeom.Xform.Define(stage, "/World/Cameras")
    for shot in shots:
        timing = timings.get(shot.id, ShotTiming(FIRST_FRAME, FIRST_FRAME))
        ident = "".join(ch if ch.isalnum() else "_" for ch in shot.id)
        cam = _camera(stage, f"/World/Cameras/shot_{ident}", shot, timing)
        subjects = shot_subjects(shot, elements, [c.name for c in crowds], [w.name for w in weather])
        if subjects:  # what the shot is of besides its characters: the checks look for them
            from pxr import Vt

            cam.GetPrim().SetCustomDataByKey("moviola:subjects", Vt.StringArray(subjects))
    return stage


def shot_subjects(shot: Shot, elements: list[Element], crowds: list[str], weather: list[str]) -> list[str]:
    """The staged objects a shot is of: its VFX element, the crowd of a crowd shot, the weather."""
    out = []
    for e in elements:
        if shot.id in e.shots and e.kind not in ("dust", "crash"):  # the thrown car is extra
            # a collapse shot is of the tower, and then of what is left of it: its dust
            dust = [d.name for d in elements if d.kind == "dust" and shot.id in d.shots]
            out.append("|".join([e.name, *dust]) if e.kind == "collapse" else e.name)
    if shot.vfx_kind == "crowd" or shot.purpose == "crowd":
        out += crowds[:1]
    if shot.vfx_kind == "weather":
        out += weather[:1]
    return out


def _prop(stage: Any, path: str, prop: Prop) -> None:
    """A prop as a block standing on the ground, turned to its yaw."""
    w, h, d = prop.size
    centre = plan_to_world(prop.centre[0], prop.centre[1], prop.base + h / 2)
    cube = _box(stage, path, centre, (w, h, d), prop.colour, yaw=prop.yaw)
    cube.GetPrim().SetCustomDataByKey("moviola:prop", prop.kind)


WALK_SPEED = 1.4  # metres per second, an unhurried walk
STRIDE_S = 1.05  # one full gait cycle


@dataclass(frozen=True)
class Walk:
    start: int  # frame the character sets off
    end: int  # frame they arrive


def _angle_near(angle: float, ref: float) -> float:
    """``angle`` plus whole turns, so interpolating from ``ref`` takes the short way."""
    return ref + (angle - ref + 180.0) % 360.0 - 180.0


def _mannequin(stage: Any, path: str, person: Any, colour: tuple[float, float, float],
               frames: dict[int, int], fps: float,
               timeline: list[tuple[int, str]] | None = None) -> None:  # fmt: skip
    """An articulated stand-in: pelvis, spine, head, arms and legs as joints.

    A character holds each mark until its beat, then walks to the next one at
    a walking pace (turning to face the way they go), legs and arms swinging.
    ``timeline`` lists (frame, pose) changes; each change takes a few frames.
    """
    Gf, _, _, UsdGeom = _pxr()
    root = UsdGeom.Xform.Define(stage, path)
    translate = root.AddTranslateOp()
    rotate = root.AddRotateYOp()
    walks: list[Walk] = []
    marks = sorted(person.marks, key=lambda m: m.beat)
    prev = None
    yaw = 0.0
    for n, mark in enumerate(marks):
        frame = frames.get(mark.beat, FIRST_FRAME)
        pos = plan_to_world(mark.x, mark.y)
        if prev is None:
            yaw = mark.facing - 90.0  # the mannequin faces its local -Z
            translate.Set(Gf.Vec3d(*pos), frame)
            rotate.Set(yaw, frame)
            prev = (pos, frame)
            continue
        last_pos, last_frame = prev
        start = max(frame, last_frame + 1)
        dist = math.dist(last_pos, pos)
        if dist < 0.05:
            continue
        following = [frames.get(m.beat, start) for m in marks[n + 1 :]]
        limit = min([f for f in following if f > start] or [start + 10_000]) - 1
        end = max(start + 4, min(limit, start + round(dist / WALK_SPEED * fps)))
        travel = math.degrees(math.atan2(-(pos[2] - last_pos[2]), pos[0] - last_pos[0])) - 90.0
        travel = _angle_near(travel, yaw)
        turn = min(8, (end - start) // 3)
        translate.Set(Gf.Vec3d(*last_pos), start)
        rotate.Set(yaw, start)
        rotate.Set(travel, start + turn)
        rotate.Set(travel, end - turn)
        translate.Set(Gf.Vec3d(*pos), end)
        yaw = _angle_near(mark.facing - 90.0, travel)
        rotate.Set(yaw, end)
        walks.append(Walk(start, end))
        prev = (pos, end)
    k = person.height / 1.75
    root.AddScaleOp().Set(Gf.Vec3f(k, k, k))
    poses = _PoseTrack(timeline or [], walks, fps)
    pelvis = UsdGeom.Xform.Define(stage, f"{path}/pelvis")
    poses.animate(pelvis.AddTranslateOp(), "pelvis", translate=True)
    poses.animate(pelvis.AddRotateXOp(), "lean", sign=-1.0)
    _limb(stage, f"{path}/pelvis/torso", (0, 0.28, 0), 0.17, 0.5, colour)
    neck = UsdGeom.Xform.Define(stage, f"{path}/pelvis/neck")
    neck.AddTranslateOp().Set(Gf.Vec3d(0, 0.68, 0))
    head = UsdGeom.Sphere.Define(stage, f"{path}/pelvis/neck/head")
    head.CreateRadiusAttr(0.11)
    head.CreateDisplayColorAttr([Gf.Vec3f(*colour)])
    head.CreateExtentAttr([Gf.Vec3f(-0.11, -0.11, -0.11), Gf.Vec3f(0.11, 0.11, 0.11)])
    nose = f"{path}/pelvis/neck/nose"  # shows which way the face points
    _box(stage, nose, (0, 0, -0.11), (0.03, 0.03, 0.05), (0.1, 0.1, 0.1))
    for side, x in (("l", -1), ("r", 1)):
        shoulder = UsdGeom.Xform.Define(stage, f"{path}/pelvis/shoulder_{side}")
        shoulder.AddTranslateOp().Set(Gf.Vec3d(0.21 * x, 0.5, 0))
        # Only the right arm points; arms swing opposite to their legs.
        poses.animate(shoulder.AddRotateXOp(), "shoulder", swing=x * 22.0,
                      pointing_arm=x > 0)  # fmt: skip
        _limb(stage, f"{path}/pelvis/shoulder_{side}/upper", (0, -0.15, 0), 0.05, 0.28, colour)
        elbow = UsdGeom.Xform.Define(stage, f"{path}/pelvis/shoulder_{side}/elbow")
        elbow.AddTranslateOp().Set(Gf.Vec3d(0, -0.3, 0))
        poses.animate(elbow.AddRotateXOp(), "elbow", pointing_arm=x > 0)
        _limb(
            stage, f"{path}/pelvis/shoulder_{side}/elbow/lower", (0, -0.14, 0), 0.045, 0.26, colour
        )
        hip = UsdGeom.Xform.Define(stage, f"{path}/pelvis/hip_{side}")
        hip.AddTranslateOp().Set(Gf.Vec3d(0.1 * x, -0.02, 0))
        poses.animate(hip.AddRotateXOp(), "hip", swing=-x * 28.0)
        _limb(stage, f"{path}/pelvis/hip_{side}/thigh", (0, -0.22, 0), 0.07, 0.42, colour)
        knee = UsdGeom.Xform.Define(stage, f"{path}/pelvis/hip_{side}/knee")
        knee.AddTranslateOp().Set(Gf.Vec3d(0, -0.45, 0))
        poses.animate(knee.AddRotateXOp(), "knee", sign=-1.0)
        _limb(stage, f"{path}/pelvis/hip_{side}/knee/shin", (0, -0.22, 0), 0.055, 0.42, colour)


class _PoseTrack:
    """Joint angles over time: poses from the action, a pendulum swing while walking.

    Angles follow the sign convention of :data:`POSES`: hips and shoulders forward,
    knees and elbows bent, ``lean`` forward; ``sign`` maps it onto USD's rotateX.
    """

    def __init__(self, timeline: list[tuple[int, str]], walks: list[Walk], fps: float) -> None:
        self.changes = sorted(timeline)
        self.walks = walks
        self.fps = fps

    def _pose_value(self, joint: str, frame: float, pointing_arm: bool) -> float:
        value = POSES["stand"][joint]
        for start, pose in self.changes:
            if frame <= start:
                break
            target = POSES[pose][joint] if (pointing_arm or pose != "point") else POSES["stand"][joint]
            t = min(1.0, (frame - start) / POSE_CHANGE_FRAMES)
            value = value + (target - value) * t
        return value

    def _swing(self, frame: float) -> float:
        for walk in self.walks:
            if walk.start < frame < walk.end:
                return math.sin(2 * math.pi * (frame - walk.start) / (STRIDE_S * self.fps))
        return 0.0

    def animate(self, op: Any, joint: str, *, sign: float = 1.0, swing: float = 0.0,
                translate: bool = False, pointing_arm: bool = True) -> None:  # fmt: skip
        """Author the joint's value, time-sampled only when it changes."""
        Gf = _pxr()[0]

        def value(frame: float) -> Any:
            v = sign * self._pose_value(joint, frame, pointing_arm) + swing * self._swing(frame)
            return Gf.Vec3d(0, v, 0) if translate else v

        keys: set[int] = set()
        for start, _ in self.changes:
            keys |= {start, start + POSE_CHANGE_FRAMES // 2, start + POSE_CHANGE_FRAMES}
        if swing:
            step = max(1, round(self.fps / 8))
            for walk in self.walks:
                keys |= {walk.start, walk.end, *range(walk.start + step, walk.end, step)}
        op.Set(value(FIRST_FRAME))  # the default, for tools that ignore time
        if keys:
            for frame in sorted(keys | {FIRST_FRAME}):
                op.Set(value(frame), frame)


def _limb(stage: Any, path: str, offset: tuple[float, float, float], radius: float, height: float,
          colour: tuple[float, float, float]) -> None:  # fmt: skip
    Gf, _, _, UsdGeom = _pxr()
    cap = UsdGeom.Capsule.Define(stage, path)
    cap.CreateAxisAttr(UsdGeom.Tokens.y)
    cap.CreateRadiusAttr(radius)
    cap.CreateHeightAttr(max(0.01, height - 2 * radius))
    cap.AddTranslateOp().Set(Gf.Vec3d(*offset))
    cap.CreateDisplayColorAttr([Gf.Vec3f(*colour)])
    half = height / 2
    cap.CreateExtentAttr([Gf.Vec3f(-radius, -half, -radius), Gf.Vec3f(radius, half, radius)])


def _camera(stage: Any, path: str, shot: Shot, timing: ShotTiming) -> Any:
    Gf, _Sdf, _, UsdGeom = _pxr()
    cam = UsdGeom.Camera.Define(stage, path)
    body = CAMERAS[shot.camera.body]
    w, h = body.used(shot.camera.aspect)
    cam.CreateFocalLengthAttr(lens_units(float(shot.lens_mm)))
    cam.CreateHorizontalApertureAttr(lens_units(float(w)))
    cam.CreateVerticalApertureAttr(lens_units(float(h)))
    cam.CreateClippingRangeAttr(Gf.Vec2f(0.05, 5000.0))
    cam.CreateProjectionAttr(UsdGeom.Tokens.perspective)
    translate = cam.AddTranslateOp()
    ry, rx, rz = cam.AddRotateYOp(), cam.AddRotateXOp(), cam.AddRotateZOp()
    c = shot.camera
    poses = [(timing.start, c.x, c.y, c.height, c.pan, c.tilt)]
    if c.end:
        poses.append((max(timing.end, timing.start + 1), c.end.get("x", c.x), c.end.get("y", c.y),
                      c.end.get("height", c.height), c.end.get("pan", c.pan),
                      c.end.get("tilt", c.tilt)))  # fmt: skip
    for frame, x, y, height, pan, tilt in poses:
        yaw, pitch, roll = camera_rotation(pan, tilt, c.roll)
        translate.Set(Gf.Vec3d(*plan_to_world(x, y, height)), frame)
        ry.Set(yaw, frame)
        rx.Set(pitch, frame)
        rz.Set(roll, frame)
    prim = cam.GetPrim()
    prim.SetCustomDataByKey("moviola:shot", shot.id)
    prim.SetCustomDataByKey("moviola:size", shot.size)
    prim.SetCustomDataByKey("moviola:frames", Gf.Vec2i(timing.start, timing.end))
    prim.SetMetadata("documentation", shot.description)
    return cam


def validate_stage(stage: Any) -> list[str]:
    """Errors from every validator USD registers (what usdchecker runs)."""
    from pxr import UsdValidation

    registry = UsdValidation.ValidationRegistry()
    context = UsdValidation.ValidationContext(registry.GetOrLoadAllValidators())
    return [
        f"{e.GetIdentifier()}: {e.GetMessage()}"
        for e in context.Validate(stage)
        if e.GetType() == UsdValidation.ValidationErrorType.Error
    ]


def project_point(shot: Shot, point: tuple[float, float, float], width: int, height: int
                  ) -> tuple[float, float] | None:  # fmt: skip
    """Where a plan point (x, y, height) lands in a width x height frame of ``shot``.

    The camera maths the renderer must agree with: pinhole, the used filmback,
    pixel (0, 0) at the top left. None when the point is behind the camera.
    """
    c = shot.camera
    body = CAMERAS[c.body]
    w_mm, h_mm = body.used(c.aspect)
    px, py, pz = plan_to_world(point[0], point[1], point[2])
    cx, cy, cz = plan_to_world(c.x, c.y, c.height)
    d = (px - cx, py - cy, pz - cz)
    yaw, pitch, roll = (math.radians(a) for a in camera_rotation(c.pan, c.tilt, c.roll))
    # Inverse of Ry(yaw)·Rx(pitch)·Rz(roll): apply Ry(-yaw), then Rx(-pitch), then Rz(-roll).
    x, y, z = d
    x, z = x * math.cos(-yaw) + z * math.sin(-yaw), -x * math.sin(-yaw) + z * math.cos(-yaw)
    y, z = y * math.cos(-pitch) - z * math.sin(-pitch), y * math.sin(-pitch) + z * math.cos(-pitch)
    x, y = x * math.cos(-roll) - y * math.sin(-roll), x * math.sin(-roll) + y * math.cos(-roll)
    if z >= -1e-6:
        return None
    f = float(shot.lens_mm)
    sx = (f * x / -z) / w_mm  # -0.5 .. 0.5 across the filmback
    sy = (f * y / -z) / h_mm
    return ((sx + 0.5) * width, (0.5 - sy) * height)
