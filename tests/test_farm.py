"""The farm on this machine: jobs as documents, tasks that are Moviola command lines, a driver
that never reruns what is done, cancel and retry; and the same frames as a plain render.

(The same on a real Ray cluster, with a worker killed: tests/test_farm_ray.py.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from moviola.cli._farm_plan import plan_job  # noqa: E402
from moviola.core import DocumentError, InputError, StorageError  # noqa: E402
from moviola.core._image_io import read_exr  # noqa: E402
from moviola.farm import Job, JobStore, Task, chunks, job_state, ray_address, ready, run_task  # noqa: E402

PALACE = ROOT / "examples" / "palace"
SMALL = ["vfx", "collapse", "--recipe", "recipe.json", "--resolution", "160x120", "--frames", "8", "--out", "shot"]


def moviola(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "moviola", *args], cwd=cwd, capture_output=True, text=True,
                          check=check, timeout=600)  # fmt: skip


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    folder = tmp_path / "storage"
    folder.mkdir()
    for f in PALACE.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    return folder


def status(storage: Path, job: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(moviola("farm", "status", job, "--json", cwd=storage).stdout)
    return data


def same_layers(a: Path, b: Path) -> int:
    files = sorted(p.relative_to(a) for p in (a / "layers").rglob("*.exr"))
    assert files == sorted(p.relative_to(b) for p in (b / "layers").rglob("*.exr"))
    for rel in files:
        x, y = read_exr(a / rel), read_exr(b / rel)
        assert x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x), rel
    return len(files)


# ---- the job document --------------------------------------------------------------------------


def _job(*tasks: Task) -> Job:
    return Job("j", "command", ("x",), "/s", "/s", tasks, "2026-01-01", "0", "t")


def test_a_job_document_reads_back_as_written() -> None:
    job = _job(Task("a", "a", ("previs", "p")), Task("b", "b", ("vfx", "report", "r"), ("a",), frames=(1001, 1010)))
    assert Job.from_dict(json.loads(json.dumps(job.as_dict()))) == job
    assert job.as_dict()["schema"] == "FarmJob.1"


@pytest.mark.parametrize(("tasks", "message"), [
    ((Task("a", "a", ("x",)), Task("a", "a", ("y",))), "two tasks are called 'a'"),
    ((Task("a", "a", ("x",), ("b",)), Task("b", "b", ("y",))), "waits for b, which is not an earlier task"),
    ((Task("A b", "a", ("x",)),), "lower-case letters"),
    ((Task("a", "a", ()),), "has no command"),
])  # fmt: skip
def test_a_job_that_could_never_finish_is_refused(tasks: tuple[Task, ...], message: str) -> None:
    with pytest.raises(DocumentError, match=message):
        _job(*tasks)


def test_tasks_start_when_what_they_wait_for_is_done_and_a_failure_stops_only_its_followers() -> None:
    sim, f1, f2 = Task("sim", "s", ("x",)), Task("f1", "f", ("x",), ("sim",)), Task("f2", "f", ("x",), ("sim",))
    gather = Task("gather", "g", ("x",), ("f1", "f2"))
    job = _job(sim, f1, f2, gather)
    assert [t.id for t in ready(job, {})] == ["sim"]
    assert [t.id for t in ready(job, {"sim": "done"})] == ["f1", "f2"]
    assert ready(job, {"sim": "done", "f1": "done", "f2": "failed"}) == []
    assert job_state(job, {"sim": "done", "f1": "done", "f2": "failed"}) == "failed"
    assert job_state(job, {"sim": "done", "f1": "running", "f2": "failed"}) == "running"
    assert job_state(job, dict.fromkeys(("sim", "f1", "f2", "gather"), "done")) == "done"


def test_frame_ranges_cover_the_shot_from_its_first_frame() -> None:
    assert chunks(1001, 1012, 5) == [(1001, 1005), (1006, 1010), (1011, 1012)]
    assert chunks(1001, 1001, 30) == [(1001, 1001)]
    with pytest.raises(InputError, match="at least 1"):
        chunks(1001, 1010, 0)


@pytest.mark.parametrize(("farm", "address"), [
    ("local", None), ("ray://head:10001", "ray://head:10001"), ("10.0.0.5:6379", "10.0.0.5:6379"),
])  # fmt: skip
def test_farm_addresses(farm: str, address: str | None) -> None:
    assert ray_address(farm) == address


def test_an_address_that_is_not_one_is_refused() -> None:
    with pytest.raises(InputError, match="ray://HOST:PORT"):
        ray_address("my-cluster")


# ---- planning a command ------------------------------------------------------------------------


def test_a_collapse_plans_into_simulation_frame_ranges_and_gather(storage: Path) -> None:
    job = plan_job(["moviola", *SMALL, "--force"], storage, storage, chunk=3)
    assert job.kind == "collapse"
    assert [t.id for t in job.tasks] == ["simulate", "frames-1001-1003", "frames-1004-1006", "frames-1007-1008",
                                         "gather"]  # fmt: skip
    sim, *frames, gather = job.tasks
    assert sim.argv[-1] == "--simulate-only" and "--force" in sim.argv  # replacing a folder happens once
    for t in frames:
        assert t.after == ("simulate",) and "--force" not in t.argv
        assert t.argv[-2:] == ("--frame-range", f"{t.frames[0]}-{t.frames[1]}")  # type: ignore[index]
    assert gather.after == tuple(t.id for t in frames) and "--force" not in gather.argv
    assert all(t.outputs == ("shot",) for t in job.tasks)


@pytest.mark.parametrize(("slots", "ranges"), [(1, [(1001, 1024)]), (2, [(1001, 1012), (1013, 1024)]),
                                               (8, [(1001, 1008), (1009, 1016), (1017, 1024)])])  # fmt: skip
def test_by_default_a_collapse_has_a_range_for_each_task_the_farm_runs_at_once(storage: Path, slots: int,
                                                                                ranges: list[tuple[int, int]]) -> None:  # fmt: skip
    """A range costs a process to start: one that would only wait for a free slot is not made
    (and none is shorter than 8 frames)."""
    job = plan_job([("24" if a == "8" else a) for a in SMALL], storage, storage, slots=slots)  # 24 frames
    assert [t.frames for t in job.tasks if t.frames] == ranges


def test_the_preview_plans_the_frames_the_preview_draws(storage: Path) -> None:
    job = plan_job(["vfx", "collapse", "--recipe", "recipe.json", "--preview", "--out", "p"], storage, storage)
    frames = [t.frames for t in job.tasks if t.frames]
    assert frames[0] == (1001, 1012) and frames[-1] == (1037, 1048)  # 48 frames, a quarter a task


def test_a_previs_plans_into_breakdown_and_plan_runs_of_scenes_and_gather(storage: Path) -> None:
    job = plan_job(["previs", "film", "--no-audio", "--force"], storage, storage, parts=3)
    assert job.kind == "previs"
    assert [(t.id, t.argv, t.after) for t in job.tasks] == [
        ("plan", ("previs", "film", "--no-audio", "--force", "--plan-only"), ()),
        ("scenes-1-of-3", ("previs", "film", "--no-audio", "--force", "--draw-part", "1/3"), ("plan",)),
        ("scenes-2-of-3", ("previs", "film", "--no-audio", "--force", "--draw-part", "2/3"), ("plan",)),
        ("scenes-3-of-3", ("previs", "film", "--no-audio", "--force", "--draw-part", "3/3"), ("plan",)),
        ("gather", ("previs", "film", "--no-audio"), ("scenes-1-of-3", "scenes-2-of-3", "scenes-3-of-3")),
    ]  # --force redraws every scene once, in its own task; a forced gathering would draw them all again
    assert str(storage / "film" / "previs") in job.tasks[1].outputs


def test_other_commands_are_one_task(storage: Path) -> None:
    job = plan_job(["breakdown", "film", "--no-model"], storage, storage)
    assert job.kind == "command" and [t.argv for t in job.tasks] == [("breakdown", "film", "--no-model")]


@pytest.mark.parametrize(("argv", "message"), [
    ([], "give the command to run"),
    (["vfx", "explode"], "no such command"),
    (["vfx"], "needs a command after it"),
    ([*SMALL, "--frame-range", "1001-1002"], "the farm's to add"),
    (["previs", "film", "--draw-part", "1/2"], "the farm's to add"),
    (["vfx", "collapse", "--recipe", "recipe.json", "--frames", "ten"], "moviola vfx collapse"),
    (["vfx", "collapse", "--out", "x"], "give --plate"),
])  # fmt: skip
def test_a_command_that_cannot_be_planned_is_refused_in_one_line(storage: Path, argv: list[str],
                                                                 message: str) -> None:  # fmt: skip
    with pytest.raises(InputError, match=message):
        plan_job(argv, storage, storage)


def test_a_working_folder_outside_the_shared_storage_is_refused(storage: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="outside the shared storage"):
        plan_job(SMALL, storage, tmp_path)


# ---- running ---------------------------------------------------------------------------------


def test_a_node_that_does_not_see_the_storage_fails_fast_and_says_so(storage: Path, tmp_path: Path) -> None:
    job = plan_job(SMALL, storage, storage)
    store = JobStore(storage / ".moviola-farm" / job.id)
    store.write_job(job)
    with pytest.raises(StorageError, match="cannot see the job's shared storage"):
        run_task(str(tmp_path / "elsewhere" / job.id), "simulate", job.token)
    with pytest.raises(StorageError, match="its job token differs"):
        run_task(str(store.folder), "simulate", "another-folder's-token")
    assert store.state("simulate").state == "queued"  # nothing ran


def test_a_farm_render_is_the_plain_render_and_a_retry_reruns_nothing(storage: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    for f in PALACE.iterdir():
        (plain / f.name).write_bytes(f.read_bytes())
    moviola(*SMALL, cwd=plain)
    done = moviola("farm", "submit", "--workers", "2", "--chunk", "3", "--", "moviola", *SMALL, cwd=storage)
    job_id = done.stdout.split()[1]
    assert f"job {job_id} done: 5 tasks" in done.stdout
    assert same_layers(plain / "shot", storage / "shot") == 8 * 8
    s = status(storage, job_id)
    assert s["state"] == "done" and all(t["attempts"] == 1 and t["exit_code"] == 0 for t in s["tasks"])
    assert all(Path(t["log"]).read_text().count("=== attempt 1") == 1 for t in s["tasks"])
    again = moviola("farm", "retry", job_id, cwd=storage)
    assert "0 tasks to run again" in again.stdout
    assert [t["attempts"] for t in status(storage, job_id)["tasks"]] == [1] * 5  # nothing ran twice
    listing = moviola("farm", "status", cwd=storage).stdout
    assert job_id in listing and "5/5" in listing


def test_a_failing_task_fails_the_job_with_its_own_message_and_exit_1(storage: Path) -> None:
    failed = moviola("farm", "submit", "--", "moviola", "vfx", "report", "missing-folder", cwd=storage, check=False)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    job_id = failed.stdout.split()[1]
    task = status(storage, job_id)["tasks"][0]
    assert task["state"] == "failed" and task["exit_code"] == 2
    assert "missing-folder" in task["error"]  # the command's own one-line error, from its log


def test_a_cancelled_job_leaves_only_whole_files_and_a_retry_finishes_it(storage: Path, tmp_path: Path) -> None:
    cmd = [*SMALL[:-6], "--resolution", "320x240", "--frames", "24", "--out", "shot"]
    sub = moviola("farm", "submit", "--detach", "--json", "--chunk", "12", "--", "moviola", *cmd, cwd=storage)
    job_id = json.loads(sub.stdout)["job"]["id"]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:  # a frame range under way
        tasks = {t["id"]: t for t in status(storage, job_id)["tasks"]}
        if tasks["frames-1001-1012"]["state"] == "running" and list((storage / "shot" / "layers").rglob("*.exr")):
            break
        time.sleep(0.3)
    else:
        raise AssertionError("the frames never started")
    moviola("farm", "cancel", job_id, cwd=storage)
    s = status(storage, job_id)
    states = [t["state"] for t in s["tasks"]]
    assert s["state"] == "cancelled" and states[0] == "done"
    assert "cancelled" in states and set(states) <= {"done", "cancelled"}  # a range may have finished first
    assert states[-1] == "cancelled"  # the gathering never began
    hidden = [p for p in (storage / "shot").rglob(".*") if p.is_file() and p.suffix in (".tmp", ".exr", ".sig")]
    assert hidden == []  # nothing half-written
    for comp in (storage / "shot" / "layers" / "comp").glob("*.exr"):
        read_exr(comp)  # every frame there is whole
    retried = moviola("farm", "retry", job_id, cwd=storage)
    assert f"{states.count('cancelled')} tasks to run again" in retried.stdout and "done" in retried.stdout
    s = status(storage, job_id)
    assert s["state"] == "done" and s["tasks"][0]["attempts"] == 1  # the simulation was not run again
    plain = tmp_path / "plain"
    plain.mkdir()
    for f in PALACE.iterdir():
        (plain / f.name).write_bytes(f.read_bytes())
    moviola(*cmd, cwd=plain)
    assert same_layers(plain / "shot", storage / "shot") == 24 * 8


# ---- a previs in parts ---------------------------------------------------------------------------

ROOFTOP = ROOT / "tests" / "data" / "previs" / "rooftop.fountain"
PREVIS = ["previs", "film", "--no-model", "--no-audio", "--size", "320x180", "--board-width", "480"]


def test_a_previs_drawn_in_parts_is_the_plain_previs_and_its_gathering_draws_nothing_again(tmp_path: Path) -> None:
    from PIL import Image

    template = tmp_path / "template"
    template.mkdir()
    moviola("init", "film", cwd=template)
    moviola("import-script", "film", str(ROOFTOP), cwd=template)
    moviola("breakdown", "film", "--no-model", cwd=template)
    moviola("plan", "film", cwd=template)  # one plan for both: its date is on the animatic's slate
    plain, storage = tmp_path / "plain", tmp_path / "storage"
    shutil.copytree(template, plain)
    shutil.copytree(template, storage)
    moviola(*PREVIS, cwd=plain)
    done = moviola("farm", "submit", "--workers", "2", "--parts", "3", "--", "moviola", *PREVIS, cwd=storage)
    job_id = done.stdout.split()[1]
    assert f"job {job_id} done: 5 tasks" in done.stdout

    steps = {s["name"]: s for s in json.loads((storage / "film" / "previs" / "previs.json").read_text())["steps"]}
    scenes = len(json.loads((plain / "film" / "previs" / "previs.json").read_text())["outputs"]["stages"])
    assert steps["layout"]["detail"] == f"0 of {scenes} stages written"  # the parts drew every scene...
    assert steps["render"]["detail"].startswith(f"0 of {scenes} scenes rendered")
    assert ", 0 rendered," in steps["animatic"]["detail"]  # ...and every animatic segment, once
    logs = {t["id"]: Path(t["log"]).read_text() for t in status(storage, job_id)["tasks"]}
    assert all("Previs part" in logs[f"scenes-{k}-of-3"] for k in (1, 2, 3))

    a, b = plain / "film" / "previs", storage / "film" / "previs"
    pngs = sorted(p.relative_to(a) for p in a.rglob("*.png"))
    assert pngs and pngs == sorted(p.relative_to(b) for p in b.rglob("*.png"))
    for rel in pngs:
        assert np.array_equal(np.asarray(Image.open(a / rel)), np.asarray(Image.open(b / rel))), rel
    import av

    def frames(path: Path) -> list[np.ndarray]:
        with av.open(str(path)) as container:
            return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]

    x, y = frames(a / "animatic.mp4"), frames(b / "animatic.mp4")
    assert len(x) == len(y) and all(np.array_equal(i, j) for i, j in zip(x, y, strict=True))
    for name in ("timeline.otio", "timeline.edl"):
        assert (a / name).read_text() == (b / name).read_text().replace(str(storage), str(plain))
    assert not [p for p in b.rglob("*") if p.name.startswith(".") and p.name.endswith(".tmp")]

    # --force: each part redraws its own scenes; the gathering redraws none, and remakes the rest
    moviola("farm", "submit", "--parts", "2", "--", "moviola", *PREVIS, "--force", cwd=storage)
    steps = {s["name"]: s for s in json.loads((b / "previs.json").read_text())["steps"]}
    assert steps["render"]["detail"].startswith(f"0 of {scenes} scenes rendered")
    assert steps["contact sheets"]["status"] == "ran" and steps["animatic"]["status"] == "ran"
    assert ", 0 rendered," in steps["animatic"]["detail"]


@pytest.mark.parametrize(("flags", "message"), [
    (["--draw-part", "5/4"], "K/N with 1 <= K <= N"),
    (["--draw-part", "two"], "is not K/N"),
    (["--draw-part", "1/2", "--plan-only"], "two different tasks"),
])  # fmt: skip
def test_a_previs_part_that_is_not_one_is_refused(tmp_path: Path, flags: list[str], message: str) -> None:
    moviola("init", "film", cwd=tmp_path)
    done = moviola("previs", "film", *flags, cwd=tmp_path, check=False)
    assert done.returncode == 2 and message in done.stdout + done.stderr
