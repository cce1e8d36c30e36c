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

    @stream_app.command("eval")
    def eval_cmd(service: ServiceArg, as_json: JsonOpt = False) -> None:
        """The MovieLens protocol (75/25 within each member, seed 42, top 10): the served model
        beside popularity, BPR and ALS, all fitted on the training part in this run."""
        from ..stream import evaluate, open_service, read_interactions

        report = evaluate(read_interactions(open_service(service)))
        if as_json:
            print_json(report)
            return
        p = report["protocol"]
        out.print(f"{p['members']:,} members, {p['titles']:,} titles; train {p['train']:,}, test "
                  f"{p['test']:,} ({escape(p['split'])}, seed {p['seed']}); {p['cores']} cores")  # fmt: skip
        out.print(f"served: {report['served']['kind']} ({escape(report['served']['settings'])}, chosen on validation)")
        out.print(f"{'model':<12}{'NDCG@10':>9}{'P@10':>8}{'R@10':>8}{'MAP@10':>8}{'train s':>9}")
        for row in report["models"]:
            out.print(f"{row['model']:<12}{row['ndcg@10']:>9.4f}{row['precision@10']:>8.4f}"
                      f"{row['recall@10']:>8.4f}{row['map@10']:>8.4f}{row['train_seconds']:>9.2f}")  # fmt: skip

    @stream_app.command("train")
    def train_cmd(service: ServiceArg, as_json: JsonOpt = False) -> None:
        """Train the served model on every rating and play and record it as the newest model version."""
        from ..stream import open_service, train

        version = train(open_service(service))
        if as_json:
            print_json({"version": version.version, "kind": version.kind, "path": str(version.path),
                        **{k: version.info[k] for k in ("lambda", "settings", "members", "titles", "ratings", "train_seconds")}})  # fmt: skip
            return
        info = version.info
        out.print(f"Model version {escape(version.version)}: {version.kind} ({escape(info['settings'])}) on "
                  f"{info['ratings']:,} ratings and plays, {info['members']:,} members, {info['titles']:,} titles, "
                  f"in {escape(str(version.path))}")  # fmt: skip

    @stream_app.command("recommend")
    def recommend_cmd(
        service: ServiceArg,
        member: Annotated[str | None, typer.Option(help="The member's id.")] = None,
        members: Annotated[Path | None, typer.Option(help="A file of member ids, one a line: "
                                                          "one JSON object a line.")] = None,  # fmt: skip
        picks: Annotated[str | None, typer.Option(help="Title ids a (new) member likes, "
                                                       "comma-separated: personal results without retraining.")] = None,  # fmt: skip
        k: Annotated[int, typer.Option("--k", help="How many titles.")] = 10,
        as_json: JsonOpt = False,
    ) -> None:
        """A member's top titles from the newest model, titles they rated left out."""
        import json
        import sys

        from ..core import InputError
        from ..stream import (
            open_service,
            parse_picks,
            read_member_ids,
            recommend,
            recommend_members,
        )

        if (member is None) == (members is None):
            raise InputError("give either --member ID or --members FILE")
        if members is not None and picks is not None:
            raise InputError("--picks goes with --member, not --members")
        svc = open_service(service)
        if members is not None:
            answers = recommend_members(svc, read_member_ids(members), k, members)
            sys.stdout.write("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in answers))
            return
        assert member is not None
        answer = recommend(svc, member, k=k, picks=parse_picks(picks) if picks is not None else ())
        if as_json:
            print_json(answer)
            return
        out.print(f"For {escape(answer['member'])} (model {escape(answer['model'])}):")
        for n, item in enumerate(answer["items"], start=1):
            out.print(f"{n:>3}. {escape(item['title'])} {escape('[' + item['title_id'] + ']')} {item['score']:.3f}: "
                      f"{escape(item['because'])}")  # fmt: skip

    @stream_app.command("publish")
    def publish_cmd(
        project: Annotated[Path, typer.Argument(help="A Moviola project folder.", show_default=False)],
        service: Annotated[Path, typer.Option("--service", help="The service folder.")],
        genres: Annotated[str, typer.Option(help="Genres, |-separated, e.g. 'Drama|Disaster'.")] = "",
        year: Annotated[int | None, typer.Option(help="Release year (default this year).")] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """A production becomes a title: synopsis from the script, poster and trailer from the film."""
        from ..stream import open_service, publish

        result = publish(project, open_service(service), genres=[g for g in genres.split("|") if g.strip()],
                         year=year)  # fmt: skip
        if as_json:
            print_json(result.__dict__)
            return
        out.print(f"Published [bold]{escape(result.title)}[/] as {escape(result.title_id)}")
        out.print(f"  poster  {escape(result.poster)}  (from {escape(result.poster_from)})")
        out.print(f"  trailer {escape(result.trailer or 'none')}  (from {escape(result.trailer_from or '-')})")
        out.print(f"  synopsis {escape(result.synopsis[:120])}{'…' if len(result.synopsis) > 120 else ''}")

    @stream_app.command("serve")
    def serve_cmd(
        service: ServiceArg,
        host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.")] = 8700,
        workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
        rate: Annotated[float, typer.Option(help="Reads a second per client address (token bucket).")] = 50.0,
        burst: Annotated[float, typer.Option(help="Reads a client may make at once.")] = 200.0,
    ) -> None:
        """Serve the HTTP API and the web page (FastAPI on uvicorn) until interrupted."""
        from ..stream import serve

        out.print(f"Serving {escape(str(service))} on http://{escape(host)}:{port}/ (API docs at /docs)")
        serve(service, host=host, port=port, workers=workers, rate=rate, burst=burst)

    key_app = typer.Typer(help="API keys for the service's writes.", no_args_is_help=True)
    stream_app.add_typer(key_app, name="key")

    @key_app.command("new")
    def key_new_cmd(service: ServiceArg, as_json: JsonOpt = False) -> None:
        """Make an API key and print its secret once (only its sha256 is stored)."""
        from ..stream import new_key, open_service

        made = new_key(open_service(service))
        if as_json:
            print_json({"key_id": made.key_id, "secret": made.secret})
            return
        out.print(f"API key {escape(made.key_id)} (shown once; keep it secret):")
        out.print(escape(made.secret), highlight=False, soft_wrap=True)

    @key_app.command("revoke")
    def key_revoke_cmd(service: ServiceArg, key_id: Annotated[str, typer.Argument(help="The key's id.")]) -> None:
        """Revoke an API key by its id."""
        from ..core import InputError
        from ..stream import open_service, revoke_key

        if not revoke_key(open_service(service), key_id):
            raise InputError(f"no live API key {key_id[:40]!r}", service)
        out.print(f"Revoked API key {escape(key_id)}")

    members_app = typer.Typer(help="The service's members.", no_args_is_help=True)
    stream_app.add_typer(members_app, name="members")

    @members_app.command("delete")
    def members_delete_cmd(
        service: ServiceArg,
        member: Annotated[str, typer.Argument(help="The member's id.")],
        retrain: Annotated[bool, typer.Option(help="Train a model version without them now.")] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Forget a member: their ratings, events and row; no model uses them from now on."""
        from ..stream import delete_member, open_service

        done = delete_member(open_service(service), member, retrain=retrain)
        if as_json:
            print_json({"member": done.member, "deleted": {"ratings": done.ratings, "events": done.events},
                        "model": done.model.version if done.model else None})  # fmt: skip
            return
        out.print(f"Deleted member {escape(done.member)}: {done.ratings:,} ratings, {done.events:,} events"
                  + (f"; model version {escape(done.model.version)} trained without them" if done.model else ""))  # fmt: skip

    @stream_app.command("search")
    def search_cmd(
        service: ServiceArg,
        query: Annotated[str, typer.Argument(help="What to look for: title words (typos, a word still being "
                                                  "typed, any order), a genre, a decade, or what happens.",
                                             show_default=False)],  # fmt: skip
        member: Annotated[str | None, typer.Option(help="Rank for this member, from what they watched.")] = None,
        k: Annotated[int, typer.Option("--k", help="How many titles.")] = 10,
        genre: Annotated[list[str] | None, typer.Option("--genre", help="Only titles of this genre "
                                                                        "(repeat it: any of them).")] = None,  # fmt: skip
        year: Annotated[str | None, typer.Option("--year", help="Only titles of this year or range "
                                                                "(1995, 1990-1999).")] = None,  # fmt: skip
        no_model: Annotated[bool, typer.Option("--no-model", help="Words only, without the sentence model.")] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Search the catalog: words with typos and prefixes, meaning, genres and years; personal with --member."""
        from ..stream import open_service, parse_years, search

        answer = search(open_service(service), query, member, k, genre, parse_years(year) if year else None,
                        semantic=not no_model, max_staleness=0.0)  # fmt: skip
        if as_json:
            print_json(answer)
            return
        mode = "words and meaning" if answer["semantic"] else "words only"
        whom = f" for {escape(answer['member'])} (model {escape(str(answer['model']))})" if answer["member"] else ""
        out.print(f"{answer['total']:,} titles match {escape(answer['query'])!r}{whom}, {mode}:")
        for n, hit in enumerate(answer["results"], start=1):
            out.print(f"{n:>3}. {escape(hit['title'])} ({hit['year'] or '?'}) {escape('[' + hit['title_id'] + ']')} "
                      f"{hit['score']:.3f}: {escape(', '.join(hit['matched']))}")  # fmt: skip
