"""The approval matrix walked whole: every purpose × level × regime × approver role × approver clearance, the longest
validity and the number of distinct approvers of every cell, and self-approval (requesting, executing, benefiting) for
every purpose. The expectations are written out here from RULES §5.2 (not read from DEFAULT_MATRIX), so a change to
the shipped matrix that loosens a cell fails this table."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from tracker.domain import ApprovalPurpose, CarrierKind, Classification, Clearance, Regime, Role, Scope, SecrecyPeriod
from tracker.policy import policy_document, policy_from_document, shipped_policy
from tracker.rules import (
    PURPOSE_RULE,
    ApprovalFacts,
    CarrierFacts,
    MatrixRow,
    PersonFacts,
    Policy,
    check_approval,
    check_decision,
    decision_complete,
)

P, L = ApprovalPurpose, Classification
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
POLICY = Policy()
LEAD, OFFICE, BOARD = Role.APPROVER, Role.OFFICE_LEADER, Role.COMMITTEE
CARRIER_PURPOSES = [p for p in P if p.about_carriers]
LEVELS = [L.TOP_SECRET, L.SECRET, L.CONFIDENTIAL, L.INTERNAL]

# purpose -> (roles allowed for 绝密, roles allowed below, distinct approvers for 绝密, below, longest validity in hours
# for 绝密, below) — every purpose of the matrix, the people and policy purposes and print runs included.
EXPECTED: dict[ApprovalPurpose, tuple[set[Role], set[Role], int, int, int, int]] = {
    P.LOAN: ({OFFICE}, {LEAD, OFFICE}, 1, 1, 24, 72),  # 绝密 loans by the office leader, for a day
    P.OUTSIDE_LOAN: ({BOARD, OFFICE}, {BOARD, OFFICE}, 1, 1, 72, 72),
    P.COPY: ({LEAD, OFFICE}, {LEAD, OFFICE}, 2, 1, 72, 72),  # leader + issuing unit
    P.EXTRACT: ({LEAD, OFFICE}, {LEAD, OFFICE}, 1, 1, 72, 72),
    P.CARRY_OUT: ({LEAD, OFFICE, BOARD}, {LEAD, OFFICE, BOARD}, 1, 1, 14 * 24, 14 * 24),
    P.DESTRUCTION: ({LEAD, OFFICE, BOARD}, {LEAD, OFFICE, BOARD}, 2, 1, 30 * 24, 30 * 24),  # R-146, two for 绝密
    P.SCOPE_EXTENSION: ({LEAD, BOARD}, {LEAD, BOARD}, 1, 1, 72, 72),
    P.RECLASSIFY: ({LEAD, BOARD}, {LEAD, BOARD}, 1, 1, 72, 72),
    P.DECLASSIFY: ({LEAD, BOARD}, {LEAD, BOARD}, 2, 2, 72, 72),
    P.PRINT: ({LEAD, OFFICE}, {LEAD, OFFICE}, 2, 1, 7 * 24, 7 * 24),  # 绝密 runs by two, as 绝密 copies
    P.CLEARANCE_CHANGE: ({LEAD, BOARD}, {LEAD, BOARD}, 1, 1, 7 * 24, 7 * 24),  # R-160, judged at the level opened
    P.ROLE_CHANGE: ({LEAD, BOARD}, {LEAD, BOARD}, 1, 1, 7 * 24, 7 * 24),  # 三员分立: never the administrator
    P.POLICY_CHANGE: ({LEAD, BOARD}, {LEAD, BOARD}, 1, 1, 7 * 24, 7 * 24),  # never the security officer alone
}
ROLE_SETS = [frozenset({r}) for r in Role] + [frozenset()]
# Role and policy changes concern no level; a clearance change and a print run are judged at a level given directly.
NO_LEVEL = {P.ROLE_CHANGE, P.POLICY_CHANGE}


def person(badge: str, clearance: Clearance, *roles: Role, unit: str = "办公室") -> PersonFacts:
    return PersonFacts(badge, badge, unit, clearance, frozenset(roles))


def carrier(level: Classification, regime: Regime = Regime.STATE) -> CarrierFacts:
    return CarrierFacts("BJ-000001X", CarrierKind.PAPER, regime, level, SecrecyPeriod(years=10),
                        Scope(units=frozenset({"办公室"})))


def rules_of(vs: list) -> set[str]:  # type: ignore[type-arg]
    return {v.rule for v in vs}


def cases(purpose: ApprovalPurpose) -> list[tuple[Classification | None, Regime | None]]:
    """Every (level, regime) a purpose is decided at: carriers of each level under each regime, else the level alone."""
    if purpose in NO_LEVEL:
        return [(None, None)]
    if purpose.about_carriers:
        return list(itertools.product(LEVELS, Regime))
    return [(level, None) for level in LEVELS]


def decide(approver: PersonFacts, purpose: ApprovalPurpose, level: Classification | None, regime: Regime | None,
           hours: float = 4, policy: Policy = POLICY) -> list:  # type: ignore[type-arg]
    items = [carrier(level, regime)] if purpose.about_carriers and level is not None and regime is not None else []
    return check_decision(approver, purpose, items, None, "clerk", [], NOW + timedelta(hours=hours), NOW, policy,
                          level=None if purpose.about_carriers else level)


def test_the_table_names_every_purpose() -> None:
    assert set(EXPECTED) == set(P)


@pytest.mark.parametrize("purpose", list(P), ids=lambda p: p.value)
def test_every_role_and_clearance_at_every_level_and_regime(purpose: ApprovalPurpose) -> None:
    top, below, *_ = EXPECTED[purpose]
    walked = 0
    for (level, regime), roles, clearance in itertools.product(cases(purpose), ROLE_SETS, Clearance):
        vs = decide(person("boss", clearance, *roles), purpose, level, regime)
        allowed_roles = top if level == L.TOP_SECRET else below
        role_ok = bool(roles & allowed_roles)
        clearance_ok = level is None or clearance.may_hold(level)
        assert (vs == []) == (role_ok and clearance_ok), (purpose, level, regime, roles, clearance, vs)
        if not clearance_ok:
            assert "R-159" in rules_of(vs)
        if not role_ok:
            assert PURPOSE_RULE[purpose] in rules_of(vs)
        walked += 1
    assert walked == len(cases(purpose)) * len(ROLE_SETS) * len(Clearance)


@pytest.mark.parametrize("purpose", list(P), ids=lambda p: p.value)
def test_the_longest_validity_of_every_cell(purpose: ApprovalPurpose) -> None:
    *_, top_hours, below_hours = EXPECTED[purpose]
    boss = person("boss", Clearance.CORE, LEAD, OFFICE, BOARD)
    for level, regime in cases(purpose):
        hours = top_hours if level == L.TOP_SECRET else below_hours
        assert decide(boss, purpose, level, regime, hours) == [], (purpose, level, regime)
        assert PURPOSE_RULE[purpose] in rules_of(decide(boss, purpose, level, regime, hours + 0.5)), (purpose, level)


def test_a_row_for_one_regime_decides_only_that_regime() -> None:
    """Company secrets (公司秘密) may have their own approvers (§5.2: 董事长 or 总经理): a row limited to the company
    regime decides company carriers and leaves state secrets to the rows after it."""
    company = MatrixRow(P.COPY, frozenset({BOARD}), regimes=frozenset({Regime.COMPANY}), max_hours=24)
    policy = Policy(approval_matrix=(company, *POLICY.approval_matrix))
    leader, board = person("lead", Clearance.CORE, LEAD), person("board", Clearance.CORE, BOARD)
    assert decide(board, P.COPY, L.SECRET, Regime.COMPANY, policy=policy) == []
    assert "R-75" in rules_of(decide(leader, P.COPY, L.SECRET, Regime.COMPANY, policy=policy))
    assert decide(leader, P.COPY, L.SECRET, Regime.STATE, policy=policy) == []
    assert "R-75" in rules_of(decide(board, P.COPY, L.SECRET, Regime.STATE, policy=policy))
    assert "R-75" in rules_of(decide(board, P.COPY, L.SECRET, Regime.COMPANY, hours=30, policy=policy))


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
def test_nobody_executes_or_benefits_from_what_they_approved(purpose: ApprovalPurpose) -> None:
    boss = person("boss", Clearance.CORE, LEAD, OFFICE, BOARD)
    granted = ApprovalFacts(7, purpose, (boss,), frozenset({"BJ-000001X"}), NOW - timedelta(hours=1),
                            NOW + timedelta(hours=4), grantee="boss", requester="clerk")
    rule = PURPOSE_RULE[purpose]
    assert check_approval(granted, purpose, "BJ-000001X", NOW, POLICY, rule, None, "clerk") == []
    assert "R-25" in rules_of(check_approval(granted, purpose, "BJ-000001X", NOW, POLICY, rule, None, "boss"))
    assert "R-25" in rules_of(check_approval(granted, purpose, "BJ-000001X", NOW, POLICY, rule, "boss", "clerk"))


@pytest.mark.parametrize(("purpose", "level", "regime"), [
    (p, lv, rg) for p in P for lv, rg in cases(p) if lv in (L.TOP_SECRET, L.SECRET, None)],
    ids=lambda v: str(getattr(v, "value", v)))
def test_how_many_distinct_approvers_each_cell_needs_for_every_purpose(
        purpose: ApprovalPurpose, level: Classification | None, regime: Regime | None) -> None:
    _, _, n_top, n_below, _, _ = EXPECTED[purpose]
    needed = n_top if level == L.TOP_SECRET else n_below
    a = person("a", Clearance.CORE, LEAD, OFFICE, BOARD)
    b = person("b", Clearance.CORE, LEAD, OFFICE, BOARD)
    items = [carrier(level, regime)] if purpose.about_carriers and level and regime else []
    lv = None if purpose.about_carriers else level
    done_one, got, _ = decision_complete(POLICY, purpose, items, [a], ["办公室"] * len(items), lv)
    done_two, _, _ = decision_complete(POLICY, purpose, items, [a, b], ["办公室"] * len(items), lv)
    assert got == needed and done_one == (needed == 1) and done_two
    assert not decision_complete(POLICY, purpose, items, [a, a], ["办公室"] * len(items), lv)[0] or needed == 1


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
