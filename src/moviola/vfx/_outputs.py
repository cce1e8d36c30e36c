"""Where a collapse shot's files go, and how a frame is written so it is never half there.

    DIR/layers/<layer>/<name>_<layer>.1001.exr ...   one sequence per layer
    DIR/<name>_review.mp4                          sRGB H.264 review movie
    DIR/<name>_contact_sheet.png                   before / after
    DIR/recipe.json                                the recipe this render used
    DIR/report.json                                times, cost, outputs
    DIR/.moviola-render.json                       what is here, for resuming

Each EXR is written under a temporary name and renamed; a frame counts as done
when every one of its layers is there, so a render killed mid-frame resumes at
that frame. The comp is renamed last.

Nothing is written into DIR until a render has checked everything it can
refuse (the plate, the region, the folder): a refused render leaves no trace,
so the corrected command is never turned away as "a different recipe".
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..core import InputError, ProjectError, write_text_atomic
from ..core._image_io import write_exr

F32 = NDArray[np.floating[Any]]
LAYERS = ("cleanplate", "dustback", "debris", "dust", "lightwrap", "grain", "mattes", "comp")
STATE_FILE = ".moviola-render.json"
_TEMPORARY_SUFFIXES = (".exr", ".png", ".mp4", ".tmp", ".link")
# ACEScg: AP1 primaries, the ACES white point (x, y of R, G, B, white)
ACESCG_CHROMATICITIES = (0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168, 0.33767)
NAME_MAX = 64


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot name a shot's files, or None when it can.

    A shot's name goes into every file name it writes (``NAME_review.mp4``,
    ``NAME.1001.png``), so it must be one plain file-name part: 1 to 64 letters,
    digits, ``-`` and ``_``, starting with a letter or digit. That rules out
    path separators, ``.`` and ``..``, absolute paths, NUL, a leading dash (read
    as an option by other tools) and names no file system takes. Collapse and
    de-aging both use this one rule.
    """
    if not isinstance(name, str):
        return "must be text"
    if not name:
        return "is empty"
    if not all(c.isalnum() or c in "-_" for c in name) or not name[0].isalnum():
        return ("is not a plain file-name part: use letters, digits, - and _ only, starting with a "
                "letter or digit (no / or .., it names files inside the output folder)")  # fmt: skip
    if len(name) > NAME_MAX:
        return f"is {len(name)} characters long; the limit is {NAME_MAX}"
    return None


def check_name(name: str, what: str = "--name") -> str:
    """``name`` if it may name a shot's files (see :func:`name_problem`); an :class:`InputError` if not."""
    problem = name_problem(name)
    if problem is not None:
        raise InputError(f"{what} {_shown(name)} {problem}")
    return name


def _shown(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def layer_path(out: Path, name: str, layer: str, frame: int) -> Path:
    return out / "layers" / layer / f"{name}_{layer}.{frame:04d}.exr"


def sequence_pattern(out: Path, name: str, layer: str, first: int, last: int) -> str:
    """The sequence in the field's notation: ``name_layer.1001-1120#.exr``."""
    return str(out / "layers" / layer / f"{name}_{layer}.{first}-{last}#.exr")


def frame_done(out: Path, name: str, frame: int, layers: Sequence[str] = LAYERS) -> bool:
    return all(layer_path(out, name, layer, frame).is_file() for layer in layers)


def first_missing(
    out: Path, name: str, first: int, last: int, layers: Sequence[str] = LAYERS
) -> int:
    """The first frame not completely on disk (``last + 1`` when all are)."""
    for frame in range(first, last + 1):
        if not frame_done(out, name, frame, layers):
            return frame
    return last + 1


@dataclass(frozen=True)
class OutDir:
    """What a render may do with its output folder, decided before it writes anything."""

    path: Path
    resumable: bool  # holds an unfinished render of this very recipe: carry on from it
    replace: bool  # --force over another render or other files: ours go when the render starts
    existed: bool  # the folder was there before this run


def inspect_out_dir(out: Path, key: str, force: bool) -> OutDir:
    """May we render into ``out``? Refuses without touching anything.

    A folder with another recipe's render, or with files that are not ours, is
    refused unless ``force``: it may be somebody's work. ``force`` also renders a
    resumable render again from its first frame.
    """
    if out.exists() and not out.is_dir():
        raise ProjectError("--out is a file, not a folder", out)
    state_path = out / STATE_FILE
    if state_path.is_file():
        try:
            state = json.loads(state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = {}
        if isinstance(state, dict) and state.get("key") == key and not force:
            return OutDir(out, True, False, True)
        if not force:
            raise ProjectError(
                "this folder holds the render of a different recipe (other settings, or an older "
                "Moviola engine); "
                "pass --force to replace it, or choose another --out",
                out,
            )
        return OutDir(out, False, True, True)
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise ProjectError("this folder is not empty and holds no Moviola render; choose an empty "
                               "--out or pass --force to render into it anyway", out)  # fmt: skip
        return OutDir(out, False, True, True)
    return OutDir(out, False, False, out.is_dir())


def open_out_dir(target: OutDir) -> None:
    """Make the folder ready to write: sweep a resumed render's temporaries, clear what
    ``--force`` replaces, create it."""
    if target.resumable:
        sweep_temporaries(target.path)
    elif target.replace:
        _clear(target.path)
    target.path.mkdir(parents=True, exist_ok=True)


def check_out_dir(out: Path, key: str, force: bool) -> tuple[bool, Path | None]:
    """:func:`inspect_out_dir`, then make way without creating the folder: ``(resumable,
    aside)``. What ``--force`` replaces is not deleted yet but set aside (``aside``) until
    the new render has started: :func:`restore_aside` puts it back if the new one is
    refused before its first frame, :func:`drop_aside` removes it once it has begun."""
    target = inspect_out_dir(out, key, force)
    if target.resumable:
        sweep_temporaries(out)
        shutil.rmtree(out / ASIDE, ignore_errors=True)  # a --force render resumed: it had begun
        return True, None
    return False, (_set_aside(out) if target.replace else None)


ASIDE = ".moviola-replaced"  # inside the out folder: the render --force is replacing


def _set_aside(out: Path) -> Path:
    aside = out / ASIDE
    if aside.exists():
        shutil.rmtree(aside)
    aside.mkdir()
    for item in _ours(out):
        item.rename(aside / item.name)
    return aside


def restore_aside(out: Path, aside: Path | None) -> None:
    """Put back the render ``--force`` was replacing (the new one never started)."""
    if aside is None or not aside.is_dir():
        return
    out.mkdir(parents=True, exist_ok=True)
    for item in aside.iterdir():
        if not (out / item.name).exists():
            item.rename(out / item.name)
    shutil.rmtree(aside, ignore_errors=True)


def drop_aside(aside: Path | None) -> None:
    """The new render has begun: the one it replaces goes."""
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def discard_unstarted(out: Path, created: bool, ours: Sequence[str] = ("recipe.json",)) -> bool:
    """After a render failed before publishing any output: remove what it wrote to get
    started (the resume state, ``ours``, empty ``frames``/``layers`` folders) and the
    folder itself if this run created it, so the corrected command starts afresh.

    Anything else in the folder (a frame, a movie) means the render did start; then
    nothing is touched and the same command resumes. Returns whether it discarded.
    """
    if not out.is_dir():
        return False
    for sub in ("frames", "layers"):
        _remove_empty_tree(out / sub)
    keep = {STATE_FILE, ASIDE, *ours}
    for item in out.iterdir():
        temporary = item.is_file() and item.name.startswith(".") and item.suffix in _TEMPORARY_SUFFIXES
        if item.name not in keep and not temporary:
            return False
    for item in out.iterdir():
        if item.name != ASIDE:
            item.unlink(missing_ok=True)
    if created:
        out.rmdir()
    return True


def _remove_empty_tree(folder: Path) -> None:
    if not folder.is_dir() or folder.is_symlink():
        return
    for sub in folder.iterdir():
        if sub.is_dir() and not sub.is_symlink():
            _remove_empty_tree(sub)
    if not any(folder.iterdir()):
        folder.rmdir()


def sweep_temporaries(out: Path) -> int:
    """Delete the hidden temporary files a killed render left (never a final name)."""
    gone = 0
    folders = [out, out / "frames", *(sorted((out / "layers").glob("*")) if (out / "layers").is_dir() else [])]
    for folder in (f for f in folders if f.is_dir()):
        for item in folder.glob(".*"):
            if item.is_file() and item.name != STATE_FILE and item.suffix in _TEMPORARY_SUFFIXES:
                item.unlink(missing_ok=True)
                gone += 1
    return gone


def _ours(out: Path) -> list[Path]:
    """What a previous render of ours left in ``out`` (only our own files and folders)."""
    found = [f for f in (out / "layers", out / "frames") if f.is_dir()]
    found += [*out.glob("*_review.mp4"), *out.glob("*_deaged.mp4"), *out.glob("*_contact_sheet.png")]
    return found + [out / n for n in ("report.json", "recipe.json", STATE_FILE) if (out / n).exists()]


def _clear(out: Path) -> None:
    """Remove what a previous render of ours left (only our own files and folders)."""
    for item in _ours(out):
        if item.is_dir():
            shutil.rmtree(item)
        else:
            item.unlink()


def write_state(out: Path, key: str, data: dict[str, Any]) -> None:
    write_text_atomic(out / STATE_FILE, json.dumps({"key": key, **data}, indent=2) + "\n")


def exr_header(layer: str, frame: int, fps: float, extra: dict[str, str]) -> dict[str, Any]:
    head: dict[str, Any] = {
        "chromaticities": ACESCG_CHROMATICITIES,
        "framesPerSecond": (round(fps * 1000), 1000),
        "moviola_layer": layer,
        "comments": "scene-linear ACEScg; premultiplied alpha",
    }
    head.update(extra)
    return head


def write_layer(out: Path, name: str, layer: str, frame: int, channels: dict[str, F32], fps: float,
                extra: dict[str, str], *, link_to: Path | None = None) -> Path:  # fmt: skip
    """One layer of one frame, atomically; ``link_to`` hard-links an identical earlier frame."""
    path = layer_path(out, name, layer, frame)
    path.parent.mkdir(parents=True, exist_ok=True)
    if link_to is not None and link_to.is_file():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.link")
        try:
            tmp.unlink(missing_ok=True)
            os.link(link_to, tmp)
            os.replace(tmp, path)
            return path
        except OSError:  # a file system without hard links: write it out
            pass
        finally:
            tmp.unlink(missing_ok=True)
    compression = "PIZ" if layer in ("comp", "cleanplate", "grain") else "ZIP"
    return write_exr(path, channels, half=True, header=exr_header(layer, frame, fps, extra),
                     compression=compression)  # fmt: skip
