"""The breakdown of the bundled example, as a first AD would check it.

Rules-only here (fast); the model's part is specified in test_classifier.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moviola.script import (
    LINES_PER_PAGE,
    build_breakdown,
    format_eighths,
    lines_to_eighths,
    paginate,
    parse_fountain,
    parse_heading,
    read_screenplay,
)
from moviola.script._breakdown import cue_labels, line_cues
from moviola.script._revision import carry_over

NEVADA = Path(__file__).resolve().parent.parent / "examples" / "nevada" / "nevada.fountain"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return build_breakdown(read_screenplay(NEVADA))


def scene(doc: dict[str, Any], number: str) -> dict[str, Any]:
    return next(s for s in doc["scenes"] if s["number"] == number)


def tags(s: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [t for t in s["tags"] if t["kind"] == kind]


def test_every_scene_has_the_fields_a_breakdown_sheet_needs(doc: dict[str, Any]) -> None:
    assert doc["schema"] == "Breakdown.1"
    numbers = [s["number"] for s in doc["scenes"]]
    assert numbers[:3] == ["1", "2", "3"] and "7A" in numbers
    for s in doc["scenes"]:
        assert isinstance(s["eighths"], int) and s["eighths"] >= 1
        assert s["int_ext"] in ("INT", "EXT", "INT/EXT", "EST", None)
        assert s["day_night"] in ("DAY", "NIGHT")
        for t in s["tags"]:
            assert t["status"] == "proposed"
            assert 0 < t["confidence"] <= 1
            assert set(t["span"]) >= {"line", "start", "end"}


def test_eighths_add_up_to_the_page_count(doc: dict[str, Any]) -> None:
    total_pages = doc["totals"]["eighths"] / 8
    assert abs(total_pages - doc["script"]["pages"]) <= 1.0
    assert 10 <= doc["script"]["pages"] <= 15  # the example is a 10-15 page short


def test_spans_point_at_the_exact_source_text(doc: dict[str, Any]) -> None:
    lines = NEVADA.read_text(encoding="utf-8").split("\n")
    checked = 0
    for s in doc["scenes"]:
        for t in s["tags"]:
            sp = t["span"]
            if "end_line" in sp or t["source"] == "note":
                continue
            assert lines[sp["line"] - 1][sp["start"] : sp["end"]] == t["text"]
            checked += 1
    assert checked > 100


def test_heading_parts(doc: dict[str, Any]) -> None:
    s9 = scene(doc, "9")
    assert (s9["int_ext"], s9["location"], s9["time_of_day"]) == (
        "INT/EXT",
        "RAMIRO'S TAXI",
        "NIGHT",
    )
    flashback = scene(doc, "7")
    assert flashback["era"] == "1979" and flashback["time_of_day"] == "NIGHT"
    stairwell = scene(doc, "5")  # a forced heading
    assert stairwell["int_ext"] is None and stairwell["location"] == "THE STAIRWELL"
    assert stairwell["day_night"] == "NIGHT"  # MOMENTS LATER inherits


def test_cast_speaking_and_non_speaking(doc: dict[str, Any]) -> None:
    s2 = scene(doc, "2")
    assert set(s2["speaking"]) == {"OFELIA", "NICO", "RAMIRO"}
    assert "RAMIRO PAZ" not in s2["non_speaking"]  # an introduction of a speaker is the speaker
    assert "HUGO MARCHETTI" in scene(doc, "7")["non_speaking"]
    assert "NATALIA SOSA" in scene(doc, "5")["non_speaking"]


def test_the_headline_cues_of_the_example(doc: dict[str, Any]) -> None:
    vfx = {s["number"]: {t.get("vfx_kind") for t in tags(s, "vfx")} for s in doc["scenes"]}
    assert "collapse" in vfx["11"]
    assert "de_aging" in vfx["7"]
    assert "crowd" in vfx["3"]
    assert "explosion" in vfx["10"]
    assert {t["name"] for t in tags(scene(doc, "9"), "vehicles")} >= {"taxi", "army truck"}
    assert "gas mask" in {t["name"] for t in tags(scene(doc, "6"), "props")}
    assert "wetsuit" in {t["name"] for t in tags(scene(doc, "6"), "wardrobe")}
    assert tags(scene(doc, "5"), "extras")


def test_writer_vfx_notes_become_vfx_tags(doc: dict[str, Any]) -> None:
    notes = [t for s in doc["scenes"] for t in s["tags"] if t["source"] == "note"]
    assert notes and all(t["kind"] == "vfx" for t in notes)


@pytest.mark.parametrize(
    ("heading", "parts"),
    [
        ("INT. HOUSE - DAY", ("INT", "HOUSE", "DAY", None)),
        ("EXT. ROOF -- NIGHT", ("EXT", "ROOF", "NIGHT", None)),
        ("I/E CAR - MOVING - DAY", ("INT/EXT", "CAR - MOVING", "DAY", None)),
        ("int. kitchen - later", ("INT", "KITCHEN", "LATER", None)),
        ("EST. BUENOS AIRES", ("EST", "BUENOS AIRES", None, None)),
        ("INT. CLUB - NIGHT (1979)", ("INT", "CLUB", "NIGHT", "1979")),
        ("THE STAIRWELL", (None, "THE STAIRWELL", None, None)),
    ],
)
def test_parse_heading(heading: str, parts: tuple[Any, ...]) -> None:
    h = parse_heading(heading)
    assert (h.int_ext, h.location, h.time_of_day, h.era) == parts


def test_eighths_rules() -> None:
    assert lines_to_eighths(1) == 1  # never less than an eighth
    assert lines_to_eighths(LINES_PER_PAGE) == 8
    assert format_eighths(11) == "1 3/8" and format_eighths(4) == "4/8"
    assert format_eighths(16) == "2"


def test_forced_page_break_starts_a_new_page() -> None:
    one = parse_fountain("INT. A - DAY\n\nAction.\n\nINT. B - DAY\n\nMore.\n")
    two = parse_fountain("INT. A - DAY\n\nAction.\n\n===\n\nINT. B - DAY\n\nMore.\n")
    assert paginate(one).pages == 1 and paginate(two).pages == 2


@pytest.mark.parametrize(
    ("line", "label"),
    [
        ("The tower collapses floor by floor into the avenue.", "vfx.collapse"),
        ("The gas main explodes.", "vfx.explosion"),
        ("MARTA, thirty years younger, dances alone.", "vfx.de_aging"),
        ("Forty thousand people pour onto the pitch.", "vfx.crowd"),
        ("Neighbours crowd the stairwell.", "crowd"),
        ("He fires the revolver twice.", "sfx"),
        ("She is thrown across the room.", "stunt"),
    ],
)
def test_certain_cues_need_no_model(line: str, label: str) -> None:
    assert label in cue_labels(line_cues(line, {}))


@pytest.mark.parametrize(
    "line",
    ["She collapses onto the sofa.", "He blows out the candles.", "Ofelia threads a needle."],
)
def test_near_misses_stay_quiet_without_the_model(line: str) -> None:
    assert not {lab for lab in cue_labels(line_cues(line, {})) if lab.startswith("vfx")}


REVISION_BASE = """INT. KITCHEN - DAY #1#

Ana picks up the radio.

EXT. STREET - NIGHT #2#

The building collapses into the street.

INT. CAR - NIGHT #3#

Ana drives the taxi.
"""


def _doc(text: str) -> dict[str, Any]:
    return build_breakdown(parse_fountain(text))


def test_a_revision_keeps_decisions_on_unchanged_text_and_reports_moves() -> None:
    old = _doc(REVISION_BASE)
    radio = next(t for t in old["scenes"][0]["tags"] if t["name"] == "radio")
    radio["status"] = "rejected"
    taxi = next(t for t in old["scenes"][2]["tags"] if t["name"] == "taxi")
    taxi["status"] = "accepted"
    revised = (
        REVISION_BASE.replace("Ana drives the taxi.", "Ana drives the taxi fast.").replace(
            "INT. KITCHEN - DAY #1#\n\nAna picks up the radio.\n\n", ""
        )
        + "\nINT. KITCHEN - DAY #1#\n\nAna picks up the radio.\n\nEXT. PARK - DAY #4#\n\nA bus goes by.\n"
    )
    new = _doc(revised)
    report = carry_over(old, new)
    kitchen = next(s for s in new["scenes"] if s["number"] == "1")
    assert next(t for t in kitchen["tags"] if t["name"] == "radio")["status"] == "rejected"
    car = next(s for s in new["scenes"] if s["number"] == "3")
    assert next(t for t in car["tags"] if t["name"] == "taxi")["status"] == "proposed"
    assert report["decisions_kept"] == 1
    assert any("taxi" in r for r in report["decisions_reset"])
    assert report["scenes_added"] == ["4 EXT. PARK - DAY"]
    assert report["scenes_moved"] == ["1 INT. KITCHEN - DAY"]
    assert report["scenes_changed"] == ["3 INT. CAR - NIGHT"]
    assert any("bus" in t for t in report["tags_new"])


def test_a_removed_scene_reports_its_tags_as_vanished() -> None:
    old = _doc(REVISION_BASE)
    new = _doc(REVISION_BASE.split("INT. CAR")[0])
    report = carry_over(old, new)
    assert report["scenes_removed"] == ["3 INT. CAR - NIGHT"]
    assert any("taxi" in t and "scene removed" in t for t in report["tags_vanished"])


@given(st.lists(st.integers(0, 40), unique=True, max_size=40))
def test_scenes_that_moved_are_those_outside_the_longest_in_order_run(olds: list[int]) -> None:
    from moviola.script._revision import _moved

    pairs = dict(enumerate(olds))
    moved = _moved(pairs)
    kept = [o for j, o in sorted(pairs.items()) if j not in moved]
    assert kept == sorted(kept)  # what stays is in order...
    longest = [1] * len(olds)  # ... and as long as any in-order run (the quadratic definition)
    for i in range(len(olds)):
        for k in range(i):
            if olds[k] < olds[i]:
                longest[i] = max(longest[i], longest[k] + 1)
    assert len(kept) == max(longest, default=0)


# ---- before the first heading ------------------------------------------------------------------


@pytest.mark.parametrize(
    "opening",
    [
        "> FADE IN:",
        "FADE IN:",
        "> FADE IN:\n\n[[A note for the producer.]]",
        "**Note: the production values for this don't have to be great.**\n\n> FADE IN:",
        "Note: shot on one camera.",
        "> ACT ONE <\n\nCOLD OPEN",
        "# Act one\n\n= The story begins.\n\nBLACK SCREEN.",
    ],
)
def test_lead_ins_and_notes_before_the_first_heading_are_kept_but_are_no_scene(opening: str) -> None:
    doc = build_breakdown(parse_fountain(f"{opening}\n\nINT. ROOM - DAY\n\nAnna sits.\n"))

    assert [s["number"] for s in doc["scenes"]] == ["1"]
    assert not doc["scenes"][0].get("unheaded")
    kept = " ".join(p["text"] for p in doc["preamble"])
    for word in ("FADE", "producer", "production", "camera", "COLD"):
        if word in opening:
            assert word in kept


def test_story_before_the_first_heading_is_an_unheaded_scene_with_a_warning() -> None:
    doc = build_breakdown(parse_fountain(
        "> FADE IN:\n\nA car races through the dark.\n\nANNA (V.O.)\nIt started here.\n\n"
        "INT. ROOM - DAY\n\nAnna sits.\n"))  # fmt: skip

    assert [s["number"] for s in doc["scenes"]] == ["0", "1"]
    assert doc["scenes"][0]["unheaded"] is True
    assert any("before its first scene heading" in w["message"] and w["line"] == 3 for w in doc["warnings"])
    assert doc["preamble"] == []  # the transition belongs to scene 0 now
