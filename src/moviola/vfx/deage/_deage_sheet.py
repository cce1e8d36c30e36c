"""The de-aging contact sheet: faces before and after, with what was measured on each."""

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
Box = tuple[int, int, int, int]


def _face_tile(img: U8, box: Box, side: int) -> Image.Image:
    """The face, framed from forehead to chin with a little room, as a square tile."""
    left, top, right, bottom = box
    s = right - left
    cx, cy = (left + right) / 2, (top + bottom) / 2
    half = 0.8 * s
    x0, y0 = int(max(0, cx - half)), int(max(0, cy - half))
    x1, y1 = int(min(img.shape[1], cx + half)), int(min(img.shape[0], cy + half))
    return Image.fromarray(np.ascontiguousarray(img[y0:y1, x0:x1])).resize((side, side), Image.Resampling.LANCZOS)


def deage_sheet(path: Path, settings: Any, report: dict[str, Any], kept: dict[int, tuple[U8, U8, Box]],
                width: int = 1600, finish: Callable[[Path], None] | None = None) -> Path:  # fmt: skip
    """Before/after pairs of the sampled frames, four pairs a row, each with its measurements."""
    pad, label_h, head_h = 16, 44, 96
    per_row = 4 if len(kept) > 2 else max(1, len(kept))
    pair_w = (width - (per_row + 1) * pad) // per_row
    side = (pair_w - 4) // 2
    first = min(kept) if kept else None
    grid = sorted(kept) if len(kept) > 1 else []  # one sample is the large pair alone
    rows = -(-len(grid) // per_row)
    hero_h = 0
    if first is not None:
        hero_side = (width - 3 * pad) // 2
        hero_h = hero_side + label_h
    height = head_h + hero_h + rows * (side + label_h + pad) + pad
    sheet = Image.new("RGB", (width, height), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    consent = report.get("consent", {})
    headline = (f"{report['name']}: {settings.years:g} years younger   ·   consent: "
                f"{consent.get('performer', '?')}, until {consent.get('expires', '?')}")  # fmt: skip
    draw_text(draw, (pad, 14), fit_text(headline, 26, width - 2 * pad, bold=True), 26, bold=True,
              fill=(240, 240, 240))  # fmt: skip

    def fmt(v: Any, spec: str = ".1f") -> str:
        return "–" if v is None else format(v, spec)

    facts = (f"{report['frames']} frame(s), {report['resolution'][0]}x{report['resolution'][1]}, "
             f"rendered at {fmt(report['fps'])} frames/s   ·   identity distance {fmt(report['identity_distance'], '.3f')} "
             f"(same person < 0.6)   ·   apparent age {fmt(report['age_before'])} → {fmt(report['age_after'])}   ·   "
             f"flicker {fmt(report['flicker_before'], '.2f')} → {fmt(report['flicker_after'], '.2f')}")  # fmt: skip
    draw_text(draw, (pad, 54), fit_text(facts, 18, width - 2 * pad), 18, fill=(190, 190, 190))
    y = head_h
    if first is not None:
        before, after, box = kept[first]
        hero_side = (width - 3 * pad) // 2
        for i, (img, label) in enumerate(((before, "before"), (after, "after"))):
            sheet.paste(_face_tile(img, box, hero_side), (pad + i * (hero_side + pad), y))
            s0 = {s["frame"]: s for s in report.get("samples", [])}.get(1001 + first, {})
            what = (f" · apparent age {fmt(s0.get('age_before' if i == 0 else 'age_after'), '.0f')}"
                    + (f" · identity distance {fmt(s0.get('identity_distance'), '.3f')}" if i else ""))  # fmt: skip
            draw.text((pad + i * (hero_side + pad) + 8, y + hero_side + 8), f"{label} · frame {1001 + first}{what}",
                      fill=(230, 230, 230), font=font(20, bold=True))  # fmt: skip
        y += hero_h
    samples = {s["frame"]: s for s in report.get("samples", [])}
    for n, index in enumerate(grid):
        before, after, box = kept[index]
        col, row = n % per_row, n // per_row
        x = pad + col * (pair_w + pad)
        yy = y + row * (side + label_h + pad)
        sheet.paste(_face_tile(before, box, side), (x, yy))
        sheet.paste(_face_tile(after, box, side), (x + side + 4, yy))
        s = samples.get(1001 + index, {})
        draw.text((x, yy + side + 4), f"frame {1001 + index}", fill=(230, 230, 230), font=font(16, bold=True))
        draw.text((x, yy + side + 22), f"age {fmt(s.get('age_before'), '.0f')} → {fmt(s.get('age_after'), '.0f')}"
                  f" · id {fmt(s.get('identity_distance'), '.3f')}", fill=(180, 180, 180), font=font(15))  # fmt: skip
    return write_png(path, sheet, finish)
