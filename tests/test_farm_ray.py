"""The farm on a real Ray cluster: a head and a worker on loopback (``ray start``), a collapse
preview and a previs submitted to it (in frame ranges and runs of scenes), the worker killed
(``kill -9``) while it runs their
tasks. Both jobs still complete, the lost task is run again on the node that is left, and
every frame is the frame of a render on this machine alone.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ray_cluster import Cluster, ray_cluster  # noqa: E402

PALACE = ROOT / "examples" / "palace"
ROOFTOP = ROOT / "tests" / "data" / "previs" / "rooftop.fountain"
COLLAPSE = ["vfx", "collapse", "--recipe", "recipe.json", "--preview", "--frames", "48", "--out", "shot"]
PREVIS = ["previs", "film", "--no-model", "--no-audio", "--size", "320x180", "--board-width", "480"]



def moviola(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "moviola", *args], cwd=cwd, capture_output=True, text=True,
                          check=check, timeout=600)  # fmt: skip


def status(storage: Path, job: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(moviola("farm", "status", job, "--json", cwd=storage).stdout)
    return data


def movie_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def same_pictures(a: Path, b: Path) -> None:
    """Every frame under ``a`` (PNGs and movies' frames) is the one under ``b``; contact sheets
    are left out: they print how long the render took."""
    pngs = sorted(p.relative_to(a) for p in a.rglob("*.png") if "contact_sheet" not in p.name)
    assert pngs == sorted(p.relative_to(b) for p in b.rglob("*.png") if "contact_sheet" not in p.name)
    for rel in pngs:
        assert np.array_equal(np.asarray(Image.open(a / rel)), np.asarray(Image.open(b / rel))), rel
    movies = sorted(a.rglob("*.mp4"))
    assert pngs or movies
    for movie in movies:
        x, y = movie_frames(movie), movie_frames(b / movie.relative_to(a))
        assert len(x) == len(y) and all(np.array_equal(i, j) for i, j in zip(x, y, strict=True)), movie


def setup_work(folder: Path, template: Path) -> Path:
    """The palace plate and a planned project (one plan: its date is on the animatic's slate)."""
    if not template.exists():
        template.mkdir()
        moviola("init", "film", cwd=template)
        moviola("import-script", "film", str(ROOFTOP), cwd=template)
        moviola("breakdown", "film", "--no-model", cwd=template)
        moviola("plan", "film", cwd=template)
    shutil.copytree(template, folder)
    for f in PALACE.iterdir():
        shutil.copy(f, folder / f.name)
    return folder


def submit(storage: Path, cluster: Cluster, command: list[str], *extra: str) -> str:
    done = moviola("farm", "submit", "--farm", cluster.address, "--detach", "--json", *extra, "--",
                   "moviola", *command, cwd=storage)  # fmt: skip
    return str(json.loads(done.stdout)["job"]["id"])


def wait_for(check: Any, seconds: float, what: str, every: float = 0.5) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"waited {seconds:.0f} s for {what}")


def test_a_lost_worker_costs_a_retry_not_the_job_and_not_a_frame(tmp_path: Path) -> None:
    local = setup_work(tmp_path / "local", tmp_path / "template")
    moviola(*COLLAPSE, cwd=local)
    moviola(*PREVIS, cwd=local)

    storage = setup_work(tmp_path / "storage", tmp_path / "template")
    with ray_cluster(head_cpus=1) as cluster:
        worker = cluster.add_worker(cpus=1)
        jobs = [submit(storage, cluster, COLLAPSE, "--chunk", "24"), submit(storage, cluster, PREVIS, "--parts", "2")]

        def running_on_two_nodes() -> list[tuple[str, str, str]] | None:
            # frame ranges and runs of scenes (a plan already made is done in a second), read
            # straight from the job folders: a task starts and draws in seconds, no time for a
            # command per look, or the kill lands after the task it was meant for
            running = []
            for job in jobs:
                for f in (storage / ".moviola-farm" / job / "tasks").glob("*.json"):
                    try:
                        t = json.loads(f.read_text())
                    except ValueError:
                        continue  # being replaced this instant
                    if t.get("state") == "running" and t.get("node") and f.stem.startswith(("frames-", "scenes-")):
                        running.append((job, f.stem, str(t["node"])))
            return running if len({node for *_, node in running}) >= 2 else None

        # one task on each node (one CPU each): whichever the worker runs is lost with it
        at_kill = wait_for(running_on_two_nodes, 240, "tasks running on both nodes", every=0.05)
        Cluster.kill(worker)

        def finished() -> list[dict[str, Any]] | None:
            states = [status(storage, job) for job in jobs]
            return states if all(s["state"] in ("done", "failed", "cancelled") for s in states) else None

        final = wait_for(finished, 420, "both jobs to finish on the head")
        # and from outside the cluster, through Ray Client: the frames go on being the local ones
        done = moviola("farm", "submit", "--farm", cluster.client, "--json", "--", "moviola", *COLLAPSE[:-1],
                       "shot-client", cwd=storage)  # fmt: skip
        assert json.loads(done.stdout)["state"] == "done"
    for s in final:
        assert s["state"] == "done", json.dumps(s, indent=1)
    attempts = {(s["job"], t["id"]): t["attempts"] for s in final for t in s["tasks"]}
    assert any(attempts[(job, task)] >= 2 for job, task, _ in at_kill), (at_kill, attempts)
    assert all(n == 1 for (job, task), n in attempts.items() if (job, task) not in {(j, t) for j, t, _ in at_kill})

    same_pictures(local / "shot", storage / "shot")
    same_pictures(local / "shot", storage / "shot-client")
    same_pictures(local / "film" / "previs", storage / "film" / "previs")
    logs = [Path(t["log"]) for s in final for t in s["tasks"]]
    assert all(p.is_file() for p in logs)  # every task's output is kept with its job
    assert not list((storage / "shot").glob(".*.tmp"))  # nothing half-written is left
