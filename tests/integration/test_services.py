"""Workflows on a real database (SQLite and PostgreSQL): each state change is one transaction plus one ledger event;
a refusal writes nothing but its audit row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text
from tests_support import approve, count_events, state_of

from labels.codes import make_badge_code, make_location_code
from tracker import queries
from tracker.demo import badge, place
from tracker.domain import CarrierStatus, DomainError
from tracker.ledger import verify
from tracker.schema import Carrier, Loan, Refusal
from tracker.services import approvals, circulation, incidents, personnel, registry
from tracker.services.common import AuthError, Refused, Signed, authenticate
from tracker.store import Store

SHELF = place("BJ", "R2C1S1")
SAFE = place("BJ", "R1SAFE1")
READING = place("BJ", "R1")


def register(store: Store, clerk: Signed, level: str = "secret", **kw: object) -> str:
    data = registry.CarrierInput(location=str(kw.pop("location", SHELF)), classification=level,
                                 period=str(kw.pop("period", "10y")), scope=str(kw.pop("scope", "法规处;技术处")),
                                 copy_number=1, copy_total=2, title=str(kw.pop("title", "测试文件")), **kw)  # type: ignore[arg-type]
    return registry.register(store.uow(), clerk, data)


def test_checkout_checkin_round_trip(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"])
    before = count_events(store)
    a = approve(store, people["approver"], "loan", code, grantee=badge("reader_important"))
    receipt = circulation.check_out(store.uow(), people["clerk"], code, people["reader_important"], approval_id=a)
    assert state_of(store, code) == ("on_loan", badge("reader_important"), None)
    assert receipt.due > store.clock()
    circulation.check_in(store.uow(), people["clerk"], code)
    assert state_of(store, code) == ("in_store", None, SHELF)
    assert count_events(store) == before + 3  # approval, check-out, check-in
    with store.uow(readonly=True) as uow:
        types = [e.type for e in queries.history(uow, code)]
    assert types == ["registered", "checked_out", "checked_in"]
    with store.uow(readonly=True) as uow:
        loan = uow.session.execute(select(Loan)).scalar_one()
        assert loan.returned_at is not None and loan.open_carrier_id is None


def test_due_time_in_local_zone_is_the_same_instant_when_read_back(store: Store, people: dict[str, Signed]) -> None:
    # SQLite has no timestamp type; a local 17:00 must not come back as 17:00 UTC (eight hours late in Beijing).
    code = register(store, people["clerk"])
    a = approve(store, people["approver"], "loan", code, grantee=badge("reader_important"))
    due = store.clock().astimezone(ZoneInfo("Asia/Shanghai")).replace(
        hour=17, minute=0, second=0, microsecond=0)
    circulation.check_out(store.uow(), people["clerk"], code, people["reader_important"], approval_id=a, due=due)
    with store.uow(readonly=True) as uow:
        view = queries.carrier(uow, code)
        assert view is not None and view.due_at == due and view.due_at.tzinfo is not None
        loan_due = uow.session.execute(select(Loan.due_at)).scalar_one()
        assert loan_due == due and loan_due.utcoffset() == timedelta(0)
        assert uow.session.execute(select(func.count()).select_from(Loan).where(
            Loan.due_at > datetime(due.year, due.month, due.day, 8, 59, tzinfo=UTC))).scalar_one() == 1
        assert uow.session.execute(select(func.count()).select_from(Loan).where(
            Loan.due_at > datetime(due.year, due.month, due.day, 9, 1, tzinfo=UTC))).scalar_one() == 0


def test_refusal_writes_nothing_but_the_audit_row(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"], "top_secret", location=SAFE)
    before = count_events(store)
    a = approve(store, people["approver"], "loan", code, grantee=badge("reader_core"))
    with pytest.raises(Refused) as err:  # another borrower than the approval's, without the clearance
        circulation.check_out(store.uow(), people["clerk"], code, people["reader_general"], approval_id=a,
                              reading_place=READING)
    assert "R-159" in err.value.rules
    assert "绝密" in err.value.message("zh")
    assert state_of(store, code) == ("in_store", None, SAFE)
    assert count_events(store) == before + 1  # only the approval
    with store.uow(readonly=True) as uow:
        refusal = uow.session.execute(select(Refusal)).scalar_one()
        assert refusal.carrier == code and "R-159" in refusal.rules and refusal.actor == badge("clerk")
        # The approval stays unused: the refused check-out did not consume it.
        assert uow.session.execute(text("SELECT count(*) FROM approval_carriers WHERE used_at IS NOT NULL")
                                   ).scalar_one() == 0


def test_approval_is_single_use(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"])
    a = approve(store, people["approver"], "loan", code)
    circulation.check_out(store.uow(), people["clerk"], code, people["reader_important"], approval_id=a)
    circulation.check_in(store.uow(), people["clerk"], code)
    with pytest.raises(Refused) as err:
        circulation.check_out(store.uow(), people["clerk"], code, people["reader_important"], approval_id=a)
    assert err.value.rules == ["R-63"]


def test_borrower_must_sign_r64(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"])
    a = approve(store, people["approver"], "loan", code)
    with pytest.raises(Refused) as err:
        circulation.check_out(store.uow(), people["clerk"], code, badge("reader_important"), approval_id=a)
    assert err.value.rules == ["R-64"]


def test_least_privilege_reader_cannot_check_out(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"])
    with pytest.raises(Refused) as err:
        circulation.check_out(store.uow(), people["reader_core"], code, people["reader_important"])
    assert err.value.rules == ["R-25"]


def test_handover_records_both_parties_r24(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"])
    a = approve(store, people["approver"], "loan", code)
    circulation.check_out(store.uow(), people["clerk"], code, people["reader_important"], approval_id=a)
    circulation.handover(store.uow(), people["courier"], [code], people["reader_important"], people["courier"])
    assert state_of(store, code) == ("in_transit", badge("courier"), None)
    with store.uow(readonly=True) as uow:
        last = queries.history(uow, code)[-1]
    assert (last.type, last.from_holder, last.to_holder) == ("handed_over", badge("reader_important"), badge("courier"))
    assert last.payload["giver_signed"] and last.payload["taker_signed"]
    # Reader-to-reader is refused and changes nothing.
    circulation.handover(store.uow(), people["courier"], [code], people["courier"], people["reader_core"])
    with pytest.raises(Refused) as err:
        circulation.handover(store.uow(), people["clerk"], [code], people["reader_core"], people["reader_important"])
    assert err.value.rules == ["R-56"]
    assert state_of(store, code) == ("on_loan", badge("reader_core"), None)


def test_handover_of_several_is_all_or_nothing(store: Store, people: dict[str, Signed]) -> None:
    ok = register(store, people["clerk"])
    not_held = register(store, people["clerk"])
    a = approve(store, people["approver"], "loan", ok)
    circulation.check_out(store.uow(), people["clerk"], ok, people["reader_important"], approval_id=a)
    with pytest.raises(Refused) as err:
        circulation.handover(store.uow(), people["courier"], [ok, not_held], people["reader_important"],
                             people["courier"])
    assert err.value.rules == ["R-17"]
    assert state_of(store, ok) == ("on_loan", badge("reader_important"), None)


def test_carry_out_top_secret_needs_second_person(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"], "top_secret", location=SAFE)
    a = approve(store, people["approver"], "carry_out", code, grantee=badge("reader_core"))
    due = store.clock() + timedelta(days=1)
    with pytest.raises(Refused) as err:
        circulation.carry_out(store.uow(), people["clerk"], code, people["reader_core"], due, a)
    assert err.value.rules == ["R-93"]
    circulation.carry_out(store.uow(), people["clerk"], code, people["reader_core"], due, a,
                          companion=people["courier"])
    assert state_of(store, code) == ("carried_out", badge("reader_core"), None)
    with store.uow(readonly=True) as uow:
        assert queries.history(uow, code)[-1].witness == badge("courier")
    circulation.check_in(store.uow(), people["clerk"], code)
    assert state_of(store, code) == ("in_store", None, SAFE)


def test_copy_inherits_and_numbers_r77_r78(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"], "secret", scope="法规处;@" + badge("reader_core"))
    a = approve(store, people["approver"], "copy", code, copies=2)
    new = registry.copy(store.uow(), people["clerk"], code, 2, a)
    with store.uow(readonly=True) as uow:
        views = [queries.carrier(uow, c) for c in (code, *new)]
        events = queries.history(uow, new[0])
    assert [(v.copy_number, v.copy_total) for v in views if v] == [(1, 4), (3, 4), (4, 4)]
    assert views[0] is not None and views[0].scope is not None and "法规处" in views[0].scope
    assert {(v.classification, v.period, v.scope) for v in views if v} == {("secret", "10y", views[0].scope)}
    assert events[0].type == "copied" and events[0].payload["original"] == code
    assert events[0].payload["approvers"] == [badge("approver")] and events[0].approval_id == a
    with pytest.raises(Refused) as err:  # the approval was used
        registry.copy(store.uow(), people["clerk"], code, 1, a)
    assert err.value.rules == ["R-75"]


def test_top_secret_copy_needs_issuer_approval(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"], "top_secret", location=SAFE, issuer="法规处")
    plain = approve(store, people["approver"], "copy", code)
    with pytest.raises(Refused) as err:
        registry.copy(store.uow(), people["clerk"], code, 1, plain)
    assert err.value.rules == ["R-74"]
    # The matrix asks two approvers for 绝密 copies, one of them from the issuing unit (法规处): the leader's
    # signature alone leaves the approval pending, and no flag the requester sets stands in for the issuer.
    assert approvals.decide(store.uow(), people["approver2"], plain, True) == "granted"
    assert len(registry.copy(store.uow(), people["clerk"], code, 1, plain)) == 1


def test_media_keep_their_highest_level_r103(store: Store, people: dict[str, Signed]) -> None:
    usb = register(store, people["clerk"], "secret", kind="usb_drive")
    a = approve(store, people["approver"], "reclassify", usb)
    with pytest.raises(Refused) as err:
        registry.reclassify(store.uow(), people["officer"], usb, "confidential", None, None, a)
    assert err.value.rules == ["R-103"]
    paper = register(store, people["clerk"], "secret")
    b = approve(store, people["approver"], "reclassify", paper)
    registry.reclassify(store.uow(), people["officer"], paper, "confidential", "5y", None, b, basis="复审")
    with store.uow(readonly=True) as uow:
        v = queries.carrier(uow, paper)
    assert v is not None and v.classification == "confidential" and v.period == "5y"


def test_missing_and_found_with_r155_clock(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"], "top_secret", location=SAFE)
    deadline = incidents.report_missing(store.uow(), people["reader_general"], code, note="not on shelf")
    assert deadline == store.clock() + timedelta(days=10)
    assert state_of(store, code) == ("missing", None, None)
    store.clock.advance(days=11)  # type: ignore[attr-defined]
    with store.uow(readonly=True) as uow:
        kinds = {a.kind for a in queries.alerts(uow) if a.carrier == code}
    assert kinds == {"leak", "incident"}  # the R-155 clock, and the loss incident it opened
    assert incidents.found(store.uow(), people["clerk"], code, SAFE) == 11
    assert state_of(store, code) == ("in_store", None, SAFE)


def test_departure_refused_while_holding_r140(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"])
    a = approve(store, people["approver"], "loan", code)
    circulation.check_out(store.uow(), people["clerk"], code, people["reader_important"], approval_id=a)
    assert personnel.start_departure(store.uow(), people["officer"], badge("reader_important")) == [code]
    with pytest.raises(Refused) as err:
        personnel.mark_departed(store.uow(), people["officer"], badge("reader_important"))
    assert err.value.rules == ["R-140"]
    circulation.check_in(store.uow(), people["clerk"], code)
    personnel.mark_departed(store.uow(), people["officer"], badge("reader_important"))
    with pytest.raises(AuthError):
        authenticate(store.uow(), badge("reader_important"), "482916")


def test_pin_lockout_after_five_wrong(store: Store, people: dict[str, Signed]) -> None:
    for _ in range(5):
        with pytest.raises(AuthError):
            authenticate(store.uow(), badge("clerk"), "9999")
    with pytest.raises(AuthError) as locked:
        authenticate(store.uow(), badge("clerk"), "482916")
    with pytest.raises(AuthError) as unknown:
        authenticate(store.uow(), "B-BJ-99999X", "482916")
    # The same words for a locked badge, an unknown one and a wrong PIN: nothing tells which badges exist.
    assert locked.value.en == unknown.value.en and "locked" not in locked.value.en
    with store.uow(readonly=True) as uow:
        rows = uow.session.execute(select(Refusal).order_by(Refusal.id)).scalars()
        kinds = [(r.actor, r.kind, r.detail) for r in rows]
    assert kinds[-2:] == [(badge("clerk"), "signin_locked", "locked"),
                          ("B-BJ-99999X", "signin_failed", "unknown badge")]
    store.clock.advance(minutes=store.policy.lockout_minutes + 1)  # type: ignore[attr-defined]
    assert authenticate(store.uow(), badge("clerk"), "482916").badge == badge("clerk")


def test_csv_import_is_all_or_nothing_and_names_the_row(store: Store, people: dict[str, Signed]) -> None:
    rows = ["classification,period,scope,location,title"] + [f"secret,10y,法规处,{SHELF},doc {i}" for i in range(5)]
    rows[3] = f"secret,,法规处,{SHELF},missing period"
    with pytest.raises(Refused) as err:
        registry.import_csv(store.uow(), people["clerk"], "\n".join(rows))
    assert "R-02" in err.value.rules and "R-30" in err.value.rules
    assert any("row 4" in v.en for v in err.value.violations)
    with store.uow(readonly=True) as uow:
        assert uow.session.execute(select(func.count(Carrier.id))).scalar_one() == 0
    good = "classification,period,scope,location,title,copy_number,copy_total\n" + "\n".join(
        f"secret,10y,法规处,{SHELF},doc {i},1,1" for i in range(5))
    assert len(registry.import_csv(store.uow(), people["clerk"], good)) == 5


def test_duplicate_code_refused(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"])
    with pytest.raises(Refused) as err:
        register(store, people["clerk"], code=code)
    assert err.value.rules == ["R-18"]


def test_mistyped_code_refused(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"])
    typo = code[:-1] + ("A" if code[-1] != "A" else "B")
    with pytest.raises(registry.InvalidInput) as err:  # bad input, not a rule refusal: exit 2 at the command line
        register(store, people["clerk"], code=typo)
    assert [v.rule for v in err.value.violations] == ["R-18"]


def test_ledger_verifies_after_a_day_of_work(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"])
    a = approve(store, people["approver"], "loan", code)
    circulation.check_out(store.uow(), people["clerk"], code, people["reader_important"], approval_id=a)
    circulation.check_in(store.uow(), people["clerk"], code)
    with store.engine.connect() as conn:
        report = verify(conn)
    assert report.ok and report.checked == report.head_seq == count_events(store)


def test_status_custody_constraint_holds(store: Store, people: dict[str, Signed]) -> None:
    code = register(store, people["clerk"])
    with store.uow(readonly=True) as uow:
        c = uow.session.execute(select(Carrier).where(Carrier.code == code)).unique().scalar_one()
        assert c.status == CarrierStatus.IN_STORE.value and c.location_id is not None and c.holder_id is None


def test_badge_and_place_codes_are_checked_on_entry_r18(store: Store, people: dict[str, Signed]) -> None:
    # A code without its check character could be stored but never scanned back; the error gives the full code.
    before = count_events(store)
    with pytest.raises(DomainError, match=r"check character: B-BJ-00099") as bad_badge:
        personnel.add_person(store.uow(), people["admin"], "B-BJ-00099", "张三", "法规处", "general", [], None)
    assert "R-18" in str(bad_badge.value) and "校验位" in bad_badge.value.zh
    with pytest.raises(DomainError, match=r"check character: LOC-BJ-R9"):
        registry.add_location(store.uow(), people["admin"], "LOC-BJ-R9", "九号室", "room", "secret")
    with pytest.raises(DomainError, match="not a location code"):
        registry.add_location(store.uow(), people["admin"], "BJ-R9", "九号室", "room", "secret")
    assert count_events(store) == before
    good_badge, good_place = make_badge_code("BJ", "00099"), make_location_code("BJ", "R9")
    assert personnel.add_person(store.uow(), people["admin"], good_badge.lower(), "张三", "法规处", "none",
                                [], None) == good_badge
    added = registry.add_location(store.uow(), people["admin"], f" {good_place} ", "九号室", "room", "secret")
    assert added == good_place
    assert count_events(store) == before + 2
