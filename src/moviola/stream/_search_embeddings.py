"""The sentence model for search, and the titles' vectors cached in the service (I/O).

The packaged all-MiniLM-L6-v2 through ONNX Runtime (:func:`moviola.script._embedding.load_embedder`),
loaded once per process, offline. Without it (no ``ml`` extra, or a model that will not
load) search is lexical only and says so.

Titles are embedded once ("title. genres. synopsis") and kept in
``SERVICE/models/search/<model>/<catalog fingerprint>.npy``, beside ``.keys.npy`` (the sha1
of each title's text, in the same order), both written atomically and read without pickle.
A changed catalog embeds only the texts the newest cached file lacks; older files are then
removed. Queries are embedded per request (about 2 ms), the last ``QUERY_CACHE`` kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..core import MoviolaError, write_bytes_atomic
from ..script._embedding import Embedder, load_embedder
from ._service import Service

QUERY_CACHE = 2048
FloatArray = NDArray[np.float32]

_LOCK = threading.Lock()
_EMBEDDER: list[Embedder | str] = []  # the loaded embedder, or why it could not load
_QUERIES: OrderedDict[str, FloatArray] = OrderedDict()


def search_embedder() -> Embedder | None:
    """The packaged sentence model, loaded once; None when it cannot be (see ``why_not``)."""
    with _LOCK:
        if not _EMBEDDER:
            try:
                _EMBEDDER.append(load_embedder())
            except (MoviolaError, ImportError, OSError) as exc:
                _EMBEDDER.append(str(exc))
        found = _EMBEDDER[0]
    return None if isinstance(found, str) else found


def why_not() -> str | None:
    """Why the sentence model could not load (None when it did, or was not tried)."""
    return _EMBEDDER[0] if _EMBEDDER and isinstance(_EMBEDDER[0], str) else None


def model_label(embedder: Embedder) -> str:
    info = embedder.info
    return f"{info.name} {info.package_version or ''}".strip()


def embed_query(embedder: Embedder, text: str) -> FloatArray:
    """The query's unit vector (recent queries from memory: typing repeats them)."""
    with _LOCK:
        cached = _QUERIES.get(text)
        if cached is not None:
            _QUERIES.move_to_end(text)
            return cached
    vector = np.asarray(embedder.encode([text])[0], dtype=np.float32)
    with _LOCK:
        _QUERIES[text] = vector
        while len(_QUERIES) > QUERY_CACHE:
            _QUERIES.popitem(last=False)
    return vector


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", label).strip("-") or "model"


def text_key(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8")).hexdigest().encode("ascii")


def title_vectors(
    service: Service, texts: Sequence[str], fingerprint: str, embedder: Embedder
) -> FloatArray:
    """The vectors of ``texts`` (one per title, in order), from the cache where it has them."""
    folder = service.path("models", "search", _slug(model_label(embedder)))
    name = hashlib.sha1(fingerprint.encode("utf-8")).hexdigest()[:20]
    keys = np.array([text_key(t) for t in texts], dtype="S40")
    cached = _read(folder / f"{name}.npy", folder / f"{name}.keys.npy")
    if cached is not None and np.array_equal(cached[0], keys):
        return cached[1]
    known: dict[bytes, FloatArray] = {}
    newest = _newest(folder)
    if newest is not None:
        found = _read(newest, newest.with_suffix(".keys.npy"))
        if found is not None:
            known = {bytes(k): v for k, v in zip(found[0], found[1], strict=True)}
    missing = sorted(
        {i for i, key in enumerate(keys.tolist()) if key not in known}, key=lambda i: texts[i]
    )
    fresh = (
        embedder.encode([texts[i] for i in missing])
        if missing
        else np.zeros((0, 0), dtype=np.float32)
    )
    fresh_by_key = {keys[i].tobytes(): fresh[j] for j, i in enumerate(missing)}
    dims = (
        len(next(iter(fresh_by_key.values())))
        if fresh_by_key
        else len(next(iter(known.values()), []))
    )
    vectors = np.zeros((len(texts), dims or 384), dtype=np.float32)
    for i, key in enumerate(keys.tolist()):
        vectors[i] = fresh_by_key[key] if key in fresh_by_key else known[key]
    _write(folder, name, keys, vectors)
    return vectors


def _read(vectors_file: Path, keys_file: Path) -> tuple[NDArray[np.bytes_], FloatArray] | None:
    try:
        keys = np.load(keys_file, allow_pickle=False)
        vectors = np.load(vectors_file, allow_pickle=False)
    except (OSError, ValueError):
        return None  # absent or damaged: only a slower start
    if vectors.ndim != 2 or len(vectors) != len(keys):
        return None
    return keys, np.asarray(vectors, dtype=np.float32)


def _newest(folder: Path) -> Path | None:
    with contextlib.suppress(OSError):
        files = [p for p in folder.glob("*.npy") if not p.name.endswith(".keys.npy")]
        return max(files, key=lambda p: p.stat().st_mtime_ns) if files else None
    return None


def _write(folder: Path, name: str, keys: NDArray[np.bytes_], vectors: FloatArray) -> None:
    """Write the cache (a folder that refuses only costs the next start its embedding)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for array, path in ((keys, folder / f"{name}.keys.npy"), (vectors, folder / f"{name}.npy")):
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            write_bytes_atomic(path, buffer.getvalue())
        for old in folder.glob("*.npy"):
            if not old.name.startswith(name + "."):
                old.unlink(missing_ok=True)
    except (OSError, MoviolaError):
        return
