"""The treated frames a finishing artist works from, written beside the render on a pool.

EXR is the field's frame format: linear half float, the whole frame in every file, each
signed with a Content Credentials sidecar (``.c2pa``). What one decoded 1080p frame of
the moving plate costs, in CPU milliseconds on this project's two-core machine (shared:
within a fifth; ``benchmarks/deage_speed.py`` prints the table again):

- to RGB and to linear half float (swscale, then a 256-entry table): ~7;
- to compress and write, by codec, and the file's size:
  NO ~17, 12.5 MB; RLE ~57, 10.5 MB; **PIZ ~78-84, 2.8 MB, lossless** (``CODEC``);
  HTJ2K ~81, 7.2 MB; ZIPS, ZIP ~145-161, 6.4-7.3 MB; PXR24 ~158, 7.0 MB; ZSTD ~190,
  7.1 MB; and the lossy ones are no faster: B44A ~61 (5.2 MB), DWAA ~190 (1.4 MB);
- to sign, ~35: c2pa hashes the whole file (a big file costs more to sign than to
  write: NO and RLE come out dearer than PIZ), and reads the whole plate again for every
  frame to carry its credentials as the frame's parent (~20 of the 35 for the 12.7 MB
  test plate, and more for a longer one).

So PIZ stays: lossless, the smallest by far, and of the small files the fastest to
write. A frame then costs ~120 ms of CPU, more than decoding, tracking, retouching,
compositing and encoding it (~75-100): on two cores the default render makes about 8
frames a second, whatever the threads, where the movie alone makes 20 or more.

PNG stays available (``--frame-format png``, 8- or 16-bit as the source) for tools
that read PNG sequences. Both are written on a small thread pool (``WORKERS``, one a
core): OpenEXR, zlib and the signer let go of Python's lock while they work, so frames
are compressed beside the encoder and the retouch instead of after them. Each frame is
written under a temporary name and renamed when whole, and signed before that.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from ...core import write_bytes_atomic
from ...core._image_io import png_bytes, write_exr
from ._picture import to_display

CODEC = "PIZ"  # lossless; the smallest here by far, and a small file is signed fast (see above)
WORKERS = max(2, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2))
_HALF_OF_8BIT = (np.power(np.arange(256, dtype=np.float64) / 255.0, 2.4)).astype(np.float16).view(np.uint16)


def linear_half(img: NDArray[Any]) -> NDArray[np.float16]:
    """Linear half-float RGB of a stored frame: the inverse of the display curve (gamma 2.4)
    that the retouch works in; 8-bit through a 256-entry table (3 ms for 1080p)."""
    if img.dtype == np.uint8:
        lut = _HALF_OF_8BIT.reshape(1, 256)
        return np.asarray(cv2.LUT(np.ascontiguousarray(img), lut), np.uint16).view(np.float16)
    lin = img if img.dtype == np.float32 else np.power(to_display(img), np.float32(2.4))
    return np.asarray(lin, np.float16)


def write_frame(path: Path, img: NDArray[Any], fmt: str, meta: dict[str, str], fps: float,
                finish: Callable[[Path], None] | None = None, codec: str = CODEC) -> Path:  # fmt: skip
    """One frame: PNG (8- or 16-bit) or linear half-float EXR, atomically, signed by ``finish``."""
    if fmt == "png":
        if img.dtype == np.float32:  # linear floats as display-referred 16-bit
            img = np.clip(np.rint(to_display(img) * 65535.0), 0, 65535).astype(np.uint16)
        return write_bytes_atomic(path, png_bytes(img, meta), finish=finish)
    header = {"framesPerSecond": (round(fps * 1000), 1000), **meta}
    return write_exr(path, {"RGB": linear_half(img)}, half=True, header=header, compression=codec, finish=finish)


class FramePool:
    """Writes frames on ``workers`` threads, at most ``2 * workers`` waiting (so a slow disk
    holds the render back instead of filling memory); the first failure is raised."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="moviola-frames")
        self._slots = threading.BoundedSemaphore(2 * max(1, workers))
        self._pending: list[Future[Path]] = []
        self._lock = threading.Lock()
        self.seconds = 0.0  # summed over the workers

    def submit(self, write: Callable[[], Path]) -> None:
        self._slots.acquire()
        self._raise_done()

        def run() -> Path:
            import time

            t0 = time.perf_counter()
            try:
                return write()
            finally:
                with self._lock:
                    self.seconds += time.perf_counter() - t0
                self._slots.release()

        with self._lock:
            self._pending.append(self._pool.submit(run))

    def _raise_done(self) -> None:
        with self._lock:
            done = [f for f in self._pending if f.done()]
            self._pending = [f for f in self._pending if not f.done()]
        for f in done:
            f.result()

    def close(self, wait: bool = True) -> None:
        """Wait for every frame (raising the first failure), or drop the waiting ones."""
        if not wait:
            for f in self._pending:
                f.cancel()
        self._pool.shutdown(wait=True)
        if wait:
            self._raise_done()
