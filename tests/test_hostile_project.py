"""Careless or hostile use of the script pipeline (a project, its script, plan and previs):
one line each, its own exit code, nothing written; and the guards behind them: two
commands at once never lose an edit, a folder the file system refuses is one line and
leaves the documents as they were, and a bug is one line with its traceback in a log.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from hostile import Hostile, check_case

REPO = Path(__file__).resolve().parent.parent
NEVADA = REPO / "examples" / "nevada" / "nevada.fountain"
SHORT = REPO / "tests" / "data" / "previs" / "rooftop.fountain"


def project(tmp: Path, *, plan: bool = False) -> Path:
    """A project with the short rooftop script imported (and planned, if asked)."""
    from moviola.core import init_project, open_project
    from moviola.plan import run_plan
    from moviola.script import import_script

    root = tmp / "film"
    import_script(init_project(root), SHORT)
    if plan:
        run_plan(open_project(root), use_model=False)
    return root


def looping(sub: str) -> Any:
    def setup(tmp: Path) -> Sequence[str | Path]:
        root = project(tmp)
        shutil.rmtree(root / sub)
        (root / sub).symlink_to(sub)  # a link to itself
        return ["plan", root, "--no-model"]

    return setup


def dangling(tmp: Path) -> Sequence[str | Path]:
    root = project(tmp)
    shutil.rmtree(root / "documents")
    (root / "documents").symlink_to(tmp / "nowhere")
    return ["breakdown", root, "--no-model"]


def file_for_folder(tmp: Path) -> Sequence[str | Path]:
    root = project(tmp)
    shutil.rmtree(root / "documents")
    (root / "documents").write_text("not a folder")
    return ["plan", root, "--no-model"]


def previs_unknown_scene(tmp: Path) -> Sequence[str | Path]:
    return ["previs", project(tmp, plan=True), "--scenes", "1,99", "--no-audio"]


def previs_bad_size(tmp: Path) -> Sequence[str | Path]:
    return ["previs", project(tmp, plan=True), "--size", "320by180"]


def import_folder(tmp: Path) -> Sequence[str | Path]:
    root = project(tmp)
    (tmp / "draft").mkdir()
    return ["import-script", root, tmp / "draft"]


def import_binary(tmp: Path) -> Sequence[str | Path]:
    root = project(tmp)
    (tmp / "draft.fountain").write_bytes(bytes(range(256)) * 8)
    return ["import-script", root, tmp / "draft.fountain"]


def shot_of_another_film(tmp: Path) -> Sequence[str | Path]:
    return ["shot", "set", project(tmp, plan=True), "99Z", "--lens", "35"]


def no_such_project(tmp: Path) -> Sequence[str | Path]:
    return ["plan", tmp / "nothing-here"]


def not_a_project(tmp: Path) -> Sequence[str | Path]:
    (tmp / "folder").mkdir()
    return ["previs", tmp / "folder"]


def broken_manifest(tmp: Path) -> Sequence[str | Path]:
    root = project(tmp)
    (root / "moviola.toml").write_text("[project\nname = ")
    return ["breakdown", root]


def usage(args: list[str]) -> Any:
    return lambda tmp: args


CASES = [
    Hostile("documents-links-to-itself", looping("documents"), 3, r"documents: is a link that loops"),
    Hostile("cache-links-to-itself", looping("cache"), 3, r"cache: is a link that loops"),
    Hostile("documents-link-points-nowhere", dangling, 3, r"documents: is a link that loops or points nowhere"),
    Hostile("a-file-where-documents-should-be", file_for_folder, 3, r"documents: is not a folder"),
    Hostile("previs-of-a-scene-not-in-the-plan", previs_unknown_scene, 2, r"--scenes '1,99': no scene '99'"),
    Hostile("previs-size-not-a-size", previs_bad_size, 2, r"^error: .*'320by180' is not WIDTHxHEIGHT.*--help"),
    Hostile("import-a-folder", import_folder, 2, r"draft"),
    Hostile("import-binary-bytes", import_binary, 2, r"draft\.fountain"),
    Hostile("edit-a-shot-that-does-not-exist", shot_of_another_film, 2, r"99Z"),
    Hostile("plan-a-folder-that-does-not-exist", no_such_project, 3, r"nothing-here: no such folder"),
    Hostile("previs-a-folder-that-is-no-project", not_a_project, 3, r"folder: not a Moviola project"),
    Hostile("a-manifest-that-is-not-toml", broken_manifest, 3, r"moviola\.toml: manifest is not valid TOML"),
    Hostile("unknown-command", usage(["storyboard", "x"]), 2, r"^error: No such command 'storyboard'"),
    Hostile("missing-argument", usage(["plan"]), 2, r"^error: Missing argument"),
    Hostile("unknown-option", usage(["plan", "x", "--lens", "35"]), 2, r"^error: No such option: --lens"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_use_of_the_script_pipeline_is_one_line(case: Hostile, run_cli: Any, tmp_path: Path) -> None:
    check_case(case, run_cli, tmp_path)


# ---- two commands at once ------------------------------------------------------------------


def test_edits_made_at_the_same_time_are_all_kept(tmp_path: Path) -> None:
    root = project(tmp_path, plan=True)
    plan = json.loads((root / "documents" / "plan.json").read_text(encoding="utf-8"))
    shots = [s["id"] for s in plan["shots"]][:6]
    lenses = {shot: 20 + 5 * i for i, shot in enumerate(shots)}
    procs = [subprocess.Popen([sys.executable, "-m", "moviola", "shot", "set", str(root), shot,
                               "--lens", str(lens)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for shot, lens in lenses.items()]  # fmt: skip
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()

    after = json.loads((root / "documents" / "plan.json").read_text(encoding="utf-8"))
    got = {s["id"]: s["lens_mm"] for s in after["shots"] if s["id"] in lenses}
    assert got == lenses  # every one of the six read-modify-writes landed


# ---- the file system says no ---------------------------------------------------------------


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder another user can enter (pytest's own is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="moviola-perm-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _runs_as_nobody() -> bool:
    """Whether this machine lets user ``nobody`` run our Python (Debian keeps /root private,
    so a venv whose interpreter lives under /root cannot be run by another user)."""
    if os.geteuid() != 0:
        return True
    if shutil.which("setpriv") is None:
        return False
    probe = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            sys.executable, "-c", "import moviola"], capture_output=True)  # fmt: skip
    return probe.returncode == 0


def test_a_folder_the_file_system_refuses_is_one_line_and_changes_nothing(
    tmp_path: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file system refuses every new file in documents/ (as a read-only folder does for
    a user; root is refused nothing, so the refusal is made here)."""
    root = project(tmp_path, plan=True)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    real_mkstemp = tempfile.mkstemp

    def refuse_in_documents(*args: Any, **kwargs: Any) -> tuple[int, str]:
        folder = Path(kwargs.get("dir") or "")
        if folder.name == "documents":
            raise PermissionError(13, "Permission denied", str(folder))
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", refuse_in_documents)
    result = run_cli("plan", root, "--style", "documentary")

    assert result.code == 7 and len(result.err_lines) == 1, result.err
    assert result.err_lines[0] == f"error: {root / 'documents' / 'plan.json'}: cannot write: permission denied"
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert after == before  # the reports did not move ahead of the plan they describe


@pytest.mark.skipif(not _runs_as_nobody(), reason="user nobody cannot run this Python")
def test_a_read_only_documents_folder_is_one_line_and_changes_nothing(shared_tmp: Path) -> None:
    root = project(shared_tmp, plan=True)
    for p in [root, *root.rglob("*")]:
        p.chmod(0o777 if p.is_dir() else 0o666)
    (root / "documents").chmod(0o555)  # only documents/ is read-only: reports/ is writable
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    command = [sys.executable, "-m", "moviola", "plan", str(root), "--style", "documentary"]
    if os.geteuid() == 0:  # root writes anywhere: run as nobody, for whom the mode holds
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]

    result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "HOME": str(shared_tmp)})  # fmt: skip

    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert result.returncode == 7, result.stderr
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0] == f"error: {root / 'documents' / 'plan.json'}: cannot write: permission denied"
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert after == before  # the reports did not move ahead of the plan they describe


# ---- a bug --------------------------------------------------------------------------------


def test_a_bug_is_one_line_naming_the_step_with_the_traceback_in_the_project(
    tmp_path: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import moviola.previs._pipeline as pipeline

    root = project(tmp_path, plan=True)

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug we did not foresee")

    monkeypatch.setattr(pipeline, "render_scene_boards", broken)
    result = run_cli("previs", root, "--no-audio", "--size", "192x108", "--board-width", "256")

    assert result.code == 70
    assert len(result.err_lines) == 1 and "Traceback" not in result.err
    line = result.err_lines[0]
    assert line.startswith("error: moviola previs failed in step 'previs: render'")
    assert f"on {root}" in line and "ZeroDivisionError: a bug we did not foresee" in line
    logs = list((root / "logs").glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in line
    text = logs[0].read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "render_scene_boards" not in text.split("\n")[0]
    assert "ZeroDivisionError: a bug we did not foresee" in text
