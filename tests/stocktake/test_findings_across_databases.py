"""The same stock-take on SQLite and on PostgreSQL gives the same findings, field for field.

The reconciliation is SQL run on the server, with parts of it written per database (COPY on PostgreSQL, worker
connections on a SQLite file), so each database is tested on its own elsewhere (test_findings); here one walk that
produces nearly every kind — barcode, RFID with cross-reads, clone suspicion, top secret heard only by RFID — is
reconciled on both registers, built alike, and the findings compared whole: kind, subject, expected and seen place,
method, reads, peak RSSI and detail text.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.stocktake.conftest import BUILT_AT, S1, S2, UNKNOWN, World, build_world
from tracker import stocktake as st
from tracker.demo import badge
from tracker.store import Store

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _walk(w: World) -> list[tuple[object, ...]]:
    sid = w.start()
    st.bind(w.store.uow(), w.sig["clerk"], sid, "RF1", "p1", S1)
    st.bind(w.store.uow(), w.sig["clerk"], sid, "RF2", "p2", S2)
    w.upload(sid, [S1, w.c("a1"), w.c("b1"), w.c("loan1"), w.c("gone1"), w.c("lost1"), w.c("out1"), UNKNOWN,
                   S2, w.c("b2"), badge("reader_core"), w.c("loan2")], device="HH1")
    at = st.to_us(T0)
    assert at is not None
    st.ingest(w.store.uow(), w.sig["clerk"], sid, [
        ("RF1", "p1", 1, "epc", w.epc("a1"), at, -44.0, 1),
        ("RF2", "p2", 1, "epc", w.epc("a1"), at, -73.0, 1),  # a faint cross-read: not a clone
        ("RF1", "p1", 2, "epc", w.epc("b1"), at + 1000, -50.0, 1),
        ("RF2", "p2", 2, "epc", w.epc("b1"), at + 2000, -49.0, 2),
        ("RF2", "p2", 3, "epc", w.epc("ts1"), at + 3000, -47.0, 1),  # 绝密 heard by RFID only
    ])
    # a2 scanned by two handhelds on two shelves at the same moment: a clone suspect
    later = T0 + timedelta(seconds=20)
    st.ingest(w.store.uow(), w.sig["clerk"], sid, [
        ("HH2", "w2", 1, "barcode", S2, st.to_us(later), None, None),
        ("HH2", "w2", 2, "barcode", w.c("a2"), st.to_us(later + timedelta(seconds=1)), None, None),
        ("HH3", "w3", 1, "barcode", S1, st.to_us(later), None, None),
        ("HH3", "w3", 2, "barcode", w.c("a2"), st.to_us(later + timedelta(seconds=2)), None, None),
    ])
    counts = st.reconcile(w.store.uow(), w.sig["clerk"], sid).counts
    found = sorted((f.kind.value, f.subject, f.classification, f.expected, f.seen, f.method, f.reads, f.peak_rssi,
                    f.detail) for f in w.findings(sid))
    return [tuple(sorted((k.value, n) for k, n in counts.items())), *found]


@pytest.mark.postgres
def test_sqlite_and_postgresql_find_the_same(sqlite_url: str, pg_url: str) -> None:
    results = []
    for url in (sqlite_url, pg_url):
        store = Store(url, terminal="test-terminal", clock=lambda: BUILT_AT)
        store.ensure_schema()
        try:
            results.append(_walk(build_world(store)))
        finally:
            store.dispose()
    on_sqlite, on_pg = results
    assert len(on_sqlite[0]) >= 10  # the walk produced findings of ten kinds and more, not two empty lists
    assert on_sqlite == on_pg
