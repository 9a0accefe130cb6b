"""Read-side helpers the counter needs beyond `tracker.queries`: one person, one place, the approval that covers
a carrier for a purpose, who decided a request and why, and the audit log for its screen. Each takes an open unit of
work and returns plain frozen values, never ORM rows, so results can cross from the database thread to the UI
thread. Nothing here writes, and nothing here checks permissions: the screens call the services' checks first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from tracker.schema import Approval, ApprovalDecision, Location, Person
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
