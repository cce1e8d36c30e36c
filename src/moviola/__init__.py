"""Moviola: the AI tools a big studio has, for small film and TV productions.

The public API is gathered here; subpackages hold the stages (``script``...)
and ``core`` holds what every stage shares.
"""

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
from .script import ElementType, Screenplay, parse_fdx, parse_fountain, read_screenplay

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
