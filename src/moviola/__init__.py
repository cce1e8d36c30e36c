"""Moviola: the AI tools a big studio has, for small film and TV productions.

The public API is gathered here; subpackages hold the stages (``script``...)
and ``core`` holds what every stage shares.
"""

from typing import TYPE_CHECKING, Any

from .core import (
    DependencyError,
    DocumentError,
    InputError,
    MoviolaError,
    Project,
    ProjectError,
    SchemaVersionError,
    ScriptFormatError,
    init_project,
    open_project,
)

if TYPE_CHECKING:
    from .script import ElementType, Screenplay, parse_fdx, parse_fountain, read_screenplay

#: the script reader's names, imported on first use: every command line (a farm's many
#: tasks among them) starts a third of a second sooner without the breakdown's classifier
_FROM_SCRIPT = ("ElementType", "Screenplay", "parse_fdx", "parse_fountain", "read_screenplay")


def __getattr__(name: str) -> Any:
    if name in _FROM_SCRIPT:
        from . import script

        value = getattr(script, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'moviola' has no attribute {name!r}")

__version__ = "0.1.0"

__all__ = [
    "DependencyError",
    "DocumentError",
    "ElementType",
    "InputError",
    "MoviolaError",
    "Project",
    "ProjectError",
    "SchemaVersionError",
    "Screenplay",
    "ScriptFormatError",
    "__version__",
    "init_project",
    "open_project",
    "parse_fdx",
    "parse_fountain",
    "read_screenplay",
]
