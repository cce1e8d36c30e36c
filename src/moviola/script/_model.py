"""The screenplay model: a plain, I/O-free record of what a script says.

Every element keeps where it came from (line numbers and columns in the source
text), so later stages can point back at the exact words a decision rests on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from ..core._textio import one_line


class ElementType(StrEnum):
    """The kinds of element a screenplay is made of (Fountain 1.1's vocabulary)."""

    SCENE_HEADING = "scene_heading"
    ACTION = "action"
    CHARACTER = "character"
    PARENTHETICAL = "parenthetical"
    DIALOGUE = "dialogue"
    LYRICS = "lyrics"
    TRANSITION = "transition"
    CENTERED = "centered"
    PAGE_BREAK = "page_break"
    SECTION = "section"
    SYNOPSIS = "synopsis"
    NOTE = "note"
    BONEYARD = "boneyard"


#: Elements that are part of the printed screenplay (the rest are the writer's
#: apparatus: sections, synopses, notes and boneyard are never printed).
PRINTED_TYPES = frozenset(
    {
        ElementType.SCENE_HEADING,
        ElementType.ACTION,
        ElementType.CHARACTER,
        ElementType.PARENTHETICAL,
        ElementType.DIALOGUE,
        ElementType.LYRICS,
        ElementType.TRANSITION,
        ElementType.CENTERED,
    }
)


@dataclass(frozen=True, order=True)
class Span:
    """A place in the source text: 1-based ``line``, 0-based columns ``[start, end)``.

    ``end_line`` is set only when the span runs over several lines; ``end`` is
    then a column in ``end_line``.
    """

    line: int
    start: int
    end: int
    end_line: int | None = None

    def to_json(self) -> dict[str, int]:
        out = {"line": self.line, "start": self.start, "end": self.end}
        if self.end_line is not None and self.end_line != self.line:
            out["end_line"] = self.end_line
        return out

    @classmethod
    def from_json(cls, data: dict[str, int]) -> Span:
        return cls(int(data["line"]), int(data["start"]), int(data["end"]), data.get("end_line"))


@dataclass(frozen=True)
class SourceLine:
    """One physical line of an element: its text and where each character came from.

    ``cols`` is set only when the text has gaps (an inline note taken out); it
    then gives the source column of every character.
    """

    line: int
    column: int
    text: str
    cols: tuple[int, ...] | None = None

    def start_col(self, i: int) -> int:
        """Source column of the character at offset ``i`` (clamped to the line)."""
        if self.cols is None:
            return self.column + max(0, min(i, len(self.text)))
        if not self.cols:
            return self.column
        if i >= len(self.cols):
            return self.cols[-1] + 1
        return self.cols[max(0, i)]

    def end_col(self, i: int) -> int:
        """Source column just after the character at offset ``i - 1``."""
        if i <= 0:
            return self.start_col(0)
        return self.start_col(min(i, len(self.text)) - 1) + 1


@dataclass
class Note:
    """A writer's note (``[[...]]`` in Fountain), kept with its place."""

    text: str
    span: Span


@dataclass
class Element:
    """One element of the screenplay with its source lines.

    ``text`` is the element's own text as written (emphasis markers kept, notes
    and the forcing character removed); ``plain`` drops emphasis markup too.
    """

    type: ElementType
    lines: list[SourceLine]
    forced: bool = False
    #: Scene headings: the scene number written as ``#12A#``; characters: none.
    scene_number: str | None = None
    #: Character cues: the name without extensions; dialogue-block members carry
    #: the speaking character too, so a dialogue line knows who says it.
    character: str | None = None
    #: Character cues: extensions such as ``V.O.``, ``O.S.``, ``CONT'D``.
    extensions: tuple[str, ...] = ()
    #: Dual dialogue: 0 for none, 1 for the left (first) and 2 for the right block.
    dual: int = 0
    #: Sections: depth (number of ``#``).
    depth: int = 0
    notes: list[Note] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(sl.text for sl in self.lines)

    @property
    def plain(self) -> str:
        return strip_emphasis(self.text)

    @property
    def line(self) -> int:
        return self.lines[0].line if self.lines else 0

    @property
    def end_line(self) -> int:
        return self.lines[-1].line if self.lines else 0

    def span_of(self, start: int, end: int) -> Span:
        """Map offsets ``[start, end)`` in :attr:`text` to a source :class:`Span`."""
        offset = 0
        first: tuple[int, int] | None = None
        last: tuple[int, int] = (self.line, 0)
        for sl in self.lines:
            lo, hi = offset, offset + len(sl.text)
            if first is None and start <= hi:
                first = (sl.line, sl.start_col(start - lo))
            if end <= hi:
                last = (sl.line, sl.end_col(end - lo))
                break
            offset = hi + 1  # the joining newline
        else:
            tail = self.lines[-1]
            last = (tail.line, tail.end_col(len(tail.text)))
        if first is None:
            first = last
        return Span(first[0], first[1], last[1], last[0] if last[0] != first[0] else None)

    @property
    def span(self) -> Span:
        return self.span_of(0, len(self.text))


@dataclass(frozen=True)
class ParseWarning:
    """Something in the source we could not place with certainty, with its line."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class TitlePage:
    """Title-page fields in their written order (keys as written, values joined)."""

    fields: list[tuple[str, str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    def get(self, key: str) -> str | None:
        for k, v in self.fields:
            if k.lower() == key.lower():
                return v
        return None


@dataclass
class Screenplay:
    """A parsed screenplay: title page, elements in order, and warnings."""

    title_page: TitlePage
    elements: list[Element]
    warnings: list[ParseWarning]
    source_format: str
    line_count: int
    #: The text encoding the source was decoded with (``utf-8``, ``utf-16``, ``cp1252``...).
    encoding: str = "utf-8"

    @property
    def title(self) -> str | None:
        """The title on one line (a title page's title may span several)."""
        return " ".join(self.title_lines) or None

    @property
    def title_lines(self) -> list[str]:
        """The title as the title page sets it, line by line, emphasis removed."""
        title = self.title_page.get("Title") or ""
        return [one_line(strip_emphasis(line)) for line in title.splitlines() if one_line(line)]

    def of_type(self, kind: ElementType) -> list[Element]:
        return [e for e in self.elements if e.type is kind]


_EMPHASIS = (
    re.compile(r"(?<!\\)\*\*\*(?=\S)(.+?)(?<=\S)(?<!\\)\*\*\*"),
    re.compile(r"(?<!\\)\*\*(?=\S)(.+?)(?<=\S)(?<!\\)\*\*"),
    re.compile(r"(?<!\\)\*(?=\S)(.+?)(?<=\S)(?<!\\)\*"),
    re.compile(r"(?<![\\\w])_(?=\S)(.+?)(?<=\S)(?<!\\)_(?!\w)"),
)


def strip_emphasis(text: str) -> str:
    """Remove matched Fountain emphasis pairs (``***``, ``**``, ``*``, ``_``) and escapes.

    Unpaired markers are kept: a lone asterisk is text, not markup.
    """
    for pattern in _EMPHASIS:
        text = pattern.sub(r"\1", text)
    return text.replace("\\*", "*").replace("\\_", "_")
