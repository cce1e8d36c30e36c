"""The shot recipe: every choice that makes a collapse shot, in one editable document.

A recipe (schema ``CollapseRecipe.1``) names the plate (with its sha256, so a
changed plate is noticed), the building's outline, the failure and the look,
and the seed. The same recipe renders the same shot, frame for frame: it is
what a project keeps under ``vfx/<name>/recipe.json`` and what a shot in the
plan points at. Paths in a saved recipe are relative to the recipe's folder
when they lie under it, so a project can move.

A recipe document is checked field by field before anything runs (types,
ranges, the output size a machine can render, a shot name that stays inside
its folder) and must carry its plate's sha256. Its plate (and clean plate)
must lie in the recipe's own folder or below it, or inside the project the
user named: a recipe someone sends cannot make Moviola read, copy or render
any other file on the machine. ``--plate`` on the command line chooses the
plate explicitly instead.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ...core import (
    Document,
    DocumentError,
    InputError,
    read_document,
    register_schema,
    schema_tag,
    upgrade_from,
    write_document,
)
from .._outputs import name_problem
from ._simulate import MODES

RECIPE_SCHEMA = "CollapseRecipe"
register_schema(RECIPE_SCHEMA, 2)  # 2: refiner_strength, refiner_steps

#: Bumped whenever the same recipe would render different frames (a resume then starts over).
ENGINE_VERSION = 5  # 5: a lit tower's glow and beacons go with it; 4: dust from a fluid solver, lit broken faces; 3: the facade unmixed within its lit range
FINAL_FRAMES = 120
PREVIEW_FRAMES = 48
PREVIEW_MAX_WIDTH = 960
PREVIEW_MIN_FPS = 4.0
#: The largest output a collapse renders: DCI 4K, 4096 px on the long side and 4096x2160
#: (8.8 MP) in all. A frame's cost grows with its pixels (eight half-float EXR layers, GL
#: passes, the light wrap and grain on the full frame): 8192x8192 took over 200 s a frame.
#: A collapse is composited at delivery size, and 4K is the largest delivery; plates may
#: be bigger (up to 8K, see ``_plate.MAX_SIDE``) and are fitted down to the output.
MAX_OUTPUT_SIDE = 4096
MAX_OUTPUT_PIXELS = 4096 * 2160
MAX_FIRST_FRAME = 9_000_000  # frame numbers stay within seven digits
MAX_SEED = 2**32 - 1
MAX_POINTS = 10_000
MAX_TEXT = 10_000  # prompt, paths, names of colour spaces and refiners
_SHA256 = frozenset("0123456789abcdef")

# what each field of a recipe holds: (kind, may be null), checked by type_problems
_KINDS: dict[str, tuple[str, bool]] = {
    "plate": ("text", False), "building": ("points", False), "building_source": ("text", False),
    "plate_sha256": ("text", True), "plate_colourspace": ("text", True), "clean_plate": ("text", True),
    "refine": ("bool", False), "ground_y": ("number", True), "name": ("text", False), "mode": ("text", False),
    "direction": ("text", False), "failure": ("pair", True), "start_frame": ("int", True),
    "duration_s": ("number", True), "frames": ("int", False), "first_frame": ("int", False),
    "fps": ("number", False), "resolution": ("size", True), "height_m": ("number", False),
    "debris_size": ("number", False), "debris_amount": ("number", False), "dust_density": ("number", False),
    "dust_colour": ("triple", True), "wind": ("pair", False), "shake": ("number", False),
    "grain": ("number", False), "light_wrap": ("number", False), "motion_blur": ("number", False),
    "seed": ("int", False), "preview": ("bool", False), "refiner": ("text", False), "prompt": ("text", False),
    "refiner_strength": ("number", False), "refiner_steps": ("int", False), "water_y": ("number", True),
}  # fmt: skip
_SAYS = {"text": f"text (at most {MAX_TEXT} characters)", "bool": "true or false", "number": "a number", "int": "a whole number",
         "pair": "two numbers [a, b]", "triple": "three numbers [r, g, b]", "size": "two whole numbers [w, h]",
         "points": "a list of [x, y] points"}  # fmt: skip


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _type_ok(kind: str, v: object) -> bool:
    if kind == "text":
        return isinstance(v, str) and "\x00" not in v and len(v) <= MAX_TEXT
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "number":
        return _is_number(v)
    if kind == "int":
        return _is_int(v)
    if kind in ("pair", "triple", "size"):
        n = 3 if kind == "triple" else 2
        ok = _is_int if kind == "size" else _is_number
        return isinstance(v, (list, tuple)) and len(v) == n and all(ok(c) for c in v)
    # points
    return isinstance(v, (list, tuple)) and 0 < len(v) <= MAX_POINTS and all(_type_ok("pair", p) for p in v)


def _json_shown(value: object, limit: int = 40) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def type_problems(data: dict[str, object]) -> list[str]:
    """What in a recipe's fields is not of its kind (``frames: "lots"``, ``building: null``)."""
    problems = []
    for name, (kind, nullable) in _KINDS.items():
        if name not in data:
            continue
        value = data[name]
        if value is None and nullable:
            continue
        if not _type_ok(kind, value):
            extra = f" (at most {MAX_POINTS})" if kind == "points" else ""
            problems.append(f"{name} {_json_shown(value)} is not {_SAYS[kind]}{extra}")
    return problems


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
    refiner: str = "passthrough"  # a moviola.gen backend: passthrough, style, controlnet, img2img, video, a plug-in
    prompt: str = ""
    refiner_strength: float = 0.5  # how far the refiner moves from the comp (0: not at all)
    refiner_steps: int = 20
    water_y: float | None = None  # plate y of water below the building that reflects it; None: none

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
        if self.refiner in ("", "passthrough", "none"):  # they change nothing then (and keys made
            data.pop("refiner_strength")  # before they existed stay the same)
            data.pop("refiner_steps")
        if self.water_y is None:  # keys made before it existed stay the same
            data.pop("water_y")
        data["engine"] = ENGINE_VERSION
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:20]

    def validate(self, *, require_digest: bool = False) -> CollapseRecipe:
        """Every field checked, every problem said at once in one :class:`InputError`.

        ``require_digest``: the recipe must name its plate's sha256 (a recipe document
        must; a recipe being made from a plate takes its digest when first rendered).
        """
        problems = type_problems(asdict(self))
        if problems:  # ranges make no sense on values of the wrong kind
            raise InputError("bad collapse recipe: " + "; ".join(problems))
        if self.mode not in MODES:
            problems.append(f"mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.direction not in ("left", "right"):
            problems.append(f"direction {self.direction!r} is not left or right")
        if (why := name_problem(self.name)) is not None:
            problems.append(f"name {_json_shown(self.name)} {why}")
        if not self.plate:
            problems.append("plate is empty")
        if self.plate_sha256 is None:
            if require_digest:
                problems.append("plate_sha256 is missing: a recipe names its plate's sha256 so a "
                                "different plate is noticed (pass --plate FILE to render it on a plate you choose)")  # fmt: skip
        elif len(self.plate_sha256) != 64 or not set(self.plate_sha256) <= _SHA256:
            problems.append(f"plate_sha256 {_json_shown(self.plate_sha256)} is not a sha256 (64 hex digits)")
        if not 1 <= self.frames <= 2400:
            problems.append(f"frames {self.frames} is not between 1 and 2400")
        if not 0 <= self.first_frame <= MAX_FIRST_FRAME:
            problems.append(f"first_frame {self.first_frame} is not between 0 and {MAX_FIRST_FRAME}")
        if not 1.0 <= self.fps <= 120.0:
            problems.append(f"fps {self.fps} is not between 1 and 120")
        if not 0 <= self.seed <= MAX_SEED:
            problems.append(f"seed {self.seed} is not between 0 and {MAX_SEED}")
        if self.resolution is not None:
            w, h = self.resolution
            if w < 64 or h < 64 or w % 4 or h % 4:
                problems.append(f"resolution {w}x{h} must be multiples of 4, at least 64 "
                                "(H.264 4:2:0 review movie)")  # fmt: skip
            elif (why := size_problem(w, h)) is not None:
                problems.append(f"resolution {w}x{h} {why}")
        for name in ("debris_size", "debris_amount", "dust_density", "shake", "grain", "light_wrap",
                     "motion_blur"):  # fmt: skip
            value = getattr(self, name)
            if not 0.0 <= value <= 10.0:
                problems.append(f"{name} {value} is not between 0 and 10")
        if self.water_y is not None and self.water_y < 0:
            problems.append(f"water_y {self.water_y} is above the plate (negative)")
        if self.duration_s is not None and not 0.2 <= self.duration_s <= 60.0:
            problems.append(f"duration_s {self.duration_s} is not between 0.2 and 60 seconds")
        if not 2.0 <= self.height_m <= 1000.0:
            problems.append(f"height_m {self.height_m} is not between 2 and 1000")
        if not all(abs(v) <= 100.0 for v in self.wind):
            problems.append(f"wind {self.wind} is over 100 m/s")
        if len(self.building) < 3:
            problems.append("the building outline needs at least 3 points")
        if self.dust_colour is not None and not all(0 <= c <= 1 for c in self.dust_colour):
            problems.append("dust_colour must be three numbers between 0 and 1 (sRGB)")
        if (
            self.start_frame is not None
            and not self.first_frame <= self.start_frame <= self.last_frame
        ):
            problems.append(
                f"start_frame {self.start_frame} is outside {self.first_frame}-{self.last_frame}"
            )
        if not 0.0 <= self.refiner_strength <= 1.0:
            problems.append(f"refiner_strength {self.refiner_strength} is not between 0 and 1")
        if not 1 <= self.refiner_steps <= 500:
            problems.append(f"refiner_steps {self.refiner_steps} is not between 1 and 500")
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


def size_problem(width: int, height: int) -> str | None:
    """Why an output of ``width`` x ``height`` is over what a collapse renders, or None."""
    if max(width, height) > MAX_OUTPUT_SIDE or width * height > MAX_OUTPUT_PIXELS:
        return (f"is over the limit of a collapse render ({MAX_OUTPUT_SIDE} px on the long side and "
                f"{MAX_OUTPUT_PIXELS / 1e6:.1f} MP, DCI 4K): render at delivery size, 4K at most")  # fmt: skip
    return None


def fitted_size(width: int, height: int) -> tuple[int, int]:
    """The largest size within the limit with the aspect of ``width`` x ``height`` (multiples of 4)."""
    s = min(1.0, MAX_OUTPUT_SIDE / max(width, height), math.sqrt(MAX_OUTPUT_PIXELS / (width * height)))
    return max(64, int(width * s) // 4 * 4), max(64, int(height * s) // 4 * 4)


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


@upgrade_from(RECIPE_SCHEMA, 1)
def _from_v1(doc: Document) -> Document:
    """CollapseRecipe.1 had no refiner strength or steps: the defaults it rendered with."""
    doc.setdefault("refiner_strength", 0.5)
    doc.setdefault("refiner_steps", 20)
    return doc


def write_recipe(path: Path, recipe: CollapseRecipe) -> Path:
    return write_document(path, recipe_to_document(recipe, path.parent))


def read_recipe(path: Path, *, plate: Path | None = None, clean_plate: Path | None = None,
                root: Path | None = None) -> CollapseRecipe:  # fmt: skip
    """Read and check a recipe document; every refusal is one :class:`DocumentError` naming it.

    Relative plate paths are taken from the recipe's folder. The plate and clean
    plate must lie in that folder or below it, or under ``root`` (the project the
    user named); symbolic links are followed before that is judged, and
    ``plate``/``clean_plate`` (the command line's ``--plate``/``--clean-plate``)
    replace the recipe's own. The recipe must carry ``plate_sha256`` unless the
    plate is chosen here: the render then refuses a plate whose bytes differ.
    """
    path = Path(path)
    doc = read_document(path, RECIPE_SCHEMA)
    known = {f.name for f in fields(CollapseRecipe)}
    unknown = sorted(set(doc) - known - {"schema"})
    if unknown:
        raise DocumentError(f"unknown recipe fields: {', '.join(unknown)}", path)
    data = {k: v for k, v in doc.items() if k in known}
    if plate is not None:
        data["plate"], data["plate_sha256"] = str(Path(plate).resolve()), None
    if clean_plate is not None:
        data["clean_plate"] = str(Path(clean_plate).resolve())
    problems = type_problems(data)
    if problems:
        raise DocumentError("bad collapse recipe: " + "; ".join(problems), path)
    try:
        recipe = CollapseRecipe(**data)
    except TypeError as exc:
        missing = [k for k in ("plate", "building") if k not in data]
        raise DocumentError(f"not a complete recipe: missing {', '.join(missing) or exc}", path) from exc
    try:
        recipe.validate(require_digest=plate is None)
    except InputError as exc:
        raise DocumentError(exc.message, path) from exc
    if plate is None:
        recipe = replace(recipe, plate=str(_located(path, "plate", recipe.plate, root)))
    if clean_plate is None and recipe.clean_plate:
        recipe = replace(recipe, clean_plate=str(_located(path, "clean_plate", recipe.clean_plate, root)))
    return recipe


def _located(recipe_path: Path, key: str, value: str, root: Path | None) -> Path:
    """Where a recipe's ``plate``/``clean_plate`` is, refused when outside the recipe's folder
    (and ``root``): a recipe may not point Moviola at any file on the machine."""
    folder = recipe_path.parent.resolve()
    allowed = [folder] + ([Path(root).resolve()] if root is not None else [])
    try:
        target = (folder / value).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, an unusable name
        raise DocumentError(f"{key} {_json_shown(value)} cannot be resolved ({exc})", recipe_path) from exc
    if not any(target.is_relative_to(a) for a in allowed):
        where = "the recipe's folder" + (" or the project" if root is not None else "")
        flag = "--plate" if key == "plate" else "--clean-plate"
        raise DocumentError(f"{key} {_json_shown(value)} lies outside {where}: a recipe's {key.replace('_', ' ')} "
                            f"must be beside it or below it; pass {flag} FILE to choose it yourself",
                            recipe_path)  # fmt: skip
    return target
