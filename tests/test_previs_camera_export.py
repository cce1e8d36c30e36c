"""Per-shot camera export: USD and GLB files that show the same picture as the scene.

Each check goes through an independent reader: USD's own stage and frustum for
the ``.usda`` files, pygltflib and the GLB byte layout read by hand for the
``.glb`` files, and a pinhole projection written here from the glTF spec.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pxr = pytest.importorskip("pxr")
pygltflib = pytest.importorskip("pygltflib")
from pxr import Gf, Usd, UsdGeom  # noqa: E402

from moviola.core import DocumentError  # noqa: E402
from moviola.plan import Shot  # noqa: E402
from moviola.plan._model import Camera  # noqa: E402
from moviola.previs._camera_export import export_shot_cameras  # noqa: E402
from moviola.previs._layout import build_scene_stage, validate_stage  # noqa: E402

FPS = 24.0
SCENE: dict[str, Any] = {
    "number": "7",
    "heading": "INT. KITCHEN - DAY",
    "edit": [
        {"shot": "7A", "beat": 0, "duration_s": 2.0},
        {"shot": "7B", "beat": 1, "duration_s": 1.5},
        {"shot": "7A", "beat": 2, "duration_s": 0.5},
    ],
    "blocking": {
        "kind": "room",
        "width": 5.0,
        "depth": 4.0,
        "characters": [
            {"name": "ANA", "height": 1.7, "marks": [{"beat": 0, "x": 0.5, "y": 0.3, "facing": 90}]}
        ],
    },
}
#: A dolly that also pans, tilts, rises and carries a dutch angle; and a locked-off close-up.
SHOTS = [
    Shot("7A", "7", "WS", "eye", "dolly", 32.0, Camera(
        "alexa35", -2.0, -1.5, 1.6, 30.0, tilt=-8.0, roll=3.0,
        end={"x": 1.0, "y": -1.0, "pan": 60.0, "tilt": -2.0, "height": 1.2})),
    Shot("7B", "7", "MCU", "eye", "static", 75.0, Camera(
        "venice2", 2.5, 1.0, 1.5, 200.0, tilt=4.0)),
]  # fmt: skip


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, dict[str, Path]]]:
    root = tmp_path_factory.mktemp("export")
    stage = build_scene_stage(SCENE, SHOTS, FPS, root / "scene-7.usda")
    stage.GetRootLayer().Save()
    return stage, export_shot_cameras(root / "scene-7.usda", root / "cameras")


def source_camera(stage: Any, shot_id: str) -> Any:
    prim = next(p for p in stage.Traverse() if p.GetCustomDataByKey("moviola:shot") == shot_id)
    return UsdGeom.Camera(prim)


def frames_of(camera: Any) -> tuple[int, int]:
    first, last = camera.GetPrim().GetCustomDataByKey("moviola:frames")
    return int(first), int(last)


def as_array(m: Any) -> np.ndarray:
    return np.array([[m[i][j] for j in range(4)] for i in range(4)])


def trs_to_usd(t: list[float], q: list[float], s: list[float]) -> np.ndarray:
    """glTF TRS (column vectors, T·R·S) as a USD row-vector matrix."""
    x, y, z, w = q
    r = np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])  # fmt: skip
    m = np.eye(4)
    m[:3, :3] = r @ np.diag(s)
    m[:3, 3] = t
    return m.T


def read_accessor(gltf: Any, blob: bytes, index: int) -> np.ndarray:
    acc = gltf.accessors[index]
    view = gltf.bufferViews[acc.bufferView]
    width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}[acc.type]
    start = (view.byteOffset or 0) + (acc.byteOffset or 0)
    data = np.frombuffer(blob, dtype="<f4", count=acc.count * width, offset=start)
    return data.reshape(acc.count, width) if width > 1 else data


def load_glb(path: Path) -> tuple[Any, bytes]:
    gltf = pygltflib.GLTF2().load_binary(str(path))
    return gltf, gltf.binary_blob()


def test_every_camera_gets_both_files(exported: tuple[Any, dict[str, dict[str, Path]]]) -> None:
    _, files = exported
    assert set(files) == {"7A", "7B"}
    for shot_id, pair in files.items():
        assert pair["usd"].name == f"shot_{shot_id}.usda" and pair["usd"].is_file()
        assert pair["glb"].name == f"shot_{shot_id}.glb" and pair["glb"].is_file()
    leftovers = [p.name for p in files["7A"]["usd"].parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no temporary files left behind


def test_usd_cameras_keep_lens_timeline_and_world_transform(
    exported: tuple[Any, dict[str, dict[str, Path]]],
) -> None:
    stage, files = exported
    for shot_id, pair in files.items():
        src = source_camera(stage, shot_id)
        out = Usd.Stage.Open(str(pair["usd"]))
        assert validate_stage(out) == []
        assert UsdGeom.GetStageMetersPerUnit(out) == 1.0
        assert UsdGeom.GetStageUpAxis(out) == UsdGeom.Tokens.y
        assert out.GetDefaultPrim().GetPath() == "/World"
        cams = [UsdGeom.Camera(p) for p in out.Traverse() if p.IsA(UsdGeom.Camera)]
        assert len(cams) == 1
        cam = cams[0]
        first, last = frames_of(src)
        assert (out.GetStartTimeCode(), out.GetEndTimeCode()) == (first, last)
        assert out.GetTimeCodesPerSecond() == stage.GetTimeCodesPerSecond() == FPS
        assert cam.GetPrim().GetCustomData() == src.GetPrim().GetCustomData()
        for attr in ("focalLength", "horizontalAperture", "verticalAperture", "clippingRange",
                     "projection"):  # fmt: skip
            assert cam.GetPrim().GetAttribute(attr).Get() == src.GetPrim().GetAttribute(attr).Get()
        ops = cam.GetOrderedXformOps()
        assert [op.GetOpName() for op in ops] == ["xformOp:transform"]
        assert ops[0].GetTimeSamples() == list(range(first, last + 1))
        for frame in (first, (first + last) // 2, last):
            t = Usd.TimeCode(frame)
            ours = as_array(cam.ComputeLocalToWorldTransform(t))
            theirs = as_array(src.ComputeLocalToWorldTransform(t))
            assert np.allclose(ours, theirs, rtol=0, atol=1e-6), (shot_id, frame)


def test_the_moving_shot_moves_and_the_static_one_does_not(
    exported: tuple[Any, dict[str, dict[str, Path]]],
) -> None:
    _, files = exported
    for shot_id, moving in (("7A", True), ("7B", False)):
        out = Usd.Stage.Open(str(files[shot_id]["usd"]))
        cam = UsdGeom.Camera(next(p for p in out.Traverse() if p.IsA(UsdGeom.Camera)))
        samples = cam.GetOrderedXformOps()[0].GetTimeSamples()
        a = as_array(cam.ComputeLocalToWorldTransform(Usd.TimeCode(samples[0])))
        b = as_array(cam.ComputeLocalToWorldTransform(Usd.TimeCode(samples[-1])))
        assert (not np.allclose(a, b)) is moving, shot_id


def test_glb_container_is_laid_out_to_the_spec(
    exported: tuple[Any, dict[str, dict[str, Path]]],
) -> None:
    _, files = exported
    for pair in files.values():
        data = pair["glb"].read_bytes()
        magic, version, length = struct.unpack_from("<III", data, 0)
        assert (magic, version, length) == (0x46546C67, 2, len(data))
        json_len, json_type = struct.unpack_from("<II", data, 12)
        assert json_type == 0x4E4F534A and json_len % 4 == 0
        doc = json.loads(data[20 : 20 + json_len].decode("utf-8"))
        assert data[20 : 20 + json_len].rstrip(b" ").endswith(b"}")
        bin_at = 20 + json_len
        bin_len, bin_type = struct.unpack_from("<II", data, bin_at)
        assert bin_type == 0x004E4942 and bin_len % 4 == 0
        assert bin_at + 8 + bin_len == len(data)
        assert doc["asset"] == {"version": "2.0", "generator": "Moviola"}
        assert doc["buffers"] == [{"byteLength": doc["buffers"][0]["byteLength"]}]  # no uri
        assert 0 <= bin_len - doc["buffers"][0]["byteLength"] < 4
        for view in doc["bufferViews"]:
            assert view["byteOffset"] % 4 == 0
            assert view["byteOffset"] + view["byteLength"] <= doc["buffers"][0]["byteLength"]
        for acc in doc["accessors"]:
            assert acc["componentType"] == 5126
            width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}[acc["type"]]
            assert acc["count"] * width * 4 == doc["bufferViews"][acc["bufferView"]]["byteLength"]
        (anim,) = doc["animations"]
        paths = {ch["target"]["path"] for ch in anim["channels"]}
        assert paths == {"translation", "rotation"}
        for sampler in anim["samplers"]:
            assert sampler["interpolation"] == "LINEAR"
            times = doc["accessors"][sampler["input"]]
            assert "min" in times and "max" in times


def test_glb_camera_lens_pose_and_animation_match_usd(
    exported: tuple[Any, dict[str, dict[str, Path]]],
) -> None:
    stage, files = exported
    for shot_id, pair in files.items():
        src = source_camera(stage, shot_id)
        first, last = frames_of(src)
        gltf, blob = load_glb(pair["glb"])
        (cam,) = gltf.cameras
        focal = src.GetFocalLengthAttr().Get()
        h_ap, v_ap = src.GetHorizontalApertureAttr().Get(), src.GetVerticalApertureAttr().Get()
        near, far = src.GetClippingRangeAttr().Get()
        assert cam.type == "perspective"
        assert cam.perspective.yfov == pytest.approx(2 * math.atan(v_ap / (2 * focal)), rel=1e-6)
        assert cam.perspective.aspectRatio == pytest.approx(h_ap / v_ap, rel=1e-6)
        assert cam.perspective.znear == pytest.approx(near, rel=1e-6)
        assert cam.perspective.zfar == pytest.approx(far, rel=1e-6)
        (node,) = gltf.nodes
        assert gltf.scenes[gltf.scene].nodes == [0] and node.camera == 0
        assert node.extras["shot"] == shot_id
        assert (node.extras["first_frame"], node.extras["last_frame"]) == (first, last)
        assert node.extras["fps"] == FPS
        # the extras are millimetres; the stage (metres) holds tenths of a metre
        assert node.extras["focal_length_mm"] == pytest.approx(100 * focal, rel=1e-6)
        assert node.extras["vertical_aperture_mm"] == pytest.approx(100 * v_ap, rel=1e-6)
        world = {f: as_array(src.ComputeLocalToWorldTransform(Usd.TimeCode(f)))
                 for f in (first, last)}  # fmt: skip
        assert math.isclose(np.linalg.norm(node.rotation), 1.0, abs_tol=1e-12)
        node_m = trs_to_usd(node.translation, node.rotation, node.scale)
        assert np.allclose(node_m, world[first], rtol=0, atol=1e-9)

        (anim,) = gltf.animations
        channel = {ch.target.path: anim.samplers[ch.sampler] for ch in anim.channels}
        assert all(ch.target.node == 0 for ch in anim.channels)
        times = read_accessor(gltf, blob, channel["translation"].input)
        expected = (np.arange(first, last + 1) - first) / FPS
        assert np.allclose(times, expected, rtol=0, atol=1e-6)  # seconds, from the shot's start
        assert gltf.accessors[channel["translation"].input].max == [pytest.approx(expected[-1])]
        moves = read_accessor(gltf, blob, channel["translation"].output)
        turns = read_accessor(gltf, blob, channel["rotation"].output)
        assert len(moves) == len(turns) == last - first + 1
        assert np.allclose(np.linalg.norm(turns, axis=1), 1.0, atol=1e-6)
        assert np.all(np.sum(turns[1:] * turns[:-1], axis=1) >= 0)  # one hemisphere
        last_m = trs_to_usd(list(moves[-1]), list(turns[-1]), node.scale)
        assert np.allclose(last_m, world[last], rtol=0, atol=1e-5)
        first_m = trs_to_usd(list(moves[0]), list(turns[0]), node.scale)
        assert np.allclose(first_m, world[first], rtol=0, atol=1e-5)


def usd_image_position(camera: Any, frame: int, point: Gf.Vec3d) -> tuple[float, float]:
    """Where USD's own frustum puts ``point`` (0..1 across, 0..1 down the frame)."""
    frustum = camera.GetCamera(Usd.TimeCode(frame)).frustum
    clip = frustum.ComputeProjectionMatrix().Transform(frustum.ComputeViewMatrix().Transform(point))
    return ((clip[0] + 1) / 2, (1 - clip[1]) / 2)


def gltf_image_position(cam: Any, trs: np.ndarray, point: Gf.Vec3d) -> tuple[float, float]:
    """The glTF spec's perspective projection, from the node's camera-to-world matrix."""
    to_world = trs.T  # back to column vectors
    eye = np.linalg.inv(to_world) @ np.array([point[0], point[1], point[2], 1.0])
    tan_half = math.tan(cam.perspective.yfov / 2)
    x_ndc = (eye[0] / -eye[2]) / (cam.perspective.aspectRatio * tan_half)
    y_ndc = (eye[1] / -eye[2]) / tan_half
    return ((x_ndc + 1) / 2, (1 - y_ndc) / 2)


def test_a_world_point_lands_in_the_same_place_through_both_cameras(
    exported: tuple[Any, dict[str, dict[str, Path]]],
) -> None:
    stage, files = exported
    for shot_id, pair in files.items():
        src = source_camera(stage, shot_id)
        first, last = frames_of(src)
        gltf, blob = load_glb(pair["glb"])
        node, cam = gltf.nodes[0], gltf.cameras[0]
        (anim,) = gltf.animations
        channel = {ch.target.path: anim.samplers[ch.sampler] for ch in anim.channels}
        moves = read_accessor(gltf, blob, channel["translation"].output)
        turns = read_accessor(gltf, blob, channel["rotation"].output)
        poses = {
            first: trs_to_usd(node.translation, node.rotation, node.scale),
            last: trs_to_usd(list(moves[-1]), list(turns[-1]), node.scale),
        }
        for frame, trs in poses.items():
            m = src.ComputeLocalToWorldTransform(Usd.TimeCode(frame))
            # A point 6 m in front of the lens, a little off-centre: it must be on screen.
            point = m.Transform(Gf.Vec3d(0.7, -0.4, -6.0))
            usd_uv = usd_image_position(src, frame, point)
            gltf_uv = gltf_image_position(cam, trs, point)
            assert 0.0 < usd_uv[0] < 1.0 and 0.0 < usd_uv[1] < 1.0
            assert abs(usd_uv[0] - gltf_uv[0]) < 1e-3 and abs(usd_uv[1] - gltf_uv[1]) < 1e-3, (
                shot_id,
                frame,
            )


def test_a_stage_without_cameras_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.usda"
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    stage.SetDefaultPrim(UsdGeom.Xform.Define(stage, "/World").GetPrim())
    stage.GetRootLayer().Save()
    assert export_shot_cameras(path, tmp_path / "out") == {}
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text", ['#usda 1.0\ndef Xform "World" (\n', "not a stage at all"])
def test_a_corrupt_stage_is_a_document_error_naming_it(tmp_path: Path, text: str) -> None:
    path = tmp_path / "scene-9.usda"
    path.write_text(text)
    with pytest.raises(DocumentError) as info:
        export_shot_cameras(path, tmp_path / "out")
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


def test_a_missing_stage_is_a_document_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"scene-404\.usda"):
        export_shot_cameras(tmp_path / "scene-404.usda", tmp_path / "out")


def test_an_orthographic_camera_without_moviola_data_still_exports(tmp_path: Path) -> None:
    """A hand-made stage: the prim's name is the shot id, the stage's range its frames."""
    path = tmp_path / "hand.usda"
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    stage.SetStartTimeCode(1)
    stage.SetEndTimeCode(3)
    stage.SetTimeCodesPerSecond(25)
    stage.SetDefaultPrim(UsdGeom.Xform.Define(stage, "/World").GetPrim())
    rig = UsdGeom.Xform.Define(stage, "/World/rig")  # a parent move, baked into the camera
    rig.AddTranslateOp().Set(Gf.Vec3d(0, 10, 0))
    cam = UsdGeom.Camera.Define(stage, "/World/rig/top")
    cam.CreateProjectionAttr(UsdGeom.Tokens.orthographic)
    cam.CreateHorizontalApertureAttr(40.0)
    cam.CreateVerticalApertureAttr(20.0)
    cam.AddRotateXOp().Set(-90.0)
    stage.GetRootLayer().Save()
    files = export_shot_cameras(path, tmp_path / "out")
    assert set(files) == {"top"}
    out = Usd.Stage.Open(str(files["top"]["usd"]))
    assert validate_stage(out) == []
    (prim,) = [p for p in out.Traverse() if p.IsA(UsdGeom.Camera)]
    assert prim.GetAttribute("projection").Get() == "orthographic"
    assert prim.GetAttribute("xformOp:transform").GetTimeSamples() == [1, 2, 3]
    gltf, _ = load_glb(files["top"]["glb"])
    assert gltf.cameras[0].type == "orthographic"
    window = cam.GetCamera(Usd.TimeCode(1)).frustum.GetWindow()
    assert gltf.cameras[0].orthographic.xmag == pytest.approx(window.GetSize()[0] / 2)
    assert gltf.cameras[0].orthographic.ymag == pytest.approx(window.GetSize()[1] / 2)
    assert gltf.nodes[0].translation == pytest.approx([0, 10, 0])
    assert gltf.nodes[0].extras["fps"] == 25.0
