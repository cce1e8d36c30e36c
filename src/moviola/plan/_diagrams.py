"""Top-down diagrams (SVG): a scene's floor plan with its cameras and the line.

Characters are coloured discs with a tick for where they face, the 180-degree
line is dashed, each camera is a wedge showing its horizontal field of view,
labelled with its shot id. Cameras far outside the set (establishing shots,
plates) are drawn at the edge with their distance. Highlighted shots (an
audit finding's) are red.
"""

from __future__ import annotations

import html
import math
from typing import Any

from ._audit import blocking_from_json
from ._geometry import unit
from ._model import Shot

PALETTE = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def floor_plan_svg(
    scene: dict[str, Any],
    shots: list[Shot],
    *,
    highlight: set[str] | None = None,
    title: str = "",
    beat: int = 0,
    size_px: int = 560,
) -> str:
    """The floor plan of ``scene`` during ``beat`` with ``shots``' cameras."""
    b = blocking_from_json(scene.get("blocking", {}))
    highlight = highlight or set()
    half_w, half_d = b.width / 2, b.depth / 2
    # The view: the set plus a margin, big enough for nearby cameras.
    reach = max(half_w, half_d) + 2.0
    for s in shots:
        d = math.hypot(s.camera.x, s.camera.y)
        if d < max(half_w, half_d) * 2.5 + 4:
            reach = max(reach, d + 1.0)
    scale = (size_px / 2 - 30) / reach

    def px(x: float, y: float) -> tuple[float, float]:
        return size_px / 2 + x * scale, size_px / 2 + 10 - y * scale

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size_px}" height="{size_px + 40}" '
        f'viewBox="0 0 {size_px} {size_px + 40}" font-family="Helvetica, Arial, sans-serif">',
        f'<rect width="{size_px}" height="{size_px + 40}" fill="#fbfaf7"/>',
    ]
    x0, y0 = px(-half_w, half_d)
    out.append(
        f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{b.width * scale:.1f}" height="{b.depth * scale:.1f}" '
        'fill="#eeeae0" stroke="#777" stroke-width="1.5"/>'
    )
    dx, dy = px(*b.door)
    out.append(f'<rect x="{dx - 8:.1f}" y="{dy - 3:.1f}" width="16" height="6" fill="#a0522d"/>')
    out.append(
        f'<text x="{dx:.1f}" y="{dy + 14:.1f}" font-size="9" text-anchor="middle" fill="#a0522d">door</text>'
    )
    line = b.line_at(beat)
    if line:
        (ax, ay), (bx, by) = line
        vx, vy = bx - ax, by - ay
        n = math.hypot(vx, vy) or 1.0
        ext = reach * 2
        p1 = px(ax - vx / n * ext, ay - vy / n * ext)
        p2 = px(bx + vx / n * ext, by + vy / n * ext)
        out.append(
            f'<line x1="{p1[0]:.1f}" y1="{p1[1]:.1f}" x2="{p2[0]:.1f}" y2="{p2[1]:.1f}" '
            'stroke="#c0392b" stroke-width="1.2" stroke-dasharray="6 4"/>'
        )
        lx, ly = px(bx + vx / n * 1.2, by + vy / n * 1.2)
        out.append(
            f'<text x="{lx:.1f}" y="{ly - 4:.1f}" font-size="10" fill="#c0392b">180° line</text>'
        )
    for i, (name, person) in enumerate(b.people.items()):
        m = person.at(beat)
        cx, cy = px(m.x, m.y)
        colour = PALETTE[i % len(PALETTE)]
        fx, fy = unit(m.facing)
        tx, ty = px(m.x + fx * 0.6, m.y + fy * 0.6)
        out.append(
            f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{tx:.1f}" y2="{ty:.1f}" stroke="{colour}" stroke-width="2.5"/>'
        )
        out.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="7" fill="{colour}" stroke="#fff" stroke-width="1.5"/>'
        )
        out.append(
            f'<text x="{cx + 9:.1f}" y="{cy - 8:.1f}" font-size="11" font-weight="bold" fill="{colour}">{html.escape(name.title())}</text>'
        )
    for s in shots:
        _camera(out, s, px, reach, s.id in highlight, size_px)
    heading = html.escape(title or f"Scene {scene.get('number', '')} — {scene.get('heading', '')}")
    out.append(f'<text x="12" y="{size_px + 24}" font-size="12" fill="#222">{heading}</text>')
    out.append(
        f'<text x="{size_px - 12}" y="{size_px + 24}" font-size="10" fill="#666" text-anchor="end">'
        f"set {b.width:g} × {b.depth:g} m ({b.kind})</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _camera(out: list[str], s: Shot, px: Any, reach: float, hot: bool, size_px: int) -> None:
    colour = "#d00" if hot else "#333"
    x, y = s.camera.x, s.camera.y
    far = math.hypot(x, y) > reach
    label = s.id
    if far:  # draw it at the edge, pointing the way it looks
        d = math.hypot(x, y)
        x, y = x / d * (reach - 0.8), y / d * (reach - 0.8)
        label = f"{s.id} ({d:.0f} m)"
    cx, cy = px(x, y)
    half = math.radians((s.camera.hfov or 40.0) / 2)
    length = 26.0
    pan = math.radians(s.camera.pan)
    pts = [(cx, cy)]
    for a in (pan - half, pan + half):
        pts.append((cx + math.cos(a) * length, cy - math.sin(a) * length))
    poly = " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)
    fill = "#ff000033" if hot else "#00000018"
    out.append(
        f'<polygon points="{poly}" fill="{fill}" stroke="{colour}" stroke-width="{1.8 if hot else 1}"/>'
    )
    out.append(f'<rect x="{cx - 4:.1f}" y="{cy - 4:.1f}" width="8" height="8" fill="{colour}"/>')
    if s.camera.end:
        ex, ey = px(s.camera.end.get("x", s.camera.x), s.camera.end.get("y", s.camera.y))
        if not far:
            out.append(
                f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{ex:.1f}" y2="{ey:.1f}" stroke="{colour}" stroke-width="1" marker-end="none" stroke-dasharray="2 2"/>'
            )
    out.append(
        f'<text x="{cx - 6:.1f}" y="{cy + 15:.1f}" font-size="{11 if hot else 9}" '
        f'font-weight="{"bold" if hot else "normal"}" fill="{colour}">{html.escape(label)}</text>'
    )
