"""``moviola layout`` and ``previs``: the plan as USD stages, and the storyboards, animatic
and exports made from them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..core import open_project
from ._common import DirArg, JsonOpt, NoModelOpt, err, out, print_json, progress_bar, upstream


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
        print_json({"stages": {k: str(v) for k, v in result.stages.items()},
                     "upstream": result.upstream})  # fmt: skip
        return
    upstream(result.upstream)
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


def _part(text: str | None, plan_only: bool) -> tuple[int, int] | None:
    if text is None:
        return None
    if plan_only:
        raise typer.BadParameter("--draw-part and --plan-only are two different tasks; give one")
    try:
        k, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not K/N, e.g. 2/4") from None
    if not 1 <= k <= n <= 10_000:
        raise typer.BadParameter(f"{text!r}: K/N with 1 <= K <= N")
    return k, n


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
    look: Annotated[
        str | None,
        typer.Option(help="Also draw the boards in a look by the style network: charcoal, ink, sepia, "
                          "coloured-pencil, pastel or poster (into previs/looks/LOOK/)."),
    ] = None,
    plan_only: Annotated[
        bool, typer.Option("--plan-only", help="Only bring the breakdown and plan up to date (a render farm's "
                                               "first task).")
    ] = False,
    draw_part: Annotated[
        str | None,
        typer.Option(help="K/N: only draw the K-th of N runs of the scenes (their stages, boards, animatic "
                          "segments and cameras) as the whole previs would, a render farm's scene task; the plain "
                          "command then makes the sheets, animatic, timeline and report from them."),
    ] = None,
) -> None:
    """Storyboards, animatic, USD stages and editorial/3D exports; only stale steps run."""
    from ..previs import run_previs

    project = open_project(directory)
    try:
        with progress_bar(not as_json and err.is_terminal) as progress:
            result = run_previs(project, force=force, size=_size(size), board_width=board_width,
                                audio=audio, use_model=not no_model, only=scenes,
                                progress=progress, look=look, plan_only=plan_only, draw=_part(draw_part, plan_only))  # fmt: skip
    except KeyboardInterrupt:  # Click would swallow it silently; say how to go on
        err.print("interrupted: finished scenes are kept and nothing half-written is left; "
                  "run the same command to resume")  # fmt: skip
        raise typer.Exit(130) from None
    doc = result.document
    if as_json:
        print_json(doc)
        return
    if "part" in doc:  # a farm task's share: what it drew, in a line
        said = (f"breakdown and plan up to date, {len(doc['scenes'])} scenes" if doc["part"] == "plan" else
                f"scenes {', '.join(doc['scenes']) or 'none'}: {doc['panels']} panels, {doc['segments']} "
                f"animatic segments ({doc['frames_rendered']} frames drawn), {doc['cameras']} cameras")  # fmt: skip
        out.print(f"[bold]Previs part[/]    {escape(said)}")
        for notice in result.notices:
            out.print(f"[yellow]note:[/] {escape(notice)}")
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
    for name, one in doc["outputs"].get("looks", {}).items():
        out.print(f"[bold]Look[/]           {escape(name)}: {len(one['storyboards'])} panels, "
                  f"{escape(str(project.root / one['contact_sheet']))}")  # fmt: skip
    out.print(f"[bold]Passes[/]         depth/normals EXR, id/line-art/beauty PNG for {len(o['passes'])} "
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


def register(app: typer.Typer) -> None:
    """Attach ``layout`` and ``previs`` to the main app (called by the cli package)."""
    app.command()(layout)
    app.command()(previs)
