"""The sentence model for search, and the titles' vectors cached in the service (I/O).

The packaged all-MiniLM-L6-v2 through ONNX Runtime (:func:`moviola.script._embedding.load_embedder`),
loaded once per process, offline. Without it (no ``ml`` extra, or a model that will not
load) search is lexical only and says so.

Titles are embedded once ("title. genres. synopsis") and kept in
``SERVICE/models/search/<model>/<catalog fingerprint>.npy``, beside ``.keys.npy`` (the sha1
of each title's text, in the same order), both written atomically and read without pickle.
A changed catalog embeds only the texts the newest cached file lacks; older files are then
removed.

Queries are embedded per request by a session of their own on one thread: a query is a
dozen word pieces, too small to share between threads, and two threads made it slower (3.9
ms against 3.5, and 4.7 ms of CPU against 3.5) while fighting the other requests for the
cores. Its vectors are the titles' session's (same model file, same tokenizer). The last
``QUERY_CACHE`` query vectors are kept (``MOVIOLA_STREAM_QUERY_CACHE``; 0 keeps none), keyed
by the text as the model's own tokenizer normalizes it (lower case, accents dropped), so
"Amélie" and "amelie", which the model cannot tell apart, are embedded once. Hits and misses
are counted (:func:`query_cache_info`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..core import MoviolaError, write_bytes_atomic
from ..script._embedding import Embedder, OnnxEmbedder, load_embedder
from ._service import Service

ENV_QUERY_CACHE = "MOVIOLA_STREAM_QUERY_CACHE"
QUERY_CACHE = 2048
QUERY_MAX_TOKENS = 128  # as the titles' embedder (OnnxEmbedder's max_seq_length)
FloatArray = NDArray[np.float32]

_LOCK = threading.Lock()
_EMBEDDER: list[Embedder | str] = []  # the loaded embedder, or why it could not load
_QUERIES: OrderedDict[tuple[str, str], FloatArray] = OrderedDict()
_ENCODERS: dict[int, tuple[Embedder, _QueryEncoder]] = {}  # by id of the titles' embedder
_COUNTS = [0, 0]  # query vectors found in the cache, and embedded


@dataclass(frozen=True)
class _QueryEncoder:
    """How one query becomes a vector, and the cache key that stands for it."""

    encode: Callable[[str], FloatArray]
    key: Callable[[str], str]


def query_cache_size() -> int:
    """How many query vectors are kept (``MOVIOLA_STREAM_QUERY_CACHE``, else ``QUERY_CACHE``)."""
    try:
        return max(0, int(os.environ.get(ENV_QUERY_CACHE, QUERY_CACHE)))
    except ValueError:
        return QUERY_CACHE


def query_cache_info() -> tuple[int, int]:
    """Query vectors found in the cache and embedded, since the process started."""
    with _LOCK:
        return _COUNTS[0], _COUNTS[1]


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


def loaded_embedder() -> Embedder | None:
    """The sentence model when it is loaded already (None: not tried yet, or it failed)."""
    with _LOCK:
        found = _EMBEDDER[0] if _EMBEDDER else None
    return None if isinstance(found, str) else found


def why_not() -> str | None:
    """Why the sentence model could not load (None when it did, or was not tried)."""
    return _EMBEDDER[0] if _EMBEDDER and isinstance(_EMBEDDER[0], str) else None


def model_label(embedder: Embedder) -> str:
    info = embedder.info
    return f"{info.name} {info.package_version or ''}".strip()


def embed_query(embedder: Embedder, text: str) -> FloatArray:
    """The query's unit vector (recent queries from memory: typing and popular queries repeat)."""
    return query_vector(embedder, text)[0]


def query_vector(embedder: Embedder, text: str) -> tuple[FloatArray, bool]:
    """The query's unit vector, and whether it came from the cache."""
    encoder = _query_encoder(embedder)
    size = query_cache_size()
    key = (model_label(embedder), encoder.key(text))
    if size:
        with _LOCK:
            cached = _QUERIES.get(key)
            if cached is not None:
                _QUERIES.move_to_end(key)
                _COUNTS[0] += 1
                return cached, True
    vector = encoder.encode(text)
    with _LOCK:
        _COUNTS[1] += 1
        if size:
            _QUERIES[key] = vector
            while len(_QUERIES) > size:
                _QUERIES.popitem(last=False)
    return vector, False


def _query_encoder(embedder: Embedder) -> _QueryEncoder:
    """A one-thread session on the titles' ONNX model (see the module's docstring), or the
    embedder itself when it is not ONNX."""
    with _LOCK:
        found = _ENCODERS.get(id(embedder))
    if found is not None and found[0] is embedder:
        return found[1]
    encoder = _QueryEncoder(lambda text: _first(embedder.encode([text])), lambda text: text)
    if isinstance(embedder, OnnxEmbedder):
        with contextlib.suppress(MoviolaError, ImportError, OSError):
            encoder = _onnx_query_encoder(embedder)
    with _LOCK:
        _ENCODERS.clear()  # one embedder per process; a replaced one is dropped
        _ENCODERS[id(embedder)] = (embedder, encoder)
    return encoder


def _onnx_query_encoder(embedder: OnnxEmbedder) -> _QueryEncoder:
    from ..script._onnx import ensure_onnx_model, load_session, load_tokenizer, mean_pooled

    folder = Path(embedder.info.path)
    session = load_session(ensure_onnx_model(folder), threads=1)
    tokenizer: Any = load_tokenizer(folder, QUERY_MAX_TOKENS)
    normalizer = tokenizer.normalizer

    def encode(text: str) -> FloatArray:
        return _first(mean_pooled(session, tokenizer, [text]))

    def key(text: str) -> str:
        # What the model reads: equal normalized texts give equal word pieces, so one vector.
        return str(normalizer.normalize_str(text)) if normalizer is not None else text

    return _QueryEncoder(encode, key)


def _first(vectors: NDArray[Any]) -> FloatArray:
    return np.asarray(vectors[0], dtype=np.float32)


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
