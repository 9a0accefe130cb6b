"""Several counters at once on one register: the worker processes and the checks shared by the short test
(tests/integration/test_many_counters.py) and the full load (bench/bench_counters.py).

Each worker is a separate process with its own `Store`, as a real counter is, and goes through the real services
(`tracker.services.circulation`). Two phases, started together by a barrier so the counters really overlap:

1. own carriers: a stream of check-outs and check-ins of carriers nobody else touches (contention only on the ledger
   head and, on SQLite, the file's write lock);
2. hot carriers: every worker checks out and in the same few carriers, so most attempts meet a carrier someone else
   has just taken or returned — each must end as a success or a rule refusal, nothing else.

Workers take the register's time from a picklable `Clock` (the suite's), never from the wall clock; the wall clock
only measures how long each operation took, for the benchmark's figures.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from tracker.demo import badge, place
from tracker.store import Store

BORROWER = "reader_important"


@dataclass
class Phase:
    """What one worker saw in one phase: outcome per operation ('ok', 'refused:R-nn', or 'error:…'), each operation's
    latency in seconds, and when the phase started and ended (time.monotonic, comparable across processes)."""

    outcomes: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    start: float = 0.0
    end: float = 0.0
    warm: int = 0  # events appended by the unmeasured warm-up before the phase


    @property
    def successes(self) -> int:
        return sum(1 for o in self.outcomes if o == "ok")


def prepare(store: Store, workers: int, per_worker: int, hot: int, hot_rounds: int) -> tuple[list[list[str]],
                                                                                           int, list[str]]:
    """Register each worker's own carriers (secret: every loan needs an approval) and `hot` shared ones.

    Own carriers get one approval naming them all (each used once, by that carrier's one check-out). A hot carrier
    is checked out again and again, and an approval is used up by the loan it covers, so the hot carriers get
    `hot_rounds` approvals that the services find themselves (`approvals.covering`), as at the real counter."""
    from tests_support import approve

    from tracker.services import registry
    from tracker.services.common import Signed

    clerk = Signed(badge("clerk"), store.clock())
    approver = Signed(badge("approver"), store.clock())

    def rows(n: int, title: str) -> list[registry.CarrierInput]:
        return [registry.CarrierInput(location=place("BJ", "R2C1S1"), classification="secret", period="10y",
                                      scope="法规处", copy_number=1, copy_total=1, title=f"{title} {i}")
                for i in range(n)]

    codes = registry.import_rows(store.uow(), clerk, rows(workers * per_worker, "counter"))
    own = [codes[w * per_worker:(w + 1) * per_worker] for w in range(workers)]
    approval = approve(store, approver, "loan", *codes, hours=8)
    hot_codes = registry.import_rows(store.uow(), clerk, rows(hot, "hot")) if hot else []
    for _ in range(hot_rounds if hot else 0):
        approve(store, approver, "loan", *hot_codes, hours=8, grantee=badge(BORROWER))
    return own, approval, hot_codes


def counter(url: str, clock: Any, own: list[str], approval: int, hot: list[str], hot_ops: int, seed: int,
            barrier: Any, results: Any) -> None:
    """One counter process: check out and in each of `own` (phase 1), then `hot_ops` random check-outs and
    check-ins of the `hot` carriers (phase 2); puts (phase 1, phase 2) on `results`."""
    from tracker.services import circulation
    from tracker.services.common import Refused, Signed, configure_hasher

    configure_hasher(1, 8)
    store = Store(url, terminal=f"counter-{seed}", clock=clock)
    clerk, reader = Signed(badge("clerk"), clock()), Signed(badge(BORROWER), clock())
    rng = random.Random(seed)
    phases = (Phase(), Phase())

    def run(phase: Phase, op: Any) -> None:
        t = time.perf_counter()
        try:
            op()
            phase.outcomes.append("ok")
        except Refused as e:
            phase.outcomes.append("refused:" + ",".join(e.rules))
        except Exception as e:  # anything else is what the checks are looking for
            phase.outcomes.append(f"error:{type(e).__name__}: {e}")
        phase.latencies.append(time.perf_counter() - t)

    try:
        if own:  # warm-up on the first carrier (connections, statement caches), not measured
            circulation.check_out(store.uow(), clerk, own[0], reader, approval_id=approval)
            circulation.check_in(store.uow(), clerk, own[0])
            phases[0].warm = 2
        barrier.wait()
        first = phases[0]
        first.start = time.monotonic()
        for code in own[1:]:
            run(first, lambda code=code: circulation.check_out(store.uow(), clerk, code, reader,
                                                              approval_id=approval))
            run(first, lambda code=code: circulation.check_in(store.uow(), clerk, code))
        first.end = time.monotonic()
        barrier.wait()
        second = phases[1]
        second.start = time.monotonic()
        for _ in range(hot_ops):
            code = rng.choice(hot)
            if rng.random() < 0.5:
                run(second, lambda code=code: circulation.check_out(store.uow(), clerk, code, reader))
            else:
                run(second, lambda code=code: circulation.check_in(store.uow(), clerk, code))
        second.end = time.monotonic()
    finally:
        store.dispose()
        results.put(phases)


def bare(url: str, ident: int, n: int, barrier: Any, results: Any) -> None:
    """The baseline: `n` transactions of one UPDATE and one INSERT on this process's own row, through the same engine
    set-up as the register's (`make_engine`: BEGIN IMMEDIATE on SQLite). Puts a `Phase` on `results`."""
    store = Store(url, terminal=f"bare-{ident}")
    phase = Phase()
    try:
        for _ in range(20):  # warm-up, as the counters'
            _bare_one(store, ident)
        barrier.wait()
        phase.start = time.monotonic()
        for _ in range(n):
            t = time.perf_counter()
            _bare_one(store, ident)
            phase.latencies.append(time.perf_counter() - t)
            phase.outcomes.append("ok")
        phase.end = time.monotonic()
    finally:
        store.dispose()
        results.put(phase)


def _bare_one(store: Store, ident: int) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE bench_slots SET n = n + 1 WHERE id = :w"), {"w": ident})
        conn.execute(text("INSERT INTO bench_log (w, v) VALUES (:w, :v)"), {"w": ident, "v": "row"})


def prepare_bare(store: Store, workers: int) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_slots (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_log (w INTEGER, v TEXT)"))
        for w in range(workers):
            conn.execute(text("INSERT INTO bench_slots (id, n) VALUES (:w, 0)"), {"w": w})


def run_processes(target: Any, args: list[tuple[Any, ...]], timeout: float = 600) -> list[Any]:
    """Start one spawned process per argument tuple (each gets a shared barrier and result queue appended), wait for
    all, and return what each put on the queue."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(len(args)), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, barrier, results)) for a in args]
    for p in procs:
        p.start()
    out = [results.get(timeout=timeout) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0, f"a worker process failed (exit {p.exitcode})"
    return out
