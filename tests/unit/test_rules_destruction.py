"""The destruction rules (RULES §2.14, R-145–R-150) as pure functions: each refusing and each allowing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from tracker.domain import ApprovalPurpose, CarrierKind, CarrierStatus, Classification, Clearance, Regime, Role
from tracker.policy import policy_document, policy_from_document, shipped_policy
from tracker.rules import (
    ApprovalFacts,
    BatchFacts,
    CarrierFacts,
    DestructionMethod,
    PersonFacts,
    Policy,
    Violation,
    allowed_methods,
    check_certification,
    check_checkout,
    check_destruction_completion,
    check_destruction_listing,
    check_destruction_scan,
    check_leaving,
    check_retire,
    check_transfer_signoff,
    parse_method,
)

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
PAPER = CarrierFacts("C1", CarrierKind.PAPER, Regime.STATE, Classification.SECRET, None, None, location="SHELF")
USB = CarrierFacts("C2", CarrierKind.USB_DRIVE, Regime.STATE, Classification.SECRET, None, None, location="SHELF")
A = PersonFacts("A", "甲", "办公室", Clearance.CORE, frozenset({Role.SECURITY_OFFICER}))
B = PersonFacts("B", "乙", "办公室", Clearance.IMPORTANT, frozenset({Role.AUDITOR}))
LEAD = PersonFacts("L", "丙", "办公室", Clearance.CORE, frozenset({Role.APPROVER}))
OPEN = BatchFacts(1, "open", "CLERK")
PENDING = CarrierStatus.PENDING_DESTRUCTION
READY = BatchFacts(1, "submitted", "CLERK", (replace(PAPER, status=PENDING), replace(USB, status=PENDING)),
                   frozenset({"C1", "C2"}))
GRANTED = ApprovalFacts(7, ApprovalPurpose.DESTRUCTION, (LEAD,), frozenset({"C1", "C2"}), NOW, NOW + timedelta(days=1),
                        requester="CLERK")
DEFAULT = Policy()
METHODS: dict[CarrierKind, DestructionMethod | Violation] = {
    CarrierKind.PAPER: DestructionMethod.SHREDDING, CarrierKind.USB_DRIVE: DestructionMethod.PHYSICAL}


def complete(batch: BatchFacts = READY, sups: tuple[tuple[PersonFacts, bool], ...] = ((A, True), (B, True)),
             methods: dict[CarrierKind, DestructionMethod | Violation] = METHODS, site: str = "涉密载体销毁中心",
             policy: Policy = DEFAULT, executor: str = "CLERK2") -> list[str]:
    return [v.rule for v in check_destruction_completion(batch, GRANTED, sups, methods, site, NOW, policy, executor)]


def test_a_complete_batch_passes() -> None:
    assert complete() == []


def test_listing_refuses_carriers_not_at_hand_r147() -> None:
    assert check_destruction_listing(OPEN, PAPER, None, None) == []
    for status in (CarrierStatus.ON_LOAN, CarrierStatus.MISSING, CarrierStatus.IN_TRANSIT, CarrierStatus.DESTROYED):
        assert [v.rule for v in check_destruction_listing(OPEN, replace(PAPER, status=status), None, None)] == ["R-147"]
    assert check_destruction_listing(OPEN, replace(PAPER, status=CarrierStatus.ARCHIVED), None, None) == []
    assert "another (#4)" in check_destruction_listing(OPEN, PAPER, 4, None)[0].en
    assert "missing" in check_destruction_listing(OPEN, PAPER, None, "missing")[0].en
    assert "approval" in check_destruction_listing(replace(OPEN, status="submitted"), PAPER, None, None)[0].en


def test_scan_needs_a_granted_approval_r146() -> None:
    assert check_destruction_scan(READY, GRANTED) == []
    assert check_destruction_scan(READY, replace(GRANTED, status="pending"))[0].rule == "R-146"
    assert check_destruction_scan(OPEN, None)[0].rule == "R-146"


def test_unscanned_and_extra_items_block_completion_r147() -> None:
    assert complete(replace(READY, scanned=frozenset({"C1"}))) == ["R-147"]
    assert complete(replace(READY, extras=frozenset({"X"}))) == ["R-147"]


def test_two_signed_supervisors_not_the_requester_r148() -> None:
    assert complete(sups=((A, True),)) == ["R-148"]
    assert complete(sups=((A, True), (A, True))) == ["R-148"]
    assert complete(sups=((A, True), (B, False))) == ["R-148"]
    assert complete(sups=((A, True), (replace(B, badge="CLERK"), True))) == ["R-148"]
    assert complete(executor="A") == ["R-148"]
    # the minimum is configurable upwards, never below two
    assert complete(policy=replace(Policy(), destruction_supervisors=3)) == ["R-148"]
    assert complete(policy=replace(Policy(), destruction_supervisors=1), sups=((A, True),)) == ["R-148"]


def test_supervisors_need_the_clearance_r159() -> None:
    general = replace(B, clearance=Clearance.GENERAL)
    assert complete(sups=((A, True), (general, True))) == ["R-159"]


def test_method_per_kind_never_format_r150() -> None:
    assert allowed_methods(CarrierKind.PAPER) == {DestructionMethod.SHREDDING, DestructionMethod.PULPING}
    assert allowed_methods(CarrierKind.USB_DRIVE) == {DestructionMethod.PHYSICAL, DestructionMethod.CHEMICAL}
    fmt = parse_method("format")
    assert isinstance(fmt, Violation) and fmt.rule == "R-150" and "recovered" in fmt.en
    assert isinstance(parse_method("删除"), Violation)
    assert parse_method("粉碎") is DestructionMethod.SHREDDING
    assert complete(methods={**METHODS, CarrierKind.USB_DRIVE: fmt}) == ["R-150"]
    assert complete(methods={**METHODS, CarrierKind.USB_DRIVE: DestructionMethod.SHREDDING}) == ["R-150"]
    assert complete(methods={CarrierKind.PAPER: DestructionMethod.PULPING}) == ["R-150"]  # no method for the USB


def test_only_a_designated_site_r149() -> None:
    assert complete(site="the car park") == ["R-149"]


def test_approval_is_checked_and_completion_happens_once() -> None:
    assert complete(replace(READY, status="completed")) == ["R-147"]
    assert complete(replace(READY, status="open")) == ["R-146"]
    executor_approved = [v.rule for v in check_destruction_completion(READY, GRANTED, ((A, True), (B, True)), METHODS,
                                                                      "涉密载体销毁中心", NOW, Policy(), "L")]
    assert executor_approved == ["R-25"]


def test_a_gone_carrier_is_refused_at_the_counter_r145() -> None:
    gone = replace(PAPER, status=CarrierStatus.DESTROYED, location=None, level=Classification.INTERNAL)
    out = check_checkout(gone, A, True, None, NOW + timedelta(hours=1), NOW, None, Policy())
    assert [v.rule for v in out] == ["R-145"] and "已销毁" in out[0].zh


def test_leaving_the_register_starts_from_custody() -> None:
    assert check_leaving(PAPER, "archive") == []
    assert check_leaving(replace(PAPER, status=CarrierStatus.ARCHIVED), "archive")[0].rule == "R-135"
    assert check_leaving(replace(PAPER, status=CarrierStatus.ARCHIVED), "return") == []
    assert check_leaving(replace(PAPER, status=CarrierStatus.ON_LOAN, holder="X"), "transfer")[0].rule == "R-144"


def test_policy_carries_the_destruction_settings() -> None:
    shipped = shipped_policy()
    assert shipped.destruction_supervisors == 2 and "涉密载体销毁中心" in shipped.destruction_sites
    doc = policy_document(shipped)
    assert policy_from_document(doc) == shipped


def test_an_item_no_longer_pending_or_raised_to_top_secret_blocks_completion() -> None:
    lost = replace(READY, items=(replace(READY.items[0], status=CarrierStatus.MISSING), READY.items[1]))
    assert complete(lost) == ["R-147"]
    raised = replace(READY, items=(replace(READY.items[0], level=Classification.TOP_SECRET), READY.items[1]))
    core = replace(B, clearance=Clearance.CORE)
    assert complete(raised, sups=((A, True), (core, True))) == ["R-146"]  # one approver signed; 绝密 needs two


def test_repair_rules_r115_to_r118() -> None:
    from tracker.rules import check_repair

    conf = replace(USB, level=Classification.CONFIDENTIAL)
    due = NOW + timedelta(days=3)
    carry = replace(GRANTED, purpose=ApprovalPurpose.CARRY_OUT, carriers=frozenset({"C2"}), grantee="A")
    ok = Policy(approved_repairers=("定点",))

    def rules(c: CarrierFacts = conf, repairer: str = "定点", storage: str = "removed", signed: bool = True,
              approval: ApprovalFacts | None = carry) -> list[str]:
        return [v.rule for v in check_repair(c, repairer, A, signed, storage, approval, due, NOW, ok, "CLERK")]

    assert rules() == [] and rules(repairer="in-house", storage="kept", approval=None) == []
    assert rules(PAPER) == ["R-115"]
    assert rules(repairer="elsewhere") == ["R-118"]
    assert rules(USB) == ["R-118"]  # 机密 is not sent out
    assert rules(storage="kept") == ["R-117"]
    assert rules(signed=False) == ["R-116"]
    assert rules(approval=None) == ["R-115"]


def test_retiring_is_for_media_and_equipment_with_a_written_reason_r104_r121() -> None:
    assert check_retire(USB, "接口损坏") == []
    assert [v.rule for v in check_retire(PAPER, "old")] == ["R-104"]
    assert [v.rule for v in check_retire(USB, "  ")] == ["R-121"]


def test_a_classified_computers_certification_r110() -> None:
    laptop = replace(USB, kind=CarrierKind.LAPTOP)
    assert check_certification(laptop, "国产某型", "认证1号") == []
    assert [v.rule for v in check_certification(USB, "国产某型", "认证1号")] == ["R-110"]
    assert [v.rule for v in check_certification(laptop, "国产某型", " ")] == ["R-110"]
    assert [v.rule for v in check_certification(replace(laptop, status=CarrierStatus.DESTROYED), "p", "c")] == ["R-110"]


def test_a_transfer_out_is_signed_off_by_a_leader_r142() -> None:
    assert check_transfer_signoff(LEAD, True, "CLERK") == []
    assert [v.rule for v in check_transfer_signoff(None, False, "CLERK")] == ["R-142"]
    assert [v.rule for v in check_transfer_signoff(B, True, "CLERK")] == ["R-142"]  # an auditor is no leader
    assert [v.rule for v in check_transfer_signoff(LEAD, False, "CLERK")] == ["R-142"]
    assert [v.rule for v in check_transfer_signoff(LEAD, True, "L")] == ["R-142"]  # not their own transfer
