"""The building collapse, end to end, on the bundled palace plate at a small size.

What a user relies on: every promised output exists and reads back; the layers
recombine to the final comp exactly; before the collapse the comp is the plate;
the physics ends with pieces at rest, not floating; a killed render resumes at
its first incomplete frame and matches an uninterrupted one; a folder holding
someone else's render is not overwritten.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

pytest.importorskip("moderngl")
pytest.importorskip("pymunk")
OpenEXR = pytest.importorskip("OpenEXR")

from documents import absolute_paths  # noqa: E402
from moviola.core import ProjectError, SchemaVersionError, read_document  # noqa: E402
from moviola.core._image_io import read_exr  # noqa: E402
from moviola.core._media import probe_movie  # noqa: E402
from moviola.gen import BaseBackend, GenRequest, ModelInfo  # noqa: E402
from moviola.vfx import (  # noqa: E402
    LAYERS,
    CollapseRecipe,
    comp_from_layers,
    layer_path,
    parse_box,
    run_collapse,
)
from moviola.vfx.collapse import REPORT_SCHEMA, read_report  # noqa: E402
from moviola.vfx.collapse._plate import apply_fit, fit_plate, load_plate  # noqa: E402
from moviola.vfx.collapse._shot import prepare, run_simulation  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PLATE = ROOT / "examples" / "palace" / "palace_plate.jpg"
BOX = "88,8,512,384"
F32 = NDArray[np.float32]


def small_recipe(**changes: Any) -> CollapseRecipe:
    box = parse_box(BOX)
    base = CollapseRecipe(plate=str(PLATE), building=[list(p) for p in box.points], resolution=[320, 240],
                          frames=30, name="palace")  # fmt: skip
    return replace(base, **changes)


def rgba(path: Path) -> F32:
    ch = read_exr(path)
    names = [c for c in ("R", "G", "B", "A") if c in ch]
    return np.stack([ch[c] for c in names], axis=-1)


@pytest.fixture(scope="module")
def render(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("collapse")
    report = run_collapse(small_recipe(), out)
    return out, report


def test_report_has_the_promised_fields_and_outputs(render: tuple[Path, dict[str, Any]]) -> None:
    out, report = render
    on_disk = read_document(out / "report.json", expect="CollapseReport")
    assert on_disk == report and report["schema"] == REPORT_SCHEMA == "CollapseReport.1"
    assert report["frames"] == 30 and report["resolution"] == [320, 240]
    assert report["wall_s"] > 0
    assert {"load", "matte", "clean_plate", "fracture", "simulate", "particles", "render",
            "contact_sheet"} <= set(report["stages"])  # fmt: skip
    assert all(v >= 0 for v in report["stages"].values())
    assert (out / report["outputs"]["movie"]).is_file()
    assert (out / report["outputs"]["contact_sheet"]).is_file()
    assert set(report["outputs"]["layers"]) == set(LAYERS)
    for layer in LAYERS:
        assert report["outputs"]["layers"][layer] == f"layers/{layer}/palace_{layer}.1001-1030#.exr"
        frames = sorted((out / "layers" / layer).glob("palace_*.exr"))
        assert [p.name for p in frames] == [f"palace_{layer}.{f}.exr" for f in range(1001, 1031)]


def test_report_paths_are_relative_to_its_folder(render: tuple[Path, dict[str, Any]],
                                                 tmp_path_factory: pytest.TempPathFactory) -> None:  # fmt: skip
    out, report = render
    assert not absolute_paths(report, tmp_path_factory.getbasetemp())
    assert report["paths_relative_to"] == "."
    assert (out / report["plate"]["path"]).resolve() == PLATE.resolve()  # outside the folder: with ..
    assert (out / report["outputs"]["recipe"]).is_file()


def test_a_report_from_a_newer_moviola_is_refused_not_misread(render: tuple[Path, dict[str, Any]], tmp_path: Path,
                                                              run_cli: Any) -> None:  # fmt: skip
    out, report = render
    (tmp_path / "report.json").write_text(json.dumps({**report, "schema": "CollapseReport.2"}))
    with pytest.raises(SchemaVersionError, match=r"CollapseReport\.2, written by a newer Moviola"):
        read_report(tmp_path / "report.json")
    result = run_cli("vfx", "report", tmp_path)
    assert result.code == 4 and "newer Moviola" in result.err and len(result.err_lines) == 1, result.err
    assert run_cli("vfx", "report", out).code == 0  # this Moviola's own reads


def test_cost_report_states_cpu_hours_price_and_sources(render: tuple[Path, dict[str, Any]]) -> None:
    cost = render[1]["cost"]
    assert cost["cpu_hours"] > 0 and cost["cost_usd"] > 0
    assert "aws.amazon.com" in cost["price_source"]
    trad = cost["traditional"]
    assert trad["artist_hours"][0] < trad["artist_hours"][1]
    assert len(trad["sources"]) >= 2 and all(s.strip() for s in trad["sources"])
    assert trad["times_faster_than_low"] > 1


def test_exr_layers_are_acescg_half_with_frame_rate(render: tuple[Path, dict[str, Any]]) -> None:
    out, _ = render
    with OpenEXR.File(str(layer_path(out, "palace", "comp", 1010))) as exr:
        header = dict(exr.header())  # the file's own dict goes with it when it closes
        dtype = exr.channels()["RGBA"].pixels.dtype
    assert np.allclose(header["chromaticities"], (0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168, 0.33767),
                       atol=1e-4)  # fmt: skip
    assert header["moviola_layer"] == "comp"
    assert list(header["framesPerSecond"]) == [24000, 1000]
    assert dtype == np.float16
    mattes = read_exr(layer_path(out, "palace", "mattes", 1010))
    assert {"building", "revealed", "debris", "loose", "dust", "dustback"} <= set(mattes)


@pytest.mark.parametrize("frame", [1001, 1012, 1020, 1030])
def test_layers_recombine_to_the_comp_exactly(render: tuple[Path, dict[str, Any]], frame: int) -> None:
    out, _ = render
    layer = {name: rgba(layer_path(out, "palace", name, frame)) for name in LAYERS if name != "mattes"}
    rebuilt = comp_from_layers(layer["cleanplate"], layer["dustback"], layer["debris"], layer["dust"],
                               layer["lightwrap"], layer["grain"]).astype(np.float16)  # fmt: skip
    comp = layer["comp"]
    assert np.array_equal(rebuilt.astype(np.float32), comp[..., :3])
    assert np.all(comp[..., 3] == 1.0)


def test_the_collapse_actually_happens(render: tuple[Path, dict[str, Any]]) -> None:
    out, report = render
    ch_first = read_exr(layer_path(out, "palace", "mattes", 1001))
    ch_last = read_exr(layer_path(out, "palace", "mattes", 1030))
    assert ch_first["revealed"].max() < 2e-3  # nothing has moved before the failure starts
    # a second and a quarter in, the top has come down (the whole fall is tested on the physics)
    assert ch_last["revealed"].sum() > 0.01 * ch_last["building"].sum()
    assert ch_last["dust"].max() > 0.5
    assert report["simulation"]["bonds_broken"] > 0.1 * report["simulation"]["bonds"]


def test_before_the_failure_the_comp_is_the_plate(tmp_path: Path) -> None:
    """No grain, no shake: what the debris and clean plate make at rest is the plate itself."""
    recipe = small_recipe(frames=4, grain=0.0, shake=0.0, start_frame=1004)
    run_collapse(recipe, tmp_path)
    plate = load_plate(PLATE)
    fit = fit_plate(plate.width, plate.height, 320, 240, keep_top=8.0)
    expected = apply_fit(plate.frame(0), fit)
    comp = rgba(layer_path(tmp_path, "palace", "comp", 1001))[..., :3]
    error = np.abs(comp - expected).max(axis=2)
    # half-float rounding of values up to ~1 is under 1e-3; a few pixels in the margin
    # around the building's edge (a bird against it, the tip of a spire) show the fill
    assert np.mean(error < 2e-3) > 0.995
    assert np.percentile(error, 99.9) < 0.05


def test_every_loose_piece_ends_at_rest_or_out_of_frame() -> None:
    """No floating pieces: by the end, what came loose has landed, been crushed or fallen away."""
    recipe = small_recipe(frames=150)
    plate = load_plate(PLATE)
    prep = prepare(recipe, plate, lambda name: None)
    sim = run_simulation(prep, lambda name: None).sim
    area = np.array([shard.area for shard in prep.fracture.shards])
    assert area[np.isfinite(sim.detach)].sum() > 0.6 * area.sum()  # most of the building came down
    loose = np.isfinite(sim.detach) & ~np.isfinite(sim.crushed)
    assert loose.sum() > 10
    end, before = sim.poses[-1], sim.poses[-9]  # the last frame against the one before it
    speed = np.hypot(*(end[:, :2] - before[:, :2]).T) * 24.0 / prep.px_per_m  # m/s
    w, h = prep.size
    visible = (end[:, 1] < h) & (end[:, 0] > 0) & (end[:, 0] < w)
    moving = loose & visible & (speed > 0.5)
    # what still moves is settling into the pile at the foot, not falling through the air
    assert not (moving & (end[:, 1] < prep.ground_y - 0.2 * h)).any(), end[moving][:5]
    assert moving.sum() <= 0.1 * loose.sum(), (moving.sum(), loose.sum())
    # and nothing is left hanging: a loose piece in frame is near the ground or on the pile
    high = loose & visible & (end[:, 1] < prep.ground_y - 0.6 * h)
    assert not high.any(), end[high][:5]


@pytest.mark.parametrize("mode", ["topple", "blast"])
def test_other_failure_modes_bring_it_down(mode: str) -> None:
    recipe = small_recipe(frames=96, mode=mode)
    prep = prepare(recipe, load_plate(PLATE), lambda name: None)
    sim = run_simulation(prep, lambda name: None).sim
    drop = sim.poses[-1, :, 1] - sim.poses[0, :, 1]
    assert np.median(drop) > 0.1 * prep.size[1]


def test_a_folder_with_another_render_is_not_overwritten(render: tuple[Path, dict[str, Any]],
                                                         tmp_path: Path) -> None:  # fmt: skip
    out = tmp_path / "shot"
    run_collapse(small_recipe(frames=2), out)
    before = sorted(p.name for p in (out / "layers" / "comp").iterdir())
    with pytest.raises(ProjectError, match="different recipe"):
        run_collapse(small_recipe(frames=2, seed=7), out)
    assert sorted(p.name for p in (out / "layers" / "comp").iterdir()) == before
    report = run_collapse(small_recipe(frames=2, seed=7), out, force=True)
    assert report["seed"] == 7


def test_a_non_empty_folder_that_is_not_a_render_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("my work")
    with pytest.raises(ProjectError, match="not empty"):
        run_collapse(small_recipe(frames=2), tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "my work"


def test_preview_writes_movie_and_sheet_and_no_layers(tmp_path: Path) -> None:
    from moviola.vfx import preview_of

    recipe = preview_of(small_recipe(frames=120), (512, 384))
    report = run_collapse(recipe, tmp_path)
    assert report["preview"] and report["frames"] == 48
    assert report["outputs"]["layers"] == {}
    assert not (tmp_path / "layers").exists()
    movie = probe_movie(tmp_path / report["outputs"]["movie"])
    assert movie["frames"] == 48 and movie["codec"] == "h264"
    assert abs(movie["duration_s"] - 5.0) < 0.3  # the whole shot, at a lower rate


def _wait_for_comps(proc: subprocess.Popen[Any], comp_dir: Path, count: int) -> None:
    """Until a running render has written ``count`` comp frames (or ended, or two minutes)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if comp_dir.is_dir() and len(list(comp_dir.glob("palace_comp.*.exr"))) >= count:
            return
        time.sleep(0.05)


def _cli(args: list[str]) -> list[str]:
    return [sys.executable, "-c", "from moviola.cli import main; raise SystemExit(main())", *args]


def test_a_killed_render_resumes_and_matches_an_uninterrupted_one(render: tuple[Path, dict[str, Any]],
                                                                  tmp_path: Path) -> None:  # fmt: skip
    reference, _ = render
    out = tmp_path / "killed"
    args = ["vfx", "collapse", "--plate", str(PLATE), "--building", BOX, "--out", str(out),
            "--resolution", "320x240", "--frames", "30", "--name", "palace", "--json"]  # fmt: skip
    proc = subprocess.Popen(_cli(args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    comp_dir = out / "layers" / "comp"
    _wait_for_comps(proc, comp_dir, 8)
    assert proc.poll() is None, "the render finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # nothing half-written under a final name: every EXR there reads
    for path in (out / "layers").rglob("palace_*.exr"):
        read_exr(path)
    assert not (out / "palace_review.mp4").exists()
    done = len(list(comp_dir.glob("palace_comp.*.exr")))
    assert 8 <= done < 30
    result = subprocess.run(_cli(args), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["resumed_from"] is not None and report["resumed_from"] >= 1001 + done - 2
    assert report["frames_rendered"] < 30
    left = [p for p in (out / "layers").rglob(".*") if p.is_file()]
    assert not left, f"temporary files were left: {left} (killed pid {proc.pid})"
    for frame in (1001, 1001 + done - 1, report["resumed_from"], 1030):
        for layer in LAYERS:
            a = read_exr(layer_path(out, "palace", layer, frame))
            b = read_exr(layer_path(reference, "palace", layer, frame))
            assert a.keys() == b.keys()
            for k in a:
                assert np.array_equal(a[k], b[k]), (layer, frame, k)
    assert probe_movie(out / "palace_review.mp4")["frames"] == 30


class _Invert(BaseBackend):
    """A stand-in for a generative model (outside our control): the picture inverted."""

    name = "invert"
    models = (ModelInfo("invert-test", "apache-2.0", True, "tests"),)

    def __init__(self) -> None:
        self.requests: list[GenRequest] = []

    def refine(self, request: GenRequest) -> F32:
        self.requests.append(request)
        return np.asarray(1.0 - request.image, np.float32)


def test_a_refiner_gets_control_passes_and_its_frames_are_a_layer_of_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _Invert()
    monkeypatch.setattr("moviola.vfx.collapse._collapse.load_backend", lambda name, **kw: fake)
    report = run_collapse(small_recipe(frames=3, refiner="invert", prompt="dusty collapse"), tmp_path)
    assert report["refiner"]["name"] == "invert" and report["refiner"]["models"][0]["licence"] == "apache-2.0"
    assert [r.frame for r in fake.requests] == [1001, 1002, 1003]  # one at a time, in order
    req = fake.requests[0]
    assert req.prompt == "dusty collapse" and req.seed == 1 and req.frame == 1001 and req.strength == 0.5
    assert req.controls["depth"].shape == req.controls["lineart"].shape == req.image.shape[:2]
    assert {"matte:building", "matte:revealed", "matte:debris", "matte:dust"} <= set(req.controls)
    # the model sees the picture a person sees (sRGB), and its frame comes back to ACEScg
    from moviola.core._colour import SRGB, WORKING_SPACE, convert

    refined = rgba(layer_path(tmp_path, "palace", "refined", 1002))
    comp = rgba(layer_path(tmp_path, "palace", "comp", 1002))
    comp_srgb = np.clip(convert(comp[..., :3], WORKING_SPACE, SRGB), 0, 1)
    back = convert(refined[..., :3], WORKING_SPACE, SRGB)
    assert np.allclose(back, 1.0 - np.round(comp_srgb * 255) / 255, atol=0.02)  # the comp itself is untouched
    from moviola import provenance

    v = provenance.verify(layer_path(tmp_path, "palace", "refined", 1002))
    assert v.actions[1]["source_type"] == "compositeWithTrainedAlgorithmicMedia"
    assert v.models[0]["name"] == "invert-test" and v.render["prompt"] == "dusty collapse"
    comp_v = provenance.verify(layer_path(tmp_path, "palace", "comp", 1002))
    assert comp_v.actions[1]["source_type"] == "algorithmicMedia" and comp_v.models == ()


def test_cli_reports_bad_input_in_one_line_with_exit_code_2(tmp_path: Path) -> None:
    bad = tmp_path / "plate.jpg"
    bad.write_bytes(PLATE.read_bytes()[:2000])  # a truncated JPEG
    result = subprocess.run(_cli(["vfx", "collapse", "--plate", str(bad), "--building", BOX, "--out",
                                  str(tmp_path / "o")]), capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 2
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "plate.jpg" in lines[0] and "truncated" in lines[0], result.stderr
    assert not (tmp_path / "o" / "layers").exists()


def test_a_project_keeps_plate_and_recipe_and_the_plan_shot_points_at_it(planned_project: tuple[Path, str]) -> None:
    from moviola.core import open_project
    from moviola.plan import load_plan, run_plan

    root, shot_id = planned_project
    project = open_project(root)
    result = subprocess.run(_cli(["vfx", "collapse", "--plate", str(PLATE), "--building", BOX, "--project",
                                  str(root), "--shot", shot_id, "--name", "fall", "--preview", "--resolution",
                                  "320x240", "--frames", "24", "--json"]),
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (root / "vfx" / "fall" / "plate" / PLATE.name).read_bytes() == PLATE.read_bytes()
    recipe = json.loads((root / "vfx" / "fall" / "recipe.json").read_text())
    assert recipe["schema"] == "CollapseRecipe.2" and recipe["plate"] == f"plate/{PLATE.name}"
    assert recipe["preview"] is False and recipe["frames"] == 24  # the shot itself, not its preview
    assert (root / "vfx" / "fall" / "preview" / "fall_review.mp4").is_file()
    report = read_report(root / "vfx" / "fall" / "preview" / "report.json")
    assert report == json.loads(result.stdout) and not absolute_paths(report, root)
    assert report["plate"]["path"] == f"../plate/{PLATE.name}"  # the project's copy, beside the render
    shot = next(s for s in load_plan(project)["shots"] if s["id"] == shot_id)
    assert shot["vfx_recipe"] == "vfx/fall/recipe.json" and shot["vfx_kind"] == "collapse"
    run_plan(project)  # a re-plan keeps the link, like any edit made by hand
    shot = next(s for s in load_plan(project)["shots"] if s["id"] == shot_id)
    assert shot["vfx_recipe"] == "vfx/fall/recipe.json"


def test_duration_sets_how_fast_the_failure_runs() -> None:
    plate = load_plate(PLATE)
    times = {}
    for duration in (1.0, 3.0):
        prep = prepare(small_recipe(frames=96, duration_s=duration), plate, lambda name: None)
        sim = run_simulation(prep, lambda name: None).sim
        loose = np.isfinite(sim.detach)
        times[duration] = float(np.median(sim.detach[loose]))
    assert times[1.0] < times[3.0] - 0.3, times


def test_a_locked_off_video_plate_collapses_with_the_live_plate_around_it(tmp_path: Path) -> None:
    """A short video: frames follow the plate's own rate, and outside the building the plate lives."""
    av = pytest.importorskip("av")
    from PIL import Image

    still = np.asarray(Image.open(PLATE).convert("RGB").resize((256, 192)))
    video = tmp_path / "plate.mp4"
    with av.open(str(video), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 256, 192, "yuv420p"
        for i in range(12):  # the light breathes a little, as real footage does
            frame = np.clip(still.astype(np.float32) * (0.9 + 0.02 * i), 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    box = [[44.0, 4.0], [256.0, 4.0], [256.0, 192.0], [44.0, 192.0]]
    recipe = CollapseRecipe(plate=str(video), building=box, resolution=[256, 192], frames=10, shake=0.0,
                            name="palace")  # fmt: skip
    report = run_collapse(recipe, tmp_path / "out")
    assert report["plate"]["kind"] == "video" and report["fps"] == 24.0
    first = rgba(layer_path(tmp_path / "out", "palace", "cleanplate", 1001))
    last = rgba(layer_path(tmp_path / "out", "palace", "cleanplate", 1010))
    sky = (slice(150, 190), slice(0, 30))  # open sky, far from the building: the live plate
    assert last[sky].mean() > first[sky].mean() * 1.1
    layer = {name: rgba(layer_path(tmp_path / "out", "palace", name, 1006)) for name in LAYERS if name != "mattes"}
    rebuilt = comp_from_layers(layer["cleanplate"], layer["dustback"], layer["debris"], layer["dust"],
                               layer["lightwrap"], layer["grain"]).astype(np.float16)  # fmt: skip
    assert np.array_equal(rebuilt.astype(np.float32), layer["comp"][..., :3])


def test_vfx_report_prints_stages_cost_and_where_things_are(render: tuple[Path, dict[str, Any]]) -> None:
    out, _ = render
    result = subprocess.run(_cli(["vfx", "report", str(out)]), capture_output=True, text=True, timeout=120,
                            env={**os.environ, "COLUMNS": "200"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    for word in ("simulate", "render", "CPU-hours", "artist hours", "palace_review.mp4", "report.json"):
        assert word in result.stdout, word
    missing = subprocess.run(_cli(["vfx", "report", str(out / "layers")]), capture_output=True, text=True,
                             timeout=120)  # fmt: skip
    assert missing.returncode == 2 and "report.json" in missing.stderr


def test_ctrl_c_stops_cleanly_with_exit_130_and_says_how_to_resume(tmp_path: Path) -> None:
    out = tmp_path / "shot"
    args = ["vfx", "collapse", "--plate", str(PLATE), "--building", BOX, "--out", str(out),
            "--resolution", "320x240", "--frames", "60", "--name", "palace"]  # fmt: skip
    proc = subprocess.Popen(_cli(args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    comp_dir = out / "layers" / "comp"
    _wait_for_comps(proc, comp_dir, 4)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "resume" in stderr
    assert not [p for p in out.rglob(".*") if p.is_file() and p.name != ".moviola-render.json"]
    assert not (out / "palace_review.mp4").exists()
    for path in (out / "layers").rglob("palace_*.exr"):
        read_exr(path)


def test_an_exr_plate_in_linear_rec709_comes_out_in_acescg(tmp_path: Path) -> None:
    from PIL import Image

    from moviola.core._colour import convert

    srgb = np.asarray(Image.open(PLATE).convert("RGB").resize((256, 192)), np.float32) / 255.0
    linear = convert(srgb, "sRGB - Texture", "Linear Rec.709 (sRGB)")
    plate = tmp_path / "plate.exr"
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with OpenEXR.File(header, {"RGB": linear}) as exr:  # no chromaticities: Rec.709 by the standard
        exr.write(str(plate))
    box = [[44.0, 4.0], [256.0, 4.0], [256.0, 192.0], [44.0, 192.0]]
    recipe = CollapseRecipe(plate=str(plate), building=box, resolution=[256, 192], frames=3, grain=0.0,
                            shake=0.0, start_frame=1003, name="palace")  # fmt: skip
    report = run_collapse(recipe, tmp_path / "out")
    assert report["plate"]["kind"] == "exr" and report["plate"]["colourspace"] == "Linear Rec.709 (sRGB)"
    comp = rgba(layer_path(tmp_path / "out", "palace", "comp", 1001))[..., :3]
    expected = convert(linear, "Linear Rec.709 (sRGB)", "ACEScg")
    assert np.mean(np.abs(comp - expected).max(axis=2) < 2e-3) > 0.99


def test_the_standing_part_of_the_building_has_no_holes(render: tuple[Path, dict[str, Any]]) -> None:
    """While the top comes down, the storeys below it stand whole: no sky through the wall."""
    out, _ = render
    for frame in (1015, 1022, 1030):
        mattes = read_exr(layer_path(out, "palace", "mattes", frame))
        building, revealed = mattes["building"], mattes["revealed"]
        rows = np.flatnonzero(building.max(axis=1) > 0.5)
        lower = slice(rows[0] + (rows[-1] - rows[0]) // 2, rows[-1] + 1)  # the lower half still stands
        holes = (revealed[lower] > 0.5).sum()
        assert holes <= 0.002 * (building[lower] > 0.5).sum(), (frame, holes)


def test_force_renders_a_finished_render_again_and_an_engine_change_starts_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "shot"
    run_collapse(small_recipe(frames=2), out)
    again = run_collapse(small_recipe(frames=2), out)
    assert again["frames_rendered"] == 0  # everything was on disk
    forced = run_collapse(small_recipe(frames=2), out, force=True)
    assert forced["frames_rendered"] == 2 and forced["resumed_from"] is None
    monkeypatch.setattr("moviola.vfx.collapse._recipe.ENGINE_VERSION", 999)  # a newer engine draws differently
    with pytest.raises(ProjectError, match="different recipe"):
        run_collapse(small_recipe(frames=2), out)
