"""Ingestion: idempotent on (device, batch, sequence), all-or-nothing per upload, resumable after a crash."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from drivers.reads import Read, ReadKind
from labels.codes import make_carrier_code, make_location_code
from tests.stocktake.conftest import C2S1, S1, S2, World, build_world
from tracker import stocktake as st
from tracker.domain import DomainError
from tracker.schema_stocktake import StocktakeRead
from tracker.stocktake.ingest import _place_scans
from tracker.store import Store

ROOT = Path(__file__).resolve().parents[2]


def count(store: Store, sid: int) -> int:
    with store.uow(readonly=True) as uow:
        return int(uow.session.execute(select(func.count()).select_from(StocktakeRead).where(
            StocktakeRead.session_id == sid)).scalar_one())


def test_the_same_upload_twice_adds_nothing(world: World) -> None:
    w = world
    sid = w.start()
    lines = [S1, w.c("a1"), w.c("a2"), S2, w.c("b1")]
    first = w.upload(sid, lines)
    again = w.upload(sid, lines)
    assert (first.added, first.duplicates) == (5, 0)
    assert (again.added, again.duplicates) == (0, 5)
    assert count(w.store, sid) == 5
    assert w.reconcile(sid)["found"] == {w.c("a1"), w.c("a2"), w.c("b1")}


def test_a_big_upload_and_a_reconciliation_leave_their_wal_checkpoint_to_the_checkpointer(world: World) -> None:
    w = world
    sid = w.start()
    checkpointer = w.store.checkpointer
    big = [S1, w.c("a1"), w.c("a2"), *(make_carrier_code("BJ", 500_000 + i) for i in range(st.BULK_READS))]
    if w.store.dialect != "sqlite":
        assert checkpointer is None  # PostgreSQL checkpoints on its own
        assert w.upload(sid, big).added == len(big)
        return
    assert checkpointer is not None
    assert w.upload(sid, [S2, w.c("b1")], device="HH2").added == 2
    checkpointer.wait()
    assert checkpointer.runs == 0  # a small upload asks nothing of the checkpointer
    with checkpointer.hold():
        assert w.upload(sid, big).added == len(big)
        assert checkpointer.runs == 0
        assert count(w.store, sid) == len(big) + 2  # committed before its checkpoint
    checkpointer.wait()
    assert checkpointer.runs == 1
    with checkpointer.hold():  # a reconciliation writes a finding per carrier: a bulk write too
        assert w.reconcile(sid)["found"] == {w.c("a1"), w.c("a2"), w.c("b1")}
        assert checkpointer.runs == 1
    checkpointer.wait()
    assert checkpointer.runs == 2


def stored_reads(store: Store, sid: int) -> list[tuple[Any, ...]]:
    """The session's stored reads as (batch, seq, kind, code, time, RSSI, antenna, place code, holder badge), in
    batch and sequence order."""
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT b.batch, r.seq, r.kind, r.code, r.at_us, r.rssi, r.antenna, l.code, p.badge "
            "FROM stocktake_reads r JOIN stocktake_batches b ON b.id = r.batch_id "
            "LEFT JOIN locations l ON l.id = r.loc_id LEFT JOIN people p ON p.id = r.holder_id "
            "WHERE r.session_id = :s ORDER BY b.batch, r.seq"), {"s": sid})]


def test_every_read_is_stored_with_its_place_whatever_statement_carries_it(world: World) -> None:
    """300 carrier reads in one place go in several multi-row statements (bulk ingest binds their place once); a
    badge, a "B-" code that is no badge and a printed code with an RSSI take other paths. Each must come back as
    sent, with the place of the last location or badge scanned before it."""
    sid = world.start()
    holder = world.sig["clerk"].badge
    codes = [make_carrier_code("BJ", 500_000 + i) for i in range(300)]
    reads: list[st.RawRead] = [("HH7", "big", 1, "barcode", S1, None, None, None)]
    reads += [("HH7", "big", 2 + i, "barcode", c, 1_000 + i, None, None) for i, c in enumerate(codes)]
    reads += [("HH7", "big", 302, "barcode", holder, None, None, None),
              ("HH7", "big", 303, "barcode", "B-NOT-A-BADGE", None, None, None),
              ("HH7", "big", 304, "barcode", codes[0], None, -40.5, 2),
              ("HH7", "big", 305, "barcode", S2, None, None, None),
              ("HH7", "big", 306, "barcode", codes[1], None, None, None)]
    result = st.ingest(world.store.uow(), world.sig["clerk"], sid, reads)
    assert (result.added, result.duplicates, result.places) == (306, 0, 3)
    assert [r[1:] for r in stored_reads(world.store, sid)] == [
        (1, "location", S1, None, None, None, S1, None),
        *[(2 + i, "barcode", c, 1_000 + i, None, None, S1, None) for i, c in enumerate(codes)],
        (302, "badge", holder, None, None, None, None, holder),
        (303, "barcode", "B-NOT-A-BADGE", None, None, None, None, holder),
        (304, "barcode", codes[0], None, -40.5, 2, None, holder),
        (305, "location", S2, None, None, None, S2, None),
        (306, "barcode", codes[1], None, None, None, S2, None),
    ]


def test_a_stretch_numbered_with_gaps_keeps_each_reads_own_number(world: World) -> None:
    """A stretch numbered without gaps binds only its first number (each read's is computed from it); one with gaps
    binds every read's own. Both must store each read under the number it was sent with."""
    sid = world.start()
    codes = [make_carrier_code("BJ", 600_000 + i) for i in range(200)]
    even = [("HH8", "even", 1, "barcode", S1, None, None, None)]
    even += [("HH8", "even", 2 + i, "barcode", c, 5_000 + i, None, None) for i, c in enumerate(codes[:100])]
    gapped = [("HH8", "gaps", 3, "barcode", S2, None, None, None)]
    gapped += [("HH8", "gaps", 10 + 3 * i + i % 2, "barcode", c, None, None, None) for i, c in enumerate(codes[100:])]
    result = st.ingest(world.store.uow(), world.sig["clerk"], sid, even + gapped)
    assert (result.added, result.places) == (202, 2)
    assert [(r[0], r[1], r[2], r[3], r[4], r[7]) for r in stored_reads(world.store, sid)] == [
        ("even", 1, "location", S1, None, S1),
        *[("even", 2 + i, "barcode", c, 5_000 + i, S1) for i, c in enumerate(codes[:100])],
        ("gaps", 3, "location", S2, None, S2),
        *[("gaps", 10 + 3 * i + i % 2, "barcode", c, None, S2) for i, c in enumerate(codes[100:])],
    ]


def test_a_long_batch_with_place_changes_is_stored_as_sent_and_the_cycle_collector_resumes(world: World) -> None:
    """A batch longer than a run transposed in one go (several thousand reads), with location and badge scans in
    it and a read whose code only starts like a place code after a line break: every read comes back with the place
    of the last place scan before it, and Python's cycle collector runs again afterwards, refusal or not."""
    sid = world.start()
    holder = world.sig["clerk"].badge
    codes = [make_carrier_code("BJ", 600_000 + i) for i in range(5_000)]
    odd = "X\nLOC-BJ-R2C1S2"  # not a location code: it does not start with LOC-
    reads: list[st.RawRead] = [("HH8", "long", 1, "barcode", S1, None, None, None)]
    reads += [("HH8", "long", 2 + i, "barcode", c, 10 + i, None, None) for i, c in enumerate(codes[:2_500])]
    reads += [("HH8", "long", 2_502, "barcode", odd, None, None, None),
              ("HH8", "long", 2_503, "barcode", S2, None, None, None)]
    reads += [("HH8", "long", 2_504 + i, "barcode", c, None, None, None) for i, c in enumerate(codes[2_500:4_000])]
    reads += [("HH8", "long", 4_004, "barcode", holder, None, None, None)]
    reads += [("HH8", "long", 4_005 + i, "barcode", c, None, None, None) for i, c in enumerate(codes[4_000:])]
    assert gc.isenabled()
    result = st.ingest(world.store.uow(), world.sig["clerk"], sid, reads)
    assert (result.added, result.places) == (len(reads), 3)
    assert gc.isenabled()
    with world.store.engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(text(
            "SELECT r.seq, r.kind, r.code, r.at_us, l.code, p.badge FROM stocktake_reads r "
            "LEFT JOIN locations l ON l.id = r.loc_id LEFT JOIN people p ON p.id = r.holder_id "
            "WHERE r.session_id = :s ORDER BY r.seq"), {"s": sid})]
    expected = _expected_places(reads, holder)
    assert stored == expected
    with pytest.raises(DomainError):
        st.ingest(world.store.uow(), world.sig["clerk"], sid, [("HH8", "bad", 1, "barcode", codes[0], None, None,
                                                                 None)])
    assert gc.isenabled()


def _expected_places(reads: list[st.RawRead], holder: str) -> list[tuple[object, ...]]:
    """Each read as the register keeps it: in the place of the last location scan before it, or with the person
    of the last badge scan."""
    out: list[tuple[object, ...]] = []
    place: str | None = None
    person: str | None = None
    for _, _, seq, _, code, at, _, _ in reads:
        if code.startswith("LOC-"):
            place, person = code, None
            out.append((seq, "location", code, at, place, None))
        elif code == holder:
            place, person = None, code
            out.append((seq, "badge", code, at, None, person))
        else:
            out.append((seq, "barcode", code, at, place, person))
    return out


def test_a_reused_batch_id_with_other_reads_is_refused_and_changes_nothing(world: World) -> None:
    w = world
    sid = w.start()
    w.upload(sid, [S1, w.c("a1")], batch="b-1")
    with pytest.raises(DomainError, match="batch id was reused"):
        w.upload(sid, [S1, w.c("a2"), w.c("b1")], batch="b-1")
    assert count(w.store, sid) == 2


def test_reads_need_a_place_first(world: World) -> None:
    w = world
    sid = w.start()
    with pytest.raises(DomainError, match="before any location code") as e:
        w.upload(sid, [w.c("a1"), S1, w.c("a2")])
    assert "HH1/" in e.value.en and "scan" in e.value.en and e.value.zh
    with pytest.raises(DomainError, match="outside the scope"):
        w.upload(sid, [S1, w.c("a1"), C2S1, w.c("out1")])
    with pytest.raises(DomainError, match="not a location in the register"):
        w.upload(sid, [make_location_code("BJ", "NOPE"), w.c("a1")])
    with pytest.raises(DomainError, match="bind"):
        st.ingest(w.store.uow(), w.sig["clerk"], sid, [("RF9", "x", 1, "epc", w.epc("a1"), None, -50.0, 1)])
    assert count(w.store, sid) == 0


def test_a_failure_mid_upload_stores_nothing_and_the_retry_stores_all(world: World) -> None:
    w = world
    sid = w.start()
    reads = st.parse_upload("\n".join([S1, w.c("a1"), w.c("a2"), S2, w.c("b1"), w.c("b2")]), device="HH1").reads

    def pulled_cable() -> Iterator[st.RawRead]:
        yield from reads[:4]
        raise OSError("handheld disconnected")

    with pytest.raises(OSError):
        st.ingest(w.store.uow(), w.sig["clerk"], sid, pulled_cable())
    assert count(w.store, sid) == 0
    assert st.ingest(w.store.uow(), w.sig["clerk"], sid, reads).added == 6


def test_a_database_error_mid_insert_is_raised_as_such_and_stores_nothing(world: World) -> None:
    """The database itself refuses one read (here a trigger, standing for a full disk or a broken constraint): the
    upload fails with SQLAlchemy's DBAPIError, as every other database error does, and none of its reads stay."""
    w = world
    sid = w.start()
    codes = [make_carrier_code("BJ", 700_000 + i) for i in range(300)]
    reads = [("HH9", "t", 1, "barcode", S1, None, None, None)]
    reads += [("HH9", "t", 2 + i, "barcode", c, None, None, None) for i, c in enumerate(codes)]
    with w.store.engine.begin() as conn:
        if w.store.dialect == "sqlite":
            conn.execute(text("CREATE TRIGGER refuse_read BEFORE INSERT ON stocktake_reads WHEN NEW.seq = 250 "
                              "BEGIN SELECT RAISE(ABORT, 'read 250 refused'); END"))
        else:
            conn.execute(text("CREATE FUNCTION refuse_read() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                              "IF NEW.seq = 250 THEN RAISE EXCEPTION 'read 250 refused'; END IF; RETURN NEW; END $$"))
            conn.execute(text("CREATE TRIGGER refuse_read BEFORE INSERT ON stocktake_reads FOR EACH ROW "
                              "EXECUTE FUNCTION refuse_read()"))
    with pytest.raises(DBAPIError, match="read 250 refused"):
        st.ingest(w.store.uow(), w.sig["clerk"], sid, reads)
    assert count(w.store, sid) == 0
    with w.store.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER refuse_read" + ("" if w.store.dialect == "sqlite" else " ON stocktake_reads")))
    assert st.ingest(w.store.uow(), w.sig["clerk"], sid, reads).added == 301


def test_chunked_resume_continues_the_place_of_the_batch(world: World) -> None:
    w = world
    sid = w.start()
    reads = st.parse_upload("\n".join([S1, w.c("a1"), w.c("a2"), S2, w.c("b1"), w.c("b2")]), device="HH1",
                            batch="walk").reads
    # the first half lands, the rest arrives later (a resumed upload): b2 is still read "in S2"
    st.ingest(w.store.uow(), w.sig["clerk"], sid, reads[:5])
    result = st.ingest(w.store.uow(), w.sig["clerk"], sid, reads[5:])
    assert result.added == 1
    got = w.reconcile(sid)
    assert {w.c("b1"), w.c("b2")} <= got["found"]


def test_live_reads_resume_numbering_and_place_after_a_restart(world: World) -> None:
    w = world
    sid = w.start()
    at = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    live = st.LiveIngest(w.store, w.sig["clerk"], sid, "WEDGE1", "counter")
    live.add(Read(S2, device="WEDGE1", at=at))
    live.add(Read(w.c("b1"), device="WEDGE1", at=at))
    with pytest.raises(DomainError):
        live.add(Read(C2S1, device="WEDGE1", at=at))  # refused, nothing stored, number reused
    restarted = st.LiveIngest(w.store, w.sig["clerk"], sid, "WEDGE1", "counter")
    assert restarted.next_seq == 3
    restarted.add(Read(w.c("b2"), device="WEDGE1", at=at))
    restarted.add(Read(w.epc("a1"), kind=ReadKind.EPC, device="WEDGE1", at=at, rssi=-50.0, antenna=1))
    got = w.reconcile(sid)
    assert {w.c("b1"), w.c("b2")} <= got["found"]
    assert w.c("a1") in got["misplaced"]  # its tag was read while the place was S2
    assert count(w.store, sid) == 4


def test_live_flush_stores_every_good_read_of_a_chunk_with_a_refused_one(world: World) -> None:
    w = world
    sid = w.start()
    at = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    live = st.LiveIngest(w.store, w.sig["clerk"], sid, "PAD7", "walk", flush_every=100)
    codes = [w.c("a1"), S2, w.c("b1"), "LOC-BJ-NOWHERE", w.c("b2")]  # a1 before any place, then an unknown place
    for code in codes:
        live.add(Read(code, device="PAD7", at=at))
    with pytest.raises(st.ReadsRefused) as caught:
        live.flush()
    refused = caught.value.result.refused
    assert [(r.seq, r.code) for r in refused] == [(1, w.c("a1")), (4, "LOC-BJ-NOWHERE")]
    assert "before any location code" in refused[0].en and "未扫描位置码" in refused[0].zh
    assert "LOC-BJ-NOWHERE" in refused[1].en and "LOC-BJ-NOWHERE" in refused[1].zh
    assert caught.value.result.added == 3 and count(w.store, sid) == 3
    assert live.pending == [] and live.next_seq == 6  # the gap at 1 and 4 marks the refused scans
    got = w.reconcile(sid)
    assert {w.c("b1"), w.c("b2")} <= got["found"]  # b2 stays in S2: the unknown place changed nothing
    assert w.c("a1") in got["not_covered"]  # its read was refused, and S1 was never visited
    live.add(Read(w.c("b2"), device="PAD7", at=at))  # the next chunk goes on as usual
    assert live.flush().added == 1


def test_upload_formats_refuse_bad_lines(world: World) -> None:
    with pytest.raises(DomainError, match="give the device"):
        st.parse_upload("A\nB")
    with pytest.raises(DomainError, match="line 3"):
        st.parse_upload("code,time\nBJ-000001S,2026-11-25T10:00:00Z\nBJ-000002Q,yesterday", device="HH1")
    with pytest.raises(DomainError, match="no time zone"):
        st.parse_upload("code,time\nBJ-000001S,2026-11-25T10:00:00", device="HH1")
    shuffled = st.parse_upload("device,seq,code\nHH2,2,BJ-000002Q\nHH1,1,LOC-BJ-R2C1S1*\nHH2,1,LOC-BJ-R2C1S2Y")
    assert [(r[0], r[2]) for r in shuffled.reads] == [("HH1", 1), ("HH2", 1), ("HH2", 2)]
    with pytest.raises(DomainError, match="Unknown CSV column"):
        st.parse_upload("code,colour\nX,red", device="HH1")
    with pytest.raises(DomainError, match="RFID upload"):
        st.parse_upload("device,batch,seq,epc,rssi,antenna,at\nRF1,b,1,XYZ,-50,1,2026-11-25T10:00:00Z")
    misread_place = S1[:-1] + ("A" if S1[-1] != "A" else "B")  # a wrong check character
    for lines, line in (([S1, "BJ-000001S", "hello", "BJ-000002Q"], 3), ([S1, "BJ-000001S", "BJ-X000001"], 3),
                        ([misread_place, "BJ-000001S"], 1), ([S1, "BJ-000001S", "BJ-000002R"], 3)):
        with pytest.raises(DomainError, match=f"line {line}") as e:
            st.parse_upload("\n".join(lines), device="HH1")
        assert "nothing was stored" in e.value.en and f"第 {line} 行" in e.value.zh
    with pytest.raises(DomainError, match="line 3"):
        st.parse_upload("code\nBJ-000001S\nhello", device="HH1")
    up = st.parse_upload("\nloc-bj-r2c1s1*\n e2801160600002054ab0b2a1 \n", device="HH1")
    assert up.format == "plain"
    assert [(r[2], r[3], r[4]) for r in up.reads] == [(1, "barcode", "LOC-BJ-R2C1S1*"),
                                                     (2, "epc", "E2801160600002054AB0B2A1")]


def test_opticon_file_growing_between_uploads_books_each_scan_once(world: World) -> None:
    w = world
    sid = w.start()
    lines = [f"{S1},OPN0042,10:00:00,25/11/2026", f"{w.c('a1')},OPN0042,10:00:05,25/11/2026",
             f"{w.c('a2')},OPN0042,10:00:09,25/11/2026"]
    cut = ("\r\n".join(lines[:2]) + "\r\n" + lines[2][:12]).encode()  # unloaded while the last scan was written
    up = st.parse_upload(cut, name="SCANNED.TXT", tz=UTC)
    assert up.format == "opticon" and len(up.reads) == 2 and up.held_back
    assert up.reads[1][0] == "OPN0042" and up.reads[1][5] == st.to_us(datetime(2026, 11, 25, 10, 0, 5, tzinfo=UTC))
    assert st.ingest(w.store.uow(), w.sig["clerk"], sid, up.reads).added == 2
    grown = st.parse_upload(("\r\n".join(lines) + "\r\n").encode(), name="SCANNED.TXT", tz=UTC)
    result = st.ingest(w.store.uow(), w.sig["clerk"], sid, grown.reads)
    assert (result.added, result.duplicates) == (1, 2)
    assert {w.c("a1"), w.c("a2")} <= w.reconcile(sid)["found"]
    with pytest.raises(DomainError, match="line 2"):
        st.parse_upload(f"{S1},OPN1,10:00:00,25/11/2026\r\nBJ-1,OPN1,25:99,xx\r\n".encode(), name="SCANNED.TXT")


def test_closed_sessions_take_no_reads(world: World) -> None:
    w = world
    sid = w.start(roots=[C2S1], units=[])
    w.upload(sid, [C2S1, w.c("out1")])
    st.close(w.store.uow(), w.sig["officer"], sid)
    with pytest.raises(DomainError, match="closed"):
        w.upload(sid, [C2S1, w.c("out1")], batch="late")


_KILLED_IMPORT = textwrap.dedent("""
    import sys
    from tracker.services.common import configure_hasher, authenticate
    from tracker import stocktake as st
    from tracker.store import Store
    configure_hasher(1, 8)
    store = Store(sys.argv[1], terminal="crash")
    clerk = authenticate(store.uow(), sys.argv[2], "482916")
    data = open(sys.argv[3], encoding="utf-8").read()
    reads = st.parse_upload(data, device="HH7", batch="big").reads

    # The importer stands still before its fifth commit until it is killed: however fast the machine, the kill
    # lands mid-import (a pause per 500 reads once let a fast CI machine finish all 20,004 before the kill).
    commits = 0

    def hold(conn):
        global commits
        commits += 1
        if commits == 5:
            print("HELD", flush=True)
            import time; time.sleep(3600)

    from sqlalchemy import event
    event.listen(store.engine, "commit", hold)
    st.ingest(store.uow(), clerk, int(sys.argv[4]), iter(reads), commit_every=500)
    print("finished")
""")


def test_sigkill_mid_import_then_resume_adds_the_rest_exactly_once(sqlite_store: Store, tmp_path: Path) -> None:
    w = build_world(sqlite_store)
    sid = w.start()
    codes = [w.c(n) for n in ("a1", "a2", "b1", "b2")] + [make_carrier_code("BJ", 500_000 + i) for i in range(1, 20000)]
    lines = [S1, *codes]
    upload = tmp_path / "handheld.txt"
    upload.write_text("\n".join(lines), encoding="utf-8")
    script = tmp_path / "importer.py"
    script.write_text(_KILLED_IMPORT, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(script), sqlite_store.url, w.sig["clerk"].badge, str(upload),
                             str(sid)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "HELD", proc.stderr.read() if proc.stderr else "importer ended early"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    landed = count(sqlite_store, sid)
    assert landed == 2000  # four commits of 500
    result = w.upload(sid, lines, device="HH7", batch="big")
    assert result.added == len(lines) - landed and result.duplicates == landed
    assert count(sqlite_store, sid) == len(lines)
    with sqlite_store.engine.connect() as conn:
        seqs = conn.execute(text("SELECT COUNT(DISTINCT seq), MIN(seq), MAX(seq) FROM stocktake_reads "
                                 "WHERE session_id = :s"), {"s": sid}).one()
    assert tuple(seqs) == (len(lines), 1, len(lines))


@pytest.mark.parametrize("codes", [
    ["LOC-A", "BJ-1", "BJ-2", "LOC-B", "LOC-C", "B-7", "BJ-3"],
    ["BJ-1", "XLOC-1", "BB-2", "LOC", "B", "-B-", "BJ-LOC-3", "B-"],
    ["", "LOC-", "", "B-1", ""],
    ["BJ-1\nLOC-2", "LOC-3", "B-\n"],  # a newline inside a code: matched one by one
    ["LOC-A"],
    [],
])
def test_place_scans_are_found_wherever_they_stand(codes: list[str]) -> None:
    """Location and badge scans are found by searching the joined codes; the answer must be the codes that start
    with a place prefix, and no others."""
    assert _place_scans(codes) == [i for i, c in enumerate(codes) if c.startswith(("LOC-", "B-"))]
