"""`ledger verify` replays the chain into the state it implies and names every way the tables were changed behind it,
on SQLite and PostgreSQL.

The attacks here write straight into the current-state tables (no trigger guards them; the chain itself is left
intact), exactly as issue 16 found them unnoticed: `UPDATE carriers SET status='destroyed'`, a 绝密 carrier made
unclassified, a self-granted role. A day of real work through every custody service must replay to the very state the
services wrote, or every forged difference would drown in false ones.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import text
from tests_support import approve

from tracker.demo import badge, place
from tracker.domain import EventType
from tracker.ledger import VerifyReport, verify
from tracker.replay import INERT, Replay
from tracker.services import approvals, circulation, incidents, personnel, registry
from tracker.services.common import Signed
from tracker.store import Store

SHELF = place("BJ", "R2C1S1")
SHELF2 = place("BJ", "R2C1S2")
SAFE = place("BJ", "R1SAFE1")


def _register(store: Store, clerk: Signed, level: str = "secret", location: str = SHELF) -> str:
    return registry.register(store.uow(), clerk, registry.CarrierInput(
        location=location, classification=level, period="10y" if level != "top_secret" else "long",
        scope="法规处;技术处;办公室", copy_number=1, copy_total=1, title="测试文件"))


def _verify(store: Store) -> VerifyReport:
    with store.engine.connect() as conn:
        return verify(conn)


def _forge(store: Store, sql: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(sql), params)


def _found(report: VerifyReport) -> set[tuple[str, str, str, str]]:
    return {tuple(d) for d in report.differences}  # type: ignore[misc]


def test_a_day_of_work_through_every_service_replays_to_the_tables(store: Store, people: dict[str, Signed]) -> None:
    clerk = people["clerk"]
    a = _register(store, clerk)
    b = _register(store, clerk)
    ts = _register(store, clerk, "top_secret", SAFE)
    lost = _register(store, clerk, "confidential")
    registry.copy(store.uow(), clerk, a, 2, approve(store, people["approver"], "copy", a, copies=2))
    registry.reclassify(store.uow(), people["officer"], b, "confidential", "5y", None,
                        approve(store, people["approver"], "reclassify", b))
    registry.move(store.uow(), clerk, b, SHELF2)
    loan = approve(store, people["approver"], "loan", a)
    circulation.check_out(store.uow(), clerk, a, people["reader_important"], approval_id=loan)
    circulation.handover(store.uow(), people["courier"], [a], people["reader_important"], people["courier"])
    circulation.handover(store.uow(), people["courier"], [a], people["courier"], people["reader_core"])
    circulation.check_in(store.uow(), clerk, a)
    circulation.carry_out(store.uow(), clerk, ts, people["reader_core"], store.clock() + timedelta(days=1),
                          approve(store, people["approver"], "carry_out", ts, grantee=badge("reader_core")),
                          companion=people["courier"])
    incidents.report_missing(store.uow(), clerk, lost)
    incidents.found(store.uow(), clerk, lost, SHELF2)
    change = personnel.request_change(store.uow(), people["admin"], badge("reader_general"), roles=["courier"])
    approvals.decide(store.uow(), people["approver"], change, True)
    personnel.change_person(store.uow(), people["admin"], badge("reader_general"), roles=["courier"],
                            approval_id=change)
    registry.set_epc(store.uow(), clerk, b, "E2801160600002040000AB12", None)
    report = _verify(store)
    assert report.ok and report.replayed and report.differences == (), report.message()
    assert "tables match" in report.message() and "数据表与台账推演结果一致" in report.message("zh")


def test_status_set_to_destroyed_behind_the_ledger_is_named(store: Store, people: dict[str, Signed]) -> None:
    code = _register(store, people["clerk"])
    assert _verify(store).ok
    _forge(store, "UPDATE carriers SET status = 'destroyed' WHERE code = :c", c=code)
    report = _verify(store)
    assert not report.ok and report.bad_seq is None  # the chain itself is intact
    assert _found(report) == {(code, "status", "in_store", "destroyed")}
    assert f"{code}: status — ledger says in_store, table says destroyed" in report.message()
    assert f"{code}：状态——台账为 in_store，数据表为 destroyed" in report.message("zh")


def test_top_secret_made_unclassified_behind_the_ledger_is_named(store: Store, people: dict[str, Signed]) -> None:
    code = _register(store, people["clerk"], "top_secret", SAFE)
    _forge(store, "UPDATE carriers SET classification = 'unclassified' WHERE code = :c", c=code)
    report = _verify(store)
    assert not report.ok and _found(report) == {(code, "level", "top_secret", "unclassified")}
    assert report.difference_count == 1
    assert json.loads(json.dumps(report.differences)) == [[code, "level", "top_secret", "unclassified"]]


def test_custody_and_loans_forged_behind_the_ledger_are_named(store: Store, people: dict[str, Signed]) -> None:
    clerk = people["clerk"]
    out, home = _register(store, clerk), _register(store, clerk)
    loan = approve(store, people["approver"], "loan", out)
    circulation.check_out(store.uow(), clerk, out, people["reader_important"], approval_id=loan)
    # the loan "returned" and the carrier put back on a shelf, without a check-in event
    _forge(store, "UPDATE loans SET open_carrier_id = NULL")
    _forge(store, "UPDATE carriers SET status = 'in_store', holder_id = NULL, location_id = "
                  "(SELECT id FROM locations WHERE code = :p) WHERE code = :c", c=out, p=SHELF)
    # another carrier moved to a different shelf, and its copy numbers rewritten
    _forge(store, "UPDATE carriers SET location_id = (SELECT id FROM locations WHERE code = :p), copy_total = 9 "
                  "WHERE code = :c", c=home, p=SHELF2)
    reader = badge("reader_important")
    assert _found(_verify(store)) == {
        (out, "status", "on_loan", "in_store"), (out, "holder", reader, "—"), (out, "place", "—", SHELF),
        (out, "open loan", f"loan to {reader}", "—"),
        (home, "place", SHELF, SHELF2), (home, "copy", "1/1", "1/9")}


def test_rows_added_or_removed_behind_the_ledger_are_named(store: Store, people: dict[str, Signed]) -> None:
    code = _register(store, people["clerk"])
    _forge(store, "INSERT INTO carriers (code, kind, regime, classification, title, status, location_id, "
                  "registered_at, updated_at) SELECT 'BJ-999999Z', kind, regime, classification, title, status, "
                  "location_id, registered_at, updated_at FROM carriers WHERE code = :c", c=code)
    _forge(store, "UPDATE people SET roles = 'admin,security_officer' WHERE badge = :b", b=badge("reader_core"))
    found = _found(_verify(store))
    assert ("BJ-999999Z", "presence", "never registered", "carrier in the table") in found
    assert (badge("reader_core"), "roles", "—", "admin,security_officer") in found and len(found) == 2


def test_replay_names_more_than_it_keeps_and_counts_them_all(store: Store, people: dict[str, Signed]) -> None:
    codes = registry.import_rows(store.uow(), people["clerk"], [registry.CarrierInput(
        location=SHELF, classification="confidential", period="10y", scope="法规处", title=f"t{i}") for i in range(30)])
    _forge(store, "UPDATE carriers SET status = 'destroyed', location_id = NULL")
    report = _verify(store)
    assert report.difference_count == 60 and len(report.differences) == 60
    message = report.message()
    assert "60 place(s)" in message and "… and 40 more" in message and codes[0] in message


def test_every_event_type_is_replayed_or_declared_inert() -> None:
    """A new event type must teach the replay what it implies; until then verify fails closed on it."""
    handled = set(Replay()._apply) | {t.value for t in INERT}
    assert {t.value for t in EventType} <= handled


def test_an_unknown_event_type_fails_closed() -> None:
    r = Replay()
    r.run(iter([(1, "registered", "BJ-000001X", None, None, "LOC-1", '{"classification":"secret","copy":[1,1]}'),
                (2, "teleported", "BJ-000001X", None, None, "LOC-2", "{}"),
                (3, "teleported", "BJ-000001X", None, None, "LOC-3", "{}")]))
    assert r.count == 1 and r.findings[0].field == "event" and "teleported" in r.findings[0].ledger


def test_events_for_a_carrier_never_registered_are_named() -> None:
    r = Replay()
    r.run(iter([(7, "checked_out", "BJ-000002X", "LOC-1", "B-1", None, "{}")]))
    assert r.findings == [("BJ-000002X", "presence", "checked_out at #7 before any registration", "—")]


def test_rows_stored_out_of_sequence_order_are_replayed_in_sequence_order(sqlite_store: Store,
                                                                         people: dict[str, Signed]) -> None:
    """SQLite's replay reads events in storage order when that is sequence order; rows reinserted behind the chain's
    back (same content, so the chain still verifies) must not change what the replay concludes."""
    store = sqlite_store
    code = _register(store, people["clerk"])
    registry.move(store.uow(), people["clerk"], code, SHELF2)
    with store.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER events_no_delete"))
        seq = conn.execute(text("SELECT seq FROM events WHERE type = 'registered' AND carrier = :c"),
                           {"c": code}).scalar_one()
        conn.execute(text("CREATE TEMP TABLE moved AS SELECT * FROM events WHERE seq = :s"), {"s": seq})
        conn.execute(text("DELETE FROM events WHERE seq = :s"), {"s": seq})
        conn.execute(text("INSERT INTO events SELECT * FROM moved"))  # now stored after the MOVED event
    report = _verify(store)
    assert report.ok and report.replayed, report.message()
