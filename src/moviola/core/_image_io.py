"""Writing pictures: PNG through Pillow, float images through OpenEXR, always atomically."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from ._atomic import atomic_path, write_bytes_atomic
from ._errors import DependencyError, DocumentError, MoviolaError


def write_png(path: Path, image: Image.Image | NDArray[np.uint8],
              finish: Callable[[Path], None] | None = None) -> Path:
    """Save a PNG under a temporary name, then rename: never a half-written frame.
    ``finish`` runs on the whole file before the rename (signing it)."""
    img = image if isinstance(image, Image.Image) else Image.fromarray(image)
    buffer = io.BytesIO()
    img.save(buffer, format="PNG", compress_level=2)
    try:
        return write_bytes_atomic(path, buffer.getvalue(), finish=finish)
    except OSError as exc:
        raise DocumentError(f"cannot write image: {exc}", path) from exc


def png_bytes(image: NDArray[np.uint8] | NDArray[np.uint16], text: dict[str, str] | None = None,
              level: int = 1) -> bytes:  # fmt: skip
    """Encode RGB (8- or 16-bit) as PNG with the Up filter and zlib ``level``, plus tEXt chunks.

    Written by hand because frame sequences need speed: one filter for the whole
    picture (Up suits photographic frames) at zlib level 1 is several times faster
    than an encoder that tries every filter on every row, for files about a tenth
    larger.
    """
    h, w, c = image.shape
    deep = image.dtype == np.uint16
    rows = (image.astype(">u2") if deep else image).reshape(h, -1).view(np.uint8)
    raw = np.empty((h, rows.shape[1] + 1), np.uint8)
    raw[:, 0] = 2  # Up
    raw[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=raw[1:, 1:])  # wraps modulo 256, as PNG wants

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    colour = {3: 2, 4: 6}[c]
    out = [b"\x89PNG\r\n\x1a\n", chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16 if deep else 8, colour, 0, 0, 0))]
    for key, value in (text or {}).items():
        out.append(chunk(b"tEXt", key.encode("latin-1", "replace")[:79] + b"\0" + value.encode("latin-1", "replace")))
    out.append(chunk(b"IDAT", zlib.compress(raw.tobytes(), level)))
    out.append(chunk(b"IEND", b""))
    return b"".join(out)


def write_exr(path: Path, channels: dict[str, NDArray[np.floating[Any]]], *, half: bool = False,
              header: dict[str, Any] | None = None, compression: str = "ZIP",
              finish: Callable[[Path], None] | None = None) -> Path:  # fmt: skip
    """A scanline EXR from named channels (2-D, or (h, w, k) under "RGB"/"RGBA"), atomically.

    ``half`` stores 16-bit floats (what compositors expect of colour layers);
    ``header`` adds attributes (chromaticities, framesPerSecond, our own keys);
    ``compression`` is an OpenEXR name: ZIP, PIZ, ZIPS, RLE or NO; ``finish`` runs on
    the whole file before it gets its name (its Content Credentials sidecar).
    """
    try:
        import OpenEXR
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise DependencyError("OpenEXR is not installed (pip install openexr)") from exc
    head = {
        "compression": getattr(OpenEXR, f"{compression}_COMPRESSION"),
        "type": OpenEXR.scanlineimage,
    }
    head.update(header or {})
    kind = np.float16 if half else np.float32
    data = {k: np.ascontiguousarray(v, kind) for k, v in channels.items()}
    try:
        with atomic_path(path, ".exr", finish) as tmp, OpenEXR.File(head, data) as exr:
            exr.write(str(tmp))
    except MoviolaError:
        raise
    except Exception as exc:
        raise DocumentError(f"cannot write EXR: {exc}", path) from exc
    return path


def read_exr(path: Path) -> dict[str, NDArray[np.float32]]:
    import OpenEXR

    with OpenEXR.File(str(path), separate_channels=True) as exr:
        return {k: np.asarray(c.pixels, np.float32) for k, c in exr.channels().items()}
