"""The ``moviola`` command: thin subcommands over the library.

Each command group lives in its own module (``_project``: init; ``_script``:
import-script, breakdown, tag; ``_plan``: plan, audit, shot; ``_previs``: layout,
previs; ``_vfx``, ``_consent``, ``_provenance``: keys, provenance; ``_gen``: gen boards; ``_stream``, ``_ads``); this module assembles the app
and holds ``main()``, the last guard. Human output goes to the terminal through rich
(progress on stderr); ``--json`` prints a machine-readable document on stdout and
nothing else. Every :class:`~moviola.core.MoviolaError` becomes one line on stderr
and a non-zero exit code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from .. import __version__
from ..core import InternalError, MoviolaError, current_step, note_step, storage_error
from . import (
    _ads,
    _consent,
    _farm,
    _gen,
    _plan,
    _previs,
    _project,
    _provenance,
    _script,
    _stream,
    _vfx,
)
from ._common import err, out, print_json, progress_bar

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


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        out.print(f"moviola {__version__}")
        raise typer.Exit()


# one module per command group, attached in the order the help lists them
_project.register(app)
_script.register(app)
_plan.register(app)
_previs.register(app)
_vfx.register(app, out, err, progress_bar, print_json)
_consent.register(app, out, print_json)
_gen.register(app, out, err, progress_bar, print_json)
_provenance.register(app, out, print_json)
_stream.register(app, out, print_json)
_ads.register(app, out, print_json)
_farm.register(app)


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
