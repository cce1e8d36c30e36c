"""Storyboard contact sheets: panels in a grid with their action under each, as PDF.

The crew prints these and pins them on the wall, so the sheet is laid out like an
artist's: a header naming the film, the scene and the sheet number, a grid of
equal panel boxes, and under each panel its shot id, a one-line camera caption
and the action or dialogue it covers. Every page is laid out before any is
drawn, so each header can say "n / N". Images are downscaled to about 150 dpi
at their printed size and embedded as JPEG to keep the file small. The PDF is
built in memory and renamed into place, so a failed run never leaves half a
sheet under the final name.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from PIL import Image
from reportlab.lib.pagesizes import A4, landscape, letter
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

try:  # shaping needs uharfbuzz (a dependency); without it runs are drawn unshaped
    import uharfbuzz  # noqa: F401
    from reportlab.pdfbase.ttfonts import shapeStr as _SHAPE
except ImportError:  # pragma: no cover
    _SHAPE = None
from reportlab.pdfgen.canvas import Canvas

from ..core import DocumentError, InputError, MoviolaError, one_line
from ..core._fonts import FontFile, clip_text, font_files, font_runs, wrap_lines
from ..provenance import Ingredient, Stamp, write_signed

__all__ = ["Panel", "SheetScene", "write_contact_sheet"]

PAGE_SIZES: dict[str, tuple[float, float]] = {
    "A4": landscape(A4),
    "letter": landscape(letter),
}
DPI = 150  # enough for a pinned print read at arm's length, small enough to mail
JPEG_QUALITY = 85

# Geometry in points (1/72 in).
MARGIN = 30.0
HEADER_H = 46.0  # from the top margin to the rule under the header
FOOTER_H = 18.0  # from the bottom margin to the rule above the footer
GRID_GAP = 12.0  # between the header/footer rules and the grid
GUTTER = 16.0  # between columns
ROW_GAP = 16.0  # between rows
MIN_BOX_SHARE = 0.7  # of the column width a panel may give up for one more row

# Type.
FONT = "Helvetica"
BOLD = "Helvetica-Bold"
OBLIQUE = "Helvetica-Oblique"
SHOT_SIZE = 11.0
CAPTION_SIZE = 7.5
TEXT_SIZE = 8.5
TEXT_LEADING = 10.5
SHOT_LINE_H = 18.0  # image bottom to below the shot id's descenders
CAPTION_LINE_H = 11.0
MIN_TEXT_LINES = 3
MAX_TEXT_LINES = 7

INK = (0.10, 0.10, 0.10)
GREY = (0.38, 0.38, 0.38)
RULE = (0.70, 0.70, 0.70)
TAG_FILL = (0.88, 0.88, 0.88)



@dataclass(frozen=True)
class Panel:
    """One storyboard frame (a rendered PNG with its overlays) and what it covers."""

    image: Path
    shot: str
    caption: str
    text: str
    key: str = ""


@dataclass(frozen=True)
class SheetScene:
    """A scene's panels, in cut order."""

    number: str
    heading: str
    panels: Sequence[Panel]


@dataclass(frozen=True)
class _Grid:
    """Where panels go on every page: equal boxes, as many rows as fit."""

    columns: int
    rows: int
    col_w: float
    box_w: float
    box_h: float
    text_lines: int
    top: float  # y of the grid's top edge

    @property
    def cell_h(self) -> float:
        return self.box_h + SHOT_LINE_H + CAPTION_LINE_H + self.text_lines * TEXT_LEADING

    def origin(self, index: int) -> tuple[float, float]:
        """Top-left corner of panel ``index``'s image box on its page.

        Panels narrower than their columns keep the usual gutter and the block
        of them is centred on the page, rather than floating in wide columns.
        """
        row, col = divmod(index, self.columns)
        full = self.columns * self.col_w + (self.columns - 1) * GUTTER
        block = self.columns * self.box_w + (self.columns - 1) * GUTTER
        x = MARGIN + (full - block) / 2 + col * (self.box_w + GUTTER)
        return x, self.top - row * (self.cell_h + ROW_GAP)


@dataclass(frozen=True)
class _Page:
    scene: SheetScene
    first: int  # index of the page's first panel in the scene
    panels: Sequence[Panel]


def write_contact_sheet(
    path: Path,
    title: str,
    scenes: Sequence[SheetScene],
    *,
    columns: int = 3,
    page: str = "A4",
    subtitle: str = "",
    stamp: Stamp | None = None,
) -> int:
    """Write a landscape storyboard contact sheet to ``path``; return its page count.

    Each scene starts a new page and runs over as many as its panels need, the
    later ones headed "(cont.)". Raises :class:`InputError` naming a panel image
    that is missing or unreadable, and :class:`DocumentError` naming ``path`` if
    the PDF cannot be made or written; either way ``path`` is left as it was.
    """
    target = Path(path)
    if columns < 1:
        raise ValueError(f"columns must be at least 1, not {columns}")
    if page not in PAGE_SIZES:
        raise ValueError(f"page must be one of {', '.join(PAGE_SIZES)}, not {page!r}")
    width, height = PAGE_SIZES[page]
    sizes = {p.image: _image_size(p.image) for s in scenes for p in s.panels}
    grid = _grid(width, height, columns, _box_aspect(list(sizes.values())))
    pages = _paginate(scenes, grid.columns * grid.rows)
    try:
        data = _render(title, subtitle, pages, grid, (width, height))
    except MoviolaError:
        raise
    except Exception as exc:  # reportlab raises plain exceptions of many kinds
        raise DocumentError(f"cannot make the contact sheet PDF: {exc}", target) from exc
    try:
        write_signed(target, data, stamp, f"storyboard contact sheet: {one_line(title)}",
                     ingredients=tuple(Ingredient(p.image, "storyboard panel", "componentOf")
                                       for s in scenes for p in s.panels))  # fmt: skip
    except OSError as exc:
        raise DocumentError(
            f"cannot write the contact sheet: {exc.strerror or exc}", target
        ) from exc
    return len(pages)


def _image_size(image: Path) -> tuple[int, int]:
    """The pixel size of a panel image, read from its header; fails early and by name."""
    try:
        with Image.open(image) as im:
            return im.size
    except FileNotFoundError:
        raise InputError("storyboard panel image not found", image) from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InputError(f"cannot read storyboard panel image: {exc}", image) from exc


def _box_aspect(sizes: Sequence[tuple[int, int]]) -> float:
    """The panel box's aspect: the images' most common one, else 16:9.

    One box shape for the whole sheet keeps the grid even; a frame of another
    aspect is fitted inside it with black bars, as a monitor would show it.
    """
    aspects = [round(w / h, 2) for w, h in sizes if w > 0 and h > 0]
    if not aspects:
        return 16 / 9
    common = Counter(aspects).most_common(1)[0][0]
    return min(max(common, 1.0), 2.4)


def _grid(width: float, height: float, columns: int, aspect: float) -> _Grid:
    """The most rows whose panels keep most of the column width; spare height adds text lines.

    Panels a little narrower than their column (down to ``MIN_BOX_SHARE``) are
    worth an extra row: a sheet of four fair panels reads better than two big
    ones and a blank half page.
    """
    top = height - MARGIN - HEADER_H - GRID_GAP
    bottom = MARGIN + FOOTER_H + GRID_GAP
    avail_h = top - bottom
    col_w = (width - 2 * MARGIN - (columns - 1) * GUTTER) / columns
    under = SHOT_LINE_H + CAPTION_LINE_H + MIN_TEXT_LINES * TEXT_LEADING

    def box_height(rows: int) -> float:
        return min(col_w / aspect, (avail_h - (rows - 1) * ROW_GAP) / rows - under)

    rows = 1
    while box_height(rows + 1) * aspect >= MIN_BOX_SHARE * col_w:
        rows += 1
    box_h = box_height(rows)
    box_w = box_h * aspect
    spare = avail_h - rows * (box_h + under) - (rows - 1) * ROW_GAP
    extra = math.floor(spare / rows / TEXT_LEADING)
    lines = min(MAX_TEXT_LINES, MIN_TEXT_LINES + max(0, extra))
    return _Grid(columns, rows, col_w, box_w, box_h, lines, top)


def _paginate(scenes: Sequence[SheetScene], per_page: int) -> list[_Page]:
    """Each scene from a fresh page; a scene without panels still gets one, saying so."""
    pages: list[_Page] = []
    for scene in scenes:
        panels = list(scene.panels)
        if not panels:
            pages.append(_Page(scene, 0, []))
        for first in range(0, len(panels), per_page):
            pages.append(_Page(scene, first, panels[first : first + per_page]))
    if not pages:
        pages.append(_Page(SheetScene("", "", []), 0, []))
    return pages


def _render(
    title: str,
    subtitle: str,
    pages: Sequence[_Page],
    grid: _Grid,
    size: tuple[float, float],
) -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=size, pageCompression=1)
    canvas.setTitle(title)  # metadata is Unicode in PDF; only the page text needs WinAnsi
    canvas.setAuthor("Moviola")
    canvas.setCreator("Moviola")
    numbers = list(dict.fromkeys(p.scene.number for p in pages if p.scene.number))
    scenes = "scene" if len(numbers) == 1 else "scenes"
    canvas.setSubject(f"Storyboard contact sheet, {scenes} {', '.join(numbers)}")
    total = len(pages)
    for n, pg in enumerate(pages, start=1):
        _draw_header(canvas, size, title, pg, n, total)
        _draw_footer(canvas, size, subtitle)
        if not pg.panels:
            canvas.setFont(OBLIQUE, 10)
            canvas.setFillColorRGB(*GREY)
            canvas.drawString(MARGIN, grid.top - 14, "No storyboard panels for this scene.")
        for i, panel in enumerate(pg.panels):
            x, y = grid.origin(i)
            _draw_panel(canvas, panel, x, y, grid)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_header(
    canvas: Any, size: tuple[float, float], title: str, pg: _Page, n: int, total: int
) -> None:
    width, height = size
    right = width - MARGIN
    top = height - MARGIN
    sheet = f"Sheet {n} / {total}"
    canvas.setFillColorRGB(*GREY)
    canvas.setFont(BOLD, 8.5)
    canvas.drawRightString(right, top - 9, sheet)
    title_w = right - MARGIN - _width(sheet, BOLD, 8.5) - 24
    _draw(canvas, MARGIN, top - 9, _fit(title.upper(), BOLD, 8.5, title_w), BOLD, 8.5)

    baseline = top - 32
    canvas.setFillColorRGB(*INK)
    x = MARGIN
    if pg.scene.number:
        label = _fit(f"SCENE {pg.scene.number}", BOLD, 16, (right - MARGIN) * 0.3)
        x += _draw(canvas, x, baseline, label, BOLD, 16) + 14
    cont = " (cont.)" if pg.first > 0 else ""
    cont_w = _width(cont, OBLIQUE, 11)
    shown = _shown(pg)
    shown_w = _width(shown, FONT, 8.5)
    heading = _fit(pg.scene.heading.upper(), FONT, 13, right - x - cont_w - shown_w - 24)
    x += _draw(canvas, x, baseline, heading, FONT, 13)
    if cont:
        canvas.setFont(OBLIQUE, 11)
        canvas.setFillColorRGB(*GREY)
        canvas.drawString(x, baseline, cont)
    canvas.setFont(FONT, 8.5)
    canvas.setFillColorRGB(*GREY)
    canvas.drawRightString(right, baseline, shown)

    canvas.setStrokeColorRGB(*INK)
    canvas.setLineWidth(1.0)
    rule = height - MARGIN - HEADER_H
    canvas.line(MARGIN, rule, right, rule)


def _shown(pg: _Page) -> str:
    """Which of the scene's panels the page holds: "7–12 of 14 panels"."""
    count, last = len(pg.scene.panels), pg.first + len(pg.panels)
    if not pg.panels:
        return ""
    if len(pg.panels) == 1:
        return f"{last} of {count} panel{'s' if count > 1 else ''}"
    return f"{pg.first + 1}\u2013{last} of {count} panels"


def _draw_footer(canvas: Any, size: tuple[float, float], subtitle: str) -> None:
    width, _ = size
    right = width - MARGIN
    canvas.setStrokeColorRGB(*RULE)
    canvas.setLineWidth(0.5)
    rule = MARGIN + FOOTER_H
    canvas.line(MARGIN, rule, right, rule)
    canvas.setFont(FONT, 7.5)
    canvas.setFillColorRGB(*GREY)
    mark = "Moviola storyboard"
    canvas.drawRightString(right, MARGIN + 4, mark)
    avail = right - MARGIN - _width(mark, FONT, 7.5) - 24
    _draw(canvas, MARGIN, MARGIN + 4, _fit(subtitle, FONT, 7.5, avail), FONT, 7.5)


def _draw_panel(canvas: Any, panel: Panel, x: float, top: float, grid: _Grid) -> None:
    box_w, box_h = grid.box_w, grid.box_h
    bottom = top - box_h
    canvas.setFillColorRGB(0, 0, 0)
    canvas.rect(x, bottom, box_w, box_h, stroke=0, fill=1)
    reader, (w_pt, h_pt) = _panel_image(panel.image, box_w, box_h)
    canvas.drawImage(reader, x + (box_w - w_pt) / 2, bottom + (box_h - h_pt) / 2, w_pt, h_pt)
    canvas.setStrokeColorRGB(*INK)
    canvas.setLineWidth(0.6)
    canvas.rect(x, bottom, box_w, box_h, stroke=1, fill=0)

    # Shot id, bold, then the key-frame tag.
    y = bottom - 14.0
    shot = _fit(panel.shot, BOLD, SHOT_SIZE, box_w * 0.6)
    canvas.setFillColorRGB(*INK)
    _draw(canvas, x, y, shot, BOLD, SHOT_SIZE)
    if panel.key:
        tx = x + _width(shot, BOLD, SHOT_SIZE) + 6
        key = _fit(panel.key.upper(), BOLD, 6.5, x + box_w - tx - 8)
        tag_w = _width(key, BOLD, 6.5) + 8
        canvas.setFillColorRGB(*TAG_FILL)
        canvas.roundRect(tx, y - 2, tag_w, 10.5, 2, stroke=0, fill=1)
        canvas.setFillColorRGB(*GREY)
        _draw(canvas, tx + 4, y + 0.6, key, BOLD, 6.5)

    # The camera caption on one line.
    y = bottom - SHOT_LINE_H - CAPTION_LINE_H + 3
    canvas.setFillColorRGB(*GREY)
    _draw(canvas, x, y, _fit(panel.caption, FONT, CAPTION_SIZE, box_w), FONT, CAPTION_SIZE)

    # The action/dialogue, wrapped and clipped.
    canvas.setFillColorRGB(*INK)
    y = bottom - SHOT_LINE_H - CAPTION_LINE_H - TEXT_LEADING + 1.5
    for line in _wrap(panel.text, FONT, TEXT_SIZE, box_w, grid.text_lines):
        _draw(canvas, x, y, line, FONT, TEXT_SIZE)
        y -= TEXT_LEADING


def _panel_image(image: Path, box_w: float, box_h: float) -> tuple[Any, tuple[float, float]]:
    """The image fitted inside the box, downscaled to DPI there and encoded as JPEG (once per
    file version and box: the script's sheet and each scene's sheet show the same panels)."""
    try:
        stat = image.stat()
    except FileNotFoundError:
        raise InputError("storyboard panel image not found", image) from None
    except OSError as exc:
        raise InputError(f"cannot read storyboard panel image: {exc}", image) from exc
    data, size = _panel_jpeg(str(image), stat.st_mtime_ns, stat.st_size, box_w, box_h)
    return ImageReader(io.BytesIO(data)), size


@lru_cache(maxsize=512)
def _panel_jpeg(path: str, _mtime: int, _size: int, box_w: float, box_h: float
                ) -> tuple[bytes, tuple[float, float]]:  # fmt: skip
    image = Path(path)
    try:
        with Image.open(image) as im:
            im.load()
            scale = min(box_w / im.width, box_h / im.height)
            w_pt, h_pt = im.width * scale, im.height * scale
            px = (max(1, round(w_pt / 72 * DPI)), max(1, round(h_pt / 72 * DPI)))
            rgb = _flatten(im)
            if px[0] < rgb.width:
                rgb = rgb.resize(px, Image.Resampling.LANCZOS, reducing_gap=2.0)
    except FileNotFoundError:
        raise InputError("storyboard panel image not found", image) from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InputError(f"cannot read storyboard panel image: {exc}", image) from exc
    data = io.BytesIO()
    rgb.save(data, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return data.getvalue(), (w_pt, h_pt)


def _flatten(im: Image.Image) -> Image.Image:
    """RGB for JPEG; transparency over white, as it would print."""
    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        ground = Image.new("RGB", rgba.size, (255, 255, 255))
        ground.paste(rgba, mask=rgba.getchannel("A"))
        return ground
    return im if im.mode == "RGB" else im.convert("RGB")


@dataclass(frozen=True)
class _PdfFace:
    """A PDF font in the fallback chain: a standard one for what WinAnsi holds, then the
    TrueType files of :func:`moviola.core._fonts.font_files`, embedded when used."""

    name: str
    file: FontFile | None = None

    def covers(self, ch: str) -> bool:
        if self.file is not None:
            return self.file.covers(ch)
        try:
            ch.encode("cp1252")
        except UnicodeEncodeError:
            return False
        return True


@cache
def _chain(font: str) -> tuple[_PdfFace, ...]:
    return (_PdfFace(font), *(_PdfFace(f"Moviola-{f.name}", f) for f in font_files(font == BOLD)))


@cache
def _registered(face: _PdfFace) -> str:
    if face.file is not None:
        pdfmetrics.registerFont(TTFont(face.name, str(face.file.path), subfontIndex=0))
    return face.name


def _runs(text: str, font: str) -> list[tuple[str, str]]:
    return [(run, _registered(f or _chain(font)[0])) for run, f in font_runs(one_line(text), _chain(font))]


def _shaped(run: str, name: str, size: float) -> tuple[str, float]:
    """A run as drawn and its width: TrueType runs are shaped by HarfBuzz (uharfbuzz), so
    Devanagari conjuncts form and Arabic joins and reads right to left; the standard
    fonts need no shaping."""
    if name.startswith("Moviola-") and _SHAPE is not None:
        shaped = _SHAPE(run, name, size)
        glyphs = getattr(shaped, "__shapeData__", None)  # plain text when nothing needed shaping
        if glyphs is not None:
            return shaped, sum(g.x_advance for g in glyphs) * size / 1000
    return run, pdfmetrics.stringWidth(run, name, size)


def _pieces(text: str, font: str) -> list[tuple[str, str]]:
    """Runs with the spaces around each one apart, so a right-to-left run's spaces stay
    where they were typed and do not turn to its other side when shaped."""
    out: list[tuple[str, str]] = []
    for run, name in _runs(text, font):
        core = run.strip()
        lead, tail = run[: len(run) - len(run.lstrip())], run[len(run.rstrip()) :]
        out += [(piece, name) for piece in (lead, core, tail) if piece]
    return out


def _width(text: str, font: str, size: float) -> float:
    """Width in points of ``text`` on one line, each run in a font that holds it."""
    return float(sum(_shaped(run, name, size)[1] for run, name in _pieces(text, font)))


def _draw(canvas: Any, x: float, y: float, text: str, font: str, size: float) -> float:
    """Draw ``text`` on one line from ``(x, y)``, run by run; returns its width."""
    start = x
    for run, name in _pieces(text, font):
        drawn, width = _shaped(run, name, size)
        canvas.setFont(name, size)
        canvas.drawString(x, y, drawn)
        x += width
    return x - start


def _fit(text: str, font: str, size: float, width: float) -> str:
    """One line of ``text`` no wider than ``width``, clipped with an ellipsis."""
    text = one_line(text)
    if _width(text, font, size) <= width:
        return text
    return clip_text(text, width, lambda t: _width(t, font, size))


def _wrap(text: str, font: str, size: float, width: float, max_lines: int) -> list[str]:
    """``text`` wrapped to ``width``; if it needs more than ``max_lines``, the last ends in "…".

    Line breaks in the text (action, then dialogue) are kept; blank lines are not,
    as the space under a panel is short.
    """
    return wrap_lines(text, width, max_lines, lambda t: _width(t, font, size))
