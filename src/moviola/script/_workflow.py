"""Project-level steps of the script stage: import, break down, edit tags.

This is the adapter between the project folder on disk and the I/O-free
parsers and breakdown model. Every write is atomic; a failure leaves the
project as it was.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core import (
    DependencyError,
    Document,
    DocumentError,
    InputError,
    Project,
    ScriptRevision,
    add_script_revision,
    atomic_batch,
    locked,
    now_iso,
    read_bytes_checked,
    read_document,
    write_document,
)
from ._breakdown import CATEGORIES, STATUSES, VFX_KINDS, ProgressFn, build_breakdown, tag_id
from ._model import Screenplay
from ._reader import detect_format, screenplay_from_bytes
from ._reports import write_reports
from ._revision import Report, carry_over

BREAKDOWN_DOC = "documents/breakdown.json"


@dataclass(frozen=True)
class ImportResult:
    revision: ScriptRevision
    new: bool
    screenplay: Screenplay


@locked
def import_script(project: Project, path: str | Path) -> ImportResult:
    """Validate a screenplay by parsing it, then copy it in as a new revision."""
    src = Path(path)
    data = read_bytes_checked(src)
    screenplay = screenplay_from_bytes(data, src)  # refuse bad input before copying
    fmt = detect_format(src, data)
    revision, new = add_script_revision(project, src, data, fmt)
    return ImportResult(revision, new, screenplay)


def load_current_script(project: Project) -> tuple[ScriptRevision, Screenplay]:
    revision = project.require_script()
    path = project.path(revision.file)
    data = read_bytes_checked(path)
    return revision, screenplay_from_bytes(data, path)


def load_breakdown(project: Project) -> Document:
    path = project.path(BREAKDOWN_DOC)
    if not path.exists():
        raise DocumentError("no breakdown yet; run 'moviola breakdown DIR' first", path)
    return read_document(path, expect="Breakdown")


@dataclass(frozen=True)
class BreakdownResult:
    document: Document
    changes: Report | None
    path: Path
    reports: dict[str, Path]


@locked
def run_breakdown(
    project: Project,
    *,
    use_model: bool = True,
    model_dir: str | Path | None = None,
    allow_non_commercial: bool = False,
    backend: str = "onnx",
    progress: ProgressFn | None = None,
) -> BreakdownResult:
    """Break down the current script; keep people's decisions from the last run."""
    revision, screenplay = load_current_script(project)
    classifier = None
    cached = None
    fallback: str | None = None
    if use_model:
        from ._classifier import LineClassifier
        from ._embedding import CachedEmbedder, load_embedder

        if progress:
            progress("load model", 0, 1)
        try:
            inner = load_embedder(
                model_dir, backend=backend, allow_non_commercial=allow_non_commercial
            )
        except DependencyError as exc:
            if model_dir is not None:
                raise  # the user asked for this model: say why it cannot run
            fallback = f"rules only: {exc}"  # the default path works without the extra
        else:
            cached = CachedEmbedder(inner, project.path("cache", "embeddings.npz"))
            classifier = LineClassifier(cached)
        if progress:
            progress("load model", 1, 1)
    try:
        doc = build_breakdown(
            screenplay,
            classifier=classifier,
            script={
                "file": revision.file,
                "sha256": revision.sha256,
                "revision": revision.revision,
            },
            progress=progress,
        )
    finally:
        if cached is not None:
            cached.save()  # even when interrupted: a re-run embeds only what is left
    if fallback:
        doc["classifier"]["reason"] = fallback
    doc["generated"] = now_iso()
    out = project.path(BREAKDOWN_DOC)
    changes = None
    if out.exists():
        previous = read_document(out, expect="Breakdown")
        changes = carry_over(previous, doc)
        doc["changes"] = changes
    with atomic_batch():  # the document and its reports land together or not at all
        write_document(out, doc)
        reports = write_reports(doc, project.path("reports"), screenplay)
    return BreakdownResult(doc, changes, out, reports)


def breakdown_is_current(project: Project) -> bool:
    """Whether ``documents/breakdown.json`` exists and was made from the current script."""
    script = project.require_script()
    if not project.path(BREAKDOWN_DOC).exists():
        return False
    return bool(load_breakdown(project).get("script", {}).get("sha256") == script.sha256)


@locked
def ensure_breakdown(project: Project, *, use_model: bool = True,
                     progress: ProgressFn | None = None) -> BreakdownResult | None:  # fmt: skip
    """Run the breakdown when it is missing or older than the script, as every later step
    needs it; ``None`` when it was already up to date."""
    if breakdown_is_current(project):
        return None
    return run_breakdown(project, use_model=use_model, progress=progress)


def find_tag(doc: Document, tid: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for scene in doc["scenes"]:
        for tag in scene["tags"]:
            if tag["id"] == tid:
                return scene, tag
    raise InputError(f"no tag with id '{tid}' in the breakdown")


@locked
def set_tag_status(
    project: Project, ids: list[str], status: str, comment: str | None = None
) -> list[dict[str, Any]]:
    """Accept or reject tags by id (all or nothing) and rewrite the reports."""
    if status not in STATUSES:
        raise InputError(f"status must be one of {', '.join(STATUSES)}")
    doc = load_breakdown(project)
    changed = []
    for tid in ids:
        _, tag = find_tag(doc, tid)
        tag["status"] = status
        if comment:
            tag["comment"] = comment
        changed.append(tag)
    _save(project, doc)
    return changed


@locked
def add_tag(
    project: Project,
    scene_number: str,
    kind: str,
    name: str,
    vfx_kind: str | None = None,
) -> dict[str, Any]:
    """Add a tag by hand (accepted, source ``user``), anchored where the name appears."""
    if kind not in CATEGORIES:
        raise InputError(f"unknown category '{kind}'; one of: {', '.join(CATEGORIES)}")
    if kind == "vfx":
        vfx_kind = vfx_kind or "other"
        if vfx_kind not in VFX_KINDS:
            raise InputError(f"unknown VFX kind '{vfx_kind}'; one of: {', '.join(VFX_KINDS)}")
    doc = load_breakdown(project)
    scene = next((s for s in doc["scenes"] if s["number"] == scene_number), None)
    if scene is None:
        raise InputError(f"no scene numbered '{scene_number}'")
    _, screenplay = load_current_script(project)
    span = {"line": scene["span"]["line"], "start": 0, "end": 0}
    context = scene["heading"]
    from ._breakdown import split_scenes

    idx = doc["scenes"].index(scene)
    parts, _ = split_scenes(screenplay)
    if idx < len(parts):
        # Case- and accent-insensitive: "bandoneon" finds "bandoneón".
        pattern = re.compile(re.escape(fold(name)), re.I)
        for el in parts[idx].elements:
            m = pattern.search(fold(el.text))
            if m:
                sp = el.span_of(m.start(), m.end())
                span = sp.to_json()
                context = next((sl.text for sl in el.lines if sl.line == sp.line), el.text)
                break
    tag: dict[str, Any] = {
        "id": tag_id(scene["key"], kind, vfx_kind, name),
        "kind": kind,
        "name": name,
        "text": name,
        "span": span,
        "context": context.strip(),
        "confidence": 1.0,
        "status": "accepted",
        "source": "user",
        "mentions": 1,
    }
    if vfx_kind:
        tag["vfx_kind"] = vfx_kind
    if any(t["id"] == tag["id"] for t in scene["tags"]):
        raise InputError(f"scene {scene_number} already has this tag ({tag['id']})")
    scene["tags"].append(tag)
    _save(project, doc)
    return tag


def fold(text: str) -> str:
    """Strip accents character by character, keeping every offset where it was."""
    return "".join(unicodedata.normalize("NFD", ch)[0] if ch else ch for ch in text)


def _save(project: Project, doc: Document) -> None:
    screenplay = None
    with contextlib.suppress(InputError):
        _, screenplay = load_current_script(project)
    with atomic_batch():  # the document and its reports land together or not at all
        write_document(project.path(BREAKDOWN_DOC), doc)
        write_reports(doc, project.path("reports"), screenplay)
