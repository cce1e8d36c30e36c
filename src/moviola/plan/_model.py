"""The shot record and the plan document (``ShotPlan.1``), with validation.

Core model: plain dataclasses and JSON conversion, no I/O. A plan a person
edited by hand is checked field by field; every problem is reported with the
shot id and the field, so the fix is obvious.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from ..core import DocumentError, register_schema
from ._cameras import CAMERAS
from ._vocabulary import ANGLES, MOVEMENTS, SIZES

SCHEMA = "ShotPlan"
register_schema(SCHEMA, 1)

VFX_KINDS = (
    "collapse", "destruction", "explosion", "fire", "weather", "crowd", "de_aging",
    "set_extension", "screen_replacement", "creature", "other",
)  # fmt: skip
_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-]*$")


@dataclass
class Camera:
    """Where the camera stands and looks (floor plan metres, degrees)."""

    body: str
    x: float
    y: float
    height: float
    pan: float  # direction of the optical axis, degrees counter-clockwise from +x
    tilt: float = 0.0  # + looks up
    roll: float = 0.0  # dutch angle
    aspect: float = 2.39
    hfov: float = 0.0
    vfov: float = 0.0
    #: For a moving camera, where the move ends (same fields, x/y/height/pan/tilt).
    end: dict[str, float] | None = None

    @property
    def position(self) -> tuple[float, float]:
        return (self.x, self.y)


@dataclass
class Shot:
    """One camera setup of the plan, in the vocabulary of the trade."""

    id: str
    scene: str
    size: str
    angle: str
    movement: str
    lens_mm: float
    camera: Camera
    fps: float = 24.0
    shutter_deg: float = 180.0
    subjects: list[str] = field(default_factory=list)
    covers: list[dict[str, int]] = field(default_factory=list)  # source spans
    duration_s: float = 0.0
    vfx: bool = False
    vfx_kind: str | None = None
    vfx_recipe: str | None = None  # the shot's VFX recipe, relative to the project folder
    purpose: str = ""  # establishing, master, two-shot, ots, single, insert, pov, ...
    description: str = ""
    notes: str = ""
    cross_line: bool = False  # a deliberate crossing of the 180-degree line
    subject_distance_m: float = 0.0
    #: Fields a person changed by hand: kept when the plan is regenerated.
    edited: list[str] = field(default_factory=list)
    user_added: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.camera.end is None:
            data["camera"].pop("end")
        return data


@dataclass
class Finding:
    """A continuity problem the audit found."""

    rule: str
    scene: str
    shots: list[str]
    explanation: str
    severity: str = "warning"
    diagram: str | None = None
    beat: int | None = None  # the beat at the cut, where the geometry was read

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def _num(data: dict[str, Any], key: str, sid: str, *, positive: bool = False,
         lo: float | None = None, hi: float | None = None) -> float:  # fmt: skip
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DocumentError(f"shot {sid}: field '{key}' must be a number, got {value!r}")
    if positive and value <= 0:
        raise DocumentError(f"shot {sid}: field '{key}' must be positive, got {value}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise DocumentError(f"shot {sid}: field '{key}' = {value} is outside {lo}..{hi}")
    return float(value)


def shot_from_json(data: dict[str, Any], characters: set[str] | None = None) -> Shot:
    """Check and read one shot; errors name the shot and the field."""
    if not isinstance(data, dict):
        raise DocumentError(f"a shot must be a JSON object, got {type(data).__name__}")
    sid = str(data.get("id", "?"))
    if not _ID.match(sid):
        raise DocumentError(f"shot {sid!r}: field 'id' is not a valid shot id")
    for key, allowed in (("size", SIZES), ("angle", ANGLES), ("movement", MOVEMENTS)):
        if data.get(key) not in allowed:
            raise DocumentError(
                f"shot {sid}: field '{key}' = {data.get(key)!r} is not one of {', '.join(allowed)}"
            )
    lens = _num(data, "lens_mm", sid, positive=True)
    if not 4 <= lens <= 1200:
        raise DocumentError(f"shot {sid}: field 'lens_mm' = {lens} is not a real lens (4-1200 mm)")
    cam = data.get("camera")
    if not isinstance(cam, dict):
        raise DocumentError(f"shot {sid}: field 'camera' must be an object")
    body = cam.get("body")
    if body not in CAMERAS:
        raise DocumentError(
            f"shot {sid}: field 'camera.body' = {body!r} is not one of {', '.join(CAMERAS)}"
        )
    camera = Camera(
        body=str(body),
        x=_num(cam, "x", sid),
        y=_num(cam, "y", sid),
        height=_num(cam, "height", sid, lo=-50, hi=500),
        pan=_num(cam, "pan", sid),
        tilt=_num(cam, "tilt", sid, lo=-90, hi=90) if "tilt" in cam else 0.0,
        roll=_num(cam, "roll", sid, lo=-90, hi=90) if "roll" in cam else 0.0,
        aspect=_num(cam, "aspect", sid, lo=0.5, hi=4.0) if "aspect" in cam else 2.39,
        hfov=float(cam.get("hfov", 0.0) or 0.0),
        vfov=float(cam.get("vfov", 0.0) or 0.0),
        end=dict(cam["end"]) if isinstance(cam.get("end"), dict) else None,
    )
    duration = _num(data, "duration_s", sid, positive=True)
    subjects = data.get("subjects", [])
    if not isinstance(subjects, list) or not all(isinstance(s, str) for s in subjects):
        raise DocumentError(f"shot {sid}: field 'subjects' must be a list of names")
    if characters is not None:
        unknown = [s for s in subjects if s not in characters]
        if unknown:
            raise DocumentError(
                f"shot {sid}: field 'subjects' names {', '.join(unknown)}, who is not in the script"
            )
    vfx_kind = data.get("vfx_kind")
    if vfx_kind is not None and vfx_kind not in VFX_KINDS:
        raise DocumentError(f"shot {sid}: field 'vfx_kind' = {vfx_kind!r} is not one of "
                            f"{', '.join(VFX_KINDS)}")  # fmt: skip
    recipe = data.get("vfx_recipe")
    if recipe is not None and (not isinstance(recipe, str) or not recipe.strip()):
        raise DocumentError(f"shot {sid}: field 'vfx_recipe' must be a path (a string) or null")
    return Shot(
        id=sid,
        scene=str(data.get("scene", "")),
        size=str(data["size"]),
        angle=str(data["angle"]),
        movement=str(data["movement"]),
        lens_mm=lens,
        camera=camera,
        fps=_num(data, "fps", sid, positive=True) if "fps" in data else 24.0,
        shutter_deg=_num(data, "shutter_deg", sid, lo=1, hi=360)
        if "shutter_deg" in data
        else 180.0,
        subjects=list(subjects),
        covers=list(data.get("covers", [])),
        duration_s=duration,
        vfx=bool(data.get("vfx", False)),
        vfx_kind=vfx_kind,
        vfx_recipe=recipe,
        purpose=str(data.get("purpose", "")),
        description=str(data.get("description", "")),
        notes=str(data.get("notes", "")),
        cross_line=bool(data.get("cross_line", False)),
        subject_distance_m=float(data.get("subject_distance_m", 0.0) or 0.0),
        edited=[str(x) for x in data.get("edited", [])],
        user_added=bool(data.get("user_added", False)),
    )


def shots_from_plan(doc: dict[str, Any]) -> list[Shot]:
    """Every shot of a plan document, validated; duplicate ids are refused."""
    characters: set[str] = set()
    for scene in doc.get("scenes", []):
        characters |= {c["name"] for c in scene.get("blocking", {}).get("characters", [])}
    shots = [shot_from_json(s, characters or None) for s in doc.get("shots", [])]
    seen: set[str] = set()
    for s in shots:
        if s.id in seen:
            raise DocumentError(f"shot {s.id}: field 'id' is used by two shots")
        seen.add(s.id)
    return shots
