"""The print-run and meeting rules (R-29–R-36, R-123–R-126) as pure functions: three lines a case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tracker.domain import ApprovalPurpose, CarrierKind, Classification, Clearance, Regime, Role, Scope, SecrecyPeriod
from tracker.rules import (
    ApprovalFacts,
    CarrierFacts,
    LocationFacts,
    MeetingFacts,
    PersonFacts,
    Policy,
    PrintRunFacts,
    check_meeting_bound,
    check_meeting_close,
    check_meeting_keep,
    check_print_completion,
)

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
TS, S, C = Classification.TOP_SECRET, Classification.SECRET, Classification.CONFIDENTIAL
RUN = PrintRunFacts(1, "requested", TS, Regime.STATE, SecrecyPeriod(years=10), Scope(frozenset({"办公室"})), 5,
                    (("办公室", 5),))
CLERK = PersonFacts("B-1", "张", "办公室", Clearance.CORE, frozenset({Role.CLERK}))
LEADER = PersonFacts("B-2", "赵", "办公室", Clearance.CORE, frozenset({Role.APPROVER, Role.CLERK}))
READER = PersonFacts("B-3", "李", "办公室", Clearance.CORE, frozenset())


def _approval(*signers: PersonFacts) -> ApprovalFacts:
    return ApprovalFacts(7, ApprovalPurpose.PRINT, signers, frozenset(), NOW, NOW + timedelta(days=1),
                         copies=5, needed=len(signers))


def test_exact_count_printed_by_someone_who_did_not_approve() -> None:
    assert check_print_completion(RUN, _approval(LEADER), 5, CLERK, READER, {"sheets": 3}, NOW, Policy()) == []
    assert [v.rule for v in check_print_completion(RUN, _approval(LEADER), 6, CLERK, READER, {"sheets": 3}, NOW,
                                                   Policy())] == ["R-29"]
    assert "R-25" in [v.rule for v in check_print_completion(RUN, _approval(LEADER), 5, LEADER, READER, {"s": 1},
                                                             NOW, Policy())]


def test_byproducts_must_be_counted_and_proof_reader_named() -> None:
    rules = [v.rule for v in check_print_completion(RUN, _approval(LEADER), 5, CLERK, None, {}, NOW, Policy())]
    assert rules == ["R-36", "R-34"]


def test_meeting_keep_close_and_venue_binding() -> None:
    m = MeetingFacts(1, "open", S, LocationFacts("L", "会议室", TS), frozenset({"B-3"}))
    assert [v.rule for v in check_meeting_keep(m, _carrier(S), "B-3")] == ["R-124"]
    assert check_meeting_keep(m, _carrier(C), "B-3") == []
    assert [v.rule for v in check_meeting_close(m, ["BJ-1"], False)] == ["R-123", "R-126"]
    assert check_meeting_close(m, [], True) == []
    assert [v.rule for v in check_meeting_bound("BJ-1", TS, 1)] == ["R-124"] and check_meeting_bound("BJ-1", C, 1) == []


def _carrier(level: Classification) -> CarrierFacts:
    return CarrierFacts("BJ-1", CarrierKind.PAPER, Regime.STATE, level, SecrecyPeriod(years=10),
                        Scope(frozenset({"办公室"})))
