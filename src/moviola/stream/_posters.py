"""Posters: a key art poster from a frame of the film, and a typographic one for titles
without art, so the page never shows a broken image.

Both are 2:3 (1000x1500, the one-sheet's proportion), type set with the same font chain
as every other picture (:mod:`moviola.core._fonts`): any title, in any script, fits.
"""

from __future__ import annotations

import colorsys
import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFilter

from ..core._fonts import draw_text, fit_text, wrap_text
from ..provenance import Ingredient, Stamp, write_signed

SIZE = (1000, 1500)


def _jpeg(image: Image.Image) -> bytes:
    import io

    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=90, optimize=True)
    return buf.getvalue()


def _title_block(draw: ImageDraw.ImageDraw, title: str, lines_below: Sequence[str], bottom: float,
                 colour: tuple[int, int, int] = (255, 255, 255)) -> None:  # fmt: skip
    """The title, wrapped to at most four lines in the largest size that fits, above ``bottom``,
    with smaller lines (year, genres, credit) under it."""
    w, _ = SIZE
    size = 120
    lines = wrap_text(title.upper(), size, w * 0.84, 4, bold=True)
    while size > 48 and (len(lines) > 2 + (size < 90) or any("…" in x for x in lines)):
        size -= 8  # smaller type before more lines, and no title cut short while it can shrink
        lines = wrap_text(title.upper(), size, w * 0.84, 4, bold=True)
    y = bottom - 46 * len(lines_below) - size * 1.1 * len(lines)
    for line in lines:
        draw_text(draw, (w / 2, y), line, size, bold=True, fill=colour, anchor="mt")
        y += size * 1.1
    y += 20
    for small in lines_below:
        draw_text(draw, (w / 2, y), fit_text(small, 34, w * 0.84), 34, fill=(225, 225, 225), anchor="mt")
        y += 46


def typographic_poster(title_id: str, title: str, year: int | None, genres: Sequence[str]) -> Image.Image:
    """A poster made of type on a colour drawn from the title id (stable across runs)."""
    digest = hashlib.sha256(title_id.encode("utf-8")).digest()
    hue = digest[0] / 255
    top = tuple(round(c * 255) for c in colorsys.hls_to_rgb(hue, 0.32, 0.55))
    low = tuple(round(c * 255) for c in colorsys.hls_to_rgb((hue + 0.08) % 1, 0.12, 0.45))
    ramp = np.linspace(0, 1, SIZE[1], dtype=np.float32)[:, None, None]
    pixels = (np.array(top, np.float32) * (1 - ramp) + np.array(low, np.float32) * ramp).repeat(SIZE[0], 1)
    image = Image.fromarray(pixels.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    draw.rectangle((60, 60, SIZE[0] - 60, SIZE[1] - 60), outline=(255, 255, 255), width=3)
    facts = [" · ".join(str(x) for x in (year, " / ".join(genres[:3])) if x)]
    _title_block(draw, title, [f for f in facts if f], SIZE[1] * 0.62)
    return image


def key_art_poster(frame: NDArray[np.uint8], title: str, credit: str) -> Image.Image:
    """A poster from a frame of the film: cropped to 2:3 around its centre of interest (the
    busiest third), darkened toward the bottom, the title set over it."""
    picture = Image.fromarray(frame).convert("RGB")
    w, h = picture.size
    target = SIZE[0] / SIZE[1]
    crop_w = min(w, round(h * target))
    crop_h = min(h, round(crop_w / target))
    edges = np.asarray(picture.convert("L").filter(ImageFilter.FIND_EDGES), np.float32).mean(axis=0)
    centres = np.linspace(crop_w / 2, w - crop_w / 2, 9)
    best = max(centres, key=lambda c: float(edges[int(c - crop_w / 2) : int(c + crop_w / 2)].sum()))
    left = int(best - crop_w / 2)
    poster = picture.crop((left, (h - crop_h) // 2, left + crop_w, (h - crop_h) // 2 + crop_h)).resize(
        SIZE, Image.Resampling.LANCZOS
    )
    shade = np.clip((np.linspace(0, 1, SIZE[1]) - 0.45) / 0.55, 0, 1) ** 1.4 * 0.88
    arr = np.asarray(poster, np.float32) * (1 - shade[:, None, None])
    poster = Image.fromarray(arr.astype(np.uint8))
    _title_block(ImageDraw.Draw(poster), title, [credit], SIZE[1] - 90)
    return poster


def write_poster(path: Path, image: Image.Image, stamp: Stamp | None, what: str,
                 parent: Path | None = None) -> Path:
    """The poster as a JPEG with its Content Credentials: made from ``parent`` (a frame of
    the film, a storyboard panel) or made from type alone."""
    changes = {"parent": Ingredient(parent, "key art source", "parentOf")} if parent is not None else {}
    return write_signed(path, _jpeg(image), stamp, what, **changes)
