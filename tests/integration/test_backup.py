"""Backup while the counters write, and a restore that refuses a copy which does not verify (issue 16), on SQLite
(online backup API) and PostgreSQL (pg_dump / pg_restore from the suite's server binaries).

The consistency test backs up in the middle of a stream of check-outs and check-ins made by another terminal (its own
store, on a thread) and verifies every copy — chain and replay — in its own snapshot: a copy that caught a check-out
half-written (its event without its loan, or the reverse) would fail the replay.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from tests_support import Clock

from tracker.backup import BackupError, RestoreRefused, backup, exit_status, parse_anchor, restore
from tracker.demo import place
from tracker.domain import DomainError
from tracker.ledger import verify
from tracker.services import circulation, registry
from tracker.services.common import Signed
from tracker.store import Store

SHELF = place("BJ", "R2C1S1")


def _internal(store: Store, clerk: Signed, n: int) -> list[str]:
    return registry.import_rows(store.uow(), clerk, [registry.CarrierInput(
        location=SHELF, classification="internal", title=f"内部 {i}") for i in range(n)])


def _head(store: Store) -> tuple[int, str]:
    with store.engine.connect() as conn:
        seq, digest = conn.execute(text("SELECT seq, hash FROM chain_head")).one()
    return int(seq), str(digest)


def _counter(url: str, clock: Clock, people: dict[str, Signed], codes: list[str], stop: threading.Event,
             done: list[int]) -> None:
    """Another terminal: check-outs and check-ins, one after another, until told to stop."""
    store = Store(url, terminal="counter-2", clock=clock)
    try:
        i = 0
        while not stop.is_set():
            code = codes[i % len(codes)]
            circulation.check_out(store.uow(), people["clerk"], code, people["reader_core"])
            circulation.check_in(store.uow(), people["clerk"], code)
            done[0] += 2
            i += 1
    finally:
        store.dispose()


def test_backups_taken_while_a_counter_writes_each_verify(store: Store, people: dict[str, Signed], clock: Clock,
                                                          tmp_path: Path) -> None:
    codes = _internal(store, people["clerk"], 8)
    stop, done = threading.Event(), [0]
    writer = threading.Thread(target=_counter, args=(store.url, clock, people, codes, stop, done))
    writer.start()
    try:
        receipts = []
        for i in range(3):
            while done[0] < 6 * (i + 1) and writer.is_alive():  # some writes between copies
                stop.wait(0.01)
            receipts.append(backup(store.url, tmp_path / f"copy{i}.bak"))
    finally:
        stop.set()
        writer.join()
    assert done[0] >= 18
    heads = [r.head_seq for r in receipts]
    assert heads == sorted(heads) and len(set(heads)) == 3, heads  # three different moments of the stream
    for r in receipts:
        assert r.report.ok and r.report.replayed, r.report.message()
        assert Path(r.file).stat().st_mode & 0o777 == 0o600
        assert "verified" in r.message() and "已核验" in r.message("zh")
    with pytest.raises(BackupError, match="already exists"):
        backup(store.url, receipts[0].file)


def test_restore_puts_back_the_verified_copy(store: Store, people: dict[str, Signed], tmp_path: Path) -> None:
    codes = _internal(store, people["clerk"], 3)
    saved = backup(store.url, tmp_path / "r.bak")
    circulation.check_out(store.uow(), people["clerk"], codes[0], people["reader_core"])  # after the backup
    assert _head(store)[0] == saved.head_seq + 1
    restored = restore(saved.file, store.url, anchor=(saved.head_seq, saved.head_hash))
    assert (restored.head_seq, restored.head_hash) == (saved.head_seq, saved.head_hash)
    assert _head(store) == (saved.head_seq, saved.head_hash)  # the live store sees the restored register
    with store.engine.connect() as conn:
        assert verify(conn).ok
        status = conn.execute(text("SELECT status FROM carriers WHERE code = :c"), {"c": codes[0]}).scalar_one()
    assert status == "in_store"
    circulation.check_out(store.uow(), people["clerk"], codes[0], people["reader_core"])  # and works on
    assert "restored" in restored.message(restored=True)


def _tamper_sqlite_copy(file: str, sql: str) -> None:
    db = sqlite3.connect(file)
    db.executescript("DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete;" + sql)
    db.commit()
    db.close()


@pytest.mark.parametrize("forgery", [
    "UPDATE carriers SET status = 'destroyed'",
    "UPDATE events SET actor = 'someone else' WHERE seq = 3",
    "DELETE FROM events WHERE seq = (SELECT max(seq) FROM events)",
])
def test_restore_refuses_a_tampered_copy_and_changes_nothing(sqlite_store: Store, people: dict[str, Signed],
                                                             tmp_path: Path, forgery: str) -> None:
    store = sqlite_store
    _internal(store, people["clerk"], 3)
    saved = backup(store.url, tmp_path / "r.bak")
    _tamper_sqlite_copy(saved.file, forgery)
    _internal(store, people["clerk"], 1)
    before = _head(store)
    with pytest.raises(RestoreRefused) as refused:
        restore(saved.file, store.url)
    assert "does not verify; nothing was replaced" in refused.value.en and "未替换任何数据" in refused.value.zh
    assert _head(store) == before
    with store.engine.connect() as conn:
        assert verify(conn).ok
    assert not list(tmp_path.glob(".*restore*")) and not list(Path(store.url[10:]).parent.glob(".*restore*"))


def test_restore_refuses_a_copy_that_misses_the_anchor(store: Store, people: dict[str, Signed],
                                                       tmp_path: Path) -> None:
    _internal(store, people["clerk"], 2)
    saved = backup(store.url, tmp_path / "r.bak")
    _internal(store, people["clerk"], 1)
    before = _head(store)
    with pytest.raises(RestoreRefused, match="sealed anchor"):
        restore(saved.file, store.url, anchor=(saved.head_seq, "0" * 64))
    with pytest.raises(RestoreRefused, match="beyond the end of the chain"):
        restore(saved.file, store.url, anchor=before)  # a paper anchor taken after the copy was made
    assert _head(store) == before


def test_restore_refuses_what_is_not_a_register(sqlite_store: Store, tmp_path: Path) -> None:
    junk = tmp_path / "junk.bak"
    junk.write_bytes(b"not a database at all" * 100)
    before = _head(sqlite_store)
    with pytest.raises(RestoreRefused):
        restore(junk, sqlite_store.url)
    with pytest.raises(RestoreRefused) as junk_refused:
        restore(junk, sqlite_store.url)
    with pytest.raises(BackupError, match="no backup file") as missing:
        restore(tmp_path / "absent.bak", sqlite_store.url)
    with pytest.raises(BackupError, match="Cannot write") as unwritable:
        backup(sqlite_store.url, junk / "under-a-file.bak")
    assert "无法写入" in unwritable.value.zh
    assert [exit_status(e.value) for e in (junk_refused, missing, unwritable)] == [3, 4, 2]
    assert _head(sqlite_store) == before
    assert parse_anchor(f"12:{'A' * 64}") == (12, "a" * 64)
    with pytest.raises(DomainError):
        parse_anchor("12:xyz")


@pytest.mark.postgres
def test_pg_restore_refuses_a_dump_of_a_forged_register(pg_url: str, clock: Clock, tmp_path: Path) -> None:
    from tracker.demo import seed_people_and_places

    store = Store(pg_url, terminal="t", clock=clock)
    store.ensure_schema()
    people = seed_people_and_places(store)
    _internal(store, people["clerk"], 2)
    good = backup(pg_url, tmp_path / "good.dump")
    with store.engine.begin() as conn:  # forge the live register, then dump it
        conn.execute(text("UPDATE carriers SET classification = 'unclassified'"))
    forged = backup(pg_url, tmp_path / "forged.dump")
    assert good.report.ok and not forged.report.ok and forged.report.difference_count == 2
    assert exit_status(receipt=good) == 0 and exit_status(receipt=forged) == 3  # written, but says so
    with pytest.raises(RestoreRefused, match="level — ledger says internal, table says unclassified"):
        restore(forged.file, pg_url)
    restored = restore(good.file, pg_url)
    assert restored.report.ok and _head(store) == (good.head_seq, good.head_hash)
    with store.engine.connect() as conn:
        assert set(conn.execute(text("SELECT classification FROM carriers")).scalars()) == {"internal"}
    assert make_url(pg_url).database  # the register kept its name
    store.dispose()


def _rewrite_history(file: str, seq: int) -> None:
    """What someone with the file and time does: change event `seq`, recompute every hash after it, move the head,
    and delete the copy's own seals. The copy is then internally consistent."""
    from tracker.ledger import COLUMNS, GENESIS, event_hash

    db = sqlite3.connect(file)
    db.executescript("DROP TRIGGER IF EXISTS events_no_update; DELETE FROM seals;")
    db.execute("UPDATE events SET terminal = 'forged' WHERE seq = ?", (seq,))
    prev = db.execute("SELECT hash FROM events WHERE seq = ?", (seq - 1,)).fetchone()[0] if seq > 1 else GENESIS
    for row in db.execute(f"SELECT {', '.join(COLUMNS)} FROM events WHERE seq >= ? ORDER BY seq", (seq,)).fetchall():
        digest = event_hash([*row[:13], prev])
        db.execute("UPDATE events SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, digest, row[0]))
        prev = digest
    db.execute("UPDATE chain_head SET hash = ?", (prev,))
    db.commit()
    db.close()


def test_restore_holds_the_copy_to_the_registers_own_seals(sqlite_store: Store, people: dict[str, Signed],
                                                           tmp_path: Path) -> None:
    from tracker.services import seals

    store = sqlite_store
    _internal(store, people["clerk"], 2)
    sealed_seq, _digest = seals.seal(store.uow(), people["officer"])
    _internal(store, people["clerk"], 1)
    forged = backup(store.url, tmp_path / "forged.bak")
    _rewrite_history(forged.file, sealed_seq - 3)
    with sqlite3.connect(forged.file) as db:  # the forged copy verifies on its own
        assert db.execute("SELECT count(*) FROM seals").fetchone()[0] == 0
    assert restore(forged.file, f"sqlite:///{tmp_path / 'elsewhere.sqlite'}").report.ok
    before = _head(store)
    with pytest.raises(RestoreRefused, match=f"sealed anchor {sealed_seq}:"):
        restore(forged.file, store.url)  # but not over the register that sealed the head it rewrote
    assert _head(store) == before
    older = backup(store.url, tmp_path / "older.bak")
    _internal(store, people["clerk"], 1)
    seals.seal(store.uow(), people["officer"])  # sealed after the copy was made: the copy is simply older
    assert restore(older.file, store.url).head_seq == older.head_seq


def test_a_paper_anchor_is_held_even_where_the_register_sealed_the_same_head(store: Store, people: dict[str, Signed],
                                                                            tmp_path: Path) -> None:
    """A wrong `--anchor` at a head the register has also sealed was dropped in favour of the seal (one hash per
    sequence number), so the restore went ahead: both are now held against the copy."""
    from tracker.services import seals

    _internal(store, people["clerk"], 2)
    saved = backup(store.url, tmp_path / "r.bak")
    assert seals.seal(store.uow(), people["officer"])[0] == saved.head_seq  # the register seals the copy's head
    before = _head(store)
    with pytest.raises(RestoreRefused, match=f"sealed anchor {saved.head_seq}:{'0' * 64}"):
        restore(saved.file, store.url, anchor=(saved.head_seq, "0" * 64))
    assert _head(store) == before
    with store.engine.connect() as conn:
        assert not verify(conn, [(saved.head_seq, "0" * 64)]).ok
        assert not verify(conn, [(saved.head_seq, saved.head_hash), (saved.head_seq, "0" * 64)]).ok
        assert verify(conn, [(saved.head_seq, saved.head_hash)]).ok
    assert restore(saved.file, store.url, anchor=(saved.head_seq, saved.head_hash)).head_seq == saved.head_seq


def test_a_backup_of_a_server_that_is_not_there_is_a_clean_error(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="did not answer") as err:
        backup("postgresql://tracker:secret@127.0.0.1:1/register", tmp_path / "r.dump")
    assert "nothing was written" in err.value.en and "未写入任何文件" in err.value.zh
    assert "secret" not in err.value.en and exit_status(err.value) == 2
    assert list(tmp_path.iterdir()) == []
