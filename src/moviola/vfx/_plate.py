"""Plates: a still (JPEG, PNG, EXR) or a short locked-off video, read into ACEScg.

Bad plates are refused before any work starts, with the file named: a file that
is not a picture, truncated data, a picture too large to handle, a colour space
we cannot name. The colour space comes from the file where it says (an ICC
profile, EXR chromaticities) and from the user's ``--plate-colorspace`` when it
does not or when they know better.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFile, UnidentifiedImageError

from ..core import DependencyError, InputError, sha256_file
from ..core._colour import LINEAR_REC709, SRGB, resolve_colourspace, to_working

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]

MAX_SIDE = 8192  # 8K; a 16K plate is refused rather than swapping the machine to death
MAX_PIXELS = 8192 * 4608
MAX_VIDEO_FRAMES = 2400
_EXR_MAGIC = b"\x76\x2f\x31\x01"

# EXR chromaticities (rx, ry, gx, gy, bx, by) -> an OCIO colour space of the built-in config
_PRIMARIES = {
    "ACEScg": (0.713, 0.293, 0.165, 0.830, 0.128, 0.044),
    "ACES2065-1": (0.7347, 0.2653, 0.0, 1.0, 0.0001, -0.077),
    LINEAR_REC709: (0.64, 0.33, 0.30, 0.60, 0.15, 0.06),
    "Linear Rec.2020": (0.708, 0.292, 0.170, 0.797, 0.131, 0.046),
    "Linear P3-D65": (0.680, 0.320, 0.265, 0.690, 0.150, 0.060),
}
# words in an ICC profile's description -> colour space
_ICC = (("srgb", SRGB), ("display p3", "sRGB Encoded P3-D65"), ("adobe rgb", "Gamma 2.2 Encoded AdobeRGB"),
        ("iec61966-2.1", SRGB))  # fmt: skip


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


def _check_size(path: Path, width: int, height: int) -> None:
    if width < 16 or height < 16:
        raise InputError(f"the plate is {width}x{height}; a plate must be at least 16x16", path)
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise InputError(
            f"the plate is {width}x{height} ({width * height / 1e6:.1f} MP); the limit is {MAX_SIDE} px "
            f"on a side and {MAX_PIXELS / 1e6:.1f} MP: downscale it first (a 16K plate gains nothing "
            "over 4K for a collapse composited at delivery size)",
            path,
        )


def _check_file(path: Path) -> bytes:
    if not path.exists():
        raise InputError("no such plate", path)
    if not path.is_file():
        raise InputError("the plate is not a file", path)
    with path.open("rb") as f:
        head = f.read(16)
    if not head:
        raise InputError("the plate is empty", path)
    return head


def load_plate(path: Path, *, colourspace: str | None = None, max_frames: int | None = None,
               max_seconds: float | None = None) -> Plate:  # fmt: skip
    """Read a plate; ``colourspace`` overrides what the file says (or does not say).

    A video is decoded up to ``max_frames`` frames or ``max_seconds`` seconds.
    """
    path = Path(path)
    head = _check_file(path)
    if head.startswith(_EXR_MAGIC):
        return _load_exr(path, colourspace)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # we check sizes ourselves
            try:
                img = Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = limit
    except UnidentifiedImageError:
        return _load_video(path, colourspace, max_frames, max_seconds)
    except OSError as exc:
        raise InputError(f"cannot read the plate: {exc}", path) from exc
    return _load_still(path, img, colourspace)


def _icc_space(path: Path, img: Image.Image) -> str | None:
    icc = img.info.get("icc_profile")
    if not icc:
        return None
    try:
        from PIL import ImageCms

        desc = ImageCms.getProfileDescription(
            ImageCms.ImageCmsProfile(__import__("io").BytesIO(icc))
        )
    except Exception:  # an unreadable profile is as unknown as a strange one
        desc = ""
    low = desc.lower()
    for words, space in _ICC:
        if words in low:
            return space
    raise InputError(
        f"the plate's ICC profile is {desc.strip() or 'unreadable'!r}, a colour space Moviola cannot "
        "convert; pass --plate-colorspace NAME (an OCIO colour space) to say how to read it",
        path,
    )


def _load_still(path: Path, img: Image.Image, colourspace: str | None) -> Plate:
    _check_size(path, *img.size)
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        img.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"the image data is truncated or corrupt ({exc})", path) from exc
    space = (
        resolve_colourspace(colourspace, path=path)
        if colourspace
        else (_icc_space(path, img) or SRGB)
    )
    space = resolve_colourspace(space, path=path)
    if img.mode in ("I;16", "I;16B", "I"):
        arr = np.asarray(img, np.float32) / (65535.0 if img.mode.startswith("I;16") else 1.0)
        rgb = np.repeat(arr[..., None], 3, axis=2)
    else:
        rgb = np.asarray(img.convert("RGB"), np.float32) / 255.0
    return Plate(path, "still", space, img.width, img.height, None, sha256_file(path),
                 [to_working(rgb, space)])  # fmt: skip


def _exr_space(path: Path, header: dict[str, Any]) -> str:
    chroma = header.get("chromaticities")
    if chroma is None:  # the OpenEXR default: Rec.709 primaries, D65
        return LINEAR_REC709
    values = tuple(float(v) for v in (chroma if isinstance(chroma, (tuple, list)) else ()))[:6]
    for space, ref in _PRIMARIES.items():
        if len(values) == 6 and all(abs(a - b) < 2e-3 for a, b in zip(values, ref, strict=True)):
            return space
    raise InputError(
        f"the EXR's chromaticities {values or chroma} match no colour space Moviola knows; "
        "pass --plate-colorspace NAME to say how to read it",
        path,
    )


def _load_exr(path: Path, colourspace: str | None) -> Plate:
    try:
        import OpenEXR
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise DependencyError("OpenEXR is not installed (pip install openexr)") from exc
    try:
        with OpenEXR.File(str(path), separate_channels=True) as exr:
            header = dict(exr.header())
            win = header.get("dataWindow")
            if win is not None:
                (x0, y0), (x1, y1) = (tuple(int(v) for v in p) for p in win)
                _check_size(path, x1 - x0 + 1, y1 - y0 + 1)
            channels = {k: np.asarray(c.pixels, np.float32) for k, c in exr.channels().items()}
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"cannot read the EXR (truncated or corrupt?): {exc}", path) from exc
    names = {k.split(".")[-1].upper(): k for k in channels}
    if all(c in names for c in "RGB"):
        rgb = np.stack([channels[names[c]] for c in "RGB"], axis=-1)
    elif "Y" in names:
        rgb = np.repeat(channels[names["Y"]][..., None], 3, axis=2)
    else:
        raise InputError(f"the EXR has no R, G, B (or Y) channels: {sorted(channels)}", path)
    if not np.isfinite(rgb).all():
        rgb = np.nan_to_num(rgb, nan=0.0, posinf=65504.0, neginf=0.0)
    space = resolve_colourspace(colourspace or _exr_space(path, header), path=path)
    h, w = rgb.shape[:2]
    _check_size(path, w, h)
    return Plate(path, "exr", space, w, h, None, sha256_file(path), [to_working(rgb, space)])


def _rotate(rgb: U8, degrees: float) -> U8:
    turns = round(degrees / 90) % 4  # a phone's display matrix: counter-clockwise degrees
    return np.ascontiguousarray(np.rot90(rgb, k=turns)) if turns else rgb


def _load_video(path: Path, colourspace: str | None, max_frames: int | None,
                max_seconds: float | None) -> Plate:  # fmt: skip
    from ..core._media import av_module

    av = av_module()
    try:
        container = av.open(str(path))
    except Exception as exc:
        raise InputError(f"not a readable image or video ({exc})", path) from exc
    limit = min(max_frames or MAX_VIDEO_FRAMES, MAX_VIDEO_FRAMES)
    frames: list[U8] = []
    try:
        if not container.streams.video:
            raise InputError("the file has no video stream", path)
        stream = container.streams.video[0]
        cc = stream.codec_context
        _check_size(path, cc.width or 16, cc.height or 16)
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else 24.0
        if max_seconds is not None:
            limit = min(limit, max(1, math.ceil(max_seconds * fps) + 1))
        for frame in container.decode(video=0):
            rgb = np.asarray(frame.to_ndarray(format="rgb24"))
            frames.append(_rotate(rgb, float(getattr(frame, "rotation", 0) or 0)))
            if len(frames) >= limit:
                break
    except InputError:
        raise
    except Exception as exc:
        if not frames:
            raise InputError(f"the video cannot be decoded ({exc})", path) from exc
        raise InputError(f"the video is corrupt after frame {len(frames)} ({exc})", path) from exc
    finally:
        container.close()
    if not frames:
        raise InputError("the video holds no frames", path)
    if any(f.shape != frames[0].shape for f in frames):
        raise InputError("the video changes size mid-stream; give a locked-off plate", path)
    space = resolve_colourspace(colourspace or SRGB, path=path)
    h, w = frames[0].shape[:2]
    return Plate(path, "video", space, w, h, fps if math.isfinite(fps) and fps > 0 else 24.0,
                 sha256_file(path), [], frames)  # fmt: skip


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
