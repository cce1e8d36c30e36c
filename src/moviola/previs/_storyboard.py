"""Storyboard panels: a rendered frame with the overlays a crew reads at a glance.

A panel is a 16:9 card (1920x1080 by default). A widescreen frame sits in it
letterboxed and the bars carry the type: shot id, size / angle / movement, lens
and duration above; the action or line the shot covers below. Movement is drawn
as arrows: the camera's in yellow (pan, truck, crane; push-in and pull-out as
corner arrows), each moving subject's in their mannequin colour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from ..core._fonts import draw_text, fit_text, text_width, wrap_text

CAMERA_ARROW = (255, 214, 10)


@dataclass(frozen=True)
class Arrow:
    """A movement arrow in frame pixels (of the rendered image, not the card)."""

    start: tuple[float, float]
    end: tuple[float, float]
    colour: tuple[int, int, int] = CAMERA_ARROW
    label: str = ""


@dataclass(frozen=True)
class PanelText:
    shot: str
    scene: str
    heading: str
    size: str
    angle: str
    movement: str
    lens_mm: float
    duration_s: float
    text: str = ""  # the action or dialogue under the panel
    key: str = ""  # START / END for a moving shot's key frames
    frames: tuple[int, int] | None = None
    push: str = ""  # "in" / "out": draw corner arrows for a push-in or pull-out
    notes: list[str] = field(default_factory=list)  # warnings shown on the panel

    @property
    def caption(self) -> str:
        return f"{self.size} · {self.angle} · {self.movement} · {self.lens_mm:g} mm · {self.duration_s:.1f} s"


def _arrow(draw: ImageDraw.ImageDraw, a: tuple[float, float], b: tuple[float, float],
           colour: tuple[int, int, int], width: int) -> None:  # fmt: skip
    """A bold arrow with a dark outline, readable on any shade of grey."""
    length = math.dist(a, b)
    if length < 4:
        return
    ux, uy = (b[0] - a[0]) / length, (b[1] - a[1]) / length
    head = min(length * 0.45, width * 4.5)
    base = (b[0] - ux * head, b[1] - uy * head)
    left = (base[0] - uy * head * 0.6, base[1] + ux * head * 0.6)
    right = (base[0] + uy * head * 0.6, base[1] - ux * head * 0.6)
    for colour_, grow in (((20, 20, 20), 4), (colour, 0)):
        draw.line([a, base], fill=colour_, width=width + grow)
        tip = (b[0] + ux * grow * 0.7, b[1] + uy * grow * 0.7)
        draw.polygon([tip, left, right], fill=colour_, outline=(20, 20, 20) if grow == 0 else None)


def _push_arrows(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], direction: str,
                 width: int) -> None:  # fmt: skip
    """Corner arrows: towards the centre for a push-in, out for a pull-out."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    inner = (x0 + w * 0.2, y0 + h * 0.2, x1 - w * 0.2, y1 - h * 0.2)
    outer = (x0 + w * 0.04, y0 + h * 0.06, x1 - w * 0.04, y1 - h * 0.06)
    corners = [((outer[0], outer[1]), (inner[0], inner[1])), ((outer[2], outer[1]), (inner[2], inner[1])),
               ((outer[0], outer[3]), (inner[0], inner[3])), ((outer[2], outer[3]), (inner[2], inner[3]))]  # fmt: skip
    draw.rectangle(inner, outline=CAMERA_ARROW, width=max(2, width // 3))
    for o, i in corners:
        a, b = (o, i) if direction == "in" else (i, o)
        _arrow(draw, a, b, CAMERA_ARROW, width)


def compose_panel(frame: NDArray[np.uint8], text: PanelText, arrows: list[Arrow],
                  size: tuple[int, int] = (1920, 1080)) -> Image.Image:  # fmt: skip
    """The storyboard card for one key frame."""
    cw, ch = size
    card = Image.new("RGB", size, (14, 14, 16))
    img = Image.fromarray(frame)
    scale = min(cw / img.width, ch / img.height)
    iw, ih = round(img.width * scale), round(img.height * scale)
    if (iw, ih) != img.size:
        img = img.resize((iw, ih), Image.Resampling.LANCZOS)
    ox, oy = (cw - iw) // 2, (ch - ih) // 2
    card.paste(img, (ox, oy))
    draw = ImageDraw.Draw(card, "RGBA")
    k = ch / 1080
    line_w = max(3, round(7 * k))
    for arrow in arrows:
        a = (ox + arrow.start[0] * scale, oy + arrow.start[1] * scale)
        b = (ox + arrow.end[0] * scale, oy + arrow.end[1] * scale)
        _arrow(draw, a, b, arrow.colour, line_w)
        if arrow.label:
            draw_text(draw, (b[0] + 10 * k, b[1] - 30 * k), fit_text(arrow.label, round(26 * k), cw / 3,
                      bold=True), round(26 * k), bold=True, fill=arrow.colour, stroke_width=3,
                      stroke_fill=(20, 20, 20))  # fmt: skip
    if text.push:
        _push_arrows(draw, (ox, oy, ox + iw, oy + ih), text.push, line_w)

    bar = max(oy, round(130 * k))
    translucent = oy < round(110 * k)  # full-frame 16:9: type sits on a dark band over the image
    band = (0, 0, 0, 150) if translucent else (14, 14, 16, 255)
    draw.rectangle((0, 0, cw, bar), fill=band)
    draw.rectangle((0, ch - bar, cw, ch), fill=band)
    pad = round(36 * k)
    big, mid, small = round(72 * k), round(34 * k), round(26 * k)
    shot = fit_text(text.shot, big, cw * 0.2, bold=True)
    draw_text(draw, (pad, bar / 2), shot, big, bold=True, fill=(255, 255, 255), anchor="lm")
    x = pad + text_width(shot, big, True) + round(30 * k)
    right = f"{text.lens_mm:g} mm   {text.duration_s:.1f} s"
    room = cw - pad - text_width(right, mid) - round(30 * k) - x
    draw_text(draw, (x, bar / 2 - 20 * k), fit_text(f"{text.size}  ·  {text.angle}  ·  {text.movement}",
              mid, room), mid, fill=(240, 240, 240), anchor="lm")  # fmt: skip
    heading = fit_text(f"SC {text.scene}   {text.heading}", small, min(cw * 0.55, room))
    draw_text(draw, (x, bar / 2 + 24 * k), heading, small, fill=(160, 160, 168), anchor="lm")
    draw_text(draw, (cw - pad, bar / 2 - 20 * k), right, mid, fill=(240, 240, 240), anchor="rm")
    if text.key or text.frames:
        sub = "   ".join(p for p in (text.key.upper(),
                        f"{text.frames[0]}-{text.frames[1]}" if text.frames else "") if p)  # fmt: skip
        draw_text(draw, (cw - pad, bar / 2 + 24 * k), sub, small, fill=CAMERA_ARROW if text.key else
                  (160, 160, 168), anchor="rm")  # fmt: skip
    body = round(30 * k)
    lines = wrap_text(text.text, body, cw - 2 * pad, 2 if bar >= 120 * k else 1)
    y = ch - bar / 2 - (len(lines) - 1) * 19 * k
    for line in lines:
        draw_text(draw, (pad, y), line, body, fill=(225, 225, 225), anchor="lm")
        y += 38 * k
    for i, note in enumerate(text.notes[:2]):
        draw_text(draw, (ox + pad, oy + pad + i * 40 * k), fit_text(f"⚠ {note}", round(28 * k),
                  cw - 2 * (ox + pad), bold=True), round(28 * k), bold=True, fill=(255, 90, 70),
                  stroke_width=3, stroke_fill=(20, 20, 20))  # fmt: skip
    return card
