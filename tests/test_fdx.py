"""Final Draft (FDX) import and reading screenplay files from disk.

``short.fdx`` is written the way Final Draft 12 writes a script (XML
declaration with ``standalone="no"``, ``<FinalDraft DocumentType="Script"
Template="No" Version="5">``, styled ``<Text>`` runs, a ``<DualDialogue>``
block inside a ``<Paragraph>``, a ``<TitlePage>`` after the content and the
settings blocks around it). The hostile fixtures must all be refused with a
:class:`ScriptFormatError` whose message is one line naming the file.
"""

from __future__ import annotations

import codecs
import re
import struct
import zlib
from pathlib import Path

import pytest

from moviola.core import MoviolaError, ScriptFormatError
from moviola.script import ElementType, Screenplay, parse_fdx, read_screenplay

T = ElementType
DATA = Path(__file__).parent / "data" / "fdx"
SHORT = DATA / "short.fdx"

HOSTILE = [
    "billion_laughs.fdx",
    "xxe.fdx",
    "xxe_parameter.fdx",
    "external_dtd.fdx",
    "truncated.fdx",
    "not_finaldraft.fdx",
    "empty_content.fdx",
]

#: Text that only a read of /etc/passwd could produce.
PASSWD_MARKERS = ("root:x:", "root:*:", "/bin/sh", "/bin/bash", "nologin", "daemon:")


def xml_line_of(path: Path, needle: str) -> int:
    """1-based line of the first line of ``path`` containing ``needle``."""
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")


@pytest.fixture(scope="module")
def short() -> Screenplay:
    return parse_fdx(SHORT.read_bytes(), str(SHORT))


# -- a real-looking script ------------------------------------------------------


def test_short_is_written_like_final_draft_12() -> None:
    head = SHORT.read_bytes()[:200].decode("utf-8")
    assert head.startswith('<?xml version="1.0" encoding="UTF-8" standalone="no" ?>')
    assert '<FinalDraft DocumentType="Script" Template="No" Version="5">' in head


def test_short_element_types(short: Screenplay) -> None:
    assert [e.type for e in short.elements] == [
        T.SCENE_HEADING,
        T.ACTION,
        T.CHARACTER,
        T.PARENTHETICAL,
        T.DIALOGUE,
        T.CHARACTER,
        T.DIALOGUE,
        T.TRANSITION,
        T.SCENE_HEADING,
        T.ACTION,
        T.CHARACTER,  # dual, left
        T.DIALOGUE,
        T.CHARACTER,  # dual, right
        T.PARENTHETICAL,
        T.DIALOGUE,
        T.ACTION,
        T.SCENE_HEADING,
        T.CHARACTER,
        T.DIALOGUE,
        T.TRANSITION,
    ]
    assert short.source_format == "fdx"
    assert not short.warnings


def test_short_scene_headings_and_numbers(short: Screenplay) -> None:
    headings = short.of_type(T.SCENE_HEADING)
    assert [(h.text, h.scene_number) for h in headings] == [
        ("INT. ROSIE'S DINER - NIGHT", "1"),
        ("EXT. PARKING LOT - CONTINUOUS", "2"),
        ("INT. ROSIE'S DINER - LATER", "3A"),
    ]


def test_short_styled_text_runs_are_joined(short: Screenplay) -> None:
    action = short.elements[1]
    assert action.text == (
        "Rain streaks the window. MARGO (50s) wipes the counter. A GUN sits by the register."
    )


def test_short_characters_and_extensions(short: Screenplay) -> None:
    cues = short.of_type(T.CHARACTER)
    assert [(c.text, c.character, c.extensions) for c in cues] == [
        ("MARGO", "MARGO", ()),
        ("JOE (O.S.)", "JOE", ("O.S.",)),
        ("MARGO (CONT'D)", "MARGO", ("CONT'D",)),
        ("JOE", "JOE", ()),
        ("JOSÉ", "JOSÉ", ()),
    ]


def test_short_dialogue_knows_its_speaker(short: Screenplay) -> None:
    said = [
        (e.character, e.text) for e in short.elements if e.type in (T.DIALOGUE, T.PARENTHETICAL)
    ]
    assert said == [
        ("MARGO", "(not looking up)"),
        ("MARGO", "Kitchen's closed, Joe."),
        ("JOE", "Then open it."),
        ("MARGO", "Get out of my lot!"),
        ("JOE", "(overlapping)"),
        ("JOE", "I just want pie!"),
        ("JOSÉ", "¿Café?"),
    ]
    for e in short.elements:
        if e.type in (T.ACTION, T.SCENE_HEADING, T.TRANSITION):
            assert e.character is None, e


def test_short_dual_dialogue(short: Screenplay) -> None:
    duals = [(e.type, e.character, e.dual) for e in short.elements if e.dual]
    assert duals == [
        (T.CHARACTER, "MARGO", 1),
        (T.DIALOGUE, "MARGO", 1),
        (T.CHARACTER, "JOE", 2),
        (T.PARENTHETICAL, "JOE", 2),
        (T.DIALOGUE, "JOE", 2),
    ]
    # Before and after the block, nothing is dual.
    assert short.elements[5].dual == 0  # JOE (O.S.)
    assert short.elements[17].dual == 0  # JOSÉ


def test_short_title_page(short: Screenplay) -> None:
    assert short.title == "LAST CALL AT ROSIE'S"
    values = [v for _, v in short.title_page.fields]
    assert values == ["LAST CALL AT ROSIE'S", "Written by", "Ana Ruiz"]
    # The title page is not script content.
    assert not any("Written by" in e.text for e in short.elements)
    # SmartType lists and settings are not script content either.
    assert sum(e.text == "CUT TO:" for e in short.elements) == 1


def test_short_lines_point_into_the_xml(short: Screenplay) -> None:
    heading = short.elements[0]
    assert heading.line == xml_line_of(SHORT, '<Paragraph Number="1" Type="Scene Heading">')
    last = short.elements[-1]
    assert last.text == "FADE OUT."
    assert last.line == xml_line_of(SHORT, "FADE OUT.") - 1
    lines = [e.line for e in short.elements]
    assert lines == sorted(lines) and len(set(lines)) == len(lines)
    assert short.line_count == SHORT.read_bytes().count(b"\n") + 1


def test_read_screenplay_fdx_matches_parse_fdx(short: Screenplay) -> None:
    sp = read_screenplay(SHORT)
    assert [(e.type, e.text, e.dual) for e in sp.elements] == [
        (e.type, e.text, e.dual) for e in short.elements
    ]


def test_scene_properties_with_arc_beats_and_summary() -> None:
    """Final Draft nests <Paragraph>s in a scene heading's <SceneProperties>
    (character arc beats, the scene summary). Those are not script content,
    and the heading's own <Text> after them must not be lost."""
    path = DATA / "arc_beats.fdx"
    sp = parse_fdx(path.read_bytes(), str(path))
    assert [(e.type, e.text) for e in sp.elements] == [
        (T.SCENE_HEADING, "INT. HOME LIBRARY - DAY"),
        (T.ACTION, "Majestic shelves. TANGLE climbs a ladder."),
        (T.CHARACTER, "TANGLE"),
        (T.DIALOGUE, "Where is it?"),
    ]
    assert sp.elements[0].scene_number == "1"


def test_paragraph_types_general_and_unknown() -> None:
    data = b"""<?xml version="1.0" encoding="UTF-8" standalone="no" ?>
<FinalDraft DocumentType="Script" Template="No" Version="5">
  <Content>
    <Paragraph Type="General"><Text>General text.</Text></Paragraph>
    <Paragraph Type="Shot"><Text>ANGLE ON the door.</Text></Paragraph>
    <Paragraph Type="Mystery"><Text>Unknown kind.</Text></Paragraph>
    <Paragraph Type="Action" Alignment="Center"><Text>THE END</Text></Paragraph>
  </Content>
</FinalDraft>
"""
    sp = parse_fdx(data, "types.fdx")
    assert [e.type for e in sp.elements] == [T.ACTION, T.ACTION, T.ACTION, T.CENTERED]
    assert [w.line for w in sp.warnings] == [6]
    assert "Mystery" in sp.warnings[0].message


# -- hostile and broken files ---------------------------------------------------------


def _assert_good_error(exc: MoviolaError, name: str) -> None:
    message = str(exc)
    assert "\n" not in message and "\r" not in message
    assert name in message
    assert message.strip()
    for marker in PASSWD_MARKERS:
        assert marker not in message


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_parse_fdx_raises(name: str) -> None:
    data = (DATA / name).read_bytes()
    with pytest.raises(ScriptFormatError) as info:
        parse_fdx(data, name)
    assert isinstance(info.value, MoviolaError)
    _assert_good_error(info.value, name)


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_read_screenplay_raises(name: str) -> None:
    path = DATA / name
    with pytest.raises(ScriptFormatError) as info:
        read_screenplay(path)
    _assert_good_error(info.value, str(path))


def test_billion_laughs_is_refused_quickly() -> None:
    import time

    data = (DATA / "billion_laughs.fdx").read_bytes()
    start = time.perf_counter()
    with pytest.raises(ScriptFormatError):
        parse_fdx(data, "billion_laughs.fdx")
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("name", ["xxe.fdx", "xxe_parameter.fdx", "external_dtd.fdx"])
def test_external_entities_never_leak(name: str) -> None:
    data = (DATA / name).read_bytes()
    try:
        sp = parse_fdx(data, name)
    except ScriptFormatError as exc:
        text = str(exc) + repr(exc.__cause__)
    else:  # pragma: no cover - the parametrized test above fails first
        text = "\n".join(e.text for e in sp.elements)
    for marker in PASSWD_MARKERS:
        assert marker not in text


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty"),
        (b"<FinalDraft", "truncated start tag"),
        (b"<?xml version='1.0'?><FinalDraft><Content><Paragraph>", "unclosed"),
        (b"<?xml version='1.0'?><html><body>hi</body></html>", "html"),
        (b"<?xml version='1.0'?><FinalDraft/>", "no content"),
        (b"INT. HOUSE - DAY\n\nNot XML at all.\n", "fountain text"),
        (b"\xff\xfe\x00garbage", "binary"),
        (
            b"<?xml version='1.0'?><FinalDraft><Content>"
            b"<Paragraph Type='Action'><Text>   </Text></Paragraph></Content></FinalDraft>",
            "only whitespace",
        ),
    ],
)
def test_broken_inline_inputs(data: bytes, why: str) -> None:
    with pytest.raises(ScriptFormatError) as info:
        parse_fdx(data, f"{why}.fdx")
    _assert_good_error(info.value, f"{why}.fdx")


def test_deep_nesting_is_refused() -> None:
    body = b"<a>" * 200 + b"</a>" * 200
    data = b"<?xml version='1.0'?><FinalDraft><Content>" + body + b"</Content></FinalDraft>"
    with pytest.raises(ScriptFormatError) as info:
        parse_fdx(data, "deep.fdx")
    _assert_good_error(info.value, "deep.fdx")


# -- read_screenplay: files on disk -----------------------------------------------------


def _tiny_png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 16 for _ in range(16))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _assert_read_error(path: Path) -> MoviolaError:
    with pytest.raises(MoviolaError) as info:
        read_screenplay(path)
    _assert_good_error(info.value, str(path))
    return info.value


def test_missing_path(tmp_path: Path) -> None:
    _assert_read_error(tmp_path / "nowhere.fountain")


def test_folder_is_not_a_script(tmp_path: Path) -> None:
    folder = tmp_path / "script.fountain"
    folder.mkdir()
    _assert_read_error(folder)


@pytest.mark.parametrize("content", [b"", b"\n\n   \n\t\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.fountain"
    path.write_bytes(content)
    _assert_read_error(path)


@pytest.mark.parametrize("name", ["poster.fountain", "poster.fdx", "poster.png", "poster"])
def test_binary_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(_tiny_png())
    _assert_read_error(path)


def test_file_over_16_mb(tmp_path: Path) -> None:
    path = tmp_path / "huge.fountain"
    with path.open("wb") as f:
        f.truncate(16 * 1024 * 1024 + 1)  # sparse: no disk used
    err = _assert_read_error(path)
    # The message must not contradict itself (it once said "16.8 MB, larger than the
    # 17 MB": size and limit rounded in different units).
    sizes = [float(x) for x in re.findall(r"(\d+(?:\.\d+)?)\s*Mi?B", str(err))]
    if len(sizes) == 2:
        assert sizes[0] >= sizes[1], str(err)


def test_fountain_without_screenplay_content(tmp_path: Path) -> None:
    path = tmp_path / "notes.fountain"
    path.write_text("# Act One\n\n= Just a synopsis.\n", encoding="utf-8")
    with pytest.raises(ScriptFormatError) as info:
        read_screenplay(path)
    _assert_good_error(info.value, str(path))


SPANISH = "Title: Canción de José\n\nINT. CAFÉ - DÍA\n\nJOSÉ\n¿Un café? Sí, señor.\n"


def _check_spanish(sp: Screenplay) -> None:
    assert sp.title == "Canción de José"
    assert [(e.type, e.text) for e in sp.elements] == [
        (T.SCENE_HEADING, "INT. CAFÉ - DÍA"),
        (T.CHARACTER, "JOSÉ"),
        (T.DIALOGUE, "¿Un café? Sí, señor."),
    ]
    assert sp.elements[1].character == "JOSÉ"


@pytest.mark.parametrize(
    "data",
    [
        SPANISH.encode("utf-16"),  # native byte order, with BOM
        codecs.BOM_UTF16_LE + SPANISH.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + SPANISH.encode("utf-16-be"),
        codecs.BOM_UTF16_LE + SPANISH.replace("\n", "\r\n").encode("utf-16-le"),
    ],
    ids=["native", "le", "be", "le-crlf"],
)
def test_utf16_with_bom(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "script.fountain"
    path.write_bytes(data)
    sp = read_screenplay(path)
    _check_spanish(sp)
    assert sp.encoding == "utf-16"


@pytest.mark.parametrize("codec", ["cp1252", "latin-1"])
def test_legacy_single_byte_encodings(tmp_path: Path, codec: str) -> None:
    path = tmp_path / "script.fountain"
    path.write_bytes(SPANISH.encode(codec))
    sp = read_screenplay(path)
    _check_spanish(sp)
    assert sp.encoding == "cp1252"


def test_cp1252_smart_quotes(tmp_path: Path) -> None:
    text = "INT. CAFÉ - DÍA\n\nJOSÉ\n\u201cIt\u2019s on the house\u201d \u2013 Zoë.\n"
    path = tmp_path / "script.fountain"
    path.write_bytes(text.encode("cp1252"))
    sp = read_screenplay(path)
    assert sp.encoding == "cp1252"
    assert sp.elements[-1].text == "\u201cIt\u2019s on the house\u201d \u2013 Zoë."


def test_utf8_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "script.fountain"
    path.write_bytes(codecs.BOM_UTF8 + SPANISH.encode("utf-8"))
    sp = read_screenplay(path)
    _check_spanish(sp)
    assert sp.encoding.replace("-sig", "") == "utf-8"
    assert sp.title_page.fields[0][0] == "Title"


def test_plain_utf8(tmp_path: Path) -> None:
    path = tmp_path / "script.fountain"
    path.write_bytes(SPANISH.encode("utf-8"))
    sp = read_screenplay(path)
    _check_spanish(sp)
    assert sp.encoding == "utf-8"


def test_xml_in_a_fountain_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "script.fountain"
    path.write_bytes(SHORT.read_bytes())
    with pytest.raises(ScriptFormatError) as info:
        read_screenplay(path)
    _assert_good_error(info.value, str(path))


def test_fdx_detected_by_content_without_suffix(tmp_path: Path) -> None:
    path = tmp_path / "script"
    path.write_bytes(SHORT.read_bytes())
    sp = read_screenplay(path)
    assert sp.source_format == "fdx"
    assert sp.of_type(T.SCENE_HEADING)[0].text == "INT. ROSIE'S DINER - NIGHT"


def test_hostile_fdx_without_suffix_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "script"
    path.write_bytes((DATA / "xxe.fdx").read_bytes())
    with pytest.raises(ScriptFormatError) as info:
        read_screenplay(path)
    _assert_good_error(info.value, str(path))
