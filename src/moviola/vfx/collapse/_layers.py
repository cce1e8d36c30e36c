"""A collapse shot's layers on disk, and how a frame is written so it is never half there.

    DIR/layers/<layer>/<name>_<layer>.1001.exr ...   one sequence per layer
    DIR/<name>_review.mp4                          sRGB H.264 review movie
    DIR/<name>_contact_sheet.png                   before / after
    DIR/recipe.json                                the recipe this render used
    DIR/report.json                                times, cost, outputs

Each EXR is written under a temporary name and renamed; a frame counts as done
when every one of its layers is there, so a render killed mid-frame resumes at
that frame. The comp is renamed last. The folder's own rules (resume, ``--force``,
temporaries) are the ones both effects share, in ``vfx._outputs``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ...core._image_io import write_exr
from ...provenance import Stamp, finisher, sidecar_of

F32 = NDArray[np.floating[Any]]
LAYERS = ("cleanplate", "dustback", "debris", "dust", "lightwrap", "grain", "mattes", "comp")
# ACEScg: AP1 primaries, the ACES white point (x, y of R, G, B, white)
ACESCG_CHROMATICITIES = (0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168, 0.33767)


def layer_path(out: Path, name: str, layer: str, frame: int) -> Path:
    return out / "layers" / layer / f"{name}_{layer}.{frame:04d}.exr"


def sequence_pattern(out: Path, name: str, layer: str, first: int, last: int) -> str:
    """The sequence in the field's notation: ``name_layer.1001-1120#.exr``."""
    return str(out / "layers" / layer / f"{name}_{layer}.{first}-{last}#.exr")


def frame_done(out: Path, name: str, frame: int, layers: Sequence[str] = LAYERS) -> bool:
    return all(layer_path(out, name, layer, frame).is_file() for layer in layers)


def first_missing(
    out: Path, name: str, first: int, last: int, layers: Sequence[str] = LAYERS
) -> int:
    """The first frame not completely on disk (``last + 1`` when all are)."""
    for frame in range(first, last + 1):
        if not frame_done(out, name, frame, layers):
            return frame
    return last + 1


def exr_header(layer: str, frame: int, fps: float, extra: dict[str, str]) -> dict[str, Any]:
    head: dict[str, Any] = {
        "chromaticities": ACESCG_CHROMATICITIES,
        "framesPerSecond": (round(fps * 1000), 1000),
        "moviola_layer": layer,
        "comments": "scene-linear ACEScg; premultiplied alpha",
    }
    head.update(extra)
    return head


def write_layer(out: Path, name: str, layer: str, frame: int, channels: dict[str, F32], fps: float,
                extra: dict[str, str], *, link_to: Path | None = None,
                stamp: Stamp | None = None, **claim: Any) -> Path:  # fmt: skip
    """One layer of one frame, atomically, with its Content Credentials sidecar when
    ``stamp`` is given; ``link_to`` hard-links an identical earlier frame (and its
    sidecar: the manifest is bound to the bytes, which are the same)."""
    path = layer_path(out, name, layer, frame)
    path.parent.mkdir(parents=True, exist_ok=True)
    if link_to is not None and link_to.is_file() and (stamp is None or sidecar_of(link_to).is_file()):
        pairs = [(link_to, path)] + ([(sidecar_of(link_to), sidecar_of(path))] if stamp is not None else [])
        try:
            for source, target in reversed(pairs):  # the sidecar first: a frame is never unsigned
                tmp = target.with_name(f".{target.name}.{os.getpid()}.link")
                try:
                    tmp.unlink(missing_ok=True)
                    os.link(source, tmp)
                    os.replace(tmp, target)
                finally:
                    tmp.unlink(missing_ok=True)
            return path
        except OSError:  # a file system without hard links: write it out
            pass
    compression = "PIZ" if layer in ("comp", "cleanplate", "grain") else "ZIP"
    finish = finisher(path, stamp, f"{layer} layer of {name}, frame {frame}",
                      details={"layer": layer, "frame": frame}, **claim)  # fmt: skip
    return write_exr(path, channels, half=True, header=exr_header(layer, frame, fps, extra),
                     compression=compression, finish=finish)  # fmt: skip
