"""What a generative backend is given and what it must give back.

A :class:`GenRequest` is one frame in display-referred sRGB (0..1; the caller
converts from ACEScg, so every backend sees the picture a person would) with the
passes a controlled generator conditions on, the prompt, the seed and how far
to move away from the frame. A :class:`Backend` turns requests into frames of
the same size; its output is checked (:func:`check_output`) before anyone uses it,
so a plug-in cannot slip a wrong-sized or non-finite picture into a render.

Control passes, each float32 0..1, the size of the frame:

- ``depth``: (h, w), near = 1, far (sky) = 0, as depth ControlNets are trained;
- ``normals``: (h, w, 3), camera-space normals encoded ``n * 0.5 + 0.5``;
- ``lineart``: (h, w), 1 on a line, 0 elsewhere (white lines on black, as lineart
  ControlNets are trained; previs ``lineart.png`` is dark on white: invert it);
- ``ids``: (h, w, 3), object-id colours (a segmentation pass);
- ``matte:<name>``: (h, w), a matte (``matte:building``, ``matte:dust``...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from ..core import InputError

F32 = NDArray[np.float32]

MAX_PROMPT_CHARS = 2000  # CLIP reads 77 tokens; a prompt this long is a mistake (a pasted file)
MAX_STEPS = 500
MAX_SIDE = 8192
CONTROL_NAMES = ("depth", "normals", "lineart", "ids")
_MATTE = re.compile(r"matte:[A-Za-z0-9_.-]{1,64}")
_CHANNELS = {"depth": 1, "normals": 3, "lineart": 1, "ids": 3}


@dataclass(frozen=True)
class ModelInfo:
    """One set of weights a backend runs: where they came from and under what terms."""

    name: str
    licence: str  # SPDX id, a model card's id ("creativeml-openrail-m"), "other:<name>", or "none"
    commercial: bool  # commercial use allowed by that licence
    source: str  # the path (or installed package) the weights were read from
    sha256: str | None = None  # of what ``sha256_of`` says (cheap: an index or config, not GBs)
    sha256_of: str = ""
    licence_from: str = ""  # the file the licence was read from

    def info(self) -> dict[str, object]:
        """The record as JSON-able values, for reports and content credentials."""
        return {
            "name": self.name,
            "licence": self.licence,
            "commercial_use": self.commercial,
            "source": self.source,
            "sha256": self.sha256,
            "sha256_of": self.sha256_of,
            "licence_from": self.licence_from,
        }


@dataclass(frozen=True)
class GenRequest:
    """One frame to refine, with what a controlled generator conditions on.

    ``strength`` 0 leaves the frame unchanged, 1 keeps only its controls (and
    composition through them). ``prompt_embeds``/``negative_prompt_embeds``
    (numpy, (1, tokens, dim)) stand in for the pipeline's own text encoder when
    it has none; the prompt is still required, as the record of what was asked.
    Values outside 0..1 are clipped; non-finite ones are refused.
    """

    image: F32  # (h, w, 3) display-referred sRGB 0..1
    controls: Mapping[str, F32] = field(default_factory=dict)
    prompt: str = ""
    negative_prompt: str = ""
    seed: int = 0
    strength: float = 0.6
    steps: int = 20
    guidance: float = 5.0  # classifier-free guidance; <= 1 turns it off (turbo models)
    frame: int = 1001
    prompt_embeds: NDArray[np.float32] | None = None
    negative_prompt_embeds: NDArray[np.float32] | None = None

    def __post_init__(self) -> None:
        image = _as_picture(self.image, "the frame", 3)
        h, w = image.shape[:2]
        controls = {}
        for name, value in self.controls.items():
            if name not in _CHANNELS and not _MATTE.fullmatch(name):
                raise InputError(
                    f"unknown control pass {name!r}; known: {', '.join(CONTROL_NAMES)}, "
                    "matte:<name>"
                )
            arr = _as_picture(value, f"the control pass {name!r}", _CHANNELS.get(name, 1))
            if arr.shape[:2] != (h, w):
                raise InputError(
                    f"the control pass {name!r} is {arr.shape[1]}x{arr.shape[0]}, the frame {w}x{h}"
                )
            controls[name] = arr
        if len(self.prompt) > MAX_PROMPT_CHARS or len(self.negative_prompt) > MAX_PROMPT_CHARS:
            raise InputError(
                f"a prompt of {max(len(self.prompt), len(self.negative_prompt))} "
                f"characters; at most {MAX_PROMPT_CHARS}"
            )
        if not 0.0 <= float(self.strength) <= 1.0:
            raise InputError(f"strength must be between 0 and 1, got {self.strength}")
        if not 1 <= int(self.steps) <= MAX_STEPS:
            raise InputError(f"steps must be between 1 and {MAX_STEPS}, got {self.steps}")
        if not 0 <= int(self.seed) < 2**63:
            raise InputError(f"the seed must be between 0 and 2**63 - 1, got {self.seed}")
        if not np.isfinite(self.guidance) or not 0.0 <= self.guidance <= 50.0:
            raise InputError(f"guidance must be between 0 and 50, got {self.guidance}")
        object.__setattr__(self, "image", image)
        object.__setattr__(self, "controls", controls)
        for name in ("prompt_embeds", "negative_prompt_embeds"):
            emb = getattr(self, name)
            if emb is not None:
                arr = np.asarray(emb, np.float32)
                if arr.ndim == 2:
                    arr = arr[None]
                if arr.ndim != 3 or arr.shape[0] != 1 or not np.isfinite(arr).all():
                    raise InputError(
                        f"{name} must be finite, shaped (1, tokens, dim); got {arr.shape}"
                    )
                object.__setattr__(self, name, arr)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return int(self.image.shape[1]), int(self.image.shape[0])


def _as_picture(value: object, what: str, channels: int) -> F32:
    arr = np.asarray(value, dtype=np.float32)
    if channels == 1 and arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    want = "(h, w, 3)" if channels == 3 else "(h, w)"
    if (channels == 3 and (arr.ndim != 3 or arr.shape[2] != 3)) or (
        channels == 1 and arr.ndim != 2
    ):
        raise InputError(f"{what} must be {want}, got {arr.shape}")
    if min(arr.shape[:2]) < 8 or max(arr.shape[:2]) > MAX_SIDE:
        raise InputError(f"{what} is {arr.shape[1]}x{arr.shape[0]}; sides from 8 to {MAX_SIDE}")
    if not np.isfinite(arr).all():
        raise InputError(f"{what} has non-finite values")
    return np.ascontiguousarray(np.clip(arr, 0.0, 1.0))


def check_prompt(request: GenRequest) -> str:
    """The request's prompt, refused when empty: a generated frame must say what was asked."""
    prompt = " ".join(request.prompt.split())
    if not prompt:
        raise InputError(
            f"frame {request.frame}: an empty prompt; say what the frame should look like"
        )
    return prompt


@runtime_checkable
class Backend(Protocol):
    """What a generative backend provides: a name, its models with their licences, refine."""

    name: str
    models: tuple[ModelInfo, ...]

    def refine(self, request: GenRequest) -> F32:
        """The refined frame: (h, w, 3) display-referred sRGB 0..1, the request's size."""
        ...

    def refine_clip(self, requests: Sequence[GenRequest]) -> list[F32]:
        """Consecutive frames of one shot, refined; a backend may keep them consistent."""
        ...


class BaseBackend:
    """Shared behaviour: a clip is refined frame by frame unless a backend knows better."""

    name = "base"
    models: tuple[ModelInfo, ...] = ()

    def refine(self, request: GenRequest) -> F32:  # pragma: no cover - overridden
        raise NotImplementedError

    def refine_clip(self, requests: Sequence[GenRequest]) -> list[F32]:
        return [self.refine(r) for r in requests]


class PassThrough(BaseBackend):
    """The frame, unchanged: the default, and the baseline every backend is timed against."""

    name = "passthrough"
    models: tuple[ModelInfo, ...] = ()

    def refine(self, request: GenRequest) -> F32:
        return request.image.copy()


def check_output(request: GenRequest, result: object, name: str) -> F32:
    """A backend's output, checked: the request's shape, finite values, clipped to 0..1."""
    out = np.asarray(result, np.float32)
    if out.shape != request.image.shape:
        raise InputError(
            f"the backend {name!r} returned {out.shape}, expected {request.image.shape}"
        )
    if not np.isfinite(out).all():
        raise InputError(
            f"the backend {name!r} returned non-finite values for frame {request.frame}"
        )
    return np.clip(out, 0.0, 1.0)


def check_clip(requests: Sequence[GenRequest]) -> None:
    """A clip's frames: at least one, all the same size."""
    if not requests:
        raise InputError("an empty clip: no frames to refine")
    size = requests[0].size
    for r in requests[1:]:
        if r.size != size:
            raise InputError(
                f"frame {r.frame} is {r.size[0]}x{r.size[1]}, the clip's first "
                f"{size[0]}x{size[1]}; a clip has one size"
            )
