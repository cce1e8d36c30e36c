"""The hostile-input table: careless or hostile uses of ``moviola`` and the one line each gets.

Each area keeps its rows in its own ``test_hostile_*.py`` as a list of :class:`Hostile`
cases and checks them with :func:`check_case`, so the next feature inherits the same
contract: a non-zero exit with the expected code, exactly one line on stderr matching
the expected words, no traceback, nothing on stdout, and nothing written anywhere the
case did not allow (the whole ``tmp_path`` is compared before and after).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from conftest import CliResult, RunCli, take_snapshot

#: ``setup(tmp_path)`` builds the files a case needs and returns the CLI arguments;
#: ``{tmp}`` in an argument is replaced by ``tmp_path``.
Setup = Callable[[Path], Sequence[str | Path]]


@dataclass(frozen=True)
class Hostile:
    """One row: what a user did, the exit code and the words of the one-line error."""

    id: str
    setup: Setup
    code: int
    message: str  # a regular expression searched in the error line
    # Paths (relative to tmp_path, glob patterns) the command may create or change even
    # though it fails, e.g. a log file. Empty: the tree must be exactly as before.
    may_write: tuple[str, ...] = field(default=())


def check_case(case: Hostile, run_cli: RunCli, tmp_path: Path) -> CliResult:
    """Run one row and check the whole contract; returns the result for extra checks."""
    args = [str(a).replace("{tmp}", str(tmp_path)) for a in case.setup(tmp_path)]
    before = _allowed_removed(take_snapshot(tmp_path), case.may_write)
    result = run_cli(*args)
    assert "Traceback" not in result.err, result.err
    assert result.code == case.code, (
        f"{case.id}: exit {result.code}, expected {case.code}; stderr={result.err!r}"
    )
    assert len(result.err_lines) == 1, f"{case.id}: expected one error line, got:\n{result.err}"
    assert re.search(case.message, result.err_lines[0]), (
        f"{case.id}: {result.err_lines[0]!r} does not match {case.message!r}"
    )
    assert result.out.strip() == "", f"{case.id}: nothing should go to stdout: {result.out!r}"
    after = _allowed_removed(take_snapshot(tmp_path), case.may_write)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k, 0) != after.get(k, 0))
    assert not changed, f"{case.id}: a refused command changed files: {changed[:10]}"
    return result


def _allowed_removed(snap: dict[str, bytes | None], allowed: tuple[str, ...]) -> dict[str, bytes | None]:
    return {k: v for k, v in snap.items() if not any(Path(k).match(p) for p in allowed)}
