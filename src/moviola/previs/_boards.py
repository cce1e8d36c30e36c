"""Storyboards of one scene: key frames rendered from its stage, panels, passes.

A static shot gets one panel; a moving one (or one whose subjects move) gets a
START and an END panel. The first key frame of every shot also writes the
passes generative tools take as guides: depth and normals as EXR, object ids,
line art and the render itself (``beauty``) as PNG, with ``ids.json`` naming each id.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core import write_text_atomic
from ..core._image_io import write_exr, write_png
from ..plan import Finding, Shot
from ..plan._vocabulary import TRAVELLING
from ..provenance import Ingredient, ModelUse, Stamp, finisher
from ._checks import CHECK_WIDTH, subject_findings
from ._image_io import id_colour, id_image
from ._render import Renderer
from ._stage_query import (
    StageCamera,
    camera_forward,
    camera_position,
    character_point,
    project_world,
    stage_cameras,
)
from ._storyboard import Arrow, PanelText, compose_panel

MOVES_THAT_NEED_TWO_KEYS = TRAVELLING | {"pan", "tilt", "zoom"}


@dataclass(frozen=True)
class BoardPanel:
    shot: str
    key: str  # "" (static), "start", "end"
    image: Path
    caption: str
    text: str


@dataclass
class SceneBoards:
    scene: str
    panels: list[BoardPanel] = field(default_factory=list)
    passes: dict[str, dict[str, str]] = field(default_factory=dict)  # shot -> pass -> path
    notes: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # subjects not seen in their key frames
    looked: list[BoardPanel] = field(default_factory=list)  # the same panels in a look, if one was asked


def frame_size(aspect: float, width: int = 1920) -> tuple[int, int]:
    return width, max(2, round(width / aspect / 2) * 2)


def _colour(stage: Any, name: str) -> tuple[int, int, int]:
    from pxr import Usd, UsdGeom

    folder = stage.GetPrimAtPath("/World/Characters")
    for prim in folder.GetChildren() if folder else []:
        if prim.GetName() != name:
            continue
        for child in Usd.PrimRange(prim):
            if child.IsA(UsdGeom.Gprim):
                c = UsdGeom.Gprim(child).GetDisplayColorAttr().Get()
                if c:
                    return tuple(int(min(255, v * 255 * 1.25)) for v in c[0])  # type: ignore[return-value]
    return (255, 255, 255)


def movement_arrows(stage: Any, cam: StageCamera, shot: Shot, width: int, height: int
                    ) -> tuple[list[Arrow], str]:  # fmt: skip
    """Arrows for the START panel: the camera's move and each subject's path."""
    arrows: list[Arrow] = []
    push = ""
    t0, t1 = float(cam.first), float(cam.last)
    if shot.movement in ("dolly in", "zoom"):
        push = "in"
    elif shot.movement == "dolly out":
        push = "out"
    elif shot.movement != "static" and t1 > t0:
        distance = shot.subject_distance_m or 5.0
        pos, fwd = camera_position(cam.camera, t1), camera_forward(cam.camera, t1)
        target = tuple(p + f * distance for p, f in zip(pos, fwd, strict=True))
        end = project_world(cam.camera, t0, target, width, height)  # type: ignore[arg-type]
        centre = (width / 2, height / 2)
        if end is not None and math.dist(end, centre) > width * 0.04:
            # Clamp into the frame, keeping the direction.
            dx, dy = end[0] - centre[0], end[1] - centre[1]
            k = min(1.0, (width * 0.42) / max(abs(dx), 1e-9), (height * 0.4) / max(abs(dy), 1e-9))
            arrows.append(Arrow(centre, (centre[0] + dx * k, centre[1] + dy * k),
                                label=shot.movement.upper()))  # fmt: skip
    for name in shot.subjects:
        a = character_point(stage, name, t0)
        b = character_point(stage, name, t1)
        if a is None or b is None:
            continue
        pa = project_world(cam.camera, t0, a, width, height)
        pb = project_world(cam.camera, t0, b, width, height)
        if pa and pb and math.dist(pa, pb) > width * 0.03:
            arrows.append(Arrow(pa, pb, _colour(stage, name), name))
    return arrows, push


def render_scene_boards(
    renderer: Renderer,
    stage: Any,
    heading: str,
    shots: Sequence[Shot],
    texts: dict[str, str],
    out_dir: Path,
    *,
    passes_dir: Path | None = None,
    width: int = 1920,
    progress: Callable[[], None] | None = None,
    notes: dict[str, str] | None = None,
    stamp: Stamp | None = None,
    look: Any = None,
    look_dir: Path | None = None,
) -> SceneBoards:
    """Panels (and passes) for every shot of one scene's stage, each signed with
    ``stamp``'s Content Credentials (procedural: ``algorithmicMedia``).

    ``look`` (a ``moviola.gen`` backend, e.g. the style network) redraws each key frame
    before its card is composed, into a second set of panels in ``look_dir``: the
    procedural panels stay, and each looked panel names its procedural one as parent.
    """
    scene_number = str(shots[0].scene) if shots else ""
    result = SceneBoards(scene_number)
    cams = stage_cameras(stage)
    scene = renderer.load(stage)
    # The GPU (or llvmpipe) renders the next frame while threads compose and compress
    # this one: PNG and EXR encoders release the GIL.
    pool = ThreadPoolExecutor(max_workers=2)
    jobs: list[Future[Any]] = []
    try:
        for shot in shots:
            cam = cams.get(shot.id)
            if cam is None:
                result.notes.append(f"shot {shot.id}: no camera in the stage")
                continue
            w, h = frame_size(shot.camera.aspect, width)
            arrows, push = movement_arrows(stage, cam, shot, w, h)
            moving = shot.movement in MOVES_THAT_NEED_TWO_KEYS or any(
                a.colour != (255, 214, 10) for a in arrows
            )
            # a VFX shot's element plays through it (a tower falls): start and end, like a move
            staged = bool(cam.camera.GetPrim().GetCustomDataByKey("moviola:subjects")) and shot.vfx
            keys = [("start", float(cam.first)), ("end", float(cam.last))] if (moving or staged) and \
                cam.last > cam.first else [("", float(cam.first))]  # fmt: skip
            check_h = frame_size(shot.camera.aspect, CHECK_WIDTH)[1]
            seen = [(int(t), scene.render(cam.camera, t, CHECK_WIDTH, check_h, passes="ids", ink=0).ids)
                    for _, t in keys]  # fmt: skip
            found = subject_findings(stage, cam, shot, seen, scene.objects)
            result.findings += found
            shot_notes = ([notes[shot.id]] if notes and shot.id in notes else []) + [f.explanation for f in found]
            for i, (key, time) in enumerate(keys):
                frame = scene.render(cam.camera, time, w, h, passes=passes_dir is not None and i == 0)
                text = PanelText(
                    shot=shot.id, scene=shot.scene, heading=heading, size=shot.size,
                    angle=shot.angle, movement=shot.movement, lens_mm=shot.lens_mm,
                    duration_s=shot.duration_s, text=texts.get(shot.id, shot.description),
                    key=key, frames=(cam.first, cam.last), push=push if i == 0 else "",
                    notes=shot_notes,
                )  # fmt: skip
                name = f"{shot.id}-{key}.png" if key else f"{shot.id}.png"
                path = out_dir / name
                sign = finisher(path, stamp, f"storyboard panel {shot.id}{' ' + key if key else ''}",
                                details={"scene": shot.scene, "shot": shot.id, "key": key or "still",
                                         "frame": int(time)})  # fmt: skip
                panel_job = pool.submit(_write_panel, path, frame.rgb, text, arrows if i == 0 else [], sign)
                jobs.append(panel_job)
                result.panels.append(BoardPanel(shot.id, key, path, text.caption, text.text))
                if look is not None and look_dir is not None:
                    looked = look_dir / name
                    sign_look = finisher(looked, stamp, f"storyboard panel {shot.id}{' ' + key if key else ''}, "
                                         f"{look.name} look", source_type="compositeWithTrainedAlgorithmicMedia",
                                         parent=Ingredient(path, "storyboard panel", "parentOf"),
                                         models=tuple(ModelUse.of(m) for m in look.models),
                                         details={"scene": shot.scene, "shot": shot.id, "look": look.name})  # fmt: skip
                    jobs.append(pool.submit(_write_look_panel, panel_job, look, looked, frame.rgb, text,
                                            arrows if i == 0 else [], sign_look))  # fmt: skip
                    result.looked.append(BoardPanel(shot.id, key, looked, text.caption, text.text))
                if passes_dir is not None and i == 0:
                    folder = passes_dir / shot.id
                    result.passes[shot.id] = _pass_paths(folder)
                    jobs.append(pool.submit(_write_passes, folder, frame, scene.objects, stamp, shot))
            if progress:
                progress()
        for job in jobs:
            job.result()  # re-raise a failed write here, in the caller
    finally:
        pool.shutdown(wait=True)
        scene.release()
    return result


def _write_panel(path: Path, rgb: Any, text: PanelText, arrows: list[Arrow],
                 sign: Callable[[Path], None] | None) -> Path:
    return write_png(path, compose_panel(rgb, text, arrows), sign)


def _write_look_panel(after: Future[Any], look: Any, path: Path, rgb: Any, text: PanelText,
                      arrows: list[Arrow], sign: Callable[[Path], None] | None) -> Path:
    """The key frame redrawn by ``look``, then carded like its procedural panel (the type
    is set after: a style network redraws letters too)."""
    from ..gen import GenRequest, check_output

    after.result()  # the procedural panel, its parent, is written first
    request = GenRequest(np.asarray(rgb, np.float32) / 255.0, prompt=f"storyboard panel, {look.name} look",
                         strength=1.0)  # fmt: skip
    out = check_output(request, look.refine(request), look.name)
    picture = np.clip(out * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return write_png(path, compose_panel(picture, text, arrows), sign)


def _pass_paths(folder: Path) -> dict[str, str]:
    names = {"beauty": "beauty.png", "depth": "depth.exr", "normals": "normals.exr", "id": "id.png",
             "lineart": "lineart.png", "ids": "ids.json"}  # fmt: skip
    return {k: str(folder / v) for k, v in names.items()}


def _write_passes(folder: Path, frame: Any, objects: list[str], stamp: Stamp | None = None,
                  shot: Shot | None = None) -> None:
    """Depth (metres) and normals as float EXR; object ids (with a legend) and line art as PNG."""
    assert frame.depth is not None and frame.normals is not None and frame.ids is not None
    paths = {k: Path(v) for k, v in _pass_paths(folder).items()}

    def sign(name: str) -> Callable[[Path], None] | None:
        what = f"{name} pass of shot {shot.id}" if shot else f"{name} pass"
        details = {"scene": shot.scene, "shot": shot.id} if shot else {}
        return finisher(paths[name], stamp, what, details={**details, "pass": name})

    coverage = (frame.ids > 0).astype(np.float32)
    write_exr(paths["depth"], {"Z": frame.depth, "A": coverage}, finish=sign("depth"))
    n = frame.normals
    write_exr(paths["normals"], {"R": n[..., 0], "G": n[..., 1], "B": n[..., 2], "A": coverage},
              finish=sign("normals"))
    write_png(paths["id"], id_image(frame.ids, len(objects)), sign("id"))
    legend = {"0": {"name": "sky", "rgb": list(id_colour(0))}} | {
        str(i + 1): {"name": name, "rgb": list(id_colour(i + 1))} for i, name in enumerate(objects)
    }
    write_text_atomic(folder / "ids.json", json.dumps(legend, indent=2) + "\n")
    write_png(paths["lineart"], frame.line, sign("lineart"))
    write_png(paths["beauty"], frame.rgb, sign("beauty"))  # the render itself: what a generator starts from
