"""The rulebook as pure functions: each enforced rule shown refusing and shown allowing, with no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tracker.domain import (
    ApprovalPurpose,
    CarrierKind,
    CarrierStatus,
    Classification,
    Clearance,
    PersonStatus,
    Regime,
    Role,
    Scope,
    SecrecyPeriod,
)
from tracker.rules import (
    Action,
    ApprovalFacts,
    CarrierFacts,
    LocationFacts,
    PersonFacts,
    Policy,
    check_carry_out,
    check_checkin,
    check_checkout,
    check_copy,
    check_departure,
    check_handover,
    check_move,
    check_permission,
    check_reclassify,
    check_registration,
    leak_deadline,
)

TS, S, C, INTERNAL = (Classification.TOP_SECRET, Classification.SECRET, Classification.CONFIDENTIAL,
               Classification.INTERNAL)
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
POLICY = Policy()


def person(badge: str, clearance: Clearance = Clearance.CORE, unit: str = "法规处", *roles: Role,
           status: PersonStatus = PersonStatus.ACTIVE) -> PersonFacts:
    return PersonFacts(badge, badge, unit, clearance, frozenset(roles), status)


CLERK = person("clerk", Clearance.CORE, "办公室", Role.CLERK)
COURIER = person("courier", Clearance.CORE, "办公室", Role.COURIER)
COURIER2 = person("courier2", Clearance.CORE, "办公室", Role.COURIER)
APPROVER = person("boss", Clearance.CORE, "办公室", Role.APPROVER)
READER = person("reader", Clearance.IMPORTANT, "法规处")
READER2 = person("reader2", Clearance.IMPORTANT, "法规处")
GENERAL = person("general", Clearance.GENERAL, "法规处")
ARCHIVE = LocationFacts("LOC-A", "archive", S)
SAFE = LocationFacts("LOC-SAFE", "safe", TS)
READING_ROOM = LocationFacts("LOC-READ", "reading room", TS, reading_place=True)


def carrier(level: Classification | None = S, **kw: object) -> CarrierFacts:
    base = CarrierFacts(code="BJ-000001X", kind=CarrierKind.PAPER, regime=Regime.STATE, level=level,
                        period=SecrecyPeriod(years=10), scope=Scope(units=frozenset({"法规处"})),
                        status=CarrierStatus.IN_STORE, location="LOC-A", copy_number=1, copy_total=3)
    return replace(base, **kw)  # type: ignore[arg-type]


def approval(purpose: ApprovalPurpose = ApprovalPurpose.LOAN, **kw: object) -> ApprovalFacts:
    if "approver" in kw:
        kw["approvers"] = (kw.pop("approver"),)
    base = ApprovalFacts(id=7, purpose=purpose, approvers=(APPROVER,), carriers=frozenset({"BJ-000001X"}),
                         valid_from=NOW - timedelta(hours=1), valid_until=NOW + timedelta(hours=4))
    return replace(base, **kw)  # type: ignore[arg-type]


def rules_of(violations: list) -> set[str]:  # type: ignore[type-arg]
    return {v.rule for v in violations}


def test_every_violation_speaks_both_languages() -> None:
    vs = check_checkout(carrier(TS), GENERAL, False, None, None, NOW, None, POLICY)
    assert vs
    for v in vs:
        assert v.en and v.zh and v.en != v.zh
        assert v.message("zh").startswith(v.rule)


# R-01 / R-02 / R-30 / R-102 / R-47 -------------------------------------------------------------------------------


def test_r01_classification_never_blank() -> None:
    assert rules_of(check_registration(carrier(None), ARCHIVE)) == {"R-01"}
    assert check_registration(carrier(S), ARCHIVE) == []


def test_r02_state_secret_needs_period_and_scope() -> None:
    assert rules_of(check_registration(carrier(S, period=None), ARCHIVE)) == {"R-02"}
    assert rules_of(check_registration(carrier(S, scope=None), ARCHIVE)) == {"R-02"}
    # Internal items need neither; company secrets need a period but not a state scope.
    internal = carrier(INTERNAL, period=None, scope=None, copy_number=None, copy_total=None)
    assert check_registration(internal, ARCHIVE) == []
    assert check_registration(carrier(C, regime=Regime.COMPANY, scope=None), ARCHIVE) == []


@pytest.mark.parametrize("level", [TS, S])
def test_r30_top_secret_and_secret_carry_copy_numbers(level: Classification) -> None:
    place = SAFE
    assert rules_of(check_registration(carrier(level, copy_number=None, copy_total=None), place)) == {"R-30"}
    assert rules_of(check_registration(carrier(level, copy_number=4, copy_total=3), place)) == {"R-30"}
    assert check_registration(carrier(level, copy_number=3, copy_total=3), place) == []


def test_r30_confidential_copy_number_optional() -> None:
    assert check_registration(carrier(C, copy_number=None, copy_total=None), ARCHIVE) == []


def test_r102_medium_registered_at_highest_level_it_held() -> None:
    usb = carrier(C, kind=CarrierKind.USB_DRIVE, highest_level_held=S, copy_number=None, copy_total=None)
    assert rules_of(check_registration(usb, ARCHIVE)) == {"R-102"}
    assert check_registration(replace(usb, level=S, copy_number=1, copy_total=1), ARCHIVE) == []


def test_r47_place_never_stores_above_its_level() -> None:
    assert rules_of(check_registration(carrier(TS), ARCHIVE)) == {"R-47"}
    assert check_registration(carrier(TS), SAFE) == []


# Check-out, R-159 --------------------------------------------------------------


def checkout(c: CarrierFacts, who: PersonFacts = READER, signed: bool = True, appr: ApprovalFacts | None = None,
             due: datetime | None = None, place: LocationFacts | None = None) -> set[str]:
    due = due if due is not None else NOW + timedelta(hours=2)
    return rules_of(check_checkout(c, who, signed, appr if appr is not None else approval(), due, NOW, place, POLICY))


def test_checkout_allowed_for_cleared_person_in_scope_with_approval() -> None:
    assert checkout(carrier(S)) == set()


def test_r17_only_a_carrier_in_store_goes_out() -> None:
    assert checkout(carrier(S, status=CarrierStatus.ON_LOAN, holder="other", location=None)) == {"R-17"}


def test_r54_need_to_know_scope() -> None:
    outsider = person("x", Clearance.CORE, "技术处")
    assert checkout(carrier(S), outsider, appr=approval(grantee=None)) == {"R-54"}
    named = carrier(S, scope=Scope(units=frozenset({"技术处"}), people=frozenset({"reader"})))
    assert checkout(named) == set()


def test_r159_clearance_covers_level() -> None:
    assert checkout(carrier(S), GENERAL) == {"R-159"}
    assert checkout(carrier(C), GENERAL) == set()


def test_r159_top_secret_to_general_person_refused() -> None:
    vs = check_checkout(carrier(TS), GENERAL, True, approval(), NOW + timedelta(hours=1), NOW, READING_ROOM, POLICY)
    assert "R-159" in rules_of(vs)
    assert any("绝密" in v.zh for v in vs if v.rule == "R-159")


def test_r63_loan_needs_valid_single_use_approval() -> None:
    base = carrier(S)
    assert checkout(base, appr=None) == set()  # helper default approval present
    assert rules_of(check_checkout(base, READER, True, None, NOW + timedelta(hours=1), NOW, None, POLICY)) == {"R-63"}
    assert checkout(base, appr=approval(purpose=ApprovalPurpose.COPY)) == {"R-63"}
    assert checkout(base, appr=approval(carriers=frozenset({"OTHER"}))) == {"R-63"}
    assert checkout(base, appr=approval(used_for=frozenset({"BJ-000001X"}))) == {"R-63"}
    assert checkout(base, appr=approval(valid_until=NOW - timedelta(minutes=1))) == {"R-63"}
    assert checkout(base, appr=approval(status="pending", needed=2)) == {"R-63"}
    assert checkout(base, appr=approval(status="denied")) == {"R-63"}
    assert checkout(base, appr=approval(grantee="someone-else")) == {"R-63"}
    self_approver = person("reader", Clearance.IMPORTANT, "法规处", Role.APPROVER)
    assert checkout(base, self_approver, appr=approval(approver=self_approver)) == {"R-25"}


def test_r63_internal_loans_need_no_approval_by_default() -> None:
    internal = carrier(INTERNAL, period=None, scope=None, copy_number=None, copy_total=None)
    assert rules_of(check_checkout(internal, READER, True, None, NOW + timedelta(hours=1), NOW, None, POLICY)) == set()


def test_r64_borrower_signs() -> None:
    assert checkout(carrier(S), signed=False) == {"R-64"}


def test_r65_every_loan_has_a_time_limit_within_the_working_day() -> None:
    c = carrier(S)
    assert rules_of(check_checkout(c, READER, True, approval(), None, NOW, None, POLICY)) == {"R-65"}
    assert checkout(c, due=NOW - timedelta(minutes=1)) == {"R-65"}
    assert checkout(c, due=NOW + timedelta(days=3)) == {"R-65"}
    assert checkout(c, due=POLICY.end_of_working_day(NOW)) == set()
    longer = Policy(loan_max_days=2)
    assert rules_of(check_checkout(c, READER, True, approval(), NOW + timedelta(days=1), NOW, None, longer)) == set()


def test_r67_top_secret_read_only_at_designated_place() -> None:
    core = person("core", Clearance.CORE, "法规处")
    ts = carrier(TS, location="LOC-SAFE")
    assert checkout(ts, core, appr=approval(grantee="core"), place=None) == {"R-67"}
    assert checkout(ts, core, appr=approval(grantee="core"), place=ARCHIVE) == {"R-67"}
    assert checkout(ts, core, appr=approval(grantee="core"), place=READING_ROOM) == set()
    # 绝密 is always same-day, whatever the policy allows for other levels.
    assert "R-65" in rules_of(check_checkout(ts, core, True, approval(), NOW + timedelta(days=1), NOW, READING_ROOM,
                                             Policy(loan_max_days=3)))


def test_r140_departing_person_takes_no_new_custody() -> None:
    leaving = person("reader", Clearance.IMPORTANT, "法规处", status=PersonStatus.DEPARTING)
    assert checkout(carrier(S), leaving) == {"R-140"}


# Check-in: R-66 ----------------------------------------------------------------------------------------------------


def test_r66_check_in_closes_only_an_open_loan() -> None:
    out = carrier(S, status=CarrierStatus.ON_LOAN, holder="reader", location=None)
    assert check_checkin(out, ARCHIVE) == []
    assert rules_of(check_checkin(carrier(S), ARCHIVE)) == {"R-66"}
    assert rules_of(check_checkin(replace(out, level=TS), ARCHIVE)) == {"R-47"}


# Handover, R-89 ----------------------------------------------------------------------------


def held(by: str, status: CarrierStatus = CarrierStatus.ON_LOAN) -> CarrierFacts:
    return carrier(S, status=status, holder=by, location=None)


def test_handover_reader_to_courier_and_courier_to_reader_allowed() -> None:
    assert check_handover(held("reader"), READER, COURIER, True, True, POLICY) == []
    assert check_handover(held("courier", CarrierStatus.IN_TRANSIT), COURIER, READER2, True, True, POLICY) == []
    assert check_handover(held("clerk"), CLERK, READER, True, True, POLICY) == []


def test_r56_no_reader_to_reader_passing() -> None:
    assert rules_of(check_handover(held("reader"), READER, READER2, True, True, POLICY)) == {"R-56"}


def test_r17_only_the_holder_hands_on() -> None:
    assert rules_of(check_handover(held("someone"), READER, COURIER, True, True, POLICY)) == {"R-17"}
    assert rules_of(check_handover(carrier(S), READER, COURIER, True, True, POLICY)) == {"R-17"}


def test_r18_both_parties_sign() -> None:
    vs = check_handover(held("reader"), READER, COURIER, True, False, POLICY)
    assert rules_of(vs) == {"R-18"} and "courier" in vs[0].en
    assert rules_of(check_handover(held("reader"), READER, COURIER, False, True, POLICY)) == {"R-18"}


def test_r55_hop_recorded_by_a_party_or_the_registry() -> None:
    stranger = person("stranger", Clearance.CORE, "办公室", Role.COURIER)
    assert rules_of(check_handover(held("reader"), READER, COURIER, True, True, POLICY, stranger)) == {"R-55"}
    assert check_handover(held("reader"), READER, COURIER, True, True, POLICY, COURIER) == []
    assert check_handover(held("reader"), READER, COURIER, True, True, POLICY, CLERK) == []


def test_r89_courier_to_courier_is_delegation() -> None:
    c = held("courier", CarrierStatus.IN_TRANSIT)
    assert rules_of(check_handover(c, COURIER, COURIER2, True, True, POLICY)) == {"R-89"}
    assert check_handover(c, COURIER, COURIER2, True, True, Policy(allow_courier_relay=True)) == []


def test_handover_taker_needs_clearance_and_scope() -> None:
    c = held("courier", CarrierStatus.IN_TRANSIT)
    assert rules_of(check_handover(c, COURIER, GENERAL, True, True, POLICY)) == {"R-159"}
    outsider = person("out", Clearance.CORE, "技术处")
    assert rules_of(check_handover(c, COURIER, outsider, True, True, POLICY)) == {"R-54"}
    weak_courier = person("wc", Clearance.GENERAL, "办公室", Role.COURIER)
    assert rules_of(check_handover(held("reader"), READER, weak_courier, True, True, POLICY)) == {"R-159"}


# Carry-out, R-98 ---------------------------------------------------------------------------------------


def carry(c: CarrierFacts, companion: PersonFacts | None = None, companion_signed: bool = True,
          appr: ApprovalFacts | None = None, due: datetime | None = None, policy: Policy = POLICY,
          who: PersonFacts = READER) -> set[str]:
    return rules_of(check_carry_out(c, who, True, companion, companion_signed,
                                    appr or approval(ApprovalPurpose.CARRY_OUT),
                                    due or NOW + timedelta(days=1), NOW, policy))


def test_r92_carry_out_needs_approval_and_deadline() -> None:
    assert carry(carrier(S)) == set()
    assert rules_of(check_carry_out(carrier(S), READER, True, None, False, None, NOW + timedelta(days=1), NOW,
                                    POLICY)) == {"R-92"}
    assert carry(carrier(S), appr=approval(ApprovalPurpose.LOAN)) == {"R-92"}
    assert carry(carrier(S), due=NOW + timedelta(days=30)) == {"R-92"}


def test_r93_top_secret_leaves_with_two_people() -> None:
    core = person("core", Clearance.CORE, "法规处")
    ts = carrier(TS, location="LOC-SAFE")
    appr = approval(ApprovalPurpose.CARRY_OUT)
    assert carry(ts, None, appr=appr, who=core) == {"R-93"}
    assert carry(ts, core, appr=appr, who=core) == {"R-93"}  # not the same person
    assert carry(ts, READER, appr=appr, who=core) == {"R-93"}  # companion lacks 绝密 clearance
    assert carry(ts, CLERK, companion_signed=False, appr=appr, who=core) == {"R-93"}
    assert carry(ts, CLERK, appr=appr, who=core) == set()
    assert carry(carrier(S), None) == set()  # 机密 alone is fine by default
    assert carry(carrier(S), None, policy=Policy(two_person_levels=frozenset({TS, S}))) == {"R-93"}


def test_r98_strict_variant_keeps_media_inside() -> None:
    usb = carrier(S, kind=CarrierKind.USB_DRIVE)
    assert carry(usb, policy=Policy(media_never_leave=True)) == {"R-98"}
    assert carry(usb) == set()


# Copy: R-73 – R-79 --------------------------------------------------------------------------------------------------


def copy_rules(c: CarrierFacts, appr: ApprovalFacts | None, count: int = 1, policy: Policy = POLICY,
               level: Classification | None = None) -> set[str]:
    return rules_of(check_copy(c, appr, count, NOW, policy, level))


def test_r73_copy_needs_approval() -> None:
    assert copy_rules(carrier(C), None) == {"R-75"}
    assert copy_rules(carrier(C), approval(ApprovalPurpose.COPY), count=0) == {"R-73"}
    assert copy_rules(carrier(S, status=CarrierStatus.ON_LOAN, holder="r", location=None),
                      approval(ApprovalPurpose.COPY)) == {"R-73"}


def test_r74_top_secret_copy_only_with_issuer_approval_or_never() -> None:
    ts = carrier(TS)
    assert copy_rules(ts, None) == {"R-74"}
    assert copy_rules(ts, approval(ApprovalPurpose.COPY)) == {"R-74"}
    assert copy_rules(ts, approval(ApprovalPurpose.COPY, issuer_approved=True)) == set()
    strict = Policy(top_secret_copy="forbidden")
    assert copy_rules(ts, approval(ApprovalPurpose.COPY, issuer_approved=True), policy=strict) == {"R-74"}


def test_r75_secret_copy_with_leader_approval() -> None:
    assert copy_rules(carrier(S), approval(ApprovalPurpose.COPY)) == set()
    assert copy_rules(carrier(S), approval(ApprovalPurpose.COPY, status="pending", needed=2)) == {"R-75"}


def test_r76_strict_variant_needs_issuer_for_every_copy() -> None:
    strict = Policy(copy_requires_issuer=True)
    assert copy_rules(carrier(C), approval(ApprovalPurpose.COPY), policy=strict) == {"R-76"}
    assert copy_rules(carrier(C), approval(ApprovalPurpose.COPY, issuer_approved=True), policy=strict) == set()


def test_r77_copy_keeps_the_level() -> None:
    assert copy_rules(carrier(S), approval(ApprovalPurpose.COPY), level=C) == {"R-77"}
    assert copy_rules(carrier(S), approval(ApprovalPurpose.COPY), level=S) == set()


def test_r79_no_more_copies_than_approved() -> None:
    assert copy_rules(carrier(S), approval(ApprovalPurpose.COPY, copies=2), count=3) == {"R-79"}
    assert copy_rules(carrier(S), approval(ApprovalPurpose.COPY, copies=2), count=2) == set()


# Reclassify, R-103 -------------------------------------------------------------------------------------


def reclass(c: CarrierFacts, level: Classification, appr: ApprovalFacts | None = None) -> set[str]:
    return rules_of(check_reclassify(c, level, c.period, c.scope, appr or approval(ApprovalPurpose.RECLASSIFY),
                                     ARCHIVE, NOW, POLICY))


def test_r103_media_never_downgraded_paper_may_be() -> None:
    usb = carrier(S, kind=CarrierKind.USB_DRIVE, highest_level_held=S)
    assert reclass(usb, C) == {"R-103"}
    assert reclass(replace(usb, level=C, highest_level_held=S), C) == {"R-103"}
    assert reclass(carrier(S), C) == set()
    assert reclass(replace(usb, copy_number=1, copy_total=1), S) == set()


def test_r08_reclassification_needs_approval() -> None:
    assert rules_of(check_reclassify(carrier(S), C, SecrecyPeriod(years=5), carrier().scope, None, ARCHIVE, NOW,
                                     POLICY)) == {"R-08"}


def test_reclassify_upwards_respects_place_and_copy_numbers() -> None:
    assert reclass(carrier(S), TS) == {"R-47"}
    assert reclass(carrier(C, copy_number=None, copy_total=None), S) == {"R-30"}


# Moves, departure, permissions, R-155 -----------------------------------------------------------------------------


def test_move_only_in_store_and_within_place_level() -> None:
    assert check_move(carrier(S), SAFE) == []
    assert rules_of(check_move(carrier(TS, location="LOC-SAFE"), ARCHIVE)) == {"R-47"}
    assert rules_of(check_move(held("reader"), SAFE)) == {"R-17"}


def test_r140_departure_refused_while_holding() -> None:
    vs = check_departure(READER, ["BJ-000001X", "BJ-000002V"])
    assert rules_of(vs) == {"R-140"} and "BJ-000002V" in vs[0].en
    assert check_departure(READER, []) == []


def test_r25_least_privilege_per_action() -> None:
    assert rules_of(check_permission(READER, Action.CHECK_OUT)) == {"R-25"}
    assert rules_of(check_permission(COURIER, Action.CHECK_OUT)) == {"R-25"}
    assert check_permission(CLERK, Action.CHECK_OUT) == []
    assert rules_of(check_permission(CLERK, Action.APPROVE)) == {"R-25"}
    assert check_permission(APPROVER, Action.APPROVE) == []
    assert READER.roles == frozenset()
    assert check_permission(READER, Action.REPORT_MISSING) == []  # anyone may report a loss


def test_departed_actor_has_no_rights() -> None:
    gone = person("gone", Clearance.CORE, "办公室", Role.CLERK, status=PersonStatus.DEPARTED)
    assert "R-143" in rules_of(check_permission(gone, Action.CHECK_OUT))


def test_r155_clock_10_days_for_top_secret_60_otherwise() -> None:
    assert leak_deadline(TS, NOW, POLICY) == NOW + timedelta(days=10)
    assert leak_deadline(S, NOW, POLICY) == NOW + timedelta(days=60)
    assert leak_deadline(INTERNAL, NOW, POLICY) is None


def test_end_of_working_day_skips_weekends() -> None:
    friday = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    due = Policy(loan_max_days=1).end_of_working_day(friday, 1)
    assert due.astimezone(POLICY.tz).strftime("%a %H:%M") == "Mon 18:00"


def test_an_approval_refusal_says_what_mends_it() -> None:
    """The counter offers Ctrl+R (a request) or points at F11 (the waiting request) from `Violation.remedy`, never by
    reading the English text; a refusal of another kind names no remedy."""
    from tracker.rules import check_approval

    def remedies(a: ApprovalFacts | None) -> set[str]:
        vs = check_approval(a, ApprovalPurpose.LOAN, "BJ-000001X", NOW, POLICY, "R-63", person=GENERAL.badge)
        assert vs
        return {v.remedy for v in vs}

    assert remedies(None) == {"request"}
    assert remedies(approval(status="denied")) == {"request"}
    assert remedies(approval(valid_until=NOW - timedelta(minutes=1))) == {"request"}
    assert remedies(approval(status="pending")) == {"pending"}
    assert {v.remedy for v in check_registration(carrier(None), ARCHIVE)} == {""}


def test_carrier_statuses_are_statuses_not_events() -> None:
    """Every status has its Chinese name: an event type that slipped into the statuses (an 'archive_consulted' and
    'incident_opened' status once did, by careless edits next to the event types) has none."""
    for status in CarrierStatus:
        assert status.zh
    assert "archive_consulted" not in {s.value for s in CarrierStatus}
