"""The project folder: a TOML manifest, the imported script and documents.

Layout (all paths relative to the project root)::

    moviola.toml           manifest: project name, script revisions and hashes
    script/                every imported revision, never overwritten
    documents/             versioned JSON documents (breakdown.json, ...)
    reports/               exports for people: HTML, CSV
    cache/                 derived data safe to delete (embedding cache)
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import functools
import hashlib
import os
import re
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import tomli_w

from ._atomic import write_bytes_atomic
from ._errors import ProjectError

MANIFEST = "moviola.toml"
MANIFEST_FORMAT = 1
SUBDIRS = ("script", "documents", "reports", "cache")
LOCK_WAIT_S = 600.0


@dataclass(frozen=True)
class ScriptRevision:
    """One imported revision of the screenplay."""

    revision: int
    file: str
    sha256: str
    source: str
    format: str
    imported: str

    def to_toml(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "file": self.file,
            "sha256": self.sha256,
            "source": self.source,
            "format": self.format,
            "imported": self.imported,
        }


@dataclass
class Project:
    """A Moviola project folder and its manifest."""

    root: Path
    name: str
    created: str
    revisions: list[ScriptRevision] = field(default_factory=list)
    # which certificate signs this project's files (moviola.provenance): its file and
    # sha256 fingerprint, so a different key is never used without saying so
    provenance: dict[str, str] = field(default_factory=dict)

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    def lock(self, wait_s: float = LOCK_WAIT_S) -> contextlib.AbstractContextManager[None]:
        """Hold the project's write lock: read-modify-write of its documents happens under
        it, so two commands at once never lose an edit (see :func:`project_lock`)."""
        return project_lock(self.root, wait_s)

    @property
    def script(self) -> ScriptRevision | None:
        """The current (latest) script revision, if a script was imported."""
        return self.revisions[-1] if self.revisions else None

    def require_script(self) -> ScriptRevision:
        if self.script is None:
            raise ProjectError(
                "no screenplay imported yet; run 'moviola import-script DIR FILE' first",
                self.root,
            )
        return self.script

    def save(self) -> None:
        data: dict[str, Any] = {
            "moviola": {"format": MANIFEST_FORMAT},
            "project": {"name": self.name, "created": self.created},
        }
        if self.revisions:
            data["script"] = {"revisions": [r.to_toml() for r in self.revisions]}
        if self.provenance:
            data["provenance"] = dict(self.provenance)
        header = "# Moviola project manifest. Human-readable; edit with care.\n"
        write_bytes_atomic(self.manifest_path, (header + tomli_w.dumps(data)).encode("utf-8"))


_held: dict[Path, int] = {}  # lock depth per project in this process (the lock is re-entrant)
_held_guard = threading.Lock()


@contextlib.contextmanager
def project_lock(root: Path, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """An exclusive ``flock`` on the project folder for the block, re-entrant in a process.

    Another command on the same project waits for it (up to ``wait_s``, then a
    :class:`ProjectError` says the project is busy). The kernel drops the lock when a
    process dies, so a killed command never leaves the project locked.
    """
    key = root.resolve()
    with _held_guard:
        depth = _held.get(key, 0)
        _held[key] = depth + 1
    if depth:
        try:
            yield
        finally:
            with _held_guard:
                _held[key] -= 1
        return
    path = key  # the folder itself: its inode never changes and nothing is created in it
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        with _held_guard:
            _held.pop(key, None)
        raise ProjectError(f"cannot take the project's lock: {exc.strerror or exc}", path) from exc
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ProjectError(
                        f"busy: another moviola command has held this project for over {wait_s:.0f} s",
                        root,
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing drops the flock
        with _held_guard:
            _held.pop(key, None)


P = ParamSpec("P")
R = TypeVar("R")


def locked(fn: Callable[Concatenate[Project, P], R]) -> Callable[Concatenate[Project, P], R]:
    """Decorator: run a project step under the project's lock (:meth:`Project.lock`)."""

    def run(project: Project, *args: P.args, **kwargs: P.kwargs) -> R:
        with project.lock():
            return fn(project, *args, **kwargs)

    return functools.update_wrapper(run, fn)  # type: ignore[return-value]


def user_cache_dir() -> Path:
    """``$MOVIOLA_CACHE``, else ``$XDG_CACHE_HOME/moviola``, else ``~/.cache/moviola``:
    derived data that outlives a project (exported models, logs of commands run outside one)."""
    if os.environ.get("MOVIOLA_CACHE"):
        return Path(os.environ["MOVIOLA_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "moviola"


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """A file's sha256, read a megabyte at a time (movies do not fit in memory twice)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def init_project(root: str | Path, name: str | None = None) -> Project:
    """Create a project in ``root`` (created if missing; must hold no project yet).

    Refuses a folder that already holds a project, so nobody's work is reset.
    """
    path = Path(root)
    if path.exists() and not path.is_dir():
        raise ProjectError("exists and is not a folder", path)
    if (path / MANIFEST).exists():
        raise ProjectError("already a Moviola project (moviola.toml exists)", path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProjectError(f"cannot create the project folder: {exc.strerror or exc}", path) from exc
    _make_subdirs(path)
    project = Project(path, name or path.resolve().name, now_iso())
    project.save()
    return project


def open_project(root: str | Path) -> Project:
    """Open the project in ``root``, with a clear error if it is not one."""
    path = Path(root)
    if not path.exists():
        raise ProjectError("no such folder", path)
    manifest = path / MANIFEST
    if not manifest.is_file():
        raise ProjectError(
            "not a Moviola project (no moviola.toml); create one with 'moviola init'", path
        )
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProjectError(f"cannot read the manifest: {exc.strerror or exc}", manifest) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProjectError(f"manifest is not valid TOML: {exc}", manifest) from exc
    fmt = data.get("moviola", {}).get("format", 1)
    if not isinstance(fmt, int) or fmt > MANIFEST_FORMAT:
        raise ProjectError(
            f"manifest format {fmt} is newer than this Moviola reads ({MANIFEST_FORMAT})",
            manifest,
        )
    try:
        proj = data["project"]
        revisions = [
            ScriptRevision(
                int(r["revision"]),
                str(r["file"]),
                str(r["sha256"]),
                str(r.get("source", "")),
                str(r.get("format", "fountain")),
                str(r.get("imported", "")),
            )
            for r in data.get("script", {}).get("revisions", [])
        ]
        signing = data.get("provenance", {})
        if not isinstance(signing, dict):
            raise TypeError("[provenance] is not a table")
        project = Project(path, str(proj["name"]), str(proj.get("created", "")), revisions,
                          {str(k): str(v) for k, v in signing.items()})
    except (KeyError, TypeError, ValueError) as exc:
        raise ProjectError(f"manifest is missing or has a bad field: {exc}", manifest) from exc
    _make_subdirs(path)
    return project


def _make_subdirs(root: Path) -> None:
    """The project's folders, or one line naming the one that cannot be (a file in its
    place, a link that loops or points nowhere, no permission)."""
    for sub in SUBDIRS:
        folder = root / sub
        if folder.is_symlink() and not folder.exists():
            raise ProjectError("is a link that loops or points nowhere; make it a folder "
                               "(or a link to one)", folder)  # fmt: skip
        if folder.exists() and not folder.is_dir():
            raise ProjectError("is not a folder (the project needs it as one)", folder)
        try:
            folder.mkdir(exist_ok=True)
            if not folder.is_dir():
                raise ProjectError("is not a folder (the project needs it as one)", folder)
            os.listdir(folder)  # a loop or an unreadable folder shows here, not deep in a step
        except OSError as exc:
            raise ProjectError(f"cannot use this project folder: {exc.strerror or exc}", folder) from exc


def add_script_revision(
    project: Project, source: Path, data: bytes, fmt: str
) -> tuple[ScriptRevision, bool]:
    """Copy a script into ``script/`` as a new revision unless its hash is unchanged.

    Returns the current revision and whether it is new. Earlier revisions are
    kept, so a re-import never overwrites what was there.
    """
    digest = sha256_bytes(data)
    current = project.script
    if current is not None and current.sha256 == digest:
        return current, False
    number = (current.revision + 1) if current else 1
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", source.stem) or "script"
    rel = f"script/{stem}.r{number}{source.suffix.lower()}"
    write_bytes_atomic(project.root / rel, data)
    revision = ScriptRevision(number, rel, digest, str(source.resolve()), fmt, now_iso())
    project.revisions.append(revision)
    project.save()
    return revision, True
