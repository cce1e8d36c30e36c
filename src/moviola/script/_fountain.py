"""A Fountain 1.1 parser that keeps every line's place.

Why our own: the Fountain libraries on PyPI (jouvence, fountain, screenplain)
return element text without source positions and drop what they do not
understand, while a breakdown must point at exact spans and must not lose a
line. The rules follow https://fountain.io/syntax (1.1): title page, scene
headings (INT/EXT/EST/INT./EXT./INT/EXT/I/E and forced ``.``), scene numbers
``#12A#``, action (forced ``!``), character cues (forced ``@``, extensions,
dual dialogue ``^``), parentheticals, dialogue, lyrics ``~``, transitions
(``TO:`` and forced ``>``), centered ``>text<``, page breaks ``===``,
sections ``#``, synopses ``=``, notes ``[[ ]]``, boneyard ``/* */`` and
emphasis.

Where the spec is strict and writers are not (a scene heading with no blank
line after it), we take the writer's evident meaning and record a warning.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ._model import (
    Element,
    ElementType,
    Note,
    ParseWarning,
    Screenplay,
    SourceLine,
    Span,
    TitlePage,
)

_HEADING = re.compile(r"^(?:INT\.?/EXT|INT/EXT|I/E|INT|EXT|EST)[. ]", re.IGNORECASE)
_SCENE_NUMBER = re.compile(r"\s+#([A-Za-z0-9][A-Za-z0-9.\-]*)#\s*$")
_TITLE_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9 _\-]{0,40}):(.*)$")
_KNOWN_TITLE_KEYS = {
    "title",
    "credit",
    "author",
    "authors",
    "source",
    "draft date",
    "date",
    "contact",
    "copyright",
    "notes",
    "revision",
}
_PAGE_BREAK = re.compile(r"^\s*={3,}\s*$")
_CENTERED = re.compile(r"^(\s*>\s*)(.*?)(\s*<\s*)$")
_EXTENSION = re.compile(r"\(([^()]*)\)")


@dataclass
class _Line:
    """A source line after notes and boneyard are taken out."""

    number: int
    raw: str
    text: str
    cols: tuple[int, ...] | None
    blank: bool  # empty or whitespace-only in the source
    skip: bool  # non-blank in the source, but only notes/boneyard
    notes: list[Note] = field(default_factory=list)


@dataclass
class _Region:
    start: int
    end: int  # exclusive, offsets in the whole text
    inner_start: int
    inner_end: int


def parse_fountain(text: str) -> Screenplay:
    """Parse Fountain ``text`` into a :class:`Screenplay` (never raises on content)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.startswith("\ufeff"):
        text = text[1:]  # a byte-order mark, not text
    warnings: list[ParseWarning] = []
    line_starts = _line_starts(text)

    def loc(offset: int) -> tuple[int, int]:
        # 1-based line and 0-based column of a text offset.
        lo, hi = 0, len(line_starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if line_starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1, offset - line_starts[lo]

    # Masking: 1 marks characters that belong to a boneyard or a note, so the
    # parser sees the rest while every kept character keeps its column.
    mask = bytearray(len(text))
    boneyards = _find_regions(text, "/*", "*/", allow_blank_lines=True)
    apparatus: list[Element] = []
    for region in boneyards:
        if region.inner_end < 0:
            ln, _ = loc(region.start)
            warnings.append(ParseWarning(ln, "boneyard '/*' is never closed; kept as text"))
            continue
        mask[region.start : region.end] = b"\x01" * (region.end - region.start)
        apparatus.append(_apparatus_element(ElementType.BONEYARD, text, region, loc))

    # Notes are looked for outside boneyards only; brackets cannot match "\x00".
    visible = "".join("\x00" if m else ch for ch, m in zip(text, mask, strict=True))
    notes_by_line: dict[int, list[Note]] = {}
    for region in _find_regions(visible, "[[", "]]", allow_blank_lines=False):
        if region.inner_end < 0:
            ln, _ = loc(region.start)
            warnings.append(ParseWarning(ln, "note '[[' is never closed; kept as text"))
            continue
        mask[region.start : region.end] = b"\x01" * (region.end - region.start)
        l0, c0 = loc(region.inner_start)
        l1, c1 = loc(region.inner_end)
        inner = visible[region.inner_start : region.inner_end].replace("\x00", " ")
        note = Note(" ".join(inner.split()), Span(l0, c0, c1, l1 if l1 != l0 else None))
        notes_by_line.setdefault(loc(region.start)[0], []).append(note)

    lines: list[_Line] = []
    for idx, raw in enumerate(text.split("\n")):
        number = idx + 1
        offset = line_starts[idx]
        flags = mask[offset : offset + len(raw)]
        # A line inside a multi-line boneyard or note is apparatus, even when empty.
        inside = (not raw and 0 < offset < len(mask) and mask[offset - 1] and mask[offset]) or (
            bool(raw) and all(flags)
        )
        if any(flags):
            kept = _kept_chars(raw, flags)
            body = "".join(ch for _, ch in kept)
            cols: tuple[int, ...] | None = tuple(c for c, _ in kept)
        else:
            body, cols = raw, None
        blank = raw.strip() == "" and not inside
        skip = not blank and body.strip() == ""
        lines.append(_Line(number, raw, body, cols, blank, skip, notes_by_line.get(number, [])))

    parser = _Parser(lines, warnings)
    title_page = parser.title_page()
    parser.body()

    elements = parser.elements + apparatus
    elements.sort(key=lambda e: e.line)
    return Screenplay(
        title_page=title_page,
        elements=elements,
        warnings=sorted(warnings, key=lambda w: w.line),
        source_format="fountain",
        line_count=len(lines),
    )


def _kept_chars(raw: str, flags: bytes | bytearray) -> list[tuple[int, str]]:
    """The unmasked characters of a line with their columns.

    A note or boneyard between two letters stands for a word break ("a[[n]]b"
    reads "a b", mapped to the note's first column); elsewhere it simply goes
    ("Bob[[?]]'s" reads "Bob's").
    """
    kept: list[tuple[int, str]] = []
    gap_start: int | None = None
    for c, ch in enumerate(raw):
        if flags[c]:
            if gap_start is None:
                gap_start = c
            continue
        if gap_start is not None and kept and kept[-1][1].isalnum() and ch.isalnum():
            kept.append((gap_start, " "))
        gap_start = None
        kept.append((c, ch))
    return kept


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    return starts


def _find_regions(text: str, open_: str, close: str, *, allow_blank_lines: bool) -> list[_Region]:
    """Find ``open_ ... close`` regions; an unclosed one has ``inner_end == -1``."""
    regions: list[_Region] = []
    pos = 0
    while True:
        start = text.find(open_, pos)
        if start < 0:
            return regions
        end = text.find(close, start + len(open_))
        # A note ends at a truly blank line; a line of two spaces keeps it going.
        if end >= 0 and not allow_blank_lines and re.search(r"\n[ \t]?\n", text[start:end]):
            end = -1  # a note may not run over a blank line
        if end < 0:
            regions.append(_Region(start, start + len(open_), start + len(open_), -1))
            pos = start + len(open_)
            continue
        regions.append(_Region(start, end + len(close), start + len(open_), end))
        pos = end + len(close)


def _apparatus_element(
    kind: ElementType,
    text: str,
    region: _Region,
    loc: Callable[[int], tuple[int, int]],
) -> Element:
    """An element for a boneyard region, one :class:`SourceLine` per source line."""
    body = text[region.inner_start : region.inner_end]
    first_line, first_col = loc(region.inner_start)
    source: list[SourceLine] = []
    for i, part in enumerate(body.split("\n")):
        number = first_line + i
        column = first_col if i == 0 else 0
        source.append(SourceLine(number, column, part))
    return Element(kind, source)


class _Parser:
    """The line-by-line state machine over prepared lines."""

    def __init__(self, lines: list[_Line], warnings: list[ParseWarning]) -> None:
        self.lines = lines
        self.warnings = warnings
        self.elements: list[Element] = []
        self.i = 0
        self._last_dialogue_cue: Element | None = None

    # -- title page -------------------------------------------------------

    def title_page(self) -> TitlePage:
        page = TitlePage()
        first = self._next_content(0)
        if first is None:
            return page
        start = self.lines[first]
        m = _TITLE_KEY.match(start.text.strip())
        # A document opens with a title page only if its first line is a known key; blank
        # lines, notes and boneyard before it do not count (a script note often comes first).
        if m is None or m.group(1).strip().lower() not in _KNOWN_TITLE_KEYS:
            return page
        for ln in self.lines[:first]:
            if ln.skip:
                self._note_elements(ln)
        key: str | None = None
        values: list[str] = []
        i = first
        while i < len(self.lines) and not self.lines[i].blank:
            ln = self.lines[i]
            if ln.skip:
                self._note_elements(ln)
                i += 1
                continue
            m = _TITLE_KEY.match(ln.text.strip()) if not ln.text[:1].isspace() else None
            if m:
                if key is not None:
                    page.fields.append((key, "\n".join(values)))
                key, values = m.group(1).strip(), []
                if m.group(2).strip():
                    values.append(m.group(2).strip())
            else:
                if key is None:  # pragma: no cover - first line always matched
                    key = ""
                if not ln.text[:1].isspace():
                    self.warnings.append(
                        ParseWarning(
                            ln.number,
                            f"title page line without 'Key:'; kept with the '{key}' field",
                        )
                    )
                values.append(ln.text.strip())
            page.lines.append(ln.number)
            self._keep_notes(ln)
            i += 1
        if key is not None:
            page.fields.append((key, "\n".join(values)))
        self.i = i
        return page

    # -- body -------------------------------------------------------------

    def body(self) -> None:
        prev_blank = True
        in_dialogue = False
        current: Element | None = None  # the element the next line may extend
        while self.i < len(self.lines):
            ln = self.lines[self.i]
            if ln.skip:
                if current is not None:
                    current.notes.extend(ln.notes)
                elif ln.notes:
                    self._note_elements(ln)
                self.i += 1
                continue
            if ln.blank:
                if (
                    in_dialogue
                    and len(ln.raw) >= 2
                    and ln.raw.strip(" ") == ""
                    and (self._continues(self.i))
                ):
                    # Two spaces: a deliberate empty line inside dialogue.
                    if current is not None and current.type is ElementType.DIALOGUE:
                        current.lines.append(SourceLine(ln.number, 0, ""))
                    self.i += 1
                    continue
                prev_blank, in_dialogue, current = True, False, None
                self.i += 1
                continue
            next_blank = self._next_is_blank(self.i)
            current, in_dialogue = self._line(ln, prev_blank, next_blank, in_dialogue, current)
            prev_blank = False
            self.i += 1

    def _line(
        self,
        ln: _Line,
        prev_blank: bool,
        next_blank: bool,
        in_dialogue: bool,
        current: Element | None,
    ) -> tuple[Element | None, bool]:
        text = ln.text.rstrip()
        stripped = text.strip()
        lead = len(text) - len(text.lstrip())

        if _PAGE_BREAK.match(text):
            self._emit(ElementType.PAGE_BREAK, ln, lead, stripped)
            return None, False

        if in_dialogue and current is not None:
            return self._dialogue_line(ln, text, lead, current), True

        if stripped.startswith("#"):
            depth = len(stripped) - len(stripped.lstrip("#"))
            body_start = lead + depth
            body_start += len(text[body_start:]) - len(text[body_start:].lstrip())
            el = self._emit(ElementType.SECTION, ln, body_start, text[body_start:])
            el.depth = depth
            return None, False

        if stripped.startswith("=") and not stripped.startswith("=="):
            return self._emit_stripped(ElementType.SYNOPSIS, ln, text, lead + 1), False

        centered = _CENTERED.match(text)
        if centered and centered.group(2):
            start = len(centered.group(1))
            self._emit(ElementType.CENTERED, ln, start, centered.group(2))
            return None, False

        if stripped.startswith(">"):
            return self._emit_stripped(ElementType.TRANSITION, ln, text, lead + 1, True), False

        if stripped.startswith("~"):
            self._emit_stripped(ElementType.LYRICS, ln, text, lead + 1, True)
            return None, False

        if stripped.startswith("!"):
            return self._action(ln, text, lead + 1, current, forced=True), False

        if stripped.startswith(".") and stripped[1:2].isalnum() and prev_blank:
            return self._heading(ln, text, lead + 1, forced=True), False

        if stripped.startswith("@") and not next_blank:
            return self._cue(ln, text, lead + 1, forced=True), True

        if prev_blank and _HEADING.match(stripped):
            if next_blank:
                return self._heading(ln, text, lead, forced=False), False
            if _is_upper(stripped) and re.search(r"\s[-–—]{1,2}\s", stripped):
                self.warnings.append(
                    ParseWarning(ln.number, "scene heading without a blank line after it")
                )
                return self._heading(ln, text, lead, forced=False), False

        if prev_blank and next_blank and _is_upper(stripped) and stripped.endswith("TO:"):
            return self._emit_stripped(ElementType.TRANSITION, ln, text, lead), False

        if prev_blank and not next_blank and _is_cue(stripped):
            return self._cue(ln, text, lead, forced=False), True

        return self._action(ln, text, 0, current, forced=False), False

    # -- element builders ---------------------------------------------------

    def _emit(self, kind: ElementType, ln: _Line, start: int, body: str) -> Element:
        el = Element(kind, [self._source(ln, start, body)])
        el.notes.extend(ln.notes)
        self.elements.append(el)
        return el

    def _emit_stripped(
        self, kind: ElementType, ln: _Line, text: str, start: int, forced: bool = False
    ) -> Element:
        rest = text[start:]
        start += len(rest) - len(rest.lstrip())
        el = self._emit(kind, ln, start, text[start:].rstrip())
        el.forced = forced
        return el

    def _source(self, ln: _Line, start: int, body: str) -> SourceLine:
        # ``body`` is always ``ln.text[start:start + len(body)]``.
        if ln.cols is None:
            return SourceLine(ln.number, start, body)
        cols = ln.cols[start : start + len(body)]
        if cols:
            column = cols[0]
        elif start < len(ln.cols):
            column = ln.cols[start]
        else:
            column = ln.cols[-1] + 1 if ln.cols else start
        return SourceLine(ln.number, column, body, tuple(cols))

    def _heading(self, ln: _Line, text: str, start: int, *, forced: bool) -> Element:
        body = text[start:].rstrip()
        lead = len(body) - len(body.lstrip())
        start += lead
        body = body.strip()
        number: str | None = None
        m = _SCENE_NUMBER.search(body)
        if m:
            number = m.group(1)
            body = body[: m.start()].rstrip()
        el = self._emit(ElementType.SCENE_HEADING, ln, start, body)
        el.forced, el.scene_number = forced, number
        return el

    def _cue(self, ln: _Line, text: str, start: int, *, forced: bool) -> Element:
        body = text[start:].strip()
        start = text.index(body[0], start) if body else start
        dual = body.endswith("^")
        if dual:
            body = body[:-1].rstrip()
        name_part = body.split("(", 1)[0].strip()
        extensions = tuple(e.strip() for e in _EXTENSION.findall(body) if e.strip())
        before = self.elements[-1] if self.elements else None
        el = self._emit(ElementType.CHARACTER, ln, start, body)
        el.forced, el.character, el.extensions = forced, name_part, extensions
        if dual:
            el.dual = 2
            left = self._last_dialogue_cue
            if left is None or before is None or before.character != left.character:
                self.warnings.append(
                    ParseWarning(ln.number, "dual dialogue '^' with no dialogue before it")
                )
            else:
                left.dual = 1
                self._mark_block(left, 1)
        self._last_dialogue_cue = el
        return el

    def _mark_block(self, cue: Element, side: int) -> None:
        idx = self.elements.index(cue)
        for el in self.elements[idx:]:
            if el is not cue and (
                el.type is ElementType.CHARACTER or el.character != cue.character
            ):
                break
            el.dual = side

    def _dialogue_line(self, ln: _Line, text: str, lead: int, current: Element) -> Element:
        stripped = text.strip()
        cue = self._last_dialogue_cue
        who = cue.character if cue is not None else None
        side = cue.dual if cue is not None else 0
        if stripped.startswith("(") and stripped.endswith(")"):
            kind = ElementType.PARENTHETICAL
        elif stripped.startswith("~"):
            el = self._emit_stripped(ElementType.LYRICS, ln, text, lead + 1, True)
            el.character, el.dual = who, side
            return el
        else:
            kind = ElementType.DIALOGUE
        if kind is ElementType.DIALOGUE and current.type is ElementType.DIALOGUE:
            current.lines.append(self._source(ln, lead, stripped))
            current.notes.extend(ln.notes)
            return current
        el = self._emit(kind, ln, lead, stripped)
        el.character, el.dual = who, side
        return el

    def _action(
        self, ln: _Line, text: str, start: int, current: Element | None, *, forced: bool
    ) -> Element:
        body = text[start:].rstrip()  # indentation kept, as Fountain asks
        if current is not None and current.type is ElementType.ACTION:
            current.lines.append(self._source(ln, start, body))
            current.notes.extend(ln.notes)
            current.forced = current.forced or forced
            return current
        el = self._emit(ElementType.ACTION, ln, start, body)
        el.forced = forced
        return el

    def _note_elements(self, ln: _Line) -> None:
        for note in ln.notes:
            el = Element(ElementType.NOTE, [SourceLine(note.span.line, note.span.start, note.text)])
            el.notes.append(note)
            self.elements.append(el)
        ln.notes = []

    def _keep_notes(self, ln: _Line) -> None:
        if ln.notes:
            self._note_elements(ln)

    # -- look-ahead -----------------------------------------------------------

    def _next_content(self, i: int) -> int | None:
        while i < len(self.lines):
            if not self.lines[i].blank and not self.lines[i].skip:
                return i
            i += 1
        return None

    def _next_is_blank(self, i: int) -> bool:
        j = i + 1
        while j < len(self.lines) and self.lines[j].skip:
            j += 1
        return j >= len(self.lines) or self.lines[j].blank

    def _continues(self, i: int) -> bool:
        """A two-space line continues dialogue only if content follows it."""
        j = i + 1
        while j < len(self.lines) and self.lines[j].skip:
            j += 1
        return j < len(self.lines) and not self.lines[j].blank


def _is_upper(text: str) -> bool:
    return any(ch.isalpha() for ch in text) and text == text.upper()


def _is_cue(text: str) -> bool:
    body = text[:-1].rstrip() if text.endswith("^") else text
    name = body.split("(", 1)[0].strip()
    if not name or not any(ch.isalpha() for ch in name) or name != name.upper():
        return False
    if "(" in body and not body.rstrip().endswith(")"):
        return False
    return not name.endswith(("TO:", ":"))
