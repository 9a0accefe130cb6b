"""Two terminals, one carrier, the same moment: exactly one check-out wins, the other gets a clear refusal.

SQLite is raced by two processes (BEGIN IMMEDIATE serialises them); PostgreSQL by threads (row locks).
"""

from __future__ import annotations

import multiprocessing
import queue
import threading

import pytest
from tests_support import Clock, approve, count_events, race_check_out, state_of

from tracker.demo import badge, place
from tracker.ledger import verify
from tracker.services import registry
from tracker.services.common import Signed
from tracker.store import Store


def _carrier(store: Store, people: dict[str, Signed]) -> tuple[str, int]:
    code = registry.register(store.uow(), people["clerk"], registry.CarrierInput(
        location=place("BJ", "R2C1S1"), classification="secret", period="10y", scope="法规处", copy_number=1,
        copy_total=1))
    return code, approve(store, people["approver"], "loan", code, hours=48)


def _check(store: Store, code: str, outcomes: list[str], before: int) -> None:
    assert sorted(outcomes) == ["refused:R-17", "won"], outcomes
    assert state_of(store, code) == ("on_loan", badge("reader_important"), None)
    assert count_events(store) == before + 1
    with store.engine.connect() as conn:
        assert verify(conn).ok


def test_sqlite_two_processes(sqlite_store: Store) -> None:
    from tracker.demo import seed_people_and_places

    people = seed_people_and_places(sqlite_store)
    ctx = multiprocessing.get_context("spawn")
    for _ in range(3):
        code, approval = _carrier(sqlite_store, people)
        before = count_events(sqlite_store)
        barrier, results = ctx.Barrier(2), ctx.Queue()
        args = (sqlite_store.url, code, approval, barrier, results, sqlite_store.clock)
        procs = [ctx.Process(target=race_check_out, args=args) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
            assert p.exitcode == 0
        _check(sqlite_store, code, [results.get(timeout=5), results.get(timeout=5)], before)


@pytest.mark.postgres
def test_postgres_two_threads(pg_url: str, clock: Clock) -> None:
    from tracker.demo import seed_people_and_places

    store = Store(pg_url, clock=clock)
    store.ensure_schema()
    people = seed_people_and_places(store)
    for _ in range(5):
        code, approval = _carrier(store, people)
        before = count_events(store)
        barrier, results = threading.Barrier(2), queue.Queue()  # type: ignore[var-annotated]
        threads = [threading.Thread(target=race_check_out, args=(pg_url, code, approval, barrier, results, clock))
                   for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        _check(store, code, [results.get_nowait(), results.get_nowait()], before)
    store.dispose()
