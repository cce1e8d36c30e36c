"""Colour management through OpenColorIO: plates in, scene-linear ACEScg inside, sRGB out.

The config is ``$OCIO`` when set (a studio's own), else OCIO's built-in ACES CG
config (``ocio://default``), so nothing is downloaded. Colour-space names are
resolved through the config, aliases included ("sRGB - Texture", "srgb_tx").
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._errors import DependencyError, InputError

WORKING_SPACE = "ACEScg"
SRGB = "sRGB - Texture"  # sRGB-encoded Rec.709, what JPEG/PNG plates and review media are
LINEAR_REC709 = "Linear Rec.709 (sRGB)"

F32 = NDArray[np.float32]


def _ocio() -> Any:
    try:
        import PyOpenColorIO
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise DependencyError("OpenColorIO is not installed (pip install opencolorio)") from exc
    return PyOpenColorIO


@lru_cache(maxsize=4)
def _config(source: str) -> Any:
    ocio = _ocio()
    try:
        return ocio.Config.CreateFromFile(source)
    except Exception as exc:
        raise InputError(f"cannot load the OCIO config: {exc}", source) from exc


def ocio_config() -> Any:
    """The active OCIO config: ``$OCIO`` if set, else the built-in ACES CG config."""
    return _config(os.environ.get("OCIO") or "ocio://default")


def config_name() -> str:
    cfg = ocio_config()
    return str(cfg.getName() or os.environ.get("OCIO") or "ocio://default")


def resolve_colourspace(name: str, *, path: object = None) -> str:
    """The config's canonical name for ``name`` (aliases and roles work), or an InputError."""
    cfg = ocio_config()
    space = cfg.getColorSpace(name)
    if space is None:
        known = ", ".join(sorted(c.getName() for c in cfg.getColorSpaces()))
        where = f" (for {path})" if path is not None else ""
        raise InputError(
            f"unknown colour space {name!r}{where}; the OCIO config '{config_name()}' knows: {known}"
        )
    return str(space.getName())


@lru_cache(maxsize=16)
def _processor(src: str, dst: str) -> Any:
    return ocio_config().getProcessor(src, dst).getDefaultCPUProcessor()


def convert(image: NDArray[np.floating[Any]], src: str, dst: str) -> F32:
    """``image`` (h, w, 3) float32 converted between two colour spaces of the config.

    Returns a new array; OCIO works in place and lets go of the GIL, so callers
    may convert frames on worker threads.
    """
    src_name, dst_name = resolve_colourspace(src), resolve_colourspace(dst)
    out = np.array(image, dtype=np.float32, order="C", copy=True)
    if src_name != dst_name:
        _processor(src_name, dst_name).applyRGB(out)
    return out


def to_working(image: NDArray[np.floating[Any]], src: str) -> F32:
    return convert(image, src, WORKING_SPACE)


def working_to_srgb8(image: NDArray[np.floating[Any]]) -> NDArray[np.uint8]:
    """Scene-linear ACEScg to 8-bit sRGB, the inverse of how an sRGB plate came in.

    The inverse input transform (not a tone-mapping display view) is used so a
    plate that went in comes out with the same code values: a comp that did not
    touch a pixel shows it unchanged in the review movie.
    """
    srgb = convert(image[..., :3], WORKING_SPACE, SRGB)
    out: NDArray[np.uint8] = np.rint(np.clip(srgb, 0.0, 1.0) * 255.0).astype(np.uint8)
    return out
