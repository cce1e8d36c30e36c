"""A VFX shot in a project: its inputs kept inside it, and the plan's shot it is.

A render made with ``--project`` keeps copies of what it was made from (a collapse's
plate, a de-aging's consent record) inside the project, so the project carries its own
inputs; a shot named with ``--shot`` must be one the plan holds, checked before any work.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from ..core import InputError, Project, atomic_path


def keep_in_project(source: Path, folder: Path, root: Path) -> Path:
    """``source`` inside the project (in ``folder``), copied once, atomically and never over
    a different file of the same name, so the project carries its own inputs."""
    source = source.resolve()
    if not source.is_file() or source.is_relative_to(root.resolve()):
        return source
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    dest = folder / source.name
    if dest.is_file() and hashlib.sha256(dest.read_bytes()).hexdigest() != digest:
        dest = dest.with_name(f"{source.stem}.{digest[:8]}{source.suffix}")
    if not dest.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(dest, source.suffix) as tmp:
            shutil.copyfile(source, tmp)
    return dest


def check_plan_shot(project: Project, shot: str) -> None:
    """Refuse a shot the project's plan does not hold (said before any work)."""
    from ..plan import load_plan

    if not any(s.get("id") == shot for s in load_plan(project).get("shots", [])):
        raise InputError(f"the plan has no shot {shot}", project.path("documents/plan.json"))
