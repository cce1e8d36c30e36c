"""Moviola's core: errors, atomic writes, versioned documents, the project folder.

Nothing here imports a pipeline stage; every stage builds on this.
"""

from ._atomic import atomic_path, write_bytes_atomic, write_text_atomic
from ._documents import (
    Document,
    dumps_document,
    parse_schema_tag,
    read_document,
    register_schema,
    schema_tag,
    upgrade,
    upgrade_from,
    write_document,
)
from ._errors import (
    ConsentError,
    DependencyError,
    DocumentError,
    InputError,
    MoviolaError,
    ProjectError,
    SchemaVersionError,
    ScriptFormatError,
)
from ._project import (
    MANIFEST,
    Project,
    ScriptRevision,
    add_script_revision,
    init_project,
    now_iso,
    open_project,
    sha256_bytes,
)
from ._textio import MAX_SCRIPT_BYTES, DecodedText, decode_text, read_bytes_checked, read_text_file

__all__ = [
    "MANIFEST",
    "MAX_SCRIPT_BYTES",
    "ConsentError",
    "DecodedText",
    "DependencyError",
    "Document",
    "DocumentError",
    "InputError",
    "MoviolaError",
    "Project",
    "ProjectError",
    "SchemaVersionError",
    "ScriptFormatError",
    "ScriptRevision",
    "add_script_revision",
    "atomic_path",
    "decode_text",
    "dumps_document",
    "init_project",
    "now_iso",
    "open_project",
    "parse_schema_tag",
    "read_bytes_checked",
    "read_document",
    "read_text_file",
    "register_schema",
    "schema_tag",
    "sha256_bytes",
    "upgrade",
    "upgrade_from",
    "write_bytes_atomic",
    "write_document",
    "write_text_atomic",
]
