"""Ledger replay benchmark (issue 16): replaying the chain into the state it implies and comparing it with the tables.

A SQLite register of 1,000,000 carriers is built with the bulk helpers (`tracker.bulk.insert_rows` for the carriers
and their open loans, `Ledger.append_many` for the chain): every carrier registered by one event, and 100,000 of them
then checked out (1,100,000 events). A fresh process then replays and compares (`tracker.replay.replay_and_compare`),
beside a baseline measured in the same process: only streaming every row of `events` and `carriers` through the same
driver cursor. Targets: replay + compare ≤ 10 s and the measuring process ≤ 1 GiB (peak resident size).
The whole `ledger verify` (chain walk + replay) is printed for information.

Run: `make bench` or `.venv/bin/python bench/bench_verify.py [--quick]`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "support"))

import _targets as targets

from tracker.bulk import insert_rows
from tracker.demo import badge, place, seed_people_and_places
from tracker.domain import CarrierStatus, EventType, utc_iso
from tracker.ledger import EventDraft, verify
from tracker.replay import driver_rows, replay_and_compare
from tracker.schema import Carrier, Loan, Location, Person, table
from tracker.services.common import configure_hasher
from tracker.store import Store

configure_hasher(1, 8)  # PIN hashing is not what is measured here

BATCH = 100_000
_CARRIER_COLUMNS = ("code", "kind", "regime", "classification", "period", "scope", "title", "copy_number",
                    "copy_total", "location_id", "holder_id", "status")
_LOAN_COLUMNS = ("carrier_id", "borrower_id", "kind", "open_carrier_id", "from_location_id")


def build(url: str, n: int, lent: int) -> None:
    """`n` carriers on four shelves with their REGISTERED events, then `lent` of them checked out."""
    store = Store(url, terminal="bench")
    store.ensure_schema()
    seed_people_and_places(store)
    shelves = [place("BJ", s) for s in ("R2C1S1", "R2C1S2", "R2C2S1", "R2C2S2")]
    reader = badge("reader_core")
    now = datetime.now(UTC)
    due = now + timedelta(days=7)
    with store.uow() as uow:
        from sqlalchemy import select

        shelf_ids = {code: i for i, code in uow.session.execute(
            select(Location.id, Location.code).where(Location.code.in_(shelves))).all()}
        reader_id = uow.session.execute(select(Person.id).where(Person.badge == reader)).scalar_one()
    levels = ("secret", "confidential", "internal")
    for start in range(0, n, BATCH):
        rows, drafts, loans = [], [], []
        for i in range(start, min(n, start + BATCH)):
            code = f"BJ-{i:07d}"
            shelf = shelves[i % 4]
            level = levels[i % 3]
            on_loan = i < lent
            rows.append((code, "paper", "state", level, "10y", "法规处", f"文件 {i}", 1, 1,
                         None if on_loan else shelf_ids[shelf], reader_id if on_loan else None,
                         CarrierStatus.ON_LOAN.value if on_loan else CarrierStatus.IN_STORE.value))
            drafts.append(EventDraft(EventType.REGISTERED, carrier=code, actor=badge("clerk"), to_location=shelf,
                                     payload={"classification": level, "kind": "paper", "period": "10y",
                                              "scope": "法规处", "copy": [1, 1], "doc_number": None}))
            if on_loan:
                drafts.append(EventDraft(EventType.CHECKED_OUT, carrier=code, actor=badge("clerk"),
                                         from_location=shelf, to_holder=reader,
                                         payload={"due": utc_iso(due), "reading_place": None}))
                loans.append((i + 1, reader_id, "loan", i + 1, shelf_ids[shelf]))
        with store.uow() as uow:
            insert_rows(uow.session, table(Carrier), _CARRIER_COLUMNS, rows,
                        {"registered_at": now, "updated_at": now})
            insert_rows(uow.session, table(Loan), _LOAN_COLUMNS, loans, {"out_at": now, "due_at": due})
            uow.ledger.append_many(drafts, now)
            uow.defer_checkpoint()
            uow.commit()
    store.dispose()


def measure(url: str) -> None:
    """In a fresh process, so its peak resident size is the replay's own: prints one JSON line."""
    store = Store(url, terminal="bench")
    with store.engine.connect() as conn:
        conn.execution_options(tracker_readonly=True)
        last = int(conn.exec_driver_sql("SELECT max(seq) FROM events").scalar_one())
        t = time.perf_counter()
        rows = sum(1 for _ in driver_rows(conn, "SELECT * FROM events ORDER BY seq", "bench_events"))
        carriers = sum(1 for _ in driver_rows(conn, "SELECT * FROM carriers", "bench_carriers"))
        base = time.perf_counter() - t
        t, cpu = time.perf_counter(), time.process_time()
        found = replay_and_compare(conn, last)
        took, cpu = time.perf_counter() - t, time.process_time() - cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with store.engine.connect() as conn:
        t = time.perf_counter()
        report = verify(conn)
        whole = time.perf_counter() - t
    store.dispose()
    print(json.dumps({"events": rows, "carriers": carriers, "base": base, "replay": took, "cpu": cpu, "rss": rss,
                      "differences": found.count, "verify": whole, "verify_ok": report.ok}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        measure(args.measure)
        return
    n = 100_000 if args.quick else 1_000_000
    print("ledger replay + compare")
    with tempfile.TemporaryDirectory() as d:
        url = f"sqlite:///{d}/r.sqlite"
        t = time.perf_counter()
        build(url, n, n // 10)
        built = time.perf_counter() - t
        out = subprocess.run([sys.executable, __file__, "--measure", url], check=True, capture_output=True,
                             text=True).stdout
    m = json.loads(out.strip().splitlines()[-1])
    assert m["differences"] == 0 and m["verify_ok"], m
    seconds, gib = 10 * n / 1_000_000, m["rss"] / 2**30
    print(f"  replay + compare of {m['events']:,} events and {m['carriers']:,} carriers: {m['replay']:6.2f} s; "
          f"streaming the same rows alone {m['base']:5.2f} s → {m['replay'] / m['base']:4.1f}×; "
          f"target ≤ {seconds:g} s → {targets.check('replay time', m['replay'] <= seconds)} "
          f"(CPU time {m['cpu']:.2f} s: a wall time far above it means other work shared the cores)")
    print(f"  peak resident size of the measuring process {gib:5.2f} GiB; target ≤ 1 GiB → "
          f"{targets.check('replay memory', gib <= 1)}")
    print(f"  whole `ledger verify` (chain walk + replay) {m['verify']:6.2f} s "
          f"(building the register took {built:.1f} s; machine: {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
    raise SystemExit(targets.status())
