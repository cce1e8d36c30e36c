"""What every command module of the ``moviola`` command shares: the consoles (human output
on stdout, progress and errors on stderr), JSON printing, the progress bar, and the
arguments most project commands take."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

out = Console()
err = Console(stderr=True)

DirArg = Annotated[Path, typer.Argument(help="The project folder.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of a summary.")]
NoModelOpt = Annotated[
    bool, typer.Option("--no-model", help="If a breakdown is needed: rules only, no model.")
]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A bar per stage on a terminal; under the farm (``MOVIOLA_FARM_PROGRESS``: a file), the
    same figures written to that file for ``moviola farm status`` to show."""
    farm = os.environ.get("MOVIOLA_FARM_PROGRESS")
    if farm:
        yield _progress_file(Path(farm))
        return
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("[bold]{task.description:<12}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=max(total, 1))
            bar.update(tasks[stage], completed=done, total=max(total, 1))

        yield update


def _progress_file(path: Path) -> Callable[[str, int, int], None]:
    from ..core import write_text_atomic

    last = [0.0]

    def update(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - last[0] < 0.5:  # at most twice a second, and always the end
            return
        last[0] = now
        with contextlib.suppress(OSError):  # progress is a courtesy: a full disk must not stop the task
            write_text_atomic(path, json.dumps({"stage": stage, "done": done, "total": total}) + "\n")

    return update


def upstream(steps: list[str]) -> None:
    """Say which earlier steps a command ran first, as ``previs`` does in its table."""
    if steps:
        out.print(f"Ran first (missing or out of date): {', '.join(steps)}")


def controlnets(values: list[str] | None) -> Any:
    """``--controlnet DIR`` (depth) or ``--controlnet lineart=DIR``, repeatable."""
    if not values:
        return None
    if len(values) == 1 and "=" not in values[0]:
        return Path(values[0])
    out: dict[str, Path] = {}
    for v in values:
        kind, sep, path = v.partition("=")
        if not sep or not kind or not path:
            raise typer.BadParameter(f"{v!r}: give --controlnet DIR, or KIND=DIR (depth=..., lineart=...)")
        out[kind.strip()] = Path(path)
    return out
