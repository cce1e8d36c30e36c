"""Questions asked of a layout stage: which camera is a shot, where is a character.

Everything here reads the USD stage on disk, so a camera or mannequin a 3D
artist moved in their own tool is what the storyboards and animatic show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._prims import safe as _safe


@dataclass(frozen=True)
class StageCamera:
    shot: str
    camera: Any  # UsdGeom.Camera
    first: int  # first frame of the shot in the scene's cut
    last: int

    @property
    def path(self) -> str:
        return str(self.camera.GetPath())


def stage_cameras(stage: Any) -> dict[str, StageCamera]:
    """Every shot camera of a layout stage, by shot id (from its customData)."""
    from pxr import UsdGeom

    out: dict[str, StageCamera] = {}
    for prim in stage.Traverse():
        if not prim.IsA(UsdGeom.Camera):
            continue
        shot = prim.GetCustomDataByKey("moviola:shot")
        frames = prim.GetCustomDataByKey("moviola:frames")
        if shot is None:
            continue
        first, last = (int(frames[0]), int(frames[1])) if frames is not None else (1001, 1001)
        out[str(shot)] = StageCamera(str(shot), UsdGeom.Camera(prim), first, last)
    return out


def character_point(stage: Any, name: str, time: float, height: float = 1.2
                    ) -> tuple[float, float, float] | None:  # fmt: skip
    """A character's world position (root), raised by ``height`` metres (chest by default)."""
    from pxr import UsdGeom

    for prim in stage.GetPrimAtPath("/World/Characters").GetChildren() if stage.GetPrimAtPath(
        "/World/Characters"
    ) else []:  # fmt: skip
        if prim.GetName() == name or prim.GetName() == _safe(name):
            m = np.asarray(UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(time))
            scale = float(np.linalg.norm(m[1, :3]))
            return (float(m[3, 0]), float(m[3, 1]) + height * scale, float(m[3, 2]))
    return None


def project_world(camera: Any, time: float, point: tuple[float, float, float], width: int,
                  height: int) -> tuple[float, float] | None:  # fmt: skip
    """Pixel (x right, y down) of a world point through a USD camera; None if behind it."""
    gf = camera.GetCamera(time)
    view = np.asarray(gf.frustum.ComputeViewMatrix(), np.float64)
    p = np.array([*point, 1.0]) @ view  # USD matrices act on row vectors
    if p[2] >= -1e-6:
        return None
    window = gf.frustum.GetWindow()  # at distance 1; off-centre with a lens shift
    lo, hi = window.GetMin(), window.GetMax()
    u = (p[0] / -p[2] - lo[0]) / (hi[0] - lo[0])
    v = (hi[1] - p[1] / -p[2]) / (hi[1] - lo[1])
    return (float(u * width), float(v * height))


def camera_position(camera: Any, time: float) -> tuple[float, float, float]:
    m = np.asarray(camera.GetCamera(time).transform, np.float64)
    return (float(m[3, 0]), float(m[3, 1]), float(m[3, 2]))


def camera_forward(camera: Any, time: float) -> tuple[float, float, float]:
    m = np.asarray(camera.GetCamera(time).transform, np.float64)
    f = -m[2, :3] / np.linalg.norm(m[2, :3])
    return (float(f[0]), float(f[1]), float(f[2]))
