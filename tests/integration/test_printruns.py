"""Print runs (印制, issue 21) on a real database (SQLite and PostgreSQL): an approved run registers exactly its copies,
numbered 1..N, and its by-products in one transaction; more than approved is refused (R-29); a reprint is a new
approved run continuing the numbering; the by-products stay an open duty until a destruction batch destroys them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from tests_support import count_events, state_of

from tracker import queries
from tracker.demo import badge, place
from tracker.domain import EventType
from tracker.ledger import verify
from tracker.schema import Carrier, Event
from tracker.services import approvals, destruction, printruns, registry
from tracker.services.common import Refused, Signed
from tracker.store import Store

SAFE = place("BJ", "R1SAFE1")
SHELF = place("BJ", "R2C1S1")
DOC = "BJ密〔2026〕21号"
SITE = "本单位保密办销毁室"


def _run(store: Store, people: dict[str, Signed], copies: int = 5, level: str = "top_secret",
         distribution: str = "办公室:3;技术处:2", location: str = SAFE,
         scope: str = "办公室;技术处;法规处") -> tuple[int, int]:
    data = printruns.RunInput(doc_number=DOC, classification=level, copies=copies, distribution=distribution,
                              location=location, title="年度保密工作要点", period="10y", scope=scope)
    return printruns.new(store.uow(), people["clerk"], data, store.clock() + timedelta(days=2))


def _approve(store: Store, people: dict[str, Signed], approval: int) -> None:
    for who in ("approver", "approver2"):
        if approvals.decide(store.uow(), people[who], approval, True) == "granted":
            return
    raise AssertionError("the approvers did not grant the run")


def _complete(store: Store, people: dict[str, Signed], run: int, printed: int = 5) -> printruns.Completion:
    return printruns.complete(store.uow(), people["clerk"], run, printed, badge("officer"),
                              {"sheets": 12, "plates": 2}, print_room="机要室文印室")


def _copies(store: Store) -> list[tuple[int | None, int | None]]:
    with store.uow(readonly=True) as uow:
        return [(n, t) for n, t in uow.session.execute(
            select(Carrier.copy_number, Carrier.copy_total).where(Carrier.doc_number == DOC)
            .order_by(Carrier.copy_number))]


def _replays(store: Store) -> None:
    with store.engine.connect() as conn:
        report = verify(conn)
    assert report.ok and report.replayed and report.difference_count == 0, report.differences


def test_run_of_five_top_secret_copies_numbered_then_sixth_refused_and_reprint_continues(
        store: Store, people: dict[str, Signed]) -> None:
    run, approval = _run(store, people)
    with pytest.raises(Refused) as pending:  # not approved yet: nothing printed
        _complete(store, people, run)
    assert pending.value.rules == ["R-29"]
    _approve(store, people, approval)
    with store.uow(readonly=True) as uow:
        assert uow.session.get(approvals.Approval, approval).needed == 2  # type: ignore[union-attr]  # 绝密: two
    before = count_events(store)
    with pytest.raises(Refused) as six:
        _complete(store, people, run, printed=6)
    assert six.value.rules == ["R-29"] and "5" in six.value.message("en") and "多印" in six.value.message("zh")
    assert count_events(store) == before and _copies(store) == []
    done = _complete(store, people, run)
    assert (done.first, done.total) == (1, 5) and len(done.copies) == 5
    assert _copies(store) == [(n, 5) for n in range(1, 6)]
    assert count_events(store) == before + 5 + 1 + 1  # one per copy, the by-products, the run
    with pytest.raises(Refused) as again:  # the run is done: a sixth copy needs a new approved run
        _complete(store, people, run, printed=1)
    assert again.value.rules == ["R-29"] and _copies(store) == [(n, 5) for n in range(1, 6)]
    with pytest.raises(Refused) as by_hand:  # nor is a sixth registered by hand at the counter (多印)
        registry.register(store.uow(), people["clerk"], registry.CarrierInput(
            location=SAFE, classification="top_secret", period="10y", scope="办公室", doc_number=DOC, copy_number=6,
            copy_total=6))
    assert by_hand.value.rules == ["R-29"] and _copies(store) == [(n, 5) for n in range(1, 6)]
    with store.uow(readonly=True) as uow:
        ev = uow.session.execute(select(Event).where(Event.type == EventType.PRINT_RUN_COMPLETED.value)).scalar_one()
        assert (ev.seq, ev.hash) == (done.head_seq, done.head_hash) == uow.ledger.head()
        assert f'"proof_reader":"{badge("officer")}"' in ev.payload and f'"printer":"{badge("clerk")}"' in ev.payload
        assert '"approvers":["' + badge("approver") in ev.payload and DOC in ev.payload
        assert [e.type for e in queries.history(uow, done.copies[0])] == ["printed"]
        view = printruns.view(uow, run)
        assert view.copy_codes == done.copies and view.byproducts == {"plates": 2, "sheets": 12}
        assert view.printer == badge("clerk") and view.approvers == [badge("approver"), badge("approver2")]
    # A reprint: a new run approved for 3 more, numbered 6..8; every copy now says "of 8".
    run2, approval2 = _run(store, people, copies=3, distribution="法规处:3")
    _approve(store, people, approval2)
    again2 = _complete(store, people, run2, printed=3)
    assert (again2.first, again2.total) == (6, 8)
    assert _copies(store) == [(n, 8) for n in range(1, 9)]
    _replays(store)


def test_byproducts_stay_open_until_destroyed(store: Store, people: dict[str, Signed]) -> None:
    run, approval = _run(store, people, copies=2, level="secret", distribution="办公室:2", location=SHELF)
    _approve(store, people, approval)
    done = _complete(store, people, run, printed=2)
    assert state_of(store, done.byproducts) == ("in_store", None, SHELF)  # locked away
    with store.uow(readonly=True) as uow:
        assert [r.id for r in printruns.open_byproducts(uow)] == [run]
        assert [(a.kind, a.carrier) for a in queries.alerts(uow) if a.kind == "byproducts"] == [
            ("byproducts", done.byproducts)]  # a duty until destroyed
    b = destruction.new(store.uow(), people["clerk"], "印制副产品")
    destruction.add(store.uow(), people["clerk"], b, [done.byproducts])
    a = destruction.submit(store.uow(), people["clerk"], b, store.clock() + timedelta(days=3))
    approvals.decide(store.uow(), people["approver"], a, True)
    with store.uow(readonly=True) as uow:
        assert [r.id for r in printruns.open_byproducts(uow)] == [run]  # listed is not destroyed
    destruction.scan(store.uow(), people["clerk"], b, [done.byproducts])
    destruction.complete(store.uow(), people["clerk"], b, [people["officer"], people["auditor"]],
                         {"other": "physical"}, SITE)
    with store.uow(readonly=True) as uow:
        assert printruns.open_byproducts(uow) == []
        assert [a for a in queries.alerts(uow) if a.kind == "byproducts"] == []
        assert printruns.view(uow, run).byproduct_status == "destroyed"
    _replays(store)


def test_request_refusals_change_nothing(store: Store, people: dict[str, Signed]) -> None:
    before = count_events(store)
    with pytest.raises(Refused) as short:  # the distribution hands out 4 of 5
        _run(store, people, distribution="办公室:2;技术处:2")
    assert short.value.rules == ["R-29"]
    with pytest.raises(Refused) as outside:  # a reader of 法规处 is outside a scope of 办公室 only
        _run(store, people, copies=1, distribution=f"@{badge('reader_general')}:1", location=SHELF, level="secret",
             scope="办公室")
    assert outside.value.rules == ["R-29"]
    with pytest.raises(Refused) as place_:  # a shelf may not hold 绝密
        _run(store, people, location=SHELF)
    assert place_.value.rules == ["R-47"]
    assert count_events(store) == before
    with pytest.raises(Refused) as reader:  # a courier is no printer; a 一般 proof-reader may not see 绝密
        run, approval = _run(store, people)
        _approve(store, people, approval)
        printruns.complete(store.uow(), people["clerk"], run, 5, badge("reader_general"), {"sheets": 1})
    assert reader.value.rules == ["R-159"]
    with pytest.raises(Refused) as courier:
        printruns.complete(store.uow(), people["courier"], run, 5, badge("officer"), {"sheets": 1})
    assert "R-25" in courier.value.rules


def test_run_after_copies_registered_by_hand_continues_their_numbering(store: Store,
                                                                       people: dict[str, Signed]) -> None:
    """A document first registered copy by copy (each raising N, `services.registry`) and then printed again: the
    run continues at 3 and every copy says "of 4"; the ledger replays both kinds of renumbering to the tables."""
    for n in (1, 2):
        registry.register(store.uow(), people["clerk"], registry.CarrierInput(
            location=SHELF, classification="secret", period="10y", scope="办公室", doc_number=DOC, copy_number=n,
            copy_total=n))
    assert _copies(store) == [(1, 2), (2, 2)]
    run, approval = _run(store, people, copies=2, level="secret", distribution="办公室:2", location=SHELF)
    _approve(store, people, approval)
    done = _complete(store, people, run, printed=2)
    assert (done.first, done.total) == (3, 4) and _copies(store) == [(n, 4) for n in range(1, 5)]
    _replays(store)
