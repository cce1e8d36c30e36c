"""The one exception root of Moviola and its families.

Every error a user can cause derives from :class:`MoviolaError`, so the CLI can
print it as one line and exit non-zero, and library users can catch one type.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path

_STEP: ContextVar[tuple[str, str | None] | None] = ContextVar("moviola_step", default=None)


class MoviolaError(Exception):
    """Root of every error Moviola raises on purpose.

    ``path`` names the file the problem is about, when there is one; ``str()``
    always gives a single line that starts with it.
    """

    exit_code = 1

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.message = " ".join(message.split())  # one line, always
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path is not None else self.message


class InputError(MoviolaError):
    """A file the user gave us is missing, unreadable or not what it claims."""

    exit_code = 2


class ScriptFormatError(InputError):
    """A screenplay (Fountain or FDX) cannot be read as one."""


class ProjectError(MoviolaError):
    """A project folder is missing, not a project, or inconsistent."""

    exit_code = 3


class DocumentError(MoviolaError):
    """A versioned document is malformed or of an unknown or newer schema."""

    exit_code = 4


class SchemaVersionError(DocumentError):
    """A document was written by a newer Moviola than this one."""


class DependencyError(MoviolaError):
    """An optional dependency (an extra) is needed but not installed."""

    exit_code = 5


class ConsentError(MoviolaError):
    """A likeness edit without a valid consent on record (missing, expired, out of scope)."""

    exit_code = 6


class ProvenanceError(MoviolaError):
    """Content Credentials cannot be made or do not hold: a signing key missing, expired
    or without the usage C2PA requires; a manifest broken or a file tampered with."""

    exit_code = 8


class StorageError(MoviolaError):
    """The file system refused a read or write (permissions, a full disk, a link loop)."""

    exit_code = 7


class InternalError(MoviolaError):
    """A bug: an exception Moviola did not expect. The CLI logs its traceback."""

    exit_code = 70  # EX_SOFTWARE


def storage_error(exc: OSError, path: str | Path | None = None, doing: str = "") -> StorageError:
    """One line for an ``OSError``: the path it is about and what the system said."""
    what = exc.strerror or type(exc).__name__
    target = path if path is not None else (exc.filename if exc.filename is not None else None)
    return StorageError(f"{doing + ': ' if doing else ''}{what[:1].lower() + what[1:]}", target)


def note_step(name: str, subject: str | Path | None = None) -> None:
    """Say which step is running and on what input, so that if a bug stops it the
    report can name them (see :func:`current_step`)."""
    _STEP.set((name, str(subject) if subject is not None else None))


def current_step() -> tuple[str, str | None] | None:
    """The step last noted in this context, with its input: ``(name, subject)``."""
    return _STEP.get()
