"""Footage, as both effects read it: a still, a numbered image sequence or a video.

One reader for the collapse's plate and the likeness edit's shot, so both refuse the
same things before any work starts, each refusal naming the file: a path that is not a
file or is empty, a picture under 16 pixels or over 8K on a side (or 37.7 MP), truncated
or corrupt data, a sequence with missing frames, a video that does not decode. Sizes are
read from the headers first, so a 16K picture is refused without being decoded.

Frames come one at a time, as the file stores them: RGB of 8 or 16 bits, or float for
EXR; for 4:2:0 video the decoder's own Y'CbCr planes with their matrix and range (or
8-bit RGB when asked: ``rgb=True``). Phones record upright video sideways with a
rotation flag: every frame comes turned upright. A variable frame rate is detected once
a video has been read through. What colour space the file says it is in (an ICC profile,
EXR chromaticities) is read too, for the plate's conversion into ACEScg.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFile, UnidentifiedImageError

from ..core import DependencyError, InputError, sha256_file
from ..core._colour import LINEAR_REC709, SRGB
from ..core._yuv import pack_planes, planes

MAX_SIDE = 8192  # 8K; a 16K plate is refused rather than swapping the machine to death
MAX_PIXELS = 8192 * 4608
EXR_MAGIC = b"\x76\x2f\x31\x01"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr", ".bmp")
_HASHES = re.compile(r"#+")
_PRINTF = re.compile(r"%0?(\d*)d")
Frame = NDArray[Any]  # (h, w, 3): uint8, uint16 or float32 (linear, from EXR)

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

# R'G'B' -> Y'CbCr rows (Kr, Kg, Kb) per matrix
_MATRICES = {
    "bt709": ((0.2126, 0.7152, 0.0722), (-0.1146, -0.3854, 0.5), (0.5, -0.4542, -0.0458)),
    "bt601": ((0.299, 0.587, 0.114), (-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312)),
}


@dataclass(frozen=True)
class YuvFormat:
    """A video's Y'CbCr matrix and range, as its decoder reports them."""

    matrix: str = "bt709"
    full_range: bool = False

    def forward(self) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """(3x3 gain, offsets) from R'G'B' in 0..1 to Y'CbCr code values."""
        m = np.asarray(_MATRICES[self.matrix], np.float32)
        ys, cs = (255.0, 255.0) if self.full_range else (219.0, 224.0)
        gain = m * np.array([[ys], [cs], [cs]], np.float32)
        off = np.array([0.0 if self.full_range else 16.0, 128.0, 128.0], np.float32)
        return gain, off


def yuv_format(colorspace: int | None, color_range: int | None, height: int) -> YuvFormat:
    """From FFmpeg's tags: 1 is BT.709; 5, 6 are BT.601; unknown follows FFmpeg (HD is 709)."""
    full = color_range == 2
    if colorspace == 1:
        return YuvFormat("bt709", full)
    if colorspace in (5, 6):
        return YuvFormat("bt601", full)
    return YuvFormat("bt709" if height >= 720 else "bt601", full)


@dataclass(frozen=True)
class StoredFrame:
    """One frame as the file stores it, upright: RGB (h, w, 3), or, with ``yuv``, a 4:2:0
    video's packed I420 planes ((h * 3/2, w) bytes, ``height`` rows of picture)."""

    data: Frame
    yuv: YuvFormat | None = None
    height: int | None = None


# --- checks ---------------------------------------------------------------------------------


def check_file(path: Path) -> bytes:
    """The first bytes of ``path``, once it is known to be a file with something in it."""
    if not path.exists():
        raise InputError("no such plate", path)
    if not path.is_file():
        raise InputError("the plate is not a file", path)
    with path.open("rb") as f:
        head = f.read(16)
    if not head:
        raise InputError("the plate is empty", path)
    return head


def check_size(path: Path, width: int, height: int) -> None:
    """Refuse a picture smaller than 16x16 or larger than the limits."""
    if width < 16 or height < 16:
        raise InputError(f"the plate is {width}x{height}; a plate must be at least 16x16", path)
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise InputError(
            f"the plate is {width}x{height} ({width * height / 1e6:.1f} MP); the limit is {MAX_SIDE} px "
            f"on a side and {MAX_PIXELS / 1e6:.1f} MP: downscale it first (a 16K plate gains nothing "
            "over 4K for a collapse composited at delivery size)",
            path,
        )


# --- the footage ----------------------------------------------------------------------------


@dataclass
class Footage:
    """What a file (or a sequence of files) holds, checked; its frames are read on demand."""

    path: Path
    kind: str  # "still", "sequence" or "video"
    width: int
    height: int
    fps: float
    count: int  # frames (a video's is exact once it has been read through)
    depth: str  # "8", "16" or "float"
    digest: str  # sha256 of the file's bytes (a sequence: of its frames' names, sizes and times)
    files: list[Path] = field(default_factory=list)  # a sequence's frames, in order
    first_number: int | None = None  # a sequence's first frame number
    rotation: int = 0  # degrees a video is turned to play upright
    frame_times: list[float] = field(default_factory=list)  # a video's frame times, seconds
    counted: bool = False  # count is exact
    yuv: YuvFormat | None = None  # a video's matrix and range
    exr: bool = False  # a still in OpenEXR
    icc: bytes | None = field(default=None, repr=False)  # a still's ICC profile
    chromaticities: Any = None  # an EXR's header attribute, as OpenEXR gives it
    _still: Frame | None = field(default=None, repr=False)  # a still's one frame, read when opened

    @property
    def variable_rate(self) -> bool:
        """Frame durations that differ by more than a tenth from the typical one."""
        if len(self.frame_times) < 3:
            return False
        d = np.diff(np.asarray(self.frame_times))
        typical = float(np.median(d))
        return typical > 0 and bool(np.any(np.abs(d - typical) > 0.1 * typical))

    def colourspace(self) -> str:
        """The colour space the file says it is in (an OCIO name of the built-in config):
        its ICC profile or EXR chromaticities; sRGB for 8- and 16-bit pictures and video
        that say nothing. A colour space Moviola cannot name is refused, with the way out."""
        if self.exr:
            return _exr_space(self.path, self.chromaticities)
        if self.icc:
            return _icc_space(self.path, self.icc)
        return SRGB

    def frames(self, start: int = 0, *, rgb: bool = False) -> Iterator[tuple[int, StoredFrame]]:
        """(index, frame) from frame ``start`` (0-based) to the end, upright: images as stored;
        video as the decoder's own 4:2:0 planes, or 8-bit RGB with ``rgb``."""
        if self.kind == "video":
            yield from self._video_frames(start, rgb)
            return
        if self.kind == "still":
            if start == 0:
                yield 0, StoredFrame(self._still if self._still is not None else _read_still(self.path)[0])
            return
        for i in range(start, len(self.files)):
            yield i, StoredFrame(read_image(self.files[i], self.width, self.height))

    def _video_frames(self, start: int, rgb: bool) -> Iterator[tuple[int, StoredFrame]]:
        from ..core._media import av_module

        av = av_module()
        container = av.open(str(self.path))
        try:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            stream.thread_count = min(4, os.cpu_count() or 2)  # more threads than cores only adds switching
            times: list[float] = []
            i = -1
            try:
                for frame in container.decode(stream):
                    i += 1
                    if not self.counted:
                        times.append(float(frame.time) if frame.time is not None else i / self.fps)
                    if i < start:
                        continue
                    yield i, _video_frame(frame, rgb)
            except InputError:
                raise
            except Exception as exc:
                if i < 0:
                    raise InputError(f"the video cannot be decoded ({exc})", self.path) from exc
                raise InputError(f"the video is corrupt after frame {i + 1} ({exc})", self.path) from exc
            if not self.counted and start == 0:
                self.count, self.frame_times, self.counted = i + 1, times, True
        finally:
            container.close()

    def info(self) -> dict[str, Any]:
        return {"path": str(self.path), "kind": self.kind, "width": self.width, "height": self.height,
                "fps": self.fps, "frames": self.count, "depth": self.depth, "rotation": self.rotation,
                "variable_frame_rate": self.variable_rate}  # fmt: skip


def open_footage(path: Path, *, fps: float | None = None, sequences: bool = True) -> Footage:
    """Open a still, a sequence (a folder or ``name.####.ext``, when ``sequences``) or a
    video, checking what can be checked before any work starts. ``fps`` is the rate of
    stills and sequences (24 unless given); a video has its own unless ``fps`` overrides it."""
    path = Path(path)
    is_pattern = bool(_HASHES.search(path.name) or _PRINTF.search(path.name))
    if sequences and (path.is_dir() or (is_pattern and not path.exists())):
        files, first = _sequence_files(path)
        img = read_image(files[0])
        h, w = img.shape[:2]
        check_size(files[0], w, h)
        h_ = hashlib.sha256()
        for p in files:
            st = p.stat()
            h_.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
        return Footage(path, "sequence", w, h, fps or 24.0, len(files), _depth(img), h_.hexdigest(),
                       files, first, counted=True)  # fmt: skip
    head = check_file(path)
    if head.startswith(EXR_MAGIC):
        rgb, header = read_exr(path)
        h, w = rgb.shape[:2]
        return Footage(path, "still", w, h, fps or 24.0, 1, "float", sha256_file(path), counted=True, exr=True,
                       chromaticities=header.get("chromaticities"), _still=rgb)  # fmt: skip
    picture = _identify(path)
    if picture is not None or path.suffix.lower() in IMAGE_SUFFIXES:
        img, icc = _read_still(path, picture)
        h, w = img.shape[:2]
        check_size(path, w, h)
        return Footage(path, "still", w, h, fps or 24.0, 1, _depth(img), sha256_file(path), counted=True, icc=icc,
                       _still=img)  # fmt: skip
    return _open_video(path, fps)


# --- stills ---------------------------------------------------------------------------------


def read_image(path: Path, width: int | None = None, height: int | None = None) -> Frame:
    """One still as RGB as stored, refusing what cannot be read, with the file named; with
    ``width`` and ``height``, a frame of a sequence of that size."""
    if not path.is_file():
        raise InputError("the frame is missing", path)
    with path.open("rb") as f:
        head = f.read(4)
    img = read_exr(path)[0] if head == EXR_MAGIC else _read_still(path)[0]
    if width is not None and height is not None and (img.shape[1], img.shape[0]) != (width, height):
        raise InputError(f"the frame is {img.shape[1]}x{img.shape[0]}, the sequence is {width}x{height}", path)
    return img


def read_exr(path: Path) -> tuple[NDArray[np.float32], dict[str, Any]]:
    """An EXR's RGB (grey: Y in all three) as float32 and its header; its size is checked
    from the header's data window before a pixel is read."""
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
                check_size(path, x1 - x0 + 1, y1 - y0 + 1)
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
    h, w = rgb.shape[:2]
    check_size(path, w, h)
    return np.asarray(rgb, np.float32), header


def _identify(path: Path) -> Image.Image | None:
    """The picture as Pillow opens it (its header only), its size checked; None when Pillow
    does not know it (a video, or not a picture at all)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # we check sizes ourselves
            try:
                picture = Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = limit
    except UnidentifiedImageError:
        return None
    except OSError as exc:
        raise InputError(f"cannot read the plate: {exc}", path) from exc
    check_size(path, *picture.size)
    return picture


def _read_still(path: Path, picture: Image.Image | None = None) -> tuple[Frame, bytes | None]:
    """A picture's pixels as stored (OpenCV keeps 16 bits) and its ICC profile. What OpenCV
    cannot decode, Pillow does if it knows the format; truncated data is refused."""
    data = np.fromfile(path, np.uint8)
    raw = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if picture is None and raw is None:
        picture = _identify(path)
    icc = picture.info.get("icc_profile") if picture is not None else None
    jpeg = (picture.format == "JPEG") if picture is not None else path.suffix.lower() in (".jpg", ".jpeg")
    if raw is None:
        if picture is None:
            raise InputError("not a readable image (truncated or corrupt?)", path)
        return _pillow_pixels(path, picture), icc or None
    if raw.ndim == 2:
        raw = np.repeat(raw[..., None], 3, axis=2)
    img: Frame = np.ascontiguousarray(raw[..., 2::-1] if raw.shape[2] >= 3 else np.repeat(raw[..., :1], 3, 2))
    if jpeg and b"\xff\xd9" not in bytes(data[-4096:]):
        raise InputError("the JPEG is truncated", path)
    return img, icc or None


def _pillow_pixels(path: Path, picture: Image.Image) -> Frame:
    """A picture OpenCV cannot decode, through Pillow: 8-bit RGB (16-bit for 16-bit grey)."""
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        picture.load()
        if picture.mode in ("I;16", "I;16B"):
            grey = np.asarray(picture, np.uint16)
            return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))
        return np.asarray(picture.convert("RGB"), np.uint8)
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"the image data is truncated or corrupt ({exc})", path) from exc


def _depth(img: Frame) -> str:
    return {"uint8": "8", "uint16": "16"}.get(str(img.dtype), "float")


def _icc_space(path: Path, icc: bytes) -> str:
    try:
        from PIL import ImageCms

        desc = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
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


def _exr_space(path: Path, chroma: Any) -> str:
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


# --- sequences ------------------------------------------------------------------------------


def _sequence_files(spec: Path) -> tuple[list[Path], int | None]:
    """The frames a folder, ``name.####.ext`` or ``name.%04d.ext`` names, in frame order."""
    if spec.is_dir():
        files = [p for p in spec.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")]
        if not files:
            raise InputError("the folder holds no image frames", spec)
        suffixes = {p.suffix.lower() for p in files}
        if len(suffixes) > 1:
            raise InputError(f"the folder mixes image types ({', '.join(sorted(suffixes))})", spec)
        numbered = [(int(m.group(1)), p) for p in files if (m := re.search(r"(\d+)\.[^.]+$", p.name))]
        if len(numbered) == len(files):
            numbered.sort()
            return [p for _, p in numbered], numbered[0][0]
        return sorted(files), None
    name = spec.name
    m = _HASHES.search(name) or _PRINTF.search(name)
    assert m is not None
    prefix, suffix = name[: m.start()], name[m.end() :]
    rx = re.compile(re.escape(prefix) + r"(\d+)" + re.escape(suffix) + "$")
    found = sorted((int(mm.group(1)), p) for p in spec.parent.glob("*") if (mm := rx.match(p.name)))
    if not found:
        raise InputError("no frames match this sequence pattern", spec)
    numbers = [n for n, _ in found]
    gaps = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
    if gaps:
        raise InputError(f"the sequence has missing frames: {_ranges(gaps)}", spec)
    return [p for _, p in found], numbers[0]


def _ranges(numbers: list[int]) -> str:
    out, start = [], numbers[0]
    for a, b in zip(numbers, [*numbers[1:], None], strict=True):
        if b != a + 1:
            out.append(str(start) if start == a else f"{start}-{a}")
            start = b if b is not None else a
    return ", ".join(out[:6]) + (" ..." if len(out) > 6 else "")


# --- video ----------------------------------------------------------------------------------


def _open_video(path: Path, fps: float | None) -> Footage:
    from ..core._media import av_module

    av = av_module()
    try:
        container = av.open(str(path))
    except Exception as exc:
        raise InputError(f"not a readable image or video ({exc})", path) from exc
    try:
        if not container.streams.video:
            raise InputError("the file has no video stream", path)
        stream = container.streams.video[0]
        cc = stream.codec_context
        if cc.width and cc.height:  # a giant video is refused before a frame is decoded
            check_size(path, cc.width, cc.height)
        rate = stream.average_rate or stream.guessed_rate
        native = float(rate) if rate else 0.0
        first = None
        try:
            for frame in container.decode(stream):
                first = frame
                break
        except Exception as exc:
            raise InputError(f"the video cannot be decoded ({exc})", path) from exc
        if first is None:
            raise InputError("the video holds no frames", path)
        rotation = round(float(getattr(first, "rotation", 0) or 0) / 90) % 4 * 90
        # the decoder's own planes are used for yuv420p at even sizes; anything else is read as RGB
        as_yuv = first.format.name == "yuv420p" and not (first.width % 2 or first.height % 2)
        yuv = yuv_format(first.colorspace, first.color_range, first.height) if as_yuv else None
        w, h = first.width, first.height
        if rotation in (90, 270):
            w, h = h, w
        check_size(path, w, h)
        duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else 0.0
        if not duration and container.duration:  # Matroska and WebM give only the container's
            duration = container.duration / 1_000_000
        rate_used = fps or (native if math.isfinite(native) and native > 0 else 24.0)
        estimate = stream.frames or max(1, round(duration * rate_used))
    finally:
        container.close()
    return Footage(path, "video", w, h, rate_used, int(estimate), "8", sha256_file(path), rotation=rotation, yuv=yuv)


def _video_frame(frame: Any, rgb: bool) -> StoredFrame:
    """A decoded frame as stored (its 4:2:0 planes when it has them and ``rgb`` is not asked
    for), turned upright by its display matrix's counter-clockwise degrees."""
    if rgb or frame.format.name != "yuv420p" or frame.width % 2 or frame.height % 2:
        stored = StoredFrame(np.asarray(frame.to_ndarray(format="rgb24")))
    else:
        fmt = yuv_format(frame.colorspace, frame.color_range, frame.height)
        stored = StoredFrame(np.asarray(frame.to_ndarray()), fmt, frame.height)
    turns = round(float(getattr(frame, "rotation", 0) or 0) / 90) % 4
    if not turns:
        return stored
    if stored.yuv is None:
        return StoredFrame(np.ascontiguousarray(np.rot90(stored.data, k=turns)))
    assert stored.height is not None
    y, u, v = (np.rot90(p, k=turns) for p in planes(stored.data, stored.height))
    return StoredFrame(pack_planes(y, u, v), stored.yuv, y.shape[0])
