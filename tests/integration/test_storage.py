"""The register's files are private, and a full disk or a read-only database is a clear bilingual fault that loses
nothing confirmed before (issue 16).

Permissions are checked under umask 000, the worst a careless service unit can hand us: what we create must still be
0600 / 0700, by our own doing and not by the umask's. The full disk is SQLite's `max_page_count` (per connection, so
only the store under test is limited); read-only is SQLite's `mode=ro` URI (the suite may run as root, for whom
file modes do not refuse writes) and PostgreSQL's `default_transaction_read_only`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from tests_support import Clock

from tracker.demo import place
from tracker.ledger import verify
from tracker.services import registry
from tracker.services.common import Signed
from tracker.store import RegisterFull, RegisterReadOnly, StorageFault, Store, make_private

SHELF = place("BJ", "R2C1S1")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    yield
    os.umask(old)


def _rows(n: int, title: str = "x") -> list[registry.CarrierInput]:
    return [registry.CarrierInput(location=SHELF, classification="confidential", period="10y", scope="法规处",
                                  title=f"{title} {i}") for i in range(n)]


@pytest.mark.usefixtures("open_umask")
def test_a_new_register_and_its_directory_are_private(tmp_path: Path) -> None:
    path = tmp_path / "var" / "register.sqlite"
    store = Store(f"sqlite:///{path}")
    store.ensure_schema()
    with store.engine.connect() as conn:  # hold a connection so the -wal and -shm files exist to be looked at
        conn.exec_driver_sql("SELECT count(*) FROM events").scalar_one()
        assert _mode(path.parent) == 0o700 and _mode(path) == 0o600
        assert _mode(Path(f"{path}-wal")) == 0o600 and _mode(Path(f"{path}-shm")) == 0o600
    assert store.warnings == []
    store.dispose()


def test_a_looser_existing_register_is_reported_at_open_and_can_be_tightened(tmp_path: Path) -> None:
    path = tmp_path / "shared" / "register.sqlite"
    Store(f"sqlite:///{path}").dispose()
    os.chmod(path, 0o644)
    os.chmod(path.parent, 0o777)
    store = Store(f"sqlite:///{path}")
    found = {(w.path, w.mode) for w in store.warnings}
    assert found == {(str(path), 0o644), (str(path.parent), 0o777)}
    file_warning = next(w for w in store.warnings if w.path == str(path))
    assert "open to other users (mode 644)" in file_warning.message() and f"chmod 600 {path}" in file_warning.en
    assert "对其他用户开放（权限 644）" in file_warning.message("zh")
    store.dispose()
    assert set(make_private(f"sqlite:///{path}")) >= {str(path), str(path.parent)}
    assert Store(f"sqlite:///{path}").warnings == []


def _limit_pages(store: Store, extra: int) -> None:
    """From now on every connection of this store may grow the file by `extra` pages at most."""
    with store.engine.connect() as conn:
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())
    store.engine.dispose()

    @event.listens_for(store.engine, "connect")
    def _cap(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages + extra}")


def test_a_full_disk_is_a_clear_fault_and_loses_nothing_confirmed(sqlite_store: Store,
                                                                   people: dict[str, Signed]) -> None:
    store = sqlite_store
    confirmed = registry.import_rows(store.uow(), people["clerk"], _rows(5, "before"))
    _limit_pages(store, 40)
    fault = None
    for round_ in range(100):
        try:
            confirmed += registry.import_rows(store.uow(), people["clerk"], _rows(50, f"round {round_}"))
        except StorageFault as e:
            fault = e
            break
    assert isinstance(fault, RegisterFull), "the capped register never filled up"
    assert "disk is full" in fault.message() and "磁盘已满" in fault.message("zh")
    store.dispose()
    fresh = Store(store.url, clock=store.clock)
    with fresh.engine.connect() as conn:
        codes = set(conn.exec_driver_sql("SELECT code FROM carriers").scalars())
        report = verify(conn)
    assert codes == set(confirmed) and report.ok, report.message()
    assert registry.import_rows(fresh.uow(), people["clerk"], _rows(1, "after"))  # room again: works again
    fresh.dispose()


def _read_only(url: str) -> Iterator[str]:
    """The same register, opened so that it refuses every write."""
    if url.startswith("sqlite"):
        yield f"sqlite:///file:{make_url(url).database}?mode=ro&uri=true"
        return
    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    yield url
    with admin.connect() as c:
        c.execute(text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only'))
    admin.dispose()


def test_a_read_only_register_is_a_clear_fault_and_changes_nothing(store: Store, people: dict[str, Signed],
                                                                   clock: Clock) -> None:
    before = registry.import_rows(store.uow(), people["clerk"], _rows(3))
    store.dispose()
    ro_urls = _read_only(store.url)
    ro = Store(next(ro_urls), terminal="ro", clock=clock)
    with pytest.raises(RegisterReadOnly) as err:
        registry.import_rows(ro.uow(), people["clerk"], _rows(1, "refused"))
    assert "read-only" in err.value.message() and "只读" in err.value.message("zh")
    with ro.uow(readonly=True) as uow:  # reading still works
        assert registry.count_carriers(uow) == len(before)
    ro.dispose()
    next(ro_urls, None)
    with store.engine.connect() as conn:
        assert set(conn.exec_driver_sql("SELECT code FROM carriers").scalars()) == set(before)
        assert verify(conn).ok


def test_the_counter_shows_the_read_only_fault_and_lends_nothing(sqlite_store: Store, people: dict[str, Signed],
                                                                  clock: Clock) -> None:
    """At the counter the fault is a red card saying what happened, not 'the database did not answer'."""
    from tracker.demo import badge
    from tui.desk import Desk, Scan, SignParty

    code = registry.import_rows(sqlite_store.uow(), people["clerk"], [registry.CarrierInput(
        location=SHELF, classification="internal", title="内部")])[0]
    sqlite_store.dispose()
    ro = Store(next(_read_only(sqlite_store.url)), terminal="counter", clock=clock)
    desk = Desk(ro, lambda: people["clerk"])
    out = desk.run(Scan(1, code)) + desk.run(Scan(2, badge("reader_important"))) + desk.run(SignParty("482916", row=2))
    fault = [f for f in out if f.tone == "error"]
    assert fault and "read-only" in fault[-1].title and "nothing confirmed before is lost" in fault[-1].title, out
    ro.dispose()
    with sqlite_store.engine.connect() as conn:
        status = conn.exec_driver_sql("SELECT status FROM carriers WHERE code = ?", (code,)).scalar_one()
    assert status == "in_store"


def test_the_counter_shows_the_full_disk_and_keeps_every_confirmed_check_out(sqlite_store: Store,
                                                                             people: dict[str, Signed]) -> None:
    """Check-outs at the counter until the disk is full: the one that did not fit is a red card saying so, and every
    check-out the counter confirmed (a green card) is in the register afterwards, which still verifies."""
    from tracker.demo import badge
    from tui.desk import Desk, Scan, SignParty

    store = sqlite_store
    codes = registry.import_rows(store.uow(), people["clerk"], [registry.CarrierInput(
        location=SHELF, classification="internal", title=f"内部 {i}") for i in range(150)])
    _limit_pages(store, 2)  # room for a few check-outs, not for all of them
    desk = Desk(store, lambda: people["clerk"])
    lent: list[str] = []
    fault = None
    for i, code in enumerate(codes):
        out = desk.run(Scan(3 * i + 1, badge("reader_core"))) + desk.run(SignParty("482916", row=3 * i + 1)) + \
            desk.run(Scan(3 * i + 2, code))
        errors = [f for f in out if f.tone == "error"]
        if errors:
            fault = errors[-1]
            break
        lent.append(code)
    assert fault is not None and lent, ("the counter never filled the disk", lent)
    assert "disk is full" in fault.title and "nothing confirmed before is lost" in fault.title, fault
    store.dispose()
    fresh = Store(store.url, clock=store.clock)
    with fresh.engine.connect() as conn:
        on_loan = set(conn.exec_driver_sql("SELECT code FROM carriers WHERE status = 'on_loan'").scalars())
        assert verify(conn).ok
    assert on_loan == set(lent)
    fresh.dispose()
