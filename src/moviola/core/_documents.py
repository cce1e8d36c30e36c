"""Versioned JSON documents, as OpenTimelineIO versions its schemas.

Every document carries ``"schema": "Name.N"``. Each stage registers the
current version of its schemas and an upgrade function for every older
version; reading upgrades old documents step by step and refuses documents
from a newer Moviola with a message that says so. Writes are atomic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._atomic import write_text_atomic
from ._errors import DocumentError, SchemaVersionError

Document = dict[str, Any]
Upgrade = Callable[[Document], Document]

_SCHEMA_TAG = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\.([1-9][0-9]*)$")
_CURRENT: dict[str, int] = {}
_UPGRADES: dict[tuple[str, int], Upgrade] = {}


def register_schema(name: str, version: int) -> None:
    """Declare ``name`` at current ``version`` (idempotent for the same pair)."""
    known = _CURRENT.get(name)
    if known is not None and known != version:
        raise ValueError(f"schema {name} already registered at version {known}")
    _CURRENT[name] = version


def upgrade_from(name: str, version: int) -> Callable[[Upgrade], Upgrade]:
    """Decorator: register a function that turns ``name.version`` into ``version + 1``."""

    def register(fn: Upgrade) -> Upgrade:
        _UPGRADES[(name, version)] = fn
        return fn

    return register


def schema_tag(name: str) -> str:
    """The current ``Name.N`` tag for ``name``."""
    return f"{name}.{_CURRENT[name]}"


def parse_schema_tag(tag: object) -> tuple[str, int]:
    """Split ``"Name.N"`` into its name and version."""
    if not isinstance(tag, str) or not (m := _SCHEMA_TAG.match(tag)):
        raise DocumentError(f"bad schema tag {tag!r}; expected 'Name.N'")
    return m.group(1), int(m.group(2))


def upgrade(doc: Document, *, source: str | Path | None = None) -> Document:
    """Bring ``doc`` to its schema's current version; refuse a newer one."""
    name, version = parse_schema_tag(doc.get("schema"))
    current = _CURRENT.get(name)
    if current is None:
        raise DocumentError(f"unknown document schema '{name}'", source)
    if version > current:
        raise SchemaVersionError(
            f"document is {name}.{version}, written by a newer Moviola; this one reads up to "
            f"{name}.{current}. Upgrade Moviola to open it.",
            source,
        )
    while version < current:
        step = _UPGRADES.get((name, version))
        if step is None:
            raise DocumentError(f"no upgrade from {name}.{version}", source)
        doc = step(dict(doc))
        version += 1
        doc["schema"] = f"{name}.{version}"
    return doc


def dumps_document(doc: Document) -> str:
    """Serialise a document: stable, readable, UTF-8, newline-terminated."""
    parse_schema_tag(doc.get("schema"))
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def write_document(path: str | Path, doc: Document, *, exclusive: bool = False) -> Path:
    """Write ``doc`` to ``path`` atomically (``exclusive``: never over an existing file)."""
    return write_text_atomic(path, dumps_document(doc), exclusive=exclusive)


def read_document(path: str | Path, expect: str | None = None) -> Document:
    """Read, check and upgrade the document at ``path``.

    ``expect`` names the schema the caller wants (e.g. ``"Breakdown"``).
    """
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DocumentError("document not found", p) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(f"cannot read document: {exc}", p) from exc
    doc = parse_document(raw, p, expect)
    return upgrade(doc, source=p)


def parse_document(raw: str, path: str | Path, expect: str | None = None, *,
                   what: str = "document") -> Document:  # fmt: skip
    """Check that ``raw`` is a versioned document (of schema ``expect``), not upgraded.

    ``what`` names it in the one-line errors ("is not a consent record (not valid JSON,
    line 1: ...)"), for readers that must see the document as written (a signature).
    """
    p = Path(path)
    lead = "" if what == "document" else f"is not a {what} ("
    tail = "" if what == "document" else ")"
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        where = f" (line {exc.lineno}: {exc.msg})" if not lead else f", line {exc.lineno}: {exc.msg}"
        raise DocumentError(f"{lead}not valid JSON{where}{tail}", p) from exc
    if not isinstance(doc, dict):
        raise DocumentError(f"{lead or 'document is '}not a JSON object{tail}", p)
    try:
        name, _ = parse_schema_tag(doc.get("schema"))
    except DocumentError as exc:
        raise DocumentError(f"{lead}{exc.message}{tail}", p) from exc
    if expect is not None and name != expect:
        raise DocumentError(f"expected a {expect} document, found {name}", p)
    return doc
