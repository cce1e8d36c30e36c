"""``moviola vfx deage`` as a project step: consent checked first, kept in the project,
the render in ``vfx/NAME/deage``, the plan's shot marked as de-aged."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ...consent import PROJECT_FOLDER, check_consent_for
from ...core import InputError, Project
from .._project import check_plan_shot, keep_in_project
from ._deage import DeageSettings, Progress, run_deage


def render_deage(settings: DeageSettings, out: Path | None = None, *, project: Project | None = None,
                 force: bool = False, progress: Progress | None = None) -> tuple[dict[str, Any], Path]:  # fmt: skip
    """Render ``settings`` into ``out`` (by default ``vfx/NAME/deage``, or ``deage-preview``,
    in ``project``); returns the report and the folder.

    Consent comes first: a record that allows nothing is not even copied into the project.
    With ``project``, the record is kept in its ``consent/`` folder and the plan's shot
    (which it must hold: said before any work) is marked as a de-aging shot.
    """
    if project is not None:
        settings = replace(settings, project=project.name)
    consent = Path(settings.consent) if settings.consent else None
    check_consent_for(consent, settings.performer, shot=settings.shot, project=settings.project)
    if consent is not None and project is not None:
        settings = replace(settings, consent=str(keep_in_project(consent, project.root / PROJECT_FOLDER,
                                                                  project.root)))  # fmt: skip
    if out is None:
        if project is None:
            raise InputError("a render needs an output folder, or a project to keep it in")
        out = project.root / "vfx" / settings.name / ("deage-preview" if settings.preview else "deage")
    if project is not None and settings.shot is not None:  # a shot the plan does not hold is said before any work
        check_plan_shot(project, settings.shot)
    from ...provenance import credentials_for

    report = run_deage(settings, out, force=force, progress=progress,
                       credentials=credentials_for(project) if project is not None else None)  # fmt: skip
    if project is not None and settings.shot is not None:
        from ...plan import set_shot

        set_shot(project, settings.shot, {"vfx": True, "vfx_kind": "de_aging"})
    return report, out
