"""Review media: the sRGB H.264 movie and the before/after contact sheet."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from ...core._fonts import draw_text, fit_text, font
from ...core._image_io import write_png

U8 = NDArray[np.uint8]
F32 = NDArray[np.floating[Any]]
# review movies are for looking: a quality x264 preset, not the animatic's fastest
X264_REVIEW = {"crf": "18", "preset": "veryfast", "bf": "0", "g": "24", "threads": "0"}


def checker_over(rgba: F32, srgb: U8) -> U8:
    """A layer shown over a grey checkerboard, as compositing apps show alpha."""
    h, w = srgb.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    tile = max(8, min(h, w) // 24)
    board = np.where(((yy // tile) + (xx // tile)) % 2 == 0, 96, 64).astype(np.float32)
    a = np.clip(rgba[..., 3:4], 0, 1)
    out = srgb.astype(np.float32) + board[..., None] * (1.0 - a)
    return np.clip(out, 0, 255).astype(np.uint8)


def matte_picture(mattes: dict[str, F32]) -> U8:
    """Building (red), what it revealed (yellow), debris (green), dust (blue) in one picture."""
    b = mattes["building"]
    out = np.stack([np.maximum(b * 0.7, mattes["revealed"]), np.maximum(mattes["debris"] * 0.8, mattes["revealed"]),
                    np.maximum(mattes["dust"], mattes["dustback"] * 0.6)], axis=-1)  # fmt: skip
    return np.asarray(np.clip(out * 255, 0, 255), np.uint8)


def _fit(img: U8, width: int) -> Image.Image:
    pic = Image.fromarray(img)
    return pic.resize(
        (width, max(1, round(img.shape[0] * width / img.shape[1]))), Image.Resampling.LANCZOS
    )


def contact_sheet(path: Path, title: str, facts: str, before: U8, frames: list[tuple[int, U8]],
                  breakdown: list[tuple[str, U8]], width: int = 1920,
                  finish: Callable[[Path], None] | None = None) -> Path:  # fmt: skip
    """Before and after side by side, the shot over time, and the layers of one frame."""
    pad, label_h = 16, 30
    big_w = (width - 3 * pad) // 2
    thumbs = max(1, len(frames))
    cols = min(6, thumbs)
    thumb_w = (width - (cols + 1) * pad) // cols
    lay_cols = max(1, len(breakdown))
    lay_w = (width - (lay_cols + 1) * pad) // lay_cols
    aspect = before.shape[0] / before.shape[1]
    big_h, thumb_h, lay_h = round(big_w * aspect), round(thumb_w * aspect), round(lay_w * aspect)
    rows = -(-len(frames[1:]) // cols) if len(frames) > 1 else 0
    height = (
        90
        + big_h
        + label_h
        + pad
        + rows * (thumb_h + label_h + pad)
        + (lay_h + label_h + 2 * pad)
        + pad
    )
    sheet = Image.new("RGB", (width, height), (24, 24, 26))
    draw = ImageDraw.Draw(sheet)
    draw_text(draw, (pad, 14), fit_text(title, 30, width - 2 * pad, bold=True), 30, bold=True,
              fill=(240, 240, 240))  # fmt: skip
    draw_text(draw, (pad, 54), fit_text(facts, 18, width - 2 * pad), 18, fill=(170, 170, 175))
    y = 90
    after_frame, after = frames[0] if frames else (0, before)
    for i, (label, img) in enumerate(
        (("BEFORE  (the plate)", before), (f"AFTER  (frame {after_frame})", after))
    ):
        x = pad + i * (big_w + pad)
        sheet.paste(_fit(img, big_w), (x, y))
        draw.text((x, y + big_h + 4), label, fill=(255, 214, 10), font=font(20, bold=True))
    y += big_h + label_h + pad
    for k, (frame, img) in enumerate(frames[1:]):
        x = pad + (k % cols) * (thumb_w + pad)
        yy = y + (k // cols) * (thumb_h + label_h + pad)
        sheet.paste(_fit(img, thumb_w), (x, yy))
        draw.text((x, yy + thumb_h + 4), f"{frame}", fill=(220, 220, 220), font=font(18))
    y += rows * (thumb_h + label_h + pad) + pad
    for k, (label, img) in enumerate(breakdown):
        x = pad + k * (lay_w + pad)
        sheet.paste(_fit(img, lay_w), (x, y))
        draw.text((x, y + lay_h + 4), label, fill=(170, 200, 255), font=font(16))
    return write_png(path, np.asarray(sheet), finish)


def pick_frames(first: int, count: int, start: int, shown: int = 13) -> list[int]:
    """The frames the sheet shows: the big 'after' (late in the fall), then a spread over the shot."""
    last = first + count - 1
    after = min(last, start + round(0.6 * (last - start)))
    spread = np.linspace(first, last, min(shown - 1, count)).round().astype(int).tolist()
    return [after, *dict.fromkeys(spread)]


def facts_line(recipe: Any, size: tuple[int, int], wall_s: float | None = None) -> str:
    bits = [f"{recipe.mode} collapse", f"{size[0]}x{size[1]}", f"{recipe.frames} frames at {recipe.fps:g} fps",
            f"frames {recipe.first_frame}-{recipe.last_frame}", f"seed {recipe.seed}",
            "preview" if recipe.preview else "final"]  # fmt: skip
    if wall_s is not None:
        bits.append(f"rendered in {wall_s:.0f} s")
    return "  ·  ".join(bits)
