"""Read-side helpers the counter needs beyond `tracker.queries`: one person, one place, the approval that covers
a carrier for a purpose, who decided a request and why, and the audit log for its screen. Each takes an open unit of
work and returns plain frozen values, never ORM rows, so results can cross from the database thread to the UI
thread. Nothing here writes, and nothing here checks permissions: the screens call the services' checks first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, or_, select

from tracker.schema import Approval, ApprovalCarrier, ApprovalDecision, Carrier, Location, Person, Refusal
from tracker.store import UnitOfWork


@dataclass(frozen=True)
class PersonView:
    badge: str
    name: str
    unit: str
    clearance: str
    roles: frozenset[str]
    status: str


@dataclass(frozen=True)
class PlaceView:
    code: str
    name: str
    max_level: str
    reading_place: bool


def person(uow: UnitOfWork, badge: str) -> PersonView | None:
    p = uow.session.execute(select(Person).where(Person.badge == badge.strip())).scalar_one_or_none()
    if p is None:
        return None
    return PersonView(p.badge, p.name, p.unit, p.clearance, frozenset(r for r in p.roles.split(",") if r), p.status)


def place(uow: UnitOfWork, code: str) -> PlaceView | None:
    loc = uow.session.execute(select(Location).where(Location.code == code.strip())).scalar_one_or_none()
    if loc is None:
        return None
    return PlaceView(loc.code, loc.name, loc.max_level, bool(loc.reading_place))


def covering_approval(uow: UnitOfWork, purpose: str, carrier_code: str, grantee: str | None) -> int | None:
    """The approval for `purpose` that names the carrier, is valid now, unused for it, and granted to `grantee` or to
    nobody in particular — a granted one first, else the newest (pending or denied, so the refusal says which). The
    counter offers it so the clerk never types approval numbers; the service still checks it against the rulebook."""
    now = uow.now()
    q = (select(Approval.id, Approval.grantee_id, Approval.valid_from, Approval.valid_until)
         .join(ApprovalCarrier, ApprovalCarrier.approval_id == Approval.id)
         .join(Carrier, Carrier.id == ApprovalCarrier.carrier_id)
         .where(Approval.purpose == purpose, Carrier.code == carrier_code, ApprovalCarrier.used_at.is_(None))
         .order_by(case((Approval.status == "granted", 0), else_=1), Approval.id.desc()))
    grantee_id = None
    if grantee is not None:
        grantee_id = uow.session.execute(select(Person.id).where(Person.badge == grantee)).scalar_one_or_none()
    for approval_id, granted_to, valid_from, valid_until in uow.session.execute(q):
        if not valid_from <= now <= valid_until:
            continue
        if granted_to is not None and granted_to != grantee_id:
            continue
        return int(approval_id)
    return None


@dataclass(frozen=True)
class DecisionView:
    """One approver's signature or denial on a request, with the reason a denial gives."""

    badge: str
    name: str
    decision: str
    reason: str
    at: datetime


def decisions(uow: UnitOfWork, approval_ids: Sequence[int]) -> dict[int, tuple[DecisionView, ...]]:
    """Who decided each request, in order: the requester sees why a request was denied."""
    out: dict[int, list[DecisionView]] = {i: [] for i in approval_ids}
    if not approval_ids:
        return {}
    q = (select(ApprovalDecision.approval_id, Person.badge, Person.name, ApprovalDecision.decision,
                ApprovalDecision.reason, ApprovalDecision.at)
         .join(Person, Person.id == ApprovalDecision.person_id)
         .where(ApprovalDecision.approval_id.in_(list(approval_ids)))
         .order_by(ApprovalDecision.at, Person.badge))
    for aid, badge, name, decision, reason, at in uow.session.execute(q):
        out[aid].append(DecisionView(badge, name, decision, reason or "", at))
    return {k: tuple(v) for k, v in out.items()}


def names(uow: UnitOfWork, badges: Sequence[str]) -> dict[str, str]:
    wanted = sorted({b for b in badges if b})
    if not wanted:
        return {}
    return dict(uow.session.execute(select(Person.badge, Person.name).where(Person.badge.in_(wanted))).all())


def requested_by(uow: UnitOfWork, badge: str, limit: int = 50) -> list[int]:
    """The numbers of the requests a person raised, newest first (a clerk's approvals screen)."""
    me = select(Person.id).where(Person.badge == badge).scalar_subquery()
    return list(uow.session.execute(select(Approval.id).where(Approval.requester_id == me)
                                    .order_by(Approval.id.desc()).limit(limit)).scalars())


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    kind: str
    actor: str | None
    action: str
    carrier: str | None
    rules: str
    detail: str
    terminal: str | None


def audit_entries(uow: UnitOfWork, terms: Sequence[str] = (), limit: int = 500) -> list[AuditEntry]:
    """The audit log newest first; each term must match the person (badge), a rule id, the kind or the action.

    Only the audit screen calls this, after the service-level permission check (`Action.AUDIT`): this function
    itself checks nobody."""
    q = select(Refusal).order_by(Refusal.id.desc()).limit(limit)
    for raw in terms:
        t = raw.strip()
        if not t:
            continue
        like = f"%{t}%"
        rule = t.upper()
        q = q.where(or_(Refusal.actor.ilike(like), Refusal.kind.ilike(like), Refusal.action.ilike(like),
                        Refusal.rules == rule, Refusal.rules.like(f"{rule},%"), Refusal.rules.like(f"%,{rule}"),
                        Refusal.rules.like(f"%,{rule},%")))
    return [AuditEntry(r.id, r.at, r.kind, r.actor, r.action, r.carrier, r.rules, r.detail or "", r.terminal)
            for r in uow.session.execute(q).scalars()]
