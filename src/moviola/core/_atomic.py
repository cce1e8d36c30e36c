"""Atomic file writes: a temporary file in the same folder, fsync, then rename.

A reader never sees a half-written file under its final name, and an
interrupted write leaves the previous version intact.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from ._errors import storage_error


def write_bytes_atomic(path: str | Path, data: bytes, *, exclusive: bool = False,
                       finish: Callable[[Path], None] | None = None) -> Path:
    """Write ``data`` to ``path`` atomically and return the path.

    ``exclusive``: create the file, never replace one (``FileExistsError`` if it is there,
    even when another process wrote it a moment ago): for records written once.
    ``finish`` runs on the whole temporary file before it gets its name (signing it).
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise storage_error(exc, target, "cannot write") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if finish is not None:
            finish(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        if exclusive:  # a hard link never replaces: the check and the write are one step
            os.link(tmp, target)
            os.unlink(tmp)
            return target
        batch = _BATCH.get()
        if batch is not None:  # the rename waits for the whole batch (atomic_batch)
            batch.append((Path(tmp), target))
            return target
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, FileExistsError):
            raise storage_error(exc, target, "cannot write") from exc
        raise
    return target


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = ".tmp",
                finish: Callable[[Path], None] | None = None) -> Iterator[Path]:
    """A temporary path beside ``path`` for a writer that wants a file name (a library
    writing an EXR, a movie, a USD layer); renamed onto ``path`` only if the block
    completes, removed otherwise. ``finish`` runs on the whole temporary file before
    the rename (signing it), so the final name never holds an unfinished file."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=suffix, dir=target.parent)
    except OSError as exc:
        raise storage_error(exc, target, "cannot write") from exc
    os.close(fd)
    try:
        yield Path(tmp)
        if finish is not None:
            finish(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | Path, text: str, *, exclusive: bool = False) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (LF newlines)."""
    return write_bytes_atomic(path, text.encode("utf-8"), exclusive=exclusive)


# -- several files that land together ------------------------------------------------------

_BATCH: contextvars.ContextVar[list[tuple[Path, Path]] | None] = contextvars.ContextVar(
    "moviola_atomic_batch", default=None
)


@contextlib.contextmanager
def atomic_batch() -> Iterator[None]:
    """Make every :func:`write_bytes_atomic` in the block land together, or none of them.

    Inside the block each write goes to its temporary file (so a full disk or a
    read-only folder fails there, before anything has a final name); the renames all
    happen when the block completes. If the block raises, every temporary is removed
    and the previous files stay as they were: a plan and its reports never disagree.
    Nested batches join the outer one.
    """
    if _BATCH.get() is not None:
        yield
        return
    pending: list[tuple[Path, Path]] = []
    token = _BATCH.set(pending)
    try:
        yield
    except BaseException:
        for tmp, _ in pending:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise
    finally:
        _BATCH.reset(token)
    for i, (tmp, target) in enumerate(pending):
        try:
            os.replace(tmp, target)
        except OSError as exc:
            for rest, _ in pending[i:]:
                with contextlib.suppress(OSError):
                    os.unlink(rest)
            raise storage_error(exc, target, "cannot write") from exc
