"""Approvals (审批): requests raised at the counter, decided by distinct approvers per the matrix, used once.

A request names its purpose, its carriers (or, for a clearance, role or policy change, what it asks for), the person
it is for and until when. Approvers decide it one by one (`decide`); it is granted once the matrix's number of
distinct approvers — with the issuing unit's approver where the matrix asks (R-74) — have approved, and denied by any
one denial. Who may sign is decided by `tracker.rules.check_decision` (role per purpose × level, clearance R-159, not
the requester nor the beneficiary); whether a granted approval covers an act is decided by
`tracker.rules.check_approval` when the act is done. This module records and reads; it never decides.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, select, update

from tracker.domain import ApprovalPurpose, Classification, DomainError, EventType
from tracker.ledger import EventDraft
from tracker.prepared import Prepared
from tracker.rules import (
    PURPOSE_RULE,
    Action,
    ApprovalFacts,
    CarrierFacts,
    Violation,
    check_decision,
    decision_complete,
)
from tracker.schema import Approval, ApprovalCarrier, ApprovalDecision, Carrier, Person, table
from tracker.services.common import (
    NotFound,
    Refused,
    Signed,
    actor_facts,
    carrier_facts,
    carrier_id_by_code,
    get_carrier,
    get_person,
    person_facts,
    refuse,
)
from tracker.store import UnitOfWork
from tracker.text import clean


@dataclass(frozen=True)
class RequestView:
    """A request as the approvals screen and `tracker approvals list` show it."""

    id: int
    purpose: str
    status: str
    requester: str | None
    grantee: str | None
    carriers: list[str]
    valid_until: datetime
    needed: int
    approvers: list[str]
    note: str
    change: dict[str, Any]


def request(uow: UnitOfWork, requester: Signed, purpose: str, carriers: Sequence[str], valid_until: datetime,
            grantee: str | None = None, copies: int | None = None, note: str = "",
            change: dict[str, Any] | None = None) -> int:
    """Raise a request for approval (the clerk at the counter, the security officer for a policy change, the
    administrator for a role change); returns its number. Nothing is allowed by it until approvers decide."""
    with uow:
        _person, _facts = actor_facts(uow, requester, Action.REQUEST)
        clean("note", note)
        what = ApprovalPurpose.parse(purpose)
        _for_someone(what, grantee, carriers, requester.badge, "request")
        a = new_request(uow, requester.badge, what, carriers, valid_until, grantee, copies, note, change)
        uow.ledger.append(EventDraft(EventType.APPROVAL_REQUESTED, actor=requester.badge, approval_id=a.id,
                                     to_holder=grantee, payload=request_payload(uow, a)), uow.now())
        uow.commit()
        return a.id


def decide(uow: UnitOfWork, approver: Signed, approval_id: int, approve: bool, reason: str = "") -> str:
    """One approver's decision on a pending request; returns the request's status afterwards."""
    with uow:
        _person, facts = actor_facts(uow, approver, Action.APPROVE)
        a = _lock(uow, approval_id)
        if a.status != "pending":
            raise DomainError(f"Approval #{a.id} is already {a.status}.", f"审批 #{a.id} 已{STATUS_ZH[a.status]}。")
        clean("reason", reason)
        if not approve and not reason.strip():
            raise DomainError("A denial gives its reason.", "驳回须说明理由。")
        status = _sign(uow, a, approver, facts, approve, reason)
        policy_granted = status == "granted" and a.purpose == ApprovalPurpose.POLICY_CHANGE.value
        base = json.loads(a.request or "{}").get("base_version")
        uow.commit()
    if policy_granted:  # apply_granted wrote version base + 1 (it refuses any other base)
        from tracker.services.policy import audit_change

        audit_change(uow, approver.badge, "policy_change", {"request": approval_id, "version": int(base) + 1})
    return status


def grant(uow: UnitOfWork, approver: Signed, purpose: str, carriers: Sequence[str], valid_until: datetime,
          grantee: str | None = None, copies: int | None = None, note: str = "",
          requested_by: str | None = None) -> int:
    """A request made in person and signed at once by the approver standing there: one transaction. The request is
    recorded as made by `requested_by` (default: the person it is for), never by the approver, and is granted only
    if this one signature completes it per the matrix; otherwise it waits, pending, for the others."""
    with uow:
        _person, facts = actor_facts(uow, approver, Action.APPROVE)
        clean("note", note)
        what = ApprovalPurpose.parse(purpose)
        _for_someone(what, grantee, carriers, approver.badge, "approve")
        a = new_request(uow, requested_by or grantee, what, carriers, valid_until, grantee, copies, note, None)
        _sign(uow, a, approver, facts, True, "")  # one event: the request and its first signature together
        uow.commit()
        return a.id


STATUS_ZH = {"pending": "待审批", "granted": "批准", "denied": "驳回"}
# Purposes whose approval is bound to the person it is for: the borrower, the custodian.
FOR_SOMEONE = frozenset({ApprovalPurpose.LOAN, ApprovalPurpose.CARRY_OUT})


def new_request(uow: UnitOfWork, requester: str | None, purpose: ApprovalPurpose, carriers: Sequence[str],
                valid_until: datetime, grantee: str | None, copies: int | None, note: str,
                change: dict[str, Any] | None) -> Approval:
    """A pending request, its carriers linked and the approvers it needs computed, without its ledger event: the
    caller writes that (a request, a request signed at once, a destruction batch submitted)."""
    now = uow.now()
    codes = list(dict.fromkeys(c.strip() for c in carriers if c.strip()))
    if purpose.about_carriers and not codes:
        raise DomainError("An approval names the carriers it covers.", "审批须列明所涉载体。")
    if not purpose.about_carriers and codes:
        raise DomainError(f"A {purpose.value} approval names no carriers.", f"{purpose.zh}审批不涉及载体。")
    if valid_until <= now:
        raise DomainError("The approval's validity must end in the future.", "审批有效期须晚于当前时间。")
    if copies is not None and copies < 1:
        raise DomainError("The number of copies is 1 or more.", "复制份数至少为1。")
    rows = [get_carrier(uow, code, lock=False) for code in codes]
    requester_row = get_person(uow, requester) if requester else None
    grantee_row = get_person(uow, grantee) if grantee else None
    _, needed, _ = decision_complete(uow.policy, purpose, [carrier_facts(c) for c in rows], [],
                                     [c.issuer for c in rows], _level_of(purpose, change))
    a = Approval(purpose=purpose.value, approver_id=None, status="pending", needed=needed,
                 requester_id=requester_row.id if requester_row else None,
                 grantee_id=grantee_row.id if grantee_row else None, issuer_approved=False, copies=copies,
                 note=note, request=json.dumps(change or {}, ensure_ascii=False, sort_keys=True),
                 valid_from=now, valid_until=valid_until, created_at=now)
    uow.session.add(a)
    uow.session.flush()
    uow.session.add_all([ApprovalCarrier(approval_id=a.id, carrier_id=c.id) for c in rows])
    uow.session.flush()
    return a


def _for_someone(purpose: ApprovalPurpose, grantee: str | None, carriers: Sequence[str], actor: str,
                 action: str) -> None:
    """An approval for nobody in particular would serve whoever brings the carrier to the counter (R-63, R-92)."""
    if purpose in FOR_SOMEONE and not (grantee or "").strip():
        rule = PURPOSE_RULE[purpose]
        raise Refused([Violation(rule, f"A {purpose.value.replace('_', ' ')} approval names the person it is for "
                                       "(--for, or the borrower's badge at the counter).",
                                 f"{purpose.zh}审批须写明审批对象（--for，或在柜台刷借阅人工牌）。")],
                      action, next((c.strip() for c in carriers if c.strip()), None), actor)


def _level_of(purpose: ApprovalPurpose, change: dict[str, Any] | None) -> Classification | None:
    """A clearance change is judged at the level the new clearance opens (R-159: a 重要 approver cannot raise
    someone to 核心); a print run at the level of the document it prints."""
    if purpose == ApprovalPurpose.CLEARANCE_CHANGE and change and change.get("clearance"):
        from tracker.domain import Clearance

        return Clearance.parse(str(change["clearance"])).max_level
    if purpose == ApprovalPurpose.PRINT and change and change.get("classification"):
        return Classification(str(change["classification"]))  # a print run is judged at the level it prints
    return None


def _lock(uow: UnitOfWork, approval_id: int) -> Approval:
    a = uow.session.execute(select(Approval).where(Approval.id == approval_id).with_for_update()
                            .execution_options(populate_existing=True)).scalar_one_or_none()
    if a is None:
        raise NotFound(f"No approval #{approval_id}.", f"没有编号为 #{approval_id} 的审批。")
    return a


def _carriers_of(uow: UnitOfWork, a: Approval) -> list[Carrier]:
    return list(uow.session.execute(
        select(Carrier).join(ApprovalCarrier, ApprovalCarrier.carrier_id == Carrier.id)
        .where(ApprovalCarrier.approval_id == a.id).order_by(Carrier.code)).unique().scalars())


def signers(uow: UnitOfWork, a: Approval) -> list[Person]:
    """Who has approved a request so far, in the order they signed (denials are not signatures)."""
    return list(uow.session.execute(
        select(Person).join(ApprovalDecision, ApprovalDecision.person_id == Person.id)
        .where(ApprovalDecision.approval_id == a.id, ApprovalDecision.decision == "approve")
        .order_by(ApprovalDecision.at)).scalars())


def _sign(uow: UnitOfWork, a: Approval, approver: Signed, facts: Any, approve: bool, reason: str) -> str:
    now = uow.now()
    purpose = ApprovalPurpose(a.purpose)
    rows = _carriers_of(uow, a)
    items: list[CarrierFacts] = [carrier_facts(c) for c in rows]
    change = json.loads(a.request or "{}")
    signed = signers(uow, a)
    requester = uow.session.get(Person, a.requester_id).badge if a.requester_id else None  # type: ignore[union-attr]
    grantee = uow.session.get(Person, a.grantee_id) if a.grantee_id else None
    refuse(check_decision(facts, purpose, items, person_facts(grantee) if grantee else None, requester,
                          [p.badge for p in signed], a.valid_until, now, uow.policy, _level_of(purpose, change)),
           "approve", rows[0].code if rows else None, approver.badge)
    me = get_person(uow, approver.badge)
    uow.session.add(ApprovalDecision(approval_id=a.id, person_id=me.id, decision="approve" if approve else "deny",
                                     reason=reason, at=now))
    if approve:
        signed.append(me)
        done, needed, issuer_ok = decision_complete(uow.policy, purpose, items, [person_facts(p) for p in signed],
                                                    [c.issuer for c in rows], _level_of(purpose, change))
        a.needed, a.issuer_approved = needed, issuer_ok
        a.approver_id = a.approver_id or me.id
        if done:
            a.status = "granted"
    else:
        a.status = "denied"
    uow.session.flush()
    uow.ledger.append(EventDraft(EventType.APPROVAL_GRANTED if a.status == "granted" else EventType.APPROVAL_DECIDED,
                                 actor=approver.badge, approval_id=a.id, to_holder=grantee.badge if grantee else None,
                                 payload={**request_payload(uow, a), "decision": "approve" if approve else "deny",
                                          "reason": reason, "signed": [p.badge for p in signed]}), now)
    if a.status == "granted" and purpose == ApprovalPurpose.POLICY_CHANGE:
        from tracker.services.policy import apply_granted

        apply_granted(uow, a, change)
    return a.status


def request_payload(uow: UnitOfWork, a: Approval) -> dict[str, Any]:
    codes = [c.code for c in _carriers_of(uow, a)]
    requester = uow.session.get(Person, a.requester_id) if a.requester_id else None
    return {"purpose": a.purpose, "carriers": codes, "requested_by": requester.badge if requester else None,
            "until": a.valid_until.isoformat(), "copies": a.copies, "note": a.note, "status": a.status,
            "needed": a.needed, "change": json.loads(a.request or "{}")}


# --- reading approvals back as facts -------------------------------------------------------------------------------

_approvals, _people = table(Approval), table(Person)
_grantee, _requester = _people.alias("grantee"), _people.alias("requester")
_link, _linked = table(ApprovalCarrier), table(Carrier).alias("linked")
_decisions = table(ApprovalDecision)


def _approval_with_link(carrier: Any) -> Prepared:
    """The approval with its link to one carrier (`carrier`: the id column to match, or a sub-select of it)."""
    return Prepared(
        select(_approvals.c.id.label("a_id"), _approvals.c.purpose, _approvals.c.valid_from,
               _approvals.c.valid_until, _approvals.c.issuer_approved, _approvals.c.copies, _approvals.c.status,
               _approvals.c.needed, _grantee.c.badge.label("grantee_badge"),
               _requester.c.badge.label("requester_badge"), _linked.c.code.label("link_code"),
               _link.c.used_at.label("link_used_at"))
        .select_from(_approvals.outerjoin(_grantee, _grantee.c.id == _approvals.c.grantee_id)
                     .outerjoin(_requester, _requester.c.id == _approvals.c.requester_id)
                     .outerjoin(_link, (_link.c.approval_id == _approvals.c.id) & (_link.c.carrier_id == carrier))
                     .outerjoin(_linked, _linked.c.id == _link.c.carrier_id))
        .where(_approvals.c.id == bindparam("aid")))


_APPROVAL = _approval_with_link(bindparam("cid"))
# By the carrier's code, so the counter can fetch it with the carrier itself before knowing the carrier's id
# (`approval_reads`, `prepared.prefetch`: one round trip less on every check-out with an approval).
_APPROVAL_BY_CODE = _approval_with_link(carrier_id_by_code())
_SIGNERS = Prepared(
    select(_people.c.badge, _people.c.name, _people.c.unit, _people.c.clearance, _people.c.roles, _people.c.status)
    .select_from(_decisions.join(_people, _people.c.id == _decisions.c.person_id))
    .where(_decisions.c.approval_id == bindparam("aid"), _decisions.c.decision == "approve")
    .order_by(_decisions.c.at)
)
_ALL_LINKS = (select(_linked.c.code, _link.c.used_at)
              .select_from(_link.join(_linked, _linked.c.id == _link.c.carrier_id))
              .where(_link.c.approval_id == bindparam("aid")))


def approval_reads(approval_id: int | None, code: str) -> list[tuple[Prepared, dict[str, Any]]]:
    """What `approval_facts(uow, approval_id, code)` reads, for a service to `prefetch` with its other reads."""
    if approval_id is None:
        return []
    return [(_APPROVAL_BY_CODE, {"aid": approval_id, "code": code}), (_SIGNERS, {"aid": approval_id})]


def approval_facts(uow: UnitOfWork, approval_id: int | None,
                   carrier: int | str | None = None) -> ApprovalFacts | None:
    """The approval as facts; with `carrier` (its id, or its code), only that carrier's link is read (an approval
    may cover thousands).

    Two prebuilt statements (the approval with its one link, then its signers): this runs on every check-out at the
    counter, where each round trip and each query built anew is felt.
    """
    if approval_id is None:
        return None
    row = (_APPROVAL_BY_CODE.one_or_none(uow.session, {"aid": approval_id, "code": carrier})
           if isinstance(carrier, str) else _APPROVAL.one_or_none(uow.session, {"aid": approval_id, "cid": carrier}))
    if row is None:
        raise NotFound(f"No approval #{approval_id}.", f"没有编号为 #{approval_id} 的审批。")
    links: list[tuple[str, datetime | None]]
    if carrier is not None:
        links = [(row.link_code, row.link_used_at)] if row.link_code is not None else []
    else:
        links = [(code, used) for code, used in uow.session.execute(_ALL_LINKS, {"aid": approval_id})]
    signed = tuple(person_facts(p) for p in _SIGNERS.rows(uow.session, {"aid": approval_id}))
    return ApprovalFacts(
        id=row.a_id, purpose=ApprovalPurpose(row.purpose), approvers=signed,
        carriers=frozenset(code for code, _ in links), used_for=frozenset(code for code, used in links if used),
        valid_from=row.valid_from, valid_until=row.valid_until, grantee=row.grantee_badge,
        issuer_approved=row.issuer_approved, copies=row.copies, status=row.status, needed=row.needed,
        requester=row.requester_badge,
    )


_links = table(ApprovalCarrier)
_MARK_USED = Prepared(update(_links)
                      .where(_links.c.approval_id == bindparam("aid"), _links.c.carrier_id == bindparam("cid"))
                      .values(used_at=bindparam("used_at")))


def mark_used(uow: UnitOfWork, approval_id: int, carrier_ids: Sequence[int], now: datetime) -> None:
    """Every caller marks one carrier per operation, so this is one prebuilt statement per carrier."""
    for cid in carrier_ids:
        _MARK_USED.execute(uow.session, {"aid": approval_id, "cid": cid, "used_at": now})


def covering(uow: UnitOfWork, purpose: ApprovalPurpose, carrier: int | str, person: str | None,
             now: datetime) -> int | None:
    """The approval an act uses when nobody names one: for this purpose and carrier (its id, or its code from the
    counter), valid now, not yet used for it, for `person` or for nobody in particular — a granted one first, else
    the newest pending or denied request, so the refusal names the request that is waiting (or why it was denied)
    instead of saying there is none. None when there is none; `rules.check_approval` judges whatever is found.
    The services and the counter share this one definition."""
    q = (select(Approval.id)
         .join(ApprovalCarrier, ApprovalCarrier.approval_id == Approval.id)
         .where(Approval.purpose == purpose.value, ApprovalCarrier.used_at.is_(None), Approval.valid_from <= now,
                Approval.valid_until >= now)
         .order_by(case((Approval.status == "granted", 0), else_=1), Approval.id.desc()))
    if isinstance(carrier, int):
        q = q.where(ApprovalCarrier.carrier_id == carrier)
    else:
        q = q.join(Carrier, Carrier.id == ApprovalCarrier.carrier_id).where(Carrier.code == carrier.strip())
    if person is not None:
        grantee = select(Person.id).where(Person.badge == person).scalar_subquery()
        q = q.where((Approval.grantee_id == grantee) | Approval.grantee_id.is_(None))
    return uow.session.execute(q.limit(1)).scalar()


def views(uow: UnitOfWork, status: str | None = None, limit: int = 200,
          ids: Sequence[int] | None = None) -> list[RequestView]:
    """Requests newest first, optionally only one status (pending for the approvals screen) or the given numbers."""
    q = select(Approval).order_by(Approval.id.desc()).limit(limit)
    if status:
        q = q.where(Approval.status == status)
    if ids is not None:
        q = q.where(Approval.id.in_(list(ids)))
    with uow:
        return [_view(uow, a) for a in uow.session.execute(q).scalars()]


def _view(uow: UnitOfWork, a: Approval) -> RequestView:
    requester = uow.session.get(Person, a.requester_id) if a.requester_id else None
    grantee = uow.session.get(Person, a.grantee_id) if a.grantee_id else None
    return RequestView(a.id, a.purpose, a.status, requester.badge if requester else None,
                       grantee.badge if grantee else None, [c.code for c in _carriers_of(uow, a)],
                       a.valid_until, a.needed, [p.badge for p in signers(uow, a)], a.note,
                       json.loads(a.request or "{}"))


def pending_for(uow: UnitOfWork, badge: str) -> list[Approval]:
    """Approvals granted to a person (for the approvals screen)."""
    person = get_person(uow, badge)
    return list(uow.session.execute(
        select(Approval).where(Approval.grantee_id == person.id).order_by(Approval.id.desc())
    ).scalars())
