"""Pagination on the standard US screenplay page, and scene length in eighths.

The page: US Letter, 12-pt Courier (10 characters an inch, 6 lines an inch),
1 in top and bottom margins, so 54-55 lines of text; we use 55, the figure the
trade quotes. Element widths are the customary ones (Final Draft's defaults):
action and headings 60 characters, dialogue 35, parentheticals 25, character
cues 38. A scene heading is never left alone at the foot of a page, and
Fountain's ``===`` forces a new page. A scene's length is the number of
printed lines it occupies, counted in eighths of a page (55 / 8 lines each,
rounded, never less than 1/8) as a first AD's breakdown does.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from ._model import Element, ElementType, Screenplay

LINES_PER_PAGE = 55
SECONDS_PER_PAGE = 60.0  # one page, one minute: the rule of thumb every schedule uses

_WIDTH = {
    ElementType.SCENE_HEADING: 60,
    ElementType.ACTION: 60,
    ElementType.CHARACTER: 38,
    ElementType.DIALOGUE: 35,
    ElementType.PARENTHETICAL: 25,
    ElementType.LYRICS: 35,
    ElementType.TRANSITION: 20,
    ElementType.CENTERED: 60,
}
# Blank lines printed before an element.
_SPACE_BEFORE = {
    ElementType.SCENE_HEADING: 2,
    ElementType.ACTION: 1,
    ElementType.CHARACTER: 1,
    ElementType.TRANSITION: 1,
    ElementType.CENTERED: 1,
    ElementType.LYRICS: 0,
    ElementType.DIALOGUE: 0,
    ElementType.PARENTHETICAL: 0,
}


@dataclass(frozen=True)
class Placement:
    """Where a printed element lands: its page and first line, and its height."""

    page: int
    line: int
    height: int


@dataclass(frozen=True)
class Pagination:
    """The printed layout of a screenplay."""

    placements: dict[int, Placement]  # id(element) -> placement
    pages: int

    def of(self, element: Element) -> Placement | None:
        return self.placements.get(id(element))


def wrapped_height(element: Element) -> int:
    """Printed lines an element takes at its customary width (without spacing)."""
    width = _WIDTH.get(element.type, 60)
    height = 0
    for line in element.plain.split("\n"):
        height += max(1, len(textwrap.wrap(line, width, break_long_words=True)) if line else 1)
    return height


def paginate(screenplay: Screenplay) -> Pagination:
    """Lay the printed elements out on pages."""
    placements: dict[int, Placement] = {}
    page, line = 1, 0
    printed = [
        e for e in screenplay.elements if e.type in _WIDTH or e.type is ElementType.PAGE_BREAK
    ]
    for i, el in enumerate(printed):
        if el.type is ElementType.PAGE_BREAK:
            if line > 0:
                page, line = page + 1, 0
            continue
        height = wrapped_height(el)
        space = _SPACE_BEFORE.get(el.type, 1) if line > 0 else 0
        keep = height
        if el.type is ElementType.SCENE_HEADING and i + 1 < len(printed):
            keep += 1 + min(2, wrapped_height(printed[i + 1]))  # no orphaned heading
        if line + space + keep > LINES_PER_PAGE and line > 0:
            page, line, space = page + 1, 0, 0
        line += space
        placements[id(el)] = Placement(page, line, height)
        line += height
        while line > LINES_PER_PAGE:  # an element longer than a page runs over
            page, line = page + 1, line - LINES_PER_PAGE
    pages = page if line > 0 or page == 1 else page - 1
    return Pagination(placements, max(1, pages))


def absolute_line(placement: Placement) -> int:
    return (placement.page - 1) * LINES_PER_PAGE + placement.line


def lines_to_eighths(lines: int) -> int:
    """Printed lines to eighths of a page (nearest, at least one)."""
    return max(1, round(lines * 8 / LINES_PER_PAGE))


def format_eighths(eighths: int) -> str:
    """``11`` → ``"1 3/8"``, ``4`` → ``"4/8"``, ``16`` → ``"2"``."""
    pages, rest = divmod(eighths, 8)
    if rest == 0:
        return str(pages)
    return f"{pages} {rest}/8" if pages else f"{rest}/8"


def eighths_to_seconds(eighths: int) -> float:
    return eighths / 8 * SECONDS_PER_PAGE
