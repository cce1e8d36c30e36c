"""A real PostgreSQL server on loopback in a temporary folder, for the tests and the
benchmarks (Debian's server, as scripts/setup.sh installs it; started as its ``postgres``
user when run as root, since initdb refuses root)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@contextmanager
def local_postgres(options: str = "") -> Iterator[str | None]:
    """Start the server (``options``: more ``-c name=value`` settings); yields a URL to its
    ``postgres`` database, or None when the server is not installed; stops it afterwards."""
    bin_dir = pg_bin()
    if bin_dir is None:
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="moviola-pg-"))  # not under pytest's private folder
    data = folder / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        import pwd

        pw = pwd.getpwnam("postgres")
        os.chown(folder, pw.pw_uid, pw.pw_gid)
        as_user = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    try:
        subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", "moviola", "--auth=trust",
                        "-E", "UTF8"], check=True, capture_output=True, env=env)  # fmt: skip
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w",
                        "-o", f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off {options}".strip(), "start"],
                       check=True, capture_output=True, env=env)  # fmt: skip
        yield f"postgresql://moviola@127.0.0.1:{port}/postgres"
    finally:
        if data.exists():
            subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                           capture_output=True, env=env)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)
