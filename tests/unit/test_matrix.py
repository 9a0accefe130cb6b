"""The approval matrix walked whole: every purpose × level × approver role × approver clearance, and self-approval for
every purpose. The expectations are written out here from RULES §5.2 (not read from DEFAULT_MATRIX), so a change to
the shipped matrix that loosens a cell fails this table."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from tracker.domain import ApprovalPurpose, CarrierKind, Classification, Clearance, Regime, Role, Scope, SecrecyPeriod
from tracker.policy import policy_document, policy_from_document, shipped_policy
from tracker.rules import CarrierFacts, PersonFacts, Policy, check_decision, decision_complete

P, L = ApprovalPurpose, Classification
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
POLICY = Policy()
LEAD, OFFICE, BOARD = Role.APPROVER, Role.OFFICE_LEADER, Role.COMMITTEE
CARRIER_PURPOSES = [p for p in P if p.about_carriers]
LEVELS = [L.TOP_SECRET, L.SECRET, L.CONFIDENTIAL, L.INTERNAL]

# purpose -> (roles allowed for 绝密, roles allowed below, distinct approvers for 绝密, below)
EXPECTED: dict[ApprovalPurpose, tuple[set[Role], set[Role], int, int]] = {
    P.LOAN: ({OFFICE}, {LEAD, OFFICE}, 1, 1),  # 绝密 loans by the office leader
    P.OUTSIDE_LOAN: ({BOARD, OFFICE}, {BOARD, OFFICE}, 1, 1),
    P.COPY: ({LEAD, OFFICE}, {LEAD, OFFICE}, 2, 1),  # leader + issuing unit
    P.EXTRACT: ({LEAD, OFFICE}, {LEAD, OFFICE}, 1, 1),
    P.CARRY_OUT: ({LEAD, OFFICE, BOARD}, {LEAD, OFFICE, BOARD}, 1, 1),
    P.DESTRUCTION: ({LEAD, OFFICE, BOARD}, {LEAD, OFFICE, BOARD}, 2, 1),  # R-146, two for 绝密
    P.SCOPE_EXTENSION: ({LEAD, BOARD}, {LEAD, BOARD}, 1, 1),
    P.RECLASSIFY: ({LEAD, BOARD}, {LEAD, BOARD}, 1, 1),
    P.DECLASSIFY: ({LEAD, BOARD}, {LEAD, BOARD}, 2, 2),
}
ROLE_SETS = [frozenset({r}) for r in Role] + [frozenset()]


def person(badge: str, clearance: Clearance, *roles: Role, unit: str = "办公室") -> PersonFacts:
    return PersonFacts(badge, badge, unit, clearance, frozenset(roles))


def carrier(level: Classification) -> CarrierFacts:
    return CarrierFacts("BJ-000001X", CarrierKind.PAPER, Regime.STATE, level, SecrecyPeriod(years=10),
                        Scope(units=frozenset({"办公室"})))


def rules_of(vs: list) -> set[str]:  # type: ignore[type-arg]
    return {v.rule for v in vs}


@pytest.mark.parametrize("purpose", CARRIER_PURPOSES, ids=lambda p: p.value)
def test_every_role_and_clearance_at_every_level(purpose: ApprovalPurpose) -> None:
    top, below, _, _ = EXPECTED[purpose]
    for level, roles, clearance in itertools.product(LEVELS, ROLE_SETS, Clearance):
        approver = person("boss", clearance, *roles)
        vs = check_decision(approver, purpose, [carrier(level)], None, "clerk", [], NOW + timedelta(hours=4), NOW,
                            POLICY)
        allowed_roles = top if level == L.TOP_SECRET else below
        role_ok = bool(roles & allowed_roles)
        clearance_ok = clearance.may_hold(level)
        assert (vs == []) == (role_ok and clearance_ok), (purpose, level, roles, clearance, vs)
        if not clearance_ok:
            assert "R-159" in rules_of(vs)


@pytest.mark.parametrize("purpose", list(P), ids=lambda p: p.value)
def test_nobody_approves_their_own_request_for_any_purpose(purpose: ApprovalPurpose) -> None:
    boss = person("boss", Clearance.CORE, LEAD, OFFICE, BOARD)
    items = [carrier(L.SECRET)] if purpose.about_carriers else []
    as_requester = check_decision(boss, purpose, items, None, "boss", [], NOW + timedelta(hours=4), NOW, POLICY)
    as_grantee = check_decision(boss, purpose, items, boss, "clerk", [], NOW + timedelta(hours=4), NOW, POLICY)
    twice = check_decision(boss, purpose, items, None, "clerk", ["boss"], NOW + timedelta(hours=4), NOW, POLICY)
    assert "R-25" in rules_of(as_requester) and "R-25" in rules_of(as_grantee)
    assert twice  # the same approver's second signature never counts as a second approver


@pytest.mark.parametrize("purpose", CARRIER_PURPOSES, ids=lambda p: p.value)
def test_how_many_distinct_approvers_each_cell_needs(purpose: ApprovalPurpose) -> None:
    _, _, n_top, n_below = EXPECTED[purpose]
    a = person("a", Clearance.CORE, LEAD, OFFICE, BOARD)
    b = person("b", Clearance.CORE, LEAD, OFFICE, BOARD)
    for level, needed in ((L.TOP_SECRET, n_top), (L.SECRET, n_below)):
        done_one, got, _ = decision_complete(POLICY, purpose, [carrier(level)], [a], ["办公室"])
        done_two, _, _ = decision_complete(POLICY, purpose, [carrier(level)], [a, b], ["办公室"])
        assert got == needed and done_one == (needed == 1) and done_two
        assert not decision_complete(POLICY, purpose, [carrier(level)], [a, a], ["办公室"])[0] or needed == 1


def test_top_secret_copy_needs_someone_of_the_issuing_unit() -> None:
    a = person("a", Clearance.CORE, LEAD)
    b = person("b", Clearance.CORE, LEAD, unit="法规处")
    ts = [carrier(L.TOP_SECRET)]
    assert decision_complete(POLICY, P.COPY, ts, [a, b], ["技术处"])[0] is False  # nobody from 技术处 signed
    assert decision_complete(POLICY, P.COPY, ts, [a, b], ["法规处"])[0] is True


@pytest.mark.parametrize(("purpose", "level", "roles", "ok"), [
    (P.CLEARANCE_CHANGE, L.TOP_SECRET, {BOARD}, True),
    (P.CLEARANCE_CHANGE, L.TOP_SECRET, {Role.SECURITY_OFFICER}, False),
    (P.ROLE_CHANGE, None, {LEAD}, True),
    (P.ROLE_CHANGE, None, {Role.ADMIN}, False),
    (P.POLICY_CHANGE, None, {BOARD}, True),
    (P.POLICY_CHANGE, None, {Role.SECURITY_OFFICER}, False),
])
def test_people_and_policy_purposes(purpose: ApprovalPurpose, level: Classification | None, roles: set[Role],
                                    ok: bool) -> None:
    for clearance in Clearance:
        vs = check_decision(person("boss", clearance, *roles), purpose, [], None, "officer", [],
                            NOW + timedelta(hours=4), NOW, POLICY, level=level)
        assert (vs == []) == (ok and (level is None or clearance.may_hold(level))), (purpose, clearance, vs)


def test_shipped_policy_is_the_default_and_round_trips() -> None:
    assert shipped_policy() == Policy()
    assert policy_from_document(policy_document(Policy())) == Policy()
