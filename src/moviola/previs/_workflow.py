"""Project-level layout: one USD stage per scene of the plan, validated.

Each stage is written to a temporary file in ``previs/`` and renamed into
place only when USD's validators report no error, so a broken stage never
sits under a final name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core import DocumentError, Project, atomic_path, locked
from ..plan import Shot, ensure_plan, load_plan, shots_from_plan
from ..script import load_breakdown
from ._layout import build_scene_stage, validate_stage


@dataclass(frozen=True)
class LayoutResult:
    stages: dict[str, Path]  # scene number -> .usda
    upstream: list[str] = field(default_factory=list)  # earlier steps this run made first


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
    for scene in doc["scenes"]:
        number = scene["number"]
        target = out_dir / f"scene-{number}.usda"
        write_stage(target, scene, [s for s in shots if s.scene == number], fps,
                    beats.get(str(number)))  # fmt: skip
        stages[number] = target
    return LayoutResult(stages, upstream)


def scene_beats(project: Project) -> dict[str, list[dict[str, Any]]]:
    """The breakdown's beats (with their text) by scene number; empty without a breakdown."""
    if not project.path("documents/breakdown.json").exists():
        return {}
    doc = load_breakdown(project)
    return {str(s["number"]): list(s.get("beats", [])) for s in doc.get("scenes", [])}


def write_stage(target: Path, scene: dict[str, Any], shots: list[Shot], fps: float,
                beats: list[dict[str, Any]] | None = None) -> Path:  # fmt: skip
    """Build, validate and save one scene's stage; it replaces ``target`` only when valid."""
    with atomic_path(target, ".usda") as tmp:
        stage = build_scene_stage(scene, shots, fps, tmp, beats=beats)
        errors = validate_stage(stage)
        if errors:
            raise DocumentError(
                f"scene {scene['number']}: USD validation failed: {errors[0]}", target
            )
        stage.GetRootLayer().Save()
        del stage
    return target
