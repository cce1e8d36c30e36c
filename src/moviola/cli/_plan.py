"""``moviola plan``, ``audit`` and ``shot ...``: the shot plan, its continuity audit, and
editing it by hand."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from ..core import open_project
from ._common import DirArg, JsonOpt, NoModelOpt, out, print_json, upstream

shot_app = typer.Typer(
    help="Edit the shot plan by hand: set fields, delete shots.", no_args_is_help=True
)


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
        print_json(result.document)
        return
    upstream(result.upstream)
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


def audit(directory: DirArg, as_json: JsonOpt = False) -> None:
    """Check the plan's cut for continuity errors (180 line, eyelines, jump cuts...)."""
    from ..plan import run_audit

    findings = run_audit(open_project(directory))
    if as_json:
        print_json([f.to_json() for f in findings])
        return
    if not findings:
        out.print("No continuity problems found.")
    for f in findings:
        colour = {"error": "red", "warning": "yellow"}.get(f.severity, "cyan")
        out.print(f"[{colour}]{f.rule}[/] scene {escape(f.scene)} {escape(', '.join(f.shots))}: "
                  f"{escape(f.explanation)}")  # fmt: skip
        if f.diagram:
            out.print(f"    diagram: reports/{escape(f.diagram)}")


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


def register(app: typer.Typer) -> None:
    """Attach ``plan``, ``audit`` and ``shot`` to the main app (called by the cli package)."""
    app.command()(plan)
    app.command()(audit)
    app.add_typer(shot_app, name="shot")
