"""Shared fixtures: the example screenplay, project folders, and running the CLI.

The CLI is called in-process through :func:`moviola.cli.main`, with stdout and
stderr captured by pytest's ``capsys``. Breakdowns here are rules-only
(``--no-model``) so the suite stays fast; the one test that loads the real
embedding model is marked ``model``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
NEVADA = REPO_ROOT / "examples" / "nevada" / "nevada.fountain"

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass(frozen=True)
class CliResult:
    """What one ``moviola`` invocation did: its exit code and what it printed."""

    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


RunCli = Callable[..., CliResult]
Snapshot = dict[str, bytes | None]


@pytest.fixture(scope="session", autouse=True)
def _private_user_config(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The suite never writes the user's own configuration (consent signing keys): every
    test runs with ``MOVIOLA_CONFIG`` in a temporary folder, unless it sets its own."""
    os.environ["MOVIOLA_CONFIG"] = str(tmp_path_factory.mktemp("moviola-config"))


@pytest.fixture(scope="session")
def nevada_path() -> Path:
    """The bundled example screenplay (read-only: copy it before editing)."""
    assert NEVADA.is_file(), f"example screenplay missing: {NEVADA}"
    return NEVADA


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """Run ``moviola ARGS...`` in-process; returns a :class:`CliResult`.

    Output already printed by the test before the call is discarded, so each
    result holds exactly what that one invocation printed.
    """
    from moviola.cli import main

    def run(*args: str | Path) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, _ANSI.sub("", captured.out), _ANSI.sub("", captured.err))

    return run


def take_snapshot(root: Path) -> Snapshot:
    """Every file (its bytes) and folder (``None``) under ``root``, by relative path."""
    snap: Snapshot = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        snap[rel] = p.read_bytes() if p.is_file() else None
    return snap


@pytest.fixture
def snapshot() -> Callable[[Path], Snapshot]:
    """``snapshot(folder)``: compare before/after to prove a command changed nothing."""
    return take_snapshot


@pytest.fixture
def assert_one_line_error() -> Callable[[CliResult, Path | str], None]:
    """Check the CLI's error contract: non-zero exit, one stderr line naming ``path``."""

    def check(result: CliResult, path: Path | str) -> None:
        assert result.code != 0, f"expected failure, got exit 0; stdout={result.out!r}"
        assert "Traceback" not in result.err, result.err
        assert len(result.err_lines) == 1, f"expected one error line, got:\n{result.err}"
        assert str(path) in result.err_lines[0], (
            f"error line does not name {path}: {result.err_lines[0]!r}"
        )
        assert result.out.strip() == "", f"nothing should go to stdout: {result.out!r}"

    return check


@pytest.fixture
def new_project(tmp_path: Path) -> Path:
    """A freshly initialised, empty project folder."""
    from moviola.core import init_project

    root = tmp_path / "proj"
    init_project(root)
    return root


@pytest.fixture
def imported_project(new_project: Path, nevada_path: Path) -> Path:
    """A project with the example screenplay imported as revision 1 (no breakdown)."""
    from moviola.core import open_project
    from moviola.script import import_script

    import_script(open_project(new_project), nevada_path)
    return new_project


@pytest.fixture(scope="session")
def _nevada_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from moviola.core import init_project, open_project
    from moviola.script import import_script, run_breakdown

    root = tmp_path_factory.mktemp("template") / "nevada"
    init_project(root, "nevada")
    project = open_project(root)
    import_script(project, NEVADA)
    run_breakdown(project, use_model=False)
    return root


@pytest.fixture
def nevada_project(_nevada_template: Path, tmp_path: Path) -> Path:
    """A private copy of a project holding the example and its rules-only breakdown."""
    root = tmp_path / "nevada"
    shutil.copytree(_nevada_template, root)
    return root


@pytest.fixture
def planned_project(tmp_path: Path) -> tuple[Path, str]:
    """A project with a rules-only breakdown and a shot plan of the rooftop scene: its
    root and its first shot's id (what a VFX shot links to)."""
    from moviola.core import init_project, open_project
    from moviola.plan import load_plan, run_plan
    from moviola.script import import_script, run_breakdown

    root = tmp_path / "film"
    import_script(init_project(root, name="film"), REPO_ROOT / "tests" / "data" / "previs" / "rooftop.fountain")
    project = open_project(root)
    run_breakdown(project, use_model=False)
    run_plan(project)
    return root, str(load_plan(project)["shots"][0]["id"])


# ---- a real PostgreSQL server on loopback, for the stream store's tests ----------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Start PostgreSQL (Debian's, as setup installs it) on 127.0.0.1 in a temporary folder;
    yields a URL to its ``postgres`` database and stops the server afterwards."""
    from pg_server import local_postgres

    with local_postgres() as url:
        if url is None:
            pytest.skip("PostgreSQL's server is not installed (scripts/setup.sh installs it)")
        yield url


@pytest.fixture
def postgres_db(postgres_server: str) -> str:
    """A fresh, empty database on the test server; its URL."""
    import uuid

    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return postgres_server.rsplit("/", 1)[0] + f"/{name}"
