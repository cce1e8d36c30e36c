"""``moviola ads creative``: cut an ad spot from a production, with its SIMID overlay."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

OVERLAYS = ("add-to-list", "poll", "none")


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not WIDTHxHEIGHT, e.g. 1280x720") from None
    return w, h


def register_creative(ads_app: typer.Typer, out: Console, print_json: Callable[[Any], None]) -> None:
    """Attach ``creative`` to the ``ads`` app (called by the cli package)."""
    err = Console(stderr=True)

    @ads_app.command("creative")
    def creative_cmd(
        project: Annotated[Path, typer.Argument(help="The project folder.", show_default=False)],
        source: Annotated[str, typer.Option("--from", help="A VFX shot's name (vfx/NAME/), a previs shot id (11A), 'animatic' (its stretch with the most VFX), or a movie's path.", show_default=False)],
        out_dir: Annotated[Path, typer.Option("--out", help="The creative's folder (new or empty, or a spot written before).", show_default=False)],
        length: Annotated[int, typer.Option(help="Seconds: 15 or 30.")] = 15,
        overlay: Annotated[str, typer.Option(help="The SIMID overlay: add-to-list, poll or none.")] = "add-to-list",
        question: Annotated[str | None, typer.Option(help="With --overlay poll: the question.")] = None,
        answers: Annotated[str | None, typer.Option(help="With --overlay poll: 2 to 4 answers, comma-separated.")] = None,
        label: Annotated[str | None, typer.Option(help="With add-to-list: the button's words (default 'Add TITLE to my list').")] = None,
        cta: Annotated[str, typer.Option("--cta", help="The end card's call to action.")] = "Now streaming",
        title: Annotated[str | None, typer.Option(help="The end card's title (default the script's).")] = None,
        start: Annotated[float | None, typer.Option(help="Seconds into the source where the cut starts (default: chosen, see --from).")] = None,
        size: Annotated[str, typer.Option(help="Output WIDTHxHEIGHT (even numbers).")] = "1280x720",
        fps: Annotated[int | None, typer.Option(help="Output frame rate (default: the source's, made whole).")] = None,
        force: Annotated[bool, typer.Option("--force", help="Replace a different spot already in --out.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print creative.json on stdout instead of a summary.")] = False,
    ) -> None:  # fmt: skip
        """Cut a 15 s or 30 s spot (MP4, end card, key frame, frame strip) and its SIMID overlay."""
        from ..ads._overlay import OverlaySpec, parse_answers
        from ..ads._spot import SPOT_LENGTHS, cut_spot
        from ..core import open_project

        if length not in SPOT_LENGTHS:
            raise typer.BadParameter(f"a spot is 15 or 30 seconds long, not {length}", param_hint="--length")
        if overlay not in OVERLAYS:
            raise typer.BadParameter(f"{overlay!r} is not one of {', '.join(OVERLAYS)}", param_hint="--overlay")
        if overlay != "poll" and (question is not None or answers is not None):
            raise typer.BadParameter("--question and --answers go with --overlay poll")
        if overlay != "add-to-list" and label is not None:
            raise typer.BadParameter("--label goes with --overlay add-to-list")
        spec: OverlaySpec | None = None
        if overlay == "poll":
            if not question or not answers:
                raise typer.BadParameter('a poll needs --question "..." and --answers "A,B,C"')
            spec = OverlaySpec.poll(question, parse_answers(answers))
        elif overlay == "add-to-list":
            spec = OverlaySpec.add_to_list(label)

        proj = open_project(project)
        show = not as_json and err.is_terminal
        try:
            if show:
                with Progress(TextColumn("[bold]{task.description:<8}"), BarColumn(),
                              TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                              console=err, transient=True) as bar:  # fmt: skip
                    tasks: dict[str, Any] = {}

                    def update(stage: str, done: int, total: int) -> None:
                        if stage not in tasks:
                            tasks[stage] = bar.add_task(stage, total=max(total, 1))
                        bar.update(tasks[stage], completed=done, total=max(total, 1))

                    result = cut_spot(proj, source, out_dir, length=length, overlay=spec, call_to_action=cta,
                                      title=title, size=_size(size), fps=fps, start_s=start, force=force,
                                      progress=update)  # fmt: skip
            else:
                result = cut_spot(proj, source, out_dir, length=length, overlay=spec, call_to_action=cta,
                                  title=title, size=_size(size), fps=fps, start_s=start, force=force)  # fmt: skip
        except KeyboardInterrupt:
            err.print("interrupted: nothing was written (the creative's folder appears only when whole)")
            raise typer.Exit(130) from None

        info = result.creative
        if as_json:
            print_json({**info, "folder": str(result.folder), "unchanged": result.unchanged})
            return
        src, card = info["source"], info["end_card"]
        if result.unchanged:
            out.print(f"Unchanged: {escape(str(result.folder))} already holds this spot ({escape(info['id'])})")
        else:
            out.print(f"Cut a {length} s spot from [bold]{escape(src['name'])}[/] into {escape(str(result.folder))}")
        out.print(f"  spot.mp4   {info['duration_s']:.3f} s · {info['frames']} frames at {info['fps']} fps · "
                  f"{info['width']}x{info['height']} · {escape(info['codecs'])} ({info['profile']} {info['level']}) · "
                  f"{info['bitrate_kbps']:,} kb/s · {info['size_bytes'] / 1e6:.1f} MB")  # fmt: skip
        out.print(f"  source     {escape(src['path'])} {src['start_s']:.2f}–{src['start_s'] + src['footage_s']:.2f} s: "
                  f"{escape(src['reason'])}")  # fmt: skip
        sound = info["audio"]
        heard = (f"the source's, {sound['loudness_lufs']} LUFS" if sound["loudness_lufs"] is not None
                 else "the source's (silent)" if sound["from_source"] else "silence (the source has none)")  # fmt: skip
        out.print(f"  sound      AAC 48 kHz stereo: {heard}")
        key = f", key art from {card['key_frame_source_s']:.2f} s of the source" if card["key_frame_source_s"] is not None else ""
        out.print(f"  end card   {card['duration_s']:.2f} s from {card['start_s']:.2f} s: "
                  f"{escape(card['title'])} · {escape(card['call_to_action'])}{escape(key)}")  # fmt: skip
        ov = info["overlay"]
        if ov:
            what = (f"'{ov['parameters']['label']}'" if ov["kind"] == "add_to_list"
                    else f"'{ov['parameters']['question']}' ({', '.join(ov['parameters']['answers'])})")  # fmt: skip
            out.print(f"  overlay    SIMID {ov['simid_version']} {ov['kind']}: {escape(what)} ({escape(ov['file'])})")
        else:
            out.print("  overlay    none")
        out.print(f"  look at    {escape(str(result.folder / info['files']['frames']))}")
        for note in info.get("notes", []):
            out.print(f"[yellow]note:[/] {escape(note)}")
