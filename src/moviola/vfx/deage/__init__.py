"""De-aging a performer's face through a shot, with their consent on record: tracking,
retouch, treated and before/after movies, frames, quality report (``moviola vfx deage``)."""

from ._deage import (
    FIRST_FRAME,
    REPORT_NAME,
    REPORT_SCHEMA,
    DeageSettings,
    frame_path,
    read_report,
    run_deage,
)
from ._moving_plate import make_moving_plate
from ._retouch import Strengths
from ._workflow import render_deage

__all__ = [
    "FIRST_FRAME",
    "REPORT_NAME",
    "REPORT_SCHEMA",
    "DeageSettings",
    "Strengths",
    "frame_path",
    "make_moving_plate",
    "read_report",
    "render_deage",
    "run_deage",
]
