"""``moviola vfx collapse``: a building collapse on a plate, from recipe to reviewed layers.

Stages, each timed for the report: load, matte, clean_plate, fracture,
simulate, particles, render (frames, layers and the review movie, pipelined:
the GPU or llvmpipe draws frame n+1 while worker threads composite, write and
encode frame n), contact_sheet. A render that stops (Ctrl-C, a kill, a full
disk) leaves only whole frames; running the same recipe into the same folder
again picks up at the first incomplete frame and re-encodes the movie from
the frames already on disk.

Everything that can refuse a render (the recipe, the plate and its sha256, the
building region, the output size, the folder, the matte) is checked before the
first byte is written; a render that fails before publishing a frame removes
what it wrote to get started. A refused render leaves nothing behind, and the
corrected command is not turned away as "a different recipe".
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ...core import Document, InputError, read_document, register_schema, schema_tag, write_document
from ...core._colour import SRGB, config_name, to_working, working_to_srgb8
from ...core._image_io import read_exr
from ...core._media import atomic_movie, encode_frame, finish_movie, open_h264
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
from ._layers import LAYERS, first_missing, layer_path, sequence_pattern, write_layer
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
from ._shot import Prepared, prepare, run_simulation

F32 = NDArray[np.float32]
FA = NDArray[np.floating[Any]]
U8 = NDArray[np.uint8]
Progress = Callable[[str, int, int], None]
#: Called once the render is checked and prepared, just before it writes anything: gets the
#: recipe (with its plate's sha256) and returns the one to record (e.g. the plate's copy in a project).
OnReady = Callable[[CollapseRecipe], CollapseRecipe]
REPORT_NAME = "CollapseReport"
register_schema(REPORT_NAME, 1)
REPORT_SCHEMA = schema_tag(REPORT_NAME)  # "CollapseReport.1": what report.json is written as


def run_collapse(recipe: CollapseRecipe, out: Path, *, force: bool = False, progress: Progress | None = None,
                 cpu_price: float = CPU_PRICE_PER_VCPU_HOUR, on_ready: OnReady | None = None,
                 credentials: Credentials | None = None,
                 refiner_options: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """Render ``recipe`` into ``out``; returns the report (also written as report.json).

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
                             refiner_options)  # fmt: skip
    except KeyboardInterrupt:
        # the workers have stopped by now; a write cut short can leave its hidden temporary
        if Path(out).is_dir():
            sweep_temporaries(Path(out))
        raise
    except Exception:
        if opened and not opened[0].resumable:
            discard_unstarted(Path(out), created=not opened[0].existed)
        raise


def _run_collapse(recipe: CollapseRecipe, out: Path, force: bool, progress: Progress | None,
                  cpu_price: float, on_ready: OnReady | None, opened: list[OutDir],
                  credentials: Credentials | None,
                  refiner_options: dict[str, Any] | None) -> dict[str, Any]:  # fmt: skip
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    stages: dict[str, float] = {}
    mark = [wall0]

    def tick(name: str) -> None:
        now = time.perf_counter()
        stages[name] = round(stages.get(name, 0.0) + now - mark[0], 3)
        mark[0] = now

    recipe = recipe.validate()
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
    # everything that can refuse the shot (region, output size, matte, clean plate) runs
    # here, before anything is written
    prep = prepare(
        recipe,
        plate,
        tick,
        clean_plate_path=Path(recipe.clean_plate) if recipe.clean_plate else None,
    )
    if progress:
        progress("simulate", 0, recipe.frames)
    simd = run_simulation(
        prep, tick, (lambda n: progress("simulate", n, recipe.frames)) if progress else None
    )
    if on_ready is not None:
        recorded = on_ready(recipe)
        assert recorded.key() == key, "on_ready may change where files are, not what the frames show"
        recipe = recorded
        plate.path = Path(recipe.plate)
    stamp = _stamp(credentials or credentials_for(None), recipe, refiner)
    opened.append(target)
    open_out_dir(target)
    resumable = target.resumable
    write_recipe(out / "recipe.json", recipe)
    write_state(out, key, {"frames_done": 0})
    layers = () if recipe.preview else (LAYERS + (() if _passthrough(refiner) else ("refined",))
                                        + (("reflection",) if recipe.water_y is not None else ()))
    first, last = recipe.first_frame, recipe.last_frame
    resume_at = (
        first_missing(out, recipe.name, first, last, layers) if (resumable and layers) else first
    )
    w, h = prep.size
    renderer = LayerRenderer(w, h, prep.atlas, prep.light.direction)
    renderer.set_plate(prep.fill)
    chosen = pick_frames(first, recipe.frames, first + start_offset)
    kept: dict[int, U8] = {}
    realism: dict[int, dict[str, Any]] = {}
    breakdown: list[tuple[str, U8]] = []
    key_frame = chosen[0]
    extra = {"moviola_recipe_key": key, "moviola_shot": recipe.name}
    movie = out / f"{recipe.name}_review.mp4"
    rendered = 0
    turn, next_refine = threading.Condition(), [max(resume_at, first)]

    def write_layers(frame: int, fl: FrameLayers, refined: FA | None, link: bool) -> None:
        """Every layer of a frame, one file after another, the comp last: a frame with a
        comp on disk has all its layers."""
        if recipe.preview:
            return
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
            write_layer(out, recipe.name, layer, frame, channels, recipe.fps, extra, link_to=link_to,
                        stamp=stamp if generated else stamp.but(models=()),
                        source_type="compositeWithTrainedAlgorithmicMedia" if generated else "algorithmicMedia")

    def process(drawn: Drawn, link: bool) -> U8:
        """A worker thread's share of a frame: finish it, write its layers, picture it."""
        frame = first + drawn.index
        try:
            fl = finish_frame(prep, simd, drawn)
            refined: FA | None = None
            if not _passthrough(refiner):
                with turn:  # a refiner sees frames one at a time and in order (models keep temporal state)
                    turn.wait_for(lambda: next_refine[0] >= frame)
                    refined = _refine(refiner, recipe, fl, frame)
        finally:  # a failed frame still hands the turn on, so no worker waits forever
            with turn:
                next_refine[0] = max(next_refine[0], frame + 1)
                turn.notify_all()
        if frame == key_frame:
            breakdown.extend(_breakdown(fl))
        if frame in chosen:  # the sheet's frames, spread over the shot: how smoke-like the dust is
            measure_dust(realism, frame, fl.dust, fl.dustback)
        write_layers(frame, fl, refined, link)
        return working_to_srgb8(refined if refined is not None else fl.comp)

    def write(tmp: Path) -> None:
        nonlocal rendered
        container, stream = open_h264(tmp, recipe.fps, w, h, X264_REVIEW)
        pending: deque[tuple[int, Future[U8], bool]] = deque()
        # the GL thread draws frame n+1 while workers finish, write and picture frame n
        pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="moviola-vfx")

        def drain(limit: int) -> None:
            while len(pending) > limit:
                frame, srgb_f, new = pending.popleft()
                srgb = srgb_f.result()
                encode_frame(container, stream, srgb, frame - first)
                if frame in chosen:
                    kept[frame] = srgb
                if new and layers:
                    write_state(out, key, {"frames_done": frame - first + 1})
                if progress:
                    progress("render", frame - first + 1, recipe.frames)

        try:
            still_camera = not simd.shake[0].any()
            for index in range(recipe.frames):
                frame = first + index
                if frame < resume_at:
                    shown = "refined" if "refined" in layers else "comp"
                    pending.append((frame, pool.submit(_srgb_from_exr, layer_path(out, recipe.name, shown, frame)),
                                    False))  # fmt: skip
                else:
                    drawn = draw_frame(renderer, prep, simd, index)
                    rendered += 1
                    # a still plate under a still camera: every clean plate frame is the first one
                    link = prep.plate.frame_count == 1 and still_camera and not simd.shake[index].any() \
                        and frame != first  # fmt: skip
                    pending.append((frame, pool.submit(process, drawn, link), True))
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
    if not breakdown and not recipe.preview:  # resumed past the key frame: read its layers back
        breakdown = _breakdown_from_disk(out, recipe.name, key_frame)
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
    sweep_temporaries(out)  # nothing hidden is left behind by a finished render
    return report


def read_report(path: Path) -> Document:
    """A collapse render's ``report.json``, checked (a newer Moviola's is refused)."""
    return read_document(path, expect=REPORT_NAME)


def _srgb_from_exr(path: Path) -> U8:
    ch = read_exr(path)
    rgb = np.stack([ch["R"], ch["G"], ch["B"]], axis=-1)
    return working_to_srgb8(rgb)


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
