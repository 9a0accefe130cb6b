"""Read-side helpers the counter needs beyond `tracker.queries`: one person, one place, and the approval that covers
a carrier for a purpose. Each takes an open read-only unit of work and returns plain frozen values, never ORM rows,
so results can cross from the database thread to the UI thread. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from tracker.schema import Approval, ApprovalCarrier, Carrier, Location, Person
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
    """The newest approval for `purpose` that names the carrier, is valid now, unused for it, and granted to
    `grantee` or to nobody in particular. The counter offers it so the clerk never types approval numbers; the
    service still checks it against the rulebook."""
    now = uow.now()
    q = (select(Approval.id, Approval.grantee_id, Approval.valid_from, Approval.valid_until)
         .join(ApprovalCarrier, ApprovalCarrier.approval_id == Approval.id)
         .join(Carrier, Carrier.id == ApprovalCarrier.carrier_id)
         .where(Approval.purpose == purpose, Carrier.code == carrier_code, ApprovalCarrier.used_at.is_(None))
         .order_by(Approval.id.desc()))
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
