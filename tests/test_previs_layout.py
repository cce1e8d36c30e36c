"""USD layout of the plan: valid stages, real cameras, and camera maths that agree.

The projection test is the contract the renderer will be held to: a point's
pixel from our camera maths equals the one USD's own camera (GfFrustum) gives.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

pxr = pytest.importorskip("pxr")
from pxr import Gf, Usd, UsdGeom  # noqa: E402

from moviola.plan import CAMERAS, build_plan, shots_from_plan  # noqa: E402
from moviola.previs import (  # noqa: E402
    FIRST_FRAME,
    build_scene_stage,
    project_point,
    shot_timings,
    validate_stage,
)
from moviola.script import build_breakdown, read_screenplay  # noqa: E402

NEVADA = Path(__file__).resolve().parent.parent / "examples" / "nevada" / "nevada.fountain"


@pytest.fixture(scope="module")
def plan() -> dict[str, Any]:
    doc, _ = build_plan(build_breakdown(read_screenplay(NEVADA)))
    return doc


def stage_for(plan: dict[str, Any], number: str, path: Path | None = None) -> Any:
    scene = next(s for s in plan["scenes"] if s["number"] == number)
    shots = [s for s in shots_from_plan(plan) if s.scene == number]
    return build_scene_stage(scene, shots, float(plan["settings"]["fps"]), path), scene, shots


def test_every_scene_stage_passes_usd_validation(plan: dict[str, Any]) -> None:
    for scene in plan["scenes"]:
        stage, _, _ = stage_for(plan, scene["number"])
        assert validate_stage(stage) == [], scene["number"]


def test_a_stage_reopens_with_units_axis_default_prim_and_frames(
    plan: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "scene-11.usda"
    stage, _scene, shots = stage_for(plan, "11", path)
    stage.GetRootLayer().Save()
    again = Usd.Stage.Open(str(path))
    assert UsdGeom.GetStageMetersPerUnit(again) == 1.0
    assert UsdGeom.GetStageUpAxis(again) == UsdGeom.Tokens.y
    assert again.GetDefaultPrim().GetPath() == "/World"
    assert again.GetStartTimeCode() == FIRST_FRAME
    cams = [UsdGeom.Camera(p) for p in again.Traverse() if p.IsA(UsdGeom.Camera)]
    assert len(cams) == len(shots)
    by_id = {c.GetPrim().GetCustomDataByKey("moviola:shot"): c for c in cams}
    for shot in shots:
        cam = by_id[shot.id]
        w, h = CAMERAS[shot.camera.body].used(shot.camera.aspect)
        # USD's lens units are tenths of a scene unit: a 25 mm lens is 0.25 in a metre stage
        mm = 100.0 * UsdGeom.GetStageMetersPerUnit(again)
        assert cam.GetFocalLengthAttr().Get() * mm == pytest.approx(shot.lens_mm, abs=1e-4)
        assert cam.GetHorizontalApertureAttr().Get() * mm == pytest.approx(w, abs=1e-3)
        assert cam.GetVerticalApertureAttr().Get() * mm == pytest.approx(h, abs=1e-3)
        fov = cam.GetCamera().GetFieldOfView(Gf.Camera.FOVHorizontal)  # degrees
        assert fov == pytest.approx(math.degrees(2 * math.atan(w / (2 * shot.lens_mm))), abs=1e-3)
    people = [p for p in again.GetPrimAtPath("/World/Characters").GetChildren()]
    assert {p.GetName() for p in people} >= {"OFELIA", "RAMIRO"}


def test_moving_cameras_are_time_sampled(plan: dict[str, Any]) -> None:
    moving = [s for s in shots_from_plan(plan) if s.camera.end]
    assert moving, "the example has camera moves (cranes on establishing shots)"
    shot = moving[0]
    stage, scene, _ = stage_for(plan, shot.scene)
    prim = next(p for p in stage.Traverse() if p.GetCustomDataByKey("moviola:shot") == shot.id)
    translate = UsdGeom.Xformable(prim).GetOrderedXformOps()[0]
    times = translate.GetTimeSamples()
    timing = shot_timings(scene, float(plan["settings"]["fps"]))[shot.id]
    assert len(times) == 2 and times[0] == timing.start and times[0] >= FIRST_FRAME


def test_the_camera_looks_where_the_plan_says(plan: dict[str, Any]) -> None:
    stage, _, shots = stage_for(plan, "6")
    for shot in shots:
        prim = next(p for p in stage.Traverse() if p.GetCustomDataByKey("moviola:shot") == shot.id)
        frame = prim.GetCustomDataByKey("moviola:frames")[0]
        m = UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(Usd.TimeCode(frame))
        forward = m.TransformDir(Gf.Vec3d(0, 0, -1)).GetNormalized()
        pan, tilt = math.radians(shot.camera.pan), math.radians(shot.camera.tilt)
        expected = Gf.Vec3d(math.cos(pan) * math.cos(tilt), math.sin(tilt),
                            -math.sin(pan) * math.cos(tilt))  # fmt: skip
        assert (forward - expected).GetLength() < 1e-6, shot.id


def test_our_projection_agrees_with_usds_camera_to_a_pixel(plan: dict[str, Any]) -> None:
    width, height = 1920, round(1920 / 2.39)
    checked = 0
    for number in ("2", "6", "11"):
        stage, scene, shots = stage_for(plan, number)
        people = {c["name"]: c for c in scene["blocking"]["characters"]}
        for shot in shots:
            prim = next(
                p for p in stage.Traverse() if p.GetCustomDataByKey("moviola:shot") == shot.id
            )
            frame = prim.GetCustomDataByKey("moviola:frames")[0]
            gf_camera = UsdGeom.Camera(prim).GetCamera(Usd.TimeCode(frame))
            frustum = gf_camera.frustum
            view, proj = frustum.ComputeViewMatrix(), frustum.ComputeProjectionMatrix()
            for person in people.values():
                mark = person["marks"][0]
                point = (mark["x"], mark["y"], person["height"] * 0.93)
                ours = project_point(shot, point, width, height)
                world = Gf.Vec3d(mark["x"], point[2], -mark["y"])
                clip = proj.Transform(view.Transform(world))
                eye = view.Transform(world)
                if eye[2] >= 0:
                    assert ours is None
                    continue
                usd_px = ((clip[0] + 1) / 2 * width, (1 - clip[1]) / 2 * height)
                assert ours is not None
                assert abs(ours[0] - usd_px[0]) < 1.0 and abs(ours[1] - usd_px[1]) < 1.0, shot.id
                checked += 1
    assert checked > 20


def test_action_lines_set_poses_for_the_named_character() -> None:
    from moviola.previs._poses import pose_cues

    beats = [
        {"kind": "action", "text": "MARA sits at the table. JONAS leans on the fridge."},
        {"kind": "dialogue", "text": "I sit here.", "character": "MARA"},
        {"kind": "action", "text": "Jonas points at the window. Mara stands."},
        {"kind": "action", "text": "She runs."},  # no name: no guess
        {"kind": "action", "text": "Jonas collapses onto the floor, Mara beside him."},
    ]
    assert pose_cues(beats, ["MARA", "JONAS"]) == {
        "MARA": [(0, "sit"), (2, "stand")],
        "JONAS": [(2, "point"), (4, "fall")],
    }


def test_a_seated_character_sits_on_a_seat_at_the_table() -> None:
    from moviola.plan import Camera, Shot

    scene = {
        "number": "1", "heading": "INT. KITCHEN - NIGHT",
        "blocking": {"kind": "room", "width": 5.0, "depth": 4.0, "door": [-2.0, -2.0],
                     "characters": [
                         {"name": "MARA", "height": 1.7, "marks": [{"beat": 0, "x": -0.75, "y": 0.3, "facing": 0.0}]},
                         {"name": "JONAS", "height": 1.8, "marks": [{"beat": 0, "x": 0.75, "y": 0.3, "facing": 180.0}]}],
                     "line": ["MARA", "JONAS"], "camera_side": -1.0},
        "edit": [{"shot": "1", "beat": 0, "duration_s": 3.0}],
    }  # fmt: skip
    shot = Shot("1", "1", "WS", "eye level", "static", 24.0,
                Camera("alexa35", 0.0, -3.0, 1.6, 90.0))  # fmt: skip
    beats = [{"kind": "action", "text": "MARA sits at the table. JONAS leans on the fridge."}]
    stage = build_scene_stage(scene, [shot], 24.0, beats=beats)
    assert validate_stage(stage) == []

    def height(path: str) -> float:
        prim = stage.GetPrimAtPath(path)
        return float(UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(1001 + 10)[3][1])

    assert height("/World/Characters/MARA/pelvis") < 0.6  # seated
    assert height("/World/Characters/JONAS/pelvis") > 0.9  # standing
    seat = stage.GetPrimAtPath("/World/Props/seat_MARA")
    table = stage.GetPrimAtPath("/World/Props/table")
    assert seat and table
    seat_at = UsdGeom.Xformable(seat).ComputeLocalToWorldTransform(1001)[3]
    assert (seat_at[0], -seat_at[2]) == pytest.approx((-0.75, 0.3), abs=1e-6)
    table_at = UsdGeom.Xformable(table).ComputeLocalToWorldTransform(1001)[3]
    assert (table_at[0], -table_at[2]) == pytest.approx((0.0, 0.3), abs=1e-6)
