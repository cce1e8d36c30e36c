"""The shot planner and its editing contract.

- shot ids: slate-style, never reused, never colliding with another scene's number;
- the plan of the bundled example: valid shots, real lenses and bodies, times that
  add up to the page count, the coverage a script supervisor would expect, VFX cues;
- determinism and styles;
- auto-framing: distance = (visible height / 2) / tan(vfov / 2);
- the CLI (``plan``, ``audit``, ``shot set``, ``shot delete``), people's edits
  surviving a script revision, and hand-edited plans that are refused.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from moviola.plan import CAMERAS, STYLES, build_plan, shot_ids, shots_from_plan
from moviola.plan._cameras import PRIMES_LF, PRIMES_S35, primes_for

NEVADA = Path(__file__).resolve().parent.parent / "examples" / "nevada" / "nevada.fountain"

if TYPE_CHECKING:
    from conftest import CliResult, RunCli, Snapshot

    SnapshotFn = Callable[[Path], Snapshot]
    ErrorCheck = Callable[[CliResult, Path | str], None]

Doc = dict[str, Any]
SECONDS_PER_EIGHTH = 7.5  # one page a minute, eight eighths a page


# --------------------------------------------------------------------------
# helpers and shared plans
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def breakdown(nevada_path: Path) -> Doc:
    from moviola.script import build_breakdown, read_screenplay

    return build_breakdown(read_screenplay(nevada_path))


@pytest.fixture(scope="module")
def plans(breakdown: Doc) -> Callable[..., Doc]:
    """``plans(style=..., seed=..., camera=..., aspect=...)``: the example's plan, cached."""
    made: dict[tuple[tuple[str, Any], ...], Doc] = {}

    def get(**kw: Any) -> Doc:
        key = tuple(sorted(kw.items()))
        if key not in made:
            made[key], _ = build_plan(breakdown, **kw)
        return made[key]

    return get


@pytest.fixture(scope="module")
def classical(plans: Callable[..., Doc]) -> Doc:
    return plans(style="classical")


def scene_of(doc: Doc, number: str) -> Doc:
    found: list[Doc] = [s for s in doc["scenes"] if s["number"] == number]
    assert len(found) == 1, f"scene {number}: {len(found)} matches"
    return found[0]


def shots_in(doc: Doc, number: str) -> list[Doc]:
    ids = scene_of(doc, number)["shot_ids"]
    by_id = {s["id"]: s for s in doc["shots"]}
    return [by_id[i] for i in ids]


def shot_by_id(doc: Doc, sid: str) -> Doc:
    found: list[Doc] = [s for s in doc["shots"] if s["id"] == sid]
    assert len(found) == 1, f"shot {sid}: {len(found)} matches"
    return found[0]


def mark_at(scene: Doc, name: str, beat: int) -> Doc:
    """Where the blocking puts ``name`` during ``beat`` (the last mark at or before it)."""
    [person] = [c for c in scene["blocking"]["characters"] if c["name"] == name]
    marks: list[Doc] = person["marks"]
    current = marks[0]
    for m in marks:
        if m["beat"] <= beat:
            current = m
    return current


def plan_json(run_cli: RunCli, project: Path, *args: str) -> Doc:
    result = run_cli("plan", project, "--json", *args)
    assert result.code == 0, result.err
    doc: Doc = json.loads(result.out)  # stdout holds the JSON and nothing else
    return doc


def saved_plan(project: Path) -> Doc:
    doc: Doc = json.loads((project / "documents" / "plan.json").read_text(encoding="utf-8"))
    return doc


# --------------------------------------------------------------------------
# shot ids
# --------------------------------------------------------------------------


def test_shot_ids_are_slate_letters() -> None:
    assert shot_ids("12", 3, set()) == ["12", "12A", "12B"]
    assert shot_ids("12", 1, set()) == ["12"]
    assert shot_ids("12", 0, set()) == []


def test_shot_ids_skip_i_and_o() -> None:
    # 12, then A..H (8 letters), then J: I is skipped.
    ten = shot_ids("12", 10, set())
    assert ten[-2:] == ["12H", "12J"]
    # One plain id + 24 letters (26 minus I and O), then two-letter suffixes.
    many = shot_ids("12", 1 + 24 + 24 * 24, set())
    assert len(many) == len(set(many)) == 601
    assert many[24] == "12Z" and many[25] == "12AA"
    assert "12N" in many and "12P" in many
    for sid in many:
        suffix = sid[2:]
        assert "I" not in suffix and "O" not in suffix, sid


def test_shot_ids_of_a_lettered_scene_use_a_dash() -> None:
    assert shot_ids("7A", 4, set()) == ["7A", "7A-A", "7A-B", "7A-C"]
    assert "7A-I" not in shot_ids("7A", 12, set())


def test_shot_ids_skip_taken_ones() -> None:
    assert shot_ids("12", 3, {"12", "12B"}) == ["12A", "12C", "12D"]
    assert shot_ids("7A", 2, {"7A"}) == ["7A-A", "7A-B"]


def test_example_ids_are_unique_and_never_borrow_another_scene_number(classical: Doc) -> None:
    ids = [s["id"] for s in classical["shots"]]
    assert len(ids) == len(set(ids))
    numbers = {s["number"] for s in classical["scenes"]}
    assert {"7", "7A"} <= numbers
    scene7 = [s["id"] for s in shots_in(classical, "7")]
    assert "7A" not in scene7  # scene 7A exists: its number is not a shot of scene 7
    assert "7A" in [s["id"] for s in shots_in(classical, "7A")]
    for scene in classical["scenes"]:
        for sid in scene["shot_ids"]:
            if sid != scene["number"]:
                assert sid not in numbers, f"shot {sid} of scene {scene['number']}"
            assert sid.startswith(scene["number"])
            assert shot_by_id(classical, sid)["scene"] == scene["number"]
    assert sorted(ids) == sorted(i for sc in classical["scenes"] for i in sc["shot_ids"])


# --------------------------------------------------------------------------
# the example's plan
# --------------------------------------------------------------------------


def test_every_example_shot_validates(classical: Doc) -> None:
    shots = shots_from_plan(classical)
    assert len(shots) == len(classical["shots"]) == classical["totals"]["shots"] > 50
    assert classical["schema"] == "ShotPlan.1"
    assert classical["retired_ids"] == []


@pytest.mark.parametrize("style", sorted(STYLES))
def test_bodies_and_lenses_are_real(style: str, plans: Callable[..., Doc]) -> None:
    doc = plans(style=style)
    for s in shots_from_plan(doc):
        assert s.camera.body in CAMERAS
        assert s.camera.body == doc["settings"]["camera"] == "alexa35"
        assert s.lens_mm in PRIMES_S35, f"{s.id}: {s.lens_mm} mm"
        assert s.duration_s > 0


def test_large_format_bodies_get_large_format_primes(plans: Callable[..., Doc]) -> None:
    doc = plans(camera="alexa-mini-lf")
    assert primes_for(CAMERAS["alexa-mini-lf"]) == PRIMES_LF
    for s in shots_from_plan(doc):
        assert s.camera.body == "alexa-mini-lf"
        assert s.lens_mm in PRIMES_LF, f"{s.id}: {s.lens_mm} mm"


def test_durations_add_up_to_the_page_count(classical: Doc, breakdown: Doc) -> None:
    by_number = {s["number"]: s for s in breakdown["scenes"]}
    total = 0.0
    for scene in classical["scenes"]:
        source = by_number[scene["number"]]
        shots_total = sum(s["duration_s"] for s in shots_in(classical, scene["number"]))
        edit_total = sum(item["duration_s"] for item in scene["edit"])
        assert shots_total == pytest.approx(scene["duration_s"], abs=1.0), scene["number"]
        assert edit_total == pytest.approx(scene["duration_s"], abs=0.1), scene["number"]
        # The scene's time is its page count: eighths x 7.5 s (one page a minute).
        assert scene["eighths"] == source["eighths"]
        assert scene["duration_s"] == pytest.approx(source["eighths"] * SECONDS_PER_EIGHTH, abs=0.1)
        assert scene["duration_s"] == pytest.approx(source["screen_time_s"], abs=0.1)
        total += scene["duration_s"]
    assert classical["totals"]["duration_s"] == pytest.approx(total, abs=0.1)
    assert classical["totals"]["scenes"] == len(breakdown["scenes"])


def test_each_shot_plays_for_the_time_the_cut_gives_it(classical: Doc) -> None:
    for scene in classical["scenes"]:
        used = Counter[str]()
        items = Counter[str]()
        for item in scene["edit"]:
            used[item["shot"]] += item["duration_s"]
            items[item["shot"]] += 1
        for s in shots_in(classical, scene["number"]):
            # Edit items are rounded to 0.01 s and the shot to 0.1 s (at least 0.5 s).
            slack = 0.05 + 0.005 * items[s["id"]] + 1e-9
            assert s["duration_s"] == pytest.approx(max(0.5, used[s["id"]]), abs=slack), s["id"]


def test_the_example_gets_classical_coverage(classical: Doc) -> None:
    purposes = Counter(s["purpose"] for s in classical["shots"])
    for purpose in ("establishing", "master", "two-shot", "ots", "single", "insert"):
        assert purposes[purpose] >= 1, purpose
    sizes = {s["size"] for s in classical["shots"]}
    assert {"EWS", "MS", "MCU", "CU", "INSERT"} <= sizes
    # Over-the-shoulders are framed on the speaker, with the listener's shoulder in frame.
    for s in classical["shots"]:
        if s["purpose"] == "ots":
            assert s["angle"] == "OTS" and len(s["subjects"]) == 2
        if s["purpose"] in ("insert", "establishing"):
            assert s["subjects"] == []


def test_de_aging_in_scene_7(classical: Doc) -> None:
    vfx = [s for s in shots_in(classical, "7") if s["vfx"]]
    assert [s["vfx_kind"] for s in vfx] == ["de_aging"]
    [s] = vfx
    assert s["subjects"] == ["OFELIA"]
    assert s["size"] == "CU"


def test_the_collapse_gets_a_plate_and_reactions(classical: Doc) -> None:
    scene = scene_of(classical, "11")
    shots = {s["id"]: s for s in shots_in(classical, "11")}
    [plate] = [s for s in shots.values() if s["vfx_kind"] == "collapse"]
    assert plate["vfx"] is True
    assert plate["purpose"] == "vfx-plate"
    assert plate["movement"] == "static"  # locked off for the composite
    assert plate["size"] == "EWS"
    reactions = [s for s in shots.values() if s["purpose"] == "reaction"]
    assert len(reactions) >= 1
    present = {c["name"] for c in scene["blocking"]["characters"]}
    for r in reactions:
        assert r["subjects"] and set(r["subjects"]) <= present
    # In the cut, the plate is followed by the reactions on the same beat.
    edit = scene["edit"]
    first = next(i for i, item in enumerate(edit) if item["shot"] == plate["id"])
    beat = edit[first]["beat"]
    after = [item["shot"] for item in edit[first + 1 :] if item["beat"] == beat]
    assert after and all(shots[sid]["purpose"] == "reaction" for sid in after)


def test_vfx_totals(classical: Doc) -> None:
    assert classical["totals"]["vfx_shots"] == sum(1 for s in classical["shots"] if s["vfx"])
    kinds = {s["vfx_kind"] for s in classical["shots"] if s["vfx"]}
    assert {"collapse", "de_aging"} <= kinds


# --------------------------------------------------------------------------
# determinism and styles
# --------------------------------------------------------------------------


def test_same_seed_same_plan(breakdown: Doc) -> None:
    a, _ = build_plan(breakdown, seed=7)
    b, _ = build_plan(breakdown, seed=7)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_another_seed_is_another_plan(plans: Callable[..., Doc]) -> None:
    a, b = plans(seed=0), plans(seed=1)
    assert json.dumps(a["shots"]) != json.dumps(b["shots"])
    assert a["settings"]["seed"] == 0 and b["settings"]["seed"] == 1


def test_styles_differ_visibly(plans: Callable[..., Doc]) -> None:
    classical, doc, long = (plans(style=s) for s in ("classical", "documentary", "long-takes"))
    assert len({classical["style_description"], doc["style_description"],
                long["style_description"]}) == 3  # fmt: skip
    # Long takes: far fewer shots, a Steadicam master carries each scene, no OTS, no inserts.
    assert len(long["shots"]) < 0.6 * len(classical["shots"])
    assert any(s["movement"] == "steadicam" and s["purpose"] == "master" for s in long["shots"])
    assert not any(s["purpose"] in ("ots", "insert") for s in long["shots"])
    # Documentary: handheld, no over-the-shoulders.
    moves = Counter(s["movement"] for s in doc["shots"])
    assert moves["handheld"] > len(doc["shots"]) / 2
    assert not any(s["purpose"] == "ots" or s["angle"] == "OTS" for s in doc["shots"])
    # Classical: mostly static, with OTS pairs.
    assert (
        Counter(s["movement"] for s in classical["shots"])["static"] > len(classical["shots"]) / 2
    )
    assert any(s["purpose"] == "ots" for s in classical["shots"])


def test_unknown_style_is_refused(breakdown: Doc) -> None:
    from moviola.core import InputError

    with pytest.raises(InputError, match="unknown style"):
        build_plan(breakdown, style="dogme")


# --------------------------------------------------------------------------
# auto-framing
# --------------------------------------------------------------------------

#: Published sensor sizes (mm), written out here rather than read from the library.
FILMBACKS = {"alexa35": (27.99, 19.22), "alexa-mini-lf": (36.70, 25.54)}


def used_height(camera: str, aspect: float) -> float:
    """The crop rule: the frame uses the full width and min(height, width / aspect)."""
    w, h = FILMBACKS[camera]
    return min(h, w / aspect)


def test_used_filmback_crop_rule() -> None:
    # 2.39:1 on an Alexa 35 is width-limited; 4:3 is height-limited.
    assert used_height("alexa35", 2.39) == pytest.approx(27.99 / 2.39)  # 11.711 mm
    assert used_height("alexa35", 1.33) == pytest.approx(19.22)
    assert CAMERAS["alexa35"].used(2.39)[1] == pytest.approx(27.99 / 2.39)
    assert CAMERAS["alexa35"].used(1.33)[1] == pytest.approx(19.22)


def test_single_mcu_on_50mm_alexa35_at_239(classical: Doc) -> None:
    # used_h = min(19.22, 27.99 / 2.39) = 11.711 mm; vfov = 2 atan(11.711 / 100) = 13.36 deg;
    # an MCU shows 0.6 m of the subject: distance = 0.3 / tan(6.68 deg) = 2.562 m.
    vfov = math.degrees(2 * math.atan(used_height("alexa35", 2.39) / (2 * 50)))
    expected = 0.3 / math.tan(math.radians(vfov / 2))
    assert vfov == pytest.approx(13.36, abs=0.01)
    assert expected == pytest.approx(2.562, abs=0.001)
    checked = 0
    for scene in classical["scenes"]:
        beats: dict[str, int] = {}
        for item in scene["edit"]:
            beats.setdefault(item["shot"], item["beat"])
        for s in shots_in(classical, scene["number"]):
            if s["purpose"] != "single" or s["size"] != "MCU" or s["lens_mm"] != 50:
                continue
            cam = s["camera"]
            assert cam["vfov"] == pytest.approx(vfov, abs=0.01)
            assert cam["aspect"] == 2.39
            m = mark_at(scene, s["subjects"][0], beats[s["id"]])
            distance = math.hypot(cam["x"] - m["x"], cam["y"] - m["y"])
            assert distance == pytest.approx(expected, abs=0.05), s["id"]
            assert s["subject_distance_m"] == pytest.approx(expected, abs=0.05), s["id"]
            checked += 1
    assert checked >= 3


@pytest.mark.parametrize(
    ("camera", "aspect"), [("alexa35", 2.39), ("alexa35", 1.33), ("alexa-mini-lf", 1.78)]
)
def test_single_distance_follows_the_used_filmback(
    camera: str, aspect: float, plans: Callable[..., Doc]
) -> None:
    doc = plans(camera=camera, aspect=aspect)
    h = used_height(camera, aspect)
    visible = {"MS": 0.95, "MCU": 0.6, "CU": 0.38}
    checked = 0
    for s in doc["shots"]:
        if s["purpose"] != "single" or s["size"] not in visible:
            continue
        vfov = 2 * math.atan(h / (2 * s["lens_mm"]))
        assert s["camera"]["vfov"] == pytest.approx(math.degrees(vfov), abs=0.01), s["id"]
        expected = (visible[s["size"]] / 2) / math.tan(vfov / 2)
        assert s["subject_distance_m"] == pytest.approx(expected, abs=0.05), s["id"]
        checked += 1
    assert checked >= 3


# --------------------------------------------------------------------------
# the CLI contract
# --------------------------------------------------------------------------

SHOT_FIELDS = ("id", "scene", "size", "angle", "movement", "lens_mm", "camera", "duration_s", "vfx")


def test_cli_plan_and_audit_json(run_cli: RunCli, nevada_project: Path) -> None:
    doc = plan_json(run_cli, nevada_project)
    assert doc["schema"] == "ShotPlan.1"
    assert isinstance(doc["shots"], list) and doc["shots"]
    for s in doc["shots"]:
        for key in SHOT_FIELDS:
            assert key in s, f"shot {s.get('id')} lacks {key}"
        assert {"body", "x", "y", "height", "pan"} <= set(s["camera"])
    assert "changes" not in doc  # a first plan has nothing to compare with
    assert saved_plan(nevada_project)["shots"] == doc["shots"]

    result = run_cli("audit", nevada_project, "--json")
    assert result.code == 0, result.err
    findings = json.loads(result.out)
    assert isinstance(findings, list)
    for f in findings:
        assert {"rule", "shots", "explanation"} <= set(f)

    reports = nevada_project / "reports"
    for rel in ("shotlist.html", "shotlist.csv", "camera-report.csv", "floorplans/scene-1.svg"):
        assert (reports / rel).is_file(), rel
    for scene in doc["scenes"]:
        assert (reports / "floorplans" / f"scene-{scene['number']}.svg").is_file()
    assert (nevada_project / "documents" / "audit.json").is_file()


def test_cli_plan_summary_and_reports_content(run_cli: RunCli, nevada_project: Path) -> None:
    result = run_cli("plan", nevada_project, "--style", "long-takes", "--seed", "3")
    assert result.code == 0, result.err
    assert "shots in" in result.out and "Continuity audit" in result.out
    doc = saved_plan(nevada_project)
    assert doc["settings"]["style"] == "long-takes" and doc["settings"]["seed"] == 3
    csv_text = (nevada_project / "reports" / "shotlist.csv").read_text(encoding="utf-8")
    html = (nevada_project / "reports" / "shotlist.html").read_text(encoding="utf-8")
    for s in doc["shots"][:10]:
        assert s["id"] in csv_text
        assert f"<b>{s['id']}</b>" in html
    # A plan run again without options keeps the previous settings.
    again = plan_json(run_cli, nevada_project)
    assert again["settings"]["style"] == "long-takes" and again["settings"]["seed"] == 3


def _scene6_singles(doc: Doc) -> list[Doc]:
    return [s for s in shots_in(doc, "6") if s["purpose"] == "single"]


def test_shot_delete_hands_its_time_to_the_master(run_cli: RunCli, nevada_project: Path) -> None:
    doc = plan_json(run_cli, nevada_project)
    victim = _scene6_singles(doc)[0]["id"]
    master = next(s for s in shots_in(doc, "6") if s["purpose"] == "master")
    scene_before = scene_of(doc, "6")
    moved = sum(i["duration_s"] for i in scene_before["edit"] if i["shot"] == victim)
    result = run_cli("shot", "delete", nevada_project, victim)
    assert result.code == 0, result.err
    after = saved_plan(nevada_project)
    scene = scene_of(after, "6")
    assert victim not in scene["shot_ids"]
    assert victim not in {s["id"] for s in after["shots"]}
    assert victim not in {i["shot"] for i in scene["edit"]}
    assert victim in after["retired_ids"]
    assert sum(i["duration_s"] for i in scene["edit"]) == pytest.approx(
        scene["duration_s"], abs=0.1
    )
    assert shot_by_id(after, master["id"])["duration_s"] == pytest.approx(
        master["duration_s"] + moved, abs=0.2
    )
    assert after["totals"]["shots"] == len(after["shots"]) == len(doc["shots"]) - 1


def _revise(src: Path, dst: Path) -> Path:
    """The example with one action line of scene 2 changed and a scene 16 added."""
    text = src.read_text(encoding="utf-8")
    old = "A headless dressmaker's dummy."
    assert text.count(old) == 1
    text = text.replace(old, "A headless dressmaker's dummy wears a veil.")
    text += (
        "\nINT. OFELIA'S APARTMENT - DAY #16#\n\n"
        "Ofelia sits at the Singer. Nico sleeps on the sofa.\n\n"
        "NICO\nAbuela? Is it over?\n\n"
        "OFELIA\nNothing is ever over. Go back to sleep.\n\n"
        "NICO\nWill you sing?\n\n"
        "OFELIA\nNo.\n"
    )
    dst.write_text(text, encoding="utf-8")
    return dst


def test_edits_survive_a_revision(
    run_cli: RunCli, nevada_project: Path, nevada_path: Path, tmp_path: Path
) -> None:
    first = plan_json(run_cli, nevada_project)
    singles = _scene6_singles(first)
    assert len(singles) >= 2
    edited_id, deleted_id = singles[0]["id"], singles[1]["id"]
    scene6_ids = scene_of(first, "6")["shot_ids"]
    scene2_by_setup = {s["setup"]: s["id"] for s in shots_in(first, "2")}
    scene2_pick = next(s for s in shots_in(first, "2") if s["purpose"] in ("single", "two-shot"))

    assert run_cli("shot", "set", nevada_project, edited_id, "--lens", "35").code == 0
    assert run_cli("shot", "delete", nevada_project, deleted_id).code == 0
    r = run_cli("shot", "set", nevada_project, scene2_pick["id"], "--lens", "35")
    assert r.code == 0, r.err
    edited = shot_by_id(saved_plan(nevada_project), edited_id)
    assert edited["lens_mm"] == 35 and edited["edited"] == ["lens_mm"]

    revised = _revise(nevada_path, tmp_path / "nevada-r2.fountain")
    assert run_cli("import-script", nevada_project, revised).code == 0
    assert run_cli("breakdown", nevada_project, "--no-model").code == 0
    second = plan_json(run_cli, nevada_project)

    # Scene 6 did not change: it is kept as it was, the edit and the deletion included.
    kept = shot_by_id(second, edited_id)
    assert kept["lens_mm"] == 35
    assert "lens_mm" in kept["edited"]
    all_ids = {s["id"] for s in second["shots"]}
    assert deleted_id not in all_ids
    assert deleted_id in second["retired_ids"]
    assert scene_of(second, "6")["shot_ids"] == [i for i in scene6_ids if i != deleted_id]

    changes = second["changes"]
    assert "6" in changes["scenes_kept"] and "2" not in changes["scenes_kept"]
    new16 = [s["id"] for s in shots_in(second, "16")]
    assert new16 and new16[0] == "16"
    for sid in new16:
        assert any(item.startswith(f"{sid} (") for item in changes["shots_new"]), sid
    # Only the new scene and the changed one may bring new shots.
    new_scenes = {shot_by_id(second, item.split(" ")[0])["scene"] for item in changes["shots_new"]}
    assert new_scenes <= {"2", "16"}

    # Scene 2 changed: covered again, but every setup that still exists keeps its id,
    # and the hand-set lens is carried over to it.
    for s in shots_in(second, "2"):
        if s["setup"] in scene2_by_setup:
            assert s["id"] == scene2_by_setup[s["setup"]], s["setup"]
        else:
            assert s["id"] not in {x["id"] for x in first["shots"]}
    carried = shot_by_id(second, scene2_pick["id"])
    assert carried["lens_mm"] == 35 and carried["edited"] == ["lens_mm"]
    assert len(all_ids) == len(second["shots"])


def test_shot_set_refuses_impossible_values(
    run_cli: RunCli, nevada_project: Path, snapshot: SnapshotFn
) -> None:
    doc = plan_json(run_cli, nevada_project)
    sid = _scene6_singles(doc)[0]["id"]
    before = snapshot(nevada_project)
    result = run_cli("shot", "set", nevada_project, sid, "--lens", "5000")
    assert result.code != 0
    assert len(result.err_lines) == 1 and sid in result.err and "lens_mm" in result.err
    result = run_cli("shot", "set", nevada_project, "99Z", "--lens", "35")
    assert result.code != 0 and "99Z" in result.err
    assert snapshot(nevada_project) == before


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------


def _break_lens_neg(doc: Doc, s: Doc) -> str:
    s["lens_mm"] = -35
    return "lens_mm"


def _break_lens_huge(doc: Doc, s: Doc) -> str:
    s["lens_mm"] = 5000
    return "lens_mm"


def _break_size(doc: Doc, s: Doc) -> str:
    s["size"] = "GIANT"
    return "size"


def _break_duration(doc: Doc, s: Doc) -> str:
    s["duration_s"] = 0
    return "duration_s"


def _break_subject(doc: Doc, s: Doc) -> str:
    s["subjects"] = ["NOBODY"]
    return "subjects"


def _break_duplicate(doc: Doc, s: Doc) -> str:
    i = doc["shots"].index(s)
    doc["shots"][i + 1]["id"] = s["id"]
    return "id"


def _break_body(doc: Doc, s: Doc) -> str:
    s["camera"]["body"] = "bolex"
    return "camera.body"


BREAKERS = {
    "lens -35": _break_lens_neg,
    "lens 5000": _break_lens_huge,
    "size GIANT": _break_size,
    "duration 0": _break_duration,
    "subject NOBODY": _break_subject,
    "duplicate id": _break_duplicate,
    "body bolex": _break_body,
}


@pytest.mark.parametrize("case", list(BREAKERS))
def test_hand_edited_plan_errors_are_refused(
    case: str,
    run_cli: RunCli,
    nevada_project: Path,
    snapshot: SnapshotFn,
    assert_one_line_error: ErrorCheck,
) -> None:
    doc = plan_json(run_cli, nevada_project)
    target = _scene6_singles(doc)[0]
    sid = target["id"]
    fieldname = BREAKERS[case](doc, target)
    path = nevada_project / "documents" / "plan.json"
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    before = snapshot(nevada_project)
    result = run_cli("audit", nevada_project)
    assert_one_line_error(result, "plan.json")
    line = result.err_lines[0]
    assert sid in line, line
    assert fieldname in line, line
    assert snapshot(nevada_project) == before  # plan.json byte-identical, nothing written


def test_plan_validation_knows_the_blocking_characters(classical: Doc) -> None:
    """The library check behind the CLI: plan scenes keep their people under
    ``blocking.characters``, and a shot may only name those."""
    import copy

    from moviola.core import DocumentError

    doc = copy.deepcopy(classical)
    target = _scene6_singles(doc)[0]
    target["subjects"] = ["NOBODY"]
    with pytest.raises(DocumentError, match=rf"shot {target['id']}: field 'subjects'"):
        shots_from_plan(doc)


def test_newer_breakdown_is_refused(
    run_cli: RunCli,
    nevada_project: Path,
    snapshot: SnapshotFn,
    assert_one_line_error: ErrorCheck,
) -> None:
    path = nevada_project / "documents" / "breakdown.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["schema"] = "Breakdown.99"
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    before = snapshot(nevada_project)
    result = run_cli("plan", nevada_project)
    assert_one_line_error(result, "breakdown.json")
    assert "newer" in result.err_lines[0]
    assert not (nevada_project / "documents" / "plan.json").exists()
    assert snapshot(nevada_project) == before


def test_plan_without_a_breakdown_makes_the_breakdown_first(
    run_cli: RunCli, imported_project: Path
) -> None:
    result = run_cli("plan", imported_project, "--no-model")

    assert result.code == 0, result.err
    assert "Ran first (missing or out of date): breakdown" in result.out
    assert (imported_project / "documents" / "breakdown.json").is_file()
    assert (imported_project / "documents" / "plan.json").is_file()


def test_plan_after_a_new_draft_breaks_the_new_draft_down_first(
    run_cli: RunCli, nevada_project: Path, tmp_path: Path
) -> None:
    assert run_cli("plan", nevada_project).code == 0
    draft = tmp_path / "draft2.fountain"
    draft.write_text(NEVADA.read_text(encoding="utf-8") + "\nINT. NEW ROOM - NIGHT\n\nA lamp.\n",
                     encoding="utf-8")  # fmt: skip
    assert run_cli("import-script", nevada_project, draft).code == 0

    result = run_cli("plan", nevada_project, "--no-model")

    assert "breakdown" in result.out.splitlines()[0]
    plan = json.loads((nevada_project / "documents" / "plan.json").read_text(encoding="utf-8"))
    assert plan["scenes"][-1]["heading"] == "INT. NEW ROOM - NIGHT"


def test_layout_makes_the_breakdown_and_the_plan_first(
    run_cli: RunCli, imported_project: Path
) -> None:
    result = run_cli("layout", imported_project, "--no-model")

    assert result.code == 0, result.err
    assert "Ran first (missing or out of date): breakdown, plan" in result.out
    assert sorted(p.name for p in (imported_project / "previs").glob("scene-*.usda"))


def test_audit_without_plan_is_refused(
    run_cli: RunCli, nevada_project: Path, assert_one_line_error: ErrorCheck
) -> None:
    result = run_cli("audit", nevada_project)
    assert_one_line_error(result, "plan.json")


def test_a_shot_of_ones_own_is_framed_cut_in_and_kept_when_its_scene_is_rewritten(
    run_cli: RunCli, nevada_project: Path, nevada_path: Path, tmp_path: Path
) -> None:
    first = plan_json(run_cli, nevada_project)
    anchor = next(s for s in shots_in(first, "2") if s["purpose"] == "two-shot")
    result = run_cli(
        "shot", "add", nevada_project, "--scene", "2", "--size", "CU", "--subject", "OFELIA",
        "--duration", "2.5", "--after", anchor["id"], "--description", "her hands, the pins",
    )  # fmt: skip
    assert result.code == 0, result.err
    doc = saved_plan(nevada_project)
    mine = next(s for s in doc["shots"] if s.get("user_added"))
    assert mine["scene"] == "2" and mine["size"] == "CU" and mine["subjects"] == ["OFELIA"]
    assert mine["id"] not in {s["id"] for s in first["shots"]}
    # Framed as a close-up would be: distance from the CU height and the lens's field.
    assert 1.0 < mine["subject_distance_m"] < 4.0
    edit = [e["shot"] for e in scene_of(doc, "2")["edit"]]
    assert edit[edit.index(mine["id"]) - 1] == anchor["id"]  # cut in where it was asked
    # Scene 2 is rewritten: covered again, and the user's shot stays, in the cut.
    revised = _revise(nevada_path, tmp_path / "nevada-r2.fountain")
    assert run_cli("import-script", nevada_project, revised).code == 0
    assert run_cli("breakdown", nevada_project, "--no-model").code == 0
    second = plan_json(run_cli, nevada_project)
    kept = shot_by_id(second, mine["id"])
    assert kept["description"] == "her hands, the pins" and kept["user_added"]
    assert mine["id"] in [e["shot"] for e in scene_of(second, "2")["edit"]]


def test_a_shot_of_ones_own_needs_someone_on_the_floor_plan(
    run_cli: RunCli, nevada_project: Path
) -> None:
    plan_json(run_cli, nevada_project)
    result = run_cli("shot", "add", nevada_project, "--scene", "2", "--size", "CU",
                     "--subject", "NOBODY", "--duration", "2")  # fmt: skip
    assert result.code != 0 and "NOBODY" in result.err


SHORT = """EXT. PARK - DAY

ANA walks in with a thermos. BRUNO waits on a bench.

ANA
You came.

BRUNO
I said I would.

ANA
You say a lot of things.

INT. KITCHEN - NIGHT

Ana pours coffee. Bruno watches her.

BRUNO
Sit down.

ANA
No.
"""


def _short_plan(text: str, previous: Doc | None = None) -> tuple[Doc, Doc]:
    from moviola.script import build_breakdown, parse_fountain

    return build_plan(build_breakdown(parse_fountain(text)), previous=previous)


def test_a_scene_added_at_the_top_never_takes_the_ids_of_the_scene_it_pushes_down() -> None:
    first, _ = _short_plan(SHORT)
    second, changes = _short_plan("EXT. STREET - DAY\n\nANA runs for the bus.\n\n" + SHORT, first)
    ids = [s["id"] for s in second["shots"]]
    assert len(ids) == len(set(ids))  # the plan still validates
    shots_from_plan(second)
    park_before = scene_of(first, "1")["shot_ids"]
    assert scene_of(second, "2")["shot_ids"] == park_before  # the park scene, now 2, kept
    assert not set(scene_of(second, "1")["shot_ids"]) & set(park_before)
    assert changes["scenes_kept"] == ["2", "3"]


def test_two_identical_scenes_each_keep_their_own_shots() -> None:
    twice = SHORT + "\n" + SHORT.split("INT. KITCHEN")[0]
    first, _ = _short_plan(twice)
    second, _ = _short_plan(twice, first)
    assert [s["shot_ids"] for s in second["scenes"]] == [s["shot_ids"] for s in first["scenes"]]
    shots_from_plan(second)


def test_a_removed_scene_retires_its_ids_and_a_deleted_setup_leaves_no_hole_in_the_cut() -> None:
    first, _ = _short_plan(SHORT)
    kitchen_ids = scene_of(first, "2")["shot_ids"]
    park = scene_of(first, "1")
    master = next(
        s for s in first["shots"] if s["id"] in park["shot_ids"] and s["purpose"] == "master"
    )
    park["deleted_setups"] = [master["setup"]]
    first["settings"]["seed"] = -1  # force the park to be covered again
    second, changes = _short_plan(SHORT.split("INT. KITCHEN")[0], first)
    assert set(kitchen_ids) <= set(second["retired_ids"])
    assert any("was removed" in r for r in changes["shots_removed"])
    cut = scene_of(second, "1")["edit"]
    beats = {e["beat"] for e in cut}
    assert beats == set(range(len(scene_of(second, "1")["beats"])))  # every beat still cut
    assert master["id"] not in {e["shot"] for e in cut}
