"""End of life other than destruction: archiving (归档), return to the issuer (退回发文单位), transfer out to another
unit (移交), RULES R-135–R-137 and R-144; and the repair of media and equipment (维修, R-115–R-118), the step of
their lifecycle between use and scrapping (scrapping itself goes through a destruction batch, R-121).

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

from tracker.domain import ApprovalPurpose, CarrierStatus, Classification, DomainError, EventType, utc_iso
from tracker.ledger import EventDraft
from tracker.rules import (
    IN_HOUSE,
    Action,
    Violation,
    check_archive_access,
    check_certification,
    check_leaving,
    check_place_accepts,
    check_repair,
    check_transfer_signoff,
)
from tracker.schema import Carrier, Event, Loan, Location
from tracker.services.approvals import approval_facts, covering, mark_used
from tracker.services.common import (
    Signed,
    actor_facts,
    badge_of,
    carrier_facts,
    get_carrier,
    get_location,
    get_person,
    location_facts,
    person_facts,
    refuse,
    signed_by,
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
                 receipt: str, leader: Signed | str | None = None) -> list[int]:
    """Hand carriers to another unit (R-144: the unit taking over, or the superior) against a signed receipt, signed
    off by the supervising leader (R-142), who is named on each event as its witness."""
    return _leave(uow, actor, codes, receiver, receipt, unit, CarrierStatus.TRANSFERRED_OUT,
                  EventType.TRANSFERRED_OUT, leader)


def _leave(uow: UnitOfWork, actor: Signed, codes: Sequence[str], receiver: str, receipt: str, unit: str | None,
           status: CarrierStatus, event: EventType, leader: Signed | str | None = None) -> list[int]:
    who = _text(receiver, "receiver's name", "接收人姓名")
    number = _text(receipt, "number of the receipt the receiver signed", "接收方签收的回执编号", 100)
    target = _text(unit, "receiving unit", "接收单位") if unit is not None else None
    how = "return" if status == CarrierStatus.RETURNED_TO_ISSUER else "transfer"
    with uow:
        actor_facts(uow, actor, Action.DISPOSE)
        now = uow.now()
        carriers = _carriers(uow, codes)
        problems: list[Violation] = []
        signer = None
        if how == "transfer":
            signer = get_person(uow, badge_of(leader)) if leader is not None else None
            problems += check_transfer_signoff(person_facts(signer) if signer else None,
                                               signer is not None and leader is not None
                                               and signed_by(leader, signer.badge), actor.badge)
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
                witness=signer.badge if signer else None,
                payload={"unit": target or c.issuer, "receiver": who, "receipt": number,
                         **({"leader": signer.badge} if signer else {})}), now).seq)
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


def send_for_repair(uow: UnitOfWork, actor: Signed, code: str, repairer: str, custodian: Signed | str,
                    storage: str, return_due: datetime | None = None, approval_id: int | None = None) -> int:
    """Repair a medium or device (R-115–R-118). In the unit (`repairer` "in-house") it is lent to the custodian who
    supervises the technician throughout; to a designated repair unit it is carried out by the custodian with the
    carry-out approval, without its storage. Either way it comes back with `checkin`. Returns the event number."""
    with uow:
        actor_facts(uow, actor, Action.CARRY_OUT)
        now = uow.now()
        c = get_carrier(uow, code)
        holder = get_person(uow, badge_of(custodian))
        outside = repairer.strip() != IN_HOUSE
        if outside and approval_id is None:
            approval_id = covering(uow, ApprovalPurpose.CARRY_OUT, c.id, holder.badge, now)
        approval = approval_facts(uow, approval_id, c.id) if outside else None
        due = return_due or (None if outside else uow.policy.end_of_working_day(now))
        refuse(check_repair(carrier_facts(c), repairer, person_facts(holder), signed_by(custodian, holder.badge),
                            storage.strip(), approval, due, now, uow.policy, actor.badge), "repair", code, actor.badge)
        assert due is not None
        place = c.location
        status = CarrierStatus.CARRIED_OUT if outside else CarrierStatus.ON_LOAN
        c.status, c.holder_id, c.location_id, c.due_at, c.updated_at = status.value, holder.id, None, due, now
        uow.session.add(Loan(carrier_id=c.id, borrower_id=holder.id, kind="repair", approval_id=approval_id,
                             out_at=now, due_at=due, open_carrier_id=c.id,
                             from_location_id=place.id if place else None))
        if approval is not None:
            mark_used(uow, approval.id, [c.id], now)
        uow.session.flush()
        ev = uow.ledger.append(EventDraft(
            EventType.CARRIED_OUT if outside else EventType.CHECKED_OUT, carrier=c.code, actor=actor.badge,
            from_location=place.code if place else None, to_holder=holder.badge, approval_id=approval_id,
            payload={"due": utc_iso(due), "repair": repairer.strip(), "storage": storage.strip(),
                     **({"destination": repairer.strip()} if outside else {"reading_place": None})}), now)
        uow.commit()
        return ev.seq


def certify(uow: UnitOfWork, actor: Signed, code: str, product: str, certificate: str) -> int:
    """Record a classified computer's product and certificate (R-110) as one ledger event: a fact about the device
    for the media ledger (R-109), not a movement. Returns the event number."""
    what = product.strip()
    number = certificate.strip()
    if len(what) > 200 or len(number) > 100 or any(ord(ch) < 32 for ch in what + number):
        raise DomainError("The product is at most 200 and the certificate 100 printable characters.",
                          "产品型号最多200个、证书编号最多100个可打印字符。")
    with uow:
        actor_facts(uow, actor, Action.REGISTER)
        now = uow.now()
        c = get_carrier(uow, code)
        refuse(check_certification(carrier_facts(c), what, number), "certify", code, actor.badge)
        place = c.location.code if c.location else None
        ev = uow.ledger.append(EventDraft(EventType.MEDIUM_CERTIFIED, carrier=c.code, actor=actor.badge,
                                          from_location=place, to_location=place,
                                          payload={"product": what, "certificate": number}), now)
        uow.commit()
        return ev.seq


def consult_archive(uow: UnitOfWork, actor: Signed, code: str, visitor: str, visitor_unit: str, letter: str,
                    parts: str, room: str, approval_id: int | None = None, extracts: int = 0,
                    extracts_stamped: bool = False) -> int:
    """Record an outside requester's reading of an archived carrier (R-71, R-72) in `room`, the archive room it is
    filed in. The carrier does not change hands: the archive keeps custody and the reading happens in its room, so
    this is one ledger event and no state change."""
    who = _text(visitor, "visitor's name", "查阅人姓名")
    unit = _text(visitor_unit, "visitor's unit", "查阅人单位")
    with uow:
        actor_facts(uow, actor, Action.DISPOSE)
        now = uow.now()
        c = get_carrier(uow, code)
        place = get_location(uow, room)
        if approval_id is None:
            approval_id = covering(uow, ApprovalPurpose.OUTSIDE_LOAN, c.id, None, now)
        approval = approval_facts(uow, approval_id, c.id)
        refuse(check_archive_access(carrier_facts(c), letter, parts, approval, location_facts(place), extracts,
                                    extracts_stamped, now, uow.policy, actor.badge, _encloses(place, c)),
               "archive_access", code, actor.badge)
        if approval is not None:
            mark_used(uow, approval.id, [c.id], now)
        ev = uow.ledger.append(EventDraft(
            EventType.ARCHIVE_CONSULTED, carrier=c.code, actor=actor.badge, approval_id=approval_id,
            from_location=c.location.code if c.location else None, to_location=c.location.code if c.location else None,
            payload={"visitor": who, "unit": unit, "letter": letter.strip()[:200], "parts": parts.strip()[:500],
                     "room": place.code, "extracts": extracts, "stamped": extracts_stamped}), now)
        uow.commit()
        return ev.seq


def _encloses(room: Location, c: Carrier) -> bool:
    """Whether `room` is the room the carrier is filed in: a room on the path from its place up to the site."""
    place, seen = c.location, 0
    while place is not None and seen < 32:  # the tree is shallow (site, room, cabinet, shelf); a cycle never loops
        if place.id == room.id:
            return room.kind == "room"
        place, seen = place.parent, seen + 1
    return False
