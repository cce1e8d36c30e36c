"""One task, run on whichever node got it: the same Moviola command line, in the job's folder.

The runner checks first that this node sees the shared storage and runs the Moviola the job
was planned with, then starts the task's command as a child process (its output appended
to the task's log) that dies with the runner, so a node that is lost takes its task's
processes with it and the retry elsewhere never races a ghost. A task already done is
never run again; a cancel request stops the child at once.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..core import StorageError
from ._store import JobStore, TaskState, check_storage, node_name

POLL_S = 0.25
_PR_SET_PDEATHSIG = 1


def moviola_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("moviola")
    except PackageNotFoundError:  # a source tree
        return "source"


def run_task(job_dir: str, task_id: str, token: str) -> dict[str, Any]:
    """Run ``task_id`` of the job in ``job_dir``; returns its outcome (``state``, ``exit_code``, ``node``).

    Raises :class:`StorageError` on a node that cannot see the job's storage or runs another
    Moviola: that is the node's fault, not the task's, and says so in one line.
    """
    job = check_storage(Path(job_dir), token)
    if job.moviola != moviola_version():
        raise StorageError(f"node {node_name()} runs Moviola {moviola_version()}, the job was planned with "
                           f"{job.moviola}: install the same version on every node", Path(job_dir))  # fmt: skip
    store = JobStore(Path(job_dir))
    task = job.task(task_id)
    before = store.state(task_id)
    if before.state == "done":  # a finished task is never run again
        return {"state": "done", "exit_code": 0, "node": before.node, "skipped": True}
    if store.cancelled():
        store.put(task_id, TaskState("cancelled", before.attempts, node_name(), error="the job was cancelled"))
        return {"state": "cancelled", "exit_code": None, "node": node_name()}
    attempt = before.attempts + 1
    started = time.time()
    store.put(task_id, TaskState("running", attempt, node_name(), os.getpid(), started))
    log = store.log_path(task_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as sink:
        sink.write(f"\n=== attempt {attempt} on {node_name()} (pid {os.getpid()}) at "
                   f"{time.strftime('%Y-%m-%d %H:%M:%S')}: moviola {' '.join(task.argv)}\n".encode())  # fmt: skip
        sink.flush()
        progress = store.progress_path(task_id)
        progress.unlink(missing_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "MOVIOLA_FARM_TASK": f"{job.id}/{task_id}",
               "MOVIOLA_FARM_PROGRESS": str(progress)}  # fmt: skip
        child = subprocess.Popen([sys.executable, "-m", "moviola", *task.argv], cwd=job.cwd, stdout=sink,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                 start_new_session=True, preexec_fn=_die_with_parent)  # fmt: skip
        code, cancelled = _wait(child, store)
    state = "cancelled" if cancelled else ("done" if code == 0 else "failed")
    error = None if state == "done" else ("the job was cancelled" if cancelled else _last_line(log, code))
    store.put(task_id, TaskState(state, attempt, node_name(), None, started, time.time(), code, error))
    return {"state": state, "exit_code": code, "node": node_name(), "error": error}


def _wait(child: subprocess.Popen[bytes], store: JobStore) -> tuple[int, bool]:
    """Wait for the child; on a cancel request, stop its whole process group."""
    while True:
        try:
            return child.wait(timeout=POLL_S), False
        except subprocess.TimeoutExpired:
            if store.cancelled():
                _stop(child)
                return child.wait(), True


def _stop(child: subprocess.Popen[bytes]) -> None:
    """SIGINT first (Moviola's commands then sweep their temporaries), SIGKILL after 10 s."""
    for sig, grace in ((signal.SIGINT, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(child.pid, sig)
        except ProcessLookupError:
            return
        try:
            child.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _die_with_parent() -> None:
    """In the child: be killed when the runner dies (Linux), so a lost worker leaves no ghost."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:  # not Linux: the retry may overlap a ghost; frames are still published whole
        pass


def _last_line(log: Path, code: int) -> str:
    try:
        lines = [ln for ln in log.read_text("utf-8", "replace").splitlines() if ln.strip()]
    except OSError:
        lines = []
    tail = lines[-1].strip() if lines else ""
    return f"exit {code}" + (f": {tail[:300]}" if tail else "")
