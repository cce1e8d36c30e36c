"""The ``moviola`` command: thin subcommands over the library.

Human output goes to the terminal through rich (progress on stderr); ``--json``
prints a machine-readable document on stdout and nothing else. Every
:class:`~moviola.core.MoviolaError` becomes one line on stderr and a non-zero
exit code.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .. import __version__
from ..core import (
    InternalError,
    MoviolaError,
    current_step,
    init_project,
    note_step,
    open_project,
    storage_error,
)
from . import _ads, _consent, _stream, _vfx

app = typer.Typer(
    name="moviola",
    help="Moviola: AI tools for small film and TV productions.\n\n"
    "Start with 'moviola init DIR', then 'moviola import-script DIR SCRIPT.fountain' "
    "and 'moviola breakdown DIR'.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
tag_app = typer.Typer(
    help="Review breakdown tags: list, accept, reject, add.", no_args_is_help=True
)
app.add_typer(tag_app, name="tag")
shot_app = typer.Typer(
    help="Edit the shot plan by hand: set fields, delete shots.", no_args_is_help=True
)
app.add_typer(shot_app, name="shot")

out = Console()
err = Console(stderr=True)

DirArg = Annotated[Path, typer.Argument(help="The project folder.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of a summary.")]
NoModelOpt = Annotated[
    bool, typer.Option("--no-model", help="If a breakdown is needed: rules only, no model.")
]


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
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


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        out.print(f"moviola {__version__}")
        raise typer.Exit()


@app.command()
def init(
    directory: DirArg,
    name: Annotated[str | None, typer.Option(help="Project name (default: folder name).")] = None,
) -> None:
    """Create a project folder (manifest, documents, reports)."""
    project = init_project(directory, name)
    out.print(f"Created project [bold]{escape(project.name)}[/] in {escape(str(project.root))}")


@app.command("import-script")
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
        _print_json(info)
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


@app.command()
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
    with _progress(not as_json and err.is_terminal) as progress:
        result = run_breakdown(
            project,
            use_model=not no_model,
            model_dir=model,
            allow_non_commercial=allow_non_commercial,
            backend=backend,
            progress=progress,
        )
    if as_json:
        _print_json(result.document)
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
        _print_json(rows)
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


@app.command()
def plan(
    directory: DirArg,
    as_json: JsonOpt = False,
    style: Annotated[
        str | None, typer.Option(help="classical, documentary or long-takes (default: as before).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for the planner's choices.")] = None,
    camera: Annotated[
        str | None, typer.Option(help="Camera body: alexa35, alexa-mini-lf, venice2, komodo, ...")
    ] = None,
    aspect: Annotated[str | None, typer.Option(help="Frame aspect, e.g. 2.39 or 16:9.")] = None,
    fps: Annotated[float | None, typer.Option(help="Frame rate.")] = None,
    no_model: NoModelOpt = False,
) -> None:
    """Create or update the shot plan from the breakdown (keeps your edits); a missing or
    stale breakdown is made first."""
    from ..plan import run_plan

    result = run_plan(open_project(directory), style=style, seed=seed, camera=camera,
                      aspect=aspect, fps=fps, use_model=not no_model)  # fmt: skip
    if as_json:
        _print_json(result.document)
        return
    _upstream(result.upstream)
    doc = result.document
    t = doc["totals"]
    out.print(
        f"{t['shots']} shots in {t['scenes']} scenes, {t['duration_s'] / 60:.1f} min, "
        f"{t['vfx_shots']} VFX shots ({doc['style_description']})"
    )
    c = result.changes
    if doc.get("changes"):
        out.print(
            f"Changes: {len(c['shots_new'])} new, {len(c['shots_removed'])} removed, "
            f"{len(c['shots_changed'])} changed shots; scenes kept as edited: "
            f"{', '.join(c['scenes_kept']) or 'none'}"
        )
        for key in ("shots_new", "shots_removed", "shots_changed"):
            for item in c[key][:15]:
                out.print(f"  {key.replace('_', ' ')}: {escape(item)}")
    errors = sum(1 for f in result.findings if f.severity == "error")
    out.print(f"Continuity audit: {len(result.findings)} findings ({errors} errors)")
    out.print(f"Shot plan:     {result.path}")
    out.print(f"Shot list:     {result.reports['shot_list_html']}")
    out.print(f"Camera report: {result.reports['camera_report_csv']}")


@app.command()
def audit(directory: DirArg, as_json: JsonOpt = False) -> None:
    """Check the plan's cut for continuity errors (180 line, eyelines, jump cuts...)."""
    from ..plan import run_audit

    findings = run_audit(open_project(directory))
    if as_json:
        _print_json([f.to_json() for f in findings])
        return
    if not findings:
        out.print("No continuity problems found.")
    for f in findings:
        colour = {"error": "red", "warning": "yellow"}.get(f.severity, "cyan")
        out.print(f"[{colour}]{f.rule}[/] scene {escape(f.scene)} {escape(', '.join(f.shots))}: "
                  f"{escape(f.explanation)}")  # fmt: skip
        if f.diagram:
            out.print(f"    diagram: reports/{escape(f.diagram)}")


def _upstream(steps: list[str]) -> None:
    """Say which earlier steps a command ran first, as ``previs`` does in its table."""
    if steps:
        out.print(f"Ran first (missing or out of date): {', '.join(steps)}")


@app.command()
def layout(
    directory: DirArg,
    as_json: JsonOpt = False,
    no_model: NoModelOpt = False,
) -> None:
    """Write the plan as USD: one validated stage per scene (set, mannequins, cameras); a
    missing or stale breakdown and plan are made first."""
    from ..previs import run_layout

    result = run_layout(open_project(directory), use_model=not no_model)
    if as_json:
        _print_json({"stages": {k: str(v) for k, v in result.stages.items()},
                     "upstream": result.upstream})  # fmt: skip
        return
    _upstream(result.upstream)
    for notice in result.notices:
        out.print(f"[yellow]note:[/] {escape(notice)}")
    out.print(f"{len(result.stages)} USD stages (USD validation: no errors) in "
              f"{escape(str(next(iter(result.stages.values())).parent))}")  # fmt: skip


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not WIDTHxHEIGHT, e.g. 1280x720") from None
    if not (64 <= w <= 7680 and 64 <= h <= 4320) or w % 4 or h % 4:
        raise typer.BadParameter(
            f"{text!r}: width and height must be multiples of 4, 64..7680 x 64..4320"
        )
    return w, h


@app.command()
def previs(
    directory: DirArg,
    as_json: JsonOpt = False,
    force: Annotated[
        bool, typer.Option("--force", help="Ignore the cache; redo every step.")
    ] = False,
    size: Annotated[str, typer.Option(help="Animatic frame size, WIDTHxHEIGHT.")] = "1280x720",
    board_width: Annotated[int, typer.Option(help="Storyboard frame width in pixels.")] = 1920,
    audio: Annotated[
        bool, typer.Option("--audio/--no-audio", help="Scratch dialogue with espeak-ng.")
    ] = True,
    no_model: NoModelOpt = False,
    scenes: Annotated[
        str | None,
        typer.Option(help="Only these scenes, e.g. 1-3,7,12A (boards, sheets, animatic, exports)."),
    ] = None,
) -> None:
    """Storyboards, animatic, USD stages and editorial/3D exports; only stale steps run."""
    from ..previs import run_previs

    project = open_project(directory)
    try:
        with _progress(not as_json and err.is_terminal) as progress:
            result = run_previs(project, force=force, size=_size(size), board_width=board_width,
                                audio=audio, use_model=not no_model, only=scenes,
                                progress=progress)  # fmt: skip
    except KeyboardInterrupt:  # Click would swallow it silently; say how to go on
        err.print("interrupted: finished scenes are kept and nothing half-written is left; "
                  "run the same command to resume")  # fmt: skip
        raise typer.Exit(130) from None
    doc = result.document
    if as_json:
        _print_json(doc)
        return
    o: dict[str, Any] = {
        k: (str(project.root / v) if isinstance(v, str) else v) for k, v in doc["outputs"].items()
    }
    table = Table(title=f"Previs of {escape(project.name)} ({escape(doc['renderer'])})",
                  show_header=True, header_style="bold")  # fmt: skip
    table.add_column("step")
    table.add_column("status")
    table.add_column("time", justify="right")
    table.add_column("", overflow="fold")  # a detail is wrapped, never cut short
    for s in doc["steps"]:
        table.add_row(s["name"], s["status"], f"{s['seconds']:.1f} s", escape(s["detail"]))
    out.print(table)
    anim = doc["animatic"]
    out.print(f"[bold]Animatic[/]       {escape(o['animatic'])}  ({anim['duration_s'] / 60:.1f} min, "
              f"{'scratch dialogue' if doc['settings']['audio'] else 'silent'})")  # fmt: skip
    out.print(f"[bold]Contact sheet[/]  {escape(o['contact_sheet'])}  (per scene: "
              f"{escape(str(Path(o['contact_sheet']).parent / 'storyboards'))}/scene-N.pdf)")  # fmt: skip
    out.print(f"[bold]Storyboards[/]    {len(o['storyboards'])} panels in "
              f"{escape(str(Path(o['contact_sheet']).parent / 'storyboards'))}/")  # fmt: skip
    out.print(f"[bold]Passes[/]         depth/normals EXR, id/line-art PNG for {len(o['passes'])} "
              f"shots in {escape(str(Path(o['contact_sheet']).parent / 'passes'))}/")  # fmt: skip
    out.print("[bold]Editorial[/]      " + "  ".join(escape(Path(p).name) for p in
                                                  o["timeline"].values()))  # fmt: skip
    out.print(f"[bold]USD stages[/]     {len(o['stages'])} scenes; cameras (USD + GLB) for "
              f"{len(o['cameras'])} shots in {escape(str(Path(o['contact_sheet']).parent / 'cameras'))}/")  # fmt: skip
    out.print(f"[bold]Report[/]         {escape(str(result.path))}")
    if result.findings:
        out.print(f"[yellow]{len(result.findings)} layout findings[/] (camera in a wall, subject "
                  "out of frame...):")  # fmt: skip
        for f in result.findings[:8]:
            out.print(f"  {escape(f.rule)} {escape(','.join(f.shots))}: {escape(f.explanation)}")
        if len(result.findings) > 8:
            out.print(f"  ... and {len(result.findings) - 8} more in previs.json")
    for notice in result.notices:
        out.print(f"[yellow]note:[/] {escape(notice)}")


@shot_app.command("set")
def shot_set(
    directory: DirArg,
    shot_id: Annotated[str, typer.Argument(help="Shot id, e.g. 12A.")],
    lens: Annotated[float | None, typer.Option(help="Focal length in mm.")] = None,
    size: Annotated[
        str | None, typer.Option(help="EWS, WS, FS, MWS, MS, MCU, CU, ECU, INSERT.")
    ] = None,
    angle: Annotated[
        str | None, typer.Option(help="eye level, high, low, overhead, dutch, POV, OTS.")
    ] = None,
    movement: Annotated[str | None, typer.Option(help="static, pan, tilt, dolly in, ...")] = None,
    duration: Annotated[float | None, typer.Option(help="Seconds.")] = None,
    notes: Annotated[str | None, typer.Option(help="Free notes.")] = None,
    cross_line: Annotated[
        bool | None, typer.Option("--cross-line/--no-cross-line", help="A deliberate line cross.")
    ] = None,
) -> None:
    """Change a shot; the change is kept when the plan is regenerated."""
    from ..plan import set_shot

    changes = {k: v for k, v in {"lens_mm": lens, "size": size, "angle": angle,
               "movement": movement, "duration_s": duration, "notes": notes,
               "cross_line": cross_line}.items() if v is not None}  # fmt: skip
    if not changes:
        raise typer.BadParameter("nothing to change; pass e.g. --lens 35")
    shot = set_shot(open_project(directory), shot_id, changes)
    out.print(f"{escape(shot['id'])}: " + ", ".join(f"{k} = {v}" for k, v in changes.items()))


@shot_app.command("add")
def shot_add(
    directory: DirArg,
    scene: Annotated[str, typer.Option(help="Scene number.")],
    size: Annotated[str, typer.Option(help="EWS, WS, FS, MWS, MS, MCU, CU, ECU, INSERT.")],
    duration: Annotated[float, typer.Option(help="Seconds of the cut it takes.")],
    subject: Annotated[
        list[str] | None, typer.Option(help="A character framed (repeat for more).")
    ] = None,
    lens: Annotated[
        float | None, typer.Option(help="Focal length in mm (default by size).")
    ] = None,
    angle: Annotated[str, typer.Option(help="eye level, high, low, ...")] = "eye level",
    movement: Annotated[str, typer.Option(help="static, pan, dolly in, ...")] = "static",
    after: Annotated[str | None, typer.Option(help="Cut it in after this shot.")] = None,
    description: Annotated[str, typer.Option(help="What it is for.")] = "",
) -> None:
    """Add a shot of your own (framed automatically, kept across re-plans)."""
    from ..plan import add_shot

    shot = add_shot(open_project(directory), scene, size=size, subjects=subject or [],
                    duration_s=duration, lens_mm=lens, angle=angle, movement=movement,
                    after=after, description=description)  # fmt: skip
    out.print(f"Added {escape(shot['id'])}: {escape(shot['description'])} ({shot['lens_mm']:g} mm)")


@shot_app.command("delete")
def shot_delete(
    directory: DirArg, shot_id: Annotated[str, typer.Argument(help="Shot id, e.g. 12A.")]
) -> None:
    """Delete a shot (its id is retired; its part of the cut goes to the master)."""
    from ..plan import delete_shot

    shot = delete_shot(open_project(directory), shot_id)
    out.print(f"Deleted {escape(shot['id'])} ({escape(shot.get('description', ''))})")


_vfx.register(app, out, err, _progress, _print_json)
_consent.register(app, out, _print_json)
_stream.register(app, out, _print_json)
_ads.register(app, out, _print_json)


#: Width for output that is not a terminal (a log, CI, a pipe): wide enough that no
#: table is cropped mid-box; tables still take only their natural width.
PIPE_WIDTH = 200


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, turning Moviola errors into one line and an exit code.

    Click keeps its standalone handling (usage errors print a message and exit 2,
    no arguments prints the help); our own errors never show a traceback. An error
    from the file system is one line naming the path; anything else is a bug: one
    line naming the step and its input, the traceback in a log file (in the project
    when there is one), exit 70.
    """
    args = [str(a) for a in (sys.argv[1:] if argv is None else argv)]
    for console in (out, err):
        console.width = None  # type: ignore[assignment]  # re-measure: the stream may have changed
        console.soft_wrap = False
        if not console.is_terminal:  # a log: lines whole (a path is never broken), tables wide
            console.width = PIPE_WIDTH
            console.soft_wrap = True
    note_step("")
    try:
        code = app(args=args, standalone_mode=False, prog_name="moviola")
        return code if isinstance(code, int) else 0
    except typer.Abort:
        err.print("aborted")
        return 1
    except typer.TyperException as exc:  # Click's usage errors: one line, like ours
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # type: ignore[attr-defined]
            return int(exc.exit_code)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        message = " ".join(exc.format_message().split())
        err.print(f"[bold red]error:[/] {escape(message)}{escape(hint)}", highlight=False,
                  soft_wrap=True)  # fmt: skip
        return int(exc.exit_code)
    except MoviolaError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("interrupted; nothing half-written was left behind")
        return 130
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except OSError as exc:
        if exc.filename is None:
            return _report_bug(args, exc)
        problem = storage_error(exc)
        err.print(f"[bold red]error:[/] {escape(str(problem))}", highlight=False, soft_wrap=True)
        return problem.exit_code
    except Exception as exc:
        return _report_bug(args, exc)


def _command_groups() -> list[tuple[str, typer.Typer]]:
    """The sub-apps (``tag``, ``shot``, ``vfx``, ``consent``...) by name."""
    return [(g.name or "", g.typer_instance) for g in app.registered_groups if g.typer_instance]


def _report_bug(args: list[str], exc: BaseException) -> int:
    """One line for an unexpected exception, and its traceback in a log file."""
    import traceback

    groups = {name for name, _ in _command_groups()}
    words = [a for a in args if not a.startswith("-")]
    command = " ".join(words[:2] if words and words[0] in groups else words[:1]) or "moviola"
    noted = current_step()
    step = noted[0] if noted and noted[0] else command
    subject = noted[1] if noted and noted[1] else next(
        (a for a in args[1:] if not a.startswith("-") and Path(a).exists()), None
    )
    text = (f"moviola {__version__}\ncommand: moviola {' '.join(args)}\nstep: {step}\n"
            f"input: {subject}\n\n" + "".join(traceback.format_exception(exc)))  # fmt: skip
    log = _write_log(args, text)
    where = f" on {subject}" if subject else ""
    saved = f"the traceback is in {log}" if log else "the traceback could not be saved"
    message = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
    err.print(f"[bold red]error:[/] moviola {escape(command)} failed in step '{escape(step)}'"
              f"{escape(where)}: {escape(message)} (a bug in Moviola; {escape(saved)})",
              highlight=False, soft_wrap=True)  # fmt: skip
    return InternalError.exit_code


def _write_log(args: list[str], text: str) -> Path | None:
    """``PROJECT/logs/`` when the command names a project, else the user's cache."""
    import os
    import time

    from ..core import MANIFEST, user_cache_dir, write_text_atomic

    candidates = [Path(a) for a in args[1:] if not a.startswith("-")]
    project = next((p for p in candidates if (p / MANIFEST).is_file()), None)
    folder = (project / "logs") if project else user_cache_dir() / "logs"
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    try:
        return write_text_atomic(folder / f"crash-{stamp}-{os.getpid()}.log", text)
    except MoviolaError:
        return None
