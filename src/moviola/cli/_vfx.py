"""``moviola vfx ...``: the VFX shot commands (collapse, de-aging, a moving test plate, reports)."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..core import open_project
from ._common import controlnets

vfx_app = typer.Typer(help="VFX shots on real plates: building collapse, de-aging.", no_args_is_help=True)


def collapse_recipe(opts: dict[str, Any]) -> tuple[Any, Any]:
    """The recipe ``moviola vfx collapse`` renders from its options (``opts``: the command's
    parameters by name), and the project it names; shared with the farm's planner."""
    from ..vfx._outputs import check_name
    from ..vfx.collapse import CollapseRecipe, parse_box, read_polygon, read_recipe

    name, project, recipe_file, plate = opts["name"], opts["project"], opts["recipe_file"], opts["plate"]
    building, polygon, clean_plate = opts["building"], opts["polygon"], opts["clean_plate"]
    if name is not None:  # one file-name part: the shot's files stay inside their folder
        check_name(name)
    proj = open_project(project) if project is not None else None
    if recipe_file is not None:  # --plate and --clean-plate choose those files explicitly
        base = read_recipe(recipe_file, plate=plate, clean_plate=clean_plate,
                           root=proj.root if proj is not None else None)  # fmt: skip
    else:
        if plate is None:
            raise typer.BadParameter("give --plate (or --recipe)")
        if (building is None) == (polygon is None):
            raise typer.BadParameter(
                "give the building as --building x0,y0,x1,y1 or --polygon FILE"
            )
        region = parse_box(building) if building is not None else read_polygon(polygon)
        base = CollapseRecipe(plate=str(plate.resolve()), building=[list(p) for p in region.points],
                              building_source=region.source)  # fmt: skip
    given = {"seed": "seed", "frames": "frames", "mode": "mode", "direction": "direction",
             "start_frame": "start_frame", "duration_s": "duration", "fps": "fps", "height_m": "height_m",
             "ground_y": "ground_y", "water_y": "water_y", "debris_size": "debris_size",
             "debris_amount": "debris_amount", "dust_density": "dust_density", "shake": "shake", "grain": "grain",
             "motion_blur": "motion_blur", "plate_colourspace": "plate_colorspace", "name": "name",
             "refiner": "refiner", "prompt": "prompt", "refiner_strength": "refiner_strength",
             "refiner_steps": "refiner_steps"}  # recipe field: option
    changes: dict[str, Any] = {field: opts[option] for field, option in given.items()}
    changes.update({
        "resolution": _resolution(opts["resolution"]), "failure": _floats(opts["failure"], 2, "--failure"),
        "dust_colour": _floats(opts["dust_colour"], 3, "--dust-colour"), "wind": _floats(opts["wind"], 2, "--wind"),
        "clean_plate": str(clean_plate.resolve()) if clean_plate else None,
    })  # fmt: skip
    if opts["no_refine"]:
        changes["refine"] = False
    known = {f.name for f in fields(CollapseRecipe)}
    recipe = replace(base, **{k: v for k, v in changes.items() if v is not None and k in known})
    if opts["shot"] is not None and proj is None:
        raise typer.BadParameter("--shot needs --project (the plan lives in a project)")
    if opts["out_dir"] is None and proj is None:
        raise typer.BadParameter("give --out DIR (or --project DIR)")
    return recipe, proj


def _frame_range(text: str) -> tuple[int, int]:
    """``A-B`` (or one frame ``A``) as the first and last frame."""
    try:
        a, _, b = text.strip().partition("-")
        first, last = int(a), int(b or a)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a frame range FIRST-LAST, e.g. 1001-1030",
                                 param_hint="--frame-range") from None  # fmt: skip
    if first > last:
        raise typer.BadParameter(f"{text!r}: the first frame is after the last", param_hint="--frame-range")
    return first, last


def _floats(text: str | None, count: int, name: str) -> list[float] | None:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise typer.BadParameter(
            f"{name} {text!r} is not {count} comma-separated numbers"
        ) from None
    if len(values) != count:
        raise typer.BadParameter(f"{name} {text!r} needs {count} numbers")
    return values


def _resolution(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not WIDTHxHEIGHT, e.g. 1920x1080") from None
    return [w, h]


def register(app: typer.Typer, out: Any, err: Any, progress_ctx: Any, print_json: Any) -> None:
    """Attach ``vfx`` to the main app (called by the cli package)."""
    app.add_typer(vfx_app, name="vfx")

    def interruptible(show: bool, render: Any) -> Any:
        """Run a render with a progress bar; Ctrl-C exits 130 and says how to resume."""
        try:
            with progress_ctx(show and err.is_terminal) as progress:
                return render(progress)
        except KeyboardInterrupt:
            err.print("interrupted: every finished frame is kept and nothing half-written is left; "
                      "run the same command to resume")  # fmt: skip
            raise typer.Exit(130) from None

    @vfx_app.command("collapse")
    def collapse(
        plate: Annotated[Path | None, typer.Option(help="The plate: a JPEG/PNG/EXR still or a short locked-off video (with --recipe: this plate instead of the recipe's).")] = None,
        building: Annotated[str | None, typer.Option(help="Rough box around the building, x0,y0,x1,y1 in plate pixels.")] = None,
        polygon: Annotated[Path | None, typer.Option(help="The building's outline instead: JSON [[x,y],...] or x,y lines.")] = None,
        out_dir: Annotated[Path | None, typer.Option("--out", help="Folder for the layers, movie, sheet and report.json.")] = None,
        preview: Annotated[bool, typer.Option("--preview", help="Fast look: at most 960 px wide, 48 frames, no EXRs.")] = False,
        seed: Annotated[int | None, typer.Option(help="Seed: the same seed renders the same shot.")] = None,
        frames: Annotated[int | None, typer.Option(help="Frames to render (final 120, preview 48).")] = None,
        resolution: Annotated[str | None, typer.Option(help="Output WIDTHxHEIGHT (multiples of 4, at most 4096 px and 4096x2160); default the plate's.")] = None,
        mode: Annotated[str | None, typer.Option(help="pancake (from the top), topple or blast.")] = None,
        direction: Annotated[str | None, typer.Option(help="left or right: which way a topple falls.")] = None,
        failure: Annotated[str | None, typer.Option(help="x,y in plate pixels where the failure starts.")] = None,
        start_frame: Annotated[int | None, typer.Option(help="Frame where it starts (default half a second in).")] = None,
        fps: Annotated[float | None, typer.Option(help="Frame rate (a video plate's own by default).")] = None,
        duration: Annotated[float | None, typer.Option(help="Seconds the failure takes to run its course (default: as physics has it).")] = None,
        height_m: Annotated[float | None, typer.Option(help="The building's visible height in metres (sets the scale).")] = None,
        ground_y: Annotated[float | None, typer.Option(help="Plate y of the ground line (default: the building's foot).")] = None,
        water_y: Annotated[float | None, typer.Option(help="Plate y where water below the building begins: its reflection follows the shot.")] = None,
        debris_size: Annotated[float | None, typer.Option(help="Shard size multiplier (>1: fewer, bigger).")] = None,
        debris_amount: Annotated[float | None, typer.Option(help="Fine chips multiplier.")] = None,
        dust_density: Annotated[float | None, typer.Option(help="Dust multiplier.")] = None,
        dust_colour: Annotated[str | None, typer.Option("--dust-colour", "--dust-color", help="r,g,b in sRGB 0-1 (default: matched to the plate).")] = None,
        wind: Annotated[str | None, typer.Option(help="vx,vy in m/s (x right, y down).")] = None,
        shake: Annotated[float | None, typer.Option(help="Camera shake multiplier (0 = none).")] = None,
        grain: Annotated[float | None, typer.Option(help="Grain multiplier (0 = none).")] = None,
        motion_blur: Annotated[float | None, typer.Option(help="Shutter as a fraction of a frame (0.5 = 180 deg).")] = None,
        no_refine: Annotated[bool, typer.Option("--no-refine", help="Use the box/polygon as the matte as it is.")] = False,
        clean_plate: Annotated[Path | None, typer.Option(help="Your own clean plate instead of ours.")] = None,
        plate_colorspace: Annotated[str | None, typer.Option("--plate-colorspace", "--plate-colourspace", help="OCIO colour space of the plate (default: what the file says, else sRGB).")] = None,
        name: Annotated[str | None, typer.Option(help="Shot name used in file names: letters, digits, - and _.")] = None,
        recipe_file: Annotated[Path | None, typer.Option("--recipe", help="Render this recipe (options given override it).")] = None,
        project: Annotated[Path | None, typer.Option(help="A Moviola project: keep the recipe in it (vfx/NAME/recipe.json).")] = None,
        shot: Annotated[str | None, typer.Option(help="With --project: the plan's shot this is (it will point at the recipe).")] = None,
        refiner: Annotated[str | None, typer.Option(help="Generative refiner: controlnet, img2img, video, style, or a plug-in (default passthrough); its frames are a layer of their own.")] = None,
        prompt: Annotated[str | None, typer.Option(help="Prompt for the refiner.")] = None,
        weights: Annotated[Path | None, typer.Option(help="The refiner's weights: a diffusers folder or a .safetensors checkpoint (with --config); never downloaded.")] = None,
        controlnet: Annotated[list[str] | None, typer.Option(help="The refiner's ControlNet folder (depth), or KIND=DIR; repeatable.")] = None,
        config: Annotated[Path | None, typer.Option(help="Local config folder for a single checkpoint file.")] = None,
        refiner_strength: Annotated[float | None, typer.Option(help="How far the refiner moves from the comp, 0-1 (default 0.5).")] = None,
        refiner_steps: Annotated[int | None, typer.Option(help="The refiner's denoising steps (default 20).")] = None,
        allow_non_commercial: Annotated[bool, typer.Option("--allow-non-commercial", help="Use refiner weights whose licence forbids commercial use.")] = False,
        device: Annotated[str | None, typer.Option(help="The refiner's device: cpu or cuda.")] = None,
        cpu_price: Annotated[float | None, typer.Option(help="Cloud price per vCPU-hour, USD, for the cost report.")] = None,
        force: Annotated[bool, typer.Option("--force", help="Replace a different render already in --out.")] = False,
        simulate_only: Annotated[bool, typer.Option("--simulate-only", help="A farm's first task: check, simulate and keep the simulation in --out; draw nothing.")] = False,
        frame_range: Annotated[str | None, typer.Option("--frame-range", help="A farm task: draw only frames A-B (e.g. 1001-1030) of a render begun with --simulate-only; the plain command then finishes it.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print report.json on stdout instead of a summary.")] = False,
    ) -> None:  # fmt: skip
        """A building collapse on a real plate: layered ACEScg EXRs, review movie, sheet, report."""
        from ..vfx.collapse import (
            CPU_PRICE_PER_VCPU_HOUR,
            render_collapse,
        )
        from ..vfx.collapse._collapse import RenderPart

        if simulate_only and frame_range is not None:
            raise typer.BadParameter("give --simulate-only or --frame-range, not both")
        part = RenderPart(True) if simulate_only else (
            RenderPart(frames=_frame_range(frame_range)) if frame_range is not None else None)
        recipe, proj = collapse_recipe(dict(locals()))
        price = cpu_price if cpu_price is not None else CPU_PRICE_PER_VCPU_HOUR
        report, folder = interruptible(not as_json, lambda progress: render_collapse(
            recipe, out_dir, preview=preview, plate_rate=fps is None and recipe_file is None, project=proj,
            shot=shot, force=force, progress=progress, cpu_price=price,
            refiner_options={"weights": weights, "controlnet": controlnets(controlnet), "config": config,
                             "allow_non_commercial": allow_non_commercial, "device": device}, part=part))  # fmt: skip
        if as_json:
            print_json(report)
            return
        if part is not None:
            what = "simulation kept" if part.simulate_only else (
                f"frames {report['frames'][0]}-{report['frames'][1]}: {report['frames_rendered']} drawn, "
                f"{report['frames_kept']} already whole")  # fmt: skip
            out.print(f"[bold]{escape(report['shot'])}[/]: {what} in {escape(str(folder))}")
            return
        _summary(out, report, folder)

    @vfx_app.command("deage")
    def deage(
        plate: Annotated[Path, typer.Option(help="A still, an image sequence (folder, name.####.png) or a video.")],
        years: Annotated[float, typer.Option(help="Years to take off (e.g. 5-30).")],
        consent: Annotated[Path | None, typer.Option(help="The performer's consent record (moviola consent new).")] = None,
        performer: Annotated[str | None, typer.Option(help="Whose face this is (required with --consent): must be the consent record's performer.")] = None,
        out_dir: Annotated[Path | None, typer.Option("--out", help="Folder for frames, movies, sheet and report.json.")] = None,
        preview: Annotated[bool, typer.Option("--preview", help="Fast look: at most 960 px wide and 120 frames; review movie and sheet only.")] = False,
        face: Annotated[int | None, typer.Option(help="Which face to treat when there are several: 1 is the leftmost.")] = None,
        reference: Annotated[Path | None, typer.Option(help="A photo of the performer: treat the face that matches it.")] = None,
        wrinkles: Annotated[float, typer.Option(help="Wrinkle smoothing, 0 (off) to 2 (double).")] = 1.0,
        under_eye: Annotated[float, typer.Option(help="Under-eye lift, 0-2.")] = 1.0,
        folds: Annotated[float, typer.Option(help="Nasolabial and marionette folds, 0-2.")] = 1.0,
        tone: Annotated[float, typer.Option(help="Skin tone evenness, 0-2.")] = 1.0,
        lift: Annotated[float, typer.Option(help="Jawline and cheek lift, 0-2.")] = 1.0,
        eyes: Annotated[float, typer.Option(help="Eye aperture, 0-2 (off by default; 0.3-0.5 opens the eyes a little).")] = 0.0,
        feather: Annotated[float, typer.Option(help="Matte softness in face units (0.12 = about an eighth of the eye distance).")] = 0.12,
        frames: Annotated[int | None, typer.Option(help="Treat at most this many frames.")] = None,
        fps: Annotated[float | None, typer.Option(help="Frame rate of an image sequence (a video says its own).")] = None,
        frame_format: Annotated[str, typer.Option(help="The treated sequence: auto (EXR, linear half float, for video, sequences and EXR plates; PNG for a still photo), png, exr or none.")] = "auto",
        hair_colour: Annotated[str, typer.Option("--hair-colour", help="Grey hair: auto (given back its colour: the eyebrows', else dark brown), keep, or a colour for all the hair ('#3b2a1e', '#321', 'saddlebrown', 'rgb(59,42,30)').")] = "auto",
        movie: Annotated[bool, typer.Option("--movie/--no-movie", help="Write the treated movie (H.264, full size).")] = True,
        review: Annotated[bool, typer.Option("--review/--no-review", help="Write the before/after split movie.")] = True,
        name: Annotated[str, typer.Option(help="Shot name used in file names.")] = "deage",
        project: Annotated[Path | None, typer.Option(help="A Moviola project: keep the consent and the render in it.")] = None,
        shot: Annotated[str | None, typer.Option(help="The plan's shot this is (checked against the consent's scope).")] = None,
        allow_non_commercial: Annotated[bool, typer.Option("--allow-non-commercial", help="Allow a model with a non-commercial licence.")] = False,
        force: Annotated[bool, typer.Option("--force", help="Replace a different render already in --out.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print report.json on stdout instead of a summary.")] = False,
    ) -> None:  # fmt: skip
        """Take years off a performer's face through a shot, with their consent on record."""
        from ..core import InputError
        from ..vfx.deage import DeageSettings, Strengths, render_deage
        from ..vfx.deage._hair import parse_hair_colour

        try:  # a bad colour is a usage error, said before consent or footage is looked at
            parse_hair_colour(hair_colour)
        except InputError as exc:
            raise typer.BadParameter(str(exc).removeprefix("--hair-colour "), param_hint="--hair-colour") from exc
        proj = open_project(project) if project is not None else None
        if out_dir is None and proj is None:
            raise typer.BadParameter("give --out DIR (or --project DIR)")
        settings = DeageSettings(
            plate=str(plate.resolve()) if plate.exists() else str(plate), years=years,
            consent=str(consent) if consent is not None else "", performer=performer, name=name, face=face,
            reference=str(reference) if reference is not None else None,
            strengths=Strengths(wrinkles, under_eye, folds, tone, lift, eyes, feather), preview=preview,
            frames=frames, fps=fps, frame_format=frame_format, movie=movie, review=review, shot=shot,
            project=proj.name if proj is not None else None, allow_non_commercial=allow_non_commercial,
            hair_colour=hair_colour,
        )  # fmt: skip
        # consent first: a record that allows nothing is not even copied into the project
        report, folder = interruptible(not as_json, lambda progress: render_deage(
            settings, out_dir, project=proj, force=force, progress=progress))  # fmt: skip
        if as_json:
            print_json(report)
            return
        _deage_summary(out, report, folder)

    @vfx_app.command("moving-plate")
    def moving_plate(
        photo: Annotated[Path, typer.Argument(help="A photo with one face.")],
        movie: Annotated[Path, typer.Argument(help="The MP4 to write.")],
        resolution: Annotated[str, typer.Option(help="WIDTHxHEIGHT.")] = "1920x1080",
        seconds: Annotated[float, typer.Option(help="Length.")] = 5.0,
        fps: Annotated[float, typer.Option(help="Frame rate.")] = 24.0,
        head: Annotated[str, typer.Option(help="x,y of the face's centre in the photo, 0-1.")] = "0.5,0.42",
    ) -> None:
        """A moving test plate from one photo: camera push-in and roll, a nodding head, live grain."""
        from ..vfx.deage import make_moving_plate

        size = _resolution(resolution)
        centre = _floats(head, 2, "--head")
        assert size is not None and centre is not None
        if size[0] % 2 or size[1] % 4:
            raise typer.BadParameter("--resolution: width even and height a multiple of 4 (4:2:0 video)")
        path = make_moving_plate(photo, movie, width=size[0], height=size[1], seconds=seconds, fps=fps,
                                 head=(centre[0], centre[1]))  # fmt: skip
        out.print(f"{escape(str(path))}: {round(seconds * fps)} frames at {size[0]}x{size[1]}, {fps:g} fps")

    @vfx_app.command("report")
    def show_report(
        directory: Annotated[
            Path, typer.Argument(help="A collapse or de-aging render folder (holding report.json).")
        ],
    ) -> None:
        """Print the report of a finished render (collapse: time and cost; de-aging: quality)."""
        from ..vfx._reports import read_render_report

        kind, report = read_render_report(directory)
        if kind == "deage":
            _deage_summary(out, report, directory)
        else:
            _summary(out, report, directory)


def _deage_summary(out: Any, report: dict[str, Any], folder: Path) -> None:
    def num(v: Any, spec: str = ".1f") -> str:
        return "-" if v is None else format(v, spec)

    table = Table(title=f"{escape(report['name'])}: {report['frames']} frame(s) at {report['resolution'][0]}x"
                  f"{report['resolution'][1]}, rendered at {num(report['fps'])} frames/s", header_style="bold")  # fmt: skip
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for stage, seconds in report["stages"].items():
        table.add_row(stage, f"{seconds:.2f}")
    out.print(table)
    out.print(f"[bold]Identity[/]   descriptor distance {num(report['identity_distance'], '.3f')} "
              f"(max {num(report['identity_distance_max'], '.3f')}; the same person is under 0.6)")  # fmt: skip
    out.print(f"[bold]Age[/]        {num(report['age_before'])} -> {num(report['age_after'])} (apparent, estimated)")
    cal = report.get("calibration") or {}
    if cal.get("tried"):
        out.print(f"[bold]Intensity[/]  {cal['intensity']:g} (fitted on frame {cal['frame']} in {cal['seconds']:.1f} s: "
                  "the gentlest that takes the years with the likeness kept)")  # fmt: skip
    out.print(f"[bold]Flicker[/]    {num(report['flicker_before'], '.2f')} -> {num(report['flicker_after'], '.2f')} "
              f"code values; landmark jitter {num(report['landmark_jitter_raw'], '.1f')} -> "
              f"{num(report['landmark_jitter_smoothed'], '.1f')} per mille")  # fmt: skip
    consent = report["consent"]
    out.print(f"[bold]Consent[/]    {escape(consent['performer'])}, until {consent['expires']} "
              f"(sha256 {consent['sha256'][:12]}...)")  # fmt: skip
    for warning in report.get("warnings", []):
        out.print(f"[yellow]note[/]       {escape(warning)}")
    o = report["outputs"]
    for key, label in (("movie", "Movie"), ("review", "Review"), ("contact_sheet", "Sheet"), ("frames", "Frames")):
        if key in o:
            out.print(f"[bold]{label:<10}[/] {escape(str(folder / o[key]))}")
    out.print(f"[bold]Report[/]     {escape(str(folder / 'report.json'))}")


def _summary(out: Any, report: dict[str, Any], folder: Path) -> None:
    cost = report["cost"]
    table = Table(title=f"{escape(report['shot'])}: {report['frames']} frames at "
                  f"{report['resolution'][0]}x{report['resolution'][1]} in {report['wall_s']:.1f} s",
                  header_style="bold")  # fmt: skip
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for stage, seconds in report["stages"].items():
        table.add_row(stage, f"{seconds:.2f}")
    out.print(table)
    trad = cost["traditional"]
    out.print(f"[bold]CPU[/]        {cost['cpu_hours']:.4f} CPU-hours on {cost['cores']} cores "
              f"({cost['seconds_per_frame']:.2f} s a frame); at ${cost['price_per_vcpu_hour_usd']:.4f}/vCPU-hour: "
              f"${cost['cost_usd']:.4f}")  # fmt: skip
    out.print(f"[bold]Traditional[/] {trad['artist_hours'][0]:g}-{trad['artist_hours'][1]:g} artist hours, "
              f"${trad['cost_usd'][0]:,.0f}-{trad['cost_usd'][1]:,.0f} a shot (sources in report.json)")  # fmt: skip
    real = report.get("dust_realism") or {}
    ours = real.get("ours") or {}
    if ours.get("spectrum_slope") is not None:
        def fig(x: float | None) -> str:
            return "-" if x is None else f"{x:.2f}"

        out.print(f"[bold]Dust[/]       spectrum slope {fig(ours['spectrum_slope'])} (real smoke "
                  f"{fig(real['real']['spectrum_slope'])}, sprites {fig(real['sprites']['spectrum_slope'])}); "
                  f"edge dimension {fig(ours.get('edge_dimension'))} (real {fig(real['real']['edge_dimension'])}, "
                  f"sprites {fig(real['sprites']['edge_dimension'])})")  # fmt: skip
    o = report["outputs"]
    out.print(f"[bold]Movie[/]      {escape(str(folder / o['movie']))}")
    out.print(f"[bold]Sheet[/]      {escape(str(folder / o['contact_sheet']))}")
    if o["layers"]:
        out.print(
            f"[bold]Layers[/]     {escape(str(folder / 'layers'))}/ ({', '.join(o['layers'])}; ACEScg EXR)"
        )
    if report.get("resumed_from") and not report.get("frames_rendered"):
        out.print("[green]every frame was already on disk[/]: nothing re-rendered, movie and sheet refreshed")
    elif report.get("resumed_from"):
        out.print(
            f"[yellow]resumed[/] at frame {report['resumed_from']} ({report['frames_rendered']} rendered now)"
        )
    out.print(f"[bold]Report[/]     {escape(str(folder / 'report.json'))}")
