"""``moviola.farm``: the same Moviola jobs on this machine or across a Ray cluster.

A job (one command's work) is planned into tasks with their order and resources, written
as a document on the shared storage, and driven by an executor: local processes by default,
or Ray (``--farm ray://HOST:PORT``), which places tasks by resources and reruns a task whose
node is lost. Every task is a Moviola command line; frames are published whole, finished
tasks never run again, and a cancelled job leaves only whole files.
"""

from ._driver import drive, reset_for_retry, sweep_outputs
from ._executors import LocalExecutor, Outcome, RayExecutor, ray_address, ray_slots
from ._job import Job, Resources, Task, chunks, job_state, ready
from ._runner import run_task
from ._store import JobStore, TaskState, jobs_root, list_jobs, new_job_id, new_token

__all__ = [
    "Job",
    "JobStore",
    "LocalExecutor",
    "Outcome",
    "RayExecutor",
    "Resources",
    "Task",
    "TaskState",
    "chunks",
    "drive",
    "job_state",
    "jobs_root",
    "list_jobs",
    "new_job_id",
    "new_token",
    "ray_address",
    "ray_slots",
    "ready",
    "reset_for_retry",
    "run_task",
    "sweep_outputs",
]
