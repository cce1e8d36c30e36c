"""Finding every file under a folder that carries Content Credentials, and reading them.

What a consent audit and a delivery check walk: pictures and movies with embedded
manifests, EXRs with their sidecars. Temporary files (a leading dot) and the
project's cache are skipped; a file that should carry credentials and does not is
reported as such, not skipped.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..core import MoviolaError
from ._keys import trust_anchors
from ._sign import EMBEDDED, SIDECAR, SIDECAR_SUFFIX
from ._verify import BROKEN, Verification, verify

SKIP_DIRS = {"cache", ".git", "__pycache__"}


def signable_files(root: Path) -> Iterator[Path]:
    """Every picture or movie under ``root`` Moviola would sign, in a stable order."""
    kinds = set(EMBEDDED) | set(SIDECAR)
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or name.endswith(SIDECAR_SUFFIX):
                continue
            if os.path.splitext(name)[1].lower() in kinds:
                yield Path(folder) / name


def read_all(root: Path, *, anchors: bytes | None = None, workers: int = 4,
             progress: Callable[[int, int], None] | None = None) -> list[Verification]:
    """The credentials of every signable file under ``root`` (a file without any comes
    back as a broken verification that says so)."""
    files = list(signable_files(root))
    anchors = trust_anchors() if anchors is None else anchors

    def one(path: Path) -> Verification:
        try:
            return verify(path, anchors=anchors)
        except MoviolaError as exc:
            return Verification(path, BROKEN, problems=(exc.message,))

    out: list[Verification] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:  # c2pa releases the GIL
        for i, result in enumerate(pool.map(one, files), 1):
            out.append(result)
            if progress is not None:
                progress(i, len(files))
    return out
