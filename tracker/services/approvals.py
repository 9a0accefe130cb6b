"""Approvals (审批): granted by an approver, bound to named carriers, time-limited and single-use per carrier (§5 Q8).

This module records approvals and reads them back as facts for the rulebook; it never decides whether an operation
may proceed — `tracker.rules.check_approval` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update

from tracker.domain import ApprovalPurpose, DomainError, EventType
from tracker.ledger import EventDraft
from tracker.rules import Action, ApprovalFacts, check_grant
from tracker.schema import Approval, ApprovalCarrier, Carrier, Person
from tracker.services.common import NotFound, Signed, actor_facts, get_carrier, get_person, person_facts, refuse
from tracker.store import UnitOfWork


def grant(uow: UnitOfWork, approver: Signed, purpose: str, carriers: Sequence[str], valid_until: datetime,
          grantee: str | None = None, issuer_approved: bool = False, copies: int | None = None,
          note: str = "", requested_by: str | None = None) -> int:
    """Record an approval by the signed approver; returns its number for the counter to quote."""
    with uow:
        _person, facts = actor_facts(uow, approver, Action.APPROVE)
        now = uow.now()
        try:
            what = ApprovalPurpose(purpose.strip().lower().replace("-", "_"))
        except ValueError:
            raise DomainError(f"Unknown approval purpose {purpose!r}: use "
                              f"{', '.join(p.value for p in ApprovalPurpose)}.",
                              f"无法识别的审批事项 {purpose!r}。") from None
        codes = [c.strip() for c in carriers if c.strip()]
        refuse(check_grant(facts, grantee, valid_until, now, codes, uow.policy), "approve", None, approver.badge)
        rows = [get_carrier(uow, code, lock=False) for code in codes]
        grantee_row = get_person(uow, grantee) if grantee else None
        requester_row = get_person(uow, requested_by) if requested_by else grantee_row
        approver_row = get_person(uow, approver.badge)
        a = Approval(purpose=what.value, approver_id=approver_row.id,
                     grantee_id=grantee_row.id if grantee_row else None,
                     requester_id=requester_row.id if requester_row else None, issuer_approved=issuer_approved,
                     copies=copies, note=note, valid_from=now, valid_until=valid_until, created_at=now)
        uow.session.add(a)
        uow.session.flush()
        uow.session.add_all([ApprovalCarrier(approval_id=a.id, carrier_id=c.id) for c in rows])
        uow.ledger.append(EventDraft(EventType.APPROVAL_GRANTED, actor=approver.badge, approval_id=a.id,
                                     to_holder=grantee,
                                     payload={"purpose": what.value, "carriers": codes,
                                              "requested_by": requester_row.badge if requester_row else None,
                                              "until": valid_until.isoformat(), "issuer_approved": issuer_approved,
                                              "copies": copies, "note": note}),
                          now)
        uow.commit()
        return a.id


def approval_facts(uow: UnitOfWork, approval_id: int | None,
                   carrier_id: int | None = None) -> ApprovalFacts | None:
    """The approval as facts; with `carrier_id`, only that carrier's link is read (an approval may cover thousands)."""
    if approval_id is None:
        return None
    a = uow.session.get(Approval, approval_id)
    if a is None:
        raise NotFound(f"No approval #{approval_id}.", f"没有编号为 #{approval_id} 的审批。")
    approver = uow.session.get(Person, a.approver_id)
    assert approver is not None
    grantee = uow.session.get(Person, a.grantee_id) if a.grantee_id else None
    links = uow.session.execute(
        select(Carrier.code, ApprovalCarrier.used_at).join(Carrier, Carrier.id == ApprovalCarrier.carrier_id)
        .where(ApprovalCarrier.approval_id == a.id,
               *([ApprovalCarrier.carrier_id == carrier_id] if carrier_id is not None else []))
    ).all()
    return ApprovalFacts(
        id=a.id, purpose=ApprovalPurpose(a.purpose), approver=person_facts(approver),
        carriers=frozenset(code for code, _ in links), used_for=frozenset(code for code, used in links if used),
        valid_from=a.valid_from, valid_until=a.valid_until,
        grantee=grantee.badge if grantee else None, issuer_approved=a.issuer_approved, copies=a.copies,
    )


def mark_used(uow: UnitOfWork, approval_id: int, carrier_ids: Sequence[int], now: datetime) -> None:
    uow.session.execute(
        update(ApprovalCarrier)
        .where(ApprovalCarrier.approval_id == approval_id, ApprovalCarrier.carrier_id.in_(carrier_ids))
        .values(used_at=now)
    )


def pending_for(uow: UnitOfWork, badge: str) -> list[Approval]:
    """Approvals granted to a person and not used yet (for the approvals screen)."""
    person = get_person(uow, badge)
    return list(uow.session.execute(
        select(Approval).where(Approval.grantee_id == person.id).order_by(Approval.id.desc())
    ).scalars())
