"""The generative refiner hook: where a diffusion model can improve the rendered frames.

A refiner gets each rendered frame with its control passes (depth, mattes,
edges), the prompt and the seed, and returns a frame of the same size. The
default passes frames through untouched. Others register under the entry
point group ``moviola.refiners`` (a later diffusers backend, loading local
weights only, is one); ``--refiner NAME`` picks one.

When a refiner changes frames, its output is written as an extra ``refined``
layer and used for the review movie; the comp and its layers stay exactly as
rendered, so the refinement can always be compared and undone.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from ..core import DependencyError, InputError

F32 = NDArray[np.float32]
ENTRY_POINT_GROUP = "moviola.refiners"


@dataclass(frozen=True)
class RefineRequest:
    """One frame to refine, with what a controlled generator conditions on."""

    frame: int  # frame number (1001 ...)
    image: F32  # (h, w, 3) scene-linear ACEScg: the rendered comp
    depth: F32  # (h, w) 0 (far, sky) .. 1 (near): layer order, the facade plane at 0.5
    mattes: dict[str, F32]  # (h, w) each: building, revealed, debris, dust, dustback
    edges: F32  # (h, w) 0..1 edge strength of the comp
    prompt: str
    seed: int


@runtime_checkable
class Refiner(Protocol):
    """What a refiner provides: a name, its model's licence, and refine()."""

    name: str
    licence: str  # of the weights it loads ("none" for no model)

    def refine(self, request: RefineRequest) -> F32:
        """Return the refined frame, (h, w, 3) ACEScg, same size as ``request.image``."""
        ...


class PassThrough:
    """The default: the rendered frame, unchanged."""

    name = "passthrough"
    licence = "none"

    def refine(self, request: RefineRequest) -> F32:
        return request.image


def load_refiner(name: str) -> Refiner:
    """The refiner called ``name``: the built-in pass-through, or an installed plugin."""
    if name in ("", "passthrough", "none"):
        return PassThrough()
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        known = sorted({"passthrough", *(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))})
        raise InputError(f"no refiner called {name!r}; installed: {', '.join(known)}")
    try:
        factory = found[0].load()
    except ImportError as exc:
        raise DependencyError(f"the refiner {name!r} cannot be loaded: {exc}") from exc
    refiner = factory()
    if not isinstance(refiner, Refiner):
        raise InputError(f"the refiner {name!r} does not provide name, licence and refine()")
    return refiner


def is_passthrough(refiner: Refiner) -> bool:
    return isinstance(refiner, PassThrough)


def check_refined(request: RefineRequest, result: F32, name: str) -> F32:
    """A refiner's output, checked: same shape, finite values."""
    out = np.asarray(result, np.float32)
    if out.shape != request.image.shape:
        raise InputError(
            f"the refiner {name!r} returned {out.shape}, expected {request.image.shape}"
        )
    if not np.isfinite(out).all():
        raise InputError(
            f"the refiner {name!r} returned non-finite values for frame {request.frame}"
        )
    return out
