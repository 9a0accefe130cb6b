"""PostgreSQL's ingest COPYs a new batch's reads straight into the reads table; when another terminal stores the same
new batch at the same moment, the COPY collides, is undone to its savepoint, and the reads are counted as duplicates
(the first terminal wins) — never a refused upload and never a read stored twice."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from labels.codes import make_carrier_code
from tests.stocktake.conftest import S1, World
from tracker import stocktake as st
from tracker.stocktake.ingest import IngestResult


def test_the_same_new_batch_stored_by_two_terminals_at_once(world: World) -> None:
    w = world
    if w.store.dialect != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's")
    sid = w.start()
    reads = [("HH9", "t", 1, "barcode", S1, None, None, None)]
    reads += [("HH9", "t", 2 + i, "barcode", make_carrier_code("BJ", 700_000 + i), None, None, None)
              for i in range(50)]
    first = w.store.engine.connect()  # the other terminal, its transaction still open
    with w.store.engine.connect() as c:
        s1 = int(c.execute(text("SELECT id FROM locations WHERE code = :c"), {"c": S1}).scalar_one())
    first.begin()
    bid = int(first.execute(text("INSERT INTO stocktake_batches (session_id, device, batch) VALUES (:s, 'HH9', 't') "
                                 "RETURNING id"), {"s": sid}).scalar_one())
    first.execute(text("INSERT INTO stocktake_reads (session_id, batch_id, seq, kind, code, loc_id) "
                       "VALUES (:s, :b, :q, 'barcode', :c, :l)"),
                  [{"s": sid, "b": bid, "q": r[2], "c": r[4], "l": s1} for r in reads])
    done: list[IngestResult | BaseException] = []

    def second() -> None:
        try:
            done.append(st.ingest(w.store.uow(), w.sig["clerk"], sid, reads))
        except BaseException as e:  # reported below
            done.append(e)

    racer = threading.Thread(target=second)
    racer.start()
    with w.store.engine.connect() as watch:  # wait until the second terminal waits on the first's batch row
        for _ in range(200):
            waiting = watch.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                         "AND datname = current_database()")).scalar_one()
            if waiting:
                break
            time.sleep(0.05)
        assert waiting, "the second upload never waited for the first"
    first.commit()
    first.close()
    racer.join(60)
    assert len(done) == 1 and isinstance(done[0], IngestResult), done
    assert (done[0].added, done[0].duplicates) == (0, len(reads))
    with w.store.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM stocktake_reads WHERE session_id = :s"),
                         {"s": sid}).scalar_one() == len(reads)
