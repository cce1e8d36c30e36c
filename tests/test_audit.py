"""The continuity audit, rule by rule, on hand-made plans (tests/data/plans/*.json).

Every fixture is a one-scene ``ShotPlan.1`` document. Most use the same room:

    ANA   at (-0.75, 0) facing   0 deg (toward BRUNO)
    BRUNO at (+0.75, 0) facing 180 deg (toward ANA)

so the 180-degree line runs along y = 0 and, for the line ANA -> BRUNO,
``side_of_line(p) = p.y``: every "proper" camera sits at y < 0.

Conventions (moviola.plan._geometry): angles are degrees counter-clockwise
from +x; a camera's ``pan`` is where the lens looks; the frame's right-hand
side is the direction (sin pan, -cos pan). So a camera looking +y (pan 90)
has +x on screen right, and one looking -y (pan -90) has +x on screen left.

Distances come from the auto-framing rule, distance = (visible / 2) / tan(vfov / 2),
on an Alexa 35 at 2.39:1 (used filmback 27.99 x 11.711 mm):

    MCU (0.60 m) on 50 mm: vfov 13.36 deg -> 2.562 m
    CU  (0.38 m) on 75 mm: vfov  8.93 deg -> 2.433 m
    ECU (0.15 m) on 100 mm: vfov 6.70 deg -> 1.281 m
    MS  (0.95 m) on 40 mm: vfov 16.66 deg -> 3.245 m

The clean coverage (clean_dialogue.json), with the cut in order:

    1   master FS    (0, -5)           pan 90     ANA screen-left, BRUNO screen-right
    1A  two-shot MS  (0, -3)           pan 90
    1B  OTS on BRUNO (-1.55, -0.35)    pan 8.65   behind ANA's shoulder
    1C  OTS on ANA   (+1.55, -0.35)    pan 171.35 behind BRUNO's shoulder
    1A  two-shot again
    1E  BRUNO MCU    (-1.468, -1.281)  pan 30     BRUNO + 2.562 m at 210 deg (3/4 from the front)
    1D  ANA MCU      (+1.468, -1.281)  pan 150    ANA + 2.562 m at -30 deg
    1   master again

Eyelines of the singles: ANA looks along +x; in 1D the right of frame is
(sin 150, -cos 150) = (0.5, 0.866), so ANA looks screen-right (+0.5). BRUNO
looks along -x; in 1E the right of frame is (0.5, -0.866), so BRUNO looks
screen-left (-0.5): they face each other across the cut.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from moviola.plan import RULES, Finding, audit_plan, build_plan, shots_from_plan

if TYPE_CHECKING:
    from conftest import CliResult, RunCli

PLANS = Path(__file__).resolve().parent / "data" / "plans"
FIXTURES = sorted(p.name for p in PLANS.glob("*.json"))


@cache
def _load(name: str) -> str:
    return (PLANS / name).read_text(encoding="utf-8")


def plan(name: str) -> dict[str, Any]:
    """A fresh copy of a fixture plan."""
    doc: dict[str, Any] = json.loads(_load(name))
    return doc


def audit(name: str) -> list[Finding]:
    return audit_plan(plan(name))


def rules(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def shot(doc: dict[str, Any], sid: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [s for s in doc["shots"] if s["id"] == sid]
    assert len(found) == 1, f"shot {sid}: {len(found)} matches"
    return found[0]


# --------------------------------------------------------------------------
# the fixtures themselves: valid plans whose cameras do see their subjects
# --------------------------------------------------------------------------


def test_fixture_set_is_complete() -> None:
    expected = {
        "clean_dialogue.json",
        "crossing_180.json",
        "crossing_180_deliberate.json",
        "crossing_180_neutral.json",
        "crossing_180_travelling.json",
        "eyeline.json",
        "jump_cut.json",
        "jump_cut_45deg.json",
        "jump_cut_two_sizes.json",
        "screen_direction.json",
        "screen_direction_same_side.json",
        "size_monotony_3.json",
        "size_monotony_4.json",
    }
    assert expected <= set(FIXTURES)


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_is_a_valid_plan_whose_cameras_frame_their_subjects(name: str) -> None:
    from moviola.plan._geometry import screen_x

    doc = plan(name)
    assert doc["schema"] == "ShotPlan.1"
    shots = {s.id: s for s in shots_from_plan(doc)}
    [scene] = doc["scenes"]
    assert set(scene["shot_ids"]) == set(shots)
    assert {item["shot"] for item in scene["edit"]} <= set(shots)
    marks = {c["name"]: c["marks"] for c in scene["blocking"]["characters"]}
    for item in scene["edit"]:
        s = shots[item["shot"]]
        half = math.tan(math.radians(s.camera.hfov / 2))
        for name_ in s.subjects:
            m = [m for m in marks[name_] if m["beat"] <= item["beat"]][-1]
            x = screen_x((m["x"], m["y"]), s.camera.position, s.camera.pan)
            assert abs(x) <= half + 1e-9, f"{s.id} does not see {name_} at beat {item['beat']}"


def test_geometry_conventions_the_fixtures_rely_on() -> None:
    from moviola.plan._geometry import screen_direction, side_of_line

    a, b = (-0.75, 0.0), (0.75, 0.0)
    # side_of_line for ANA -> BRUNO is simply y: proper cameras are negative.
    assert side_of_line((0.0, -3.0), a, b) == pytest.approx(-3.0)
    assert side_of_line((-1.468, 1.281), a, b) == pytest.approx(1.281)
    # Camera at (0,-3) looking +y (pan 90): +x is screen right.
    assert screen_direction((1.0, 0.0), 90.0) == pytest.approx(1.0)
    # Camera at y > 0 looking -y (pan -90): +x is screen left.
    assert screen_direction((1.0, 0.0), -90.0) == pytest.approx(-1.0)
    # ANA looks +x: screen-right from 1D (pan 150), screen-left from the mirror (pan -150).
    assert screen_direction((1.0, 0.0), 150.0) == pytest.approx(0.5)
    assert screen_direction((1.0, 0.0), -150.0) == pytest.approx(-0.5)


# --------------------------------------------------------------------------
# clean coverage
# --------------------------------------------------------------------------


def test_clean_dialogue_coverage_has_no_findings() -> None:
    # All cameras at y < 0 (one side of the line); OTS and singles alternate
    # eyelines (BRUNO screen-left, ANA screen-right); consecutive shots of the same
    # people differ by two sizes or by >= 30 deg (1A -> 1B: from ANA's mark the
    # two-shot is at bearing -76 deg and the OTS at -156 deg); no four cuts share a size.
    doc = plan("clean_dialogue.json")
    assert all(s["camera"]["y"] < 0 for s in doc["shots"])
    assert audit_plan(doc) == []


def test_audit_does_not_change_the_document() -> None:
    doc = plan("crossing_180.json")
    before = copy.deepcopy(doc)
    audit_plan(doc)
    assert doc == before


# --------------------------------------------------------------------------
# 180-degree line
# --------------------------------------------------------------------------


def test_a_single_across_the_line_is_a_180_error() -> None:
    # 1E (BRUNO's single) mirrored to (-1.468, +1.281), pan -30: side_of_line = +1.281
    # while the two-shot before it (y = -3) and ANA's single after it (y = -1.281) are
    # negative. Both cuts touching 1E swap ANA and BRUNO on screen.
    doc = plan("crossing_180.json")
    assert shot(doc, "1E")["camera"]["y"] > 0
    found = rules(audit_plan(doc), "180-line")
    assert 1 <= len(found) <= 2
    assert [f.shots for f in found] == [["1A", "1E"], ["1E", "1D"]]
    for f in found:
        assert f.severity == "error"
        assert f.scene == "1"
        assert "1E" in f.explanation and "ANA" in f.explanation and "BRUNO" in f.explanation
    # The beat of each finding is the beat at the cut (edit items 5 and 6).
    assert [f.beat for f in found] == [5, 6]


def test_the_crossing_also_breaks_the_eyeline() -> None:
    # From (-1.468, +1.281), pan -30, the right of frame is (-0.5, -0.866): BRUNO, looking
    # along -x, now looks screen-right (+0.5), like ANA in 1D: an eyeline mismatch too.
    eyeline = rules(audit("crossing_180.json"), "eyeline")
    assert [f.shots for f in eyeline] == [["1E", "1D"]]
    assert "screen-right" in eyeline[0].explanation


def test_a_deliberate_cross_is_not_a_180_error() -> None:
    doc = plan("crossing_180_deliberate.json")
    assert shot(doc, "1E")["cross_line"] is True
    assert shot(doc, "1E")["camera"]["y"] > 0
    findings = audit_plan(doc)
    assert rules(findings, "180-line") == []
    # Marking the cross does not change where BRUNO looks on screen.
    assert [f.shots for f in rules(findings, "eyeline")] == [["1E", "1D"]]


def test_a_neutral_shot_on_the_line_is_not_a_180_error() -> None:
    # 1E at (-1.81, +0.2): 0.2 m off the line (< 0.25 m), looking straight along it
    # (pan 0), BRUNO 0.2 m right of the axis at 2.56 m. On the positive side, but neutral.
    doc = plan("crossing_180_neutral.json")
    cam = shot(doc, "1E")["camera"]
    assert 0 < cam["y"] < 0.25
    assert audit_plan(doc) == []


def test_a_neutral_shot_just_outside_the_tolerance_is_an_error() -> None:
    doc = plan("crossing_180_neutral.json")
    shot(doc, "1E")["camera"]["y"] = 0.3  # 0.3 m off the line: no longer neutral
    assert [f.shots for f in rules(audit_plan(doc), "180-line")] == [["1A", "1E"], ["1E", "1D"]]


def test_a_camera_that_travels_across_the_line_is_not_a_180_error() -> None:
    # 1E trucks from (-1.468, +1.281) to (-1.468, -1.281): it crosses on camera.
    doc = plan("crossing_180_travelling.json")
    s = shot(doc, "1E")
    assert s["movement"] == "truck"
    assert s["camera"]["y"] > 0 > s["camera"]["end"]["y"]
    assert rules(audit_plan(doc), "180-line") == []


@pytest.mark.parametrize("movement", ["dolly in", "truck", "steadicam", "crane"])
def test_any_travelling_move_across_the_line_is_excused(movement: str) -> None:
    doc = plan("crossing_180_travelling.json")
    shot(doc, "1E")["movement"] = movement
    assert rules(audit_plan(doc), "180-line") == []


def test_a_static_or_one_sided_move_does_not_excuse_the_crossing() -> None:
    # The same camera with its end on the same (wrong) side, or a pan that does
    # not travel, is still an error.
    doc = plan("crossing_180_travelling.json")
    shot(doc, "1E")["camera"]["end"]["y"] = 2.0
    assert len(rules(audit_plan(doc), "180-line")) == 2
    doc = plan("crossing_180_travelling.json")
    shot(doc, "1E")["movement"] = "pan"
    assert len(rules(audit_plan(doc), "180-line")) == 2


# --------------------------------------------------------------------------
# eyeline
# --------------------------------------------------------------------------


def test_two_singles_looking_the_same_way_are_an_eyeline_warning() -> None:
    # 1E (proper, pan 30): BRUNO looks screen-left (-0.5). 1D moved to ANA + 2.562 m at
    # +30 deg = (1.468, +1.281), pan -150: right of frame (-0.5, 0.866), ANA looks along +x
    # -> -0.5, screen-left too. 1D is marked cross_line so only the eyeline is at issue.
    findings = audit("eyeline.json")
    assert [f.rule for f in findings] == ["eyeline"]
    [f] = findings
    assert f.shots == ["1E", "1D"]
    assert f.severity == "warning"
    assert "screen-left" in f.explanation
    assert "BRUNO" in f.explanation and "ANA" in f.explanation


def test_eyeline_is_only_checked_between_singles_of_the_pair() -> None:
    # Make 1D a wide shot of ANA: not a single any more, so no eyeline finding.
    doc = plan("eyeline.json")
    shot(doc, "1D")["size"] = "WS"
    assert rules(audit_plan(doc), "eyeline") == []


# --------------------------------------------------------------------------
# jump cut
# --------------------------------------------------------------------------


def test_similar_size_and_angle_is_a_jump_cut() -> None:
    # 1A: ANA MCU from bearing -60 deg (camera at ANA + 2.562 m at -60 = (0.531, -2.218)).
    # 1B: ANA CU from bearing -50 deg (ANA + 2.433 m at -50 = (0.814, -1.864)).
    # MCU -> CU is one step, and the two lines of sight differ by 10 deg < 30.
    findings = audit("jump_cut.json")
    assert [f.rule for f in findings] == ["jump-cut"]
    [f] = findings
    assert f.shots == ["1A", "1B"]
    assert f.beat == 2
    assert "10 degrees" in f.explanation


def test_forty_five_degrees_apart_is_not_a_jump_cut() -> None:
    # 1B at bearing -15 deg: (1.600, -0.630), 45 deg away from 1A's -60.
    assert audit("jump_cut_45deg.json") == []


def test_two_sizes_apart_is_not_a_jump_cut() -> None:
    # MCU -> ECU (two steps), still only 10 deg apart.
    assert audit("jump_cut_two_sizes.json") == []


def test_jump_cut_threshold_is_thirty_degrees() -> None:
    def at(bearing: float) -> list[Finding]:
        doc = plan("jump_cut.json")
        cam = shot(doc, "1B")["camera"]
        r = 2.433
        cam["x"] = -0.75 + r * math.cos(math.radians(bearing))
        cam["y"] = r * math.sin(math.radians(bearing))
        cam["pan"] = bearing + 180
        return rules(audit_plan(doc), "jump-cut")

    assert len(at(-60 + 29)) == 1
    assert at(-60 + 31) == []


# --------------------------------------------------------------------------
# screen direction
# --------------------------------------------------------------------------


def test_a_move_seen_from_both_sides_is_a_screen_direction_warning() -> None:
    # CARLOS walks (-3,2) -> (3,2) during beat 1: the move is (+6, 0).
    # Shot 1 at (0,-4) looking +y (pan 90): right = +x, he walks left to right.
    # Shot 1A at (3,8) looking -y (pan -90): right = -x, he walks right to left.
    # The cut at beat 1 splits that one walk between the two shots.
    findings = audit("screen_direction.json")
    assert [f.rule for f in findings] == ["screen-direction"]
    [f] = findings
    assert f.shots == ["1", "1A"]
    assert f.beat == 1
    assert "CARLOS" in f.explanation
    assert "left to right in 1" in f.explanation and "right to left in 1A" in f.explanation


def test_a_move_seen_from_the_same_side_keeps_its_direction() -> None:
    # 1A at (3,-2) looking +y: right = +x, the walk still reads left to right.
    assert audit("screen_direction_same_side.json") == []


def test_screen_direction_needs_the_mover_in_both_shots() -> None:
    doc = plan("screen_direction.json")
    shot(doc, "1A")["subjects"] = []
    assert rules(audit_plan(doc), "screen-direction") == []


# --------------------------------------------------------------------------
# size monotony
# --------------------------------------------------------------------------


def test_four_cuts_at_one_size_are_monotonous() -> None:
    # FS, then MS two-shot, MS ANA, MS BRUNO, MS two-shot, then FS.
    findings = audit("size_monotony_4.json")
    assert [f.rule for f in findings] == ["size-monotony"]
    [f] = findings
    assert f.severity == "info"
    assert f.shots == ["1A", "1B", "1C", "1A"]
    assert "4 cuts" in f.explanation and "MS" in f.explanation


def test_three_cuts_at_one_size_are_fine() -> None:
    assert audit("size_monotony_3.json") == []


# --------------------------------------------------------------------------
# all rules, and the findings' shape
# --------------------------------------------------------------------------


def test_every_rule_has_a_fixture_that_fires_it() -> None:
    fired = {f.rule for name in FIXTURES for f in audit(name)}
    assert fired == set(RULES)


@pytest.mark.parametrize(
    "name",
    [
        "clean_dialogue.json",
        "crossing_180_neutral.json",
        "jump_cut_45deg.json",
        "jump_cut_two_sizes.json",
        "screen_direction_same_side.json",
        "size_monotony_3.json",
    ],
)
def test_quiet_fixtures_are_quiet(name: str) -> None:
    assert audit(name) == []


def test_findings_serialise_without_empty_fields() -> None:
    [f] = audit("size_monotony_4.json")
    data = f.to_json()
    assert data["rule"] == "size-monotony"
    assert "beat" not in data and "diagram" not in data  # None is left out
    json.dumps(data)


# --------------------------------------------------------------------------
# the CLI audits a hand-made plan
# --------------------------------------------------------------------------


def _with_plan(project: Path, name: str) -> Path:
    target = project / "documents" / "plan.json"
    shutil.copyfile(PLANS / name, target)
    return target


def test_cli_audit_of_clean_hand_made_plan(run_cli: RunCli, new_project: Path) -> None:
    _with_plan(new_project, "clean_dialogue.json")
    result: CliResult = run_cli("audit", new_project, "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == []
    result = run_cli("audit", new_project)
    assert result.code == 0, result.err
    assert "No continuity problems found." in result.out


def test_cli_audit_of_crossing_hand_made_plan(run_cli: RunCli, new_project: Path) -> None:
    plan_path = _with_plan(new_project, "crossing_180.json")
    before = plan_path.read_bytes()
    result = run_cli("audit", new_project, "--json")
    assert result.code == 0, result.err  # findings are a report, not a failure
    findings = json.loads(result.out)
    assert [(f["rule"], f["shots"]) for f in findings] == [
        ("180-line", ["1A", "1E"]),
        ("180-line", ["1E", "1D"]),
        ("eyeline", ["1E", "1D"]),
    ]
    for f in findings:
        assert f["explanation"] and f["severity"] in ("error", "warning", "info")
        assert (new_project / "reports" / f["diagram"]).is_file()
    saved = json.loads((new_project / "documents" / "audit.json").read_text(encoding="utf-8"))
    assert saved["schema"] == "Audit.1"
    assert [f["rule"] for f in saved["findings"]] == [f["rule"] for f in findings]
    assert plan_path.read_bytes() == before  # the audit never rewrites the plan


# --------------------------------------------------------------------------
# the bundled example's automatic plans
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example_breakdown(nevada_path: Path) -> dict[str, Any]:
    from moviola.script import build_breakdown, read_screenplay

    return build_breakdown(read_screenplay(nevada_path))


@pytest.fixture(scope="module")
def example_findings(
    example_breakdown: dict[str, Any],
) -> Callable[[str], list[Finding]]:
    cache_: dict[str, list[Finding]] = {}

    def get(style: str) -> list[Finding]:
        if style not in cache_:
            doc, _ = build_plan(example_breakdown, style=style)
            cache_[style] = audit_plan(doc)
        return cache_[style]

    return get


@pytest.mark.parametrize("style", ["long-takes", "classical", "documentary"])
def test_example_plan_keeps_the_line(
    style: str, example_findings: Callable[[str], list[Finding]]
) -> None:
    crossings = [f for f in example_findings(style) if f.rule == "180-line"]
    assert crossings == [], [(f.scene, f.shots) for f in crossings]


def test_example_classical_plan_has_no_errors(
    example_findings: Callable[[str], list[Finding]],
) -> None:
    # At the time of writing the classical plan of the example has no findings at all;
    # only the absence of errors is part of the contract.
    errors = [f for f in example_findings("classical") if f.severity == "error"]
    assert errors == [], [(f.rule, f.scene, f.shots) for f in errors]
