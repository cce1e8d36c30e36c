"""Driving a job: start each task once what it waits for is done, until all are, one fails, or
the job is cancelled.

The driver keeps nothing the job folder does not: run again (``farm retry``, or after the
driver itself was stopped) it reads which tasks are done and never runs them again. A task
that failed stops only what waits for it; the rest of the job goes on, so a retry has
the least left to do. A cancel stops every running task (their commands get Ctrl-C and
sweep their temporaries), then sweeps the job's output folders of any temporary a killed
process left, so a cancelled job leaves only whole files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ._executors import Executor, Outcome
from ._job import Job, job_state, ready
from ._store import JobStore, TaskState

Report = Callable[[Job, dict[str, str]], None]
CANCEL_WAIT_S = 60.0


def reset_for_retry(store: JobStore, job: Job, *, failed: bool) -> list[str]:
    """Before driving: tasks left ``running`` by a driver that is gone go back to the queue, and
    with ``failed`` so do failed and cancelled ones. Done tasks stay done. Returns those reset."""
    reset = []
    for t in job.tasks:
        st = store.state(t.id)
        if st.state == "running" or (failed and st.state in ("failed", "cancelled")):
            store.put(t.id, TaskState("queued", st.attempts, st.node, error=st.error))
            reset.append(t.id)
    return reset


def drive(store: JobStore, executor: Executor, report: Report | None = None, poll_s: float = 0.5) -> str:
    """Run the job's tasks on ``executor``; returns the job's final state."""
    job = store.read_job()
    store.claim_driver(executor.name)
    view = {t.id: store.state(t.id).state for t in job.tasks}
    inflight: set[str] = set()
    try:
        while True:
            if store.cancelled():
                _cancel(store, job, executor, view, inflight)
                break
            for task in ready(job, view):
                executor.submit(task)
                inflight.add(task.id)
                view[task.id] = "running"
            if not inflight:
                break
            for outcome in executor.poll(poll_s):
                _settle(store, outcome, view, inflight)
            if report:
                report(job, view)
    except KeyboardInterrupt:  # the driver is stopped: so are its tasks, cleanly
        store.request_cancel("the driver was interrupted")
        _cancel(store, job, executor, view, inflight)
        raise
    finally:
        executor.close()
        store.release_driver()
    if report:
        report(job, view)
    return job_state(job, view)


def _settle(store: JobStore, outcome: Outcome, view: dict[str, str], inflight: set[str]) -> None:
    inflight.discard(outcome.task)
    view[outcome.task] = outcome.state
    st = store.state(outcome.task)
    if outcome.state != "done" and st.state != outcome.state:  # the runner could not say so itself
        store.put(outcome.task, TaskState(outcome.state, st.attempts, outcome.node or st.node, None, st.started,
                                          time.time(), st.exit_code, outcome.message))  # fmt: skip


def _cancel(store: JobStore, job: Job, executor: Executor, view: dict[str, str], inflight: set[str]) -> None:
    """The runners see the request and stop their commands; wait for them, then mark and sweep."""
    deadline = time.monotonic() + CANCEL_WAIT_S
    while inflight and time.monotonic() < deadline:
        for outcome in executor.poll(0.5):
            _settle(store, outcome, view, inflight)
    for t in job.tasks:
        if view.get(t.id) != "done":
            st = store.state(t.id)
            view[t.id] = "cancelled"
            if st.state != "cancelled":
                store.put(t.id, TaskState("cancelled", st.attempts, st.node, None, st.started, time.time(),
                                          st.exit_code, "the job was cancelled"))  # fmt: skip
    sweep_outputs(job)


def sweep_outputs(job: Job) -> int:
    """Remove the hidden temporaries a stopped task left in the job's output folders."""
    from ..vfx._outputs import sweep_temporaries

    swept = 0
    for t in job.tasks:
        for rel in t.outputs:
            folder = Path(job.cwd) / rel
            if folder.is_dir():
                swept += sweep_temporaries(folder)  # the folder, its frames and its layers
    return swept
