"""Shot planning: coverage, blocking, auto-framing, the continuity audit, shot lists."""

from ._audit import RULES, audit_plan, audit_scene
from ._cameras import CAMERAS, Filmback, camera, parse_aspect
from ._coverage import STYLES, shot_ids
from ._model import Camera, Finding, Shot, shot_from_json, shots_from_plan
from ._plan import build_plan
from ._vocabulary import ANGLES, MOVEMENTS, SIZES
from ._workflow import (
    PlanResult,
    add_shot,
    delete_shot,
    ensure_plan,
    load_plan,
    plan_is_current,
    run_audit,
    run_plan,
    set_shot,
)

__all__ = [
    "ANGLES",
    "CAMERAS",
    "MOVEMENTS",
    "RULES",
    "SIZES",
    "STYLES",
    "Camera",
    "Filmback",
    "Finding",
    "PlanResult",
    "Shot",
    "add_shot",
    "audit_plan",
    "audit_scene",
    "build_plan",
    "camera",
    "delete_shot",
    "ensure_plan",
    "load_plan",
    "parse_aspect",
    "plan_is_current",
    "run_audit",
    "run_plan",
    "set_shot",
    "shot_from_json",
    "shot_ids",
    "shots_from_plan",
]
