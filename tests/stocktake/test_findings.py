"""Every finding kind, on registers and read sets whose right answer is known (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

import tracker.stocktake.parts as reconcile_parts
from drivers.rfid import upload as rfid_upload
from tests.stocktake.conftest import CAB1, ROOM1, S1, S2, S3, SAFE, UNKNOWN, World, build_world
from tracker import stocktake as st
from tracker.demo import badge
from tracker.services.common import Signed
from tracker.stocktake.kinds import FindingKind
from tracker.store import Store

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _handheld_walk(w: World, sid: int) -> None:
    w.upload(sid, [
        S1, w.c("a1"), w.c("b1"), w.c("loan1"), w.c("gone1"), w.c("lost1"), w.c("out1"), UNKNOWN,
        S2, w.c("b2"),
        badge("reader_core"), w.c("loan2"),
    ])


def test_every_barcode_finding_kind(world: World) -> None:
    w = world
    sid = w.start()
    _handheld_walk(w, sid)
    got = w.reconcile(sid)
    assert got["found"] == {w.c("a1"), w.c("b2"), w.c("loan2")}
    assert got["missing"] == {w.c("a2"), w.c("loan3")}  # S1 was visited; 吴强 was visited (badge scanned)
    assert got["misplaced"] == {w.c("b1")}
    assert got["not_covered"] == {w.c("c1")}  # S3 never visited: not covered, not missing
    assert got["loan_not_closed"] == {w.c("loan1")}
    assert got["gone_seen"] == {w.c("gone1")}
    assert got["missing_seen"] == {w.c("lost1")}
    assert got["outside_scope"] == {w.c("out1")}
    assert got["unknown_code"] == {UNKNOWN}
    assert got["not_visited"] == {S3, CAB1}  # the cabinet holds nothing itself and one of its shelves is unvisited
    assert "clone_suspect" not in got and "ambiguous" not in got
    assert FindingKind.GONE_SEEN.critical


def test_found_carriers_are_counted_with_their_reads_and_only_once_reconciled(world: World) -> None:
    """Carriers found as expected have no finding row of their own (the snapshot carriers left without a finding),
    and only a carrier read more than once keeps its count: the listing, the per-place progress and the session's
    counts must still say found, with the right reads, and say nothing before the first reconciliation."""
    w = world
    sid = w.start()
    w.upload(sid, [S1, w.c("a1"), w.c("a2"), w.c("a1"), S2, w.c("b1")])
    view = st.session_view(w.store.uow(readonly=True), sid)
    assert view.counts.get(FindingKind.FOUND, 0) == 0
    assert not [f for f in w.findings(sid) if f.kind is FindingKind.FOUND]
    assert all(p.seen == 0 for p in st.progress(w.store.uow(readonly=True), sid))
    w.reconcile(sid)
    found = {f.subject: f for f in w.findings(sid) if f.kind is FindingKind.FOUND}
    assert {c: (f.reads, f.expected, f.seen, f.method) for c, f in found.items()} == {
        w.c("a1"): (2, S1, S1, "scan"), w.c("a2"): (1, S1, S1, "scan"), w.c("b1"): (1, S2, S2, "scan")}
    view = st.session_view(w.store.uow(readonly=True), sid)
    assert view.counts[FindingKind.FOUND] == 3
    progress = {p.code: p for p in st.progress(w.store.uow(readonly=True), sid)}
    assert (progress[S1].seen, progress[S2].seen, progress[S3].seen) == (2, 1, 0)
    w.upload(sid, [S2, w.c("b2")], batch="second")
    w.reconcile(sid)  # b2 found now too; a1 still read twice
    found = {f.subject: f.reads for f in w.findings(sid) if f.kind is FindingKind.FOUND}
    assert found == {w.c("a1"): 2, w.c("a2"): 1, w.c("b1"): 1, w.c("b2"): 1}


def test_misplaced_is_never_also_missing(world: World) -> None:
    w = world
    sid = w.start()
    w.upload(sid, [S1, w.c("a1"), w.c("a2"), w.c("b1"), w.c("b2"), S2, S3, w.c("c1")])
    got = w.reconcile(sid)
    assert got["misplaced"] == {w.c("b1"), w.c("b2")}
    assert "missing" not in got or not ({w.c("b1"), w.c("b2")} & got["missing"])
    views = {f.subject: f for f in w.findings(sid)}
    assert views[w.c("b1")].expected == S2 and views[w.c("b1")].seen == S1
    progress = {p.code: p for p in st.progress(w.store.uow(readonly=True), sid)}
    assert (progress[S2].expected, progress[S2].seen, progress[S2].missing, progress[S2].misplaced) == (2, 2, 0, 2)
    assert progress[S1].seen == 2 and progress[S1].unexplained == 0


def test_latest_scan_places_a_carrier_moved_during_the_walk(world: World) -> None:
    w = world
    sid = w.start()
    w.upload(sid, [S2, w.c("a1"), S1, w.c("a1")])
    assert w.c("a1") in w.reconcile(sid)["found"]


def _csv(rows: list[tuple[str, datetime, str, str]]) -> str:
    lines = ["device,time,batch,code"]
    lines += [f"{d},{t.isoformat().replace('+00:00', 'Z')},{b},{c}" for d, t, b, c in rows]
    return "\n".join(lines)


def test_clone_suspicion_two_devices_two_places_same_time(world: World) -> None:
    w = world
    sid = w.start()
    data = _csv([
        ("HH1", T0, "walk1", S1), ("HH1", T0 + timedelta(seconds=5), "walk1", w.c("a1")),
        ("HH1", T0 + timedelta(seconds=6), "walk1", w.c("a2")),
        ("HH2", T0 + timedelta(seconds=20), "walk2", S2), ("HH2", T0 + timedelta(seconds=30), "walk2", w.c("a1")),
        # b2 seen in two places an hour apart: moved, not cloned
        ("HH2", T0 + timedelta(seconds=40), "walk2", w.c("b2")),
        ("HH1", T0 + timedelta(hours=1), "walk1", w.c("b2")),
    ])
    up = st.parse_upload(data)
    assert up.format == "csv"
    st.ingest(w.store.uow(), w.sig["clerk"], sid, up.reads)
    got = w.reconcile(sid)
    assert got["clone_suspect"] == {w.c("a1")}
    clone = next(f for f in w.findings(sid) if f.kind is FindingKind.CLONE_SUSPECT)
    assert "HH1@" + S1 in clone.detail and "HH2@" + S2 in clone.detail


def test_a_cross_read_by_a_second_reader_is_not_a_clone(world: World) -> None:
    w = world
    sid = w.start()
    st.bind(w.store.uow(), w.sig["clerk"], sid, "RF1", "p1", S1)
    st.bind(w.store.uow(), w.sig["clerk"], sid, "RF2", "p2", S2)
    at = st.to_us(T0)
    # a person scans a1 on S1 while RF1 reads it strongly there and RF2 on S2 hears it faintly through the shelf
    w.upload(sid, [S1, w.c("a1")], device="HH1")
    st.ingest(w.store.uow(), w.sig["clerk"], sid, [
        ("RF1", "p1", 1, "epc", w.epc("a1"), at, -44.0, 1),
        ("RF2", "p2", 1, "epc", w.epc("a1"), at, -73.0, 1),
    ])
    csv_scan = _csv([("HH2", T0 + timedelta(seconds=3), "w", S1), ("HH2", T0 + timedelta(seconds=4), "w", w.c("a1"))])
    st.ingest(w.store.uow(), w.sig["clerk"], sid, st.parse_upload(csv_scan).reads)
    got = w.reconcile(sid)
    assert "clone_suspect" not in got and w.c("a1") in got["found"]
    # but the same tag heard strongly by RF2 on S2 at the same moment is two places at once
    st.ingest(w.store.uow(), w.sig["clerk"], sid, [("RF2", "p2", 2, "epc", w.epc("a1"), at, -45.0, 1)])
    assert w.reconcile(sid)["clone_suspect"] == {w.c("a1")}


def _rfid(device: str, batch: str, tags: list[tuple[str, float, int]]) -> list[rfid_upload.UploadRow]:
    rows = []
    seq = 0
    for epc, rssi, count in tags:
        for i in range(count):
            seq += 1
            rows.append(rfid_upload.UploadRow(device, batch, seq, epc, rssi - i * 0.5, 1, T0 + timedelta(seconds=seq)))
    return rows


def _bind_passes(w: World, sid: int) -> None:
    """Reader RF1's two passes: p1 over shelf S1, p2 over shelf S2."""
    st.bind(w.store.uow(), w.sig["clerk"], sid, "RF1", "p1", S1)
    st.bind(w.store.uow(), w.sig["clerk"], sid, "RF1", "p2", S2)


def _ingest_rfid(store: Store, actor: Signed, sid: int, rows: list[rfid_upload.UploadRow]) -> None:
    st.ingest(store.uow(), actor, sid,
              [(r.device, r.batch, r.seq, "epc", r.epc, st.to_us(r.at), r.rssi, r.antenna) for r in rows])


def test_rfid_cross_reads_are_placed_where_strongest_and_most_numerous(world: World, tmp_path: Path) -> None:
    w = world
    sid = w.start()
    for batch, where in (("pass-s1", S1), ("pass-s2", S2), ("pass-s3", S3)):
        st.bind(w.store.uow(), w.sig["clerk"], sid, "RF1", batch, where)
    rows = _rfid("RF1", "pass-s1", [(w.epc("a1"), -45.0, 6), (w.epc("b1"), -58.0, 3)])
    rows += _rfid("RF1", "pass-s2", [(w.epc("a1"), -71.0, 2), (w.epc("b1"), -57.0, 3)])
    # c1's tag was never recorded in the register: its EPC decodes to its code (GID-96)
    rows += _rfid("RF1", "pass-s3", [(w.epc("c1"), -50.0, 2)])
    path = tmp_path / "inventory.csv"
    rfid_upload.write_csv(rows, path)
    up = st.parse_upload(path.read_text())
    assert up.format == "rfid"
    st.ingest(w.store.uow(), w.sig["clerk"], sid, up.reads)
    got = w.reconcile(sid)
    assert w.c("a1") in got["found"]  # the weak reads from S2 are cross-reads
    assert got["ambiguous"] == {w.c("b1")}  # as strong and as numerous in S1 and S2
    assert w.c("c1") in got["found"]
    amb = next(f for f in w.findings(sid) if f.kind is FindingKind.AMBIGUOUS)
    assert S1 in amb.detail and S2 in amb.detail
    # every place of the scope was visited through its bound RFID pass
    assert "not_visited" not in got


def test_rfid_many_weak_reads_elsewhere_make_the_placement_ambiguous(world: World) -> None:
    w = world
    sid = w.start()
    _bind_passes(w, sid)
    rows = _rfid("RF1", "p1", [(w.epc("a1"), -45.0, 2)]) + _rfid("RF1", "p2", [(w.epc("a1"), -65.0, 12)])
    _ingest_rfid(w.store, w.sig["clerk"], sid, rows)
    assert w.reconcile(sid)["ambiguous"] == {w.c("a1")}


def test_people_scanning_a_tagged_carrier_once_or_twice_place_it_whatever_rfid_heard(world: World) -> None:
    """A tagged carrier's printed-code sightings come from its one read when people scanned it once, and from the
    reads again when they scanned it more often: either way the latest person's scan places it, RFID is outvoted,
    and every read counts."""
    w = world
    sid = w.start()
    _bind_passes(w, sid)
    rows = _rfid("RF1", "p2", [(w.epc("a1"), -45.0, 3)]) + _rfid("RF1", "p1", [(w.epc("b1"), -45.0, 3)])
    _ingest_rfid(w.store, w.sig["clerk"], sid, rows)
    w.upload(sid, [S1, w.c("a1"), S2, w.c("b1"), w.c("b2"), S2, w.c("b1")], batch="walk")
    got = w.reconcile(sid)
    assert {w.c("a1"), w.c("b1"), w.c("b2")} <= got["found"]  # RFID heard a1 in S2 and b1 in S1: outvoted
    views = {f.subject: f for f in w.findings(sid)}
    assert (views[w.c("a1")].method, views[w.c("a1")].reads) == ("scan", 1 + 3)
    assert (views[w.c("b1")].method, views[w.c("b1")].reads) == ("scan", 2 + 3)


def test_top_secret_seen_only_by_rfid_needs_a_person(world: World) -> None:
    w = world
    sid = w.start(roots=[ROOM1], units=[])
    st.bind(w.store.uow(), w.sig["clerk"], sid, "RF1", "safe", SAFE)
    rows = _rfid("RF1", "safe", [(w.epc("ts1"), -40.0, 3)])
    _ingest_rfid(w.store, w.sig["clerk"], sid, rows)
    got = w.reconcile(sid)
    assert got["unconfirmed_top_secret"] == {w.c("ts1")}
    assert w.c("ts1") in got["found"]
    # a person scans it: confirmed
    w.upload(sid, [SAFE, w.c("ts1")], device="HH1")
    got = w.reconcile(sid)
    assert "unconfirmed_top_secret" not in got and w.c("ts1") in got["found"]


def test_level_filter_leaves_other_levels_out(world: World) -> None:
    w = world
    sid = w.start(roots=[ROOM1], units=[], levels=["top_secret"])
    view = st.session_view(w.store.uow(readonly=True), sid)
    assert view.expected == 1 and view.levels == ["top_secret"]
    w.upload(sid, [SAFE, w.c("ts1"), ROOM1])
    got = w.reconcile(sid)
    assert got == {"found": {w.c("ts1")}}


def _normalised(store: Store, sid: int) -> list[tuple[object, ...]]:
    return sorted((f.kind.value, f.subject, f.expected, f.seen, f.method, f.reads, f.detail)
                  for f in st.findings(store.uow(readonly=True), sid))


@pytest.mark.postgres
def test_identical_findings_on_sqlite_and_postgresql(sqlite_url: str, pg_url: str, clock: object,
                                                    tmp_path: Path) -> None:
    results = []
    for url in (sqlite_url, pg_url):
        store = Store(url, terminal="t", clock=clock)  # type: ignore[arg-type]
        store.ensure_schema()
        w = build_world(store)
        sid = _mixed_walk(w)
        w.reconcile(sid)
        results.append(_normalised(store, sid))
        store.dispose()
    assert results[0] == results[1]
    assert len(results[0]) > 12


def _mixed_walk(w: World) -> int:
    """A session with handheld scans and RFID passes that between them give a dozen kinds of finding."""
    sid = w.start()
    _handheld_walk(w, sid)
    _bind_passes(w, sid)
    rows = _rfid("RF1", "p1", [(w.epc("a1"), -45.0, 4), (w.epc("b1"), -58.0, 3)])
    rows += _rfid("RF1", "p2", [(w.epc("a1"), -75.0, 1), (w.epc("b1"), -57.5, 3), (w.epc("c1"), -50.0, 1)])
    _ingest_rfid(w.store, w.sig["clerk"], sid, rows)
    return sid


def _checkouts(store: Store) -> list[int]:
    """Counts the connections the store's pool hands out (a reconciliation's workers each take one)."""
    seen = [0]

    def checkout(*_args: object) -> None:
        seen[0] += 1

    event.listen(store.engine, "checkout", checkout)
    return seen


@pytest.mark.parametrize("world", ["sqlite"], indirect=True)
def test_reconciling_in_parts_by_code_range_changes_no_finding(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a SQLite file the two big passes run in parts by code range, on worker connections: three parts over
    this small snapshot must give exactly what one part gives, read count and detail included."""
    w = world
    sid = _mixed_walk(w)
    seen = _checkouts(w.store)
    checkpointer = w.store.checkpointer
    assert checkpointer is not None
    w.reconcile(sid)
    checkpointer.wait()  # its background WAL checkpoint takes a connection too, whenever its thread gets to it
    single = seen[0]
    one_part = _normalised(w.store, sid)
    monkeypatch.setattr(reconcile_parts, "PART_CARRIERS", 1)
    monkeypatch.setattr(reconcile_parts, "PARALLEL", 3)
    seen[0] = 0
    w.reconcile(sid)
    checkpointer.wait()
    assert seen[0] == single + 2  # two more workers (the listing is not counted either time)
    assert _normalised(w.store, sid) == one_part
    assert len({f[0] for f in one_part}) >= 8


@pytest.mark.parametrize("world", ["sqlite"], indirect=True)
def test_a_register_in_memory_reconciles_on_its_own_connection(world: World, clock: object) -> None:
    """`sqlite://` (in memory) cannot be opened by a worker: its passes run on the reconciling connection, with the
    same findings as the file. (The connection's memory-map setting, which such a database lacks, used to fail
    the reconciliation.)"""
    sid = _mixed_walk(world)
    world.reconcile(sid)
    store = Store("sqlite://", terminal="t", clock=clock)  # type: ignore[arg-type]
    store.ensure_schema()
    w = build_world(store)
    assert _mixed_walk(w) == sid
    w.reconcile(sid)
    assert _normalised(store, sid) == _normalised(world.store, sid)
    store.dispose()


def _settings_seen_by_the_fold(store: Store) -> list[tuple[str, str]]:
    """work_mem and jit as the connection has them when the PostgreSQL fold runs, once per reconciliation."""
    seen: list[tuple[str, str]] = []

    def before(_conn: object, cursor: Any, statement: str, *_args: object) -> None:
        if statement.lstrip().startswith("INSERT INTO st_j"):
            con = cursor.connection
            seen.append((con.execute("SHOW work_mem").fetchone()[0], con.execute("SHOW jit").fetchone()[0]))

    event.listen(store.engine, "before_cursor_execute", before)
    return seen


def _show(store: Store, name: str) -> str:
    with store.engine.connect() as c:
        return str(c.exec_driver_sql(f"SHOW {name}").scalar())


@pytest.mark.parametrize("world", ["postgres"], indirect=True)
def test_postgresql_reconciles_with_the_memory_it_needs_and_gives_it_back(world: World) -> None:
    """The fold's hash table of every code needs far more than a server's default work_mem (4 MB): the
    reconciliation raises it for its own transaction only, never lowers a larger setting, switches JIT off the same
    way, and its connection goes back to the pool as it came."""
    w = world
    sid = _mixed_walk(w)
    before = _show(w.store, "work_mem"), _show(w.store, "jit")
    seen = _settings_seen_by_the_fold(w.store)
    w.reconcile(sid)
    assert seen == [("256MB", "off")]
    assert (_show(w.store, "work_mem"), _show(w.store, "jit")) == before
    with w.store.engine.connect() as c:  # a register given more memory keeps it
        name = c.exec_driver_sql("SELECT current_database()").scalar()
        c.exec_driver_sql(f"ALTER DATABASE \"{name}\" SET work_mem = '1GB'")
        c.commit()
    w.store.engine.dispose()  # new connections take the database's setting
    w.reconcile(sid)
    assert seen[-1] == ("1GB", "off")
    assert _show(w.store, "jit") == before[1]
