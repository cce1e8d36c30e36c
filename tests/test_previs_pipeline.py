"""``moviola previs``: one command from screenplay to storyboards, animatic and handoffs.

The fixture is a two-scene screenplay (tests/data/previs/rooftop.fountain)
rendered small, so the whole pipeline runs for real in a few seconds.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from documents import absolute_paths
from moviola.core import (
    DocumentError,
    SchemaVersionError,
    init_project,
    open_project,
    read_document,
)
from moviola.previs import probe_movie, run_previs
from moviola.script import import_script, run_breakdown

DATA = Path(__file__).parent / "data" / "previs"
SMALL = {"size": (320, 180), "board_width": 480, "use_model": False}


def _project(root: Path) -> Any:
    project = init_project(root, name="rooftop")
    import_script(project, DATA / "rooftop.fountain")
    return open_project(root)


@pytest.fixture(scope="module")
def _rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("previs") / "rooftop"
    run_previs(_project(root), **SMALL)  # type: ignore[arg-type]
    return root


@pytest.fixture
def rendered(_rendered: Path, tmp_path: Path) -> Path:
    """A private copy of a project whose previs is complete."""
    root = tmp_path / "rooftop"
    shutil.copytree(_rendered, root)  # paths in documents are relative: the copy stands alone
    return root


def _doc(root: Path) -> dict[str, Any]:
    return read_document(root / "previs" / "previs.json", expect="Previs")


def _steps(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in doc["steps"]}


def test_writes_every_promised_output(_rendered: Path) -> None:
    previs = _rendered / "previs"
    for name in ("animatic.mp4", "contact_sheet.pdf", "timeline.otio", "timeline.edl",
                 "timeline.xml", "timeline.fcpxml", "scene-1.usda", "scene-2.usda",
                 "previs.json"):  # fmt: skip
        assert (previs / name).stat().st_size > 0, name
    assert sorted(p.name for p in (previs / "storyboards" / "scene-1").glob("*.png"))
    assert (previs / "storyboards" / "scene-1.pdf").exists()
    assert not list(previs.rglob(".*.mp4")) and not list(previs.rglob(".*.png"))  # no temp files


def test_previs_json_paths_are_relative_to_the_project(_rendered: Path,
                                                      tmp_path_factory: pytest.TempPathFactory) -> None:  # fmt: skip
    doc = _doc(_rendered)
    assert not absolute_paths(doc, tmp_path_factory.getbasetemp())
    assert (_rendered / doc["outputs"]["animatic"]).is_file() and (_rendered / doc["script"]["file"]).is_file()


def test_a_previs_json_from_a_newer_moviola_is_refused_not_misread(_rendered: Path, tmp_path: Path) -> None:
    path = tmp_path / "previs.json"
    path.write_text(json.dumps({**_doc(_rendered), "schema": "Previs.2"}))
    with pytest.raises(SchemaVersionError, match=r"Previs\.2, written by a newer Moviola"):
        read_document(path, expect="Previs")


def test_previs_json_lists_outputs_and_step_timings(_rendered: Path) -> None:
    doc = _doc(_rendered)
    assert doc["schema"] == "Previs.1"
    steps = _steps(doc)
    assert list(steps) == ["breakdown", "plan", "layout", "render", "contact sheets", "animatic",
                           "exports"]  # fmt: skip
    assert all(s["seconds"] >= 0 for s in steps.values())
    out = doc["outputs"]
    assert set(out["timeline"]) == {"otio", "edl", "fcp7", "fcpx"}
    assert set(out["stages"]) == {"1", "2"}
    for panel in out["storyboards"]:
        assert (_rendered / panel["image"]).exists()
        assert panel["caption"] and panel["shot"]
    for shot, passes in out["passes"].items():
        assert set(passes) == {"beauty", "depth", "normals", "id", "lineart", "ids"}, shot
        assert all((_rendered / p).exists() for p in passes.values())
    for shot, files in out["cameras"].items():
        assert Path(files["usd"]).suffix == ".usda" and Path(files["glb"]).suffix == ".glb", shot
    assert doc["renderer"]


def test_every_picture_and_movie_carries_content_credentials(_rendered: Path) -> None:
    from moviola import provenance

    doc = _doc(_rendered)
    out = doc["outputs"]
    files = [out["animatic"], out["contact_sheet"], *out["contact_sheets"].values(),
             *(p["image"] for p in out["storyboards"]),
             *(f for passes in out["passes"].values() for k, f in passes.items() if k != "ids")]  # fmt: skip
    for file in files:
        v = provenance.verify(_rendered / file)
        assert v.state == provenance.TRUSTED, (file, v.problems)
        assert v.actions[0]["action"] == "c2pa.created" and v.actions[0]["source_type"] == "algorithmicMedia"
        assert v.render["command"] == "moviola previs"
    depth = next(iter(out["passes"].values()))["depth"]
    assert provenance.sidecar_of(_rendered / depth).is_file()  # an EXR's manifest sits beside it
    panel = provenance.verify(_rendered / out["storyboards"][0]["image"])
    assert panel.render["documents"]["stage"]  # which stage it was drawn from


def test_the_animatic_is_h264_at_the_plan_rate_with_timecode(_rendered: Path) -> None:
    doc = _doc(_rendered)
    info = probe_movie(_rendered / "previs" / "animatic.mp4")
    assert info["codec"] == "h264"
    assert (info["width"], info["height"]) == (320, 180)
    assert info["fps"] == pytest.approx(24.0)
    assert info["frames"] == doc["animatic"]["frames"]
    assert info["timecode"] == "01:00:00:00"
    if doc["settings"]["audio"]:  # espeak-ng present: a scratch track, a voice per character
        assert info["audio"] == ["aac"]
        assert set(doc["animatic"]["voices"]) == {"MARA", "JONAS"}
        assert len(set(doc["animatic"]["voices"].values())) >= 1


def test_the_edl_names_every_cut_and_an_independent_reader_agrees(_rendered: Path) -> None:
    pycmx = pytest.importorskip("pycmx")
    doc = _doc(_rendered)
    with open(_rendered / doc["outputs"]["timeline"]["edl"]) as f:
        edl = pycmx.parse_cmx3600(f)
    names = [e.edits[0].clip_name for e in edl.events]
    otio = pytest.importorskip("opentimelineio")
    timeline = otio.adapters.read_from_file(str(_rendered / doc["outputs"]["timeline"]["otio"]))
    clips = [c for track in timeline.video_tracks() for c in track.find_clips()]
    assert names == [c.name for c in clips]
    total = sum(c.source_range.duration.to_frames() for c in clips)
    assert total + doc["animatic"]["slate_frames"] == doc["animatic"]["frames"]


def test_a_moved_project_re_points_its_timelines_at_the_movie(rendered: Path) -> None:
    result = run_previs(open_project(rendered), **SMALL)  # type: ignore[arg-type]
    assert _steps(result.document)["exports"]["status"] == "ran"  # the copy has a new path
    edl = (rendered / "previs" / "timeline.edl").read_text()
    assert str((rendered / "previs" / "animatic.mp4").resolve()) in edl


def test_a_second_run_does_nothing(rendered: Path) -> None:
    run_previs(open_project(rendered), **SMALL)  # type: ignore[arg-type]  # settle the copy
    movie = rendered / "previs" / "animatic.mp4"
    before = movie.stat().st_mtime_ns
    result = run_previs(open_project(rendered), **SMALL)  # type: ignore[arg-type]
    steps = _steps(result.document)
    for name in ("breakdown", "plan", "layout", "render", "contact sheets", "animatic", "exports"):
        assert steps[name]["status"] == "skipped", name
    assert movie.stat().st_mtime_ns == before


def test_a_revised_scene_re_renders_only_that_scene(rendered: Path, tmp_path: Path) -> None:
    stage1 = rendered / "previs" / "scene-1.usda"
    before = stage1.read_bytes()
    revised = tmp_path / "rooftop.fountain"
    text = (DATA / "rooftop.fountain").read_text()
    revised.write_text(text.replace("It's all still there.", "It's all still there. Every bit."))
    project = open_project(rendered)
    import_script(project, revised)
    run_breakdown(open_project(rendered), use_model=False)
    result = run_previs(open_project(rendered), **SMALL)  # type: ignore[arg-type]
    steps = _steps(result.document)
    assert steps["plan"]["status"] == "ran"
    assert steps["layout"]["detail"].startswith("1 of 2")
    assert "1 of 2 scene segments reused" in steps["animatic"]["detail"]
    assert stage1.read_bytes() == before


def test_a_corrupt_cache_costs_a_re_render_not_a_crash(rendered: Path) -> None:
    (rendered / "cache" / "previs" / "state.json").write_text("{not json")
    for seg in (rendered / "cache" / "previs" / "segments").glob("*.mp4"):
        seg.write_bytes(b"\0" * 10)  # a torn file from a killed run
    shutil.rmtree(rendered / "cache" / "previs" / "segments")
    result = run_previs(open_project(rendered), **SMALL)  # type: ignore[arg-type]
    assert _steps(result.document)["render"]["status"] == "ran"
    assert probe_movie(rendered / "previs" / "animatic.mp4")["frames"] > 0


def test_a_stage_edited_by_hand_is_kept_and_rendered(rendered: Path) -> None:
    from pxr import Usd, UsdGeom

    path = rendered / "previs" / "scene-1.usda"
    stage = Usd.Stage.Open(str(path))
    UsdGeom.Cube.Define(stage, "/World/Props/crate").AddTranslateOp().Set((0.0, 0.3, 0.0))
    stage.GetRootLayer().Save()
    edited = path.read_bytes()
    result = run_previs(open_project(rendered), **SMALL)  # type: ignore[arg-type]
    assert path.read_bytes() == edited  # the plan did not change: the artist's stage wins
    steps = _steps(result.document)
    assert steps["render"]["status"] == "ran"
    assert steps["contact sheets"]["status"] == "ran"  # new pictures, new sheets


def test_a_camera_inside_a_wall_is_flagged_not_rendered_silently(rendered: Path) -> None:
    plan_path = rendered / "documents" / "plan.json"
    plan = json.loads(plan_path.read_text())
    scene = next(s for s in plan["scenes"] if s["number"] == "1")
    depth = scene["blocking"]["depth"]
    shot = next(s for s in plan["shots"] if s["id"] == "1A")
    shot["camera"].update({"x": 0.0, "y": depth / 2})  # in the back wall (USD z = -y)
    plan_path.write_text(json.dumps(plan))
    result = run_previs(open_project(rendered), **SMALL)  # type: ignore[arg-type]
    rules = {(f.rule, tuple(f.shots)) for f in result.findings}
    assert ("camera-inside-set", ("1A",)) in rules
    assert any(f["rule"] == "camera-inside-set" for f in result.document["findings"])


def test_a_project_without_a_script_is_refused_clearly(tmp_path: Path) -> None:
    project = init_project(tmp_path / "empty", name="empty")
    with pytest.raises(Exception) as info:
        run_previs(project, **SMALL)  # type: ignore[arg-type]
    assert "import-script" in str(info.value) or "script" in str(info.value)


def test_a_corrupt_plan_is_refused_naming_the_file(rendered: Path) -> None:
    (rendered / "documents" / "plan.json").write_text('{"schema": "ShotPlan.1", "shots": [{}]}')
    (rendered / "documents" / "plan.json").touch()
    with pytest.raises(DocumentError) as info:
        run_previs(open_project(rendered), **SMALL)  # type: ignore[arg-type]
    assert "plan.json" in str(info.value)


def test_cli_prints_previs_json_and_refuses_a_bad_size(rendered: Path, run_cli: Any) -> None:
    result = run_cli("previs", rendered, "--json", "--size", "320x180", "--board-width", "480",
                     "--no-model")  # fmt: skip
    assert result.code == 0, result.err
    assert json.loads(result.out)["schema"] == "Previs.1"
    bad = run_cli("previs", rendered, "--size", "320by180")
    assert bad.code != 0
    assert "WIDTHxHEIGHT" in bad.err or "320by180" in bad.err


def test_a_damaged_cached_segment_is_rendered_again(rendered: Path) -> None:
    segments = sorted((rendered / "cache" / "previs" / "segments").glob("scene-1-*.mp4"))
    assert len(segments) == 1
    segments[0].write_bytes(segments[0].read_bytes()[:500])  # bit rot, not a killed run
    movie = rendered / "previs" / "animatic.mp4"
    frames = probe_movie(movie)["frames"]
    movie.unlink()  # the movie must be joined again, from the cache
    result = run_previs(open_project(rendered), **SMALL)  # type: ignore[arg-type]
    assert "1 of 2 scene segments reused" in _steps(result.document)["animatic"]["detail"]
    assert probe_movie(movie)["frames"] == frames


def test_ctrl_c_says_how_to_resume(rendered: Path, run_cli: Any, monkeypatch: Any) -> None:
    import moviola.previs

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt  # what the terminal sends; the real resume is tested above

    monkeypatch.setattr(moviola.previs, "run_previs", interrupted)
    result = run_cli("previs", rendered)
    assert result.code == 130
    assert "resume" in result.err


def test_force_redoes_everything_but_never_overwrites_an_edited_stage(rendered: Path) -> None:
    path = rendered / "previs" / "scene-1.usda"
    text = path.read_text()
    path.write_text(text.replace('customLayerData', 'customLayerData', 1) + "\n# moved a camera\n")
    edited = path.read_bytes()
    result = run_previs(open_project(rendered), force=True, **SMALL)  # type: ignore[arg-type]
    kept = list((rendered / "previs").glob("scene-1.edited-*.usda"))
    assert len(kept) == 1 and kept[0].read_bytes() == edited
    assert "0 of 2 scene segments reused" in _steps(result.document)["animatic"]["detail"]
    assert any("kept as" in n for n in result.notices)


def test_the_summary_is_whole_in_a_log_not_cut_to_a_terminals_width(
    rendered: Path, tmp_path: Path, run_cli: Any
) -> None:
    # A long project path in the table's title and details, output to a pipe (not a terminal).
    deep = tmp_path / ("a-production-folder-with-a-long-name-" * 3) / "rooftop"
    shutil.copytree(rendered, deep)
    result = run_cli("previs", deep, "--size", "320x180", "--board-width", "480", "--no-model")

    assert result.code == 0, result.err
    table = [line for line in result.out.splitlines() if line[:1] in "┏┃┡│└"]
    assert len(table) >= 10
    assert all(line.rstrip()[-1] in "┓┃┩│┘" for line in table), "\n".join(table)
    assert not any("…" in line for line in table), "a cell was cut short"
    assert str(deep / "previs" / "animatic.mp4") in result.out  # paths printed whole


def test_moviola_layout_keeps_a_stage_edited_by_hand_as_previs_does(rendered: Path, run_cli: Any) -> None:
    from pxr import Usd, UsdGeom

    path = rendered / "previs" / "scene-1.usda"
    stage = Usd.Stage.Open(str(path))
    UsdGeom.Cube.Define(stage, "/World/Props/crate").AddTranslateOp().Set((0.0, 0.3, 0.0))
    stage.GetRootLayer().Save()
    edited = path.read_bytes()

    unchanged = run_cli("layout", rendered)  # the plan did not change: the artist's stage stays
    assert unchanged.code == 0, unchanged.err
    assert path.read_bytes() == edited

    plan = json.loads((rendered / "documents" / "plan.json").read_text(encoding="utf-8"))
    first = next(s["id"] for s in plan["shots"] if s["scene"] == "1")
    assert run_cli("shot", "set", rendered, first, "--lens", "85").code == 0
    changed = run_cli("layout", rendered)  # now the plan changed: rebuilt, the edit set aside

    assert changed.code == 0, changed.err
    kept = list((rendered / "previs").glob("scene-1.edited-*.usda"))
    assert len(kept) == 1 and kept[0].read_bytes() == edited
    assert f"your edited stage was kept as {kept[0].name}" in changed.out
    assert path.read_bytes() != edited
