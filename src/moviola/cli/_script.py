"""``moviola import-script``, ``breakdown`` and ``tag ...``: the screenplay in the project,
its breakdown, and the review of the breakdown's tags."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..core import open_project
from ._common import DirArg, JsonOpt, err, out, print_json, progress_bar

tag_app = typer.Typer(
    help="Review breakdown tags: list, accept, reject, add.", no_args_is_help=True
)


def import_script_cmd(
    directory: DirArg,
    script: Annotated[Path, typer.Argument(help="A .fountain or .fdx screenplay.")],
    as_json: JsonOpt = False,
) -> None:
    """Copy a screenplay into the project as a new revision (hash recorded)."""
    from ..script._workflow import import_script

    project = open_project(directory)
    result = import_script(project, script)
    rev = result.revision
    info = {
        "revision": rev.revision,
        "file": rev.file,
        "sha256": rev.sha256,
        "format": rev.format,
        "new": result.new,
        "title": result.screenplay.title,
        "encoding": result.screenplay.encoding,
        "warnings": [str(w) for w in result.screenplay.warnings],
    }
    if as_json:
        print_json(info)
        return
    if result.new:
        out.print(
            f"Imported revision {rev.revision}: {rev.file} ({rev.format}, sha256 {rev.sha256[:12]}…)"
        )
    else:
        out.print(f"Unchanged: the script matches revision {rev.revision} ({rev.sha256[:12]}…)")
    if result.screenplay.encoding not in ("utf-8", "utf-8-sig"):
        out.print(f"[yellow]note:[/] decoded as {result.screenplay.encoding}")
    for w in result.screenplay.warnings:
        out.print(f"[yellow]warning:[/] {script}:{w.line}: {w.message}")


def breakdown(
    directory: DirArg,
    as_json: JsonOpt = False,
    no_model: Annotated[
        bool, typer.Option("--no-model", help="Rules only; skip the embedding classifier.")
    ] = False,
    model: Annotated[
        Path | None,
        typer.Option(
            help="A local sentence-transformers model folder instead of the packaged one."
        ),
    ] = None,
    backend: Annotated[
        str,
        typer.Option(help="Model runtime: onnx (default, fast; exported once) or torch."),
    ] = "onnx",
    allow_non_commercial: Annotated[
        bool,
        typer.Option("--allow-non-commercial", help="Allow a model with a non-commercial licence."),
    ] = False,
) -> None:
    """Break down the current script: scenes, eighths, cast, props, VFX... and reports."""
    from ..script._workflow import run_breakdown

    project = open_project(directory)
    with progress_bar(not as_json and err.is_terminal) as progress:
        result = run_breakdown(
            project,
            use_model=not no_model,
            model_dir=model,
            allow_non_commercial=allow_non_commercial,
            backend=backend,
            progress=progress,
        )
    if as_json:
        print_json(result.document)
        return
    _summary(result, project.root)


def _summary(result: Any, root: Path) -> None:
    doc = result.document
    totals = doc["totals"]
    table = Table(title=f"{doc['script'].get('title') or 'Untitled'} — breakdown", show_lines=False)
    for col in ("Sc", "Heading", "Len", "Cast", "Props", "VFX cues"):
        table.add_column(col, overflow="fold")
    for s in doc["scenes"]:
        kinds = [t for t in s["tags"] if t["status"] != "rejected"]
        vfx = sorted({t.get("vfx_kind", "") for t in kinds if t["kind"] == "vfx"})
        table.add_row(
            s["number"],
            s["heading"][:48],
            s["length"],
            str(len(s["speaking"]) + len(s["non_speaking"])),
            str(sum(1 for t in kinds if t["kind"] == "props")),
            ", ".join(vfx),
        )
    out.print(table)
    clf = doc["classifier"]
    model = f"{clf.get('name')} ({clf.get('licence')})" if clf.get("used") else "rules only"
    if not clf.get("used") and "extra" in clf.get("reason", ""):
        err.print(f"[yellow]warning:[/] {escape(clf['reason'])}")
    out.print(
        f"{totals['scenes']} scenes, {totals['length']} pages (~{totals['screen_time_s'] / 60:.0f} min), "
        f"{len(totals['cast'])} speaking characters; classifier: {model}"
    )
    if result.changes:
        c = result.changes
        out.print(
            f"Changes since the last breakdown: {len(c['scenes_added'])} scenes added, "
            f"{len(c['scenes_removed'])} removed, {len(c['scenes_moved'])} moved, "
            f"{len(c['scenes_changed'])} changed; {len(c['tags_new'])} new tags, "
            f"{len(c['tags_vanished'])} vanished; {c['decisions_kept']} decisions kept, "
            f"{len(c['decisions_reset'])} reset."
        )
        for key in (
            "scenes_added",
            "scenes_removed",
            "scenes_moved",
            "scenes_changed",
            "decisions_reset",
        ):
            for item in c[key][:10]:
                out.print(f"  {key.replace('_', ' ')}: {item}")
    for w in doc["warnings"]:
        out.print(f"[yellow]warning:[/] line {w['line']}: {w['message']}")
    out.print(f"Breakdown document: {result.path}")
    out.print(f"Breakdown sheets:   {result.reports['breakdown_html']}")
    out.print(f"Stripboard:         {result.reports['stripboard_html']}")
    out.print(f"CSV per category:   {result.reports['csv:cast'].parent}")


@tag_app.command("list")
def tag_list(
    directory: DirArg,
    scene: Annotated[str | None, typer.Option(help="Only this scene number.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only this category (props, vfx, ...).")] = None,
    status: Annotated[str | None, typer.Option(help="proposed, accepted or rejected.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List tags with their ids, to accept or reject them."""
    from ..script._workflow import load_breakdown

    doc = load_breakdown(open_project(directory))
    rows = [
        {"scene": s["number"], **t}
        for s in doc["scenes"]
        for t in s["tags"]
        if (scene is None or s["number"] == scene)
        and (kind is None or t["kind"] == kind)
        and (status is None or t["status"] == status)
    ]
    if as_json:
        print_json(rows)
        return
    table = Table()
    for col in ("id", "sc", "kind", "name", "conf", "status", "line"):
        table.add_column(col, overflow="fold")
    for r in rows:
        kind_s = r["kind"] + (f":{r['vfx_kind']}" if r.get("vfx_kind") else "")
        table.add_row(
            r["id"],
            r["scene"],
            kind_s,
            r["name"][:60],
            f"{r['confidence']:.2f}",
            r["status"],
            str(r["span"]["line"]),
        )
    out.print(table)


def _set_status(directory: Path, ids: list[str], status: str, comment: str | None) -> None:
    from ..script._workflow import set_tag_status

    tags = set_tag_status(open_project(directory), ids, status, comment)
    for t in tags:
        out.print(f"{t['id']} {t['kind']} '{t['name'][:60]}' → {status}")


IdsArg = Annotated[list[str], typer.Argument(help="Tag ids (see 'moviola tag list').")]
CommentOpt = Annotated[str | None, typer.Option(help="A note kept with the decision.")]


@tag_app.command("accept")
def tag_accept(directory: DirArg, ids: IdsArg, comment: CommentOpt = None) -> None:
    """Accept proposed tags."""
    _set_status(directory, ids, "accepted", comment)


@tag_app.command("reject")
def tag_reject(directory: DirArg, ids: IdsArg, comment: CommentOpt = None) -> None:
    """Reject proposed tags (they stay rejected across script revisions)."""
    _set_status(directory, ids, "rejected", comment)


@tag_app.command("add")
def tag_add(
    directory: DirArg,
    name: Annotated[str, typer.Argument(help="What to tag, e.g. 'bandoneon'.")],
    scene: Annotated[str, typer.Option(help="Scene number, e.g. 7A.")],
    kind: Annotated[str, typer.Option(help="Category: cast, props, vfx, wardrobe, ...")],
    vfx_kind: Annotated[
        str | None, typer.Option(help="For --kind vfx: collapse, de_aging, ...")
    ] = None,
) -> None:
    """Add a tag by hand (it is accepted and kept across revisions)."""
    from ..script._workflow import add_tag

    tag = add_tag(open_project(directory), scene, kind, name, vfx_kind)
    out.print(f"Added {tag['id']} to scene {scene}: {kind} '{name}' (line {tag['span']['line']})")


def register(app: typer.Typer) -> None:
    """Attach ``import-script``, ``breakdown`` and ``tag`` to the main app (called by the cli package)."""
    app.command("import-script")(import_script_cmd)
    app.command()(breakdown)
    app.add_typer(tag_app, name="tag")
