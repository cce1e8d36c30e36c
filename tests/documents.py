"""What the versioned documents a run writes must hold: paths relative to where they are.

A report (``report.json`` of a collapse or a de-aging render, ``previs/previs.json``)
names its plate, outputs and consent record relative to its own folder (or the
project's), with ``..`` for what lies outside, so a project moved or copied whole still
reads; :func:`absolute_paths` finds every string that breaks that rule.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def strings(doc: Any) -> Iterator[str]:
    """Every string in a JSON document, keys included."""
    if isinstance(doc, str):
        yield doc
    elif isinstance(doc, dict):
        for key, value in doc.items():
            yield str(key)
            yield from strings(value)
    elif isinstance(doc, (list, tuple)):
        for item in doc:
            yield from strings(item)


def absolute_paths(doc: Any, *folders: Path) -> list[str]:
    """The strings of ``doc`` that are absolute paths, or that name one of ``folders`` by its
    absolute path (inside a message, say)."""
    names = [str(f.resolve()) for f in folders] + [str(f) for f in folders]
    return [s for s in strings(doc) if os.path.isabs(s) or any(n in s for n in names)]
