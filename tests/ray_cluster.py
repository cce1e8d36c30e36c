"""A real Ray cluster on this machine for the farm's tests and benchmark: a head and worker
nodes, each started by ``ray start --block`` in a session of its own, so a node can be
killed with everything it runs (``kill -9`` of its process group), as a lost machine is.

Node deaths are noticed within seconds (health checks every second, three misses), not
the half minute Ray waits by default.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

RAY = Path(sys.executable).parent / "ray"
SYSTEM_CONFIG = '{"health_check_period_ms":1000,"health_check_timeout_ms":1000,"health_check_failure_threshold":3}'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    address: str  # HOST:PORT of the head, what --farm takes
    client: str  # ray://HOST:PORT: the head's Ray Client server, for a submitter outside the cluster
    folder: Path
    env: dict[str, str]
    nodes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def add_worker(self, cpus: int = 1) -> subprocess.Popen[bytes]:
        """Start a worker node and wait until the head counts it."""
        before = self.node_count()
        log = open(self.folder / f"worker{len(self.nodes)}.log", "ab")  # noqa: SIM115 (the node's whole life)
        node = subprocess.Popen([str(RAY), "start", "--address", self.address, "--node-ip-address", "127.0.0.1",
                                 f"--num-cpus={cpus}", "--block", "--disable-usage-stats"],
                                stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True)  # fmt: skip
        self.nodes.append(node)
        _wait(lambda: self.node_count() > before, 90, f"a worker node to join ({self.folder})")
        return node

    def node_count(self) -> int:
        done = subprocess.run([sys.executable, "-c", _COUNT, self.address], capture_output=True, text=True,
                              env=self.env, timeout=60)  # fmt: skip
        try:
            return int(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return 0

    @staticmethod
    def kill(node: subprocess.Popen[bytes]) -> None:
        """``kill -9`` a node and every process it started: a machine lost."""
        os.killpg(node.pid, signal.SIGKILL)
        node.wait()


_COUNT = """
import sys, ray
ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
print(sum(1 for n in ray.nodes() if n["Alive"]))
"""


def _wait(check: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(1.0)
    raise TimeoutError(f"waited {seconds:.0f} s for {what}")


@contextmanager
def ray_cluster(head_cpus: int = 1) -> Iterator[Cluster]:
    """A head node on loopback (``head_cpus`` for tasks); stopped, with its workers, afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="mray-", dir="/tmp"))  # Ray's socket paths must stay short
    port, client = _free_port(), _free_port()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": str(folder)}
    cluster = Cluster(f"127.0.0.1:{port}", f"ray://127.0.0.1:{client}", folder, env)
    log = open(folder / "head.log", "ab")  # noqa: SIM115 (the node's whole life)
    head = subprocess.Popen([str(RAY), "start", "--head", "--node-ip-address", "127.0.0.1", f"--port={port}",
                             f"--num-cpus={head_cpus}", "--include-dashboard=false", "--disable-usage-stats",
                             f"--ray-client-server-port={client}",
                             f"--temp-dir={folder / 'ray'}", f"--system-config={SYSTEM_CONFIG}", "--block"],
                            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)  # fmt: skip
    cluster.nodes.append(head)
    try:
        _wait(lambda: cluster.node_count() >= 1, 90, f"the Ray head to start (log: {folder / 'head.log'})")
        yield cluster
    finally:
        for node in reversed(cluster.nodes):
            if node.poll() is None:
                os.killpg(node.pid, signal.SIGTERM)
        for node in cluster.nodes:
            try:
                node.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(node.pid, signal.SIGKILL)
                node.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
