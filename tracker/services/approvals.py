"""Approvals (审批): granted by an approver, bound to named carriers, time-limited and single-use per carrier (§5 Q8).

This module records approvals and reads them back as facts for the rulebook; it never decides whether an operation
may proceed — `tracker.rules.check_approval` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, bindparam, select, update

from tracker.domain import ApprovalPurpose, DomainError, EventType
from tracker.ledger import EventDraft
from tracker.prepared import Prepared
from tracker.rules import Action, ApprovalFacts, check_grant
from tracker.schema import Approval, ApprovalCarrier, Carrier, Person, table
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


_approvals = table(Approval)
_approver, _grantee = table(Person).alias("approver"), table(Person).alias("grantee")
_link, _linked = table(ApprovalCarrier), table(Carrier).alias("linked")
_APPROVAL = Prepared(
    select(_approvals.c.id.label("a_id"), _approvals.c.purpose, _approvals.c.valid_from, _approvals.c.valid_until,
           _approvals.c.issuer_approved, _approvals.c.copies, _approver.c.badge, _approver.c.name, _approver.c.unit,
           _approver.c.clearance, _approver.c.roles, _approver.c.status, _grantee.c.badge.label("grantee_badge"),
           _linked.c.code.label("link_code"), _link.c.used_at.label("link_used_at"))
    .select_from(_approvals.join(_approver, _approver.c.id == _approvals.c.approver_id)
                 .outerjoin(_grantee, _grantee.c.id == _approvals.c.grantee_id)
                 .outerjoin(_link, and_(_link.c.approval_id == _approvals.c.id, _link.c.carrier_id == bindparam("cid")))
                 .outerjoin(_linked, _linked.c.id == _link.c.carrier_id))
    .where(_approvals.c.id == bindparam("aid"))
)
_ALL_LINKS = (select(_linked.c.code, _link.c.used_at)
              .select_from(_link.join(_linked, _linked.c.id == _link.c.carrier_id))
              .where(_link.c.approval_id == bindparam("aid")))


def approval_facts(uow: UnitOfWork, approval_id: int | None,
                   carrier_id: int | None = None) -> ApprovalFacts | None:
    """The approval as facts; with `carrier_id`, only that carrier's link is read (an approval may cover thousands).

    The approval, its approver, its grantee and the one link come back in a single prebuilt statement: this runs on
    every check-out at the counter, where each round trip and each query built anew is felt.
    """
    if approval_id is None:
        return None
    row = _APPROVAL.one_or_none(uow.session, {"aid": approval_id, "cid": carrier_id})
    if row is None:
        raise NotFound(f"No approval #{approval_id}.", f"没有编号为 #{approval_id} 的审批。")
    links: list[tuple[str, datetime | None]]
    if carrier_id is not None:
        links = [(row.link_code, row.link_used_at)] if row.link_code is not None else []
    else:
        links = [(code, used) for code, used in uow.session.execute(_ALL_LINKS, {"aid": approval_id})]
    return ApprovalFacts(
        id=row.a_id, purpose=ApprovalPurpose(row.purpose), approver=person_facts(row),
        carriers=frozenset(code for code, _ in links), used_for=frozenset(code for code, used in links if used),
        valid_from=row.valid_from, valid_until=row.valid_until,
        grantee=row.grantee_badge, issuer_approved=row.issuer_approved, copies=row.copies,
    )


_links = table(ApprovalCarrier)
_MARK_USED = Prepared(update(_links)
                      .where(_links.c.approval_id == bindparam("aid"), _links.c.carrier_id == bindparam("cid"))
                      .values(used_at=bindparam("used_at")))


def mark_used(uow: UnitOfWork, approval_id: int, carrier_ids: Sequence[int], now: datetime) -> None:
    """Every caller marks one carrier per operation, so this is one prebuilt statement per carrier."""
    for cid in carrier_ids:
        _MARK_USED.execute(uow.session, {"aid": approval_id, "cid": cid, "used_at": now})


def pending_for(uow: UnitOfWork, badge: str) -> list[Approval]:
    """Approvals granted to a person and not used yet (for the approvals screen)."""
    person = get_person(uow, badge)
    return list(uow.session.execute(
        select(Approval).where(Approval.grantee_id == person.id).order_by(Approval.id.desc())
    ).scalars())
