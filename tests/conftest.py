"""Shared fixtures: a register on SQLite and on a real PostgreSQL server started from the installed binaries.

The PostgreSQL server is started once per test process (each xdist worker has its own) in a throw-away directory; each
test gets a fresh database cloned from a migrated template. Where no PostgreSQL binaries exist the PostgreSQL cases are
skipped with a clear message — except in CI (CI=true), where that skip is a failure.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tracker.rules import Policy
from tracker.services.common import Signed, configure_hasher
from tracker.store import Store

# PIN hashing at full cost would dominate the suite; the algorithm and code path stay the same.
configure_hasher(1, 8)


@dataclass
class Clock:
    """A settable clock for the register, so due times and approval windows are tested without sleeping."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 25, 2, 0, tzinfo=UTC))  # 10:00 in Beijing

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def _pg_bindir() -> str | None:
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
    datadir: str
    port: int
    as_user: list[str]

    def url(self, db: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bindir = _pg_bindir()
    if bindir is None:
        msg = "PostgreSQL server binaries not installed (Debian package 'postgresql'); PostgreSQL tests skipped"
        if os.environ.get("CI") == "true":
            pytest.fail(msg + " — not allowed in CI", pytrace=False)
        pytest.skip(msg)
    root = tempfile.mkdtemp(prefix="tracker-pg-")
    os.chmod(root, 0o755)
    datadir = os.path.join(root, "data")
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: use the postgres account the package creates
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    port = _free_port()
    server = PgServer(bindir, datadir, port, as_user)
    server.run(f"{bindir}/initdb", "-D", datadir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
    server.run(f"{bindir}/pg_ctl", "-D", datadir, "-w", "-t", "60", "-l", os.path.join(root, "log"), "-o",
               f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100", "start")
    try:
        engine = create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as c:
            c.execute(text("CREATE DATABASE tracker_template"))
        engine.dispose()
        tmpl = Store(server.url("tracker_template"))
        tmpl.upgrade()
        tmpl.dispose()
        yield server
    finally:
        subprocess.run([*as_user, f"{bindir}/pg_ctl", "-D", datadir, "-m", "immediate", "stop"],
                       capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)


_counter = iter(range(1, 10**9))


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    name = f"t{os.getpid()}_{next(_counter)}_{int(time.time() * 1000) % 100000}"
    engine = create_engine(pg_server.url("postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE tracker_template'))
    yield pg_server.url(name)
    with engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'register.sqlite'}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def policy() -> Policy:
    return Policy()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Parametrises a test over both databases."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(db_url: str, clock: Clock, policy: Policy) -> Iterator[Store]:
    s = Store(db_url, terminal="test-terminal", clock=clock, policy=policy)
    s.ensure_schema()
    yield s
    s.dispose()


@pytest.fixture
def sqlite_store(sqlite_url: str, clock: Clock, policy: Policy) -> Iterator[Store]:
    s = Store(sqlite_url, terminal="test-terminal", clock=clock, policy=policy)
    s.ensure_schema()
    yield s
    s.dispose()


@pytest.fixture
def people(store: Store) -> dict[str, Signed]:
    """The demo's twelve people and location tree, everyone signed in (PIN 1234)."""
    from tracker.demo import seed_people_and_places

    return seed_people_and_places(store)


@pytest.fixture
def sign(store: Store) -> Callable[[str], Signed]:
    from tracker.services.common import authenticate

    return lambda badge: authenticate(store.uow(), badge, "1234")
