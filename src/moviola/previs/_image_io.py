"""Writing pictures: PNG through Pillow, float passes through OpenEXR, always atomically."""

from __future__ import annotations

import colorsys
import io
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from ..core import DependencyError, DocumentError, atomic_path, write_bytes_atomic


def write_png(path: Path, image: Image.Image | NDArray[np.uint8]) -> Path:
    """Save a PNG under a temporary name, then rename: never a half-written frame."""
    img = image if isinstance(image, Image.Image) else Image.fromarray(image)
    buffer = io.BytesIO()
    img.save(buffer, format="PNG", compress_level=2)
    try:
        return write_bytes_atomic(path, buffer.getvalue())
    except OSError as exc:
        raise DocumentError(f"cannot write image: {exc}", path) from exc


def write_exr(path: Path, channels: dict[str, NDArray[np.float32]]) -> Path:
    """A float EXR (ZIP-compressed scanlines) from named 2-D channels, atomically."""
    try:
        import OpenEXR
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise DependencyError("OpenEXR is not installed (pip install openexr)") from exc
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    data = {k: np.ascontiguousarray(v, np.float32) for k, v in channels.items()}
    try:
        with atomic_path(path, ".exr") as tmp, OpenEXR.File(header, data) as exr:
            exr.write(str(tmp))
    except Exception as exc:
        raise DocumentError(f"cannot write EXR: {exc}", path) from exc
    return path


def read_exr(path: Path) -> dict[str, NDArray[np.float32]]:
    import OpenEXR

    with OpenEXR.File(str(path), separate_channels=True) as exr:
        return {k: np.asarray(c.pixels) for k, c in exr.channels().items()}


def id_colour(index: int) -> tuple[int, int, int]:
    """A distinct, stable colour per object id (golden-ratio hues); 0 (sky) is black."""
    if index <= 0:
        return (0, 0, 0)
    h = (index * 0.618033988749895) % 1.0
    s = 0.55 + 0.35 * ((index * 7) % 3) / 2
    v = 0.95 - 0.25 * ((index * 5) % 2)
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return (round(r * 255), round(g * 255), round(b * 255))


def id_image(ids: NDArray[np.int32], count: int) -> NDArray[np.uint8]:
    palette = np.array([id_colour(i) for i in range(count + 1)], np.uint8)
    return palette[np.clip(ids, 0, count)]
