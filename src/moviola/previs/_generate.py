"""``moviola gen boards``: storyboard frames generated from the previs passes by a model.

For each shot the previs boarded, its render (``beauty``), depth, normals and line art
(``previs/passes/SHOT/``) go to a generative backend (``moviola.gen``: ControlNet on
depth and line art, img2img, or a plug-in) with the user's prompt and the shot's own
action line. The frames are their own layer, ``previs/generated/BACKEND/SHOT.png``,
with a contact sheet; the procedural boards stay as they were. Each frame is signed as
``trainedAlgorithmicMedia`` with the passes as its inputs and the model with its
licence. A frame already made with the same model, prompt, seed and passes is kept, so
an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from ..core import DocumentError, InputError, Project, read_document, write_text_atomic
from ..core._image_io import read_exr
from ..provenance import (
    Claim,
    Credentials,
    Ingredient,
    ModelUse,
    Stamp,
    credentials_for,
    write_signed,
)
from ._contact_sheet import Panel, SheetScene, write_contact_sheet
from ._state import digest

F32 = NDArray[np.float32]
GENERATED = "generated"
STATE_FILE = ".moviola-gen.json"
GEN_VERSION = 1
MAX_SHOT_TEXT = 300  # of the action line added to the prompt (CLIP reads 77 tokens anyway)


@dataclass
class GeneratedBoards:
    """What a ``gen boards`` run made, kept and where."""

    backend: str
    folder: Path
    frames: list[Path] = field(default_factory=list)
    made: int = 0
    kept: int = 0
    sheet: Path | None = None
    models: list[dict[str, Any]] = field(default_factory=list)


def _picture(path: Path) -> F32:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), np.float32) / 255.0


def _depth(path: Path) -> F32:
    """Metres (with coverage) to what depth ControlNets are trained on: near 1, far and sky 0."""
    ch = read_exr(path)
    z, cover = ch["Z"], ch.get("A", np.ones_like(ch["Z"]))
    seen = (cover > 0.5) & np.isfinite(z) & (z > 0)
    if not seen.any():
        return np.zeros_like(z, np.float32)
    inv = np.where(seen, 1.0 / np.maximum(z, 1e-3), 0.0)
    lo, hi = float(np.percentile(inv[seen], 1)), float(np.percentile(inv[seen], 99))
    out: F32 = (np.clip((inv - lo) / max(hi - lo, 1e-6), 0.0, 1.0) * seen).astype(np.float32)
    return out


def _normals(path: Path) -> F32:
    ch = read_exr(path)
    n = np.stack([ch["R"], ch["G"], ch["B"]], axis=-1)
    out: F32 = np.clip(n * 0.5 + 0.5, 0.0, 1.0).astype(np.float32)
    return out


def _lineart(path: Path) -> F32:
    """The previs line art is dark on white; line-art ControlNets want white on black."""
    with Image.open(path) as im:
        grey = np.asarray(im.convert("L"), np.float32) / 255.0
    return (1.0 - grey).astype(np.float32)


def _resize(arr: F32, size: tuple[int, int]) -> F32:
    import cv2

    if arr.shape[1] == size[0] and arr.shape[0] == size[1]:
        return arr
    return np.asarray(cv2.resize(arr, size, interpolation=cv2.INTER_AREA), np.float32)


def generation_size(width: int, height: int, target: int) -> tuple[int, int]:
    """The frame's aspect at ``target`` pixels wide, both sides a multiple of 8 (the VAE's)."""
    w = max(64, target // 8 * 8)
    h = max(64, round(w * height / width / 8) * 8)
    return w, h


def shots_to_generate(doc: dict[str, Any], wanted: Iterable[str] | None) -> list[str]:
    passes = doc.get("outputs", {}).get("passes", {})
    if not passes:
        raise InputError("the previs has no passes to generate from; run 'moviola previs' first")
    if wanted is None:
        return list(passes)
    chosen = list(dict.fromkeys(wanted))
    unknown = [s for s in chosen if s not in passes]
    if unknown:
        raise InputError(f"no previs passes for shot(s) {', '.join(unknown)}; the boarded shots are "
                         + ", ".join(list(passes)[:40]))
    return chosen


def generate_boards(project: Project, backend: Any, *, prompt: str, negative_prompt: str = "",
                    shots: Iterable[str] | None = None, seed: int = 1, strength: float = 1.0,
                    steps: int = 20, guidance: float = 5.0, width: int = 768, shot_text: bool = True,
                    prompt_embeds: Any = None, negative_prompt_embeds: Any = None,
                    progress: Callable[[int, int], None] | None = None,
                    credentials: Credentials | None = None) -> GeneratedBoards:  # fmt: skip
    """Generate a frame per boarded shot with ``backend`` (see the module's docstring)."""
    from ..gen import GenRequest, check_output

    if not " ".join(prompt.split()):
        raise InputError("an empty prompt; say what the boards should look like (--prompt)")
    try:
        doc = read_document(project.path("previs", "previs.json"), expect="Previs")
    except DocumentError as exc:
        if not project.path("previs", "previs.json").exists():
            raise InputError("no previs yet; run 'moviola previs' first", project.root) from exc
        raise
    chosen = shots_to_generate(doc, shots)
    texts: dict[str, str] = {}
    captions: dict[str, tuple[str, str]] = {}
    for panel in doc["outputs"].get("storyboards", []):
        texts.setdefault(panel["shot"], panel.get("text", ""))
        captions.setdefault(panel["shot"], (panel.get("caption", ""), panel.get("text", "")))
    label = str(getattr(backend, "name", "backend")).replace(":", "-").replace("/", "-")
    folder = project.path("previs", GENERATED, label)
    state_path = folder / STATE_FILE
    try:
        state: dict[str, str] = json.loads(state_path.read_text(encoding="utf-8")) if state_path.is_file() else {}
    except (OSError, ValueError):
        state = {}
    models = tuple(ModelUse.of(m) for m in getattr(backend, "models", ()))
    stamp = Stamp(credentials or credentials_for(project), Claim(
        "generated storyboard frame", source_type="trainedAlgorithmicMedia", command="moviola gen boards",
        models=models, details={"project": project.name, "backend": label, "seed": seed, "strength": strength,
                                "steps": steps}))  # fmt: skip
    result = GeneratedBoards(label, folder, models=[m.to_json() for m in models])
    model_key = [(m.name, m.source, m.sha256, m.licence) for m in models]  # other weights: other frames
    for i, shot in enumerate(chosen):
        files = {k: project.root / v for k, v in doc["outputs"]["passes"][shot].items()}
        target = folder / f"{shot}.png"
        words = " ".join(prompt.split())
        line = " ".join(texts.get(shot, "").split())[:MAX_SHOT_TEXT] if shot_text else ""
        full = f"{words}. {line}" if line else words
        inputs = [files[k] for k in ("beauty", "depth", "normals", "lineart") if k in files]
        missing = [p for p in inputs if not p.is_file()]
        if "beauty" not in files or missing:
            raise InputError(f"shot {shot}: the previs passes are missing or from an older previs; run "
                             "'moviola previs' again", (missing or [project.path("previs", "passes", shot)])[0])  # fmt: skip
        key = digest(GEN_VERSION, model_key, full, negative_prompt, seed, strength, steps, guidance, width,
                     [p.stat().st_size for p in inputs], [p.stat().st_mtime_ns for p in inputs])  # fmt: skip
        result.frames.append(target)
        if target.is_file() and state.get(shot) == key:
            result.kept += 1
            if progress:
                progress(i + 1, len(chosen))
            continue
        beauty = _picture(files["beauty"])
        size = generation_size(beauty.shape[1], beauty.shape[0], width)
        controls: dict[str, F32] = {}
        if "depth" in files:
            controls["depth"] = _resize(_depth(files["depth"]), size)
        if "normals" in files:
            controls["normals"] = _resize(_normals(files["normals"]), size)
        if "lineart" in files:
            controls["lineart"] = _resize(_lineart(files["lineart"]), size)
        request = GenRequest(_resize(beauty, size), controls, prompt=full, negative_prompt=negative_prompt,
                             seed=seed, strength=strength, steps=steps, guidance=guidance, frame=i + 1,
                             prompt_embeds=prompt_embeds, negative_prompt_embeds=negative_prompt_embeds)  # fmt: skip
        out = check_output(request, backend.refine(request), label)
        png = _png(out)
        write_signed(target, png, stamp, f"storyboard frame of shot {shot} generated by {label}",
                     ingredients=tuple(Ingredient(p, f"{p.stem} pass", "inputTo") for p in inputs),
                     details={"shot": shot, "prompt": full})  # fmt: skip
        state[shot] = key
        write_text_atomic(state_path, json.dumps(state, indent=1) + "\n")
        result.made += 1
        if progress:
            progress(i + 1, len(chosen))
    sheet = folder / "contact_sheet.pdf"
    title = str(doc.get("script", {}).get("file", project.name))
    panels = [Panel(folder / f"{s}.png", s, captions.get(s, ("", ""))[0], captions.get(s, ("", ""))[1], "")
              for s in chosen]  # fmt: skip
    write_contact_sheet(sheet, project.name, [SheetScene("", f"generated by {label}", panels)],
                        subtitle=f"{title} · {label} · seed {seed}", stamp=stamp.but(
                            source_type="trainedAlgorithmicMedia"))  # fmt: skip
    result.sheet = sheet
    return result


def _png(frame: F32) -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(np.clip(frame * 255.0 + 0.5, 0, 255).astype(np.uint8)).save(buf, "PNG", compress_level=2)
    return buf.getvalue()
