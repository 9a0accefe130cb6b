"""Two overlapping handovers on PostgreSQL, their carriers scanned in opposite orders, at the same moment: both
finish (issue 16). One goes through; the other waits for it and is then refused by a rule (the giver no longer holds
the carriers), never by DeadlockDetected. Before, each locked carriers in its own scan order and PostgreSQL broke the
cycle by killing one with a deadlock error."""

from __future__ import annotations

import queue
import threading

import pytest
from tests_support import Clock, approve, count_events, state_of

from tracker.demo import badge, place
from tracker.ledger import verify
from tracker.services import circulation, registry
from tracker.services.common import Refused, Signed
from tracker.store import Store

CARRIERS = 12


def _hand_over(url: str, clock: Clock, codes: list[str], taker: str, barrier: threading.Barrier,
               results: queue.Queue[str]) -> None:
    store = Store(url, terminal=f"race-{taker}", clock=clock)
    giver = Signed(badge("reader_important"), clock())
    try:
        barrier.wait()
        circulation.handover(store.uow(), Signed(badge(taker), clock()), codes, giver, Signed(badge(taker), clock()))
        results.put("won")
    except Refused as e:
        results.put("refused:" + ",".join(e.rules))
    except Exception as e:  # the point: any other error (a deadlock) is the failure under test
        results.put(f"error:{type(e).__name__}:{e}")
    finally:
        store.dispose()


@pytest.mark.postgres
def test_overlapping_handovers_never_deadlock(pg_url: str, clock: Clock) -> None:
    from tracker.demo import seed_people_and_places

    store = Store(pg_url, clock=clock)
    store.ensure_schema()
    people = seed_people_and_places(store)
    for _ in range(3):
        codes = [registry.register(store.uow(), people["clerk"], registry.CarrierInput(
            location=place("BJ", "R2C1S1"), classification="internal")) for _ in range(CARRIERS)]
        approval = approve(store, people["approver"], "loan", *codes, hours=48)
        for code in codes:
            circulation.check_out(store.uow(), people["clerk"], code, people["reader_important"],
                                  approval_id=approval)
        before = count_events(store)
        barrier, results = threading.Barrier(2), queue.Queue[str]()
        threads = [threading.Thread(target=_hand_over, args=(pg_url, clock, order, taker, barrier, results))
                   for order, taker in ((codes, "courier"), (codes[::-1], "courier2"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        outcomes = sorted([results.get_nowait(), results.get_nowait()])
        assert outcomes[1] == "won" and outcomes[0].startswith("refused:"), outcomes
        winner = {state_of(store, c)[1] for c in codes}
        assert len(winner) == 1 and winner <= {badge("courier"), badge("courier2")}
        assert count_events(store) == before + CARRIERS
        with store.engine.connect() as conn:
            assert verify(conn).ok
    store.dispose()
