"""Through the command line (issue 16): a full disk and a read-only register end in a clear bilingual message and a
documented exit code, never a traceback, and lose nothing confirmed before; a table changed behind the ledger is
named by `tracker ledger verify` as (carrier, field, ledger says, table says).

The full disk is SQLite's `max_page_count`, set on every SQLite connection the command opens (a pool hook of
SQLAlchemy's, so the real `tracker` code path runs unchanged); read-only is SQLite's `mode=ro` URI (the suite may run
as root, for whom file modes refuse nothing). The same faults at the counter are in test_storage.py.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.pool import Pool
from tests_support import CLI_REGISTER, invoke, use_cli_demo

from tracker.demo import badge, place
from tracker.ledger import verify
from tracker.store import Store

SHELF = place("BJ", "R2C1S1")


@pytest.fixture
def env(cli_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return use_cli_demo(cli_demo, tmp_path, monkeypatch, TRACKER_OPERATOR=badge("clerk"), TRACKER_PIN="482916")


def _titles(path: Path, prefix: str) -> set[str]:
    with sqlite3.connect(path) as db:
        return {str(t) for (t,) in db.execute("SELECT title FROM carriers WHERE title LIKE ?", (prefix + "%",))}


def _verified(path: Path) -> bool:
    store = Store(f"sqlite:///{path}")
    try:
        with store.engine.connect() as conn:
            return verify(conn).ok
    finally:
        store.dispose()


@pytest.fixture
def capped(tmp_path: Path, env: dict[str, str]) -> Iterator[None]:
    """Every SQLite connection opened from now on may grow the register by 30 pages at most."""
    with sqlite3.connect(tmp_path / CLI_REGISTER) as db:
        limit = int(db.execute("PRAGMA page_count").fetchone()[0]) + 30

    def cap(dbapi_conn: Any, _record: Any) -> None:
        if isinstance(dbapi_conn, sqlite3.Connection):
            dbapi_conn.execute(f"PRAGMA max_page_count = {limit}")

    event.listen(Pool, "connect", cap)
    yield
    event.remove(Pool, "connect", cap)


@pytest.mark.usefixtures("capped")
def test_a_full_disk_is_a_clear_message_and_loses_no_confirmed_import(tmp_path: Path) -> None:
    confirmed: set[str] = set()
    rc, out = 0, ""
    for batch in range(60):
        rows = [f"full {batch}-{i}" for i in range(25)]
        (tmp_path / "batch.csv").write_text("classification,location,title\n" + "".join(
            f"internal,{SHELF},{t}\n" for t in rows), encoding="utf-8")
        rc, out = invoke("carrier", "import", "batch.csv")
        if rc != 0:
            break
        confirmed |= set(rows)
    assert confirmed, "the first import already failed"
    assert rc == 2 and "disk is full" in out and "nothing confirmed before is lost" in out, out
    assert "Traceback" not in out
    rc, out = invoke("--lang", "zh", "carrier", "import", "batch.csv")
    assert rc == 2 and "磁盘已满" in out and "Traceback" not in out, out
    assert _titles(tmp_path / CLI_REGISTER, "full ") == confirmed
    assert _verified(tmp_path / CLI_REGISTER)


def test_a_read_only_register_is_a_clear_message_and_changes_nothing(env: dict[str, str], tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / CLI_REGISTER
    (tmp_path / "one.csv").write_text(f"classification,location,title\ninternal,{SHELF},ro 1\n", encoding="utf-8")
    with sqlite3.connect(path) as db:
        before = db.execute("SELECT max(seq) FROM events").fetchone()[0]
    monkeypatch.setenv("TRACKER_DATABASE_URL", f"sqlite:///file:{path}?mode=ro&uri=true")
    rc, out = invoke("carrier", "find", "BJ-", "--limit", "1")
    assert rc == 0, out  # reading still works
    rc, out = invoke("carrier", "import", "one.csv")
    assert rc == 2 and "read-only" in out and "nothing confirmed before is lost" in out, out
    assert "Traceback" not in out
    rc, out = invoke("--lang", "zh", "ledger", "seal", TRACKER_OPERATOR=badge("officer"))
    assert rc == 2 and "只读" in out and "Traceback" not in out, out
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT max(seq) FROM events").fetchone()[0] == before
    assert _titles(path, "ro ") == set()


def test_ledger_verify_names_an_update_made_behind_the_ledger(env: dict[str, str], tmp_path: Path) -> None:
    rc, out = invoke("ledger", "verify")
    assert rc == 0 and "tables match" in out, out
    with sqlite3.connect(tmp_path / CLI_REGISTER) as db:
        code, level = db.execute("SELECT code, classification FROM carriers WHERE status = 'in_store' "
                                 "AND classification = 'secret' ORDER BY code LIMIT 1").fetchone()
        db.execute("UPDATE carriers SET status = 'destroyed' WHERE code = ?", (code,))
        other = db.execute("SELECT code FROM carriers WHERE status = 'in_store' AND classification = 'secret' "
                           "ORDER BY code LIMIT 1").fetchone()[0]
        db.execute("UPDATE carriers SET classification = 'unclassified' WHERE code = ?", (other,))
    rc, out = invoke("ledger", "verify")
    assert rc == 3, out
    flat = " ".join(out.split())
    assert f"{code}: status — ledger says in_store, table says destroyed" in flat, out
    assert f"{other}: level — ledger says {level}, table says unclassified" in flat, out
    rc, out = invoke("--lang", "zh", "ledger", "verify")
    assert rc == 3 and "台账为 in_store，数据表为 destroyed" in " ".join(out.split()), out
    rc, out = invoke("ledger", "verify", "--json")
    assert rc == 3 and [code, "status", "in_store", "destroyed"] in json.loads(out)["differences"]


def test_backup_and_restore_through_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    rc, out = invoke("backup", "copy.bak")
    assert rc == 0 and "Backup written to" in out and "verified" in out, out
    assert (tmp_path / "copy.bak").stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(tmp_path / "copy.bak") as db:
        seq, digest = db.execute("SELECT seq, hash FROM chain_head").fetchone()
    (tmp_path / "forged.bak").write_bytes((tmp_path / "copy.bak").read_bytes())
    with sqlite3.connect(tmp_path / "forged.bak") as db:
        code = db.execute("SELECT code FROM carriers WHERE status = 'in_store' ORDER BY code LIMIT 1").fetchone()[0]
        db.execute("UPDATE carriers SET status = 'destroyed' WHERE code = ?", (code,))
    assert invoke("ledger", "seal", TRACKER_OPERATOR=badge("officer"))[0] == 0  # the register moves on after the copy
    with sqlite3.connect(tmp_path / CLI_REGISTER) as db:
        head = db.execute("SELECT seq FROM chain_head").fetchone()[0]
    assert head > seq
    rc, out = invoke("restore", "copy.bak")  # a clerk: restoring is the security officer's
    assert rc == 3, out
    rc, out = invoke("restore", "forged.bak", TRACKER_OPERATOR=badge("officer"))
    assert rc == 3 and "nothing was replaced" in out and f"{code}: status — ledger says in_store" in out, out
    rc, out = invoke("restore", "copy.bak", "--anchor", f"{seq}:{'0' * 64}", TRACKER_OPERATOR=badge("officer"))
    assert rc == 3 and f"sealed anchor {seq}:{'0' * 64}" in " ".join(out.split()), out  # sealed at that head too
    with sqlite3.connect(tmp_path / CLI_REGISTER) as db:
        assert db.execute("SELECT seq FROM chain_head").fetchone()[0] == head  # still the register as it was
    rc, out = invoke("restore", "copy.bak", "--anchor", f"{seq}:{digest}", TRACKER_OPERATOR=badge("officer"))
    assert rc == 0, out
    flat = " ".join(out.split())
    assert "Register restored from copy.bak:" in flat and str(tmp_path / CLI_REGISTER) in flat, out
    with sqlite3.connect(tmp_path / CLI_REGISTER) as db:
        assert db.execute("SELECT seq FROM chain_head").fetchone()[0] == seq
    assert _verified(tmp_path / CLI_REGISTER)


def test_a_register_other_users_can_read_is_reported_by_every_command(env: dict[str, str], tmp_path: Path) -> None:
    rc, out = invoke("status")
    assert rc == 0 and "other users" not in out
    (tmp_path / CLI_REGISTER).chmod(0o644)
    rc, out = invoke("status")
    assert rc == 0 and "open to other users (mode 644)" in out and f"chmod 600 {tmp_path / CLI_REGISTER}" in out, out
    rc, out = invoke("--lang", "zh", "status")
    assert "对其他用户开放（权限 644）" in out, out
