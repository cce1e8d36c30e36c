"""``moviola init``: a new project folder."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from ..core import init_project
from ._common import DirArg, out


def init(
    directory: DirArg,
    name: Annotated[str | None, typer.Option(help="Project name (default: folder name).")] = None,
) -> None:
    """Create a project folder (manifest, documents, reports)."""
    project = init_project(directory, name)
    out.print(f"Created project [bold]{escape(project.name)}[/] in {escape(str(project.root))}")


def register(app: typer.Typer) -> None:
    """Attach ``init`` to the main app (called by the cli package)."""
    app.command()(init)
