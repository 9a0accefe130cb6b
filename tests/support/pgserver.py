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


@dataclass
class Pair:
    """A primary with one synchronous streaming standby (the multi-site deployment of docs/deployment.md): a commit
    returns only once the standby has the transaction, so every act confirmed to a clerk survives losing the
    primary."""

    primary: PgServer
    standby: PgServer

    def url(self, db: str) -> str:
        """One URL naming both servers: libpq tries them in order and keeps the one that accepts writes."""
        return (f"postgresql+psycopg://postgres@/{db}?host=127.0.0.1:{self.primary.port}"
                f"&host=127.0.0.1:{self.standby.port}&target_session_attrs=read-write&connect_timeout=3")

    def kill_primary(self) -> None:
        """What losing the primary's machine does: the postmaster and its backends die at once, nothing flushed."""
        subprocess.run([*self.primary.as_user, f"{self.primary.bindir}/pg_ctl", "-D", self.primary.datadir, "-m",
                        "immediate", "stop"], capture_output=True, check=True)

    def promote(self) -> None:
        self.standby.run(f"{self.standby.bindir}/pg_ctl", "-D", self.standby.datadir, "-w", "-t", "60", "promote")

    def stop(self) -> None:
        self.standby.stop()
        self.primary.stop()


def start_pair() -> Pair:
    """The primary (WAL for one synchronous standby named `standby1`) and its standby, cloned with `pg_basebackup -R`
    (streaming from the primary, `standby.signal` written). The settings are given on the command line, not in the
    data directory, so the clone does not inherit the primary's `synchronous_standby_names`: after a promotion it
    commits alone instead of waiting for a standby that no longer exists."""
    bindir = find_bindir()
    if bindir is None or not os.path.exists(f"{bindir}/pg_basebackup"):
        raise FileNotFoundError("PostgreSQL server binaries (with pg_basebackup) not installed")
    root = tempfile.mkdtemp(prefix="tracker-pg-pair-")
    os.chmod(root, 0o755)
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(root, "postgres")
    primary = PgServer(bindir, os.path.join(root, "primary"), _free_port(), as_user)
    standby = PgServer(bindir, os.path.join(root, "standby"), _free_port(), as_user)
    for s in (primary, standby):
        os.makedirs(s.root, mode=0o700)
        if as_user:
            shutil.chown(s.root, "postgres")
    primary.run(f"{bindir}/initdb", "-D", primary.datadir, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                "--no-sync")
    common = "-c listen_addresses=127.0.0.1 -c max_connections=60 -c fsync=off -c wal_level=replica " \
             "-c max_wal_senders=4 -c hot_standby=on"
    primary.run(f"{bindir}/pg_ctl", "-D", primary.datadir, "-w", "-t", "60", "-l", os.path.join(primary.root, "log"),
                "-o", f"-p {primary.port} -k {primary.root} {common} -c synchronous_commit=on "
                      "-c synchronous_standby_names=standby1", "start")
    try:
        primary.run(f"{bindir}/pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres", "-D",
                    standby.datadir, "-R", "-X", "stream", "--no-sync")
        standby.run(f"{bindir}/pg_ctl", "-D", standby.datadir, "-w", "-t", "60", "-l",
                    os.path.join(standby.root, "log"), "-o",
                    f"-p {standby.port} -k {standby.root} {common} -c cluster_name=standby1", "start")
    except BaseException:
        primary.stop()
        standby.stop()
        raise
    return Pair(primary, standby)
