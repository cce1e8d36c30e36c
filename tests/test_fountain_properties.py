"""Property tests of ``parse_fountain``: it never raises, and it never loses text.

"Never loses text" is checked on alphanumeric tokens (``[^\\W_]+``): the
multiset of tokens in the input must equal the multiset of tokens in what the
parse keeps, which is

* the title page: every key and every value;
* every element's ``text`` (boneyard elements included), except NOTE elements;
* every scene heading's ``scene_number`` (``#12A#`` is taken out of the text);
* every distinct :class:`Note` held by any element (a standalone note is a
  NOTE element whose ``notes`` holds that same note, so it is counted once,
  through its Note; ``test_note_elements_mirror_their_note`` checks the two
  agree).

Punctuation and whitespace may move (markers are stripped, notes collapse
whitespace), but a word may never disappear, be duplicated, or be glued to
another word.
"""

from __future__ import annotations

import re
from collections import Counter

from hypothesis import example, given, settings
from hypothesis import strategies as st

from moviola.script import Element, ElementType, Note, Screenplay, parse_fountain

TOKEN = re.compile(r"[^\W_]+")

# -- strategies ---------------------------------------------------------------------

#: Fountain's special characters.
SPECIAL = ".!@#=~>< ^*_[]/"
#: Multi-character pieces of Fountain syntax.
FRAGMENTS = [
    "\n",
    "\n\n",
    "\r\n",
    "\r",
    "  \n",
    "\t",
    "   ",
    "[[",
    "]]",
    "/*",
    "*/",
    "***",
    "**",
    "\\*",
    "...",
    "===",
    "INT. ",
    "EXT ",
    "est. ",
    "I/E ",
    "int./ext. ",
    "INT/EXT ",
    "Title:",
    "Author: ",
    "Draft date:",
    "Contact:\n   ",
    "Credit:",
    "CUT TO:",
    "> ",
    " <",
    "#12A#",
    " #1#",
    "(V.O.)",
    "(CONT'D)",
    "(beat)",
    " ^",
    "@",
    "~",
    "# ",
    "## ",
    "= ",
]
#: Whole notes and boneyards, so they often sit right against words.
APPARATUS = ["[[note]]", "[[two\nlines]]", "[[ 2 ]]", "/*bone*/", "/* two\n\nparas */", "/*\n*/"]
#: Characters a parser might treat specially, or that str methods see as breaks.
ODD = ["\x00", "\ufeff", "\x0b", "\x0c", "\x1c", "\x85", "\xa0", "\u2028", "\u3000", "\u0301"]
WORDS = ["BOB", "Bob", "McCLANE", "ÑANDÚ", "día", "R2D2", "1984", "HOUSE", "DAY", "a", "x1"]

# Every alternative of one_of is drawn about equally often: repeats are weights.
atom = st.one_of(
    st.sampled_from(SPECIAL),
    st.sampled_from(SPECIAL),
    st.sampled_from(SPECIAL),
    st.sampled_from(SPECIAL),
    st.sampled_from(FRAGMENTS),
    st.sampled_from(FRAGMENTS),
    st.sampled_from(WORDS),
    st.sampled_from(WORDS),
    st.sampled_from(WORDS),
    st.sampled_from(APPARATUS),
    st.sampled_from(ODD),
    st.sampled_from(["\n", "\n\n", " "]),
    st.text(min_size=1, max_size=3),  # anything: control characters, NUL, BOM, astral
)
fountainish = st.lists(atom, max_size=80).map("".join)
TEXTS = st.one_of(st.text(max_size=300), fountainish)


# -- helpers ----------------------------------------------------------------------------


def tokens(s: str | None) -> Counter[str]:
    return Counter(TOKEN.findall(s or ""))


def kept_tokens(sp: Screenplay) -> Counter[str]:
    out: Counter[str] = Counter()
    for key, value in sp.title_page.fields:
        out += tokens(key)
        out += tokens(value)
    notes: dict[int, Note] = {}
    for el in sp.elements:
        if el.type is not ElementType.NOTE:
            out += tokens(el.text)
        out += tokens(el.scene_number)
        for note in el.notes:
            notes[id(note)] = note
    for note in notes.values():
        out += tokens(note.text)
    return out


def assert_keeps_every_token(text: str) -> None:
    sp = parse_fountain(text)
    want, got = tokens(text), kept_tokens(sp)
    assert got == want, {"lost": dict(want - got), "extra": dict(got - want)}


def source_lines(text: str) -> list[str]:
    # A leading U+FEFF is a byte-order mark, not text: columns count from after it.
    return re.split(r"\r\n|\r|\n", text.removeprefix("\ufeff"))


# -- properties -------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_never_raises(text: str) -> None:
    sp = parse_fountain(text)
    assert isinstance(sp, Screenplay)
    assert sp.line_count == len(source_lines(text))
    for el in sp.elements:
        assert isinstance(el, Element)
        assert el.lines, el
        assert 1 <= el.line <= sp.line_count
        assert isinstance(el.text, str) and isinstance(el.plain, str)
        el.span_of(0, len(el.text))
    for w in sp.warnings:
        assert 1 <= w.line <= sp.line_count


# The explicit examples are shrunk counterexamples hypothesis once found (see the
# regression tests below).
@example("0[[]]0")
@example("0\x000")
@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_never_loses_text(text: str) -> None:
    assert_keeps_every_token(text)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_note_elements_mirror_their_note(text: str) -> None:
    for el in parse_fountain(text).elements:
        if el.type is ElementType.NOTE:
            assert [n.text for n in el.notes] == [el.text]


@example("0\ufeff0")  # shrunk counterexample, see test_counterexample_inner_bom_shifts_columns
@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_source_lines_point_at_the_source(text: str) -> None:
    """Each element line's column (or per-character cols) gives back its text.

    NOTE elements are left out: their text is the note with whitespace
    collapsed, and a note may run over lines.
    """
    src = source_lines(text)
    for el in parse_fountain(text).elements:
        if el.type is ElementType.NOTE:
            continue
        for sl in el.lines:
            line = src[sl.line - 1]
            if sl.cols is None:
                assert line[sl.column : sl.column + len(sl.text)] == sl.text, (el, sl)
            else:
                # A note or boneyard between two letters reads as one space,
                # mapped to the column where the note or boneyard starts.
                for c, ch in zip(sl.cols, sl.text, strict=True):
                    assert line[c] == ch or (ch == " " and line[c : c + 2] in ("[[", "/*")), (
                        el,
                        sl,
                    )


# -- counterexamples found by the properties ---------------------------------------------
#
# Each is a minimal input the properties once rejected; the parser was fixed and
# they stay as regression tests.


def test_counterexample_inline_note_glues_words() -> None:
    assert_keeps_every_token("a[[n]]b")


def test_counterexample_inline_boneyard_glues_words() -> None:
    assert_keeps_every_token("a/*n*/b")


def test_counterexample_nul_glues_words() -> None:
    assert_keeps_every_token("a\x00b")


def test_counterexample_inner_bom_glues_words() -> None:
    assert_keeps_every_token("a\ufeffb")


def test_counterexample_boneyard_inside_note_duplicates_words() -> None:
    assert_keeps_every_token("[[a /* b */ c]]")


def test_counterexample_inner_bom_shifts_columns() -> None:
    text = "a\ufeff bc"
    el = parse_fountain(text).elements[0]
    sl = el.lines[0]
    assert text[sl.column : sl.column + len(sl.text)] == sl.text


# Inputs that look risky but must pass; kept as fixed examples of the properties.
@example("Title: X\n   indented\nAuthor:\n\n.HEADING #1A#\n\nBOB ^\nhi\n")
@example("/* a\n\nb */ c [[d\ne]] f")
@example("[[a]]\n\n[[b\nc]]\n\nBOB\n[[d]]\nhi")
@example("INT. A #1# #2#\n\n")
@settings(max_examples=1, deadline=None)
@given(st.just("plain words"))
def test_known_tricky_inputs_keep_their_words(text: str) -> None:
    assert_keeps_every_token(text)
