"""Previs: USD layout of the plan (sets, mannequins, cameras), and later renders."""

from ._layout import (
    FIRST_FRAME,
    build_scene_stage,
    camera_rotation,
    plan_to_world,
    project_point,
    shot_timings,
    validate_stage,
)
from ._workflow import LayoutResult, run_layout

__all__ = [
    "FIRST_FRAME",
    "LayoutResult",
    "build_scene_stage",
    "camera_rotation",
    "plan_to_world",
    "project_point",
    "run_layout",
    "shot_timings",
    "validate_stage",
]
