"""End of life other than destruction: archiving (归档), return to the issuer (退回发文单位) and transfer out to another
unit (移交), RULES R-135–R-137 and R-144.

Archiving changes custody to an archive place: the carrier stays on the books, archived. Return and transfer take the
carrier off the unit's books against a receipt the other side signs (its number and the receiver are recorded): the
carrier leaves the active register, keeps its row and its history, is no longer expected at any stock-take, and a
later sighting is a critical finding. Each carrier is one ledger event; a call is all or nothing. This module records;
`tracker.rules.check_leaving` and `check_place_accepts` decide. It never deletes a carrier.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from tracker.domain import CarrierStatus, Classification, DomainError, EventType, utc_iso
from tracker.ledger import EventDraft
from tracker.rules import Action, Violation, check_leaving, check_place_accepts
from tracker.schema import Carrier, Event
from tracker.services.common import (
    Signed,
    actor_facts,
    carrier_facts,
    get_carrier,
    get_location,
    location_facts,
    refuse,
)
from tracker.store import UnitOfWork


def _text(value: str, what_en: str, what_zh: str, limit: int = 200) -> str:
    t = value.strip()
    if not t or len(t) > limit or any(ord(ch) < 32 for ch in t):
        raise DomainError(f"Give the {what_en} (1 to {limit} printable characters).",
                          f"请填写{what_zh}（1至{limit}个可打印字符）。")
    return t


def _carriers(uow: UnitOfWork, codes: Sequence[str]) -> list[Carrier]:
    wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    if not wanted:
        raise DomainError("Name at least one carrier.", "请至少指定一件载体。")
    return [get_carrier(uow, code) for code in wanted]


def archive(uow: UnitOfWork, actor: Signed, codes: Sequence[str], to_location: str, note: str = "") -> list[int]:
    """File carriers to the archive (R-135, R-136): custody passes to an archive place that may store their level
    (R-47, R-137)."""
    with uow:
        actor_facts(uow, actor, Action.DISPOSE)
        now = uow.now()
        place = get_location(uow, to_location)
        carriers = _carriers(uow, codes)
        problems: list[Violation] = []
        for c in carriers:
            f = carrier_facts(c)
            problems += check_leaving(f, "archive") or check_place_accepts(c.code, Classification(c.classification),
                                                                           location_facts(place))
        refuse(problems, "archive", carriers[0].code if len(carriers) == 1 else None, actor.badge)
        seqs = []
        for c in carriers:
            old = c.location.code if c.location else None
            c.status, c.location_id, c.updated_at = CarrierStatus.ARCHIVED.value, place.id, now
            seqs.append(uow.ledger.append(EventDraft(EventType.ARCHIVED, carrier=c.code, actor=actor.badge,
                                                     from_location=old, to_location=place.code,
                                                     payload={"note": note.strip()}), now).seq)
        uow.session.flush()
        uow.commit()
        return seqs


def return_to_issuer(uow: UnitOfWork, actor: Signed, codes: Sequence[str], receiver: str, receipt: str,
                     unit: str | None = None) -> list[int]:
    """Return carriers to the unit that issued them; `receiver` signed receipt number `receipt` for them."""
    return _leave(uow, actor, codes, receiver, receipt, unit, CarrierStatus.RETURNED_TO_ISSUER,
                  EventType.RETURNED_TO_ISSUER)


def transfer_out(uow: UnitOfWork, actor: Signed, codes: Sequence[str], unit: str, receiver: str,
                 receipt: str) -> list[int]:
    """Hand carriers to another unit (R-144: the unit taking over, or the superior) against a signed receipt."""
    return _leave(uow, actor, codes, receiver, receipt, unit, CarrierStatus.TRANSFERRED_OUT,
                  EventType.TRANSFERRED_OUT)


def _leave(uow: UnitOfWork, actor: Signed, codes: Sequence[str], receiver: str, receipt: str, unit: str | None,
           status: CarrierStatus, event: EventType) -> list[int]:
    who = _text(receiver, "receiver's name", "接收人姓名")
    number = _text(receipt, "number of the receipt the receiver signed", "接收方签收的回执编号", 100)
    target = _text(unit, "receiving unit", "接收单位") if unit is not None else None
    how = "return" if status == CarrierStatus.RETURNED_TO_ISSUER else "transfer"
    with uow:
        actor_facts(uow, actor, Action.DISPOSE)
        now = uow.now()
        carriers = _carriers(uow, codes)
        problems: list[Violation] = []
        for c in carriers:
            problems += check_leaving(carrier_facts(c), how)
            if target is None and not c.issuer:
                problems.append(Violation("R-144", f"{c.code} has no issuer on record: name the unit it goes back to "
                                                   "(--unit).",
                                          f"{c.code} 未登记制发机关，请指定退回单位。"))
        refuse(problems, how, carriers[0].code if len(carriers) == 1 else None, actor.badge)
        seqs = []
        for c in carriers:
            old = c.location.code if c.location else None
            c.status, c.location_id, c.holder_id, c.due_at, c.updated_at = status.value, None, None, None, now
            seqs.append(uow.ledger.append(EventDraft(
                event, carrier=c.code, actor=actor.badge, from_location=old,
                payload={"unit": target or c.issuer, "receiver": who, "receipt": number}), now).seq)
        uow.session.flush()
        uow.commit()
        return seqs


_LEFT = (EventType.DESTROYED.value, EventType.RETURNED_TO_ISSUER.value, EventType.TRANSFERRED_OUT.value)


def departures(uow: UnitOfWork, since: datetime, until: datetime) -> list[dict[str, Any]]:
    """The period's register of carriers that left the active register (R-152 台账: destroyed, returned, transferred),
    read from the ledger, so it lists what happened even for carriers whose state changed since."""
    rows = uow.session.execute(
        select(Event, Carrier).join(Carrier, Carrier.code == Event.carrier)
        .where(Event.type.in_(_LEFT), Event.at >= utc_iso(since), Event.at < utc_iso(until))
        .order_by(Event.seq)).unique()
    out = []
    for e, c in rows:
        p = json.loads(e.payload or "{}")
        out.append({"seq": e.seq, "at": e.at, "event": e.type, "code": c.code, "doc_number": c.doc_number,
                    "copy": f"{c.copy_number}/{c.copy_total}" if c.copy_number else "", "kind": c.kind,
                    "level": c.classification, "title": c.title, "actor": e.actor,
                    "detail": f"{p.get('method')} @ {p.get('site')} (batch #{p.get('batch')})" if p.get("method")
                    else f"{p.get('unit')} / {p.get('receiver')} / {p.get('receipt')}"})
    return out
