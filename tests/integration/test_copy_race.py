"""Two terminals saving the same copy of a document at the same moment: one is registered, the other gets a clear
bilingual refusal — the service's R-29 when it can see the first, else the database's unique rule mapped to "saved
meanwhile at another terminal" — and never a driver traceback. Both reach the carriers INSERT before either writes
when the database lets them (PostgreSQL); SQLite's BEGIN IMMEDIATE serialises them and the barrier gives way."""

from __future__ import annotations

import threading

from sqlalchemy import event, func, select
from tests_support import count_events

from tracker.demo import place
from tracker.domain import DomainError
from tracker.schema import Carrier
from tracker.services import registry
from tracker.services.common import Refused, Signed
from tracker.store import SavedMeanwhile, Store

SHELF = place("BJ", "R2C1S1")


def test_the_same_copy_saved_twice_at_once_is_one_carrier(store: Store, people: dict[str, Signed]) -> None:
    barrier = threading.Barrier(2, timeout=3)

    @event.listens_for(store.engine, "before_cursor_execute")
    def meet(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT INTO CARRIERS"):
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass  # the other terminal waits on a lock: the two are serialised, not raced

    data = registry.CarrierInput(location=SHELF, classification="secret", period="10y", scope="法规处",
                                 title="通知", doc_number="京保〔2026〕7号", issuer="市保密局", copy_number=2,
                                 copy_total=3)
    before = count_events(store)
    outcomes: list[object] = []

    def save() -> None:
        try:
            outcomes.append(registry.register(store.uow(), people["clerk"], data))
        except (DomainError, Refused) as e:
            outcomes.append(e)
        except BaseException as e:
            outcomes.append(("defect", e))

    threads = [threading.Thread(target=save) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    event.remove(store.engine, "before_cursor_execute", meet)
    codes = [o for o in outcomes if isinstance(o, str)]
    refusals = [o for o in outcomes if isinstance(o, DomainError | Refused)]
    assert len(codes) == 1 and len(refusals) == 1, outcomes
    refusal = refusals[0]
    if isinstance(refusal, SavedMeanwhile):
        assert "another terminal" in refusal.en and "另一终端" in refusal.zh
    else:
        assert isinstance(refusal, Refused) and refusal.rules == ["R-29"]
    with store.uow(readonly=True) as uow:
        n = uow.session.execute(select(func.count()).select_from(Carrier)
                                .where(Carrier.doc_number == data.doc_number)).scalar_one()
    assert n == 1
    assert count_events(store) == before + 1
