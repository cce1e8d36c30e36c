"""``moviola vfx collapse``: a building collapse on a plate, from recipe to reviewed layers.

Stages, each timed for the report: load, matte, clean_plate, fracture,
simulate, particles, render (frames, layers and the review movie, pipelined:
the GPU or llvmpipe draws frame n+1 while worker threads composite, write and
encode frame n), contact_sheet. A render that stops (Ctrl-C, a kill, a full
disk) leaves only whole frames; running the same recipe into the same folder
again picks up at the first incomplete frame and re-encodes the movie from
the frames already on disk.

A render farm splits the same render into parts (``RenderPart``): the simulation
once (``--simulate-only``, kept in ``.moviola-simulation.npz``), then frame ranges
(``--frames A-B``) on any number of machines, each writing only whole frames and what
the sheet and report will need of them (``.moviola-parts/``), then the plain command,
which finds every frame done and only encodes the movie, draws the sheet and writes
the report. The frames are the same, bit for bit, as one process's.

Everything that can refuse a render (the recipe, the plate and its sha256, the
building region, the output size, the folder, the matte) is checked before the
first byte is written; a render that fails before publishing a frame removes
what it wrote to get started. A refused render leaves nothing behind, and the
corrected command is not turned away as "a different recipe".
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ...core import (
    Document,
    InputError,
    ProjectError,
    read_document,
    register_schema,
    schema_tag,
    write_bytes_atomic,
    write_document,
    write_text_atomic,
)
from ...core._colour import SRGB, config_name, to_working, working_to_srgb8
from ...core._image_io import png_bytes, read_exr
from ...core._media import atomic_movie, encode_frame, finish_movie, open_h264
from ...core._yuv import rgb_to_yuv420
from ...gen import GenRequest, PassThrough, check_output, load_backend
from ...provenance import Claim, Credentials, Ingredient, ModelUse, Stamp, credentials_for
from .._outputs import (
    OutDir,
    discard_unstarted,
    inspect_out_dir,
    open_out_dir,
    relative_path,
    sweep_temporaries,
    write_state,
)
from ._cost import CPU_PRICE_PER_VCPU_HOUR, CostReport, cpu_seconds
from ._frames import Drawn, FrameLayers, draw_frame, finish_frame
from ._layers import LAYERS, first_missing, frame_done, layer_path, sequence_pattern, write_layer
from ._plate import load_plate
from ._realism import measure_dust, realism_report
from ._recipe import CollapseRecipe, write_recipe
from ._render import LayerRenderer
from ._review import (
    X264_REVIEW,
    checker_over,
    contact_sheet,
    facts_line,
    matte_picture,
    pick_frames,
)
from ._shot import Prepared, Simulated, prepare, run_simulation
from ._simcache import cache_path, load_simulation, save_simulation

F32 = NDArray[np.float32]
FA = NDArray[np.floating[Any]]
PARTS = ".moviola-parts"  # per frame, what a frame-range task leaves for the sheet and the report
U8 = NDArray[np.uint8]
Progress = Callable[[str, int, int], None]
#: Called once the render is checked and prepared, just before it writes anything: gets the
#: recipe (with its plate's sha256) and returns the one to record (e.g. the plate's copy in a project).
OnReady = Callable[[CollapseRecipe], CollapseRecipe]
REPORT_NAME = "CollapseReport"
register_schema(REPORT_NAME, 1)
REPORT_SCHEMA = schema_tag(REPORT_NAME)  # "CollapseReport.1": what report.json is written as


@dataclass(frozen=True)
class RenderPart:
    """One farm task's share of a render: the simulation only, or the frames ``first..last``
    (their layers, or a preview's pictures; no movie, sheet or report)."""

    simulate_only: bool = False
    frames: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.simulate_only == (self.frames is not None):
            raise InputError("a render part is either the simulation or a frame range")

    def check(self, recipe: CollapseRecipe) -> None:
        if self.frames is not None:
            a, b = self.frames
            if not recipe.first_frame <= a <= b <= recipe.last_frame:
                raise InputError(f"--frames {a}-{b} is outside the shot's frames "
                                 f"{recipe.first_frame}-{recipe.last_frame}")  # fmt: skip


def run_collapse(recipe: CollapseRecipe, out: Path, *, force: bool = False, progress: Progress | None = None,
                 cpu_price: float = CPU_PRICE_PER_VCPU_HOUR, on_ready: OnReady | None = None,
                 credentials: Credentials | None = None,
                 refiner_options: dict[str, Any] | None = None,
                 part: RenderPart | None = None) -> dict[str, Any]:  # fmt: skip
    """Render ``recipe`` into ``out``; returns the report (also written as report.json).

    ``part``: only a farm task's share (see :class:`RenderPart`); returns what it did.

    ``refiner_options``: how to load the recipe's generative refiner (``moviola.gen.load_backend``:
    ``weights``, ``controlnet``, ``config``, ``allow_non_commercial``, ``device``); its frames
    are their own ``refined`` layer, the procedural layers stay.

    Every layer, the review movie and the contact sheet carry Content Credentials
    (``credentials``, by default this account's): an edit of the plate, procedural
    (``algorithmicMedia``), the recipe's hash, and for a refined layer the model that
    made it with its licence.

    Nothing is written (into ``out``, or by ``on_ready``) until every check has
    passed and the shot is prepared; a render that fails before its first frame
    is published takes back what it wrote.
    """
    opened: list[OutDir] = []
    try:
        return _run_collapse(recipe, Path(out), force, progress, cpu_price, on_ready, opened, credentials,
                             refiner_options, part)  # fmt: skip
    except KeyboardInterrupt:
        # the workers have stopped by now; a write cut short can leave its hidden temporary
        # (a frame-range task leaves its temporaries: other tasks may be writing beside it)
        if Path(out).is_dir() and not (part and part.frames):
            sweep_temporaries(Path(out))
        raise
    except Exception:
        if opened and not opened[0].resumable:
            discard_unstarted(Path(out), created=not opened[0].existed)
        raise


def _run_collapse(recipe: CollapseRecipe, out: Path, force: bool, progress: Progress | None,
                  cpu_price: float, on_ready: OnReady | None, opened: list[OutDir],
                  credentials: Credentials | None,
                  refiner_options: dict[str, Any] | None, part: RenderPart | None) -> dict[str, Any]:  # fmt: skip
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    stages: dict[str, float] = {}
    mark = [wall0]

    def tick(name: str) -> None:
        now = time.perf_counter()
        stages[name] = round(stages.get(name, 0.0) + now - mark[0], 3)
        mark[0] = now

    recipe = recipe.validate()
    if part is not None:
        part.check(recipe)
    out = Path(out)
    start_offset = round(recipe.start_s() * recipe.fps)
    plate = load_plate(Path(recipe.plate), colourspace=recipe.plate_colourspace,
                       max_seconds=recipe.frames / recipe.fps + 0.5)  # fmt: skip
    if recipe.plate_sha256 and recipe.plate_sha256 != plate.digest:
        raise InputError("the plate is not the one this recipe was made with (its sha256 differs); "
                         "make a new recipe for it", plate.path)  # fmt: skip
    recipe = replace(recipe, plate_sha256=plate.digest)
    refiner = load_backend(recipe.refiner, **(refiner_options or {}))
    key = recipe.key()
    if not _passthrough(refiner):  # other weights draw other frames: never resumed into these
        key = hashlib.sha256(json.dumps([key, [m.info() for m in refiner.models]], sort_keys=True,
                                        default=str).encode()).hexdigest()[:20]  # fmt: skip
    target = inspect_out_dir(out, key, force)  # refuses another render's folder; writes nothing
    if part is not None and part.frames is not None and not target.resumable:
        raise ProjectError("--frame-range draws part of a render that has begun in this folder; run the "
                           "same command with --simulate-only first (or without --frame-range)", out)  # fmt: skip
    # everything that can refuse the shot (region, output size, matte, clean plate) runs
    # here, before anything is written
    # a farm's tasks share the first task's cut-out and simulation (exact, so the frames are too)
    cached = load_simulation(cache_path(out), key) if target.resumable else None
    prep = prepare(
        recipe,
        plate,
        tick,
        clean_plate_path=Path(recipe.clean_plate) if recipe.clean_plate else None,
        known=cached[1] if cached else None,
    )
    simd = cached[0] if cached else None
    if simd is None:
        if progress:
            progress("simulate", 0, recipe.frames)
        simd = run_simulation(
            prep, tick, (lambda n: progress("simulate", n, recipe.frames)) if progress else None
        )
    else:
        tick("simulate")
    if on_ready is not None:
        recorded = on_ready(recipe)
        assert recorded.key() == key, "on_ready may change where files are, not what the frames show"
        recipe = recorded
        plate.path = Path(recipe.plate)
    stamp = _stamp(credentials or credentials_for(None), recipe, refiner)
    opened.append(target)
    if part is not None and part.frames is not None:  # other tasks may be writing here: sweep nothing
        return _render_part(recipe, out, prep, simd, refiner, stamp, part.frames, progress, key)
    open_out_dir(target)
    resumable = target.resumable
    write_recipe(out / "recipe.json", recipe)
    write_state(out, key, {"frames_done": 0})
    if part is not None:  # the simulation, for the frame-range tasks
        assert prep.cutout is not None
        save_simulation(cache_path(out), simd, prep, key)
        tick("save")
        return {"part": "simulate", "shot": recipe.name, "stages": stages, "simulation": str(cache_path(out))}
    layers = () if recipe.preview else (LAYERS + (() if _passthrough(refiner) else ("refined",))
                                        + (("reflection",) if recipe.water_y is not None else ()))
    first, last = recipe.first_frame, recipe.last_frame
    resume_at = (
        first_missing(out, recipe.name, first, last, layers) if (resumable and layers) else first
    )
    w, h = prep.size
    renderer = LayerRenderer(w, h, prep.atlas, prep.light.direction)
    renderer.set_plate(prep.fill)
    work = _FrameWork(recipe, out, prep, simd, refiner, stamp, layers, key, start_offset, max(resume_at, first))
    chosen = work.chosen
    kept: dict[int, U8] = {}
    movie = out / f"{recipe.name}_review.mp4"
    rendered = 0

    def write(tmp: Path) -> None:
        nonlocal rendered
        container, stream = open_h264(tmp, recipe.fps, w, h, X264_REVIEW)
        pending: deque[tuple[int, Future[U8] | Future[Kept], bool]] = deque()
        # the GL thread draws frame n+1 while workers finish, write and picture frame n
        pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="moviola-vfx")

        def drain(limit: int) -> None:
            while len(pending) > limit:
                frame, shown_f, new = pending.popleft()
                shown = shown_f.result()  # a drawn frame's sRGB, or a farm task's kept picture
                pic, yuv, srgb = shown if isinstance(shown, tuple) else (shown, False, shown)
                encode_frame(container, stream, pic, frame - first, yuv=yuv)
                if frame in chosen and srgb is not None:
                    kept[frame] = srgb
                if new and layers:
                    write_state(out, key, {"frames_done": frame - first + 1})
                if progress:
                    progress("render", frame - first + 1, recipe.frames)

        try:
            for index in range(recipe.frames):
                frame = first + index
                # a farm task's frame (a final's whole on disk, or a preview's): its picture is kept
                if (frame < resume_at or recipe.preview) and work.parts.has(frame):
                    pending.append((frame, pool.submit(work.parts.picture, frame, (w, h)), False))
                    work.recall(frame)
                elif frame < resume_at:
                    shown = "refined" if "refined" in layers else "comp"
                    pending.append((frame, pool.submit(_srgb_from_exr, layer_path(out, recipe.name, shown, frame)),
                                    False))  # fmt: skip
                    work.recall(frame)
                else:
                    drawn = draw_frame(renderer, prep, simd, index)
                    rendered += 1
                    pending.append((frame, pool.submit(work.process, drawn), True))
                drain(2)
            drain(0)
            finish_movie(container, stream)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    shows = "refined" if "refined" in layers else "comp"
    try:
        atomic_movie(movie, write, stamp.finisher(movie, f"review movie of {recipe.name} ({shows})",
                                                  **_shown(shows, stamp)))  # fmt: skip
    finally:
        renderer.release()
    tick("render")
    breakdown, realism = work.breakdown, work.realism
    if not breakdown and not recipe.preview:  # resumed past the key frame: read its layers back
        breakdown = _breakdown_from_disk(out, recipe.name, work.key_frame)
    sheet = out / f"{recipe.name}_contact_sheet.png"
    before = working_to_srgb8(prep.image)
    wall_so_far = time.perf_counter() - wall0
    contact_sheet(sheet, f"{recipe.name}: building collapse", facts_line(recipe, prep.size, wall_so_far), before,
                  [(f, kept[f]) for f in chosen if f in kept], breakdown,
                  finish=stamp.finisher(sheet, f"contact sheet of {recipe.name}", **_shown(shows, stamp)))  # fmt: skip
    tick("contact_sheet")
    wall = time.perf_counter() - wall0
    cost = CostReport(wall, cpu_seconds() - cpu0, recipe.frames, prep.size, cpu_price)
    report = _report(recipe, prep, simd, out, movie, sheet, layers, stages, wall, cost, renderer.info,
                     resume_at if resume_at > first else None, rendered, refiner)  # fmt: skip
    report["dust_realism"] = realism_report(realism)
    write_document(out / "report.json", report)
    write_state(out, key, {"frames_done": recipe.frames, "complete": True})
    cache_path(out).unlink(missing_ok=True)  # a farm's simulation and frame parts: done with
    shutil.rmtree(out / PARTS, ignore_errors=True)
    sweep_temporaries(out)  # nothing hidden is left behind by a finished render
    return report


class _FrameWork:
    """What becomes of a drawn frame, in a whole render and in a farm's frame-range task alike:
    its layers written, its picture made, and what the sheet and report need of it kept."""

    def __init__(self, recipe: CollapseRecipe, out: Path, prep: Prepared, simd: Simulated, refiner: Any,
                 stamp: Stamp, layers: tuple[str, ...], key: str, start_offset: int, next_refine: int) -> None:  # fmt: skip
        self.recipe, self.out, self.prep, self.simd, self.refiner, self.stamp = recipe, out, prep, simd, refiner, stamp
        self.layers = layers
        first = recipe.first_frame
        self.chosen = pick_frames(first, recipe.frames, first + start_offset)
        self.key_frame = self.chosen[0]
        self.realism: dict[int, dict[str, Any]] = {}
        self.breakdown: list[tuple[str, U8]] = []
        self.extra = {"moviola_recipe_key": key, "moviola_shot": recipe.name}
        self.turn, self.next_refine = threading.Condition(), next_refine
        self.parts = _Parts(out, recipe.name, set(self.chosen))
        # a still plate under a still camera: every clean plate frame is the first one
        self.still = prep.plate.frame_count == 1 and not simd.shake[0].any()

    def process(self, drawn: Drawn) -> U8:
        """A worker thread's share of a frame: finish it, write its layers, picture it."""
        recipe, frame = self.recipe, self.recipe.first_frame + drawn.index
        try:
            fl = finish_frame(self.prep, self.simd, drawn)
            refined: FA | None = None
            if not _passthrough(self.refiner):
                with self.turn:  # a refiner sees frames one at a time and in order (models keep temporal state)
                    self.turn.wait_for(lambda: self.next_refine >= frame)
                    refined = _refine(self.refiner, recipe, fl, frame)
        finally:  # a failed frame still hands the turn on, so no worker waits forever
            with self.turn:
                self.next_refine = max(self.next_refine, frame + 1)
                self.turn.notify_all()
        if frame == self.key_frame:
            self.breakdown.extend(_breakdown(fl))
        if frame in self.chosen:  # the sheet's frames, spread over the shot: how smoke-like the dust is
            measure_dust(self.realism, frame, fl.dust, fl.dustback)
        link = self.still and not self.simd.shake[drawn.index].any() and frame != recipe.first_frame
        self._write_layers(frame, fl, refined, link)
        return working_to_srgb8(refined if refined is not None else fl.comp)

    def recall(self, frame: int) -> None:
        """A frame already on disk: what a farm task measured of it, if it was one."""
        self.parts.recall(frame, self.realism, self.breakdown if frame == self.key_frame else None)

    def keep_part(self, frame: int, srgb: U8 | None) -> None:
        """A farm task's frame: what the sheet and the report will need of it (and a preview's picture)."""
        self.parts.keep(frame, srgb, self.realism.get(frame), self.breakdown if frame == self.key_frame else None)

    def _write_layers(self, frame: int, fl: FrameLayers, refined: FA | None, link: bool) -> None:
        """Every layer of a frame, one file after another, the comp last: a frame with a
        comp on disk has all its layers."""
        recipe, out = self.recipe, self.out
        if recipe.preview:
            return
        h, w = fl.comp.shape[:2]
        first = recipe.first_frame
        jobs: list[tuple[str, dict[str, FA], Path | None]] = [
            ("cleanplate", {"RGB": fl.cleanplate}, layer_path(out, recipe.name, "cleanplate", first) if link else None),
            ("dustback", {"RGBA": fl.dustback}, None),
            ("debris", {"RGBA": fl.debris}, None),
            ("dust", {"RGBA": fl.dust}, None),
            ("lightwrap", {"RGB": fl.lightwrap}, None),
            ("grain", {"RGB": fl.grain}, None),
            ("mattes", dict(fl.mattes), None),
        ]  # fmt: skip
        if refined is not None:
            jobs.append(("refined", {"RGB": refined}, None))
        if fl.reflection is not None:
            jobs.append(("reflection", {"RGB": fl.reflection}, None))
        jobs.append(("comp", {"RGBA": np.concatenate([fl.comp, np.ones((h, w, 1), np.float16)], axis=2)}, None))
        for layer, channels, link_to in jobs:
            generated = layer == "refined"  # the one layer a trained model made
            write_layer(out, recipe.name, layer, frame, channels, recipe.fps, self.extra, link_to=link_to,
                        stamp=self.stamp if generated else self.stamp.but(models=()),
                        source_type="compositeWithTrainedAlgorithmicMedia" if generated else "algorithmicMedia")


Kept = tuple[U8, bool, U8 | None]  # a farm task's picture for the movie, whether it is YUV, its sRGB (sheet frames)


class _Parts:
    """``.moviola-parts/``: per frame a farm task drew, its realism figures (the sheet's
    frames), the key frame's breakdown, and its review picture (the very pixels the movie
    encodes: a preview keeps no layers, and a final's is quicker read than its EXR).

    The picture is the movie's own YUV 4:2:0, raw bytes (``.yuv``), plus the sRGB of the
    contact sheet's frames (``.rgb``): compressing it cost a tenth of a second a 1080p frame,
    and decoding its EXR again a quarter, against milliseconds for 3 MB more on the shared disk
    while the job runs (the gathering removes the folder); converted in the frame tasks, the
    gathering only encodes. Headerless, as the frame size is the shot's (and ``np.load``'s
    header parser is not safe on two threads in CPython 3.11)."""

    def __init__(self, out: Path, name: str, chosen: set[int]) -> None:
        self.folder, self.name, self.chosen = out / PARTS, name, chosen

    def _path(self, frame: int, suffix: str) -> Path:
        return self.folder / f"{self.name}.{frame:04d}{suffix}"

    def has(self, frame: int, picture: bool = True) -> bool:
        """Whether a task kept this frame's part (with its picture: a preview's)."""
        if not picture:
            return self._path(frame, ".json").is_file()
        wanted = (".json", ".yuv", ".rgb") if frame in self.chosen else (".json", ".yuv")
        return all(self._path(frame, suffix).is_file() for suffix in wanted)

    def picture(self, frame: int, size: tuple[int, int]) -> Kept:
        w, h = size
        yuv = self._array(self._path(frame, ".yuv"), (h * 3 // 2, w))
        return yuv, True, self._array(self._path(frame, ".rgb"), (h, w, 3)) if frame in self.chosen else None

    @staticmethod
    def _array(path: Path, shape: tuple[int, ...]) -> U8:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ProjectError(f"a frame task's picture cannot be read ({exc}); run the job's "
                               f"frame range again", path) from exc  # fmt: skip
        if len(raw) != math.prod(shape):
            raise ProjectError(f"a frame task's picture is {len(raw)} bytes, not the {math.prod(shape)} of "
                               f"{'x'.join(map(str, shape))}; run the job's frame range again", path)  # fmt: skip
        return np.frombuffer(raw, np.uint8).reshape(shape)

    def keep(self, frame: int, srgb: U8 | None, realism: dict[str, Any] | None,
             breakdown: list[tuple[str, U8]] | None) -> None:  # fmt: skip
        names = []
        for i, (name, pic) in enumerate(breakdown or []):
            write_bytes_atomic(self._path(frame, f".breakdown{i}.png"), png_bytes(pic, {}))
            names.append(name)
        if srgb is not None:
            write_bytes_atomic(self._path(frame, ".yuv"), np.ascontiguousarray(rgb_to_yuv420(srgb)).tobytes())
            if frame in self.chosen:
                write_bytes_atomic(self._path(frame, ".rgb"), np.ascontiguousarray(srgb, np.uint8).tobytes())
        # the JSON last: a frame's part counts only once everything it lists is there
        write_text_atomic(self._path(frame, ".json"), json.dumps({"realism": realism, "breakdown": names}))

    def recall(self, frame: int, realism: dict[int, dict[str, Any]],
               breakdown: list[tuple[str, U8]] | None) -> None:  # fmt: skip
        try:
            data = json.loads(self._path(frame, ".json").read_text("utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(data.get("realism"), dict):
            realism[frame] = data["realism"]
        if breakdown is not None and not breakdown:
            try:
                breakdown.extend((str(name), _read_png(self._path(frame, f".breakdown{i}.png")))
                                 for i, name in enumerate(data.get("breakdown") or []))  # fmt: skip
            except (OSError, ValueError):
                breakdown.clear()


def _render_part(recipe: CollapseRecipe, out: Path, prep: Prepared, simd: Simulated, refiner: Any, stamp: Stamp,
                 frames: tuple[int, int], progress: Progress | None, key: str) -> dict[str, Any]:  # fmt: skip
    """A farm task's frames: each one not already whole on disk is drawn, written and its part
    kept; nothing else (the movie, sheet and report are the whole render's)."""
    first = recipe.first_frame
    layers = () if recipe.preview else (LAYERS + (() if _passthrough(refiner) else ("refined",))
                                        + (("reflection",) if recipe.water_y is not None else ()))
    a, b = frames
    work = _FrameWork(recipe, out, prep, simd, refiner, stamp, layers, key,
                      round(recipe.start_s() * recipe.fps), a)  # fmt: skip
    todo = [f for f in range(a, b + 1)
            if not (work.parts.has(f, picture=not layers) and frame_done(out, recipe.name, f, layers))]
    w, h = prep.size
    renderer = LayerRenderer(w, h, prep.atlas, prep.light.direction)
    renderer.set_plate(prep.fill)
    pending: deque[Future[None]] = deque()
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="moviola-vfx")
    done = 0

    def finish(drawn: Drawn) -> None:
        # on the worker: the frame's layers, then its picture for the gathering to encode
        # (the GL thread goes on drawing meanwhile)
        work.keep_part(first + drawn.index, work.process(drawn))

    def drain(limit: int) -> None:
        nonlocal done
        while len(pending) > limit:
            pending.popleft().result()
            done += 1
            if progress:
                progress("render", done, len(todo))

    try:
        for frame in todo:
            pending.append(pool.submit(finish, draw_frame(renderer, prep, simd, frame - first)))
            drain(2)
        drain(0)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        renderer.release()
    return {"part": "frames", "shot": recipe.name, "frames": [a, b], "frames_rendered": len(todo),
            "frames_kept": (b - a + 1) - len(todo)}


def read_report(path: Path) -> Document:
    """A collapse render's ``report.json``, checked (a newer Moviola's is refused)."""
    return read_document(path, expect=REPORT_NAME)


def _srgb_from_exr(path: Path) -> U8:
    ch = read_exr(path)
    rgb = np.stack([ch["R"], ch["G"], ch["B"]], axis=-1)
    return working_to_srgb8(rgb)


def _read_png(path: Path) -> U8:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise OSError(f"cannot read {path}")
    return np.asarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), np.uint8)


def _breakdown(fl: FrameLayers) -> list[tuple[str, U8]]:
    clean = working_to_srgb8(fl.cleanplate)
    black = np.zeros_like(clean)
    out = [("clean plate", clean)]
    for name, layer in (("dust behind", fl.dustback), ("debris", fl.debris), ("dust", fl.dust)):
        shown = working_to_srgb8(np.clip(layer[..., :3], 0, None)) if layer[..., 3].any() else black
        out.append((name, checker_over(layer, shown)))
    out.append(("mattes: building, revealed, debris, dust", matte_picture(fl.mattes)))
    return out


def _breakdown_from_disk(out: Path, name: str, frame: int) -> list[tuple[str, U8]]:
    try:

        def rgba(layer: str) -> F32:
            ch = read_exr(layer_path(out, name, layer, frame))
            return np.stack([ch[c] for c in ("R", "G", "B", "A") if c in ch], axis=-1)

        clean = rgba("cleanplate")
        mattes = read_exr(layer_path(out, name, "mattes", frame))
        zero = np.zeros((*clean.shape[:2], 1), np.float32)
        f16 = np.float16
        fl = FrameLayers(clean[..., :3].astype(f16), rgba("dustback").astype(f16), rgba("debris").astype(f16),
                         rgba("dust").astype(f16), zero.astype(f16), zero.astype(f16),
                         {k: v.astype(f16) for k, v in mattes.items()}, clean[..., :3].astype(f16))  # fmt: skip
        return _breakdown(fl)
    except (OSError, KeyError, ValueError):
        return []


def _stamp(credentials: Credentials, recipe: CollapseRecipe, refiner: Any) -> Stamp:
    """What every file of this shot says: the plate opened and brought down by our
    simulation, under this recipe (its key: what the frames show)."""
    models = tuple(ModelUse.of(m) for m in getattr(refiner, "models", ()))
    return Stamp(credentials, Claim(
        f"building collapse {recipe.name}", command="moviola vfx collapse",
        parent=Ingredient(Path(recipe.plate), "plate", "parentOf", recipe.plate_sha256 or ""),
        ingredients=(Ingredient(Path(recipe.clean_plate), "clean plate", "componentOf"),) if recipe.clean_plate else (),
        models=models, documents={"recipe": recipe.key()},
        details={"shot": recipe.name, "seed": recipe.seed, "mode": recipe.mode, "preview": recipe.preview,
                 **({"prompt": recipe.prompt, "refiner": refiner.name} if not _passthrough(refiner) else {})}))  # fmt: skip


def _passthrough(refiner: Any) -> bool:
    return isinstance(refiner, PassThrough)


def _shown(shows: str, stamp: Stamp) -> dict[str, Any]:
    """Claim changes for a picture of the shot: refined frames are an edit by a trained model."""
    if shows == "refined":
        return {"source_type": "compositeWithTrainedAlgorithmicMedia"}
    return {"source_type": "algorithmicMedia", "models": ()}


def _refine(refiner: Any, recipe: CollapseRecipe, fl: FrameLayers, frame: int) -> F32:
    """Hand the frame (as a person sees it: sRGB) and its control passes to a generative
    backend; its frame comes back to ACEScg as the ``refined`` layer."""
    m = fl.mattes
    depth = np.maximum.reduce(
        [0.5 * m["building"], 0.35 * m["dustback"], 0.55 * m["debris"], 0.8 * m["dust"]]
    )
    srgb8 = working_to_srgb8(fl.comp)
    edges = cv2.Canny(cv2.cvtColor(srgb8, cv2.COLOR_RGB2GRAY), 60, 160).astype(np.float32) / 255.0
    controls = {"depth": depth.astype(np.float32), "lineart": edges,
                **{f"matte:{k}": np.clip(v, 0, 1).astype(np.float32) for k, v in m.items()}}  # fmt: skip
    request = GenRequest(srgb8.astype(np.float32) / 255.0, controls, prompt=recipe.prompt, seed=recipe.seed,
                         strength=recipe.refiner_strength, steps=recipe.refiner_steps, frame=frame)  # fmt: skip
    out = check_output(request, refiner.refine(request), refiner.name)
    return to_working(out, SRGB).astype(np.float32)


def _versions() -> dict[str, str]:
    out = {}
    for dist in ("pymunk", "opencolorio", "opencv-python-headless", "moderngl", "openexr", "av"):
        try:
            out[dist] = version(dist)
        except Exception:  # an alternative build (opencv-python) or a source tree
            continue
    return out


def _report(recipe: CollapseRecipe, prep: Prepared, simd: Any, out: Path, movie: Path, sheet: Path,
            layers: tuple[str, ...], stages: dict[str, float], wall: float, cost: CostReport, gl: str,
            resumed_from: int | None, rendered: int, refiner: Any) -> dict[str, Any]:  # fmt: skip
    def rel(p: Path) -> str:
        return str(p.relative_to(out))

    first, last = recipe.first_frame, recipe.last_frame
    outputs: dict[str, Any] = {
        "movie": rel(movie),
        "contact_sheet": rel(sheet),
        "recipe": "recipe.json",
        "layers": {
            layer: str(
                Path(sequence_pattern(out, recipe.name, layer, first, last)).relative_to(out)
            )
            for layer in layers
        },  # fmt: skip
    }
    return {
        "schema": schema_tag(REPORT_NAME),
        "shot": recipe.name,
        "frames": recipe.frames,
        "first_frame": first,
        "last_frame": last,
        "fps": recipe.fps,
        "resolution": [prep.size[0], prep.size[1]],
        "preview": recipe.preview,
        "wall_s": round(wall, 3),
        "stages": stages,
        "outputs": outputs,
        "paths_relative_to": ".",  # every path here is relative to this report's folder
        "frames_rendered": rendered,
        "resumed_from": resumed_from,
        "seed": recipe.seed,
        "mode": recipe.mode,
        "recipe_key": recipe.key(),
        "colour": {
            "working_space": "ACEScg",
            "review": "sRGB (inverse of the plate's input transform)",
            "ocio_config": config_name(),
        },  # fmt: skip
        "plate": {
            "path": relative_path(prep.plate.path, out),
            "sha256": prep.plate.digest,
            "kind": prep.plate.kind,
            "colourspace": prep.plate.colourspace,
            "size": [prep.plate.width, prep.plate.height],
        },  # fmt: skip
        "simulation": {
            "engine": "pymunk (Chipmunk2D)",
            "shards": len(prep.fracture.shards),
            "bonds": simd.sim.bonds,
            "bonds_broken": simd.sim.broken,
            "dust_solver": {"grid": [simd.dust.grid.shape[1], simd.dust.grid.shape[0]],
                            "cell_px": round(simd.dust.grid.cell, 3),
                            "peak_mass": round(simd.dust.peak_mass, 3)},
            "peak_chips": simd.particles.peak_chips,
            "px_per_m": round(prep.px_per_m, 3),
        },  # fmt: skip
        "refiner": {"name": refiner.name, "models": [m.info() for m in refiner.models],
                    "strength": recipe.refiner_strength, "steps": recipe.refiner_steps},
        "renderer": gl,
        "versions": _versions(),
        "cost": cost.as_dict(),
    }
