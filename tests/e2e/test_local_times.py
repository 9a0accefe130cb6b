"""Every time shown to a person is the unit's local time (the policy's zone), to the minute; JSON keeps ISO 8601.

The command line runs on the suite's fixed clock (`Clock`: 2026-11-25 10:00 in Beijing): the store it opens is given
the test's clock, exactly as the services' tests are, so nothing here depends on the wall clock. A loan due at 18:00
Beijing time is 10:00 UTC: every screen must say 18:00.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests_support import CLI_ENV, Clock, approve, invoke

import tracker.store
from tracker.demo import badge, place
from tracker.services import circulation, registry
from tracker.services.common import Signed
from tracker.store import Store

DUE_UTC = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # 18:00 in Beijing


@pytest.fixture
def overdue(sqlite_store: Store, people: dict[str, Signed], clock: Clock, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> str:
    """A 秘密 carrier lent at 10:00 local, due 18:00 local, and now (20:00 local) overdue; the CLI on the same clock."""
    code = registry.register(sqlite_store.uow(), people["clerk"], registry.CarrierInput(
        location=place("BJ", "R2C1S1"), classification="confidential", period="10y", scope="法规处"))
    a = approve(sqlite_store, people["approver"], "loan", code)
    circulation.check_out(sqlite_store.uow(), people["clerk"], code, people["reader_important"], DUE_UTC, a)
    clock.advance(hours=10)
    for k, v in {**CLI_ENV, "TRACKER_DATABASE_URL": sqlite_store.url}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tracker.store, "Store", functools.partial(Store, clock=clock))  # the CLI imports it on use
    return code


def test_a_loan_due_18_local_shows_18(overdue: str) -> None:
    code, out = invoke("carrier", "find", overdue)
    assert code == 0 and "2026-11-25 18:00" in out and "10:00" not in out
    code, out = invoke("alerts")
    assert code == 0 and "since 2026-11-25 18:00 UTC+08:00" in out, out
    code, out = invoke("carrier", "show", overdue)
    assert "2026-11-25 18:00 UTC+08:00" in out
    code, out = invoke("carrier", "show", overdue, "--json")
    assert datetime.fromisoformat(json.loads(out)["due_at"]) == DUE_UTC  # JSON: ISO 8601 with its offset


def test_history_is_local_to_the_minute(overdue: str) -> None:
    code, out = invoke("carrier", "history", overdue)
    assert code == 0 and "2026-11-25 10:00" in out  # lent at 02:00 UTC
    assert "02:00" not in out and "Z" not in out.replace("UTC+08:00", "")
    assert ".000000" not in out  # to the minute, no microseconds


def test_checkout_message_names_the_local_due_time(sqlite_store: Store, people: dict[str, Signed], clock: Clock,
                                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = registry.register(sqlite_store.uow(), people["clerk"], registry.CarrierInput(
        location=place("BJ", "R2C1S1"), classification="confidential", period="10y", scope="法规处"))
    approve(sqlite_store, people["approver"], "loan", code, grantee=badge("reader_important"))
    for k, v in {**CLI_ENV, "TRACKER_DATABASE_URL": sqlite_store.url}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tracker.store, "Store", functools.partial(Store, clock=clock))  # the CLI imports it on use
    due_local = (clock.now + timedelta(hours=8)).astimezone(sqlite_store.policy.tz)
    exit_code, out = invoke("checkout", code, "--to", badge("reader_important"), "--due",
                            f"{due_local:%Y-%m-%dT%H:%M}", TRACKER_BORROWER_PIN="482916")
    assert exit_code == 0, out
    assert f"due {due_local:%Y-%m-%d %H:%M} UTC+08:00" in out


def test_stocktake_report_start_is_local(sqlite_store: Store, people: dict[str, Signed], tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from tracker import stocktake as st
    from tracker.reports import stocktake_data, stocktake_xlsx

    sid = st.start(sqlite_store.uow(), people["clerk"], "Q4", [place("BJ", "R2")],
                   [people["clerk"], people["clerk2"]])
    report = stocktake_data.gather(sqlite_store, sid)
    path = stocktake_xlsx.write_xlsx(report, tmp_path / "r.xlsx")
    cells = [str(c.value) for ws in load_workbook(path) for row in ws.iter_rows() for c in row if c.value]
    assert any("2026-11-25 10:00 UTC+08:00" in c for c in cells), cells[:20]
    assert not any("2026-11-25T02:00" in c for c in cells)


def test_destruction_batches_show_local_times(sqlite_store: Store, people: dict[str, Signed], clock: Clock,
                                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tracker.services import approvals, destruction

    code = registry.register(sqlite_store.uow(), people["clerk"], registry.CarrierInput(
        location=place("BJ", "R2C1S1"), classification="internal"))
    b = destruction.new(sqlite_store.uow(), people["clerk"], "Q4")
    destruction.add(sqlite_store.uow(), people["clerk"], b, [code])
    a = destruction.submit(sqlite_store.uow(), people["clerk"], b, clock.now + timedelta(days=1))
    approvals.decide(sqlite_store.uow(), people["approver"], a, True)
    destruction.scan(sqlite_store.uow(), people["clerk"], b, [code])
    destruction.complete(sqlite_store.uow(), people["clerk2"], b, [people["officer"], people["auditor"]],
                         {"*": "shredding"}, sqlite_store.policy.destruction_sites[0])
    for k, v in {**CLI_ENV, "TRACKER_DATABASE_URL": sqlite_store.url}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tracker.store, "Store", functools.partial(Store, clock=clock))
    for argv in (["destruction", "show", str(b)], ["destruction", "list"],
                 ["destruction", "register", "--from", "2026-11-01"]):
        exit_code, out = invoke(*argv)
        assert exit_code == 0 and "2026-11-25 10:00" in out, (argv, out)  # 02:00 UTC
        assert "02:00" not in out and "+00:00" not in out, (argv, out)
    assert "2026-11-25 10:00 UTC+08:00" in invoke("destruction", "show", str(b))[1]
