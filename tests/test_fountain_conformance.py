"""Conformance tests of ``parse_fountain`` against the Fountain 1.1 syntax.

The rules are those of https://fountain.io/syntax (1.1), plus the project's
documented leniencies (a scene heading with no blank line after it is accepted
with a warning; an unclosed boneyard or note is kept as text with a warning).

Two kinds of tests live here:

* a corpus of tricky inputs under ``tests/data/fountain/tricky_*.fountain``,
  each paired with its expected elements in :data:`CASES` (element types in
  order and key fields), plus checks that run over every fixture (source
  positions, spans, no stray carriage returns);
* small inline examples, one spec rule at a time.

Expectations follow the spec, not the parser: a failing test here is a parser
bug to fix, not an expectation to update.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from moviola.script import (
    Element,
    ElementType,
    Screenplay,
    Span,
    parse_fountain,
    strip_emphasis,
)

T = ElementType
DATA = Path(__file__).parent / "data" / "fountain"


# -- helpers ------------------------------------------------------------------


def read_fixture(name: str) -> str:
    # Bytes, not read_text(): universal newlines would hide the CRLF fixture.
    return (DATA / name).read_bytes().decode("utf-8")


def source_lines(text: str) -> list[str]:
    """The source split the way Fountain counts lines (CRLF, CR or LF)."""
    return re.split(r"\r\n|\r|\n", text)


def parse(text: str) -> Screenplay:
    return parse_fountain(text)


def kinds(sp: Screenplay) -> list[ElementType]:
    return [e.type for e in sp.elements]


def words(s: str) -> str:
    return " ".join(s.split())


def only(sp: Screenplay, kind: ElementType) -> Element:
    found = sp.of_type(kind)
    assert len(found) == 1, f"expected one {kind}, got {[(e.type, e.text) for e in sp.elements]}"
    return found[0]


def element_on(sp: Screenplay, line: int) -> Element:
    found = [e for e in sp.elements if e.line == line]
    assert found, f"no element starts on line {line}: {[(e.line, e.type) for e in sp.elements]}"
    return found[0]


_APPARATUS = re.compile(r"\[\[.*?\]\]|/\*.*?\*/")


def without_apparatus(s: str) -> str:
    """A source slice with closed inline notes and boneyard taken out."""
    return _APPARATUS.sub("", s)


# -- the fixture corpus -----------------------------------------------------------


@dataclass(frozen=True)
class E:
    """One expected element: its type, optionally its exact text and line, and
    any other fields to compare (``words`` compares whitespace-normalised text,
    ``plain`` compares :attr:`Element.plain`, ``notes`` the notes' texts)."""

    type: ElementType
    text: str | None = None
    line: int | None = None
    fields: dict[str, Any] = field(default_factory=dict)


def e(kind: ElementType, text: str | None = None, line: int | None = None, **fields: Any) -> E:
    return E(kind, text, line, fields)


@dataclass(frozen=True)
class Case:
    elements: list[E]
    title: list[tuple[str, str]] = field(default_factory=list)
    #: Lines of the warnings expected, in order; None: not checked here.
    warnings: list[int] | None = field(default_factory=list)
    #: Elements starting on these lines are left to a dedicated test.
    skip_lines: frozenset[int] = frozenset()


CASES: dict[str, Case] = {
    # Windows line endings: no '\r' may leak into any text, lines count as LF.
    "tricky_crlf.fountain": Case(
        title=[("Title", "Night Shift"), ("Author", "Ana Ruiz")],
        elements=[
            e(T.SCENE_HEADING, "INT. DINER - NIGHT", 4),
            e(T.ACTION, "Rain on the glass.\nThe neon hums.", 6),
            e(T.CHARACTER, "MARGO (O.S.)", 9, character="MARGO", extensions=("O.S.",)),
            e(T.DIALOGUE, "Kitchen's closed!", 10, character="MARGO"),
            e(T.PARENTHETICAL, "(beat)", 11, character="MARGO"),
            e(T.DIALOGUE, "Go home.", 12, character="MARGO"),
            e(T.TRANSITION, "CUT TO:", 14),
            e(T.SCENE_HEADING, "EXT. PARKING LOT - NIGHT", 16),
        ],
    ),
    # Tabs: tab-indented title page values; action keeps its tabs.
    "tricky_tabs.fountain": Case(
        title=[("Title", "THE TAB\nSTOPS HERE"), ("Author", "Lee Park")],
        elements=[
            e(T.SCENE_HEADING, "EXT. FIELD - DAY", 6),
            e(T.ACTION, "\tThe wind bends the grass.\n\t\tFar off, a tractor.", 8),
            e(T.CHARACTER, "BOB", 11, character="BOB"),
            e(T.DIALOGUE, None, 12, words="Hello there.", character="BOB"),
        ],
    ),
    # Trailing spaces are not part of any element; whitespace-only lines are blank.
    "tricky_trailing_spaces.fountain": Case(
        elements=[
            e(T.SCENE_HEADING, "INT. GARAGE - NIGHT", 1),
            e(T.ACTION, "A bare bulb swings.", 3),
            e(T.CHARACTER, "JONES", 5, character="JONES"),
            e(T.PARENTHETICAL, "(whispering)", 6),
            e(T.DIALOGUE, "Did you hear that?", 7),
            e(T.TRANSITION, "SMASH CUT TO:", 9),
            e(T.SCENE_HEADING, "EXT. STREET - NIGHT", 11, scene_number="7"),
            e(T.ACTION, "Nothing moves.", 13),
        ],
    ),
    # Leniency: an all-caps heading with no blank line after is a heading, with a warning.
    "tricky_heading_no_blank_after.fountain": Case(
        elements=[
            e(T.SCENE_HEADING, "INT. WAREHOUSE - NIGHT", 1),
            e(T.ACTION, "Crates everywhere. A forklift idles.", 2),
            e(T.SCENE_HEADING, "EXT. DOCKS - CONTINUOUS", 4, scene_number="2"),
            e(T.ACTION, "Gulls scream.", 5),
        ],
        warnings=[1, 4],
    ),
    "tricky_unclosed_boneyard.fountain": Case(
        elements=[
            e(T.SCENE_HEADING, "EXT. ROOFTOP - DUSK", 1),
            e(T.ACTION, "Pigeons scatter. /* cut this?", 3),
            e(T.CHARACTER, "KIM", 5),
            e(T.DIALOGUE, "We're out of time.", 6),
        ],
        warnings=[3],
    ),
    # A note may not run over a blank line: '[[' then a blank line is unclosed.
    "tricky_unclosed_note.fountain": Case(
        elements=[
            e(T.SCENE_HEADING, "INT. OFFICE - DAY", 1),
            e(T.ACTION, "Paper everywhere. [[fix the props list", 3),
            e(T.CHARACTER, "ROSA", 5),
            e(T.DIALOGUE, "Where is it?", 6),
            e(T.ACTION, "Later, a draft note [[that runs", 8),
            e(T.ACTION, "into the next paragraph]] stays as text.", 10),
        ],
        warnings=[3, 8],
    ),
    "tricky_lone_asterisk.fountain": Case(
        elements=[
            e(T.SCENE_HEADING, "INT. CLASSROOM - DAY", 1),
            e(
                T.ACTION,
                "The board reads 5 * 3 = 15 and *everyone* groans.",
                3,
                plain="The board reads 5 * 3 = 15 and everyone groans.",
            ),
            e(T.CHARACTER, "TEACHER", 5),
            e(
                T.DIALOGUE,
                "It's a *lone* star: *\nOr two ** stars.",
                6,
                plain="It's a lone star: *\nOr two ** stars.",
            ),
        ],
    ),
    "tricky_note_two_lines.fountain": Case(
        elements=[
            e(T.SCENE_HEADING, "INT. LIBRARY - NIGHT", 1),
            e(
                T.ACTION,
                None,
                3,
                words="Dust hangs in the lamplight. Marta turns a page.",
                notes=["Check whether the lamp is practical."],
            ),
            e(T.NOTE, "Standalone note over two lines.", 6),
            e(T.CHARACTER, "MARTA", 9),
            e(T.DIALOGUE, "Found it.", 10),
        ],
    ),
    # A cue needs a non-blank line after it: at end of file it is action.
    "tricky_cue_at_eof.fountain": Case(
        elements=[
            e(T.SCENE_HEADING, "EXT. BEACH - DAWN", 1),
            e(T.ACTION, "Waves roll in.", 3),
            e(T.ACTION, "JONAH", 5),
        ],
    ),
    "tricky_int_in_sentence.fountain": Case(
        elements=[
            e(T.SCENE_HEADING, "EXT. STUDIO LOT - DAY", 1),
            e(T.ACTION, "The slate reads INT. KITCHEN - NIGHT but nobody is looking.", 3),
            e(T.ACTION, "Intercut between the two stages.", 5),
            e(T.ACTION, "INTERIOR DESIGNERS argue by the truck.", 7),
            e(T.ACTION, "INTERCUT WITH:", 9),
            e(T.ACTION, "EXTRA! EXTRA!", 11),
        ],
    ),
    # Scene heading prefixes are case-insensitive, with a dot or a space.
    "tricky_lowercase_headings.fountain": Case(
        elements=[
            e(T.SCENE_HEADING, "int. house - day", 1),
            e(T.ACTION, "Quiet.", 3),
            e(T.SCENE_HEADING, "ext. garden - night", 5, scene_number="4"),
            e(T.ACTION, "Crickets.", 7),
            e(T.SCENE_HEADING, "Est. old mill - dawn", 9),
            e(T.SCENE_HEADING, "i/e car - moving", 11),
            e(T.SCENE_HEADING, "Int./Ext. Van - Day", 13),
            e(T.SCENE_HEADING, "int/ext porch - dusk", 15),
            e(T.SCENE_HEADING, "INT HALLWAY - NIGHT", 17),
        ],
    ),
    # Heading look-alikes followed by a non-blank line are not headings; lines
    # 5-6 ("EST. 1920 ...") are checked by test_est_near_miss_all_caps_is_not_a_heading.
    "tricky_est_near_miss.fountain": Case(
        elements=[
            e(T.SCENE_HEADING, "EXT. MAIN STREET - DAY", 1),
            e(T.ACTION, "A faded sign over the door reads", 3),
            e(T.ACTION, "Est. 1920, the diner leans into the wind.\nA bell jingles.", 8),
            e(T.ACTION, "Ext. shots were cut for time,\nso we stay inside.", 11),
            e(T.ACTION, "ESTABLISHING SHOT over the rooftops.", 14),
            e(T.ACTION, "Inside, nothing has changed.", 16),
        ],
        warnings=None,
        skip_lines=frozenset({5, 6}),
    ),
    "tricky_unicode_names.fountain": Case(
        title=[("Title", "Canción del Ñandú"), ("Author", "José Núñez")],
        elements=[
            e(T.SCENE_HEADING, "EXT. PAMPA - DÍA", 4),
            e(T.ACTION, "Un ñandú corre entre los pastos.", 6),
            e(T.CHARACTER, "ÑANDÚ", 8, character="ÑANDÚ"),
            e(T.DIALOGUE, "¡Pío!", 9, character="ÑANDÚ"),
            e(T.CHARACTER, "ÉLODIE (V.O.)", 11, character="ÉLODIE", extensions=("V.O.",)),
            e(T.DIALOGUE, "Il court vite.", 12, character="ÉLODIE"),
            e(T.CHARACTER, "McCLANE", 14, character="McCLANE", forced=True),
            e(T.DIALOGUE, "Yippee-ki-yay.", 15, character="McCLANE"),
            e(T.ACTION, "Ñandú\nis not a cue because it is mixed case.", 17),
        ],
    ),
    # '^' with no dialogue block before it: a warning, and no left side invented.
    "tricky_dual_no_previous.fountain": Case(
        elements=[
            e(T.SCENE_HEADING, "INT. CAFE - DAY", 1),
            e(T.ACTION, "The espresso machine screams.", 3),
            e(T.CHARACTER, None, 5, character="BRICK"),
            e(T.DIALOGUE, "Coffee!", 6, character="BRICK"),
            e(T.CHARACTER, "STEEL", 8, character="STEEL", dual=0),
            e(T.DIALOGUE, "Tea.", 9, character="STEEL", dual=0),
        ],
        warnings=[5],
    ),
    "tricky_dual_dialogue.fountain": Case(
        elements=[
            e(T.SCENE_HEADING, "INT. GYM - NIGHT", 1),
            e(T.CHARACTER, "BRICK", 3, character="BRICK", dual=1),
            e(T.DIALOGUE, "Screw retirement.", 4, character="BRICK", dual=1),
            e(T.PARENTHETICAL, "(beat)", 5, character="BRICK", dual=1),
            e(T.DIALOGUE, "Seriously.", 6, character="BRICK", dual=1),
            e(T.CHARACTER, "STEEL", 8, character="STEEL", dual=2),
            e(T.PARENTHETICAL, "(shouting)", 9, character="STEEL", dual=2),
            e(T.DIALOGUE, "Screw retirement!", 10, character="STEEL", dual=2),
            e(T.CHARACTER, "BRICK", 12, character="BRICK", dual=0),
            e(T.DIALOGUE, "Fine.", 13, character="BRICK", dual=0),
        ],
    ),
    # Boneyard: a whole scene, an inline aside, and one running over two dialogue lines.
    "tricky_boneyard.fountain": Case(
        elements=[
            e(T.SCENE_HEADING, "INT. CAVE - NIGHT", 1),
            e(T.BONEYARD, None, 3, words="INT. DELETED SCENE - DAY GHOST Boo."),
            e(T.ACTION, None, 10, words="Torches flicker. Water drips."),
            e(T.BONEYARD, None, 10, words="SECRET on this line"),
            e(T.CHARACTER, "LENA", 12),
            e(T.DIALOGUE, None, 13, words="We go right."),
            e(T.BONEYARD, None, 13, words="left or"),
        ],
    ),
    "tricky_inline_notes.fountain": Case(
        elements=[
            e(T.SCENE_HEADING, "INT. HALL - DAY", 1, notes=["confirm location"]),
            e(T.ACTION, None, 3, words="A man enters.", notes=["tall"]),
            e(T.CHARACTER, "MAX", 5, character="MAX", notes=["cast?"]),
            e(T.DIALOGUE, None, 6, words="I'm here.", notes=["sic"]),
        ],
    ),
    "tricky_forced.fountain": Case(
        elements=[
            e(T.ACTION, "INT. NOT A HEADING - JUST LOUD ACTION", 1, forced=True),
            e(T.SCENE_HEADING, "FLASHBACK", 3, forced=True, scene_number="3"),
            e(T.ACTION, "...and then it went dark.", 5),
            e(T.ACTION, "BOOM\nCRASH", 7, forced=True),
            e(T.ACTION, "SCANNING THE AISLES...\nWhere is that pit boss?", 10, forced=True),
            e(T.CHARACTER, "McCLANE", 13, character="McCLANE", forced=True),
            e(T.DIALOGUE, "Come out to the coast.", 14, character="McCLANE"),
            e(T.TRANSITION, "SMASH TO BLACK.", 16, forced=True),
            e(T.CENTERED, "THE END", 18),
            e(T.CENTERED, "ALSO CENTERED", 20),
            e(T.LYRICS, "Willy Wonka! Willy Wonka!", 22),
        ],
    ),
    "tricky_title_page.fountain": Case(
        title=[
            ("Title", "_**BRICK & STEEL**_\n_**FULL RETIRED**_"),
            ("Credit", "Written by"),
            ("Author", "Stu Maschwitz"),
            ("Source", "Story by KTM"),
            ("Draft date", "1/20/2012"),
            ("Contact", "Next Level Productions\n1588 Mission Dr.\nSolvang, CA 93463"),
        ],
        elements=[
            e(T.SCENE_HEADING, "EXT. BRICK'S PATIO - DAY", 13),
            e(T.ACTION, "A gorgeous day.", 15),
        ],
    ),
    # "FADE IN:" looks like 'Key: value' but is no title page key.
    "tricky_no_title_page.fountain": Case(
        elements=[
            e(T.ACTION, "FADE IN:", 1),
            e(T.ACTION, "Title: The Wrong Place\nis just action here.", 3),
            e(T.SCENE_HEADING, "EXT. FIELD - DAY", 6),
        ],
    ),
    # Lines 11-12 ("DISSOLVE TO:" with text right after) are checked separately.
    "tricky_transitions.fountain": Case(
        elements=[
            e(T.SCENE_HEADING, "INT. LAB - NIGHT", 1),
            e(T.ACTION, "Sparks fly.", 3),
            e(T.TRANSITION, "CUT TO:", 5, forced=False),
            e(T.SCENE_HEADING, "EXT. LAB - NIGHT", 7),
            e(T.ACTION, "Cut to:", 9),
            e(T.TRANSITION, "FADE TO BLACK.", 14, forced=True),
            e(T.ACTION, "FADE OUT.", 16),
        ],
        skip_lines=frozenset({11, 12}),
    ),
    "tricky_numbers_only.fountain": Case(
        elements=[
            e(T.SCENE_HEADING, "EXT. ROAD - DAY", 1),
            e(T.ACTION, "1984\nWas a very good year.", 3),
            e(T.CHARACTER, "R2D2", 6, character="R2D2"),
            e(T.DIALOGUE, "Beep boop.", 7),
            e(T.ACTION, "23 (V.O.)\nTwenty-three.", 9),
            e(
                T.CHARACTER,
                "HANS (on the radio)",
                12,
                character="HANS",
                extensions=("on the radio",),
            ),
            e(T.DIALOGUE, "Come out.", 13, character="HANS"),
        ],
    ),
    "tricky_sections.fountain": Case(
        elements=[
            e(T.SECTION, "ACT I", 1, depth=1),
            e(T.SYNOPSIS, "Set up the characters and the story.", 3),
            e(T.SECTION, "Sequence 1", 5, depth=2),
            e(T.SECTION, "Scene beats", 7, depth=3),
            e(T.SYNOPSIS, "Brick meets Steel.", 8),
            e(T.SCENE_HEADING, "INT. GYM - DAY", 10),
            e(T.PAGE_BREAK, None, 12),
            e(T.SCENE_HEADING, "EXT. GYM - NIGHT", 14),
            e(T.PAGE_BREAK, None, 16),
        ],
    ),
    # A line of two spaces keeps dialogue going; one before a blank line does not.
    "tricky_two_space_dialogue.fountain": Case(
        elements=[
            e(T.SCENE_HEADING, "INT. CAR - NIGHT", 1),
            e(T.CHARACTER, "DEALER", 3),
            e(T.DIALOGUE, "Ten.\nTwenty.\n\nThirty.", 4, character="DEALER"),
            e(T.CHARACTER, "BUYER", 9),
            e(T.DIALOGUE, "Deal.", 10, character="BUYER"),
            e(T.ACTION, "They shake.", 13),
        ],
    ),
    "tricky_emphasis.fountain": Case(
        elements=[
            e(T.SCENE_HEADING, "INT. STUDIO - DAY", 1),
            e(
                T.ACTION,
                "*Italic* and **bold** and ***both*** and _underlined_ words.",
                3,
                plain="Italic and bold and both and underlined words.",
            ),
            e(
                T.ACTION,
                None,
                5,
                plain="From only INCHES AWAY. Steel's face FILLS the Leupold Mark 4 scope.",
            ),
            # Escaped asterisks are literal; emphasis never runs over a line break.
            e(T.ACTION, None, 7, plain="He pays *in cash* and says *nothing\nat all*."),
        ],
    ),
    "tricky_scene_numbers.fountain": Case(
        elements=[
            e(T.SCENE_HEADING, "INT. HOUSE - DAY", 1, scene_number="1"),
            e(T.SCENE_HEADING, "EXT. HOUSE - DAY", 3, scene_number="1A"),
            e(T.SCENE_HEADING, "INT. HOUSE - NIGHT - FLASHBACK", 5, scene_number="I-1-A"),
            e(T.SCENE_HEADING, "SNIPER SCOPE POV", 7, scene_number="110A", forced=True),
            e(T.SCENE_HEADING, "EXT. BRICK'S POOL - DAY", 9, scene_number="1."),
            e(T.SCENE_HEADING, "INT. ROOM 12 - DAY", 11, scene_number=None),
        ],
    ),
}

FIXTURES = sorted(p.name for p in DATA.glob("*.fountain"))


def test_corpus_is_complete() -> None:
    tricky = [n for n in FIXTURES if n.startswith("tricky_")]
    assert len(tricky) >= 15
    assert sorted(CASES) == FIXTURES, "every fixture needs expectations, and vice versa"


def test_crlf_fixture_really_has_crlf() -> None:
    # Guards against a checkout that normalised the line endings away.
    data = (DATA / "tricky_crlf.fountain").read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n") > 10


def _check_fields(el: Element, exp: E, where: str) -> None:
    assert el.type is exp.type, where
    if exp.text is not None:
        assert el.text == exp.text, where
    if exp.line is not None:
        assert el.line == exp.line, where
    for name, want in exp.fields.items():
        if name == "words":
            got: Any = words(el.text)
        elif name == "notes":
            got = [n.text for n in el.notes]
        else:
            got = getattr(el, name)
        assert got == want, f"{where}: {name}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixture_elements(name: str) -> None:
    case = CASES[name]
    sp = parse(read_fixture(name))
    got = [el for el in sp.elements if el.line not in case.skip_lines]
    assert [el.type for el in got] == [x.type for x in case.elements], [
        (el.line, el.type.value, el.text) for el in got
    ]
    for i, (el, exp) in enumerate(zip(got, case.elements, strict=True)):
        _check_fields(el, exp, f"{name} element {i} (line {el.line})")
    assert sp.title_page.fields == case.title
    if case.warnings is not None:
        assert [w.line for w in sp.warnings] == case.warnings, [str(w) for w in sp.warnings]
    assert sp.source_format == "fountain"


# -- positions over the whole corpus ------------------------------------------


def _single_line_note(el: Element) -> bool:
    return not (el.type is T.NOTE and any(n.span.end_line for n in el.notes))


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_source_lines_point_at_their_text(name: str) -> None:
    """Every SourceLine's (line, column[, cols]) gives back exactly its text."""
    text = read_fixture(name)
    src = source_lines(text)
    sp = parse(text)
    assert sp.line_count == len(src)
    for el in filter(_single_line_note, sp.elements):
        for sl in el.lines:
            assert 1 <= sl.line <= len(src)
            line = src[sl.line - 1]
            if sl.cols is None:
                assert line[sl.column : sl.column + len(sl.text)] == sl.text, (el, sl)
            else:
                assert len(sl.cols) == len(sl.text)
                assert list(sl.cols) == sorted(set(sl.cols))
                assert "".join(line[c] for c in sl.cols) == sl.text, (el, sl)
                if sl.cols:
                    assert sl.column == sl.cols[0]


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_spans_slice_back_to_the_text(name: str) -> None:
    """A single-line element's span, sliced from its source line, is its text
    (once inline notes and boneyard inside the span are taken out)."""
    text = read_fixture(name)
    src = source_lines(text)
    sp = parse(text)
    checked = 0
    for el in filter(_single_line_note, sp.elements):
        span = el.span
        assert span.line == el.line
        if len(el.lines) == 1:
            assert span.end_line is None
            assert without_apparatus(src[span.line - 1][span.start : span.end]) == el.text
            checked += 1
        elif el.lines[-1].text:  # an empty last line: see test_span_of_empty_last_line
            assert (span.end_line or span.line) == el.end_line
    assert checked > 0


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_span_of_every_word(name: str) -> None:
    """span_of() of each word of an element's text slices back to that word,
    on the right source line, for single- and multi-line elements alike."""
    text = read_fixture(name)
    src = source_lines(text)
    for el in filter(_single_line_note, parse(text).elements):
        offset = 0
        for sl in el.lines:
            for m in re.finditer(r"\S+", sl.text):
                span = el.span_of(offset + m.start(), offset + m.end())
                assert span.line == sl.line and span.end_line is None, (el, m.group())
                assert src[span.line - 1][span.start : span.end] == m.group(), (el, span)
            offset += len(sl.text) + 1


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_notes_spans(name: str) -> None:
    text = read_fixture(name)
    src = source_lines(text)
    for el in parse(text).elements:
        for note in el.notes:
            if note.span.end_line is None:
                assert src[note.span.line - 1][note.span.start : note.span.end] == note.text
                assert src[note.span.line - 1][note.span.start - 2 : note.span.start] == "[["
                assert src[note.span.line - 1][note.span.end : note.span.end + 2] == "]]"
            else:
                first = src[note.span.line - 1][note.span.start :]
                last = src[note.span.end_line - 1][: note.span.end]
                assert words(f"{first} {last}") == note.text


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_basic_invariants(name: str) -> None:
    sp = parse(read_fixture(name))
    lines = [el.line for el in sp.elements]
    assert lines == sorted(lines), "elements are in source order"
    for el in sp.elements:
        assert "\r" not in el.text
        assert "\x00" not in el.text
        assert el.lines, el
    for _, value in sp.title_page.fields:
        assert "\r" not in value


def test_crlf_parses_like_lf() -> None:
    crlf = read_fixture("tricky_crlf.fountain")
    a, b = parse(crlf), parse(crlf.replace("\r\n", "\n"))

    def shape(sp: Screenplay) -> list[Any]:
        return [(x.type, x.text, [(s.line, s.column) for s in x.lines]) for x in sp.elements]

    assert shape(a) == shape(b)
    assert a.title_page.fields == b.title_page.fields
    assert a.line_count == b.line_count


def test_old_mac_cr_line_endings() -> None:
    sp = parse("Action one.\rStill one.\r\rINT. HOUSE - DAY\r\rBOB\rHi.\r")
    assert kinds(sp) == [T.ACTION, T.SCENE_HEADING, T.CHARACTER, T.DIALOGUE]
    assert sp.elements[0].text == "Action one.\nStill one."
    assert sp.elements[1].line == 4


# -- dedicated checks for the skipped lines -----------------------------------------


def test_est_near_miss_all_caps_is_not_a_heading() -> None:
    """'EST. 1920 ...' with a non-blank line right after is not a scene heading:
    Fountain wants a blank line after a heading, and the project's leniency for
    a missing blank line is meant for real headings, not a sign's text."""
    sp = parse(read_fixture("tricky_est_near_miss.fountain"))
    el = element_on(sp, 5)
    assert el.type is not T.SCENE_HEADING, el
    assert el.text.startswith("EST. 1920 ...")
    assert not [w for w in sp.warnings if w.line == 5], [str(w) for w in sp.warnings]
    assert all(el.line != 6 for el in sp.of_type(T.SCENE_HEADING))


def test_est_near_miss_mixed_case() -> None:
    sp = parse("Hello.\n\nEst. 1920, the diner leans.\nA bell jingles.\n")
    assert kinds(sp) == [T.ACTION, T.ACTION]
    assert not sp.warnings


def test_transition_needs_blank_line_after() -> None:
    sp = parse(read_fixture("tricky_transitions.fountain"))
    el = element_on(sp, 11)
    assert el.type is not T.TRANSITION
    assert "Then more smoke." in "\n".join(x.text for x in sp.elements if x.line in (11, 12))


# -- title page --------------------------------------------------------------------


def test_title_page_keys_and_indented_values() -> None:
    sp = parse(read_fixture("tricky_title_page.fountain"))
    assert sp.title == "BRICK & STEEL FULL RETIRED"  # one line, for every place that prints it
    assert sp.title_lines == ["BRICK & STEEL", "FULL RETIRED"]  # as the title page sets it
    assert sp.title_page.get("draft DATE") == "1/20/2012"
    assert (
        sp.title_page.get("Contact")
        == "Next Level Productions\n1588 Mission Dr.\nSolvang, CA 93463"
    )
    assert sp.title_page.lines == list(range(1, 12))
    assert sp.title_page.get("Nope") is None


def test_title_page_ends_at_first_blank_line() -> None:
    sp = parse("Title: X\nAuthor: Y\n\nCredit: not a field\n")
    assert sp.title_page.fields == [("Title", "X"), ("Author", "Y")]
    assert kinds(sp) == [T.ACTION]
    assert sp.elements[0].text == "Credit: not a field"


def test_title_page_keeps_later_unknown_keys() -> None:
    sp = parse("Title: X\nEpisode: 3\n\nINT. A - DAY\n")
    assert sp.title_page.fields == [("Title", "X"), ("Episode", "3")]
    assert kinds(sp) == [T.SCENE_HEADING]


@pytest.mark.parametrize("first", ["Mood: grim", "FADE IN:", "Tittle: Typo", "INT. HOUSE - DAY"])
def test_no_title_page_without_a_known_first_key(first: str) -> None:
    sp = parse(f"{first}\n\nSomething happens.\n")
    assert sp.title_page.fields == []
    assert sp.title is None
    assert sp.elements[0].line == 1
    assert first.startswith(sp.elements[0].text)


@pytest.mark.parametrize(
    "key",
    ["Title", "title", "TITLE", "Credit", "Author", "Authors", "Source", "Draft date", "Contact"],
)
def test_known_keys_open_a_title_page(key: str) -> None:
    sp = parse(f"{key}: Value\n\nAction.\n")
    assert sp.title_page.fields == [(key, "Value")]
    assert kinds(sp) == [T.ACTION]


def test_title_page_tab_indented_value() -> None:
    sp = parse("Title:\n\tTHE TAB\n\tSTOPS HERE\n\nX.\n")
    assert sp.title_page.get("title") == "THE TAB\nSTOPS HERE"


# -- scene headings -------------------------------------------------------------


@pytest.mark.parametrize(
    "heading",
    [
        "INT. HOUSE - DAY",
        "EXT. HOUSE - DAY",
        "EST. HOUSE - DAY",
        "INT./EXT. CAR - DAY",
        "INT/EXT. CAR - DAY",
        "INT/EXT CAR - DAY",
        "I/E CAR - DAY",
        "INT HOUSE - DAY",
        "EXT HOUSE",
        "int. house - day",
        "Ext. House - Day",
        "i/e. car",
        "INT.HOUSE - DAY",
    ],
)
def test_scene_heading_prefixes(heading: str) -> None:
    sp = parse(f"Before.\n\n{heading}\n\nAfter.\n")
    assert kinds(sp) == [T.ACTION, T.SCENE_HEADING, T.ACTION]
    h = sp.elements[1]
    assert h.text == heading and h.line == 3 and not h.forced
    assert not sp.warnings


@pytest.mark.parametrize(
    "line",
    [
        "INTO THE WOODS",
        "INTERIOR - DAY",
        "EXTREME CLOSE UP",
        "ESTATE SALE",
        "I/EXIT",
        "The INT. sign",
    ],
)
def test_not_scene_headings(line: str) -> None:
    sp = parse(f"Before.\n\n{line}\n\nAfter.\n")
    assert T.SCENE_HEADING not in kinds(sp)
    assert line in [x.text for x in sp.elements]


def test_scene_heading_needs_blank_line_before() -> None:
    sp = parse("He opens the door.\nINT. HOUSE - DAY\n\nDark.\n")
    assert kinds(sp) == [T.ACTION, T.ACTION]
    assert sp.elements[0].text == "He opens the door.\nINT. HOUSE - DAY"


def test_lowercase_heading_without_blank_after_is_action() -> None:
    sp = parse("Before.\n\nint. maybe a heading\nbut this continues.\n")
    assert kinds(sp) == [T.ACTION, T.ACTION]
    assert not sp.warnings


def test_heading_without_blank_after_warns() -> None:
    sp = parse("INT. HOUSE - DAY\nA man sleeps.\n")
    assert kinds(sp) == [T.SCENE_HEADING, T.ACTION]
    assert [w.line for w in sp.warnings] == [1]
    assert "blank" in sp.warnings[0].message


def test_heading_at_end_of_file() -> None:
    sp = parse("Before.\n\nEXT. SEA - NIGHT")
    assert kinds(sp) == [T.ACTION, T.SCENE_HEADING]


@pytest.mark.parametrize(
    ("line", "text"),
    [
        (".FLASHBACK", "FLASHBACK"),
        (".INSIDE THE SPACESHIP", "INSIDE THE SPACESHIP"),
        (".5 MINUTES LATER", "5 MINUTES LATER"),
        (".kitchen", "kitchen"),
    ],
)
def test_forced_scene_heading(line: str, text: str) -> None:
    sp = parse(f"Before.\n\n{line}\n\nAfter.\n")
    assert kinds(sp) == [T.ACTION, T.SCENE_HEADING, T.ACTION]
    h = sp.elements[1]
    assert h.text == text and h.forced
    assert h.lines[0].column == 1


@pytest.mark.parametrize("line", ["...and then silence.", "..."])
def test_ellipsis_is_not_a_forced_heading(line: str) -> None:
    sp = parse(f"Before.\n\n{line}\n\nAfter.\n")
    assert kinds(sp) == [T.ACTION, T.ACTION, T.ACTION]
    assert sp.elements[1].text == line


def test_period_space_is_not_a_forced_heading() -> None:
    # Spec: "a period followed by an alphanumeric character" forces a heading.
    sp = parse("Before.\n\n. not a heading\n\nAfter.\n")
    assert T.SCENE_HEADING not in kinds(sp)


@pytest.mark.parametrize(
    ("line", "text", "number"),
    [
        ("INT. HOUSE - DAY #1#", "INT. HOUSE - DAY", "1"),
        ("INT. HOUSE - DAY #1A#", "INT. HOUSE - DAY", "1A"),
        ("INT. HOUSE - DAY #1a#", "INT. HOUSE - DAY", "1a"),
        ("INT. HOUSE - DAY #A1#", "INT. HOUSE - DAY", "A1"),
        ("INT. HOUSE - DAY #I-1-A#", "INT. HOUSE - DAY", "I-1-A"),
        ("INT. HOUSE - DAY #1.#", "INT. HOUSE - DAY", "1."),
        (
            "INT. HOUSE - DAY - FLASHBACK (1944) #110A#",
            "INT. HOUSE - DAY - FLASHBACK (1944)",
            "110A",
        ),
        (".SNIPER SCOPE POV #12A#", "SNIPER SCOPE POV", "12A"),
        ("INT. ROOM #12 - DAY", "INT. ROOM #12 - DAY", None),
    ],
)
def test_scene_numbers(line: str, text: str, number: str | None) -> None:
    sp = parse(f"Before.\n\n{line}\n\nAfter.\n")
    h = only(sp, T.SCENE_HEADING)
    assert (h.text, h.scene_number) == (text, number)


# -- action ------------------------------------------------------------------------------


def test_action_paragraphs() -> None:
    sp = parse("Before.\n\nOne line.\nTwo line.\nThree.\n\nAnother paragraph.\n")
    assert kinds(sp) == [T.ACTION, T.ACTION, T.ACTION]
    assert sp.elements[1].text == "One line.\nTwo line.\nThree."
    assert [sl.line for sl in sp.elements[1].lines] == [3, 4, 5]


def test_action_keeps_indentation() -> None:
    sp = parse("Before.\n\n    Indented four.\n\tTabbed.\n        Deeper.\n")
    act = sp.elements[1]
    assert act.text == "    Indented four.\n\tTabbed.\n        Deeper."
    assert [sl.column for sl in act.lines] == [0, 0, 0]


@pytest.mark.parametrize(
    ("line", "text"),
    [
        ("!INT. NOT A HEADING", "INT. NOT A HEADING"),
        ("!BOOM", "BOOM"),
        ("!CUT TO:", "CUT TO:"),
        ("!@NOT A CUE", "@NOT A CUE"),
    ],
)
def test_forced_action(line: str, text: str) -> None:
    sp = parse(f"Before.\n\n{line}\n\nAfter.\n")
    assert kinds(sp) == [T.ACTION, T.ACTION, T.ACTION]
    assert sp.elements[1].text == text
    assert sp.elements[1].forced
    assert sp.elements[1].lines[0].column == 1


def test_forced_action_all_caps_line_before_text_is_not_a_cue() -> None:
    sp = parse("Before.\n\n!SCANNING THE AISLES...\nWhere is that pit boss?\n")
    assert kinds(sp) == [T.ACTION, T.ACTION]
    assert sp.elements[1].text == "SCANNING THE AISLES...\nWhere is that pit boss?"


# -- characters and dialogue ---------------------------------------------------


@pytest.mark.parametrize(
    ("cue", "name", "extensions"),
    [
        ("STEEL", "STEEL", ()),
        ("STEEL (V.O.)", "STEEL", ("V.O.",)),
        ("STEEL (O.S.)", "STEEL", ("O.S.",)),
        ("STEEL (CONT'D)", "STEEL", ("CONT'D",)),
        ("STEEL (V.O.) (CONT'D)", "STEEL", ("V.O.", "CONT'D")),
        ("HANS (on the radio)", "HANS", ("on the radio",)),
        ("MR. SMITH", "MR. SMITH", ()),
        ("R2D2", "R2D2", ()),
        ("ÑANDÚ", "ÑANDÚ", ()),
        ("ÑANDÚ (V.O.)", "ÑANDÚ", ("V.O.",)),
        ("O'BRIEN", "O'BRIEN", ()),
    ],
)
def test_character_cues(cue: str, name: str, extensions: tuple[str, ...]) -> None:
    sp = parse(f"Before.\n\n{cue}\nSome words.\n")
    assert kinds(sp) == [T.ACTION, T.CHARACTER, T.DIALOGUE]
    c, d = sp.elements[1], sp.elements[2]
    assert (c.text, c.character, c.extensions, c.forced) == (cue, name, extensions, False)
    assert (d.text, d.character) == ("Some words.", name)


@pytest.mark.parametrize(
    ("cue", "name", "extensions"),
    [
        ("@McCLANE", "McCLANE", ()),
        ("@McCLANE (V.O.)", "McCLANE", ("V.O.",)),
        ("@tiny tim", "tiny tim", ()),
    ],
)
def test_forced_character(cue: str, name: str, extensions: tuple[str, ...]) -> None:
    sp = parse(f"Before.\n\n{cue}\nYippee-ki-yay.\n")
    assert kinds(sp) == [T.ACTION, T.CHARACTER, T.DIALOGUE]
    c = sp.elements[1]
    assert (c.character, c.extensions, c.forced) == (name, extensions, True)
    assert c.text == cue[1:]
    assert c.lines[0].column == 1


@pytest.mark.parametrize(
    "text",
    [
        "Before.\n\nMcCLANE\nHi.\n",  # not all caps
        "Before.\n\n1984\nA good year.\n",  # numbers only
        "Before.\n\n23 (V.O.)\nA good year.\n",  # numbers only, with an extension
        "Before.\nSTEEL\nHi.\n",  # no blank line before
        "Before.\n\nSTEEL\n\nHi.\n",  # blank line after
        "Before.\n\nSTEEL",  # end of file
        "Before.\n\nSTEEL\n",  # end of file
    ],
)
def test_not_character_cues(text: str) -> None:
    assert T.CHARACTER not in kinds(parse(text))


def test_dialogue_multi_line_and_parentheticals() -> None:
    sp = parse("STEEL\n(quietly)\nLine one.\nLine two.\n(beat)\nLine three.\n\nAfter.\n")
    assert kinds(sp) == [
        T.CHARACTER,
        T.PARENTHETICAL,
        T.DIALOGUE,
        T.PARENTHETICAL,
        T.DIALOGUE,
        T.ACTION,
    ]
    assert [x.text for x in sp.elements] == [
        "STEEL",
        "(quietly)",
        "Line one.\nLine two.",
        "(beat)",
        "Line three.",
        "After.",
    ]
    assert all(x.character == "STEEL" for x in sp.elements[:5])
    assert sp.elements[5].character is None


def test_dialogue_two_space_line_keeps_dialogue_going() -> None:
    sp = parse("DEALER\nTen.\n  \nTwenty.\n\nAfter.\n")
    assert kinds(sp) == [T.CHARACTER, T.DIALOGUE, T.ACTION]
    assert sp.elements[1].text == "Ten.\n\nTwenty."
    assert [sl.line for sl in sp.elements[1].lines] == [2, 3, 4]


def test_dialogue_ends_at_blank_line() -> None:
    sp = parse("DEALER\nTen.\n\nTwenty.\n")
    assert kinds(sp) == [T.CHARACTER, T.DIALOGUE, T.ACTION]


def test_dialogue_swallows_heading_like_lines() -> None:
    # Inside dialogue, an all-caps or INT. line is still dialogue.
    sp = parse("STEEL\nLook:\nINT. HOUSE - DAY\n\nAfter.\n")
    assert kinds(sp) == [T.CHARACTER, T.DIALOGUE, T.ACTION]
    assert sp.elements[1].text == "Look:\nINT. HOUSE - DAY"


def test_dual_dialogue() -> None:
    sp = parse("BRICK\nScrew retirement.\n\nSTEEL ^\nScrew retirement.\n\nAfter.\n")
    assert kinds(sp) == [T.CHARACTER, T.DIALOGUE, T.CHARACTER, T.DIALOGUE, T.ACTION]
    assert [x.dual for x in sp.elements] == [1, 1, 2, 2, 0]
    steel = sp.elements[2]
    assert steel.character == "STEEL" and "^" not in steel.text
    assert not sp.warnings


def test_dual_dialogue_with_extension() -> None:
    sp = parse("BRICK (V.O.)\nNo.\n\nSTEEL (O.S.) ^\nYes.\n")
    c1, _, c2, _ = sp.elements
    assert (c1.character, c1.extensions, c1.dual) == ("BRICK", ("V.O.",), 1)
    assert (c2.character, c2.extensions, c2.dual) == ("STEEL", ("O.S.",), 2)


def test_dual_dialogue_without_previous_block_warns() -> None:
    sp = parse("Action.\n\nSTEEL ^\nHi.\n")
    assert kinds(sp) == [T.ACTION, T.CHARACTER, T.DIALOGUE]
    assert sp.elements[1].character == "STEEL"
    assert sp.elements[1].dual != 1
    assert [w.line for w in sp.warnings] == [3]


def test_dual_dialogue_after_action_warns() -> None:
    # The block before the caret must be dialogue, not action after dialogue.
    sp = parse("BRICK\nNo.\n\nA pause.\n\nSTEEL ^\nYes.\n")
    assert sp.elements[0].dual == 0
    assert [w.line for w in sp.warnings] == [6]


# -- lyrics, transitions, centered, page breaks --------------------------------


def test_lyrics() -> None:
    sp = parse("Before.\n\n~Willy Wonka! Willy Wonka!\n~The amazing chocolatier!\n")
    ly = sp.of_type(T.LYRICS)
    assert ly and all(x.forced for x in ly)
    assert "\n".join(x.text for x in ly) == "Willy Wonka! Willy Wonka!\nThe amazing chocolatier!"
    assert ly[0].lines[0].column == 1


def test_lyrics_in_dialogue_keep_the_speaker() -> None:
    sp = parse("WONKA\n~Pure imagination.\n")
    assert kinds(sp) == [T.CHARACTER, T.LYRICS]
    assert sp.elements[1].character == "WONKA"
    assert sp.elements[1].text == "Pure imagination."


@pytest.mark.parametrize("line", ["CUT TO:", "SMASH CUT TO:", "MATCH CUT TO:", "DISSOLVE TO:"])
def test_transition(line: str) -> None:
    sp = parse(f"Before.\n\n{line}\n\nAfter.\n")
    assert kinds(sp) == [T.ACTION, T.TRANSITION, T.ACTION]
    assert sp.elements[1].text == line and not sp.elements[1].forced


@pytest.mark.parametrize(
    "text",
    [
        "Before.\n\nCut to:\n\nAfter.\n",  # not uppercase
        "Before.\nCUT TO:\n\nAfter.\n",  # no blank line before
        "Before.\n\nCUT TO:\nINT. HOUSE - DAY\n\nAfter.\n",  # no blank line after
        "Before.\n\nFADE OUT.\n\nAfter.\n",  # does not end in TO:
    ],
)
def test_not_transitions(text: str) -> None:
    assert T.TRANSITION not in kinds(parse(text))


@pytest.mark.parametrize(
    ("line", "text", "column"),
    [
        (">Burn to White.", "Burn to White.", 1),
        ("> FADE OUT.", "FADE OUT.", 2),
        (">CUT TO:", "CUT TO:", 1),
    ],
)
def test_forced_transition(line: str, text: str, column: int) -> None:
    sp = parse(f"Before.\n\n{line}\n\nAfter.\n")
    t = only(sp, T.TRANSITION)
    assert (t.text, t.forced, t.lines[0].column) == (text, True, column)


@pytest.mark.parametrize(
    ("line", "column"),
    [("> THE END <", 2), (">THE END<", 1), ("  >  THE END  <  ", 5)],
)
def test_centered(line: str, column: int) -> None:
    sp = parse(f"Before.\n\n{line}\n\nAfter.\n")
    c = only(sp, T.CENTERED)
    assert c.text == "THE END"
    assert c.lines[0].column == column
    assert T.TRANSITION not in kinds(sp)


@pytest.mark.parametrize("line", ["===", "=====", "  ===  "])
def test_page_break(line: str) -> None:
    sp = parse(f"Before.\n\n{line}\n\nAfter.\n")
    assert kinds(sp) == [T.ACTION, T.PAGE_BREAK, T.ACTION]


@pytest.mark.parametrize("line", ["=== x", "x ===", "=="])
def test_not_page_break(line: str) -> None:
    assert T.PAGE_BREAK not in kinds(parse(f"Before.\n\n{line}\n\nAfter.\n"))


# -- sections, synopses, notes, boneyard ----------------------------------------


@pytest.mark.parametrize(
    ("line", "text", "depth", "column"),
    [
        ("# Act", "Act", 1, 2),
        ("## Sequence", "Sequence", 2, 3),
        ("###Scene", "Scene", 3, 3),
        ("#### Beat 4", "Beat 4", 4, 5),
    ],
)
def test_sections(line: str, text: str, depth: int, column: int) -> None:
    sp = parse(f"Before.\n\n{line}\n\nAfter.\n")
    s = only(sp, T.SECTION)
    assert (s.text, s.depth, s.lines[0].column) == (text, depth, column)


def test_synopsis() -> None:
    sp = parse("INT. HOUSE - DAY\n\n= The family argues about dinner.\n\nAfter.\n")
    s = only(sp, T.SYNOPSIS)
    assert s.text == "The family argues about dinner."
    assert s.lines[0].column == 2


def test_inline_note_is_attached_and_removed() -> None:
    text = (
        "Before.\n\nHis hand is an inch from the receiver[[Is this a real phone?]] when it RINGS.\n"
    )
    sp = parse(text)
    act = sp.elements[1]
    assert act.type is T.ACTION
    assert "[[" not in act.text and "real phone" not in act.text
    assert words(act.text) == "His hand is an inch from the receiver when it RINGS."
    assert [n.text for n in act.notes] == ["Is this a real phone?"]
    assert act.notes[0].span == Span(3, 39, 60)
    assert T.NOTE not in kinds(sp)


def test_standalone_note_is_a_note_element() -> None:
    sp = parse("Before.\n\n[[Remember the rain.]]\n\nAfter.\n")
    assert kinds(sp) == [T.ACTION, T.NOTE, T.ACTION]
    note = sp.elements[1]
    assert note.text == "Remember the rain."
    assert [n.text for n in note.notes] == ["Remember the rain."]
    assert note.line == 3 and note.lines[0].column == 2
    assert T.NOTE not in PRINTED


def test_note_spanning_two_lines() -> None:
    sp = parse("He waits. [[Is he\nstill waiting?]] He leaves.\n")
    assert kinds(sp) == [T.ACTION]
    act = sp.elements[0]
    assert words(act.text) == "He waits. He leaves."
    assert [n.text for n in act.notes] == ["Is he still waiting?"]
    assert act.notes[0].span == Span(1, 12, 14, 2)


def test_note_with_two_space_line_inside() -> None:
    # Spec: a note may hold an empty line if that line has two spaces in it.
    sp = parse("Before.\n\n[[First paragraph.\n  \nSecond paragraph.]]\n\nAfter.\n")
    assert kinds(sp) == [T.ACTION, T.NOTE, T.ACTION]
    assert sp.elements[1].text == "First paragraph. Second paragraph."
    assert not sp.warnings


def test_unclosed_note_kept_with_warning() -> None:
    sp = parse("Before.\n\nThe door [[creaks\n")
    assert sp.elements[-1].text == "The door [[creaks"
    assert [w.line for w in sp.warnings] == [3]
    assert "note" in sp.warnings[0].message


def test_boneyard_multi_line_with_blank_lines() -> None:
    sp = parse("Before.\n\n/*\nINT. GONE - DAY\n\nGHOST\nBoo.\n*/\n\nAfter.\n")
    assert kinds(sp) == [T.ACTION, T.BONEYARD, T.ACTION]
    assert words(sp.elements[1].text) == "INT. GONE - DAY GHOST Boo."
    assert [x.text for x in sp.elements if x.type is not T.BONEYARD] == ["Before.", "After."]


def test_boneyard_inline() -> None:
    sp = parse("He opens /* slowly */ the door.\n")
    act = only(sp, T.ACTION)
    assert words(act.text) == "He opens the door."
    assert only(sp, T.BONEYARD).text == " slowly "


def test_boneyard_inside_a_note_stays_out_of_the_note() -> None:
    # Boneyard content must appear in the boneyard element only.
    sp = parse("Before.\n\n[[ keep /* gone */ this ]]\n\nAfter.\n")
    outside = [x.text for x in sp.elements if x.type is not T.BONEYARD]
    outside += [n.text for x in sp.elements for n in x.notes]
    assert not any("gone" in s for s in outside), outside
    assert words(only(sp, T.BONEYARD).text) == "gone"


def test_unclosed_boneyard_kept_with_warning() -> None:
    sp = parse("Before.\n\n/* not closed\nSo it stays.\n")
    assert kinds(sp) == [T.ACTION, T.ACTION]
    assert sp.elements[1].text == "/* not closed\nSo it stays."
    assert [w.line for w in sp.warnings] == [3]
    assert "boneyard" in sp.warnings[0].message


# -- emphasis -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("*italics*", "italics"),
        ("**bold**", "bold"),
        ("***bold italics***", "bold italics"),
        ("_underline_", "underline"),
        ("_**bold underline**_", "bold underline"),
        ("**bold *italic* bold**", "bold italic bold"),
        (
            "From what seems like only INCHES AWAY. _Steel's face FILLS the *Leupold Mark 4* scope_.",
            "From what seems like only INCHES AWAY. Steel's face FILLS the Leupold Mark 4 scope.",
        ),
        ("5 * 3 = 15", "5 * 3 = 15"),
        ("a lone * star", "a lone * star"),
        ("*unclosed", "*unclosed"),
        ("trailing*", "trailing*"),
        ("snake_case_name", "snake_case_name"),
        (
            r"Steel enters the code on the keypad: \*\*\*\*",
            "Steel enters the code on the keypad: ****",
        ),
        (
            r"He dialed *69 and then *23\*, and then hung up.",
            "He dialed *69 and then *23*, and then hung up.",
        ),
        (
            r"Steel enters the code on the keypad: **\*9765\***",
            "Steel enters the code on the keypad: *9765*",
        ),
        ("*not\nacross lines*", "*not\nacross lines*"),
        ("* spaced *", "* spaced *"),
    ],
)
def test_strip_emphasis(text: str, plain: str) -> None:
    assert strip_emphasis(text) == plain


def test_element_plain_strips_emphasis() -> None:
    sp = parse("Before.\n\n**STEEL** looks at *Brick*.\n")
    act = sp.elements[1]
    assert act.text == "**STEEL** looks at *Brick*."
    assert act.plain == "STEEL looks at Brick."


def test_title_strips_emphasis() -> None:
    assert parse("Title: **_My Film_**\n\nX.\n").title == "My Film"


# -- source positions -----------------------------------------------------------------


def test_positions_inline_notes_fixture() -> None:
    text = read_fixture("tricky_inline_notes.fountain")
    src = source_lines(text)
    sp = parse(text)
    heading, action, cue, dialogue = sp.elements
    assert heading.span == Span(1, 0, 15)
    assert heading.notes[0].span == Span(1, 18, 34)
    # "A [[tall]] man enters." -> "A  man enters."
    assert action.text == "A  man enters."
    assert action.span == Span(3, 0, 22)
    i = action.text.index("man")
    assert action.span_of(i, i + 3) == Span(3, 11, 14)
    assert src[2][11:14] == "man"
    assert action.notes[0].span == Span(3, 4, 8)
    assert cue.span == Span(5, 0, 3)
    assert dialogue.text == "I'm  here."
    j = dialogue.text.index("here")
    assert dialogue.span_of(j, j + 4) == Span(6, 12, 16)


def test_positions_multi_line_span() -> None:
    sp = parse("Before.\n\n  First line.\nSecond line here.\n")
    act = sp.elements[1]
    assert act.line == 3 and act.end_line == 4
    assert [(sl.line, sl.column) for sl in act.lines] == [(3, 0), (4, 0)]
    assert act.span == Span(3, 0, 17, 4)
    k = act.text.index("Second")
    assert act.span_of(k, k + 6) == Span(4, 0, 6)
    # A range running over the line break.
    f = act.text.index("line.")
    assert act.span_of(f, k + 6) == Span(3, 8, 6, 4)


def test_positions_forced_and_indented() -> None:
    text = "Before.\n\n   .FLASHBACK #3#\n\n  @McCLANE\nHi.\n\n\t!Bang.\n"
    sp = parse(text)
    src = source_lines(text)
    h, c, _, a = sp.elements[1:]
    assert (h.type, h.line, h.lines[0].column, h.text) == (T.SCENE_HEADING, 3, 4, "FLASHBACK")
    assert (c.type, c.line, c.lines[0].column) == (T.CHARACTER, 5, 3)
    assert (a.type, a.line, a.lines[0].column, a.text) == (T.ACTION, 8, 2, "Bang.")
    for el in (h, c, a):
        s = el.span
        assert src[s.line - 1][s.start : s.end] == el.text


def test_positions_trailing_spaces_and_tabs() -> None:
    text = read_fixture("tricky_trailing_spaces.fountain")
    sp = parse(text)
    heading = sp.elements[0]
    assert heading.span == Span(1, 0, len("INT. GARAGE - NIGHT"))
    street = element_on(sp, 11)
    assert street.span == Span(11, 0, len("EXT. STREET - NIGHT"))


def test_positions_crlf_columns_exclude_carriage_return() -> None:
    text = read_fixture("tricky_crlf.fountain")
    sp = parse(text)
    heading = sp.elements[0]
    assert heading.span == Span(4, 0, len("INT. DINER - NIGHT"))
    assert sp.title_page.lines == [1, 2]


def test_span_of_empty_last_line() -> None:
    # The span of a whole element ends on the element's last line, even when
    # that line holds no text (here the line of the closing '*/').
    b = only(parse("Before. /* cut\n*/ After.\n"), T.BONEYARD)
    assert b.text == " cut\n"
    assert (b.line, b.end_line) == (1, 2)
    assert b.span == Span(1, 10, 0, 2)


def test_positions_boneyard_element() -> None:
    sp = parse("Before. /* cut */ After.\n")
    b = only(sp, T.BONEYARD)
    assert b.text == " cut "
    assert b.span == Span(1, 10, 15)


def test_positions_unicode() -> None:
    text = "Before.\n\nÑANDÚ (V.O.)\n¡Pío, pío!\n"
    sp = parse(text)
    d = sp.elements[2]
    k = d.text.index("pío!")
    assert d.span_of(k, k + 4) == Span(4, 6, 10)


PRINTED = {
    T.SCENE_HEADING,
    T.ACTION,
    T.CHARACTER,
    T.PARENTHETICAL,
    T.DIALOGUE,
    T.LYRICS,
    T.TRANSITION,
    T.CENTERED,
}


def test_printed_types_match_spec() -> None:
    from moviola.script import PRINTED_TYPES

    assert set(PRINTED_TYPES) == PRINTED
