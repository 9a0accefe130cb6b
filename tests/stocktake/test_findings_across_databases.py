"""The same stock-take on SQLite and on PostgreSQL gives the same findings, field for field.

The reconciliation is SQL run on the server, with parts of it written per database (COPY on PostgreSQL, worker
connections on a SQLite file), so each database is tested on its own elsewhere (test_findings); here one walk that
produces nearly every kind — barcode, RFID with cross-reads, clone suspicion, top secret heard only by RFID — is
reconciled on both registers, built alike, and the findings compared whole: kind, subject, expected and seen place,
method, reads, peak RSSI and detail text. A second walk is made of the cases PostgreSQL's one-pass fold keeps apart
from the plain "read once where expected" (codes read twice in one place, read in two places, outside the snapshot
once, twice or in two places, heard by RFID and scanned again, never read): each is compared the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from labels.codes import make_carrier_code
from tests.stocktake.conftest import BUILT_AT, S1, S2, S3, UNKNOWN, World, build_world
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
    return _reconciled(w, sid)


def _reconciled(w: World, sid: int) -> list[tuple[object, ...]]:
    counts = st.reconcile(w.store.uow(), w.sig["clerk"], sid).counts
    found = sorted((f.kind.value, f.subject, f.classification, f.expected, f.seen, f.method, f.reads, f.peak_rssi,
                    f.detail) for f in w.findings(sid))
    return [tuple(sorted((k.value, n) for k, n in counts.items())), *found]


STRAY1, STRAY2, STRAY3 = (make_carrier_code("BJ", n) for n in (999998, 999997, 999996))


def _repeats(w: World) -> list[tuple[object, ...]]:
    sid = w.start()
    st.bind(w.store.uow(), w.sig["clerk"], sid, "RF1", "p1", S1)
    w.upload(sid, [S1, w.c("a1"), w.c("a1"), w.c("a2"), w.c("b1"), UNKNOWN, STRAY1, STRAY1, STRAY2,
                   S2, w.c("b1"), w.c("b2"), w.c("b2"), STRAY2, w.c("out1"), w.c("loan3"),
                   S3], device="HH1")
    w.upload(sid, [S2, w.c("b2"), STRAY3], device="HH2")
    at = st.to_us(T0)
    assert at is not None
    st.ingest(w.store.uow(), w.sig["clerk"], sid, [
        ("RF1", "p1", 1, "epc", w.epc("a1"), at, -45.0, 1),  # heard by RFID and scanned twice
        ("RF1", "p1", 2, "epc", w.epc("b1"), at + 1000, -52.0, 1),  # heard where it was scanned in two places
    ])
    return _reconciled(w, sid)


def _on_both(sqlite_url: str, pg_url: str, walk: Callable[[World], list[tuple[object, ...]]]) -> list[Any]:
    """The walk's findings on SQLite and on PostgreSQL, then the carrier codes (the same in both worlds)."""
    results: list[Any] = []
    for url in (sqlite_url, pg_url):
        store = Store(url, terminal="test-terminal", clock=lambda: BUILT_AT)
        store.ensure_schema()
        try:
            w = build_world(store)
            results.append(walk(w))
        finally:
            store.dispose()
    return [*results, w.codes]


@pytest.mark.postgres
def test_sqlite_and_postgresql_find_the_same(sqlite_url: str, pg_url: str) -> None:
    on_sqlite, on_pg, _codes = _on_both(sqlite_url, pg_url, _walk)
    assert len(on_sqlite[0]) >= 10  # the walk produced findings of ten kinds and more, not two empty lists
    assert on_sqlite == on_pg


@pytest.mark.postgres
def test_sqlite_and_postgresql_agree_on_repeated_and_stray_codes(sqlite_url: str, pg_url: str) -> None:
    on_sqlite, on_pg, codes = _on_both(sqlite_url, pg_url, _repeats)
    assert on_sqlite == on_pg
    by_subject = {f[1]: (f[0], f[4], f[6]) for f in on_sqlite[1:]}  # kind, seen place, reads
    assert by_subject[STRAY1] == ("unknown_code", S1, 2)  # outside the snapshot, twice in one place
    assert by_subject[STRAY2] == ("unknown_code", S2, 2)  # outside the snapshot, in two places: the latest
    assert by_subject[STRAY3] == ("unknown_code", S2, 1)
    assert by_subject[UNKNOWN] == ("unknown_code", S1, 1)
    assert by_subject[codes["a1"]] == ("found", S1, 3)  # scanned twice and heard by RFID
    assert ("found", S2, 3) in by_subject.values()  # b1 (scanned in two places, latest wins) and b2 (three scans)
    assert {f[0] for f in on_sqlite[1:]} >= {"found", "missing", "loan_not_closed", "outside_scope", "unknown_code"}

