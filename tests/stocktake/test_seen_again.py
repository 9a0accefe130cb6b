"""A carrier first seen misplaced and later scanned on its home shelf, in the same stock-take, is found (issue 14).

The rule (`tracker.stocktake.reconcile`, "Placement of a code"): a person's latest scan places a carrier. When every
scan of a code carries a read time, the latest time wins, whichever handheld was unloaded first; when some scan has
no time (a plain list of codes, a CS4070 file), the batch stored last wins, and within a batch the last read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.stocktake.conftest import S1, S2, World
from tracker import stocktake as st

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _csv(device: str, rows: list[tuple[datetime, str]]) -> list[str]:
    return ["device,time,batch,code", *(f"{device},{t.isoformat().replace('+00:00', 'Z')},walk,{c}" for t, c in rows)]


def _kind_of(w: World, sid: int, code: str) -> str:
    return next(f.kind.value for f in w.findings(sid) if f.subject == code and not f.settled)


def test_misplaced_then_scanned_home_in_a_later_file_is_found(world: World) -> None:
    w = world
    sid = w.start()
    w.upload(sid, [S1, w.c("a1"), w.c("a2"), w.c("b1")], batch="first")  # b1 belongs on S2
    assert w.reconcile(sid)["misplaced"] == {w.c("b1")}
    w.upload(sid, [S2, w.c("b1")], batch="second")  # later, the clerk finds it back on its shelf
    got = w.reconcile(sid)
    assert w.c("b1") in got["found"] and "misplaced" not in got, got
    assert _kind_of(w, sid, w.c("b1")) == "found"


def test_scanned_home_then_misplaced_in_a_later_file_stays_misplaced(world: World) -> None:
    """The same rule the other way round: the later sighting wins, whatever it says."""
    w = world
    sid = w.start()
    w.upload(sid, [S2, w.c("b1")], batch="first")
    w.upload(sid, [S1, w.c("a1"), w.c("a2"), w.c("b1")], batch="second")
    assert w.reconcile(sid)["misplaced"] == {w.c("b1")}


def test_timed_scans_place_by_time_whatever_order_the_files_came_in(world: World) -> None:
    """Two handhelds: HH2 scanned b1 home at 10:30 and was unloaded first; HH1 saw it on S1 at 10:00."""
    w = world
    sid = w.start()
    w.upload(sid, _csv("HH2", [(T0 + timedelta(minutes=30), S2), (T0 + timedelta(minutes=31), w.c("b1"))]))
    w.upload(sid, _csv("HH1", [(T0, S1), (T0 + timedelta(minutes=1), w.c("a1")),
                               (T0 + timedelta(minutes=2), w.c("b1"))]))
    got = w.reconcile(sid)
    assert w.c("b1") in got["found"] and "misplaced" not in got, got


def test_a_later_untimed_file_wins_over_an_earlier_timed_one(world: World) -> None:
    """Times cannot be compared with a list that has none: the file stored later is the later sighting."""
    w = world
    sid = w.start()
    w.upload(sid, _csv("HH1", [(T0, S1), (T0 + timedelta(minutes=2), w.c("b1"))]))
    w.upload(sid, [S2, w.c("b1")], device="HH2", batch="list")
    got = w.reconcile(sid)
    assert w.c("b1") in got["found"] and "misplaced" not in got, got


def test_a_resolved_misplaced_finding_is_settled_when_seen_home(world: World) -> None:
    """The misplaced finding resolved before the carrier turned up at home is shown settled, not open."""
    w = world
    sid = w.start()
    w.upload(sid, [S1, w.c("a1"), w.c("a2"), w.c("b1")], batch="first")
    w.reconcile(sid)
    st.resolve(w.store.uow(), w.sig["officer"], sid, "misplaced", w.c("b1"), "acknowledge", "told the team")
    w.upload(sid, [S2, w.c("b1")], batch="second")
    w.reconcile(sid)
    mine = [f for f in w.findings(sid) if f.subject == w.c("b1")]
    assert [f.kind.value for f in mine if not f.settled] == ["found"], mine
    assert [(f.kind.value, f.action) for f in mine if f.settled] == [("misplaced", "acknowledge")], mine
