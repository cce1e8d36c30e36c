"""How a Moviola command splits into farm tasks: it reads the command as the command itself
reads it (the same options, the same recipe), so the plan is never a guess.

- ``vfx collapse``: the simulation once (``--simulate-only``), frame ranges of ``--chunk``
  frames from the shot's first frame (``--frame-range A-B``), then the plain command, which
  finds every frame whole and gathers the movie, contact sheet and report. By default one
  range for each task the farm runs at once (``slots``): a range costs a second or two to start
  (a process, its imports, the shared simulation read back), so ranges that would only wait
  for a free slot are not made.
- ``previs``: the breakdown and plan once (``--plan-only``), the scenes drawn in ``--parts``
  runs (``--draw-part K/N``: stages, boards, animatic segments, cameras), then the plain
  command, which finds every scene drawn and makes the sheets, animatic, timeline and report.
- any other command (``vfx deage``, ``stream train``...): one task, which the farm still
  places, logs, retries on a lost node and can cancel.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from typer._click.exceptions import ClickException

from ..core import InputError
from ..farm import Job, Resources, Task, chunks, new_job_id, new_token
from ..farm._runner import moviola_version

PART_FLAGS = ("--simulate-only", "--frame-range", "--plan-only", "--draw-part")


def plan_job(argv: list[str], storage: Path, cwd: Path, *, chunk: int = 0, parts: int = 4, slots: int = 4,
             resources: Resources | None = None) -> Job:  # fmt: skip
    """The job for ``moviola ARGV`` given in ``cwd``, its files on ``storage`` (``chunk``: frames
    per task of a collapse, 0 to fill ``slots``, the tasks the farm runs at once; ``parts``: the
    tasks a previs's scenes are drawn in)."""
    args = list(argv[1:] if argv and Path(argv[0]).name == "moviola" else argv)
    if not args:
        raise InputError("give the command to run after --, e.g. moviola farm submit -- moviola vfx collapse ...")
    storage, cwd = storage.resolve(), cwd.resolve()
    if not cwd.is_relative_to(storage):
        raise InputError(f"the working folder {cwd} is outside the shared storage {storage}: run from inside "
                         "it (tasks run in the same folder on every node)")  # fmt: skip
    with contextlib.chdir(cwd):  # the command's relative paths are the working folder's, as on every node
        command = _command(args)
        if command[0] == ("vfx", "collapse"):
            kind, (tasks, notes) = "collapse", _collapse_tasks(args, command[1], chunk, slots, resources)
        elif command[0] == ("previs",):
            kind, (tasks, notes) = "previs", _previs_tasks(args, command[1], parts, resources)
        else:
            kind = {"vfx deage": "deage"}.get(" ".join(command[0]), "command")
            tasks, notes = (Task("run", " ".join(command[0]), tuple(args), resources=resources or Resources()),), ()
    return Job(new_job_id(), kind, tuple(args), str(storage), str(cwd), tasks,
               datetime.now(UTC).isoformat(timespec="seconds"), moviola_version(), new_token(), notes)


def _command(args: list[str]) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The command's path (``("vfx", "collapse")``) and its options, parsed by the command itself."""
    from typer.main import get_command

    from . import app

    cmd: Any = get_command(app)
    path: list[str] = []
    rest = list(args)
    while getattr(cmd, "commands", None) is not None and rest:  # a group: its sub-command
        sub = cmd.commands.get(rest[0])
        if sub is None:
            raise InputError(f"moviola {' '.join(path + rest[:1])}: no such command")
        path.append(rest.pop(0))
        cmd = sub
    if getattr(cmd, "commands", None) is not None:
        raise InputError(f"moviola {' '.join(path)} needs a command after it")
    for flag in PART_FLAGS:
        if flag in rest:
            raise InputError(f"{flag} is the farm's to add: submit the plain command")
    try:
        ctx = cmd.make_context(" ".join(["moviola", *path]), rest)
    except ClickException as exc:
        raise InputError(f"moviola {' '.join(path)}: {exc.format_message()}") from None
    return tuple(path), dict(ctx.params)


def _previs_tasks(args: list[str], opts: dict[str, Any], parts: int,
                  resources: Resources | None) -> tuple[tuple[Task, ...], tuple[str, ...]]:  # fmt: skip
    """Breakdown and plan, the scenes in ``parts`` runs, then the sheets, animatic and exports.
    Every task writes into the project (its ``previs/`` and ``cache/``)."""
    res = resources or Resources()
    # --force: every scene task redraws its scenes (and has the gathering's steps run again);
    # the gathering itself, forced, would draw every scene once more
    plain = [a for a in args if a != "--force"]
    root = Path(opts["directory"]).resolve()
    outputs = (str(root / "previs"), str(root / "cache" / "previs"))  # a cancel sweeps temporaries from both
    plan = Task("plan", "breakdown and plan", (*args, "--plan-only"), resources=res, outputs=outputs)
    draw = tuple(Task(f"scenes-{k}-of-{parts}", f"scenes, part {k} of {parts}", (*args, "--draw-part", f"{k}/{parts}"),
                      ("plan",), res, None, outputs) for k in range(1, parts + 1))  # fmt: skip
    gather = Task("gather", "sheets, animatic, timeline, report", tuple(plain), tuple(t.id for t in draw), res,
                  None, outputs)  # fmt: skip
    return (plan, *draw, gather), (f"the scenes in {parts} parts",)


def _collapse_tasks(args: list[str], opts: dict[str, Any], chunk: int, slots: int,
                    resources: Resources | None) -> tuple[tuple[Task, ...], tuple[str, ...]]:  # fmt: skip
    from ..vfx.collapse._workflow import rendered_recipe
    from ._vfx import collapse_recipe

    try:
        recipe, proj = collapse_recipe(opts)
    except typer.BadParameter as exc:
        raise InputError(f"moviola vfx collapse: {exc.format_message()}") from None
    plate_rate = opts["fps"] is None and opts["recipe_file"] is None
    _, drawn = rendered_recipe(recipe, preview=bool(opts["preview"]), plate_rate=plate_rate)
    out = opts["out_dir"] or (proj.root / "vfx" / drawn.name / ("preview" if drawn.preview else "render"))
    first, last = drawn.first_frame, drawn.last_frame
    size = chunk or max(8, math.ceil(drawn.frames / max(1, slots)))
    gpu = 1.0 if drawn.refiner not in (None, "", "passthrough") and opts.get("device") == "cuda" else 0.0
    res = resources or Resources(cpu=1.0, gpu=gpu)
    plain = [a for a in args if a != "--force"]  # replacing a folder is the first task's, once
    outputs = (str(out),)
    sim = Task("simulate", "simulate", (*args, "--simulate-only"), resources=replace(res, gpu=0.0),
               outputs=outputs)  # fmt: skip
    frames = tuple(Task(f"frames-{a}-{b}", f"frames {a}-{b}", (*plain, "--frame-range", f"{a}-{b}"),
                        ("simulate",), res, (a, b), outputs) for a, b in chunks(first, last, size))  # fmt: skip
    gather = Task("gather", "movie, sheet, report", tuple(plain), tuple(t.id for t in frames),
                  replace(res, gpu=0.0), None, outputs)  # fmt: skip
    notes = (f"{drawn.frames} frames {first}-{last} in {len(frames)} tasks of up to {size}",)
    return (sim, *frames, gather), notes
