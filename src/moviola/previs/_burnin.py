"""Animatic burn-in and slate: the type an editor expects on a previs movie.

Bars above and below the (letterboxed) picture carry scene, shot, lens and the
record timecode; the line being spoken shows as a subtitle. The per-cut parts
are drawn once per cut; only the timecode changes per frame, pasted from a
pre-rendered glyph strip so a 20,000-frame movie does not pay for 20,000 text
layouts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from ..core._fonts import draw_text, fit_text, font, text_width, wrap_text
from ..core._yuv import U8, planes, rgb_to_yuv_planes

BAR_RGB = (10, 10, 12)
TC_START_S = 3600  # record timecode of the movie's first frame: 01:00:00:00


def timecode(frame: int, fps: float, start_s: int = TC_START_S) -> str:
    """SMPTE non-drop timecode of ``frame`` (0-based) at the nominal integer rate."""
    rate = round(fps)
    total = frame + start_s * rate
    ff = total % rate
    s = total // rate
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}:{ff:02d}"


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    image_w: int
    image_h: int

    @property
    def top(self) -> int:
        return (self.height - self.image_h) // 2

    @property
    def bar(self) -> int:
        return max(self.top, round(self.height * 0.09))


def layout(width: int, height: int, aspect: float) -> Layout:
    image_h = min(height, round(width / aspect / 2) * 2)
    image_w = width if image_h < height else round(height * aspect / 2) * 2
    return Layout(width, height, image_w, image_h)


@cache
def _glyphs(size: int) -> tuple[dict[str, NDArray[np.uint8]], int]:
    """White-on-bar images of the timecode characters, all one width (monospace)."""
    face = font(size, True)
    probe = Image.new("L", (10, 10))
    d = ImageDraw.Draw(probe)
    w = max(round(d.textlength(ch, font=face)) for ch in "0123456789:")
    h = round(size * 1.25)
    out: dict[str, NDArray[np.uint8]] = {}
    for ch in "0123456789:":
        img = Image.new("RGB", (w, h), BAR_RGB)
        ImageDraw.Draw(img).text((w / 2, h / 2), ch, font=face, fill=(255, 214, 10), anchor="mm")
        out[ch] = np.asarray(img)
    return out, w


def cut_bars(lay: Layout, scene: str, shot: str, detail: str, title: str
             ) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:  # fmt: skip
    """Top and bottom bar images for one cut (timecode and subtitle drawn later)."""
    k = lay.height / 720
    top = Image.new("RGB", (lay.width, lay.bar), BAR_RGB)
    d = ImageDraw.Draw(top)
    pad = round(22 * k)
    big, small = round(30 * k), round(20 * k)
    scene_s = fit_text(f"SC {scene}", big, lay.width * 0.2, bold=True)
    x = pad + draw_text(d, (pad, lay.bar / 2), scene_s, big, bold=True, fill=(255, 255, 255),
                        anchor="lm") + 24 * k  # fmt: skip
    shot_s = fit_text(shot, big, lay.width * 0.15, bold=True)
    x += draw_text(d, (x, lay.bar / 2), shot_s, big, bold=True, fill=(255, 214, 10), anchor="lm") + 24 * k
    title_s = fit_text(title, small, lay.width * 0.25)
    room = lay.width - pad - text_width(title_s, small) - 24 * k - x
    draw_text(d, (x, lay.bar / 2), fit_text(detail, small, min(lay.width * 0.5, room)), small,
              fill=(200, 200, 205), anchor="lm")  # fmt: skip
    draw_text(d, (lay.width - pad, lay.bar / 2), title_s, small, fill=(150, 150, 158), anchor="rm")
    bottom = Image.new("RGB", (lay.width, lay.bar), BAR_RGB)
    return np.asarray(top).copy(), np.asarray(bottom).copy()


def subtitle(bottom: NDArray[np.uint8], lay: Layout, text: str) -> NDArray[np.uint8]:
    """The bottom bar with the spoken line centred in it."""
    img = Image.fromarray(bottom)
    d = ImageDraw.Draw(img)
    k = lay.height / 720
    size = round(22 * k)
    lines = wrap_text(text, size, lay.width * 0.62, 2)
    y = lay.bar / 2 - (len(lines) - 1) * 13 * k
    for line in lines:
        draw_text(d, (lay.width / 2, y), line, size, fill=(240, 240, 240), anchor="mm")
        y += 26 * k
    return np.asarray(img).copy()


@cache
def _yuv_glyphs(height: int) -> tuple[dict[str, tuple[U8, U8, U8]], int, int]:
    """The timecode glyphs as YUV blocks (even sizes, so chroma lines up)."""
    size = round(24 * height / 720)
    rgb, w = _glyphs(size)
    gw = w + w % 2
    gh = next(iter(rgb.values())).shape[0]
    gh += gh % 2
    out: dict[str, tuple[U8, U8, U8]] = {}
    for ch, img in rgb.items():
        block = np.empty((gh, gw, 3), np.uint8)
        block[:] = BAR_RGB
        block[: img.shape[0], : img.shape[1]] = img
        out[ch] = rgb_to_yuv_planes(block)
    return out, gw, gh


def _timecode_positions(lay: Layout, gw: int, gh: int, label_len: int) -> tuple[int, int, int]:
    """Top row and the left/right starts of the burnt-in counters (even, for chroma)."""
    k = lay.height / 720
    y0 = lay.height - lay.bar + max(0, (lay.bar - gh) // 2)
    left = round(22 * k)
    right = lay.width - round(22 * k) - gw * label_len
    return y0 - y0 % 2, left - left % 2, right - right % 2


def paste_timecode(bar: U8, lay: Layout, text: str, frame_label: str) -> None:
    """The RGB twin of :func:`stamp_timecode`, drawing into a bottom bar image."""
    glyphs, w = _glyphs(round(24 * lay.height / 720))
    gw, gh = _yuv_glyphs(lay.height)[1:]
    y0, left, right = _timecode_positions(lay, gw, gh, len(frame_label))
    y = y0 - (lay.height - lay.bar)
    for x, chars in ((left, text), (right, frame_label)):
        for ch in chars:
            g = glyphs.get(ch)
            if g is not None:
                rows = min(g.shape[0], bar.shape[0] - y)
                bar[y : y + rows, x : x + w] = g[:rows]
            x += gw


def stamp_timecode(yuv: U8, lay: Layout, text: str, frame_label: str) -> None:
    """Paste the record timecode (left) and frame count (right) into a YUV frame's bottom bar."""
    glyphs, gw, gh = _yuv_glyphs(lay.height)
    y_plane, u_plane, v_plane = planes(yuv, lay.height)
    y0, left, right = _timecode_positions(lay, gw, gh, len(frame_label))
    if y0 + gh > lay.height:
        return  # a bar too thin for type
    for x, chars in ((left, text), (right, frame_label)):
        for ch in chars:
            g = glyphs.get(ch)
            if g is not None and x >= 0 and x + gw <= lay.width:
                y_plane[y0 : y0 + gh, x : x + gw] = g[0]
                u_plane[y0 // 2 : (y0 + gh) // 2, x // 2 : (x + gw) // 2] = g[1]
                v_plane[y0 // 2 : (y0 + gh) // 2, x // 2 : (x + gw) // 2] = g[2]
            x += gw


def slate(lay: Layout, lines: list[tuple[str, str]], title: str) -> NDArray[np.uint8]:
    """The head slate: title, then a table of facts (label, value)."""
    img = Image.new("RGB", (lay.width, lay.height), (18, 18, 22))
    d = ImageDraw.Draw(img)
    k = lay.height / 720
    # A title page's title may run to several lines: up to two are shown, the last elided.
    title_size = round(54 * k)
    title_lines = wrap_text(title, title_size, lay.width * 0.9, 2, bold=True) or [""]
    y = lay.height * 0.2 - (len(title_lines) - 1) * 30 * k
    for line in title_lines:
        draw_text(d, (lay.width / 2, y), line, title_size, bold=True, fill=(255, 255, 255), anchor="mm")
        y += 60 * k
    draw_text(d, (lay.width / 2, y - 8 * k), "PREVIS ANIMATIC", round(24 * k), fill=(255, 214, 10),
              anchor="mm")  # fmt: skip
    y = max(lay.height * 0.38, y + 40 * k)
    for label, value in lines:
        if y > lay.height - 30 * k:
            break  # a slate with more facts than room shows those that fit
        draw_text(d, (lay.width * 0.44, y), fit_text(label, round(22 * k), lay.width * 0.4),
                  round(22 * k), fill=(150, 150, 158), anchor="rm")  # fmt: skip
        draw_text(d, (lay.width * 0.46, y), fit_text(value, round(22 * k), lay.width * 0.5, bold=True),
                  round(22 * k), bold=True, fill=(235, 235, 235), anchor="lm")  # fmt: skip
        y += 36 * k
    return np.asarray(img).copy()
