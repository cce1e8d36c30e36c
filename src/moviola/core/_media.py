"""Movies through PyAV: an H.264 writer that never leaves a half-written file, and probes.

Every movie Moviola writes (animatics, review movies) is BT.709 limited-range
H.264 in MP4, written under a temporary name and renamed only when whole.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._atomic import atomic_path
from ._errors import DependencyError, DocumentError
from ._yuv import rgb_to_yuv420

# No B-frames, so segments join without re-timing; "ultrafast" because the encoder,
# not the renderer, sets the pace of a long movie of mostly held frames (x264
# ultrafast: ~4.5 ms a 720p frame on two cores). Slice threads split each frame
# across cores: about 20% faster than frame threads for held frames on two cores.
X264_FAST = {"crf": "22", "preset": "ultrafast", "bf": "0", "g": "48",
             "threads": str(min(8, os.cpu_count() or 2)), "thread_type": "slice"}  # fmt: skip


def av_module() -> Any:
    try:
        import av
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise DependencyError("PyAV is not installed (pip install 'av>=18,<19')") from exc
    return av


def movie_rate(fps: float) -> Fraction:
    """The exact rate: 23.976 is 24000/1001, 29.97 is 30000/1001."""
    if abs(fps - 24000 / 1001) < 1e-3:
        return Fraction(24000, 1001)
    if abs(fps - 30000 / 1001) < 1e-3:
        return Fraction(30000, 1001)
    return Fraction(fps).limit_denominator(1001)


_OPEN: list[Any] = []  # containers being written, closed on any failure


def open_h264(path: Path, fps: float, width: int, height: int,
              options: dict[str, str] | None = None) -> tuple[Any, Any]:  # fmt: skip
    """An MP4 container and its H.264 stream, tagged BT.709 limited range."""
    av = av_module()
    container = av.open(str(path), "w", format="mp4")
    _OPEN.append(container)
    stream = container.add_stream("libx264", rate=movie_rate(fps))
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.options = dict(options or X264_FAST)
    cc = stream.codec_context  # BT.709, limited range: what rgb_to_yuv420 produces
    cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = 1, 1, 1, 1
    return container, stream


def encode_frame(container: Any, stream: Any, picture: NDArray[np.uint8], pts: int, *,
                 yuv: bool = False) -> None:  # fmt: skip
    """Encode one frame: 8-bit RGB, or (``yuv=True``) packed YUV 4:2:0 from rgb_to_yuv420."""
    av = av_module()
    frame = av.VideoFrame.from_ndarray(picture if yuv else rgb_to_yuv420(picture),
                                       format="yuv420p")  # fmt: skip
    frame.pts = pts
    for packet in stream.encode(frame):
        container.mux(packet)


def finish_movie(container: Any, stream: Any) -> None:
    for packet in stream.encode():
        container.mux(packet)
    container.close()


def track_container(container: Any) -> None:
    """Register a container opened by hand, so atomic_movie closes it on failure."""
    _OPEN.append(container)


def atomic_movie(target: Path, write: Callable[[Path], None],
                 finish: Callable[[Path], None] | None = None) -> Path:
    """Write a movie under a temporary name; rename only when it is whole.

    A failure (or Ctrl-C) closes the encoder and deletes the temporary file, so
    nothing half-written keeps a final name or an open descriptor. ``finish`` runs on
    the closed, whole movie before the rename (signing it).
    """
    mark = len(_OPEN)
    with atomic_path(target, ".mp4", finish) as tmp:
        try:
            write(tmp)
        finally:  # close before the temporary file is renamed or removed
            while len(_OPEN) > mark:
                container = _OPEN.pop()
                with contextlib.suppress(
                    Exception
                ):  # closed already, or failing: keep the first error
                    container.close()
    return target


def probe_movie(path: Path) -> dict[str, Any]:
    """What a movie holds, read back: codec, size, frames, duration, audio, timecode."""
    av = av_module()
    try:
        c = av.open(str(path))
    except Exception as exc:
        raise DocumentError(f"not a readable movie: {exc}", path) from exc
    try:
        v = c.streams.video[0]
        info: dict[str, Any] = {
            "codec": v.codec_context.name,
            "width": v.codec_context.width,
            "height": v.codec_context.height,
            "fps": float(v.average_rate or 0),
            "frames": v.frames,
            "duration_s": (c.duration or 0) / 1_000_000,
            "audio": [a.codec_context.name for a in c.streams.audio],
            "timecode": v.metadata.get("timecode")
            or next((s.metadata.get("timecode") for s in c.streams if s.type == "data"), None),
        }
    finally:
        c.close()
    return info


def frame_at(path: Path, index: int) -> NDArray[np.uint8]:
    """Decode one frame (0-based) as RGB: for contact checks and tests."""
    av = av_module()
    with av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i == index:
                return np.asarray(frame.to_ndarray(format="rgb24"))
    raise DocumentError(f"movie has no frame {index}", path)
