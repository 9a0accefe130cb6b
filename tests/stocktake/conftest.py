"""A small register where the right stock-take answer is known, built through the real services.

Scope: cabinet 1 of the Beijing archive room (shelves S1–S3). Outside it: cabinet 2 and the 绝密 safe. Carriers on
loan to 吴强 (技术处) belong to the scope through the session's units.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from labels.codes import carrier_code_to_epc, make_carrier_code
from tracker import stocktake as st
from tracker.demo import DEMO_PIN, PEOPLE, badge, place, seed_people_and_places
from tracker.services import approvals, circulation, destruction, incidents, registry
from tracker.services.common import Signed, authenticate
from tracker.store import Store

S1, S2, S3 = place("BJ", "R2C1S1"), place("BJ", "R2C1S2"), place("BJ", "R2C1S3")
CAB1, C2S1, SAFE, ROOM1 = place("BJ", "R2C1"), place("BJ", "R2C2S1"), place("BJ", "R1SAFE1"), place("BJ", "R1")
UNKNOWN = make_carrier_code("BJ", 999999)
BUILT_AT = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # the suite's clock (tests/conftest.py)


@dataclass
class World:
    store: Store
    sig: dict[str, Signed]
    codes: dict[str, str] = field(default_factory=dict)

    def c(self, name: str) -> str:
        return self.codes[name]

    def epc(self, name: str) -> str:
        return carrier_code_to_epc(self.codes[name])

    def start(self, roots: list[str] | None = None, team: tuple[str, ...] = ("officer", "clerk"),
              units: list[str] | None = None, **kw: object) -> int:
        return st.start(self.store.uow(), self.sig["officer"], "Q4 2026", roots or [CAB1],
                        [self.sig[t] for t in team], units=["技术处"] if units is None else units, **kw)  # type: ignore[arg-type]

    def upload(self, sid: int, lines: list[str], device: str = "HH1", batch: str | None = None) -> st.IngestResult:
        up = st.parse_upload("\n".join(lines), device=device, batch=batch)
        return st.ingest(self.store.uow(), self.sig["clerk"], sid, up.reads)

    def reconcile(self, sid: int) -> dict[str, set[str]]:
        st.reconcile(self.store.uow(), self.sig["clerk"], sid)
        return kinds(self.store, sid)

    def findings(self, sid: int) -> list[st.FindingView]:
        return st.findings(self.store.uow(readonly=True), sid)


def kinds(store: Store, sid: int) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in st.findings(store.uow(readonly=True), sid):
        if not f.settled:
            out.setdefault(f.kind.value, set()).add(f.subject)
    return out


def build_world(store: Store) -> World:
    sig = seed_people_and_places(store)
    w = World(store, sig)
    plain = [("a1", S1), ("a2", S1), ("b1", S2), ("b2", S2), ("c1", S3), ("out1", C2S1), ("loan1", S1),
             ("loan2", S1), ("loan3", S1), ("gone1", S2), ("lost1", S1)]
    codes = registry.import_rows(store.uow(), sig["clerk"], [
        registry.CarrierInput(location=loc, classification="internal", title=name) for name, loc in plain])
    w.codes.update(dict(zip([n for n, _ in plain], codes, strict=True)))
    w.codes["ts1"] = registry.register(store.uow(), sig["clerk"], registry.CarrierInput(
        location=SAFE, classification="top_secret", period="long", scope="办公室", copy_number=1, copy_total=1,
        title="ts1"))
    for name in ("loan1", "loan2", "loan3"):
        circulation.check_out(store.uow(), sig["clerk"], w.c(name), sig["reader_core"])
    incidents.report_missing(store.uow(), sig["clerk"], w.c("lost1"), note="lost before the stock-take")
    _destroy(store, sig, w.c("gone1"))  # through the destruction workflow: the register says it was destroyed
    for name in ("a1", "b1", "ts1"):
        registry.set_epc(store.uow(), sig["clerk"], w.c(name), w.epc(name), None)
    return w


def _destroy(store: Store, sig: dict[str, Signed], code: str) -> None:
    """A one-carrier batch, approved, scanned at the site and completed under two supervisors (issue 18)."""
    batch = destruction.new(store.uow(), sig["clerk"], "stock-take world")
    destruction.add(store.uow(), sig["clerk"], batch, [code])
    number = destruction.submit(store.uow(), sig["clerk"], batch, store.clock() + timedelta(days=1))
    approvals.decide(store.uow(), sig["approver"], number, True)
    destruction.scan(store.uow(), sig["clerk"], batch, [code])
    destruction.complete(store.uow(), sig["clerk2"], batch, [sig["officer"], sig["auditor"]], {"*": "shredding"},
                         store.policy.destruction_sites[0])


# The world is built once per test process and database, then copied for each test (a file copy on SQLite, a
# template database on PostgreSQL): building it through the services takes longer than most tests themselves.


@pytest.fixture(scope="session")
def _sqlite_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("world") / "register.sqlite"
    store = Store(f"sqlite:///{path}", terminal="test-terminal", clock=lambda: BUILT_AT)
    store.ensure_schema()
    codes = build_world(store).codes
    store.dispose()  # the last connection checkpoints the WAL into the file
    return path, codes


@pytest.fixture(scope="session")
def _pg_world(pg_server: Any) -> tuple[str, dict[str, str]]:
    name = f"st_world_{os.getpid()}"
    admin = create_engine(pg_server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE tracker_template'))
    store = Store(pg_server.url(name), terminal="test-terminal", clock=lambda: BUILT_AT)
    codes = build_world(store).codes
    store.dispose()
    admin.dispose()
    return name, codes


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest, tmp_path: Path, clock: Callable[[], datetime]) -> Iterator[World]:
    """A copy of the world on each database, everyone signed in afresh (PIN 482916)."""
    drop: Callable[[], None] | None = None
    if request.param == "sqlite":
        template, codes = request.getfixturevalue("_sqlite_world")
        shutil.copy(template, tmp_path / "register.sqlite")
        url = f"sqlite:///{tmp_path / 'register.sqlite'}"
    else:
        server = request.getfixturevalue("pg_server")
        template_name, codes = request.getfixturevalue("_pg_world")
        name = f"st_{os.getpid()}_{next(_numbers)}"
        admin = create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
        url = server.url(name)

        def drop() -> None:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

    store = Store(url, terminal="test-terminal", clock=clock)
    sig = {p.key: authenticate(store.uow(), badge(p.key), DEMO_PIN) for p in PEOPLE}
    yield World(store, sig, dict(codes))
    store.dispose()
    if drop is not None:
        drop()


_numbers = itertools.count(1)
