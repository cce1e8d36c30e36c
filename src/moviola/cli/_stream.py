"""``moviola stream ...``: the streaming service's folder, catalog and ratings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

stream_app = typer.Typer(help="The streaming service: catalog, members, recommendations, search.",
                         no_args_is_help=True)  # fmt: skip

ServiceArg = Annotated[Path, typer.Argument(help="The service folder.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def register(app: typer.Typer, out: Any, print_json: Any) -> None:
    """Attach ``stream`` to the main app (called by the cli package)."""
    app.add_typer(stream_app, name="stream")

    def said(result: Any, as_json: bool) -> None:
        info = {"kind": result.kind, "file": result.file, "rows": result.rows, "new": result.new}
        if as_json:
            print_json(info)
        elif result.new:
            out.print(f"Imported {result.rows:,} {escape(result.kind)} rows from {escape(result.file)}")
        else:
            out.print(f"Unchanged: {escape(result.file)} was imported before ({result.rows:,} rows)")

    @stream_app.command("init")
    def init(
        service: ServiceArg,
        db: Annotated[str | None, typer.Option(help="A PostgreSQL 15 URL (postgresql://user@host:port/db) "
                                                  "instead of the embedded SQLite store.")] = None,
        name: Annotated[str | None, typer.Option(help="The service's name (default: folder name).")] = None,
    ) -> None:
        """Create a service folder: service.toml and its store, at the newest schema."""
        from ..stream import init_service, store_revision

        svc = init_service(service, db, name)
        out.print(f"Created service [bold]{escape(svc.name)}[/] in {escape(str(svc.root))} "
                  f"(store {escape(svc.store_label)}, schema {store_revision(svc)})")  # fmt: skip

    @stream_app.command("import-titles")
    def import_titles_cmd(
        service: ServiceArg,
        file: Annotated[Path, typer.Argument(help="CSV: title_id,title,year,genres[,synopsis,poster,trailer].")],
        as_json: JsonOpt = False,
    ) -> None:
        """Add or update catalog titles (all rows or none; the same file again changes nothing)."""
        from ..stream import import_titles, open_service

        said(import_titles(open_service(service), file), as_json)

    @stream_app.command("import-ratings")
    def import_ratings_cmd(
        service: ServiceArg,
        file: Annotated[Path, typer.Argument(help="CSV: member_id,title_id,rating,timestamp.")],
        as_json: JsonOpt = False,
    ) -> None:
        """Add members' ratings (all rows or none; the same file again changes nothing)."""
        from ..stream import import_ratings, open_service

        said(import_ratings(open_service(service), file), as_json)

    @stream_app.command("load-movielens")
    def load_movielens_cmd(service: ServiceArg, as_json: JsonOpt = False) -> None:
        """MovieLens 100K (943 members, 1,682 titles, 100,000 ratings) from the recbole wheel."""
        from ..stream import load_movielens, open_service

        said(load_movielens(open_service(service)), as_json)
