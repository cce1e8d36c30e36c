"""Where tasks run: processes on this machine (the default), or a Ray cluster.

Both take a ready task, run it through :func:`run_task` on some node, and report when it
ends. Ray places each task by its resources (cores, memory, a GPU for a generative
refiner), and retries a task whose worker or node is lost on another node: a render
manager's promise kept by the engine, not by a scheduler of ours.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol

from ..core import DependencyError, InputError, MoviolaError
from ._job import Task
from ._runner import run_task

LOST_RETRIES = 3  # a task whose worker or node dies is run again elsewhere, up to this many times


@dataclass(frozen=True)
class Outcome:
    task: str
    state: str  # done, failed, cancelled
    message: str | None = None
    node: str | None = None


class Executor(Protocol):
    name: str

    def submit(self, task: Task) -> None: ...

    def poll(self, timeout: float) -> list[Outcome]: ...

    def running(self) -> int: ...

    def close(self) -> None: ...


def _outcome(task_id: str, result: dict[str, Any]) -> Outcome:
    return Outcome(task_id, str(result["state"]), result.get("error"), result.get("node"))


class LocalExecutor:
    """Tasks as processes on this machine, ``workers`` at a time (one: what a plain command does)."""

    name = "local"

    def __init__(self, job_dir: str, token: str, workers: int = 1) -> None:
        self._job_dir, self._token = job_dir, token
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="moviola-farm")
        self._futures: dict[Future[dict[str, Any]], str] = {}

    def submit(self, task: Task) -> None:
        self._futures[self._pool.submit(run_task, self._job_dir, task.id, self._token)] = task.id

    def poll(self, timeout: float) -> list[Outcome]:
        if not self._futures:
            return []
        finished, _ = wait(list(self._futures), timeout=timeout, return_when=FIRST_COMPLETED)
        out = []
        for f in finished:
            task_id = self._futures.pop(f)
            try:
                out.append(_outcome(task_id, f.result()))
            except MoviolaError as exc:
                out.append(Outcome(task_id, "failed", str(exc)))
        return out

    def running(self) -> int:
        return len(self._futures)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def ray_address(farm: str) -> str | None:
    """``--farm``: ``ray://HOST:PORT`` (Ray Client), ``ray`` (``RAY_ADDRESS``, else the cluster
    this machine belongs to), or ``HOST:PORT`` of a cluster's head. None: the local executor."""
    if farm in ("", "local"):
        return None
    if farm == "ray":
        return os.environ.get("RAY_ADDRESS") or "auto"
    if farm.startswith("ray://") or (":" in farm and farm.rsplit(":", 1)[1].isdigit()):
        return farm
    raise InputError(f"--farm {farm!r}: give local, ray, ray://HOST:PORT or HOST:PORT (a Ray head)")


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise DependencyError("the farm's Ray executor needs Ray: pip install 'moviola[farm]' "
                              "(the local executor needs nothing more)") from None  # fmt: skip
    return ray


def _connect(ray: Any, address: str) -> None:
    if ray.is_initialized():
        return
    try:
        ray.init(address=address, namespace="moviola", logging_level="ERROR", log_to_driver=False,
                 include_dashboard=False)  # fmt: skip
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise InputError(f"cannot reach the Ray cluster at {address}: {exc}") from None


def ray_slots(address: str, cpus_per_task: float) -> int:
    """How many tasks of ``cpus_per_task`` cores the cluster at ``address`` runs at once (the
    connection stays open for the executor)."""
    ray = _import_ray()
    _connect(ray, address)
    return max(1, int(float(ray.cluster_resources().get("CPU", 1.0)) // max(cpus_per_task, 1e-3)))


class RayExecutor:
    """Tasks on a Ray cluster: each a Ray task with the resources it asked for, retried on
    another node when its worker or node is lost."""

    name = "ray"

    def __init__(self, job_dir: str, token: str, address: str, connect: Callable[[Any, str], None] | None = None) -> None:
        ray = self._ray = _import_ray()
        self._job_dir, self._token, self.address = job_dir, token, address
        if connect is None:
            _connect(ray, address)
        elif not ray.is_initialized():
            connect(ray, address)
        self._remote = ray.remote(_ray_task)
        self._refs: dict[Any, str] = {}
        self._lost = (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                      ray.exceptions.RayTaskError)  # fmt: skip

    def submit(self, task: Task) -> None:
        r = task.resources
        options: dict[str, Any] = {"num_cpus": r.cpu, "num_gpus": r.gpu, "max_retries": LOST_RETRIES,
                                   "retry_exceptions": False, "name": task.id}  # fmt: skip
        if r.memory_mb:
            options["memory"] = r.memory_mb * 1024 * 1024
        self._refs[self._remote.options(**options).remote(self._job_dir, task.id, self._token)] = task.id

    def poll(self, timeout: float) -> list[Outcome]:
        if not self._refs:
            return []
        ready, _ = self._ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        out = []
        for ref in ready:
            task_id = self._refs.pop(ref)
            try:
                out.append(_outcome(task_id, self._ray.get(ref)))
            except self._lost as exc:  # the task's own error, or its node lost more times than we retry
                out.append(Outcome(task_id, "failed", _ray_message(exc)))
        return out

    def running(self) -> int:
        return len(self._refs)

    def close(self) -> None:
        for ref in list(self._refs):
            self._ray.cancel(ref, force=True)
        self._refs.clear()
        self._ray.shutdown()


def _ray_task(job_dir: str, task_id: str, token: str) -> dict[str, Any]:
    """What a Ray worker runs: the runner, whose errors come back as one line. The node is
    named by host and Ray node id, so two nodes on one host are told apart."""
    import socket

    import ray

    os.environ["MOVIOLA_FARM_NODE"] = f"{socket.gethostname()}/{ray.get_runtime_context().get_node_id()[:8]}"
    try:
        return run_task(job_dir, task_id, token)
    except MoviolaError as exc:
        return {"state": "failed", "exit_code": None, "error": str(exc)}


def _ray_message(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}"[:400]
