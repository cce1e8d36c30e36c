"""The previs renderer: what a stage's USD camera sees, and the passes tools read.

The contract: a frame rendered through a layout stage's camera puts every point
where our own camera maths (``project_point``) and USD's frustum
(``project_world``) say it goes, to within a pixel, still or moving. The passes
are physical: depth in metres along the view axis (0 for sky), unit camera-space
normals, one id per object, and line art that inks every silhouette.

Stages are built by hand: a small plan scene dict, hand-made ``Shot`` objects,
and marker cubes put at known world points under ``/World/Props`` (each prop is
its own object, so its pixels can be found in the id pass). One GL context
serves the whole module, since creating one is the slow part.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pxr = pytest.importorskip("pxr")
pytest.importorskip("moderngl")
from pxr import Gf, Usd, UsdGeom  # noqa: E402

from moviola.core import DependencyError  # noqa: E402
from moviola.plan import Camera, Shot  # noqa: E402
from moviola.previs import read_exr, write_exr  # noqa: E402
from moviola.previs._layout import COLOURS, build_scene_stage, project_point  # noqa: E402
from moviola.previs._render import EGL_PACKAGES, Look, Renderer, create_context  # noqa: E402
from moviola.previs._stage_query import project_world, stage_cameras  # noqa: E402

log = logging.getLogger(__name__)

FPS = 24.0
MARKER = 0.06  # metres: a marker cube's edge
SMALL = (480, 200)  # most checks need no more than this

#: A room 8 m x 7 m (walls 2.7 m high, the back wall's face at plan y = 3.45).
ROOM: dict[str, Any] = {
    "number": "3",
    "heading": "INT. KITCHEN - DAY",
    "edit": [
        {"shot": "3A", "beat": 0, "duration_s": 2.0},
        {"shot": "3B", "beat": 1, "duration_s": 2.0},
        {"shot": "3C", "beat": 2, "duration_s": 1.0},
    ],
    "blocking": {
        "kind": "room",
        "width": 8.0,
        "depth": 7.0,
        "characters": [
            {
                "name": "ANA",
                "height": 1.7,
                "marks": [{"beat": 0, "x": 1.6, "y": 2.0, "facing": 270}],
            }
        ],
    },
}
#: A dutch, tilted static wide; a dolly that pushes in, pans, tilts and drops; and a
#: level shot square on to the back wall (camera at plan y = -1: the wall is 4.45 m away).
ROOM_SHOTS = [
    Shot("3A", "3", "WS", "eye", "static", 32.0, Camera(
        "alexa35", -3.0, -2.5, 1.6, 35.0, tilt=-6.0, roll=5.0)),
    Shot("3B", "3", "MS", "eye", "dolly", 40.0, Camera(
        "alexa35", -1.0, -3.0, 1.5, 80.0, tilt=2.0,
        end={"x": -0.6, "y": -2.7, "pan": 86.0, "tilt": -1.0, "height": 1.4})),
    Shot("3C", "3", "MS", "eye", "static", 32.0, Camera("alexa35", 0.0, -1.0, 1.5, 90.0)),
]  # fmt: skip
WALL_DISTANCE = 3.45 - (-1.0)


def desert(time_of_day: str = "DAY") -> dict[str, Any]:
    """Open ground only (a vista: no walls, no buildings), two people, the sun out."""
    return {
        "number": "5",
        "heading": f"EXT. DESERT - {time_of_day}",
        "edit": [{"shot": "5A", "beat": 0, "duration_s": 1.0}],
        "blocking": {
            "kind": "vista",
            "width": 10.0,
            "depth": 10.0,
            "characters": [
                {"name": "ANA", "height": 1.7, "marks": [{"beat": 0, "x": 0.0, "y": 0.0, "facing": 270}]},
                {"name": "BEN", "height": 1.8, "marks": [{"beat": 0, "x": -1.6, "y": 0.6, "facing": 270}]},
            ],
        },
    }  # fmt: skip


#: A wide from eye level, 7 m back, tilted down a little: people, their shadows, the sky.
DESERT_SHOTS = [
    Shot(
        "5A", "5", "WS", "eye", "static", 32.0, Camera("alexa35", -0.8, -7.0, 1.7, 85.0, tilt=-4.0)
    )
]


@pytest.fixture(scope="module")
def renderer() -> Iterator[Renderer]:
    r = Renderer()
    log.info("GL renderer: %s", r.info)
    yield r
    r.release()


@contextmanager
def loaded(renderer: Renderer, stage: Any, look: Look | None = None) -> Iterator[Any]:
    scene = renderer.load(stage, look)
    try:
        yield scene
    finally:
        scene.release()


def add_marker(stage: Any, name: str, point: tuple[float, float, float],
               colour: tuple[float, float, float] = (1.0, 0.85, 0.1)) -> None:  # fmt: skip
    cube = UsdGeom.Cube.Define(stage, f"/World/Props/{name}")
    cube.CreateSizeAttr(MARKER)
    cube.AddTranslateOp().Set(Gf.Vec3d(*point))
    cube.CreateDisplayColorAttr([Gf.Vec3f(*colour)])


def in_front(
    camera: Any, time: float, offset: tuple[float, float, float]
) -> tuple[float, float, float]:
    """The world point at ``offset`` in the camera's own space (x right, y up, -z ahead)."""
    m = camera.ComputeLocalToWorldTransform(Usd.TimeCode(time))
    p = m.Transform(Gf.Vec3d(*offset))
    return (p[0], p[1], p[2])


def to_plan(point: tuple[float, float, float]) -> tuple[float, float, float]:
    """USD world (X, Y up, Z) to the floor plan's (x, y, height)."""
    return (point[0], -point[2], point[1])


def along_view_axis(camera: Any, time: float, point: tuple[float, float, float]) -> float:
    m = camera.ComputeLocalToWorldTransform(Usd.TimeCode(time))
    eye = m.ExtractTranslation()
    forward = m.TransformDir(Gf.Vec3d(0, 0, -1)).GetNormalized()
    return float((Gf.Vec3d(*point) - eye) * forward)


def depth_of_marker(camera: Any, time: float, point: tuple[float, float, float], pixel: tuple[int, int],
                    size: tuple[int, int]) -> float:  # fmt: skip
    """Metres along the view axis to where the ray through ``pixel``'s centre meets the marker.

    The ray is (x, y, -1) in camera space, so the distance along it, in units of that
    vector, is the depth itself; the marker is an axis-aligned box (slab test).
    """
    gf = camera.GetCamera(Usd.TimeCode(time))
    tan = gf.frustum.GetWindow().GetMax()
    sx = (2 * (pixel[0] + 0.5) / size[0] - 1) * tan[0]
    sy = (1 - 2 * (pixel[1] + 0.5) / size[1]) * tan[1]
    m = gf.transform
    eye = np.array(m.ExtractTranslation())
    ray = np.array(m.TransformDir(Gf.Vec3d(sx, sy, -1.0)))
    lo, hi = np.array(point) - MARKER / 2, np.array(point) + MARKER / 2
    t1, t2 = (lo - eye) / ray, (hi - eye) / ray
    near, far = float(np.minimum(t1, t2).max()), float(np.maximum(t1, t2).min())
    assert near <= far, "the ray misses the marker"
    return near


def centroid(mask: np.ndarray) -> tuple[float, float]:
    """Mean pixel centre (x right, y down) of a mask; pixel (i, j) spans [i, i + 1)."""
    ys, xs = np.nonzero(mask)
    assert len(xs), "nothing of the object is in the frame"
    return (float(xs.mean()) + 0.5, float(ys.mean()) + 0.5)


def object_id(scene: Any, name: str) -> int:
    return scene.objects.index(name) + 1


def luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float64) @ np.array([0.2126, 0.7152, 0.0722])


def end_pose(shot: Shot) -> Shot:
    """The shot as it stands at the end of its move (a still camera there)."""
    c = shot.camera
    assert c.end is not None
    camera = dataclasses.replace(c, end=None, **{k: float(v) for k, v in c.end.items()})
    return dataclasses.replace(shot, camera=camera)


# 1. The contract ------------------------------------------------------------------------------

#: Where the markers go, in each camera's own space (metres; -z is ahead): spread over the
#: frame, 2.5-4.5 m out. The dolly's are placed from mid-move and kept nearer the middle, so
#: they stay in the frame from its first frame to its last.
OFFSETS = {
    "3A": [(0.0, 0.0, -3.0), (0.8, 0.3, -3.5), (-0.9, -0.35, -2.5), (0.4, -0.4, -4.5),
           (-1.2, 0.4, -4.0), (1.1, -0.45, -3.0)],
    "3B": [(0.0, 0.0, -3.0), (0.5, 0.12, -3.5), (-0.5, -0.12, -3.0), (0.3, -0.15, -4.5),
           (-0.8, 0.15, -4.0), (0.7, -0.15, -3.2)],
}  # fmt: skip


def test_a_rendered_frame_agrees_with_our_camera_maths_and_usds_to_a_pixel(
    renderer: Renderer,
) -> None:
    width, height = 960, 402
    stage = build_scene_stage(ROOM, ROOM_SHOTS, FPS)
    cams = stage_cameras(stage)
    dutch, dolly = ROOM_SHOTS[0], ROOM_SHOTS[1]
    assert dutch.camera.roll and dutch.camera.tilt and dolly.camera.end
    move = cams[dolly.id]
    times = {dutch.id: [float(cams[dutch.id].first)],
             dolly.id: [float(move.first), (move.first + move.last) / 2, float(move.last)]}  # fmt: skip
    markers: dict[str, tuple[str, tuple[float, float, float]]] = {}
    for shot_id, when in times.items():
        mid = when[len(when) // 2]  # the dolly's markers are placed from mid-move
        for offset in OFFSETS[shot_id]:
            point = in_front(cams[shot_id].camera, mid, offset)
            name = f"marker_{len(markers)}"
            add_marker(stage, name, point)
            markers[name] = (shot_id, point)

    checked = 0
    with loaded(renderer, stage) as scene:
        for shot in (dutch, dolly):
            cam = cams[shot.id]
            for time in times[shot.id]:
                frame = scene.render(cam.camera, time, width, height, passes=True)
                for name, (shot_id, point) in markers.items():
                    if shot_id != shot.id:
                        continue
                    usd = project_world(cam.camera, time, point, width, height)
                    assert usd is not None
                    assert 10 < usd[0] < width - 10 and 10 < usd[1] < height - 10, (name, time)
                    seen = centroid(frame.ids == object_id(scene, name))
                    where = (shot.id, time, name, seen, usd)
                    assert math.dist(seen, usd) < 1.0, where
                    if time == cam.first:
                        ours = project_point(shot, to_plan(point), width, height)
                    elif time == cam.last:
                        ours = project_point(end_pose(shot), to_plan(point), width, height)
                    else:
                        continue
                    assert ours is not None
                    assert math.dist(seen, ours) < 1.0, (*where, ours)
                    checked += 1
    assert checked == len(OFFSETS[dutch.id]) + 2 * len(OFFSETS[dolly.id])


def test_a_lens_shift_an_artist_adds_moves_the_picture_and_project_world_alike(
    renderer: Renderer,
) -> None:
    width, height = 960, 402
    stage = build_scene_stage(ROOM, ROOM_SHOTS, FPS)
    cam = stage_cameras(stage)["3C"]
    cam.camera.CreateHorizontalApertureOffsetAttr(0.04)  # 4 mm film offset, in lens units
    cam.camera.CreateVerticalApertureOffsetAttr(-0.02)
    point = in_front(cam.camera, cam.first, (0.3, 0.2, -3.0))
    add_marker(stage, "marker", point)
    with loaded(renderer, stage) as scene:
        frame = scene.render(cam.camera, float(cam.first), width, height, passes=True)
        seen = centroid(frame.ids == object_id(scene, "marker"))
    usd = project_world(cam.camera, float(cam.first), point, width, height)
    assert usd is not None and math.dist(seen, usd) < 1.0, (seen, usd)


# 2. Depth -------------------------------------------------------------------------------------


def test_depth_is_metres_along_the_view_axis_and_zero_for_sky(
    renderer: Renderer, tmp_path: Path
) -> None:
    stage = build_scene_stage(ROOM, ROOM_SHOTS, FPS)
    cam = stage_cameras(stage)["3C"]  # level and square on to the back wall
    time = float(cam.first)
    offsets = [(0.0, 0.0, -2.0), (-1.1, 0.3, -2.5), (1.0, -0.4, -3.0), (0.5, 0.1, -1.2)]
    points = {f"marker_{i}": in_front(cam.camera, time, o) for i, o in enumerate(offsets)}
    for name, point in points.items():
        add_marker(stage, name, point)
    with loaded(renderer, stage) as scene:
        frame = scene.render(cam.camera, time, *SMALL, passes=True)
        wall = frame.ids == object_id(scene, "wall_back")
        depth, ids = frame.depth, frame.ids
        assert depth is not None and ids is not None
        assert depth.dtype == np.float32 and depth.shape == SMALL[::-1]
        for name, point in points.items():
            mask = ids == object_id(scene, name)
            x, y = centroid(mask)
            # At its centre, about the marker's own distance along the axis (its centre is
            # 3 cm behind its skin) ...
            got, centre = float(depth[int(y), int(x)]), along_view_axis(cam.camera, time, point)
            assert abs(got - centre) <= 0.02 + 0.002 * centre + MARKER / 2, (name, got, centre)
            # ... and at each of its pixels, exactly where that pixel's ray meets its surface.
            for py, px in zip(*np.nonzero(mask), strict=True):
                surface = depth_of_marker(cam.camera, time, point, (px, py), SMALL)
                assert abs(depth[py, px] - surface) <= 0.002 + 0.001 * surface, (name, px, py)

    # A wall square on to the camera is one distance across the whole frame, corners too:
    # depth is along the view axis, not the length of each pixel's ray (10 % more at the edges).
    assert wall[0, 0] and wall[0, -1] and wall.mean() > 0.5
    assert np.allclose(depth[wall], WALL_DISTANCE, rtol=0.002, atol=0.0)

    # Outdoors, the sky has no depth and no object.
    sky_stage = build_scene_stage(desert(), DESERT_SHOTS, FPS)
    sky_cam = stage_cameras(sky_stage)["5A"]
    with loaded(renderer, sky_stage) as scene:
        frame = scene.render(sky_cam.camera, float(sky_cam.first), *SMALL, passes=True)
    depth, ids = frame.depth, frame.ids
    assert depth is not None and ids is not None
    sky = ids == 0
    assert sky[:20].all(), "the top of an exterior frame from eye level is sky"
    assert (depth[sky] == 0).all() and (depth[~sky] > 0).all()

    # The depth pass as EXR: Z in metres, A the coverage, both float32, values kept.
    coverage = (ids > 0).astype(np.float32)
    path = write_exr(tmp_path / "depth.exr", {"Z": depth, "A": coverage})
    back = read_exr(path)
    assert set(back) == {"Z", "A"}
    assert back["Z"].dtype == np.float32 and back["A"].dtype == np.float32
    assert np.array_equal(back["Z"], depth) and np.array_equal(back["A"], coverage)


# 3. Normals -----------------------------------------------------------------------------------


def test_normals_are_unit_camera_space_vectors(renderer: Renderer) -> None:
    stage = build_scene_stage(ROOM, ROOM_SHOTS, FPS)
    cam = stage_cameras(stage)["3C"]
    with loaded(renderer, stage) as scene:
        frame = scene.render(cam.camera, float(cam.first), *SMALL, passes=True)
        wall = frame.ids == object_id(scene, "wall_back")
    normals, ids = frame.normals, frame.ids
    assert normals is not None and ids is not None
    assert normals.shape == (*SMALL[::-1], 3) and normals.dtype == np.float32
    length = np.linalg.norm(normals, axis=-1)
    assert np.allclose(length[ids > 0], 1.0, atol=1e-2)
    assert (normals[ids == 0] == 0).all()
    # The back wall faces the camera: +Z in camera space, straight back at the lens.
    assert np.allclose(normals[wall], (0.0, 0.0, 1.0), atol=1e-2)

    # The ground from eye level (tilted 4 degrees down): up in camera space is mostly +y,
    # leaning towards the lens by the tilt.
    ground_stage = build_scene_stage(desert(), DESERT_SHOTS, FPS)
    ground_cam = stage_cameras(ground_stage)["5A"]
    with loaded(renderer, ground_stage) as scene:
        frame = scene.render(ground_cam.camera, float(ground_cam.first), *SMALL, passes=True)
        # Inside its outline: an edge pixel may show the box's far face, level with the top.
        ground = _erode(frame.ids == object_id(scene, "ground"), 1)
    assert frame.normals is not None and ground.mean() > 0.3
    tilt = math.radians(-DESERT_SHOTS[0].camera.tilt)
    assert (frame.normals[ground][:, 1] > 0.9).all()
    assert np.allclose(frame.normals[ground], (0.0, math.cos(tilt), math.sin(tilt)), atol=1e-2)


# 4. Line art ----------------------------------------------------------------------------------


def test_line_art_is_ink_on_white_along_every_silhouette(renderer: Renderer) -> None:
    stage = build_scene_stage(desert(), DESERT_SHOTS, FPS)
    cam = stage_cameras(stage)["5A"]
    with loaded(renderer, stage) as scene:
        frame = scene.render(cam.camera, float(cam.first), *SMALL, passes=True)
        person = frame.ids == object_id(scene, "ANA")
    line, ids = frame.line, frame.ids
    assert line is not None and ids is not None
    assert line.dtype == np.uint8 and line.shape == SMALL[::-1]
    assert (line > 200).mean() > 0.8
    # Where the id changes from one pixel to its right or lower neighbour, there is ink:
    # around the mannequin, and along the horizon where ground meets sky.
    change = np.zeros_like(person)
    change[:, :-1] |= ids[:, :-1] != ids[:, 1:]
    change[:-1, :] |= ids[:-1, :] != ids[1:, :]
    near_person = _dilate(person, 2)
    silhouette = change & near_person
    assert silhouette.sum() > 40
    assert (line[silhouette] < 64).mean() > 0.95
    assert (line[change] < 64).mean() > 0.95
    # ... and inside a flat, evenly lit surface there is none.
    inside = _erode(ids == object_id(scene, "ground"), 3)
    assert inside.sum() > 1000 and (line[inside] > 200).mean() > 0.99


def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    out = mask.copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out |= np.roll(np.roll(mask, dy, 0), dx, 1)
    return out


def _erode(mask: np.ndarray, r: int) -> np.ndarray:
    return ~_dilate(~mask, r)


# 5. Beauty ------------------------------------------------------------------------------------


def test_beauty_shows_each_character_in_their_colour(renderer: Renderer) -> None:
    stage = build_scene_stage(desert(), DESERT_SHOTS, FPS)
    cam = stage_cameras(stage)["5A"]
    with loaded(renderer, stage) as scene:
        frame = scene.render(cam.camera, float(cam.first), *SMALL, passes=True, ink=0.0)
        ana, ben = (frame.ids == object_id(scene, n) for n in ("ANA", "BEN"))
    rgb = frame.rgb
    assert rgb.dtype == np.uint8 and rgb.shape == (*SMALL[::-1], 3)
    assert rgb.flags["C_CONTIGUOUS"]
    assert COLOURS[0][0] > 2 * COLOURS[0][1] and COLOURS[1][2] > 2 * COLOURS[1][0]
    assert ana.sum() > 200 and ben.sum() > 200
    r, g, b = rgb[ana].astype(float).mean(axis=0)
    assert r > 1.3 * g and r > 1.3 * b, (r, g, b)  # ANA, the first, is red
    r, g, b = rgb[ben].astype(float).mean(axis=0)
    assert b > 1.2 * r and b > g, (r, g, b)  # BEN, the second, is blue


def sky_brightness(renderer: Renderer, stage: Any, look: Look | None = None) -> float:
    cam = stage_cameras(stage)["5A"]
    with loaded(renderer, stage, look) as scene:
        frame = scene.render(cam.camera, float(cam.first), *SMALL, passes=True)
    assert frame.ids is not None and (frame.ids == 0).sum() > 1000
    return float(luminance(frame.rgb[frame.ids == 0]).mean())


def test_a_night_look_has_a_darker_sky_than_a_day_one(renderer: Renderer) -> None:
    stage = build_scene_stage(desert(), DESERT_SHOTS, FPS)
    skies = {hour: sky_brightness(renderer, stage, Look.for_set("EXT", hour))
             for hour in ("DAY", "NIGHT")}  # fmt: skip
    assert skies["NIGHT"] < 0.5 * skies["DAY"], skies


def test_the_scene_heading_on_the_stage_sets_the_look(renderer: Renderer) -> None:
    skies = {}
    for hour in ("DAY", "NIGHT"):
        stage = build_scene_stage(desert(hour), DESERT_SHOTS, FPS)
        assert stage.GetDefaultPrim().GetCustomDataByKey("moviola:time_of_day") == hour
        with loaded(renderer, stage) as scene:
            assert scene.look == Look.for_set("EXT", hour)
        skies[hour] = sky_brightness(renderer, stage)
    assert skies["NIGHT"] < 0.5 * skies["DAY"], skies
    room = build_scene_stage(ROOM, ROOM_SHOTS, FPS)  # INT. KITCHEN - DAY: a key light, no fog
    with loaded(renderer, room) as scene:
        assert scene.look == Look.for_set("INT", "DAY") and scene.look.fog == 0.0


def test_a_mannequin_casts_a_shadow_away_from_the_sun(renderer: Renderer) -> None:
    stage = build_scene_stage(desert(), DESERT_SHOTS, FPS)
    cam = stage_cameras(stage)["5A"]
    time = float(cam.first)
    with loaded(renderer, stage) as scene:
        sun = np.array(scene.look.light_dir)  # towards the light
        frame = scene.render(cam.camera, time, *SMALL, passes=True, ink=0.0)
        ground = object_id(scene, "ground")
    assert frame.ids is not None
    away = np.array([-sun[0], 0.0, -sun[2]])
    away /= np.linalg.norm(away)
    # ANA stands at the origin, 1.7 m tall under a sun 35 degrees from the zenith: her shadow
    # reaches about 1.2 m from her feet, away from the sun. Compare ground 0.4-0.8 m out along
    # it with open ground 1.5 m to its right (about as far from the camera, no one near).
    lum = luminance(frame.rgb)
    shade, sunlit = [], []
    for shift, out in ((0.0, shade), (1.5, sunlit)):
        for d in (0.4, 0.5, 0.6, 0.7, 0.8):
            p = d * away + (shift, 0.0, 0.0)
            px = project_world(cam.camera, time, (p[0], 0.0, p[2]), *SMALL)
            assert px is not None
            x, y = int(px[0]), int(px[1])
            assert 0 <= x < SMALL[0] and 0 <= y < SMALL[1]
            assert frame.ids[y, x] == ground, (shift, d)
            out.append(lum[y, x])
    assert max(shade) < 0.75 * min(sunlit), (shade, sunlit)


# 6. What is drawn -----------------------------------------------------------------------------


def test_a_mesh_is_drawn_and_hidden_or_guide_prims_are_not(renderer: Renderer) -> None:
    log.info("renderer: %s", renderer.info)
    assert isinstance(renderer.info, str) and renderer.info
    stage = build_scene_stage(ROOM, ROOM_SHOTS, FPS)
    cam = stage_cameras(stage)["3C"]
    time = float(cam.first)
    # A 1 m x 0.6 m card 3 m ahead of the lens, facing it (counter-clockwise seen from it).
    corners = [in_front(cam.camera, time, (x, y, -3.0))
               for x, y in ((-0.9, -0.5), (0.1, -0.5), (0.1, 0.1), (-0.9, 0.1))]  # fmt: skip
    card = UsdGeom.Mesh.Define(stage, "/World/Props/card")
    card.CreatePointsAttr([Gf.Vec3f(*c) for c in corners])
    card.CreateFaceVertexCountsAttr([4])
    card.CreateFaceVertexIndicesAttr([0, 1, 2, 3])
    card.CreateDisplayColorAttr([Gf.Vec3f(0.2, 0.7, 0.3)])
    # Between the lens and the card: a hidden box and a guide (a rig control, say).
    hidden = in_front(cam.camera, time, (-0.4, -0.2, -2.0))
    guide = in_front(cam.camera, time, (-0.2, -0.2, -2.0))
    for name, point in (("ghost", hidden), ("rig_control", guide)):
        box = UsdGeom.Cube.Define(stage, f"/World/Props/{name}")
        box.CreateSizeAttr(0.3)
        box.AddTranslateOp().Set(Gf.Vec3d(*point))
    UsdGeom.Imageable(stage.GetPrimAtPath("/World/Props/ghost")).MakeInvisible()
    UsdGeom.Imageable(stage.GetPrimAtPath("/World/Props/rig_control")).CreatePurposeAttr(
        UsdGeom.Tokens.guide
    )
    with loaded(renderer, stage) as scene:
        frame = scene.render(cam.camera, time, *SMALL, passes=True)
        assert "card" in scene.objects
        assert "ghost" not in scene.objects and "rig_control" not in scene.objects
        card_id = object_id(scene, "card")
    assert frame.ids is not None and frame.normals is not None
    ys, xs = np.nonzero(frame.ids == card_id)
    px = [project_world(cam.camera, time, c, *SMALL) for c in corners]
    assert all(p is not None for p in px)
    left, right = min(p[0] for p in px if p), max(p[0] for p in px if p)
    top, bottom = min(p[1] for p in px if p), max(p[1] for p in px if p)
    assert abs(xs.min() - left) < 1.0 and abs(xs.max() + 1 - right) < 1.0
    assert abs(ys.min() - top) < 1.0 and abs(ys.max() + 1 - bottom) < 1.0
    # Where the hidden box and the guide would be, the card shows through.
    for point in (hidden, guide):
        p = project_world(cam.camera, time, point, *SMALL)
        assert p is not None and frame.ids[int(p[1]), int(p[0])] == card_id
    assert np.allclose(frame.normals[frame.ids == card_id], (0.0, 0.0, 1.0), atol=1e-2)


# 7. Without a driver --------------------------------------------------------------------------


def test_a_missing_egl_driver_names_the_packages_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import moderngl

    def no_driver(*args: Any, **kwargs: Any) -> Any:  # the driver is outside our control
        raise Exception("eglGetDisplay failed")

    monkeypatch.setattr(moderngl, "create_standalone_context", no_driver)
    with pytest.raises(DependencyError) as info:
        create_context()
    message = str(info.value)
    for package in ("libegl1", "libegl-mesa0", "libgl1-mesa-dri"):
        assert package in message and package in EGL_PACKAGES.split()
    assert "eglGetDisplay failed" in message


# 8. Determinism -------------------------------------------------------------------------------


def test_the_same_frame_renders_to_the_same_bytes(renderer: Renderer) -> None:
    stage = build_scene_stage(ROOM, ROOM_SHOTS, FPS)
    cams = stage_cameras(stage)
    dolly = cams["3B"]
    with loaded(renderer, stage) as scene:
        first = scene.render(dolly.camera, float(dolly.first), *SMALL).rgb
        scene.render(dolly.camera, float(dolly.last), *SMALL)  # the set posed for another frame
        scene.render(cams["3A"].camera, float(dolly.first), *SMALL)  # another camera
        again = scene.render(dolly.camera, float(dolly.first), *SMALL).rgb
    assert first.tobytes() == again.tobytes()


def test_a_frame_does_not_depend_on_another_stage_rendered_in_between(
    renderer: Renderer,
) -> None:
    here = build_scene_stage(desert(), DESERT_SHOTS, FPS)
    moved = desert()
    moved["blocking"]["characters"][0]["marks"][0]["x"] = 3.0  # ANA elsewhere
    there = build_scene_stage(moved, DESERT_SHOTS, FPS)
    cam_here, cam_there = stage_cameras(here)["5A"], stage_cameras(there)["5A"]
    with loaded(renderer, here) as a, loaded(renderer, there) as b:
        first = a.render(cam_here.camera, float(cam_here.first), *SMALL).rgb
        b.render(cam_there.camera, float(cam_there.first), *SMALL)
        again = a.render(cam_here.camera, float(cam_here.first), *SMALL).rgb
    assert first.tobytes() == again.tobytes()
