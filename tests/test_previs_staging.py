"""The previs shows what the script says: night stays night, the tower stands and falls,
the stadium is full, the snow falls, and every shot's subject is on screen.

Everything runs on the bundled screenplay through the real breakdown, plan and
layout, and the pictures through the real renderer (llvmpipe here).
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

pxr = pytest.importorskip("pxr")
from pxr import Usd, UsdGeom  # noqa: E402

from moviola.core._collapse_timing import STOREY_M, CollapseTiming, collapse_duration  # noqa: E402
from moviola.plan import build_plan, shots_from_plan  # noqa: E402
from moviola.previs import build_scene_stage, validate_stage  # noqa: E402
from moviola.previs._checks import subject_findings  # noqa: E402
from moviola.previs._elements import FIRST_FRAME  # noqa: E402
from moviola.previs._render import Look, Renderer  # noqa: E402
from moviola.previs._stage_query import stage_cameras  # noqa: E402
from moviola.previs._staging import CollapseSpec, Staging, build_stagings  # noqa: E402
from moviola.script import build_breakdown, read_screenplay  # noqa: E402

NEVADA = Path(__file__).resolve().parent.parent / "examples" / "nevada" / "nevada.fountain"
FPS = 24.0


@pytest.fixture(scope="module")
def example() -> tuple[dict[str, Any], dict[str, Any], dict[str, Staging]]:
    breakdown = build_breakdown(read_screenplay(NEVADA))
    plan, _ = build_plan(breakdown)
    return breakdown, plan, build_stagings(breakdown["scenes"])


@pytest.fixture(scope="module")
def renderer() -> Any:
    r = Renderer(shadow_size=1024)
    yield r
    r.release()


def stage_of(example: Any, number: str, staging: Staging | None = None) -> tuple[Any, list[Any]]:
    breakdown, plan, stagings = example
    scene = next(s for s in plan["scenes"] if s["number"] == number)
    shots = [s for s in shots_from_plan(plan) if s.scene == number]
    beats = next(s for s in breakdown["scenes"] if s["number"] == number)["beats"]
    stage = build_scene_stage(scene, shots, FPS, beats=beats, staging=staging or stagings[number])
    return stage, shots


def seen(renderer: Any, stage: Any, shot: str, frame: float, width: int = 480) -> tuple[Any, Any]:
    """(frame with passes, the loaded scene) of ``shot`` at ``frame``."""
    scene = renderer.load(stage)
    cam = stage_cameras(stage)[shot]
    out = scene.render(cam.camera, frame, width, round(width / 2.39 / 2) * 2, passes=True)
    return out, scene


def pixels_of(out: Any, scene: Any, name: str) -> int:
    if name not in scene.objects:
        return 0
    return int(np.count_nonzero(out.ids == scene.objects.index(name) + 1))


# Light from the breakdown ---------------------------------------------------------------------


@pytest.mark.parametrize("number", ["4", "5", "6", "11", "12", "14"])
def test_scenes_headed_continuous_or_later_stay_as_dark_as_the_night_before(
    example: Any, renderer: Any, number: str
) -> None:
    stage, _ = stage_of(example, number)
    world = stage.GetPrimAtPath("/World")
    assert world.GetCustomDataByKey("moviola:hour") == "night"
    scene = renderer.load(stage)
    try:
        staging = example[2][number]
        expected = Look.for_set(str(world.GetCustomDataByKey("moviola:int_ext")), "night",
                                sky_tint=staging.sky_tint, light_tint=staging.light_tint)  # fmt: skip
        assert scene.look.light_col == pytest.approx(expected.light_col, abs=1e-6)
        assert scene.look.horizon == pytest.approx(expected.horizon, abs=1e-6)
        assert max(scene.look.light_col) < 0.3 and not scene.look.shadows  # moonlight, not sun
        assert scene.look.windows_lit > 0
    finally:
        scene.release()


def test_the_dawn_scene_is_lit_as_dawn_not_night(example: Any) -> None:
    stage, _ = stage_of(example, "15")
    assert stage.GetPrimAtPath("/World").GetCustomDataByKey("moviola:hour") == "dawn"


def test_a_night_street_is_darker_than_the_same_street_by_day_and_its_windows_are_lit(
    example: Any, renderer: Any
) -> None:
    night, _ = stage_of(example, "10")
    day, _ = stage_of(example, "10", replace(example[2]["10"], hour="day"))
    lum = {}
    for name, stage in (("night", night), ("day", day)):
        out, scene = seen(renderer, stage, "10", float(FIRST_FRAME))
        lum[name] = float(out.rgb.mean())
        facade = np.isin(out.ids, [i + 1 for i, o in enumerate(scene.objects) if o.startswith("building_")])
        warm = (out.rgb[..., 0].astype(int) - out.rgb[..., 2].astype(int) > 40) & facade
        if name == "night":  # lit windows: warm patches on the facades
            assert warm.sum() > 50
        scene.release()
    assert lum["night"] < 0.7 * lum["day"]


def test_the_scripts_copper_sky_tints_the_sky() -> None:
    plain = Look.for_set("EXT", "night")
    copper = Look.for_set("EXT", "night", sky_tint=(0.48, 0.17, 0.03))
    assert copper.horizon[0] > plain.horizon[0] and copper.horizon[0] > copper.horizon[2]


# The tower and the other VFX elements ----------------------------------------------------------


def floors(stage: Any) -> list[Any]:
    tower = stage.GetPrimAtPath("/World/Elements/tower")
    assert tower, "scene 11's collapse shot stages a tower"
    return sorted((p for p in tower.GetChildren() if p.GetName().startswith("floor_")), key=lambda p: p.GetName())


def test_the_tower_has_the_storeys_the_script_counts_and_falls_top_first(example: Any) -> None:
    stage, _ = stage_of(example, "11")
    parts = floors(stage)
    assert len(parts) == 20  # "Twentieth, nineteenth, eighteenth --"
    tower = stage.GetPrimAtPath("/World/Elements/tower")
    fails = list(tower.GetCustomDataByKey("moviola:failure_frames"))
    assert fails == sorted(fails, reverse=True)  # ground floor last
    for prim in parts:  # animated: time-sampled, so it plays and exports with the stage
        ops = UsdGeom.Xformable(prim).GetOrderedXformOps()
        assert ops[0].GetAttr().GetNumTimeSamples() > 10
    assert validate_stage(stage) == []


def test_the_collapse_starts_on_the_beat_that_says_the_tower_drops_and_takes_the_scripts_time(
    example: Any,
) -> None:
    stage, _ = stage_of(example, "11")
    tower = stage.GetPrimAtPath("/World/Elements/tower")
    fails = list(tower.GetCustomDataByKey("moviola:failure_frames"))
    _, plan, stagings = example
    scene = next(s for s in plan["scenes"] if s["number"] == "11")
    frame, drop = FIRST_FRAME, None
    for item in scene["edit"]:  # the first cut on the beat "Then the top of the tower simply drops"
        if item["beat"] == 3:
            drop = round(frame)
            break
        frame += item["duration_s"] * FPS
    assert drop is not None and abs(min(fails) - drop) <= round(0.25 * FPS)
    timing = CollapseTiming(20 * STOREY_M, 20, 0.0, stagings["11"].event_s)
    assert stagings["11"].event_s == 10.0  # "In ten seconds the tower folds into its own footprint"
    assert (max(fails) - min(fails)) / FPS == pytest.approx(max(timing.floor_failures()), abs=1.5 / FPS)


def test_a_linked_collapse_recipe_times_the_previs_tower_as_the_final_shot(example: Any) -> None:
    recipe = CollapseSpec("11A", height_m=30.0, duration_s=None, mode="pancake")
    stage, _ = stage_of(example, "11", replace(example[2]["11"], collapse=recipe))
    fails = list(stage.GetPrimAtPath("/World/Elements/tower").GetCustomDataByKey("moviola:failure_frames"))
    expected = CollapseTiming(70.0, 20, 0.0, collapse_duration(30.0, None)).floor_failures()
    assert (max(fails) - min(fails)) / FPS == pytest.approx(max(expected), abs=1.5 / FPS)


def test_previs_floors_fail_when_the_collapse_simulations_front_reaches_them() -> None:
    """The same model in both: the pymunk collapse breaks a bond once the front has passed."""
    from moviola.vfx.collapse._simulate import SimSettings, _schedule

    ppm, height, storeys = 10.0, 42.0, 12
    timing = CollapseTiming(height, storeys, 0.0, 4.0)
    span = height * ppm
    fy = 0.06 * span  # the simulation's failure point for a pancake: 6% below the top
    settings = SimSettings(fps=FPS, frames=200, start_s=0.0, mode="pancake", failure=(0.0, fy),
                           px_per_m=ppm, ground_y=span, frame_size=(100, 500), duration_s=4.0)  # fmt: skip
    for k, expected in enumerate(timing.floor_failures()):
        slab = SimpleNamespace(x=0.0, y=span - (k + 1) * height / storeys * ppm, delay=0.0)
        broken = next(t / 480 for t in range(0, 4800) if
                      _schedule(settings, t / 480, 0.0, fy, 0.0, span, STOREY_M * ppm)(slab) == 0.0)  # type: ignore[arg-type]
        assert broken == pytest.approx(expected, abs=2 / 480), k


def test_the_tower_stands_in_11a_start_frame_and_is_gone_in_its_end_frame(
    example: Any, renderer: Any
) -> None:
    stage, _ = stage_of(example, "11")
    cam = stage_cameras(stage)["11A"]
    start, scene = seen(renderer, stage, "11A", float(cam.first))
    end, _ = seen(renderer, stage, "11A", float(cam.last))
    tower_start, tower_end = pixels_of(start, scene, "tower"), pixels_of(end, scene, "tower")
    assert tower_start > 0.02 * start.ids.size
    assert tower_end < 0.2 * tower_start  # folded into its footprint
    assert pixels_of(end, scene, "tower_dust") > 0.02 * end.ids.size  # and the dust rolls out
    scene.release()


def test_each_explosion_fire_and_destruction_shot_shows_its_element(example: Any, renderer: Any) -> None:
    _, plan, _ = example
    shots = [s for s in shots_from_plan(plan) if s.vfx_kind in ("explosion", "fire", "destruction")]
    assert {s.vfx_kind for s in shots} >= {"explosion", "fire"}
    for shot in shots:
        stage, _ = stage_of(example, shot.scene)
        cam = stage_cameras(stage)[shot.id]
        element = next(iter(cam.camera.GetPrim().GetCustomDataByKey("moviola:subjects")))
        assert element.startswith(("explosion_", "fire_", "debris_"))
        out, scene = seen(renderer, stage, shot.id, float(cam.first))
        assert pixels_of(out, scene, element) > 0.002 * out.ids.size, shot.id
        scene.release()


# Sets, crowds and weather ----------------------------------------------------------------------


def test_the_stadium_is_full_forty_thousand_in_red_and_blue(example: Any, renderer: Any) -> None:
    stage, _ = stage_of(example, "3")
    assert stage.GetPrimAtPath("/World").GetCustomDataByKey("moviola:set_kind") == "stadium"
    crowd = UsdGeom.PointInstancer(stage.GetPrimAtPath("/World/Crowds/crowd_people"))
    positions = crowd.GetPositionsAttr().Get()
    assert len(positions) == 40_000  # "Forty thousand people"
    colours = np.asarray(UsdGeom.PrimvarsAPI(crowd.GetPrim()).GetPrimvar("displayColor").Get())
    reds = (colours[:, 0] > 2 * colours[:, 2]).sum()
    blues = (colours[:, 2] > 2 * colours[:, 0]).sum()
    assert reds + blues == len(colours) and min(reds, blues) > 0.3 * len(colours)
    # idling: the prototypes are animated, the 40,000 instances are not (a few keys, not millions)
    protos = crowd.GetPrototypesRel().GetTargets()
    animated = [p for p in protos if any(UsdGeom.Xformable(x).TransformMightBeTimeVarying()
                                         for x in Usd.PrimRange(stage.GetPrimAtPath(p)))]  # fmt: skip
    assert animated and not crowd.GetPositionsAttr().ValueMightBeTimeVarying()
    cam = stage_cameras(stage)["3A"]  # the crowd plate
    out, scene = seen(renderer, stage, "3A", float(cam.first))
    assert pixels_of(out, scene, "crowd_people") > 0.1 * out.ids.size
    scene.release()


def test_snow_falls_the_same_in_every_render_and_the_depth_pass_stays_usable(
    example: Any, renderer: Any
) -> None:
    stage, _ = stage_of(example, "11")
    assert UsdGeom.PointInstancer(stage.GetPrimAtPath("/World/Weather/snow"))
    cam = stage_cameras(stage)["11"]
    t = float(cam.first)
    scene = renderer.load(stage)  # one loaded scene, frame after frame, as the animatic renders
    a, c, b = (scene.render(cam.camera, at, 480, 200, passes=True) for at in (t, t + 6, t))
    snow = scene.objects.index("snow") + 1
    assert np.array_equal(a.ids, b.ids) and np.array_equal(a.depth, b.depth)  # stable
    assert not np.array_equal(a.ids == snow, c.ids == snow)  # and falling
    flakes = a.ids == snow
    assert 0 < flakes.mean() < 0.03  # specks, not a wall
    assert np.all(np.isfinite(a.depth[flakes])) and np.all(a.depth[flakes] > 0)
    scene.release()


def test_an_interior_shows_no_falling_weather_and_has_a_ceiling_when_a_camera_looks_up(
    example: Any,
) -> None:
    stage, shots = stage_of(example, "6")
    assert not stage.GetPrimAtPath("/World/Weather")
    looks_up = any(s.camera.tilt > 8.0 or s.angle == "low" for s in shots)
    assert bool(stage.GetPrimAtPath("/World/Set/ceiling")) == looks_up


# The subject check ------------------------------------------------------------------------------


def test_every_vfx_shot_of_the_example_shows_its_subjects(example: Any, renderer: Any) -> None:
    _, plan, _ = example
    numbers = sorted({s.scene for s in shots_from_plan(plan) if s.vfx})
    problems = []
    for number in numbers:
        stage, shots = stage_of(example, number)
        scene = renderer.load(stage)
        cams = stage_cameras(stage)
        for shot in (s for s in shots if s.vfx and s.id in cams):
            cam = cams[shot.id]
            keys = sorted({cam.first, cam.last})
            frames = [(k, scene.render(cam.camera, float(k), 640, 268, passes=True, ink=0).ids) for k in keys]
            problems += [f.explanation for f in subject_findings(stage, cam, shot, frames, scene.objects)]
        scene.release()
    assert problems == []


def test_a_subject_hidden_behind_a_wall_is_reported_with_what_hides_it(example: Any, renderer: Any) -> None:
    stage, shots = stage_of(example, "11")
    cam = stage_cameras(stage)["11A"]
    from moviola.previs._prims import box

    box(stage, "/World/Set/hoarding", (0.0, 10.0, 6.0), (40.0, 20.0, 0.3), (0.5, 0.5, 0.5))  # 5 m ahead
    scene = renderer.load(stage)
    shot = next(s for s in shots if s.id == "11A")
    frames = [(cam.first, scene.render(cam.camera, float(cam.first), 640, 268, passes=True).ids)]
    (finding,) = subject_findings(stage, cam, shot, frames, scene.objects)
    assert finding.rule == "subject-not-visible" and finding.shots == ["11A"]
    assert "tower" in finding.explanation and "hidden by hoarding" in finding.explanation
    assert str(cam.first) in finding.explanation
    scene.release()


def test_storeys_default_sensibly_when_the_script_does_not_count_them(example: Any) -> None:
    stage, _ = stage_of(example, "11", replace(example[2]["11"], storeys=None, event_s=None))
    assert len(floors(stage)) == 12
    fails = list(stage.GetPrimAtPath("/World/Elements/tower").GetCustomDataByKey("moviola:failure_frames"))
    physics = CollapseTiming(12 * STOREY_M, 12, 0.0, None).floor_failures()
    assert (max(fails) - min(fails)) / FPS == pytest.approx(max(physics), abs=1.5 / FPS)
    assert math.isclose(CollapseTiming(42.0, 12, 0.0).accel, 0.8 * 9.81)


def test_snow_drawn_into_the_held_picture_is_the_full_render(example: Any, renderer: Any) -> None:
    """The animatic redraws only the weather between renders of a still shot: same picture."""
    stage, _ = stage_of(example, "11")
    cam = stage_cameras(stage)["11"]
    scene = renderer.load(stage)
    assert scene.has_air
    t = float(cam.first)
    scene.render(cam.camera, t, 640, 268, air=False)
    scene.hold(640, 268)
    for at in (t + 4, t + 8):
        full = scene.render(cam.camera, at, 640, 268).rgb
        scene.render(cam.camera, t, 640, 268, air=False)  # the held picture is t's, as in a still shot
        air = scene.render_air(cam.camera, at, 640, 268).rgb
        same = np.all(np.abs(full.astype(int) - air.astype(int)) <= 2, axis=2).mean()
        assert same > 0.99, same
    scene.release()


def test_the_animatic_tells_the_cast_and_elements_from_the_air(example: Any, renderer: Any) -> None:
    """What re-renders a held shot: the cast and the elements (on twos); the weather is only
    drawn into the held picture (on fours); the crowd's idling and the flames' flicker not."""
    from moviola.previs._animatic import CROWDS, WEATHER, _moving_prims

    stage, _ = stage_of(example, "11")
    scene = renderer.load(stage)
    groups = {g: {str(p.GetPath()).split("/")[2] for p in _moving_prims(scene, g)} for g in ("", WEATHER, CROWDS)}
    assert groups[""] >= {"Characters", "Elements"} and "Weather" not in groups[""]
    assert groups[WEATHER] == {"Weather"}
    assert all(str(p.GetPath()).startswith("/World/Elements/fire_") for p in _moving_prims(scene, CROWDS))
    scene.release()


def test_movers_drawn_into_the_held_set_are_the_full_render(example: Any, renderer: Any) -> None:
    """At night the animatic renders the still set once per camera move and draws the cast,
    the elements and the snow into it: the picture is the full render's."""
    stage, _ = stage_of(example, "11")
    cam = stage_cameras(stage)["11A"]
    scene = renderer.load(stage)
    assert scene.holds_movers and scene.tess.moving > 0
    t = float(cam.first)
    scene.render(cam.camera, t, 640, 268, still=True)
    scene.hold(640, 268)
    for at in (t, t + 160.0):  # the tower standing, then falling
        full = scene.render(cam.camera, at, 640, 268).rgb
        scene.render(cam.camera, t, 640, 268, still=True)  # the held set is t's
        over = scene.render_over(cam.camera, at, 640, 268).rgb
        same = np.all(np.abs(full.astype(int) - over.astype(int)) <= 2, axis=2).mean()
        assert same > 0.98, same
    scene.release()


@pytest.mark.parametrize("blocking,heading,text,kind", [
    ("large", "EXT. ESTADIO PEDRO BIDEGAIN - NIGHT", "", "stadium"),
    ("large", "EXT. WEMBLEY STADIUM - DAY", "", "stadium"),
    ("large", "EXT. PLAYING FIELDS - DAY", "The floodlights come on over the terraces.", "stadium"),
    ("large", "INT. CLUB SOCIAL Y DEPORTIVO BOEDO - NIGHT (1979)", "OFELIA stands at the microphone.", "large"),
    ("large", "EXT. MARKET SQUARE - DAY", "He makes his pitch to the crowd.", "large"),
    ("vista", "EXT. BUENOS AIRES - SKYLINE - NIGHT", "", "skyline"),
    ("room", "INT. ARENA OFFICE - DAY", "", "room"),
])  # fmt: skip
def test_the_set_kind_comes_from_the_heading_and_the_action(blocking: str, heading: str, text: str,
                                                           kind: str) -> None:  # fmt: skip
    from moviola.previs._sets import set_kind

    assert set_kind(blocking, heading, [text]) == kind


def test_an_explosion_indoors_goes_off_inside_the_room_and_shows(renderer: Any) -> None:
    """A script from another tool set a charge going off in a small room; its fireball must
    fit the room, under the ceiling a low camera sees, and its smoke stay in the frame."""
    from moviola.plan import Shot
    from moviola.plan._model import Camera

    scene = {"number": "39", "heading": "UNDER THE CHASSIS OF THE MAZDA",
             "edit": [{"shot": "39A", "beat": 0, "duration_s": 3.8}],
             "blocking": {"kind": "room", "width": 4.0, "depth": 3.0, "characters": []}}  # fmt: skip
    shot = Shot("39A", "39", "WS", "low", "static", 25.0, Camera("alexa35", 0.0, -1.2, 0.4, 90.0, tilt=12.0),
                vfx=True, vfx_kind="explosion")  # fmt: skip
    beats = [{"kind": "action", "text": "A tiny shaped charge detonates."}]
    stage = build_scene_stage(scene, [shot], FPS, beats=beats, staging=Staging(hour="day"))
    assert stage.GetPrimAtPath("/World/Set/ceiling")
    cam = stage_cameras(stage)["39A"]
    scene_ = renderer.load(stage)
    frames = [(k, scene_.render(cam.camera, float(k), 640, 268, passes=True).ids) for k in (cam.first, cam.last)]
    assert subject_findings(stage, cam, shot, frames, scene_.objects) == []
    for _, ids in frames:
        share = float(np.mean(ids == scene_.objects.index("explosion_39A") + 1))
        assert 0.002 < share < 0.5  # seen, and not a wall of fire filling the lens
    scene_.release()
