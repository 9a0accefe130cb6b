"""A bulk write on SQLite leaves its WAL checkpoint to the store's background checkpointer: the commit returns once
the WAL is synced, the pages reach the database file afterwards, and the connection goes back to checkpointing
inline. Checked on a real database file by its size on disk, not by asking our own objects."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from tracker.store import AUTOCHECKPOINT_PAGES, Store, attach_for_transaction

ROWS, BLOB = 2_000, 4_000  # about 2,000 pages: twice the inline checkpoint's threshold


def _file(store: Store) -> Path:
    return Path(str(store.engine.url.database))


def _bulk_write(store: Store, defer: bool, fail: bool = False) -> object:
    """Writes ~8 MB in one unit of work; returns the driver connection it ran on."""
    with store.uow() as uow:
        if defer:
            uow.defer_checkpoint()
        uow.session.execute(text("CREATE TABLE IF NOT EXISTS scratch (b BLOB)"))
        uow.session.execute(text("INSERT INTO scratch VALUES (randomblob(:n))"), [{"n": BLOB}] * ROWS)
        dbapi = uow.session.connection().connection.driver_connection
        if fail:
            raise RuntimeError("the write fails before its commit")
        uow.commit()
    return dbapi


def _autocheckpoint(dbapi: object) -> int:
    return int(dbapi.execute("PRAGMA wal_autocheckpoint").fetchone()[0])  # type: ignore[attr-defined]


def test_a_deferred_bulk_write_reaches_the_file_only_through_the_checkpointer(sqlite_store: Store) -> None:
    checkpointer = sqlite_store.checkpointer
    assert checkpointer is not None
    before = _file(sqlite_store).stat().st_size
    with checkpointer.hold():
        dbapi = _bulk_write(sqlite_store, defer=True)
        assert _file(sqlite_store).stat().st_size == before  # committed, but only in the WAL
        assert os.path.getsize(f"{_file(sqlite_store)}-wal") > ROWS * BLOB
        with sqlite_store.engine.connect() as conn:  # and readable from it
            assert conn.execute(text("SELECT count(*) FROM scratch")).scalar_one() == ROWS
        assert _autocheckpoint(dbapi) == AUTOCHECKPOINT_PAGES  # the pooled connection checkpoints inline again
        assert checkpointer.runs == 0
    checkpointer.wait()
    assert checkpointer.runs == 1
    assert checkpointer.last is not None
    busy, frames, done = checkpointer.last
    assert (busy, done) == (0, frames) and frames > ROWS
    assert _file(sqlite_store).stat().st_size >= before + ROWS * BLOB


def test_without_deferral_the_commit_checkpoints_inline(sqlite_store: Store) -> None:
    before = _file(sqlite_store).stat().st_size
    _bulk_write(sqlite_store, defer=False)
    assert _file(sqlite_store).stat().st_size >= before + ROWS * BLOB
    assert sqlite_store.checkpointer is not None and sqlite_store.checkpointer.runs == 0


def test_a_failed_bulk_write_still_gives_its_connection_back_checkpointing_inline(sqlite_store: Store) -> None:
    with pytest.raises(RuntimeError):
        _bulk_write(sqlite_store, defer=True, fail=True)
    with sqlite_store.engine.connect() as conn:
        dbapi = conn.connection.driver_connection
        assert _autocheckpoint(dbapi) == AUTOCHECKPOINT_PAGES
        assert conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 'scratch'")).scalar_one() == 0


def test_dispose_waits_for_the_asked_checkpoint(sqlite_store: Store) -> None:
    checkpointer = sqlite_store.checkpointer
    assert checkpointer is not None
    before = _file(sqlite_store).stat().st_size
    done = threading.Event()
    with checkpointer.hold():
        _bulk_write(sqlite_store, defer=True)
        closing = threading.Thread(target=lambda: (sqlite_store.dispose(), done.set()))
        closing.start()
        assert not done.wait(0.3)  # held: dispose is waiting for the checkpoint
    closing.join(30)
    assert done.is_set() and checkpointer.runs == 1
    assert _file(sqlite_store).stat().st_size >= before + ROWS * BLOB


def test_the_store_keeps_working_after_dispose(sqlite_store: Store) -> None:
    """A disposed store is still usable (the CLI and the TUI dispose and go on): the next deferred write starts a
    new checkpointer thread."""
    sqlite_store.dispose()
    before = _file(sqlite_store).stat().st_size
    _bulk_write(sqlite_store, defer=True)
    assert sqlite_store.checkpointer is not None
    sqlite_store.checkpointer.wait()
    assert sqlite_store.checkpointer.runs == 1
    assert _file(sqlite_store).stat().st_size >= before + ROWS * BLOB


def test_postgresql_has_no_checkpointer_and_deferral_changes_nothing(store: Store) -> None:
    if store.dialect == "sqlite":
        assert store.checkpointer is not None
        return
    assert store.checkpointer is None
    with store.uow() as uow:
        uow.defer_checkpoint()
        uow.session.execute(text("CREATE TEMPORARY TABLE scratch (b INTEGER)"))
        uow.commit()


@pytest.mark.parametrize("fail", [False, True])
def test_a_database_attached_for_a_transaction_is_detached_when_its_connection_returns(tmp_path: Path,
                                                                                      fail: bool) -> None:
    """A reconciliation attaches its workers' in-memory databases; SQLite refuses to detach them before the
    transaction ends, so the pool does it at check-in, after a commit or a rollback alike (left attached, they would
    hold their memory and, ten reconciliations later, refuse the next ATTACH)."""
    store = Store(f"sqlite:///{tmp_path / 'r.sqlite'}")
    with pytest.raises(RuntimeError) if fail else contextlib.nullcontext(), store.uow() as uow:
        attach_for_transaction(uow.session, "rc_test", "file:/tracker-rc_test?vfs=memdb")
        uow.session.execute(text("CREATE TABLE rc_test.t (x INTEGER)"))
        uow.session.execute(text("INSERT INTO rc_test.t VALUES (7)"))
        assert uow.session.execute(text("SELECT x FROM rc_test.t")).scalar_one() == 7
        dbapi = uow.session.connection().connection.driver_connection
        if fail:
            raise RuntimeError("the reconciliation fails")
        uow.commit()
    assert [row[1] for row in dbapi.execute("PRAGMA database_list")] == ["main"]
    assert not list(tmp_path.glob("*memdb*"))  # a URI name, not a file
    store.dispose()
