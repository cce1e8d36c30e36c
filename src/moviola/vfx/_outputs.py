"""A render's output folder, as both effects use it, and the name that goes into its files.

    DIR/...                                        the effect's frames, movies and contact sheet
    DIR/report.json                                what was made, how, and how long it took
    DIR/.moviola-render.json                       what is here, for resuming

A shot's name is one plain file-name part, by the same rule for collapse and de-aging.
Nothing is written into DIR until a render has checked everything it can refuse (the
plate, the region, the folder, the consent): a refused render leaves no trace, so the
corrected command is never turned away as "a different recipe". A folder holding another
render, or somebody's files, is not written into without ``--force``; what ``--force``
replaces is set aside until the new render has begun. Every file is written under a
hidden temporary name and renamed, and the temporaries a killed render left are swept.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core import InputError, ProjectError, write_text_atomic

STATE_FILE = ".moviola-render.json"
_TEMPORARY_SUFFIXES = (".exr", ".png", ".mp4", ".tmp", ".link", ".sig")  # .sig: a file being signed
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


def relative_path(path: str | Path, folder: Path) -> str:
    """``path`` as a report in ``folder`` records it: relative to that folder (with ``..``
    for a file outside it), never absolute: a project moved or copied whole still reads."""
    return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(folder))).as_posix()


def write_state(out: Path, key: str, data: dict[str, Any]) -> None:
    write_text_atomic(out / STATE_FILE, json.dumps({"key": key, **data}, indent=2) + "\n")


