"""Shared fixtures: a register on SQLite and on a real PostgreSQL server started from the installed binaries.

The PostgreSQL server is started once per test process (each xdist worker has its own) in a throw-away directory; each
test gets a fresh database cloned from a migrated template. Where no PostgreSQL binaries exist the PostgreSQL cases are
skipped with a clear message — except in CI (CI=true), where that skip is a failure.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import suite_time
from pgserver import PgServer, find_bindir, running_server
from sqlalchemy import create_engine, text
from tests_support import Clock

from tracker.rules import Policy
from tracker.services.common import Signed, configure_hasher
from tracker.store import Store

# PIN hashing at full cost would dominate the suite; the algorithm and code path stay the same.
configure_hasher(1, 8)

# Every register this run touches is judged on the suite's calendar, in this process and in every Python process
# a test starts (the `tracker` command, racing terminals, importers), never on the machine's (support/suite_time.py).
suite_time.install()


@pytest.fixture(autouse=True)
def _counter_language_back_to_english() -> Iterator[None]:
    """The counter's language is one per process (`tui.i18n`): a test that opened the app in Chinese must not leave
    the next test in the same worker reading Chinese (tests/tui/test_walk.py's Chinese walk left
    tests/integration/test_unknown_tags.py failing whenever a worker ran the two in that order)."""
    yield
    i18n = sys.modules.get("tui.i18n")
    if i18n is not None and i18n.language() != "en":
        i18n.set_language("en")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    if find_bindir() is None:
        msg = "PostgreSQL server binaries not installed (Debian package 'postgresql'); PostgreSQL tests skipped"
        if os.environ.get("CI") == "true":
            pytest.fail(msg + " — not allowed in CI", pytrace=False)
        pytest.skip(msg)
    with running_server() as server:
        engine = create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as c:
            c.execute(text("CREATE DATABASE tracker_template"))
            c.execute(text("CREATE DATABASE tracker_seeded"))
        engine.dispose()
        tmpl = Store(server.url("tracker_template"))
        tmpl.upgrade()
        tmpl.dispose()
        _seed(server.url("tracker_seeded"))
        yield server


_counter = iter(range(1, 10**9))


def _seed(url: str) -> None:
    """The demo's people and places, made once through the real services, then cloned for each test."""
    from tracker.demo import seed_people_and_places

    s = Store(url)
    s.ensure_schema()
    seed_people_and_places(s)
    s.dispose()


def _wants_people(request: pytest.FixtureRequest) -> bool:
    return "people" in request.fixturenames


@pytest.fixture(scope="session")
def seeded_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("seeded") / "register.sqlite"
    _seed(f"sqlite:///{path}")
    return path


@pytest.fixture
def pg_url(pg_server: PgServer, request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"t{os.getpid()}_{next(_counter)}_{int(time.time() * 1000) % 100000}"
    template = "tracker_seeded" if _wants_people(request) else "tracker_template"
    engine = create_engine(pg_server.url("postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE {template}'))
    yield pg_server.url(name)
    with engine.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def pg_roles(pg_server: PgServer) -> Iterator[tuple[str, str]]:
    """A register set up as docs/security.md says: a database owned by an owner role (not a superuser) that ran the
    migrations, and an application role made by `grant_app_role`; yields (owner URL, application URL)."""
    from sqlalchemy.engine import make_url

    from tracker.store import grant_app_role

    name = f"r{os.getpid()}_{next(_counter)}"
    owner, app = f"{name}_owner", f"{name}_app"
    admin = create_engine(pg_server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE ROLE "{owner}" LOGIN CREATEROLE'))
        c.execute(text(f'CREATE DATABASE "{name}" OWNER "{owner}" TEMPLATE template0'))
    base = make_url(pg_server.url(name))
    owner_url = base.set(username=owner).render_as_string(hide_password=False)
    s = Store(owner_url)
    s.upgrade()
    s.dispose()
    grant_app_role(owner_url, app, "app-secret")
    yield owner_url, base.set(username=app, password="app-secret").render_as_string(hide_password=False)
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        c.execute(text(f'DROP ROLE IF EXISTS "{app}"'))
        c.execute(text(f'DROP ROLE IF EXISTS "{owner}"'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    target = tmp_path / "register.sqlite"
    if _wants_people(request):
        shutil.copyfile(request.getfixturevalue("seeded_sqlite"), target)
        target.chmod(0o600)  # private, as a register is made: a looser copy is reported by every command
    return f"sqlite:///{target}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def policy() -> Policy:
    # The shipped rules, but PINs hashed at the suite's cheap cost (a code override, as `configure_hasher` above;
    # the floor itself is tested in test_pin_hash_floor).
    return Policy(pin_hash_time_cost=1, pin_hash_memory_kib=8)


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
def people(clock: Clock) -> dict[str, Signed]:
    """The demo's thirteen people and location tree (cloned from a seeded template), everyone signed in (PIN 482916).

    Works with `store` (both databases) and `sqlite_store`. Sign-in itself is tested on its own
    (test_services.test_pin_lockout_after_five_wrong); here the signatures are made directly.
    """
    from tracker.demo import PEOPLE, badge

    return {p.key: Signed(badge(p.key), clock()) for p in PEOPLE}


@pytest.fixture
def sign(store: Store) -> Callable[[str], Signed]:
    from tracker.services.common import authenticate

    return lambda badge: authenticate(store.uow(), badge, "482916")


@pytest.fixture(scope="session")
def cli_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo register made through `tracker demo`, shared by the command-line tests of every package; each test
    works on its own copy (`tests_support.use_cli_demo`)."""
    from tests_support import make_cli_demo

    return make_cli_demo(tmp_path_factory.mktemp("cli-demo"))
