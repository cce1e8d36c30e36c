"""The previs cache's record of what each step made, written by several processes at once
(a render farm's scene tasks drawing into one project): nobody's entry is lost."""

from __future__ import annotations

import json
import multiprocessing
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from moviola.previs._state import State  # noqa: E402


def _put_many(path: str, who: int, count: int) -> None:
    state = State(Path(path))  # read once, at the start, as a task does
    for i in range(count):
        state.put("boards", f"{who}-{i}", {"key": f"k{who}.{i}"})


def test_processes_writing_at_once_keep_every_entry(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "previs" / "state.json"
    State(path).put("layout", "1", {"written": "abc"})  # what was there before stays too
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_put_many, args=(str(path), who, 40)) for who in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    data = json.loads(path.read_text())
    assert data["layout"] == {"1": {"written": "abc"}}
    assert len(data["boards"]) == 4 * 40
    assert State(path).get("boards", "3-39") == {"key": "k3.39"}


def test_a_corrupt_record_costs_a_redraw_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json")
    state = State(path)
    assert state.get("boards", "1") is None
    state.put("boards", "1", {"key": "k"})
    assert json.loads(path.read_text()) == {"boards": {"1": {"key": "k"}}}
