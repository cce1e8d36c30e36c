"""Each shot's camera on its own: a USD stage and a glTF binary (GLB) per shot.

A 3D artist takes one shot's camera into Maya, Blender, Houdini or Unreal
(USD) or into web and game tools (GLB) without the scene around it. The
camera's world transform is baked, one matrix per frame: the camera then
stands alone (no parents to carry along), every tool agrees on a matrix while
they disagree on Euler orders, and the layout's two-key moves play back the
same everywhere, whatever a tool's own interpolation would make of them.

glTF cameras, like USD's, look down their local -Z with +Y up, and glTF is Y-up
metres, so a GLB node's TRS is the USD world matrix decomposed. USD matrices
act on row vectors (``p' = p·M``): the rows are the images of the axes and
the last row is the translation.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..core import DocumentError, write_bytes_atomic, write_text_atomic
from ._layout import lens_mm, validate_stage
from ._prims import pxr as _pxr

GLB_MAGIC = 0x46546C67  # "glTF"
CHUNK_JSON = 0x4E4F534A  # "JSON"
CHUNK_BIN = 0x004E4942  # "BIN\0"
FLOAT = 5126  # glTF componentType for float32
#: A shot longer than this (over an hour at 24 fps) is a broken stage, not a shot.
MAX_FRAMES = 100_000

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]  # x, y, z, w (glTF order)


@dataclass(frozen=True)
class ShotCamera:
    """One camera as read from the scene: what both files are written from."""

    shot_id: str
    name: str  # shot_<ID>: the file stem, the prim's and the node's name
    source: str  # prim path in the scene stage
    first: int
    last: int
    fps: float  # time codes per second of the scene
    projection: str
    focal_mm: float
    h_aperture_mm: float
    v_aperture_mm: float
    near: float
    far: float
    #: Half width and height of an orthographic camera's view, in metres.
    ortho_half: tuple[float, float] = (0.0, 0.0)
    #: World transform per frame, first to last (row-vector 4x4, as USD gives it).
    matrices: list[Any] = field(default_factory=list)

    @property
    def frames(self) -> range:
        return range(self.first, self.last + 1)


def export_shot_cameras(stage_path: Path, out_dir: Path) -> dict[str, dict[str, Path]]:
    """Write ``shot_<ID>.usda`` and ``shot_<ID>.glb`` in ``out_dir`` for each camera.

    Returns ``{shot_id: {"usd": path, "glb": path}}``; a stage with no camera
    gives ``{}`` and writes nothing.
    """
    stage_path, out_dir = Path(stage_path), Path(out_dir)
    stage = _open_stage(stage_path)
    cameras = read_shot_cameras(stage, stage_path)
    written: dict[str, dict[str, Path]] = {}
    for prim, shot in cameras:
        usd_path, glb_path = out_dir / f"{shot.name}.usda", out_dir / f"{shot.name}.glb"
        out = shot_stage(stage, prim, shot, stage_path.name)
        errors = validate_stage(out)
        if errors:
            raise DocumentError(
                f"shot {shot.shot_id}: USD validation failed: {errors[0]}", usd_path
            )
        try:
            glb = camera_glb(shot)
        except ValueError as exc:  # a transform with no rotation in it
            raise DocumentError(f"camera {shot.source}: {exc}", stage_path) from exc
        write_text_atomic(usd_path, out.GetRootLayer().ExportToString())
        write_bytes_atomic(glb_path, glb)
        written[shot.shot_id] = {"usd": usd_path, "glb": glb_path}
    return written


def _open_stage(path: Path) -> Any:
    _, _, Usd, UsdGeom = _pxr()
    if not path.is_file():
        raise DocumentError("no such USD stage", path)
    try:
        stage = Usd.Stage.Open(str(path), Usd.Stage.LoadAll)
    except Exception as exc:  # pxr raises Tf.ErrorException, with C++ file and line
        raise DocumentError(f"cannot read the USD stage: {_usd_message(exc)}", path) from exc
    if stage is None:
        raise DocumentError("cannot read the USD stage", path)
    if UsdGeom.GetStageMetersPerUnit(stage) != 1.0 or UsdGeom.GetStageUpAxis(stage) != "Y":
        # Converting units or axes would change apertures' meaning too; a layout stage never needs it.
        raise DocumentError("expected a stage in metres with Y up (a moviola layout)", path)
    return stage


def _usd_message(exc: Exception) -> str:
    """The first error's own words, without pxr's C++ function, file and line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    text = lines[0].split(" : ", 1)[-1].strip().strip("'")
    return text[:300]


def read_shot_cameras(stage: Any, stage_path: Path) -> list[tuple[Any, ShotCamera]]:
    """Every camera of the stage with its shot id, frame range, lens and baked transforms.

    The shot id and frames come from the layout's customData; a camera without
    them is named after its prim and spans the stage's time range.
    """
    Gf, _, Usd, UsdGeom = _pxr()
    fps = float(stage.GetTimeCodesPerSecond())
    found: list[tuple[Any, ShotCamera]] = []
    names: dict[str, str] = {}
    for prim in stage.Traverse():
        if not prim.IsA(UsdGeom.Camera):
            continue
        shot_id = str(prim.GetCustomDataByKey("moviola:shot") or "")
        shot_id = shot_id or prim.GetName().removeprefix("shot_") or prim.GetName()
        name = "shot_" + "".join(ch if ch.isascii() and ch.isalnum() else "_" for ch in shot_id)
        if name in names:
            raise DocumentError(
                f"cameras {names[name]} and {prim.GetPath()} would both be written as {name}",
                stage_path,
            )
        names[name] = str(prim.GetPath())
        frames = prim.GetCustomDataByKey("moviola:frames")
        if frames is not None and len(frames) == 2:
            first, last = int(frames[0]), int(frames[1])
        else:
            first, last = round(stage.GetStartTimeCode()), round(stage.GetEndTimeCode())
        if last < first or last - first >= MAX_FRAMES or fps <= 0:
            raise DocumentError(
                f"camera {prim.GetPath()}: unusable frame range {first}-{last} at {fps} fps",
                stage_path,
            )
        camera = UsdGeom.Camera(prim)
        at = Usd.TimeCode(first)
        gf = camera.GetCamera(at)
        clipping = camera.GetClippingRangeAttr().Get(at)
        window = gf.frustum.GetWindow()
        shot = ShotCamera(
            shot_id=shot_id,
            name=name,
            source=str(prim.GetPath()),
            first=first,
            last=last,
            fps=fps,
            projection=str(camera.GetProjectionAttr().Get(at)),
            focal_mm=lens_mm(camera.GetFocalLengthAttr().Get(at)),
            h_aperture_mm=lens_mm(camera.GetHorizontalApertureAttr().Get(at)),
            v_aperture_mm=lens_mm(camera.GetVerticalApertureAttr().Get(at)),
            near=_f32(clipping[0]),
            far=_f32(clipping[1]),
            ortho_half=(float(window.GetSize()[0]) / 2, float(window.GetSize()[1]) / 2),
            matrices=[
                Gf.Matrix4d(camera.ComputeLocalToWorldTransform(Usd.TimeCode(f)))
                for f in range(first, last + 1)
            ],
        )
        if shot.focal_mm <= 0 or shot.v_aperture_mm <= 0 or shot.h_aperture_mm <= 0:
            raise DocumentError(f"camera {prim.GetPath()}: no usable lens or filmback", stage_path)
        if not 0 < shot.near < shot.far:
            raise DocumentError(
                f"camera {prim.GetPath()}: clipping range {shot.near}-{shot.far} is not usable",
                stage_path,
            )
        found.append((prim, shot))
    return found


def _f32(value: Any) -> float:
    """A float attribute's value as its shortest decimal (0.05, not 0.05000000074505806)."""
    return float(str(np.float32(value)))


def shot_stage(stage: Any, prim: Any, shot: ShotCamera, scene_name: str = "") -> Any:
    """An in-memory stage holding only ``shot``'s camera, its world transform baked."""
    _, _, Usd, UsdGeom = _pxr()
    out = Usd.Stage.CreateInMemory()
    layer = out.GetRootLayer()
    layer.documentation = f"Shot {shot.shot_id} camera from {scene_name or 'a scene'} {shot.source}"
    UsdGeom.SetStageMetersPerUnit(out, 1.0)
    UsdGeom.SetStageUpAxis(out, UsdGeom.Tokens.y)
    out.SetStartTimeCode(shot.first)
    out.SetEndTimeCode(shot.last)
    out.SetTimeCodesPerSecond(stage.GetTimeCodesPerSecond())
    out.SetFramesPerSecond(stage.GetFramesPerSecond())
    world = UsdGeom.Xform.Define(out, "/World")
    out.SetDefaultPrim(world.GetPrim())
    camera = UsdGeom.Camera.Define(out, f"/World/{shot.name}")
    target = camera.GetPrim()
    for name in UsdGeom.Camera.GetSchemaAttributeNames(True):
        source = prim.GetAttribute(name)
        if name == "xformOpOrder" or not source or not source.HasAuthoredValue():
            continue
        if source.ValueMightBeTimeVarying():  # a zoom, say: sampled on every frame too
            for frame in shot.frames:
                target.GetAttribute(name).Set(source.Get(Usd.TimeCode(frame)), frame)
        else:
            target.GetAttribute(name).Set(source.Get(Usd.TimeCode(shot.first)))
    transform = camera.AddTransformOp()
    for frame, matrix in zip(shot.frames, shot.matrices, strict=True):
        transform.Set(matrix, frame)
    authored = prim.GetAllAuthoredMetadata()  # not the schema's fallback customData
    if authored.get("customData"):
        target.SetCustomData(authored["customData"])
    if authored.get("documentation"):
        target.SetMetadata("documentation", authored["documentation"])
    return out


def decompose(matrix: Any) -> tuple[Vec3, Quat, Vec3]:
    """Translation, unit rotation quaternion (x, y, z, w) and scale of a USD matrix.

    Raises ValueError for a matrix with no usable rotation (a zero scale, NaNs).
    """
    m = np.array([[float(matrix[i][j]) for j in range(4)] for i in range(4)])
    if not np.all(np.isfinite(m)):
        raise ValueError("the transform is not finite")
    rows = m[:3, :3]  # row i: where local axis i goes (scaled)
    scale = np.linalg.norm(rows, axis=1)
    if np.any(scale < 1e-12):
        raise ValueError("the transform has a zero scale")
    if np.linalg.det(rows) < 0:
        scale[0] = -scale[0]  # a mirror: glTF carries it as a negative scale
    rotation = (rows / scale[:, None]).T  # column-vector convention: columns are the axes
    u, _, vt = np.linalg.svd(rotation)  # nearest rotation, drops any shear or rounding
    rotation = u @ vt
    t = m[3, :3]
    q = _quaternion(rotation)
    return (
        (float(t[0]), float(t[1]), float(t[2])),
        q,
        (float(scale[0]), float(scale[1]), float(scale[2])),
    )


def _quaternion(r: npt.NDArray[np.float64]) -> Quat:
    """Unit quaternion (x, y, z, w) of a proper rotation matrix (column vectors)."""
    trace = r[0, 0] + r[1, 1] + r[2, 2]
    if trace > 0:
        s = 2.0 * math.sqrt(trace + 1.0)
        q = ((r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s, s / 4)
    elif r[0, 0] > r[1, 1] and r[0, 0] > r[2, 2]:
        s = 2.0 * math.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2])
        q = (s / 4, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s, (r[2, 1] - r[1, 2]) / s)
    elif r[1, 1] > r[2, 2]:
        s = 2.0 * math.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2])
        q = ((r[0, 1] + r[1, 0]) / s, s / 4, (r[1, 2] + r[2, 1]) / s, (r[0, 2] - r[2, 0]) / s)
    else:
        s = 2.0 * math.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1])
        q = ((r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, s / 4, (r[1, 0] - r[0, 1]) / s)
    norm = math.sqrt(sum(c * c for c in q))
    x, y, z, w = (float(c) / norm for c in q)
    return (x, y, z, w)


def camera_glb(shot: ShotCamera) -> bytes:
    """glTF 2.0 binary: one node with ``shot``'s camera, animated over every frame of the shot.

    Raises ValueError when a frame's transform cannot be decomposed.
    """
    poses = [decompose(m) for m in shot.matrices]
    quats = [poses[0][1] if poses[0][1][3] >= 0 else _negate(poses[0][1])]
    for _, q, _ in poses[1:]:  # same hemisphere as the previous key, or slerp takes the long way
        quats.append(
            q if sum(a * b for a, b in zip(q, quats[-1], strict=True)) >= 0 else _negate(q)
        )
    times = np.array([(f - shot.first) / shot.fps for f in shot.frames], dtype="<f4")
    translations = np.array([p[0] for p in poses], dtype="<f4")
    scales = np.array([p[2] for p in poses], dtype="<f4")
    outputs: list[tuple[str, str, npt.NDArray[np.float32]]] = [
        ("translation", "VEC3", translations),
        ("rotation", "VEC4", np.array(quats, dtype="<f4")),
    ]
    if not np.allclose(scales, scales[0], rtol=0, atol=1e-6):
        outputs.append(("scale", "VEC3", scales))

    binary = bytearray()
    views: list[dict[str, Any]] = []
    accessors: list[dict[str, Any]] = []

    def add(data: npt.NDArray[np.float32], kind: str) -> int:
        binary.extend(b"\0" * (-len(binary) % 4))  # every view starts 4-byte aligned
        views.append({"buffer": 0, "byteOffset": len(binary), "byteLength": data.nbytes})
        binary.extend(data.tobytes())
        accessors.append({"bufferView": len(views) - 1, "componentType": FLOAT,
                          "count": int(data.shape[0]), "type": kind})  # fmt: skip
        return len(accessors) - 1

    time_accessor = add(times, "SCALAR")
    accessors[time_accessor]["min"] = [float(times[0])]
    accessors[time_accessor]["max"] = [float(times[-1])]
    samplers: list[dict[str, Any]] = []
    channels: list[dict[str, Any]] = []
    for path, kind, data in outputs:
        samplers.append({"input": time_accessor, "output": add(data, kind),
                         "interpolation": "LINEAR"})  # fmt: skip
        channels.append({"sampler": len(samplers) - 1, "target": {"node": 0, "path": path}})

    translation, _, scale = poses[0]
    if shot.projection == "orthographic":
        camera: dict[str, Any] = {"type": "orthographic", "orthographic": {
            "xmag": shot.ortho_half[0], "ymag": shot.ortho_half[1],
            "znear": shot.near, "zfar": shot.far}}  # fmt: skip
    else:
        camera = {"type": "perspective", "perspective": {
            "yfov": 2.0 * math.atan(shot.v_aperture_mm / (2.0 * shot.focal_mm)),
            "aspectRatio": shot.h_aperture_mm / shot.v_aperture_mm,
            "znear": shot.near, "zfar": shot.far}}  # fmt: skip
    camera["name"] = shot.name
    document: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": "Moviola"},
        "scene": 0,
        "scenes": [{"name": shot.name, "nodes": [0]}],
        "nodes": [
            {
                "name": shot.name,
                "camera": 0,
                "translation": list(translation),
                "rotation": list(quats[0]),
                "scale": list(scale),
                "extras": {
                    "shot": shot.shot_id,
                    "focal_length_mm": shot.focal_mm,
                    "horizontal_aperture_mm": shot.h_aperture_mm,
                    "vertical_aperture_mm": shot.v_aperture_mm,
                    "first_frame": shot.first,
                    "last_frame": shot.last,
                    "fps": shot.fps,
                },
            }
        ],
        "cameras": [camera],
        "animations": [{"name": shot.name, "samplers": samplers, "channels": channels}],
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{"byteLength": len(binary)}],
    }
    return glb_bytes(document, bytes(binary))


def _negate(q: Quat) -> Quat:
    return (-q[0], -q[1], -q[2], -q[3])


def glb_bytes(document: dict[str, Any], binary: bytes) -> bytes:
    """The GLB container: 12-byte header, a JSON chunk, then a BIN chunk, each 4-byte aligned."""
    text = json.dumps(document, separators=(",", ":"), allow_nan=False).encode("utf-8")
    text += b" " * (-len(text) % 4)  # the spec pads JSON with spaces
    chunks = struct.pack("<II", len(text), CHUNK_JSON) + text
    if binary:
        padded = binary + b"\0" * (-len(binary) % 4)
        chunks += struct.pack("<II", len(padded), CHUNK_BIN) + padded
    return struct.pack("<III", GLB_MAGIC, 2, 12 + len(chunks)) + chunks
