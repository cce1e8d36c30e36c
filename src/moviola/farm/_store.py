"""Jobs on the shared storage: the one place every node and every command looks.

    STORAGE/.moviola-farm/JOB/job.json          the job document (FarmJob.1)
    STORAGE/.moviola-farm/JOB/tasks/TASK.json   each task's state, written by whoever ran it last
    STORAGE/.moviola-farm/JOB/tasks/TASK.progress   its command's last progress (stage, done, total)
    STORAGE/.moviola-farm/JOB/logs/TASK.log     each task's output, every attempt after the last
    STORAGE/.moviola-farm/JOB/cancel            a cancel request (the driver stops the tasks)
    STORAGE/.moviola-farm/JOB/driver.json       who drives the job: host, process, executor

Every file is written whole (temporary, then renamed), so ``farm status`` on any machine
reads a consistent picture while the job runs.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core import (
    InputError,
    MoviolaError,
    StorageError,
    read_document,
    write_document,
    write_text_atomic,
)
from ._job import JOB_NAME, STATES, Job

FARM_DIR = ".moviola-farm"


def jobs_root(storage: Path) -> Path:
    return Path(storage) / FARM_DIR


def new_job_id() -> str:
    """Sortable by when it was submitted, unique across machines."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def new_token() -> str:
    return secrets.token_hex(8)


@dataclass(frozen=True)
class TaskState:
    """Where one task stands; ``attempts`` counts its starts (a retry after a lost node is one more)."""

    state: str = "queued"
    attempts: int = 0
    node: str | None = None
    pid: int | None = None
    started: float | None = None
    finished: float | None = None
    exit_code: int | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TaskState:
        state = raw.get("state", "queued")
        return cls(state if state in STATES else "failed", int(raw.get("attempts", 0)), raw.get("node"),
                   raw.get("pid"), raw.get("started"), raw.get("finished"), raw.get("exit_code"),
                   raw.get("error"))  # fmt: skip


class JobStore:
    """One job's folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    @classmethod
    def find(cls, storage: Path, job_id: str) -> JobStore:
        folder = jobs_root(storage) / job_id
        if not (folder / "job.json").is_file():
            known = list_jobs(storage)
            hint = f"; jobs here: {', '.join(known[-5:])}" if known else "; there are no jobs here"
            raise InputError(f"no farm job {job_id!r} under {jobs_root(storage)}{hint}")
        return cls(folder)

    @property
    def job_path(self) -> Path:
        return self.folder / "job.json"

    def write_job(self, job: Job) -> None:
        write_document(self.job_path, job.as_dict(), exclusive=True)

    def read_job(self) -> Job:
        return Job.from_dict(read_document(self.job_path, expect=JOB_NAME))

    def task_path(self, task_id: str) -> Path:
        return self.folder / "tasks" / f"{task_id}.json"

    def progress_path(self, task_id: str) -> Path:
        return self.folder / "tasks" / f"{task_id}.progress"

    def progress(self, task_id: str) -> dict[str, Any] | None:
        """The running task's last stage and count (``stage``, ``done``, ``total``), if it said one."""
        try:
            data = json.loads(self.progress_path(task_id).read_text("utf-8"))
            return data if isinstance(data, dict) else None
        except (OSError, ValueError):
            return None

    def log_path(self, task_id: str) -> Path:
        return self.folder / "logs" / f"{task_id}.log"

    def state(self, task_id: str) -> TaskState:
        try:
            return TaskState.from_dict(json.loads(self.task_path(task_id).read_text("utf-8")))
        except (OSError, ValueError):
            return TaskState()

    def states(self, job: Job) -> dict[str, TaskState]:
        return {t.id: self.state(t.id) for t in job.tasks}

    def put(self, task_id: str, state: TaskState) -> None:
        write_text_atomic(self.task_path(task_id), json.dumps(state.as_dict(), sort_keys=True) + "\n")

    # a cancel request, written by ``farm cancel`` on any machine, read by the driver and the runners
    @property
    def cancel_path(self) -> Path:
        return self.folder / "cancel"

    def request_cancel(self, reason: str) -> None:
        write_text_atomic(self.cancel_path, json.dumps({"reason": reason, "at": time.time(),
                                                        "by": node_name()}) + "\n")  # fmt: skip

    def cancelled(self) -> bool:
        return self.cancel_path.is_file()

    def clear_cancel(self) -> None:
        self.cancel_path.unlink(missing_ok=True)

    @property
    def driver_path(self) -> Path:
        return self.folder / "driver.json"

    def claim_driver(self, executor: str) -> None:
        write_text_atomic(self.driver_path, json.dumps({"host": node_name(), "pid": os.getpid(), "executor": executor,
                                                        "started": time.time()}) + "\n")  # fmt: skip

    def driver(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.driver_path.read_text("utf-8"))
            return data if isinstance(data, dict) else None
        except (OSError, ValueError):
            return None

    def driver_alive(self) -> bool:
        """Whether the process driving this job still runs (known only on its own machine)."""
        d = self.driver()
        if not d:
            return False
        if d.get("host") != node_name():
            return not d.get("finished")
        if d.get("finished"):
            return False
        try:
            os.kill(int(d["pid"]), 0)
        except (OSError, ValueError, KeyError):
            return False
        return True

    def release_driver(self) -> None:
        d = self.driver() or {}
        d["finished"] = time.time()
        write_text_atomic(self.driver_path, json.dumps(d) + "\n")


def list_jobs(storage: Path) -> list[str]:
    root = jobs_root(storage)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "job.json").is_file())


def node_name() -> str:
    """This machine, as task states name it (a Ray worker adds its node id: ``host/abcd1234``)."""
    return os.environ.get("MOVIOLA_FARM_NODE") or socket.gethostname()


def check_storage(job_dir: Path, token: str) -> Job:
    """Fail fast, in one line, on a node that does not see the shared storage at the job's path."""
    path = Path(job_dir) / "job.json"
    try:
        job = JobStore(Path(job_dir)).read_job()
    except (OSError, MoviolaError) as exc:
        raise StorageError(f"node {node_name()} cannot see the job's shared storage: {path} is not readable "
                           f"here ({exc}); mount the storage at the same path on every node", path) from None  # fmt: skip
    if job.token != token:
        raise StorageError(f"node {node_name()} sees another folder at {path} (its job token differs): "
                           "every node must mount the same shared storage at the same path", path)  # fmt: skip
    return job
