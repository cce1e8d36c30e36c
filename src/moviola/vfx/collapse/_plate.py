"""Plates: a still (JPEG, PNG, EXR) or a short locked-off video, read into ACEScg.

The file is read by the footage reader both effects share (``vfx._footage``): bad
plates are refused there before any work starts, with the file named (not a picture,
truncated data, too large to handle). The colour space comes from the file where it
says (an ICC profile, EXR chromaticities) and from the user's ``--plate-colorspace``
when it does not or when they know better; a refused colour space names the way out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from ...core import InputError
from ...core._colour import resolve_colourspace, to_working
from .._footage import MAX_PIXELS, MAX_SIDE, open_footage

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]

MAX_VIDEO_FRAMES = 2400
__all__ = ["MAX_PIXELS", "MAX_SIDE", "MAX_VIDEO_FRAMES", "Fit", "Plate", "apply_fit", "fit_plate", "load_plate"]


@dataclass
class Plate:
    """A plate in scene-linear ACEScg, with where it came from."""

    path: Path
    kind: str  # "still", "exr" or "video"
    colourspace: str  # what the file was read as
    width: int
    height: int
    fps: float | None  # a video's rate; None for a still
    digest: str  # sha256 of the file's bytes, for recipes and resume keys
    frames: list[F32] = field(repr=False)  # ACEScg (h, w, 3): a still's one frame
    encoded: list[U8] = field(default_factory=list, repr=False)  # a video's frames, 8-bit as decoded
    _cache: dict[int, F32] = field(default_factory=dict, repr=False)

    @property
    def frame_count(self) -> int:
        return len(self.encoded) or len(self.frames)

    def frame(self, index: int) -> F32:
        """Frame ``index`` (0-based) in ACEScg; a still, or a video past its end, holds its last."""
        i = min(max(index, 0), self.frame_count - 1)
        if not self.encoded:
            return self.frames[i]
        if i not in self._cache:  # videos stay 8-bit in memory; convert frames as they are used
            if len(self._cache) > 4:
                self._cache.pop(next(iter(self._cache)))
            self._cache[i] = to_working(self.encoded[i].astype(np.float32) / 255.0, self.colourspace)
        return self._cache[i]

    def frame_at(self, seconds: float) -> F32:
        """The plate at a time (a still is the same at every time)."""
        return self.frame(round(seconds * (self.fps or 24.0)))


def load_plate(path: Path, *, colourspace: str | None = None, max_frames: int | None = None,
               max_seconds: float | None = None) -> Plate:  # fmt: skip
    """Read a plate; ``colourspace`` overrides what the file says (or does not say).

    A video is decoded up to ``max_frames`` frames or ``max_seconds`` seconds.
    """
    path = Path(path)
    footage = open_footage(path, sequences=False)
    if footage.kind == "video":
        limit = min(max_frames or MAX_VIDEO_FRAMES, MAX_VIDEO_FRAMES)
        if max_seconds is not None:
            limit = min(limit, max(1, math.ceil(max_seconds * footage.fps) + 1))
        frames: list[U8] = []
        for _, decoded in footage.frames(rgb=True):
            frames.append(decoded.data)
            if len(frames) >= limit:
                break
        if not frames:
            raise InputError("the video holds no frames", path)
        if any(f.shape != frames[0].shape for f in frames):
            raise InputError("the video changes size mid-stream; give a locked-off plate", path)
        space = resolve_colourspace(colourspace or footage.colourspace(), path=path)
        h, w = frames[0].shape[:2]
        return Plate(path, "video", space, w, h, footage.fps, footage.digest, [], frames)
    stored = next(footage.frames())[1].data
    if footage.exr:
        rgb = np.asarray(stored, np.float32)
        if not np.isfinite(rgb).all():
            rgb = np.nan_to_num(rgb, nan=0.0, posinf=65504.0, neginf=0.0)
    else:  # code values, 8 or 16 bits (float only from a float TIFF: taken as it is)
        scale = {"uint8": 255.0, "uint16": 65535.0}.get(str(stored.dtype), 1.0)
        rgb = np.asarray(stored, np.float32) / scale
    space = resolve_colourspace(colourspace or footage.colourspace(), path=path)
    return Plate(path, "exr" if footage.exr else "still", space, footage.width, footage.height, None,
                 footage.digest, [to_working(rgb, space)])  # fmt: skip


@dataclass(frozen=True)
class Fit:
    """How the plate maps onto the output frame: scale, then crop at an offset."""

    scale: float
    ox: float  # output x = scale * plate x - ox
    oy: float
    width: int
    height: int

    def point(self, x: float, y: float) -> tuple[float, float]:
        return self.scale * x - self.ox, self.scale * y - self.oy


def fit_plate(plate_w: int, plate_h: int, width: int, height: int, keep_top: float | None) -> Fit:
    """Cover the output frame with the plate (no bars), keeping ``keep_top`` (plate y) in view.

    A crop that must lose plate height keeps the top of the building: a
    collapse is read from its top, and its base is often off-frame anyway.
    """
    s = max(width / plate_w, height / plate_h)
    ox = (plate_w * s - width) / 2
    oy = (plate_h * s - height) / 2
    if keep_top is not None:
        oy = min(oy, max(0.0, keep_top * s - 0.04 * height))
    return Fit(s, ox, oy, width, height)


def apply_fit(image: F32, fit: Fit) -> F32:
    """Resample a plate frame (working space: filtering in linear light is right) to the output."""
    h, w = image.shape[:2]
    m = np.array([[fit.scale, 0.0, -fit.ox + 0.5 * fit.scale - 0.5],
                  [0.0, fit.scale, -fit.oy + 0.5 * fit.scale - 0.5]], np.float64)  # fmt: skip
    interp = cv2.INTER_AREA if fit.scale < 1 else cv2.INTER_CUBIC
    if fit.scale < 1:  # INTER_AREA only works through resize; crop after
        rw, rh = max(1, round(w * fit.scale)), max(1, round(h * fit.scale))
        small = cv2.resize(image, (rw, rh), interpolation=interp)
        x0, y0 = round(fit.ox), round(fit.oy)
        out = small[y0 : y0 + fit.height, x0 : x0 + fit.width]
        if out.shape[:2] == (fit.height, fit.width):
            return np.ascontiguousarray(out, np.float32)
    warped = cv2.warpAffine(image, m, (fit.width, fit.height), flags=interp,
                            borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    return np.asarray(np.maximum(warped, 0.0) if fit.scale > 1 else warped, np.float32)
