"""Words on pictures (boards, slates, contact sheets): fonts that hold the glyphs, and
text that always fits.

User text reaches pictures from title pages, headings and action lines, in any script
and of any length. Three rules keep every picture drawable:

- **One line is one line.** :func:`one_line` folds newlines, tabs and control
  characters into spaces before a single-line draw (Pillow refuses to measure
  multi-line text, and a title page's values are often several lines).
- **It fits or it is elided.** :func:`fit_text` shortens to the width with "…";
  :func:`wrap_text` wraps (breaking a word longer than the line, as CJK text has no
  spaces) and elides the last allowed line.
- **Every glyph has a font.** DejaVu Sans first (Latin, Greek, Cyrillic, Arabic,
  Hebrew...), then the Noto Sans family for each other script and WenQuanYi Micro Hei
  for Chinese, Japanese and Korean, where Debian put them (``fonts-noto-core``,
  ``fonts-wqy-microhei``). :func:`font_runs` splits text into runs by the first font
  that holds each character; drawing and measuring go run by run. The PDF sheets use
  the same chain through their own adapter.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol, TypeVar

from PIL import ImageDraw, ImageFont

from ._textio import CONTROL_CHARS as _CONTROL
from ._textio import one_line

ELLIPSIS = "…"
_FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/share/fonts/truetype/noto",
    "/usr/share/fonts/truetype/wqy",
)
# Scripts most likely in a screenplay first; the rest of the Noto Sans files follow.
_NOTO_FIRST = ("NotoSans", "NotoSansArabic", "NotoSansHebrew", "NotoSansDevanagari",
               "NotoSansThai", "NotoSansBengali", "NotoSansTamil", "NotoSansGeorgian",
               "NotoSansArmenian", "NotoSansEthiopic", "NotoSansSymbols", "NotoSansSymbols2",
               "NotoSansMath")  # fmt: skip

AnyFont = ImageFont.FreeTypeFont | ImageFont.ImageFont
_Measure = Callable[[str], float]  # width of a string in some font system


class Coverage(Protocol):
    """Anything that says whether it can draw a character (a font file, a PDF font)."""

    def covers(self, ch: str) -> bool: ...


C = TypeVar("C", bound=Coverage)


@dataclass(frozen=True)
class FontFile:
    """A TrueType font on disk and the characters it holds (its cmap, read on demand)."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.stem

    def covers(self, ch: str) -> bool:
        return ord(ch) in _cmap(self.path)


@cache
def _cmap(path: Path) -> frozenset[int]:
    from fontTools.ttLib import TTFont  # only when a font's coverage is first asked

    with TTFont(str(path), lazy=True, fontNumber=0) as tt:
        table = tt.getBestCmap() or {}
    return frozenset(table)


def _find(name: str) -> Path | None:
    for folder in _FONT_DIRS:
        path = Path(folder) / name
        if path.is_file():
            return path
    return None


@cache
def font_files(bold: bool = False) -> tuple[FontFile, ...]:
    """The fallback chain: DejaVu Sans, the Noto Sans scripts, WenQuanYi Micro Hei (CJK).

    Empty where none is installed (then Pillow's built-in font draws what it can).
    """
    chain: list[Path] = []
    first = _find("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    if first:
        chain.append(first)
    noto = [Path(d) for d in _FONT_DIRS if "noto" in d and Path(d).is_dir()]
    stems: dict[str, Path] = {}
    for folder in noto:
        for p in sorted(folder.glob("NotoSans*-Regular.ttf")):
            family = p.name.removesuffix("-Regular.ttf")
            if "Mono" in family or "Display" in family:
                continue
            heavy = p.with_name(f"{family}-Bold.ttf")
            stems.setdefault(family, heavy if bold and heavy.is_file() else p)
    chain += [stems[f] for f in _NOTO_FIRST if f in stems]
    # Chinese, Japanese and Korean (with their punctuation) before the rarer scripts, so
    # "。" comes from the same face as the characters around it.
    cjk = _find("wqy-microhei.ttc")
    if cjk:
        chain.append(cjk)
    chain += [stems[f] for f in sorted(set(stems) - set(_NOTO_FIRST))]
    return tuple(FontFile(p) for p in chain)


def _joins(ch: str) -> bool:
    """Characters that go with the run they are in (spaces, combining marks, joiners)."""
    return ch.isspace() or unicodedata.category(ch) in ("Mn", "Me", "Mc", "Cf")


def font_runs(text: str, files: Sequence[C]) -> list[tuple[str, C | None]]:
    """``text`` cut into runs, each with the first font in ``files`` that holds its characters.

    A character no font holds goes with the first font (it shows as a box, never a
    crash); with no font files at all, one run with ``None``.
    """
    if not files:
        return [(text, None)] if text else []
    runs: list[tuple[str, C | None]] = []
    current: C | None = None
    buf: list[str] = []
    for ch in text:
        if _joins(ch) and buf:
            buf.append(ch)
            continue
        face = next((f for f in files if f.covers(ch)), files[0])
        if face is not current and buf:
            runs.append(("".join(buf), current))
            buf = []
        current = face
        buf.append(ch)
    if buf:
        runs.append(("".join(buf), current))
    return runs


@cache
def _pil_font(path: Path | None, size: int) -> AnyFont:
    if path is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(str(path), size)


def font(size: int, bold: bool = False) -> AnyFont:
    """The primary face (DejaVu Sans where Debian put it; Pillow's scalable default otherwise)."""
    files = font_files(bold)
    return _pil_font(files[0].path if files else None, max(1, size))


def _runs(text: str, size: int, bold: bool) -> list[tuple[str, AnyFont]]:
    return [(run, _pil_font(f.path if f else None, max(1, size)))
            for run, f in font_runs(one_line(text), font_files(bold))]  # fmt: skip


def text_width(text: str, size: int, bold: bool = False) -> float:
    """Width in pixels of ``text`` drawn on one line with the fallback chain."""
    return sum(face.getlength(run) for run, face in _runs(text, size, bold))


def draw_text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    size: int,
    *,
    bold: bool = False,
    fill: tuple[int, ...] = (255, 255, 255),
    anchor: str = "la",
    **style: object,
) -> float:
    """Draw ``text`` on one line, each run in a font that holds it; returns its width.

    ``anchor`` is Pillow's two-letter anchor (horizontal l/m/r, then vertical); extra
    keyword arguments (``stroke_width``, ``stroke_fill``) go to every run.
    """
    runs = _runs(text, size, bold)
    widths = [face.getlength(run) for run, face in runs]
    total = sum(widths)
    x, y = xy
    h = anchor[0] if anchor else "l"
    v = anchor[1] if len(anchor) > 1 else "a"
    x -= {"m": total / 2, "r": total}.get(h, 0.0)
    for (run, face), w in zip(runs, widths, strict=True):
        draw.text((x, y), run, font=face, fill=fill, anchor="l" + v, **style)  # type: ignore[arg-type]
        x += w
    return total


def fit_text(text: str, size: int, width: float, *, bold: bool = False) -> str:
    """``text`` on one line, no wider than ``width``: shortened (at a word when one ends
    near) and ended with "…" if it must be."""
    text = one_line(text)
    if text_width(text, size, bold) <= width:
        return text
    return clip_text(text, width, lambda s: text_width(s, size, bold))


def clip_text(text: str, width: float, measure: _Measure) -> str:
    """``text`` shortened until it and "…" fit ``width`` by ``measure`` (any font system)."""
    text = text.rstrip()
    while text and measure(text + ELLIPSIS) > width:
        cut = text.rfind(" ")
        shorter = text[:cut] if cut > len(text) * 0.7 else text[:-1]
        text = shorter.rstrip(" ,;:.–-")
    return text + ELLIPSIS


def wrap_text(text: str, size: int, width: float, max_lines: int, *, bold: bool = False) -> list[str]:
    """``text`` wrapped to ``width`` on at most ``max_lines`` lines (the last elided)."""
    return wrap_lines(text, width, max_lines, lambda s: text_width(s, size, bold))


def wrap_lines(text: str, width: float, max_lines: int, measure: _Measure) -> list[str]:
    """Wrap by ``measure``: the text's own line breaks kept, blank lines dropped, a word
    longer than a line cut by characters; past ``max_lines`` the last line ends in "…"."""
    if max_lines <= 0:
        return []
    lines: list[str] = []
    for paragraph in _CONTROL.sub("\n", text).splitlines():
        lines += _wrap_paragraph(paragraph.split(), width, measure)
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    kept[-1] = clip_text(kept[-1] + " " + lines[max_lines], width, measure)
    return kept


def _wrap_paragraph(words: Iterable[str], width: float, measure: _Measure) -> list[str]:
    out: list[str] = []
    line = ""
    for word in words:
        trial = f"{line} {word}" if line else word
        if measure(trial) <= width:
            line = trial
            continue
        if line:
            out.append(line)
        line = word
        while measure(line) > width and len(line) > 1:  # one word wider than the line
            n = 1
            while n < len(line) - 1 and measure(line[: n + 1]) <= width:
                n += 1
            out.append(line[:n])
            line = line[n:]
    if line:
        out.append(line)
    return out
