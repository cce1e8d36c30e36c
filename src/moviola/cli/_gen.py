"""``moviola gen ...``: generative models on the previs, on weights from disk only."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from ..core import open_project
from ._common import controlnets

gen_app = typer.Typer(help="Generative models (diffusers, on weights you have on disk) on the previs.",
                      no_args_is_help=True)  # fmt: skip


def register(app: typer.Typer, out: Any, err: Any, progress_ctx: Any, print_json: Any) -> None:
    """Attach ``gen`` to the main app (called by the cli package)."""
    app.add_typer(gen_app, name="gen")

    @gen_app.command("boards")
    def boards(
        project: Annotated[Path, typer.Argument(help="The project (its previs made).")],
        prompt: Annotated[str, typer.Option(help="What the frames should look like ('film still, 35 mm, "
                                                 "night, rain'); each shot's action line is added.")],
        weights: Annotated[Path | None, typer.Option(help="A diffusers folder (model_index.json...) or a "
                                                          ".safetensors checkpoint (with --config).")] = None,
        backend: Annotated[str, typer.Option(help="controlnet (depth/line art), img2img, or a plug-in.")] = "controlnet",
        controlnet: Annotated[list[str] | None, typer.Option(help="ControlNet folder (depth), or KIND=DIR; "
                                                                  "repeat for several.")] = None,  # fmt: skip
        config: Annotated[Path | None, typer.Option(help="Local config folder for a single checkpoint file.")] = None,
        shots: Annotated[str | None, typer.Option(help="Only these shots: 1A,2B (default every boarded shot).")] = None,
        negative_prompt: Annotated[str, typer.Option(help="What the frames should not show.")] = "",
        seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same frames.")] = 1,
        strength: Annotated[float, typer.Option(help="1 = from the passes only; below 1 keeps that much of "
                                                     "the previs render.")] = 1.0,
        steps: Annotated[int, typer.Option(help="Denoising steps (1-4 for turbo models).")] = 20,
        guidance: Annotated[float, typer.Option(help="Classifier-free guidance (<= 1: off, turbo models).")] = 5.0,
        width: Annotated[int, typer.Option(help="Width the model draws at (the board's aspect kept).")] = 768,
        no_shot_text: Annotated[bool, typer.Option("--no-shot-text", help="Do not add each shot's action line.")] = False,
        allow_non_commercial: Annotated[bool, typer.Option("--allow-non-commercial",
                                                           help="Use weights whose licence forbids commercial use.")] = False,
        device: Annotated[str | None, typer.Option(help="cpu or cuda (default: cuda when there is one).")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print what was made as JSON.")] = False,
    ) -> None:
        """A frame per boarded shot, drawn by a diffusion model from the previs passes, into
        previs/generated/BACKEND/ (the procedural boards stay); resumes where it stopped."""
        from ..gen import load_backend
        from ..previs._generate import generate_boards

        proj = open_project(project)
        chosen = [s.strip() for s in shots.split(",") if s.strip()] if shots else None
        model = load_backend(backend, weights, config=config, controlnet=controlnets(controlnet),
                             allow_non_commercial=allow_non_commercial, device=device)  # fmt: skip
        try:
            with progress_ctx(not as_json and err.is_terminal) as progress:
                result = generate_boards(
                    proj, model, prompt=prompt, negative_prompt=negative_prompt, shots=chosen, seed=seed,
                    strength=strength, steps=steps, guidance=guidance, width=width, shot_text=not no_shot_text,
                    progress=(lambda d, t: progress("generate", d, t)) if progress else None)  # fmt: skip
        except KeyboardInterrupt:
            err.print("interrupted: every finished frame is kept; run the same command to resume")
            raise typer.Exit(130) from None
        info = {"backend": result.backend, "folder": str(result.folder), "made": result.made, "kept": result.kept,
                "frames": [str(p) for p in result.frames], "contact_sheet": str(result.sheet),
                "models": result.models}  # fmt: skip
        if as_json:
            print_json(info)
            return
        out.print(f"{result.made} frame(s) generated, {result.kept} kept from before, by {escape(result.backend)}: "
                  f"{escape(str(result.folder))}/")  # fmt: skip
        for m in result.models:
            out.print(f"  model {escape(str(m['name']))} — licence {escape(str(m['licence']))}")
        out.print(f"  contact sheet: {escape(str(result.sheet))}")
