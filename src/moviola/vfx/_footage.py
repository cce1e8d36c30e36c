"""Footage for a likeness edit: a still, a numbered image sequence, or a video, streamed.

Unlike a collapse plate (a few seconds held in memory), a de-aging shot can run
for minutes, so frames are decoded one at a time, twice if need be (tracking,
then treatment). Frames come as they are stored (8-bit, 16-bit, or float for
EXR) and ``Footage.to_display`` / ``from_display`` convert the face region to
and from the 0..1 display-referred values the retouch works in, so every pixel
outside the face is written back exactly as it came.

Phones record upright video sideways with a rotation flag: it is honoured. A
variable frame rate is detected and reported; frames are treated one for one.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ..core import InputError, sha256_file
from ..core._image_io import read_exr
from ._picture import Picture, YuvFormat, rotate_picture, yuv_format
from ._plate import _EXR_MAGIC, _check_file, _check_size

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr", ".bmp")
_HASHES = re.compile(r"#+")
_PRINTF = re.compile(r"%0?(\d*)d")
Frame = NDArray[Any]  # (h, w, 3): uint8, uint16 or float32 (linear, from EXR)


@dataclass
class Footage:
    path: Path
    kind: str  # "still", "sequence" or "video"
    width: int
    height: int
    fps: float
    count: int  # frames (a video's is exact once it has been read through)
    depth: str  # "8", "16" or "float"
    digest: str
    files: list[Path] = field(default_factory=list)  # a sequence's frames, in order
    first_number: int | None = None  # a sequence's first frame number
    rotation: int = 0  # degrees a video is turned to play upright
    frame_times: list[float] = field(default_factory=list)  # a video's frame times, seconds
    counted: bool = False  # count is exact
    yuv: YuvFormat | None = None  # a video's matrix and range

    @property
    def variable_rate(self) -> bool:
        """Frame durations that differ by more than a tenth from the typical one."""
        if len(self.frame_times) < 3:
            return False
        d = np.diff(np.asarray(self.frame_times))
        typical = float(np.median(d))
        return typical > 0 and bool(np.any(np.abs(d - typical) > 0.1 * typical))

    def frames(self, start: int = 0) -> Iterator[tuple[int, Picture]]:
        """(index, picture) from frame ``start`` (0-based) to the end: RGB for images, the
        decoder's own YUV 4:2:0 for video."""
        if self.kind == "video":
            yield from self._video_frames(start)
            return
        files = self.files or [self.path]
        for i in range(start, len(files)):
            yield i, Picture(_read_image(files[i], self.width, self.height))

    def _video_frames(self, start: int) -> Iterator[tuple[int, Picture]]:
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
                    fmt = yuv_format(frame.colorspace, frame.color_range, frame.height)
                    if frame.format.name != "yuv420p" or frame.width % 2 or frame.height % 2:
                        rgb = np.asarray(frame.to_ndarray(format="rgb24"))
                        pic = Picture(rgb)
                    else:
                        pic = Picture(np.asarray(frame.to_ndarray()), fmt, frame.height)
                    yield i, rotate_picture(pic, float(getattr(frame, "rotation", 0) or 0))
            except InputError:
                raise
            except av.error.FFmpegError as exc:
                raise InputError(f"the video is corrupt after frame {i} ({exc})", self.path) from exc
            if not self.counted and start == 0:
                self.count, self.frame_times, self.counted = i + 1, times, True
        finally:
            container.close()

    def info(self) -> dict[str, Any]:
        return {"path": str(self.path), "kind": self.kind, "width": self.width, "height": self.height,
                "fps": self.fps, "frames": self.count, "depth": self.depth, "rotation": self.rotation,
                "variable_frame_rate": self.variable_rate}  # fmt: skip


def _read_image(path: Path, width: int | None = None, height: int | None = None) -> Frame:
    """One still as RGB, refusing what cannot be read, with the file named."""
    if not path.is_file():
        raise InputError("the frame is missing", path)
    with path.open("rb") as f:
        head = f.read(4)
    if head == _EXR_MAGIC:
        try:
            ch = read_exr(path)
        except Exception as exc:
            raise InputError(f"cannot read the EXR (truncated or corrupt?): {exc}", path) from exc
        names = {k.split(".")[-1].upper(): k for k in ch}
        if not all(c in names for c in "RGB"):
            raise InputError(f"the EXR has no R, G, B channels: {sorted(ch)}", path)
        img: Frame = np.stack([ch[names[c]] for c in "RGB"], axis=-1).astype(np.float32)
    else:
        data = np.fromfile(path, np.uint8)
        raw = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
        if raw is None:
            raise InputError("not a readable image (truncated or corrupt?)", path)
        if raw.ndim == 2:
            raw = np.repeat(raw[..., None], 3, axis=2)
        img = np.ascontiguousarray(raw[..., 2::-1] if raw.shape[2] >= 3 else np.repeat(raw[..., :1], 3, 2))
        if path.suffix.lower() in (".jpg", ".jpeg") and _truncated_jpeg(data):
            raise InputError("the JPEG is truncated", path)
    if width is not None and height is not None and (img.shape[1], img.shape[0]) != (width, height):
        raise InputError(f"the frame is {img.shape[1]}x{img.shape[0]}, the sequence is {width}x{height}", path)
    return img


def _truncated_jpeg(data: NDArray[np.uint8]) -> bool:
    tail = bytes(data[-4096:])
    return b"\xff\xd9" not in tail


def _depth(img: Frame) -> str:
    return {"uint8": "8", "uint16": "16"}.get(str(img.dtype), "float")


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


def open_footage(path: Path, *, fps: float | None = None) -> Footage:
    """Open a still, a sequence (folder or pattern) or a video, checking what can be checked
    before any work starts."""
    path = Path(path)
    is_pattern = bool(_HASHES.search(path.name) or _PRINTF.search(path.name))
    if path.is_dir() or (is_pattern and not path.exists()):
        files, first = _sequence_files(path)
        img = _read_image(files[0])
        h, w = img.shape[:2]
        _check_size(files[0], w, h)
        h_ = hashlib.sha256()
        for p in files:
            st = p.stat()
            h_.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
        return Footage(path, "sequence", w, h, fps or 24.0, len(files), _depth(img), h_.hexdigest(),
                       files, first, counted=True)  # fmt: skip
    head = _check_file(path)
    if head.startswith(_EXR_MAGIC) or path.suffix.lower() in IMAGE_SUFFIXES:
        img = _read_image(path)
        h, w = img.shape[:2]
        _check_size(path, w, h)
        return Footage(path, "still", w, h, fps or 24.0, 1, _depth(img), sha256_file(path), counted=True)
    return _open_video(path, fps)


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
        _check_size(path, w, h)
        duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else 0.0
        if not duration and container.duration:  # Matroska and WebM give only the container's
            duration = container.duration / 1_000_000
        rate_used = fps or (native if math.isfinite(native) and native > 0 else 24.0)
        estimate = stream.frames or max(1, round(duration * rate_used))
    finally:
        container.close()
    return Footage(path, "video", w, h, rate_used, int(estimate), "8", sha256_file(path), rotation=rotation, yuv=yuv)
