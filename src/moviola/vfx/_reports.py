"""A render folder's ``report.json``, whichever effect made it (``moviola vfx report``)."""

from __future__ import annotations

import json
from pathlib import Path

from ..core import Document, InputError


def read_render_report(folder: Path) -> tuple[str, Document]:
    """``("collapse" | "deage", report)`` of the render in ``folder``: read as the document
    its schema names, so a report from a newer Moviola is refused rather than misread."""
    from .collapse._collapse import read_report as read_collapse
    from .deage._deage import REPORT_NAME as DEAGE_REPORT
    from .deage._deage import read_report as read_deage

    path = Path(folder) / "report.json"
    if not path.is_file():
        raise InputError("no report.json here: render into this folder first", folder)
    try:
        tag = json.loads(path.read_text(encoding="utf-8")).get("schema", "")
    except (OSError, ValueError, AttributeError):
        tag = ""  # the collapse reader says what is wrong with it
    if str(tag).partition(".")[0] == DEAGE_REPORT:
        return "deage", read_deage(path)
    return "collapse", read_collapse(path)
