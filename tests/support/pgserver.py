"""A throw-away PostgreSQL server started from the installed binaries, for the test suite and the benchmarks.

Runs as the `postgres` account when we are root (initdb refuses root), listens on 127.0.0.1 on a free port, keeps
everything in a temporary directory and removes it on stop. Never touches a system cluster.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


def find_bindir() -> str | None:
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
    for d in reversed(dirs):
        if os.path.exists(f"{d}/pg_ctl"):
            return d
    found = shutil.which("pg_ctl")
    return os.path.dirname(found) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    bindir: str
    root: str
    port: int
    as_user: list[str]

    @property
    def datadir(self) -> str:
        return os.path.join(self.root, "data")

    def url(self, db: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True)

    def stop(self) -> None:
        subprocess.run([*self.as_user, f"{self.bindir}/pg_ctl", "-D", self.datadir, "-m", "immediate", "stop"],
                       capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def start_server(durable: bool = False) -> PgServer:
    """`durable=False` turns fsync off (tests); benchmarks keep it on to compare honestly with SQLite FULL sync."""
    bindir = find_bindir()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL server binaries not installed (Debian package 'postgresql')")
    root = tempfile.mkdtemp(prefix="tracker-pg-")
    os.chmod(root, 0o755)
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    server = PgServer(bindir, root, _free_port(), as_user)
    server.run(f"{bindir}/initdb", "-D", server.datadir, "-U", "postgres", "--auth=trust", "-E", "UTF8",
               "--no-sync")
    opts = f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=100"
    if not durable:
        opts += " -c fsync=off -c synchronous_commit=off"
    server.run(f"{bindir}/pg_ctl", "-D", server.datadir, "-w", "-t", "60", "-l", os.path.join(root, "log"), "-o",
               opts, "start")
    return server


@contextmanager
def running_server(durable: bool = False) -> Iterator[PgServer]:
    server = start_server(durable)
    try:
        yield server
    finally:
        server.stop()
