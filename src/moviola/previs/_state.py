"""What each previs step last produced, so a step runs only when its inputs changed.

``cache/previs/state.json`` maps each step to content keys (digests of what went in)
and, for stages, the digest of the file we wrote, so that a stage edited by hand
since is recognised and never overwritten. Shared by ``moviola layout`` and
``moviola previs``; a missing or corrupt file only costs a re-render.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..core import Project, write_text_atomic


def digest(*parts: Any) -> str:
    """A short content key of JSON-able parts."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:24]


class State:
    """Content keys of what each step last produced, in ``cache/previs/state.json``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            data = json.loads(path.read_text("utf-8"))
            self.data: dict[str, Any] = data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            self.data = {}  # a missing or corrupt cache only costs a re-render

    @classmethod
    def of(cls, project: Project) -> State:
        return cls(project.path("cache", "previs", "state.json"))

    def get(self, step: str, key: str) -> Any:
        return self.data.get(step, {}).get(key)

    def put(self, step: str, key: str, value: Any) -> None:
        self.data.setdefault(step, {})[key] = value
        write_text_atomic(self.path, json.dumps(self.data, indent=1, sort_keys=True) + "\n")
