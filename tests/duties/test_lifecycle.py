"""People's secrecy lifecycle on both databases (R-161–R-170): the security officer — and only they, never for
themselves — records vetting, trainings, exams and pledges; leaving needs everything cleared back and the pledge on
leaving, starts a 脱密期 within the bounds for the level, and during it nothing is lent to the person (R-167)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from tests_support import approve, count_events

from tracker.demo import badge, place
from tracker.domain import DomainError
from tracker.ledger import verify
from tracker.schema import Person
from tracker.services import circulation, personnel, registry
from tracker.services.common import Refused, Signed
from tracker.store import Store

SHELF = place("BJ", "R2C1S1")


def test_records_by_the_security_officer_only(store: Store, people: dict[str, Signed]) -> None:
    core = badge("reader_core")
    personnel.record(store.uow(), people["officer"], core, "vetting", date(2026, 11, 1), "passed", "审查表 12")
    personnel.record(store.uow(), people["officer"], core, "training", date(2026, 11, 2), note="保密法培训")
    personnel.record(store.uow(), people["officer"], core, "exam", date(2026, 11, 3), "failed")
    personnel.record(store.uow(), people["officer"], core, "pledge", date(2026, 11, 4))
    got = personnel.records(store.uow(), core)
    assert [(r.kind, r.on, r.result) for r in got] == [
        ("vetting", date(2026, 11, 1), "passed"), ("training", date(2026, 11, 2), None),
        ("exam", date(2026, 11, 3), "failed"), ("pledge", date(2026, 11, 4), None)]
    before = count_events(store)
    for who in ("clerk", "admin", "auditor"):  # 三员分立: the administrator keeps the record, not its secrecy facts
        with pytest.raises(Refused) as e:
            personnel.record(store.uow(), people[who], core, "training", date(2026, 11, 5))
        assert e.value.rules == ["R-25"]
    with pytest.raises(Refused) as e:  # nobody records their own pledge
        personnel.record(store.uow(), people["officer"], badge("officer"), "pledge", date(2026, 11, 5))
    assert e.value.rules == ["R-25"]
    for kind, result, day in (("exam", None, date(2026, 11, 5)), ("vetting", "maybe", date(2026, 11, 5)),
                              ("training", "passed", date(2026, 11, 5)), ("pledge", None, date(2030, 1, 1)),
                              ("medal", None, date(2026, 11, 5))):
        with pytest.raises(DomainError):
            personnel.record(store.uow(), people["officer"], core, kind, day, result)
    assert count_events(store) == before


def test_leaving_and_the_cooling_off_period(store: Store, people: dict[str, Signed]) -> None:
    reader = badge("reader_important")  # 重要: a 脱密期 of 2–5 years
    code = registry.register(store.uow(), people["clerk"], registry.CarrierInput(
        location=SHELF, classification="secret", period="10y", scope="法规处", copy_number=1, copy_total=1))
    a = approve(store, people["approver"], "loan", code, grantee=reader)
    circulation.check_out(store.uow(), people["clerk"], code, people["reader_important"], approval_id=a,
                          reading_place=place("BJ", "R1"))
    with pytest.raises(Refused) as e:  # still holding, no pledge on leaving, too short a 脱密期
        personnel.leave(store.uow(), people["officer"], reader, date(2027, 6, 1))
    assert set(e.value.rules) == {"R-140", "R-170", "R-166"}
    circulation.check_in(store.uow(), people["clerk"], code, returned_by=people["reader_important"])
    personnel.record(store.uow(), people["officer"], reader, "leave_pledge", date(2026, 11, 25))
    for until in (date(2028, 11, 1), date(2032, 1, 1)):  # under two years; over five
        with pytest.raises(Refused) as e:
            personnel.leave(store.uow(), people["officer"], reader, until)
        assert e.value.rules == ["R-166"]
    with pytest.raises(Refused) as e:  # the administrator does not decide who leaves a classified post
        personnel.leave(store.uow(), people["admin"], reader, date(2029, 1, 1))
    assert e.value.rules == ["R-25"]
    personnel.leave(store.uow(), people["officer"], reader, date(2029, 1, 1))
    with store.uow(readonly=True) as uow:
        p = uow.session.execute(select(Person).where(Person.badge == reader)).scalar_one()
        assert (p.status, p.clearance, p.roles, p.pin_hash) == ("departed", "none", "", None)
        assert p.cooling_off_until is not None
    with pytest.raises(Refused) as e:  # nothing goes to them during the 脱密期, and the refusal says why
        circulation.check_out(store.uow(), people["clerk"], code, Signed(reader, store.clock()),
                              reading_place=place("BJ", "R1"))
    assert "R-167" in e.value.rules and "脱密期" in " ".join(v.zh for v in e.value.violations)
    with store.engine.connect() as conn:
        report = verify(conn)
    assert report.ok, report  # the replay knows a departure takes the clearance away
