"""ONNX export and inference of a mean-pooled sentence-transformers model.

The export is a derivation of the user's local weights (no download): the
Hugging Face model is traced by PyTorch to ONNX, then its MatMul weights are
quantized to int8 per channel by ONNX Runtime. The result is cached under a
key made from the model's files, written atomically, and reused by every
later run, which then imports neither PyTorch nor transformers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..core import DependencyError, InputError, user_cache_dir

EXPORT_VERSION = 1  # bump when the export recipe changes, to invalidate caches


def onnx_cache_dir() -> Path:
    """The user's Moviola cache (:func:`moviola.core.user_cache_dir`)."""
    return user_cache_dir()


def onnx_supported(model_dir: Path) -> bool:
    """A BERT-like model with mean pooling (and a fast tokenizer) exports cleanly."""
    pooling = model_dir / "1_Pooling" / "config.json"
    if not (model_dir / "tokenizer.json").is_file() or not pooling.is_file():
        return False
    try:
        cfg = json.loads(pooling.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    only_mean = cfg.get("pooling_mode_mean_tokens") and not any(
        cfg.get(k)
        for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens", "pooling_mode_lasttoken")
    )
    return bool(only_mean)


def _model_key(model_dir: Path) -> str:
    h = hashlib.sha256(f"export-{EXPORT_VERSION}".encode())
    for name in sorted(os.listdir(model_dir)):
        f = model_dir / name
        if f.is_file():
            st = f.stat()
            h.update(f"{name}:{st.st_size}".encode())
            if st.st_size < 4_000_000:  # configs and tokenizers: by content
                h.update(f.read_bytes())
            else:  # weights: size and modification time (hashing 90 MB each run is waste)
                h.update(str(st.st_mtime_ns).encode())
    return h.hexdigest()[:20]


def ensure_onnx_model(model_dir: Path) -> Path:
    """The cached int8 ONNX file for ``model_dir``, exported on first use."""
    target = onnx_cache_dir() / "onnx" / f"{model_dir.name}-{_model_key(model_dir)}.int8.onnx"
    if target.is_file():
        return target
    try:
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from transformers import AutoModel
    except ImportError as exc:
        raise DependencyError(
            "exporting the model to ONNX needs torch, transformers, onnx and onnxruntime; "
            "install the 'ml' extra (pip install 'moviola[ml]')"
        ) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
    except Exception as exc:  # transformers raises many types for a bad folder
        raise InputError(f"cannot load the model to export it: {exc}", model_dir) from exc

    class _Hidden(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            return self.inner(input_ids=ids, attention_mask=mask, token_type_ids=types)[0]

    example = torch.ones((1, 8), dtype=torch.long)
    quiet = logging.getLogger()
    level = quiet.level
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer chatter about shapes we made dynamic
        quiet.setLevel(logging.ERROR)  # onnxruntime's quantizer advice

        fp32 = Path(tmp) / "model.onnx"
        int8 = Path(tmp) / "model.int8.onnx"
        axes = {0: "batch", 1: "tokens"}
        torch.onnx.export(
            _Hidden(model),
            (example, example, torch.zeros_like(example)),
            str(fp32),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["hidden"],
            dynamic_axes={
                "input_ids": axes,
                "attention_mask": axes,
                "token_type_ids": axes,
                "hidden": axes,
            },  # fmt: skip
            opset_version=17,
            dynamo=False,
        )
        quantize_dynamic(
            str(fp32),
            str(int8),
            weight_type=QuantType.QInt8,
            per_channel=True,
            extra_options={"MatMulConstBOnly": True},
        )
        os.replace(int8, target)  # same folder: atomic
    quiet.setLevel(level)
    return target


def load_session(path: Path, *, threads: int) -> Any:
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise DependencyError(
            "onnxruntime is not installed; install the 'ml' extra (pip install 'moviola[ml]')"
        ) from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    # Idle threads sleep instead of spinning: a server embedding one query at a time would
    # otherwise burn its cores between requests, starving the rest of the request.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # a damaged cache file
        path.unlink(missing_ok=True)
        raise InputError(
            f"cached ONNX model was unreadable and was removed; rerun ({exc})", path
        ) from exc


def load_tokenizer(model_dir: Path, max_length: int) -> Any:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_length)
    pad_id = tokenizer.token_to_id("[PAD]")
    tokenizer.enable_padding(pad_id=pad_id or 0, pad_token="[PAD]")
    return tokenizer


def mean_pooled(session: Any, tokenizer: Any, texts: list[str]) -> npt.NDArray[np.float32]:
    """Unit-length mean-pooled embeddings of ``texts`` (one padded batch)."""
    encodings = tokenizer.encode_batch(texts)
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
    types = np.array([e.type_ids for e in encodings], dtype=np.int64)
    hidden = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[
        0
    ]
    weights = mask[..., None].astype(np.float32)
    vectors = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.clip(norms, 1e-12, None), dtype=np.float32)
