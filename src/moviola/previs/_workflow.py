"""Project-level layout: one USD stage per scene of the plan, validated.

Each stage is written to a temporary file in ``previs/`` and renamed into
place only when USD's validators report no error, so a broken stage never
sits under a final name. ``moviola layout`` and ``moviola previs`` share one rule
(:func:`update_stage`): a stage is rewritten only when its plan changed, and one
edited by hand is moved aside, never overwritten.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import DocumentError, Project, atomic_path, locked
from ..plan import Shot, ensure_plan, load_plan, shots_from_plan
from ..script import load_breakdown
from ._layout import build_scene_stage, validate_stage
from ._staging import Staging, build_stagings
from ._state import State, digest, file_digest

LAYOUT_VERSION = 12  # bump when the stage builder changes what it writes


@dataclass(frozen=True)
class LayoutResult:
    stages: dict[str, Path]  # scene number -> .usda
    upstream: list[str] = field(default_factory=list)  # earlier steps this run made first
    notices: list[str] = field(default_factory=list)  # e.g. an edited stage kept aside


@locked
def run_layout(project: Project, *, use_model: bool = True) -> LayoutResult:
    """Write every scene's stage; a missing or stale breakdown and plan are made first."""
    upstream = ensure_plan(project, use_model=use_model)
    doc = load_plan(project)
    fps = float(doc["settings"]["fps"])
    shots = shots_from_plan(doc)
    out_dir = project.path("previs")
    out_dir.mkdir(exist_ok=True)
    stages: dict[str, Path] = {}
    beats = scene_beats(project)
    state = State.of(project)
    notices: list[str] = []
    stagings = project_stagings(project, shots, notices)
    for scene in doc["scenes"]:
        number = str(scene["number"])
        stages[number], _, notice = update_stage(state, out_dir, scene,
                                                 [s for s in shots if s.scene == number], fps,
                                                 beats.get(number), stagings.get(number))  # fmt: skip
        if notice:
            notices.append(notice)
    return LayoutResult(stages, upstream, notices)


def update_stage(state: State, out_dir: Path, scene: dict[str, Any], shots: list[Shot], fps: float,
                 beats: list[dict[str, Any]] | None, staging: Staging | None = None
                 ) -> tuple[Path, bool, str | None]:  # fmt: skip
    """Bring one scene's stage up to date: ``(path, written, notice)``.

    Nothing is written when its plan is unchanged. A stage whose bytes differ from what we
    last wrote was edited by hand (in a DCC): it is moved aside as
    ``scene-N.edited-<time>.usda``, never overwritten, and the notice says so.
    """
    number = str(scene["number"])
    target = out_dir / f"scene-{number}.usda"
    key = digest(LAYOUT_VERSION, scene, [s.to_json() for s in shots], fps,
                 [b.get("text") for b in beats or []], staging.to_json() if staging else None)  # fmt: skip
    last = state.get("layout", number) or {}
    if target.exists() and last.get("key") == key:
        return target, False, None
    notice = None
    fresh = target.with_name(f".{target.stem}.new.usda")
    try:
        staged = write_stage(fresh, scene, shots, fps, beats, staging)
        if target.exists() and target.read_bytes() != fresh.read_bytes() and (
            not last.get("written") or file_digest(target) != last["written"]
        ):  # edited by hand since we wrote it (or we cannot tell): keep it, never overwrite
            stamp = time.strftime("%Y%m%d-%H%M%S")
            aside = target.with_name(f"scene-{number}.edited-{stamp}.usda")
            target.rename(aside)
            notice = (f"scene {number}: your edited stage was kept as {aside.name}; "
                      "the plan changed, so the layout was rebuilt")  # fmt: skip
        fresh.replace(target)
    finally:
        fresh.unlink(missing_ok=True)
    state.put("layout", number, {"key": key, "written": file_digest(target), "staged": staged})
    return target, True, notice


def project_stagings(project: Project, shots: list[Shot], notices: list[str]) -> dict[str, Staging]:
    """What the script says each scene looks like (from the breakdown), and the collapse
    recipes linked to plan shots (what the final shot will do); a recipe that cannot be
    read is noted and left out, never fatal to the layout."""
    if not project.path("documents/breakdown.json").exists():
        return {}
    doc = load_breakdown(project)
    recipes: dict[str, tuple[str, dict[str, Any]]] = {}
    for shot in shots:
        if shot.vfx_kind != "collapse" or not shot.vfx_recipe:
            continue
        path = project.path(shot.vfx_recipe)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as exc:
            notices.append(f"shot {shot.id}: its collapse recipe {shot.vfx_recipe} could not be read "
                           f"({exc}); the previs times the collapse from the script")  # fmt: skip
            continue
        recipes[shot.id] = (shot.scene, data)
    return build_stagings(list(doc.get("scenes", [])), recipes)


def scene_beats(project: Project) -> dict[str, list[dict[str, Any]]]:
    """The breakdown's beats (with their text) by scene number; empty without a breakdown."""
    if not project.path("documents/breakdown.json").exists():
        return {}
    doc = load_breakdown(project)
    return {str(s["number"]): list(s.get("beats", [])) for s in doc.get("scenes", [])}


def write_stage(target: Path, scene: dict[str, Any], shots: list[Shot], fps: float,
                beats: list[dict[str, Any]] | None = None, staging: Staging | None = None
                ) -> dict[str, Any]:  # fmt: skip
    """Build, validate and save one scene's stage; it replaces ``target`` only when valid.

    Returns what was staged in it (the set, the hour, elements, crowds, weather), for previs.json.
    """
    with atomic_path(target, ".usda") as tmp:
        stage = build_scene_stage(scene, shots, fps, tmp, beats=beats, staging=staging)
        errors = validate_stage(stage)
        if errors:
            raise DocumentError(
                f"scene {scene['number']}: USD validation failed: {errors[0]}", target
            )
        stage.GetRootLayer().Save()
        world = stage.GetPrimAtPath("/World")
        staged = json.loads(str(world.GetCustomDataByKey("moviola:staged") or "{}"))
        staged.setdefault("set", str(world.GetCustomDataByKey("moviola:set_kind") or ""))
        staged["hour"] = str(world.GetCustomDataByKey("moviola:hour") or "")
        del stage
    return dict(staged)
