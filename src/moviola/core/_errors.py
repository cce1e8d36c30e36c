"""The one exception root of Moviola and its families.

Every error a user can cause derives from :class:`MoviolaError`, so the CLI can
print it as one line and exit non-zero, and library users can catch one type.
"""

from __future__ import annotations

from pathlib import Path


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
