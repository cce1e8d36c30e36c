"""Lazy imports of torch and diffusers, offline, with the install hint when they are missing.

``moviola.gen`` imports without them (the style backend and pass-through need
neither); the diffusion backends import them on first use. The Hugging Face hub
is switched off before diffusers is first imported, so nothing is ever fetched.
"""

from __future__ import annotations

import os
from typing import Any

from ..core import DependencyError, InputError

INSTALL_HINT = "pip install 'moviola[gen]'"


def offline() -> None:
    """No network: the hub libraries read these when they are first imported."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def import_torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise DependencyError(
            f"the generative backends need PyTorch ({exc}); {INSTALL_HINT}"
        ) from exc
    return torch


def import_diffusers() -> Any:
    offline()
    import_torch()
    try:
        import diffusers
    except ImportError as exc:
        raise DependencyError(
            f"the generative backends need diffusers ({exc}); {INSTALL_HINT}"
        ) from exc
    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    return diffusers


def torch_device(device: str | None) -> tuple[Any, Any]:
    """(device, dtype): CPU in float32 unless asked; CUDA in float16, refused if absent."""
    torch = import_torch()
    name = (device or "cpu").lower()
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DependencyError(
                f"--device {device}: this PyTorch ({torch.__version__}) sees no CUDA "
                "GPU; use --device cpu, or install a CUDA build of torch"
            )
        return torch.device(name), torch.float16
    if name != "cpu":
        raise InputError(f"unknown device {device!r}; use cpu or cuda")
    return torch.device("cpu"), torch.float32
