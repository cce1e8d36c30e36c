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


#: Fewer id-pass pixels than this share of a frame and a subject does not read (at 1080p: ~20 px).
MIN_COVER = 1e-5
CHECK_WIDTH = 640  # the id frame the subject check renders (a subject smaller than a pixel is lost)


def subjects_of(cam: StageCamera, shot: Shot) -> list[str]:
    """The object names a shot is of: its characters, and what the layout staged for it
    (``moviola:subjects`` on the camera: the VFX element, the crowd, the weather)."""
    from ._prims import safe

    staged = cam.camera.GetPrim().GetCustomDataByKey("moviola:subjects")
    return [safe(s) for s in shot.subjects] + [str(s) for s in (staged or [])]


def subject_findings(stage: Any, cam: StageCamera, shot: Shot, frames: list[tuple[int, Any]],
                     objects: list[str]) -> list[Finding]:  # fmt: skip
    """For every subject of the shot, a finding for each key frame where it covers no
    pixels of the id pass: which subject, which frame, and what is there instead."""
    import numpy as np

    from ._prims import safe

    names = subjects_of(cam, shot)
    characters = {safe(s) for s in shot.subjects}
    out: list[Finding] = []
    for entry in names:
        choices = entry.split("|")  # "tower|tower_dust": the tower, or what is left of it
        name = choices[0]
        ids_of = [objects.index(n) + 1 for n in choices if n in objects]
        if not ids_of:
            out.append(Finding("subject-not-staged", shot.scene, [shot.id],
                               f"{name} is not in the stage of {shot.id}: nothing can show it"))  # fmt: skip
            continue
        lost = []
        for frame, ids in frames:
            share = float(np.count_nonzero(np.isin(ids, ids_of))) / ids.size
            if share < MIN_COVER:
                why = _instead(stage, name, cam, frame, ids, objects)
                if name in characters and why.startswith((" (out of frame", " (behind the camera")):
                    continue  # said already, by subject-out-of-frame
                lost.append((frame, why))
        if lost:
            where = ", ".join(f"{f}{why}" for f, why in lost)
            out.append(Finding("subject-not-visible", shot.scene, [shot.id],
                               f"{name} covers no pixels of {shot.id} at frame"
                               f"{'s' if len(lost) > 1 else ''} {where}"))  # fmt: skip
    return out


def _instead(stage: Any, name: str, cam: StageCamera, frame: int, ids: Any, objects: list[str]) -> str:
    """Where the subject would be, and what covers that spot (or that it is out of frame)."""
    point = _subject_point(stage, name, float(frame))
    if point is None:
        return ""
    h, w = ids.shape
    px = project_world(cam.camera, float(frame), point, w, h)
    if px is None:
        return " (behind the camera)"
    x, y = px
    if not (0 <= x < w and 0 <= y < h):
        return f" (out of frame, at {x / w:.0%} across, {y / h:.0%} down)"
    other = int(ids[int(y), int(x)])
    what = objects[other - 1] if other > 0 else "nothing (too small or too far)"
    return f" (at {x / w:.0%} across, {y / h:.0%} down: hidden by {what})"


def _subject_point(stage: Any, name: str, time: float) -> tuple[float, float, float] | None:
    """The middle of the subject's bounds at ``time`` (a seated mannequin's, too)."""
    from pxr import UsdGeom

    for group in ("Characters", "Elements", "Crowds", "Weather"):
        prim = stage.GetPrimAtPath(f"/World/{group}/{name}")
        if prim:
            cache = UsdGeom.BBoxCache(time, [UsdGeom.Tokens.default_, UsdGeom.Tokens.render])
            box = cache.ComputeWorldBound(prim).ComputeAlignedRange()
            if box.IsEmpty():
                return None
            c = box.GetMidpoint()
            return (float(c[0]), float(c[1]), float(c[2]))
    return None
