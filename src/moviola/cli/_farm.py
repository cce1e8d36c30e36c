"""``moviola farm ...``: submit a command as a job of tasks, watch it, cancel it, retry it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from ..core import InputError
from ..farm import (
    Job,
    JobStore,
    LocalExecutor,
    RayExecutor,
    Resources,
    drive,
    job_state,
    list_jobs,
    ray_address,
    ray_slots,
    reset_for_retry,
    sweep_outputs,
)
from ..farm._store import TaskState
from ._common import err, out, print_json

farm_app = typer.Typer(help="Run long commands as jobs of tasks: on this machine or a Ray cluster.",
                       no_args_is_help=True)  # fmt: skip

StorageOpt = Annotated[Path | None, typer.Option("--storage", help="The shared folder every node sees at the same path (default $MOVIOLA_FARM_STORAGE, else this folder); jobs are kept in its .moviola-farm/.")]  # fmt: skip
FarmOpt = Annotated[str | None, typer.Option("--farm", help="Where tasks run: local (default), ray (RAY_ADDRESS, else this machine's cluster), ray://HOST:PORT or HOST:PORT of a Ray head. RAY_ADDRESS alone chooses Ray.")]  # fmt: skip
WorkersOpt = Annotated[int, typer.Option(help="Local executor: tasks at a time on this machine.")]
DetachOpt = Annotated[bool, typer.Option("--detach", help="Drive the job in the background; watch it with farm status.")]
EXIT = {"done": 0, "failed": 1, "cancelled": 130}


def _storage(storage: Path | None) -> Path:
    return (storage or Path(os.environ.get("MOVIOLA_FARM_STORAGE") or ".")).resolve()


def _farm(farm: str | None) -> str:
    if farm is not None:
        return farm
    return "ray" if os.environ.get("RAY_ADDRESS") else "local"


def _executor(store: JobStore, job: Job, farm: str, workers: int) -> Any:
    address = ray_address(farm)
    if address is None:
        return LocalExecutor(str(store.folder), job.token, workers)
    return RayExecutor(str(store.folder), job.token, address)


def _drive(store: JobStore, job: Job, farm: str, workers: int, show: bool) -> str:
    executor = _executor(store, job, farm, workers)
    if not show:
        return drive(store, executor)
    with Live(_table(store, job), console=err, refresh_per_second=2, transient=False) as live:
        return drive(store, executor, lambda j, view: live.update(_table(store, j)))


def _detach(store: JobStore, farm: str, workers: int) -> None:
    log = store.folder / "driver.log"
    with open(log, "ab") as sink:
        subprocess.Popen([sys.executable, "-m", "moviola", "farm", "drive", store.folder.name, "--storage",
                          str(store.folder.parent.parent), "--farm", farm, "--workers", str(workers)],
                         stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True)  # fmt: skip


def _finish(store: JobStore, job: Job, state: str) -> None:
    if state == "done":
        out.print(f"[green]job {job.id} done[/]: {len(job.tasks)} tasks")
    else:
        failed = [t.id for t in job.tasks if store.state(t.id).state in ("failed", "cancelled")]
        out.print(f"[red]job {job.id} {state}[/]: {', '.join(failed) or 'no task'} not done; logs in "
                  f"{escape(str(store.folder / 'logs'))}; moviola farm retry {job.id} runs what is left")  # fmt: skip
    raise typer.Exit(EXIT.get(state, 1))


def register(app: typer.Typer) -> None:
    """Attach ``farm`` to the main app (called by the cli package)."""
    app.add_typer(farm_app, name="farm")

    @farm_app.command("submit", context_settings={"allow_interspersed_args": False})
    def submit(
        command: Annotated[list[str], typer.Argument(help="The command, after --: moviola vfx collapse ...", show_default=False)],
        farm: FarmOpt = None,
        storage: StorageOpt = None,
        chunk: Annotated[int, typer.Option(help="Frames per task of a frame-range job (0: the shot shared among the tasks the farm runs at once: --workers here, the cluster's CPUs over --cpus on Ray; at least 8).")] = 0,
        parts: Annotated[int, typer.Option(min=1, max=1000, help="Tasks a previs's scenes are drawn in (runs of scenes in script order).")] = 4,
        workers: WorkersOpt = 1,
        cpus: Annotated[float | None, typer.Option(help="Cores each task asks for (default 1).")] = None,
        gpus: Annotated[float | None, typer.Option(help="GPUs each task asks for (default: 1 for a refiner on cuda, else 0).")] = None,
        memory: Annotated[int | None, typer.Option(help="Memory each task asks for, MB (default: no claim).")] = None,
        detach: DetachOpt = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the job document and exit code's state as JSON.")] = False,
    ) -> None:  # fmt: skip
        """Plan a command into tasks, keep the job on the shared storage, and run it."""
        from ._farm_plan import plan_job

        farm = _farm(farm)
        res = None
        if cpus is not None or gpus is not None or memory is not None:
            res = Resources(cpus if cpus is not None else 1.0, memory or 0, gpus or 0.0)
        address = ray_address(farm)
        slots = workers if address is None else ray_slots(address, res.cpu if res else 1.0)
        job = plan_job(command, _storage(storage), Path.cwd(), chunk=chunk, parts=parts, slots=slots, resources=res)
        store = JobStore(_storage(storage) / ".moviola-farm" / job.id)
        store.write_job(job)
        if not as_json:
            out.print(f"job [bold]{job.id}[/] ({job.kind}, {len(job.tasks)} tasks"
                      + (f"; {escape(job.notes[0])}" if job.notes else "") + f") on {escape(farm)}")  # fmt: skip
        if detach:
            _detach(store, farm, workers)
            if as_json:
                print_json({"job": job.as_dict(), "state": "submitted"})
            else:
                out.print(f"driving in the background: moviola farm status {job.id}")
            return
        state = _drive_interruptible(store, job, farm, workers, not as_json and err.is_terminal)
        if as_json:
            print_json({"job": job.as_dict(), "state": state})
            raise typer.Exit(EXIT.get(state, 1))
        _finish(store, job, state)

    @farm_app.command("drive", hidden=True)
    def drive_cmd(job_id: str, storage: StorageOpt = None, farm: FarmOpt = None, workers: WorkersOpt = 1) -> None:
        """Drive a submitted job (what --detach runs in the background)."""
        store = JobStore.find(_storage(storage), job_id)
        job = store.read_job()
        state = _drive(store, job, _farm(farm), workers, False)
        raise typer.Exit(EXIT.get(state, 1))

    @farm_app.command("status")
    def status(
        job_id: Annotated[str | None, typer.Argument(help="A job; without one, every job on the storage.")] = None,
        storage: StorageOpt = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of a table.")] = False,
    ) -> None:  # fmt: skip
        """Where a job stands, task by task (or every job, one line each)."""
        root = _storage(storage)
        if job_id is None:
            rows = [_job_row(JobStore.find(root, j)) for j in list_jobs(root)]
            if as_json:
                print_json({"jobs": rows})
                return
            table = Table(title=f"Farm jobs on {escape(str(root))}", header_style="bold")
            for col in ("job", "kind", "state", "tasks done", "command"):
                table.add_column(col, overflow="fold")
            for r in rows:
                table.add_row(r["id"], r["kind"], r["state"], f"{r['done']}/{r['tasks']}", escape(r["command"]))
            out.print(table)
            return
        store = JobStore.find(root, job_id)
        job = store.read_job()
        if as_json:
            print_json(_job_status(store, job))
            return
        out.print(_table(store, job))

    @farm_app.command("cancel")
    def cancel(job_id: str, storage: StorageOpt = None,
               reason: Annotated[str, typer.Option(help="Why (kept with the job).")] = "cancelled by hand") -> None:  # fmt: skip
        """Stop a job: its running tasks are stopped, nothing half-written is left."""
        store = JobStore.find(_storage(storage), job_id)
        job = store.read_job()
        states = store.states(job)
        if job_state(job, {k: v.state for k, v in states.items()}) == "done":
            raise InputError(f"job {job_id} is done; there is nothing to cancel")
        store.request_cancel(reason)
        if store.driver_alive():  # its driver stops the tasks, marks them and sweeps
            deadline = time.monotonic() + 90
            while store.driver_alive() and time.monotonic() < deadline:
                time.sleep(0.5)
        else:  # no driver: mark what is not done and sweep here
            for t in job.tasks:
                st = states[t.id]
                if st.state != "done":
                    store.put(t.id, TaskState("cancelled", st.attempts, st.node, None, st.started, time.time(),
                                              st.exit_code, reason))  # fmt: skip
            sweep_outputs(job)
        out.print(f"job {job_id} cancelled; moviola farm retry {job_id} runs what is left")

    @farm_app.command("retry")
    def retry(job_id: str, farm: FarmOpt = None, storage: StorageOpt = None, workers: WorkersOpt = 1,
              detach: DetachOpt = False) -> None:  # fmt: skip
        """Run what a job has left: failed, cancelled and interrupted tasks; done ones are never run again."""
        store = JobStore.find(_storage(storage), job_id)
        if store.driver_alive():
            raise InputError(f"job {job_id} is being driven now ({store.driver()}); cancel it first")
        job = store.read_job()
        farm = _farm(farm)
        ray_address(farm)
        store.clear_cancel()
        again = reset_for_retry(store, job, failed=True)
        out.print(f"job {job_id}: {len(again)} tasks to run again on {escape(farm)}")
        if detach:
            _detach(store, farm, workers)
            return
        _finish(store, job, _drive_interruptible(store, job, farm, workers, err.is_terminal))


def _drive_interruptible(store: JobStore, job: Job, farm: str, workers: int, show: bool) -> str:
    try:
        return _drive(store, job, farm, workers, show)
    except KeyboardInterrupt:  # the driver stopped its tasks on the way out (see drive)
        err.print(f"interrupted: finished tasks are kept and nothing half-written is left; "
                  f"moviola farm retry {job.id} runs what is left")  # fmt: skip
        raise typer.Exit(130) from None


def _job_row(store: JobStore) -> dict[str, Any]:
    job = store.read_job()
    states = {k: v.state for k, v in store.states(job).items()}
    return {"id": job.id, "kind": job.kind, "state": job_state(job, states), "tasks": len(job.tasks),
            "done": sum(s == "done" for s in states.values()), "command": "moviola " + " ".join(job.command),
            "created": job.created}  # fmt: skip


def _job_status(store: JobStore, job: Job) -> dict[str, Any]:
    states = store.states(job)
    tasks = []
    for t in job.tasks:
        st = states[t.id]
        tasks.append({"id": t.id, "label": t.label, **st.as_dict(), "progress": store.progress(t.id),
                      "frames": list(t.frames) if t.frames else None, "log": str(store.log_path(t.id))})  # fmt: skip
    return {"job": job.id, "kind": job.kind, "state": job_state(job, {k: v.state for k, v in states.items()}),
            "command": ["moviola", *job.command], "storage": job.storage, "driver": store.driver(),
            "cancel_requested": store.cancelled(), "tasks": tasks}  # fmt: skip


def _table(store: JobStore, job: Job) -> Table:
    status = _job_status(store, job)
    table = Table(title=f"job {job.id} ({job.kind}): {status['state']}", header_style="bold")
    for col in ("task", "state", "progress", "try", "node", "time", "note"):
        table.add_column(col, overflow="fold")
    now = time.time()
    for t in status["tasks"]:
        p = t["progress"]
        shown = "" if t["state"] == "done" or not p else f"{p['stage']} {p['done']}/{p['total']}"
        spent = ((t["finished"] or now) - t["started"]) if t["started"] else None
        colour = {"done": "green", "running": "cyan", "failed": "red", "cancelled": "yellow"}.get(t["state"], "")
        table.add_row(escape(t["label"]), f"[{colour}]{t['state']}[/]" if colour else t["state"], shown,
                      str(t["attempts"] or ""), escape(t["node"] or ""), f"{spent:.0f} s" if spent else "",
                      escape(t["error"] or ""))  # fmt: skip
    return table
