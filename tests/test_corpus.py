"""Screenplays from other tools, through the whole chain, as a new user would run them.

Every file in ``tests/data/corpus/`` (origins and licences in its ``SOURCES.md``) was
written by someone else's tool: Final Draft, Fade In, screenplain, afterwriting,
jumpcut, hand-written Fountain. Each goes through ``import-script``, ``breakdown``,
``plan``, ``layout`` and ``previs`` with a short animatic (its first scene and its
last), and must come out whole:

- every command exits 0 and prints no traceback; any warning is one line;
- nothing is lost: every word of the script's story (action, dialogue, lyrics,
  transitions, centred text) is in the breakdown, in a scene's beats or in its
  preamble, and every heading is a scene;
- the preamble never becomes a scene or a shot unless it tells story;
- every scene is planned, and every scene previsualised has its boards, its part of
  the animatic and its clips in the timeline.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from moviola.script import ElementType, read_screenplay

CORPUS = Path(__file__).resolve().parent / "data" / "corpus"
FILES = sorted(p for p in CORPUS.iterdir() if p.suffix in (".fountain", ".fdx"))
STORY = (ElementType.ACTION, ElementType.DIALOGUE, ElementType.LYRICS, ElementType.TRANSITION,
         ElementType.CENTERED)  # fmt: skip
#: What a reader of each file knows it holds: its scene count, its title, the words that
#: come before its first heading (kept, not a scene).
KNOWN: dict[str, dict[str, Any]] = {
    "brick_and_steel.fountain": {"scenes": 8, "title_lines": ["BRICK & STEEL", "FULL RETIRED"]},
    "brick_and_steel.fdx": {"scenes": 8},
    # A note before the title page, then the title page: a title, not a scene 0.
    "afterwriting_test.fountain": {"scenes": 11, "title_lines": ["Screenplay title", "Second line"]},
    # A bold note to the reader and "> FADE IN:" before the first heading: a preamble.
    "earthbound_library_freak_out.fountain": {"scenes": 3, "preamble": ["production values", "FADE IN"]},
    "the_last_birthday_card.fountain": {"scenes": 48, "preamble": ["HERE WE GO"]},
    "the_last_birthday_card.fdx": {"scenes": 48},
    # Headings in Cyrillic are not headings in Fountain 1.1: the story is one unheaded scene.
    "afterwriting_cyrillic.fountain": {"scenes": 1, "unheaded": True, "title_lines": ["Лорем ипсум"]},
    # "INT。" (an ideographic full stop) is no heading in Fountain 1.1 either.
    "afterwriting_jp.fountain": {"scenes": 1, "unheaded": True},
    "jumpcut_vikings_scrambled.fountain": {"scenes": 115},
    "jumpcut_vikings_scrambled.fdx": {"scenes": 115},
}
#: The Fountain format's own sample goes through previs whole; the rest, first and last scene.
WHOLE_PREVIS = {"brick_and_steel.fountain", "brick_and_steel.fdx"}
SMALL = ("--no-audio", "--no-model", "--size", "192x108", "--board-width", "256")


def words(text: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", text.lower()))


def test_the_corpus_holds_at_least_ten_screenplays_from_other_tools_with_their_origins() -> None:
    sources = (CORPUS / "SOURCES.md").read_text(encoding="utf-8")
    assert len(FILES) >= 10
    assert {p.suffix for p in FILES} == {".fountain", ".fdx"}
    for path in FILES:
        assert f"`{path.name}`" in sources, f"{path.name} has no origin and licence in SOURCES.md"
    assert (CORPUS / "brick_and_steel.fountain").is_file() and (CORPUS / "brick_and_steel.fdx").is_file()


@pytest.mark.parametrize("script", FILES, ids=[p.name for p in FILES])
def test_a_screenplay_from_another_tool_goes_through_the_whole_chain(
    script: Path, tmp_path: Path, run_cli: Any
) -> None:
    project = tmp_path / "film"

    def ok(*args: str | Path) -> str:
        result = run_cli(*args)
        assert result.code == 0, f"moviola {args[0]} on {script.name}: {result.err}"
        assert "Traceback" not in result.err + result.out
        for line in result.err_lines:
            assert line.startswith(("warning:", "note:")), f"{script.name}: {line!r}"
        return result.out

    ok("init", project)
    ok("import-script", project, script)
    breakdown = json.loads(ok("breakdown", project, "--no-model", "--json"))
    plan = json.loads(ok("plan", project, "--json"))
    ok("layout", project)

    known = KNOWN.get(script.name, {})
    if "scenes" in known:
        assert len(breakdown["scenes"]) == known["scenes"]
    if "title_lines" in known:
        assert breakdown["script"]["title_lines"] == known["title_lines"]
        assert breakdown["script"]["title"] == " ".join(known["title_lines"])
    assert bool(breakdown["scenes"][0].get("unheaded")) == known.get("unheaded", False)
    preamble = " ".join(p["text"] for p in breakdown["preamble"])
    for phrase in known.get("preamble", []):
        assert phrase in preamble

    # Nothing lost: the story's words are all in the breakdown.
    parsed = read_screenplay(script)
    headings = [e for e in parsed.elements if e.type is ElementType.SCENE_HEADING]
    scenes = breakdown["scenes"]
    unheaded = [s for s in scenes if s.get("unheaded")]
    assert len(scenes) == len(headings) + len(unheaded)
    assert len(unheaded) <= 1 and (not unheaded or scenes[0] is unheaded[0])
    kept = words(" ".join(
        [s["heading"] for s in scenes]
        + [b["text"] + " " + b.get("character", "") + " " + b.get("parenthetical", "")
           for s in scenes for b in s["beats"]]
        + [p["text"] for p in breakdown["preamble"]]
    ))  # fmt: skip
    story = words(" ".join(e.plain for e in parsed.elements if e.type in STORY))
    assert story - kept == set(), f"{script.name}: words lost on the way to the breakdown"

    # The preamble is never a shot; every scene is planned.
    assert [s["number"] for s in plan["scenes"]] == [s["number"] for s in scenes]
    assert all(s["shot_ids"] and s["edit"] for s in plan["scenes"]), "a scene with no shot"

    # Previs of a short animatic: the first scene and the last.
    numbers = [str(s["number"]) for s in plan["scenes"] if s.get("edit")]
    chosen = numbers if script.name in WHOLE_PREVIS else list(dict.fromkeys(numbers[:1] + numbers[-1:]))
    previs = json.loads(ok("previs", project, *SMALL, "--scenes", ",".join(chosen), "--json"))
    assert previs["settings"]["scenes"] == chosen
    assert (project / previs["outputs"]["animatic"]).stat().st_size > 0
    assert sorted(previs["outputs"]["contact_sheets"]) == sorted(chosen)
    boards = previs["outputs"]["storyboards"]
    assert boards and all((project / b["image"]).is_file() for b in boards)
    timeline = json.loads((project / previs["outputs"]["timeline"]["otio"]).read_text(encoding="utf-8"))
    clip_scenes = {c["metadata"]["moviola"]["scene"] for c in _clips(timeline)}
    assert clip_scenes == set(chosen)


def _clips(node: Any) -> list[dict[str, Any]]:
    """Every clip in an OTIO JSON tree."""
    if isinstance(node, dict):
        found = [node] if str(node.get("OTIO_SCHEMA", "")).startswith("Clip.") else []
        return found + [c for v in node.values() for c in _clips(v)]
    if isinstance(node, list):
        return [c for v in node for c in _clips(v)]
    return []
