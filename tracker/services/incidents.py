"""Loss and recovery (下落不明): reporting a carrier missing starts the R-155 clock; finding it stops it.

A report is written immediately and can be made by anyone active (R-154, R-156: hiding a loss is itself forbidden).
The deadline after which a loss counts as a leak incident is computed from the level by `rules.leak_deadline`.
"""

from __future__ import annotations

from datetime import datetime

from tracker.domain import CarrierStatus, Classification, EventType, utc_iso
from tracker.ledger import EventDraft
from tracker.rules import Action, check_found, check_report_missing, leak_deadline
from tracker.services.common import (
    Signed,
    actor_facts,
    carrier_facts,
    close_open_loan,
    get_carrier,
    get_location,
    location_facts,
    refuse,
)
from tracker.store import UnitOfWork
from tracker.text import clean


def report_missing(uow: UnitOfWork, actor: Signed, code: str, note: str = "") -> datetime | None:
    """Mark a carrier 下落不明 now; returns the R-155 leak-incident deadline for its level."""
    with uow:
        actor_facts(uow, actor, Action.REPORT_MISSING)
        clean("note", note)
        now = uow.now()
        c = get_carrier(uow, code)
        refuse(check_report_missing(carrier_facts(c)), "report_missing", code, actor.badge)
        last_holder = c.holder.badge if c.holder else None
        last_place = c.location.code if c.location else None
        deadline = leak_deadline(Classification(c.classification), now, uow.policy)
        c.status, c.holder_id, c.location_id, c.missing_since, c.updated_at = (
            CarrierStatus.MISSING.value, None, None, now, now)
        uow.ledger.append(EventDraft(EventType.REPORTED_MISSING, carrier=code, actor=actor.badge,
                                     from_holder=last_holder, from_location=last_place,
                                     payload={"note": note, "leak_deadline": utc_iso(deadline) if deadline else None}),
                          now)
        uow.commit()
        return deadline


def found(uow: UnitOfWork, actor: Signed, code: str, to_location: str, note: str = "") -> int:
    """Bring a missing carrier back into a place, closing any loan it was on; returns days it was missing."""
    with uow:
        actor_facts(uow, actor, Action.FOUND)
        clean("note", note)
        now = uow.now()
        c = get_carrier(uow, code)
        place = get_location(uow, to_location)
        refuse(check_found(carrier_facts(c), location_facts(place)), "found", code, actor.badge)
        since = c.missing_since or now
        days = (now - since).days
        close_open_loan(uow, c, now)
        c.status, c.location_id, c.missing_since, c.due_at, c.updated_at = (
            CarrierStatus.IN_STORE.value, place.id, None, None, now)
        uow.ledger.append(EventDraft(EventType.FOUND, carrier=code, actor=actor.badge, to_location=place.code,
                                     payload={"missing_days": days, "note": note}), now)
        uow.commit()
        return days
