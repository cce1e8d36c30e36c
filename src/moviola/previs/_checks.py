"""Layout checks: what would render wrong, flagged before anyone looks at it.

A camera inside a wall or a building renders a grey screen; a subject who has
walked out of frame renders an empty set. Both read as a bug in the previs
when they are a problem in the plan, so they are reported by shot and frame.
The checks read the stage, the same data the renderer sees.
"""

from __future__ import annotations

from typing import Any

from ..plan import Finding, Shot
from ._stage_query import StageCamera, camera_position, character_point, project_world

#: The mannequin's head centre above its feet (metres at 1.75 m tall): what framing keeps.
HEAD_HEIGHT = 1.62


def _solids(stage: Any, time: float) -> list[tuple[str, Any]]:
    """World boxes of the set's solid pieces (the ground is walked on, not inside)."""
    from pxr import Usd, UsdGeom

    folder = stage.GetPrimAtPath("/World/Set")
    if not folder:
        return []
    cache = UsdGeom.BBoxCache(time, [UsdGeom.Tokens.default_, UsdGeom.Tokens.render])
    out = []
    for prim in Usd.PrimRange(folder):
        if prim == folder or not prim.IsA(UsdGeom.Gprim) or prim.GetName() == "ground":
            continue
        box = cache.ComputeWorldBound(prim).ComputeAlignedRange()
        if not box.IsEmpty():
            out.append((prim.GetName(), box))
    return out


def check_shot(stage: Any, cam: StageCamera, shot: Shot, width: int = 1000) -> list[Finding]:
    """Findings for one shot: camera inside a solid or under the ground; subjects out of frame."""
    from pxr import Gf

    height = max(1, round(width / shot.camera.aspect))
    findings: list[Finding] = []
    times = sorted({float(cam.first), float((cam.first + cam.last) // 2), float(cam.last)})
    solids = _solids(stage, float(cam.first))
    for time in (times[0], times[-1]):
        pos = camera_position(cam.camera, time)
        for name, box in solids:
            if box.Contains(Gf.Vec3d(*pos)):
                findings.append(Finding(
                    "camera-inside-set", shot.scene, [shot.id],
                    f"at frame {int(time)} the camera of {shot.id} is inside the set piece "
                    f"'{name}': it would see only the inside of the wall",
                    severity="error",
                ))  # fmt: skip
                break
        if pos[1] < 0.02:
            findings.append(Finding(
                "camera-below-ground", shot.scene, [shot.id],
                f"at frame {int(time)} the camera of {shot.id} is {pos[1]:.2f} m, below the ground",
                severity="error",
            ))  # fmt: skip
        if findings:
            break
    for subject in shot.subjects:
        lost = []
        for time in times:
            point = character_point(stage, subject, time, HEAD_HEIGHT)
            if point is None:
                continue
            px = project_world(cam.camera, time, point, width, height)
            if px is None or not (0 <= px[0] <= width and 0 <= px[1] <= height):
                lost.append(int(time))
        if lost:
            findings.append(Finding(
                "subject-out-of-frame", shot.scene, [shot.id],
                f"{subject} is out of frame in {shot.id} at frame"
                f"{'s' if len(lost) > 1 else ''} {', '.join(map(str, lost))}",
            ))  # fmt: skip
    return findings
