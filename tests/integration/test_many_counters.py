"""Several counter processes on one register at once, on SQLite (one WAL file) and PostgreSQL — the short version of
bench/bench_counters.py, checking correctness only (no timing): every operation ends as a success or a rule refusal
(never "database is locked", a deadlock or a traceback), no event is lost or duplicated (events appended = successes)
and the ledger verifies, replay included, so every carrier's state is what its events say.
"""

from __future__ import annotations

from collections import Counter

from many_counters import Phase, counter, prepare, run_processes
from tests_support import Clock, count_events

from tracker.ledger import verify
from tracker.store import Store

WORKERS, OPS = 4, 30  # OPS per worker and phase: 15 own carriers out and in, 30 attempts on the hot ones


def test_counters_at_once(store: Store, clock: Clock) -> None:
    from tracker.demo import seed_people_and_places

    seed_people_and_places(store)
    own, approval, hot = prepare(store, WORKERS, OPS // 2 + 1, hot=2, hot_rounds=OPS * WORKERS // 3)
    before = count_events(store)
    results: list[tuple[Phase, Phase]] = run_processes(
        counter, [(store.url, clock, own[w], approval, hot, OPS, w) for w in range(WORKERS)])
    firsts, seconds = [r[0] for r in results], [r[1] for r in results]

    # Own carriers: nobody else touches them, so every check-out and check-in succeeds.
    assert [o for p in firsts for o in p.outcomes if o != "ok"] == []
    assert sum(len(p.outcomes) for p in firsts) == WORKERS * OPS
    # Hot carriers: each attempt is a success or the rule that refuses it (R-17 taken, R-66 not out), nothing else.
    outcomes = Counter(o for p in seconds for o in p.outcomes)
    assert set(outcomes) <= {"ok", "refused:R-17", "refused:R-66"}, outcomes
    assert sum(outcomes.values()) == WORKERS * OPS
    assert outcomes["ok"] > 0
    # No event lost or duplicated: exactly one per success (the warm-up's included), and the chain and the tables
    # agree with each other.
    successes = sum(p.successes + p.warm for r in results for p in r)
    assert count_events(store) - before == successes
    with store.engine.connect() as conn:
        report = verify(conn)
    assert report.ok, report.message()
