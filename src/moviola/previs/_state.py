"""What each previs step last produced, so a step runs only when its inputs changed.

``cache/previs/state.json`` maps each step to content keys (digests of what went in)
and, for stages, the digest of the file we wrote, so that a stage edited by hand
since is recognised and never overwritten. Shared by ``moviola layout`` and
``moviola previs``; a missing or corrupt file only costs a re-render.

Several processes may write it at once (a render farm's scene tasks, each drawing its own
scenes into one project): every write takes a lock beside the file, reads what is there,
sets its one entry and renames the whole file into place, so no process loses another's.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
from collections.abc import Callable
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
        self.data: dict[str, Any] = self._read()

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}  # a missing or corrupt cache only costs a re-render

    @classmethod
    def of(cls, project: Project) -> State:
        return cls(project.path("cache", "previs", "state.json"))

    def get(self, step: str, key: str) -> Any:
        return self.data.get(step, {}).get(key)

    def put(self, step: str, key: str, value: Any) -> None:
        def change(data: dict[str, Any]) -> None:
            if not isinstance(data.get(step), dict):
                data[step] = {}
            data[step][key] = value

        self._change(change)

    def forget(self, *steps: str) -> None:
        """Drop what ``steps`` last made, here and on disk: they run again next time."""
        self._change(lambda data: [data.pop(step, None) for step in steps])

    def _change(self, change: Callable[[dict[str, Any]], object]) -> None:
        """``change`` made here and to the file as it is now, under the lock: what other
        processes wrote since we read it stays."""
        change(self.data)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                on_disk = self._read()
                change(on_disk)
                write_text_atomic(self.path, json.dumps(on_disk, indent=1, sort_keys=True) + "\n")
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
