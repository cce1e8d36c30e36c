"""The shot recipe: every choice that makes a collapse shot, in one editable document.

A recipe (schema ``CollapseRecipe.1``) names the plate (with its sha256, so a
changed plate is noticed), the building's outline, the failure and the look,
and the seed. The same recipe renders the same shot, frame for frame: it is
what a project keeps under ``vfx/<name>/recipe.json`` and what a shot in the
plan points at. Paths in a saved recipe are relative to the recipe's folder
when they lie under it, so a project can move.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ..core import (
    DocumentError,
    InputError,
    read_document,
    register_schema,
    schema_tag,
    write_document,
)
from ._simulate import MODES

RECIPE_SCHEMA = "CollapseRecipe"
register_schema(RECIPE_SCHEMA, 1)

#: Bumped whenever the same recipe would render different frames (a resume then starts over).
ENGINE_VERSION = 2
FINAL_FRAMES = 120
PREVIEW_FRAMES = 48
PREVIEW_MAX_WIDTH = 960
PREVIEW_MIN_FPS = 4.0


@dataclass(frozen=True)
class CollapseRecipe:
    """A building collapse on a plate. Pixel positions are in the plate's own pixels."""

    plate: str
    building: list[list[float]]  # polygon (a box is its four corners)
    building_source: str = "box"
    plate_sha256: str | None = None
    plate_colourspace: str | None = None  # None: what the file says (sRGB for JPEG/PNG)
    clean_plate: str | None = None  # a user's own clean plate instead of ours
    refine: bool = True  # GrabCut the outline to the building's silhouette
    ground_y: float | None = None  # plate y of the ground; None: the building's foot
    name: str = "collapse"
    mode: str = "pancake"  # pancake (from the top), topple, blast
    direction: str = "left"  # which way a topple falls
    failure: list[float] | None = None  # plate x, y where it starts; None: by mode
    start_frame: int | None = None  # None: half a second in
    duration_s: float | None = None  # how long the failure runs (None: as physics has it)
    frames: int = FINAL_FRAMES
    first_frame: int = 1001
    fps: float = 24.0
    resolution: list[int] | None = None  # [w, h]; None: the plate's own (to a multiple of 4)
    height_m: float = 30.0  # the building's visible height, which sets the scale
    debris_size: float = 1.0  # > 1: fewer, bigger shards
    debris_amount: float = 1.0  # fine chips
    dust_density: float = 1.0
    dust_colour: list[float] | None = None  # sRGB 0-1; None: matched to the plate
    wind: list[float] = field(default_factory=lambda: [1.5, 0.0])  # m/s, x right, y down
    shake: float = 1.0
    grain: float = 1.0
    light_wrap: float = 0.2
    motion_blur: float = 0.5  # shutter as a fraction of the frame (0.5 = 180 degrees)
    seed: int = 1
    preview: bool = False
    refiner: str = "passthrough"
    prompt: str = ""

    # ---- derived -----------------------------------------------------------------
    @property
    def last_frame(self) -> int:
        return self.first_frame + self.frames - 1

    def key(self) -> str:
        """A digest of everything that shows in the frames (not the name or paths), and of
        the engine's version: a resumed render never mixes frames of two engines."""
        data = asdict(self)
        for k in ("plate", "clean_plate", "name"):
            data.pop(k)
        data["engine"] = ENGINE_VERSION
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:20]

    def validate(self) -> CollapseRecipe:
        problems = []
        if self.mode not in MODES:
            problems.append(f"mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.direction not in ("left", "right"):
            problems.append(f"direction {self.direction!r} is not left or right")
        if not 1 <= self.frames <= 2400:
            problems.append(f"frames {self.frames} is not between 1 and 2400")
        if not 1.0 <= self.fps <= 120.0:
            problems.append(f"fps {self.fps} is not between 1 and 120")
        if self.resolution is not None:
            w, h = self.resolution
            if w < 64 or h < 64 or w > 8192 or h > 8192 or w % 4 or h % 4:
                problems.append(f"resolution {w}x{h} must be multiples of 4 between 64 and 8192 "
                                "(H.264 4:2:0 review movie)")  # fmt: skip
        for name in ("debris_size", "debris_amount", "dust_density", "shake", "grain", "light_wrap",
                     "motion_blur"):  # fmt: skip
            value = getattr(self, name)
            if not 0.0 <= value <= 10.0:
                problems.append(f"{name} {value} is not between 0 and 10")
        if self.duration_s is not None and not 0.2 <= self.duration_s <= 60.0:
            problems.append(f"duration_s {self.duration_s} is not between 0.2 and 60 seconds")
        if not 2.0 <= self.height_m <= 1000.0:
            problems.append(f"height_m {self.height_m} is not between 2 and 1000")
        if len(self.building) < 3:
            problems.append("the building outline needs at least 3 points")
        if self.dust_colour is not None and (len(self.dust_colour) != 3 or
                                             not all(0 <= c <= 1 for c in self.dust_colour)):  # fmt: skip
            problems.append("dust_colour must be three numbers between 0 and 1 (sRGB)")
        if (
            self.start_frame is not None
            and not self.first_frame <= self.start_frame <= self.last_frame
        ):
            problems.append(
                f"start_frame {self.start_frame} is outside {self.first_frame}-{self.last_frame}"
            )
        if problems:
            raise InputError("bad collapse recipe: " + "; ".join(problems))
        return self

    def start_s(self) -> float:
        start = (
            self.start_frame
            if self.start_frame is not None
            else self.first_frame + round(self.fps / 2)
        )
        return (start - self.first_frame) / self.fps


def preview_of(recipe: CollapseRecipe, plate_size: tuple[int, int]) -> CollapseRecipe:
    """The preview: the whole shot, at most 960 px wide and in 48 frames, same seed and look.

    The 48 frames span the shot's full duration (a lower frame rate, so the
    movie plays in real time), because a preview that stops two seconds in
    shows nothing of the collapse; a shot so long that this would fall under
    4 fps is previewed over its first 12 seconds. The physics runs at the
    final's time step.
    """
    w, h = recipe.resolution or list(plate_size)
    if w > PREVIEW_MAX_WIDTH:
        h, w = round(h * PREVIEW_MAX_WIDTH / w), PREVIEW_MAX_WIDTH
    frames = min(recipe.frames, PREVIEW_FRAMES)
    fps = recipe.fps * frames / recipe.frames
    if fps < PREVIEW_MIN_FPS:  # a long shot: preview its start at a watchable rate
        fps = min(recipe.fps, PREVIEW_MIN_FPS)
    start = None
    if recipe.start_frame is not None:
        start = recipe.first_frame + round(recipe.start_s() * fps)
    return replace(recipe, preview=True, resolution=[w - w % 4, h - h % 4], frames=frames, fps=fps,
                   start_frame=start)  # fmt: skip


def recipe_to_document(recipe: CollapseRecipe, folder: Path | None = None) -> dict[str, Any]:
    data = asdict(recipe)
    if folder is not None:
        for k in ("plate", "clean_plate"):
            if data[k]:
                p = Path(data[k]).resolve()
                try:
                    data[k] = str(p.relative_to(folder.resolve()))
                except ValueError:
                    data[k] = str(p)
    return {"schema": schema_tag(RECIPE_SCHEMA), **data}


def write_recipe(path: Path, recipe: CollapseRecipe) -> Path:
    return write_document(path, recipe_to_document(recipe, path.parent))


def read_recipe(path: Path) -> CollapseRecipe:
    """Read a recipe; relative plate paths are taken from the recipe's folder."""
    doc = read_document(path, RECIPE_SCHEMA)
    known = {f.name for f in fields(CollapseRecipe)}
    unknown = sorted(set(doc) - known - {"schema"})
    if unknown:
        raise DocumentError(f"unknown recipe fields: {', '.join(unknown)}", path)
    data = {k: v for k, v in doc.items() if k in known}
    for k in ("plate", "clean_plate"):
        if data.get(k) and not Path(data[k]).is_absolute():
            data[k] = str((path.parent / data[k]).resolve())
    try:
        recipe = CollapseRecipe(**data)
    except TypeError as exc:
        raise DocumentError(f"not a complete recipe: {exc}", path) from exc
    try:
        return recipe.validate()
    except InputError as exc:
        raise DocumentError(exc.message, path) from exc
