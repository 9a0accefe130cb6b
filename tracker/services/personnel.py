"""People at the register: adding them, changing clearance or roles, and the departure check (清退, R-140).

A departed person keeps their history but loses their PIN and every role (R-143). Nobody is marked departed while
anything is still on their name.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select

from tracker.domain import Clearance, DomainError, EventType, PersonStatus, Role
from tracker.ledger import EventDraft
from tracker.rules import Action, check_departure
from tracker.schema import Carrier, Loan, Person
from tracker.services.common import Signed, actor_facts, get_person, hash_pin, person_facts, refuse, valid_code
from tracker.store import UnitOfWork


def _roles(roles: Iterable[str]) -> str:
    return ",".join(sorted({Role.parse(r).value for r in roles if r.strip()}))


def add_person(uow: UnitOfWork, actor: Signed | None, badge: str, name: str, unit: str, clearance: str,
               roles: Iterable[str], pin: str | None) -> str:
    """Add a person. `actor=None` only for the very first administrator of an empty register (`tracker init`)."""
    with uow:
        if actor is not None:
            actor_facts(uow, actor, Action.MANAGE_PEOPLE)
        else:
            if uow.session.execute(select(Person.id).limit(1)).first() is not None:
                raise DomainError("Only the first person can be added without an operator.",
                                  "只有第一位人员可以在无操作员时添加。")
        level = Clearance.parse(clearance)
        badge = valid_code(badge, "badge")
        if uow.session.execute(select(Person.id).where(Person.badge == badge)).first():
            raise DomainError(f"Badge {badge} is already registered.", f"工号 {badge} 已登记。")
        role_text = _roles(roles)
        uow.session.add(Person(badge=badge, name=name, unit=unit, clearance=level.value, roles=role_text,
                               status=PersonStatus.ACTIVE.value, pin_hash=hash_pin(pin) if pin else None,
                               failed_pins=0))
        uow.ledger.append(EventDraft(EventType.PERSON_ADDED, actor=actor.badge if actor else None, to_holder=badge,
                                     payload={"name": name, "unit": unit, "clearance": level.value,
                                              "roles": role_text}), uow.now())
        uow.commit()
        return badge


def change_person(uow: UnitOfWork, actor: Signed, badge: str, clearance: str | None = None,
                  roles: Iterable[str] | None = None, pin: str | None = None, unit: str | None = None) -> None:
    with uow:
        actor_facts(uow, actor, Action.MANAGE_PEOPLE)
        p = get_person(uow, badge)
        changes: dict[str, str | None] = {}
        if clearance is not None:
            p.clearance = Clearance.parse(clearance).value
            changes["clearance"] = p.clearance
        if roles is not None:
            p.roles = _roles(roles)
            changes["roles"] = p.roles
        if unit is not None:
            p.unit = unit
            changes["unit"] = unit
        if pin is not None:
            p.pin_hash = hash_pin(pin)
            changes["pin"] = "reset"  # never the PIN or its hash
        uow.ledger.append(EventDraft(EventType.PERSON_CHANGED, actor=actor.badge, to_holder=badge, payload=changes),
                          uow.now())
        uow.commit()


def held_by(uow: UnitOfWork, badge: str) -> list[str]:
    """Carriers on a person's name: those they hold now and those still open on loans they signed for."""
    p = get_person(uow, badge)
    open_loans = select(Loan.carrier_id).where(Loan.borrower_id == p.id, Loan.open_carrier_id.is_not(None))
    rows = uow.session.execute(
        select(Carrier.code).where(or_(Carrier.holder_id == p.id, Carrier.id.in_(open_loans))).order_by(Carrier.code)
    ).scalars().all()
    return list(rows)


def departure_check(uow: UnitOfWork, badge: str) -> list[str]:
    with uow:
        return held_by(uow, badge)


def start_departure(uow: UnitOfWork, actor: Signed, badge: str) -> list[str]:
    """Mark a person departing: no new custody for them (R-140); returns what they must still clear back."""
    with uow:
        actor_facts(uow, actor, Action.DEPARTURE)
        p = get_person(uow, badge)
        p.status = PersonStatus.DEPARTING.value
        held = held_by(uow, badge)
        uow.ledger.append(EventDraft(EventType.PERSON_CHANGED, actor=actor.badge, to_holder=badge,
                                     payload={"status": "departing", "still_held": held}), uow.now())
        uow.commit()
        return held


def mark_departed(uow: UnitOfWork, actor: Signed, badge: str) -> None:
    """Refused while anything is on the person's name (R-140); revokes PIN and roles (R-143)."""
    with uow:
        actor_facts(uow, actor, Action.DEPARTURE)
        p = get_person(uow, badge)
        refuse(check_departure(person_facts(p), held_by(uow, badge)), "departure", None, actor.badge)
        p.status, p.pin_hash, p.roles, p.departed_at = PersonStatus.DEPARTED.value, None, "", uow.now()
        uow.ledger.append(EventDraft(EventType.PERSON_DEPARTED, actor=actor.badge, from_holder=badge,
                                     payload={"revoked": "pin,roles"}), uow.now())
        uow.commit()
