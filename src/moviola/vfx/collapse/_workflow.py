"""``moviola vfx collapse`` as a project step: a recipe rendered, kept in the project, linked.

With a project, the shot's recipe (and a copy of its plate) is kept in
``vfx/NAME/recipe.json`` once the render has checked everything, and the plan's shot,
when one is named, points at that recipe (``vfx_recipe``), which the layout then stages.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ...core import InputError, Project
from .._project import check_plan_shot, keep_in_project
from ._collapse import OnReady, Progress, RenderPart, run_collapse
from ._cost import CPU_PRICE_PER_VCPU_HOUR
from ._plate import load_plate
from ._recipe import CollapseRecipe, preview_of, write_recipe


def render_collapse(recipe: CollapseRecipe, out: Path | None = None, *, preview: bool = False,
                    plate_rate: bool = False, project: Project | None = None, shot: str | None = None,
                    force: bool = False, progress: Progress | None = None,
                    cpu_price: float = CPU_PRICE_PER_VCPU_HOUR,
                    refiner_options: dict[str, Any] | None = None,
                    part: RenderPart | None = None) -> tuple[dict[str, Any], Path]:  # fmt: skip
    """Render ``recipe`` (its preview with ``preview``; at a video plate's own rate with
    ``plate_rate``) into ``out``, by default ``vfx/NAME/render`` (or ``preview``) in
    ``project``; returns the report and the folder.

    With ``project``, the recipe and its plate are kept in the project once the render has
    checked everything, and ``shot`` (which the plan must hold: said before any work) is
    pointed at the recipe. ``part``: only a farm task's share of the render.
    """
    final, recipe = rendered_recipe(recipe, preview=preview, plate_rate=plate_rate)
    on_ready: OnReady | None = None
    if project is not None:  # the project keeps the shot's recipe (and its plate), previewed or not
        folder = project.root / "vfx" / recipe.name
        if shot is not None:  # a shot the plan does not hold is said before any work
            check_plan_shot(project, shot)
        on_ready = _keep_in(project, folder, final, shot)
        out = out or folder / ("preview" if preview else "render")
    elif shot is not None:
        raise InputError(f"shot {shot}: the plan lives in a project; name one")
    if out is None:
        raise InputError("a render needs an output folder, or a project to keep it in")
    from ...provenance import credentials_for

    report = run_collapse(recipe, out, force=force, progress=progress, cpu_price=cpu_price, on_ready=on_ready,
                          credentials=credentials_for(project), refiner_options=refiner_options, part=part)  # fmt: skip
    return report, out


def rendered_recipe(recipe: CollapseRecipe, *, preview: bool = False,
                    plate_rate: bool = False) -> tuple[CollapseRecipe, CollapseRecipe]:
    """The final recipe (at a video plate's own rate with ``plate_rate``) and the one the
    render draws: the same, or its preview. A farm plans its frame ranges from it."""
    if plate_rate:  # a video plate's own rate
        info = load_plate(Path(recipe.plate), colourspace=recipe.plate_colourspace, max_frames=1)
        if info.fps:
            recipe = replace(recipe, fps=info.fps)
    final = recipe.validate()
    if preview:
        info = load_plate(Path(recipe.plate), colourspace=recipe.plate_colourspace, max_frames=1)
        recipe = preview_of(recipe, (info.width, info.height)).validate()
    return final, recipe


def _keep_in(project: Project, folder: Path, final: CollapseRecipe, shot: str | None) -> OnReady:
    def keep(rendered: CollapseRecipe) -> CollapseRecipe:
        """Once the render has checked everything: the plate and the recipe (with the
        plate's sha256) into the project, the plan's shot pointed at them."""
        kept = keep_in_project(Path(final.plate), folder / "plate", project.root)
        write_recipe(folder / "recipe.json", replace(final, plate=str(kept), plate_sha256=rendered.plate_sha256))
        if shot is not None:
            from ...plan import set_shot

            link = str((folder / "recipe.json").relative_to(project.root))
            set_shot(project, shot, {"vfx": True, "vfx_kind": "collapse", "vfx_recipe": link})
        return replace(rendered, plate=str(kept))

    return keep
