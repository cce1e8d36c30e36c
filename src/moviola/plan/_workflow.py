"""Project-level steps of the planning stage: plan, audit, edit shots.

Reads ``documents/breakdown.json`` (the script stage's output) and writes
``documents/plan.json``; every write is atomic and a plan that fails
validation is never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..core import (
    Document,
    DocumentError,
    InputError,
    Project,
    atomic_batch,
    locked,
    now_iso,
    read_document,
    schema_tag,
    write_document,
)
from ..script import ensure_breakdown, load_breakdown
from ._audit import audit_plan
from ._cameras import parse_aspect
from ._model import Finding, shot_from_json, shots_from_plan
from ._plan import build_plan
from ._reports import write_plan_reports

PLAN_DOC = "documents/plan.json"
AUDIT_DOC = "documents/audit.json"


@dataclass(frozen=True)
class PlanResult:
    document: Document
    changes: dict[str, Any]
    findings: list[Finding]
    path: Path
    reports: dict[str, Path]
    upstream: list[str] = field(default_factory=list)  # earlier steps this run made first


def load_plan(project: Project) -> Document:
    path = project.path(PLAN_DOC)
    if not path.exists():
        raise DocumentError("no shot plan yet; run 'moviola plan DIR' first", path)
    doc = read_document(path, expect="ShotPlan")
    try:
        shots_from_plan(doc)
    except DocumentError as exc:
        raise DocumentError(exc.message, path) from exc
    return doc


@locked
def run_plan(
    project: Project,
    *,
    style: str | None = None,
    seed: int | None = None,
    camera: str | None = None,
    aspect: str | float | None = None,
    fps: float | None = None,
    use_model: bool = True,
) -> PlanResult:
    """Create or update the plan; people's edits on unchanged scenes are kept.

    A missing or stale breakdown is made first (``use_model`` as ``moviola breakdown``).
    """
    upstream = ["breakdown"] if ensure_breakdown(project, use_model=use_model) else []
    breakdown = load_breakdown(project)
    if any("beats" not in s for s in breakdown.get("scenes", [])):
        raise DocumentError(
            "the breakdown has no beats (made by an older Moviola); run 'moviola breakdown' again",
            project.path("documents/breakdown.json"),
        )
    previous = load_plan(project) if project.path(PLAN_DOC).exists() else None
    old = (previous or {}).get("settings", {})
    doc, changes = build_plan(
        breakdown,
        style=style or old.get("style", "classical"),
        seed=seed if seed is not None else int(old.get("seed", 0)),
        camera=camera or old.get("camera", "alexa35"),
        aspect=parse_aspect(aspect) if aspect is not None else float(old.get("aspect", 2.39)),
        fps=fps or float(old.get("fps", 24.0)),
        previous=previous,
    )
    doc["generated"] = now_iso()
    if previous is not None:
        doc["changes"] = changes
    return replace(_save(project, doc, changes), upstream=upstream)


def plan_is_current(project: Project) -> bool:
    """Whether the plan exists and was made from the current breakdown (the script's, with
    the tags as last reviewed)."""
    script = project.require_script()
    plan_path, bd_path = project.path(PLAN_DOC), project.path("documents/breakdown.json")
    if not plan_path.exists() or not bd_path.exists():
        return False
    return bool(load_plan(project).get("breakdown", {}).get("sha256") == script.sha256
                and bd_path.stat().st_mtime <= plan_path.stat().st_mtime)  # fmt: skip


@locked
def ensure_plan(project: Project, *, use_model: bool = True) -> list[str]:
    """Make the breakdown and the plan when missing or stale; returns the steps that ran."""
    ran = ["breakdown"] if ensure_breakdown(project, use_model=use_model) else []
    if not plan_is_current(project):
        run_plan(project, use_model=use_model)
        ran.append("plan")
    return ran


def _save(project: Project, doc: Document, changes: dict[str, Any]) -> PlanResult:
    shots_from_plan(doc)  # never write a plan that does not validate
    findings = audit_plan(doc)
    with atomic_batch():  # plan, audit and reports land together or not at all
        reports = write_plan_reports(doc, findings, project.path("reports"))
        out = write_document(project.path(PLAN_DOC), doc)
        write_document(project.path(AUDIT_DOC), audit_document(findings))
    return PlanResult(doc, changes, findings, out, reports)


def audit_document(findings: list[Finding]) -> Document:
    return {"schema": schema_tag("Audit"), "findings": [f.to_json() for f in findings]}


@locked
def run_audit(project: Project) -> list[Finding]:
    doc = load_plan(project)
    findings = audit_plan(doc)
    with atomic_batch():
        write_plan_reports(doc, findings, project.path("reports"))
        write_document(project.path(AUDIT_DOC), audit_document(findings))
    return findings


SETTABLE = {
    "lens_mm": float, "size": str, "angle": str, "movement": str, "duration_s": float,
    "notes": str, "cross_line": bool, "fps": float, "shutter_deg": float, "description": str,
    "vfx": bool, "vfx_kind": str, "vfx_recipe": str,
}  # fmt: skip


@locked
def set_shot(project: Project, shot_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Change fields of one shot by hand; they are kept when the plan is regenerated."""
    doc = load_plan(project)
    shot = next((s for s in doc["shots"] if s["id"] == shot_id), None)
    if shot is None:
        raise InputError(f"no shot '{shot_id}' in the plan")
    for key, value in changes.items():
        if key not in SETTABLE:
            raise InputError(f"shot {shot_id}: field '{key}' cannot be set here")
        shot[key] = value
        if key not in shot.setdefault("edited", []):
            shot["edited"].append(key)
    characters = {c["name"] for sc in doc["scenes"] for c in sc["blocking"].get("characters", [])}
    shot_from_json(shot, characters or None)  # refuse impossible values before writing
    _save(project, doc, {})
    result: dict[str, Any] = dict(shot)
    return result


@locked
def delete_shot(project: Project, shot_id: str) -> dict[str, Any]:
    """Remove a shot: its part of the cut goes to the scene's master (or the cut before)."""
    doc = load_plan(project)
    shot = next((s for s in doc["shots"] if s["id"] == shot_id), None)
    if shot is None:
        raise InputError(f"no shot '{shot_id}' in the plan")
    scene = next(sc for sc in doc["scenes"] if shot_id in sc["shot_ids"])
    master = next((s["id"] for s in doc["shots"] if s["id"] in scene["shot_ids"]
                   and s.get("purpose") == "master" and s["id"] != shot_id), None)  # fmt: skip
    edit: list[dict[str, Any]] = []
    for item in scene["edit"]:
        if item["shot"] == shot_id:
            heir = master or (edit[-1]["shot"] if edit else None)
            if heir is None:
                continue
            item = {**item, "shot": heir}
        edit.append(item)
    scene["edit"] = edit
    scene["shot_ids"] = [i for i in scene["shot_ids"] if i != shot_id]
    for other in doc["shots"]:  # shots cut in after this one now follow its heir
        if other.get("cut_after") == shot_id:
            other["cut_after"] = master
    doc_scene_total = sum(i["duration_s"] for i in edit)
    scene["duration_s"] = round(doc_scene_total, 1)
    if shot.get("setup"):
        scene.setdefault("deleted_setups", []).append(shot["setup"])
    doc["shots"] = [s for s in doc["shots"] if s["id"] != shot_id]
    doc.setdefault("retired_ids", []).append(shot_id)
    for s in doc["shots"]:  # durations follow the cut
        if s["id"] in scene["shot_ids"]:
            used = sum(i["duration_s"] for i in scene["edit"] if i["shot"] == s["id"])
            if used > 0 and "duration_s" not in s.get("edited", []):
                s["duration_s"] = round(used, 1)
    doc["totals"]["shots"] = len(doc["shots"])
    _save(project, doc, {})
    deleted: dict[str, Any] = {str(k): v for k, v in shot.items()}
    return deleted


@locked
def add_shot(
    project: Project,
    scene_number: str,
    *,
    size: str,
    subjects: list[str],
    duration_s: float,
    lens_mm: float | None = None,
    angle: str = "eye level",
    movement: str = "static",
    after: str | None = None,
    description: str = "",
) -> dict[str, Any]:
    """Add a shot of one's own; it is framed like a single and kept across re-plans."""
    from ._audit import blocking_from_json
    from ._cameras import camera as camera_body
    from ._cameras import nearest_prime
    from ._coverage import LENS_BY_SIZE, shot_ids
    from ._framing import distance_for_size, make_camera, single_position
    from ._model import Shot

    doc = load_plan(project)
    scene = next((s for s in doc["scenes"] if s["number"] == scene_number), None)
    if scene is None:
        raise InputError(f"no scene '{scene_number}' in the plan")
    blocking = blocking_from_json(scene.get("blocking", {}))
    unknown = [n for n in subjects if n not in blocking.people]
    if unknown:
        raise InputError(f"scene {scene_number} has no {', '.join(unknown)} on the floor plan")
    edit = scene.get("edit", [])
    at = len(edit)
    if after is not None:
        uses = [i for i, e in enumerate(edit) if e["shot"] == after]
        if not uses:
            raise InputError(f"shot '{after}' is not in scene {scene_number}'s cut")
        at = uses[-1] + 1
    beat = edit[at - 1]["beat"] if at else 0
    settings = doc["settings"]
    body = camera_body(settings["camera"])
    aspect = float(settings["aspect"])
    from ._vocabulary import SIZES

    if size not in SIZES:
        raise InputError(f"size '{size}' is not one of {', '.join(SIZES)}")
    lens = lens_mm or nearest_prime(LENS_BY_SIZE[size] * body.width_mm / 24.89, body)
    if subjects:
        mark = blocking.people[subjects[0]].at(beat)
        target, facing = (mark.x, mark.y), mark.facing
        eye = blocking.people[subjects[0]].height * 0.93
    else:
        target, facing, eye = (0.0, 0.0), -90.0, 1.2
    dist = distance_for_size(size, lens, body, aspect)
    pos = single_position(target, facing, dist, blocking.line_at(beat), blocking.side_at(beat))
    cam = make_camera(body, lens, aspect, pos, eye, target, eye)
    taken = {s["id"] for s in doc["shots"]} | set(doc.get("retired_ids", []))
    taken |= {s["number"] for s in doc["scenes"]} - {scene_number}
    sid = shot_ids(scene_number, 1, taken)[0]
    shot = Shot(
        id=sid, scene=scene_number, size=size, angle=angle, movement=movement, lens_mm=lens,
        camera=cam, fps=float(settings["fps"]), shutter_deg=float(settings["shutter_deg"]),
        subjects=list(subjects), duration_s=duration_s, purpose="user",
        description=description or f"added: {size} {', '.join(subjects) or 'cutaway'}",
        subject_distance_m=round(dist, 2), user_added=True,
        edited=["size", "angle", "movement", "lens_mm", "camera", "subjects", "duration_s",
                "description"],
    ).to_json()  # fmt: skip
    shot["setup"] = f"user:{sid}"
    if after is not None:
        shot["cut_after"] = after  # where it goes back into the cut when the scene is re-covered
    characters = {c["name"] for sc in doc["scenes"] for c in sc["blocking"].get("characters", [])}
    shot_from_json(shot, characters or None)
    last = max((i for i, s in enumerate(doc["shots"]) if s["id"] in scene["shot_ids"]), default=-1)
    doc["shots"].insert(last + 1, shot)
    scene["shot_ids"].append(sid)
    edit.insert(at, {"shot": sid, "beat": beat, "duration_s": duration_s})
    scene["edit"] = edit
    scene["duration_s"] = round(sum(i["duration_s"] for i in edit), 1)
    doc["totals"]["shots"] = len(doc["shots"])
    _save(project, doc, {})
    result: dict[str, Any] = {str(k): v for k, v in shot.items()}
    return result
