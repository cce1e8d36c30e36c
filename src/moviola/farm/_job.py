"""A farm job as a document: the command, the tasks it splits into, their order and resources.

A job is one command's work (``moviola vfx collapse ...``). It splits along the lines the
work already has: for a collapse, the simulation once, then frame ranges from 1001, then
the plain command that gathers the frames into the movie, sheet and report. Each task is
itself a Moviola command line, so an artist can run any task by hand, and a task that
ran on another machine did exactly what it would have done here.

This module is the model only (no files, no processes): ``_store`` keeps jobs on disk,
the executors run them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..core import DocumentError, InputError, register_schema, schema_tag

JOB_NAME = "FarmJob"
register_schema(JOB_NAME, 1)
STATES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done",)
_TASK_ID = re.compile(r"^[a-z][a-z0-9-]{0,63}$")


@dataclass(frozen=True)
class Resources:
    """What one task needs of a node: cores, memory, GPUs (a generative refiner's task asks for one)."""

    cpu: float = 1.0
    memory_mb: int = 0  # 0: no claim
    gpu: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"cpu": self.cpu, "memory_mb": self.memory_mb, "gpu": self.gpu}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Resources:
        res = cls(float(raw.get("cpu", 1.0)), int(raw.get("memory_mb", 0)), float(raw.get("gpu", 0.0)))
        if res.cpu < 0 or res.memory_mb < 0 or res.gpu < 0:
            raise DocumentError(f"a task's resources cannot be negative: {raw}")
        return res


@dataclass(frozen=True)
class Task:
    """One command line of the job, run once every task in ``after`` is done."""

    id: str
    label: str
    argv: tuple[str, ...]  # after ``moviola``
    after: tuple[str, ...] = ()
    resources: Resources = Resources()
    frames: tuple[int, int] | None = None  # the frame range it draws, when it draws one
    outputs: tuple[str, ...] = ()  # folders it writes into, relative to the job's working folder

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "argv": list(self.argv), "after": list(self.after),
                "resources": self.resources.as_dict(),
                "frames": list(self.frames) if self.frames else None, "outputs": list(self.outputs)}  # fmt: skip

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Task:
        frames = raw.get("frames")
        return cls(str(raw["id"]), str(raw.get("label", raw["id"])), tuple(str(a) for a in raw["argv"]),
                   tuple(str(a) for a in raw.get("after", ())), Resources.from_dict(raw.get("resources") or {}),
                   (int(frames[0]), int(frames[1])) if frames else None,
                   tuple(str(o) for o in raw.get("outputs", ())))  # fmt: skip


@dataclass(frozen=True)
class Job:
    """The job document (``job.json``): what to run, where every node finds the files, in what order."""

    id: str
    kind: str  # "collapse", "previs", "deage", "command"
    command: tuple[str, ...]  # what the user asked for, after ``moviola``
    storage: str  # the shared folder every node sees at this same path
    cwd: str  # the working folder the command was given in (inside ``storage``)
    tasks: tuple[Task, ...]
    created: str
    moviola: str  # the version that planned it: every node must run the same
    token: str  # a random word in job.json: a node that reads it sees the shared storage
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        check_tasks(self.tasks)

    def task(self, task_id: str) -> Task:
        for t in self.tasks:
            if t.id == task_id:
                return t
        raise InputError(f"job {self.id} has no task {task_id!r}")

    def as_dict(self) -> dict[str, Any]:
        return {"schema": schema_tag(JOB_NAME), "id": self.id, "kind": self.kind, "command": list(self.command),
                "storage": self.storage, "cwd": self.cwd, "created": self.created, "moviola": self.moviola,
                "token": self.token, "notes": list(self.notes), "tasks": [t.as_dict() for t in self.tasks]}  # fmt: skip

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Job:
        try:
            return cls(str(raw["id"]), str(raw["kind"]), tuple(str(a) for a in raw["command"]), str(raw["storage"]),
                       str(raw["cwd"]), tuple(Task.from_dict(t) for t in raw["tasks"]), str(raw["created"]),
                       str(raw["moviola"]), str(raw["token"]), tuple(str(n) for n in raw.get("notes", ())))  # fmt: skip
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise DocumentError(f"not a farm job document: {exc}") from None


def check_tasks(tasks: tuple[Task, ...]) -> None:
    """Ids are unique and plain, every ``after`` names an earlier task (so there is no cycle)."""
    seen: set[str] = set()
    for t in tasks:
        if not _TASK_ID.match(t.id):
            raise DocumentError(f"task id {t.id!r}: lower-case letters, digits and -, starting with a letter")
        if t.id in seen:
            raise DocumentError(f"two tasks are called {t.id!r}")
        missing = [a for a in t.after if a not in seen]
        if missing:
            raise DocumentError(f"task {t.id} waits for {', '.join(missing)}, which is not an earlier task")
        if not t.argv:
            raise DocumentError(f"task {t.id} has no command")
        seen.add(t.id)


def ready(job: Job, states: dict[str, str]) -> list[Task]:
    """Tasks that may start now: queued (or never run), everything they wait for done."""
    return [t for t in job.tasks if states.get(t.id, "queued") == "queued"
            and all(states.get(a) in FINISHED for a in t.after)]  # fmt: skip


def job_state(job: Job, states: dict[str, str]) -> str:
    """The job's one word: done when every task is, failed or cancelled when one is and
    nothing runs any more, running while any runs, else queued."""
    values = [states.get(t.id, "queued") for t in job.tasks]
    if all(v == "done" for v in values):
        return "done"
    if "running" in values:
        return "running"
    for word in ("cancelled", "failed"):
        if word in values:
            return word
    return "running" if "done" in values else "queued"


def chunks(first: int, last: int, size: int) -> list[tuple[int, int]]:
    """``first..last`` in ranges of ``size`` frames (the last one shorter)."""
    if size < 1:
        raise InputError(f"--chunk must be at least 1 frame, not {size}")
    return [(a, min(a + size - 1, last)) for a in range(first, last + 1, size)]
