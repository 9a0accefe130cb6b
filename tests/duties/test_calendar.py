"""The duties calendar (RULES §3) over a demo register whose clock is moved forward a year: every duty the register
can know appears on its date — not before — and is late after it, naming who must act."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tests_support import Clock, approve

from tracker import duties, queries
from tracker.demo import badge, build_demo, place
from tracker.services import campaigns, circulation, incidents, personnel, registry
from tracker.services.common import Signed, authenticate
from tracker.store import Store

TZ = ZoneInfo("Asia/Shanghai")


def local(y: int, m: int, d: int, hh: int = 18) -> datetime:
    return datetime(y, m, d, hh, 0, tzinfo=TZ)


def on(store: Store, at: datetime, days: int = 1) -> list[duties.Duty]:
    with store.uow(readonly=True) as uow:
        return duties.compute(uow, at, days)


def found(store: Store, at: datetime, kind: str, subject: str | None, days: int = 1) -> list[duties.Duty]:
    return [d for d in on(store, at, days) if d.kind == kind and (subject is None or d.subject == subject)]


def test_a_year_of_duties_each_on_its_date(store: Store, clock: Clock) -> None:
    build_demo(store, carriers=12)  # founded three days before the clock: 2026-11-22 (local)
    sig = {k: authenticate(store.uow(), badge(k), "482916") for k in
           ("clerk", "officer", "approver", "reader_core", "reader_important", "reader_general")}
    clerk, officer = sig["clerk"], sig["officer"]
    shelf = place("BJ", "R2C1S1")

    def carrier(period: str) -> str:
        return registry.register(store.uow(), clerk, registry.CarrierInput(
            location=shelf, classification="secret", period=period, scope="法规处;技术处", copy_number=1,
            copy_total=1, title="期限测试"))

    one_year, dated, lost = carrier("1y"), carrier("2027-03-31"), carrier("10y")
    lent = carrier("10y")
    a = approve(store, sig["approver"], "loan", lent, grantee=badge("reader_important"))
    circulation.check_out(store.uow(), clerk, lent, sig["reader_important"], approval_id=a,
                          reading_place=place("BJ", "R1"))
    deadline = incidents.report_missing(store.uow(), clerk, lost, "not on its shelf")
    assert deadline is not None
    campaign = campaigns.new(store.uow(), officer, local(2026, 12, 20), name="十二月清退")
    core = badge("reader_core")
    personnel.record(store.uow(), officer, core, "vetting", date(2026, 11, 1), "passed")
    personnel.record(store.uow(), officer, core, "pledge", date(2026, 11, 20))
    personnel.record(store.uow(), officer, core, "training", date(2026, 11, 21))
    personnel.record(store.uow(), officer, core, "exam", date(2026, 11, 21), "passed")
    general = badge("reader_general")
    for code in personnel.departure_check(store.uow(), general):  # the demo lent them something: it comes back first
        circulation.check_in(store.uow(), clerk, code, returned_by=Signed(general, clock()))
    personnel.record(store.uow(), officer, general, "leave_pledge", date(2026, 11, 25))
    personnel.leave(store.uow(), officer, general, date(2027, 11, 26))

    today = clock()
    # Today: the loan is due at the end of the day; the incident is open with its R-155 deadline.
    due_today = found(store, today, "return_today", lent, days=0)
    assert due_today and due_today[0].person == badge("reader_important") and due_today[0].late_since is None
    inc = found(store, today, "incident", None, days=0)
    assert inc and inc[0].due == deadline and inc[0].responsible == "security_officer"
    assert found(store, today, "cooling_off", general, days=0)  # a standing reminder, whatever the window
    # People without vetting or a pledge are late from the day they were added; the one on record is not.
    assert found(store, today, "pledge", badge("reader_important"), days=0)[0].late_since is not None
    assert not found(store, today, "pledge", core, days=0) and not found(store, today, "vetting", core, days=0)

    expected = [  # (kind, subject, the moment it falls due)
        ("return_today", lent, local(2026, 11, 25)),  # and return_overdue after it
        ("campaign", f"#{campaign}", local(2026, 12, 20)),
        ("training", core, local(2026, 12, 31)),  # one training of the two
        ("exam", badge("reader_important"), local(2026, 12, 31)),
        ("clear_back", "2026-12-31", local(2026, 12, 31)),
        ("year_end", "2026", local(2026, 12, 31)),
        ("incident", None, deadline),
        ("stocktake", None, local(2027, 2, 22)),  # three months after the register's start
        ("secrecy_review", dated, local(2027, 3, 31)),
        ("clear_back", "2027-06-30", local(2027, 6, 30)),
        ("pledge", core, local(2027, 11, 20)),
        ("secrecy_review", one_year, local(2027, 11, 25)),
        ("cooling_off_end", general, datetime(2027, 11, 26, 23, 59, 59, tzinfo=TZ)),
    ]
    for kind, subject, due in expected:
        clock.now = due - timedelta(days=2)
        before = [d for d in found(store, clock.now, kind, subject) if d.due == due]
        assert not before or kind == "incident", (kind, subject, "listed before its window")
        clock.now = due - timedelta(hours=12)
        hits = [d for d in found(store, clock.now, kind, subject) if d.due == due]
        assert hits and hits[0].late_since is None, (kind, subject, due, on(store, clock.now))
        clock.now = due + timedelta(hours=1)
        after = "return_overdue" if kind == "return_today" else kind
        late = [d for d in found(store, clock.now, after, subject, days=0) if d.due == due]
        assert late and late[0].late_since == due, (kind, subject, "not late after its date")
        assert late[0].en and late[0].zh and late[0].rule.startswith("R-")
    # A year on: the incident is still there (late since its R-155 deadline), and the 脱密期 has ended.
    year_on = today + timedelta(days=366)
    assert found(store, year_on, "incident", None, days=0)[0].late_since == deadline
    assert not found(store, year_on, "cooling_off", general, days=0)
    clock.now = year_on  # the alerts name the late register-wide duties, from the same computation
    with store.uow(readonly=True) as uow:
        late = [a.en for a in queries.alerts(uow) if a.kind == "duty"]
    assert any("Year-end collection 2026" in t for t in late) and any(f"Campaign #{campaign}" in t for t in late)
    assert any("Quarterly 清查" in t for t in late)
    # Closing the December campaign meets the half-year clear-back and, as a year-end preset, year-end collection.
    clock.now = today
    campaigns.close(store.uow(), officer, campaign)
    ye = campaigns.year_end(store.uow(), officer, 2026)
    campaigns.close(store.uow(), officer, ye)
    after = local(2027, 1, 2)
    assert not found(store, after, "clear_back", "2026-12-31", days=0)
    assert not found(store, after, "year_end", "2026", days=0)
    # Nothing was declassified on the way: the reviewed carriers keep their level.
    with store.uow(readonly=True) as uow:
        view = queries.carrier(uow, one_year)
        assert view is not None and view.classification == "secret"
