"""Previs: USD layout of the plan, renders, storyboards, the animatic and handoffs."""

from ..core._image_io import read_exr, write_exr
from ..core._media import frame_at, probe_movie
from ._animatic import Cut, MovieSpec
from ._camera_export import export_shot_cameras
from ._checks import check_shot
from ._contact_sheet import Panel, SheetScene, write_contact_sheet
from ._editorial import EditClip, build_timeline, check_round_trip, write_timeline_files
from ._layout import (
    FIRST_FRAME,
    build_scene_stage,
    camera_rotation,
    project_point,
    shot_timings,
    validate_stage,
)
from ._pipeline import PrevisResult, run_previs
from ._prims import plan_to_world
from ._render import EGL_PACKAGES, Frame, Look, Renderer, create_context
from ._scratch import ScratchLine, ScratchTrack, assign_voices, render_scratch_track
from ._stage_query import project_world, stage_cameras
from ._workflow import LayoutResult, run_layout, write_stage

__all__ = [
    "EGL_PACKAGES",
    "FIRST_FRAME",
    "Cut",
    "EditClip",
    "Frame",
    "LayoutResult",
    "Look",
    "MovieSpec",
    "Panel",
    "PrevisResult",
    "Renderer",
    "ScratchLine",
    "ScratchTrack",
    "SheetScene",
    "assign_voices",
    "build_scene_stage",
    "build_timeline",
    "camera_rotation",
    "check_round_trip",
    "check_shot",
    "create_context",
    "export_shot_cameras",
    "frame_at",
    "plan_to_world",
    "probe_movie",
    "project_point",
    "project_world",
    "read_exr",
    "render_scratch_track",
    "run_layout",
    "run_previs",
    "shot_timings",
    "stage_cameras",
    "validate_stage",
    "write_contact_sheet",
    "write_exr",
    "write_stage",
    "write_timeline_files",
]
