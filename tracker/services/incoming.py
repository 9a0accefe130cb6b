"""Incoming items (收文登记, R-16, R-18, R-20–R-23, R-26): what arrives from outside is registered and numbered by a
designated receiver before anyone opens it, counted, its envelope's seal checked; a 亲启 item is registered unopened
and handed only to its addressee or a proxy the addressee designated.

Registration makes the carrier record through `registry.import_in` (the same rules as any registration) and links
an incoming record to it, with one transaction for both, plus an incident when the envelope's seal was broken. A
received transit registers its carriers here too (`transit.receive`). This module never hands a 亲启 item to anyone
but the addressee or their proxy, and never lets a person designate a proxy for someone else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select

from tracker.domain import CarrierStatus, DomainError, EventType, IncidentKind
from tracker.ledger import EventDraft
from tracker.rules import Action, Violation, check_incoming_counts, check_personal_delivery, check_receiver
from tracker.schema import Carrier, Incoming, Location, Proxy
from tracker.services.common import (
    Signed,
    actor_facts,
    badge_of,
    get_carrier,
    get_person,
    person_facts,
    refuse,
    signed_by,
)
from tracker.services.incidents import open_in
from tracker.services.registry import CarrierInput, import_in
from tracker.store import UnitOfWork
from tracker.text import clean


@dataclass(frozen=True, slots=True)
class IncomingView:
    id: int
    carrier: str
    sender: str
    sender_doc: str | None
    level: str
    copy: str
    pages: int | None
    seal_intact: bool
    personal_to: str | None
    transit: int | None
    incident: int | None
    received_by: str
    received_at: datetime
    delivered_to: str | None
    delivered_at: datetime | None
    place: str | None


def register(uow: UnitOfWork, actor: Signed, data: CarrierInput, sender: str, sender_doc: str | None = None,
             seal_intact: bool = True, personal_to: str | None = None, site: str = "BJ") -> IncomingView:
    """Register one incoming item into the receiving registry's place (登记、编号、清点). A broken envelope seal is
    registered all the same (the item is here and must be on the books) and opens an incident for the security
    officer (R-22, R-88)."""
    with uow:
        person, facts = actor_facts(uow, actor, Action.INCOMING)
        refuse(check_receiver(facts, uow.policy), "incoming", None, actor.badge)
        who = clean("sender", sender, limit=200) or ""
        number = clean("doc_number", sender_doc, limit=100) if sender_doc else None
        refuse(check_incoming_counts(data.copy_number, data.copy_total, data.pages, who), "incoming", None,
               actor.badge)
        addressee = get_person(uow, personal_to).badge if personal_to else None
        data = replace(data, doc_number=data.doc_number or number, issuer=data.issuer or who)
        [code] = import_in(uow, actor, [data], site, check_actor=False)
        c = get_carrier(uow, code)
        now = uow.now()
        place = c.location.code if c.location else None
        incident = None
        if not seal_intact:
            incident = open_in(uow, IncidentKind.SEAL_BROKEN, f"{code} from {who} arrived with a broken seal",
                               actor=actor.badge, carriers=[code], place=place,
                               evidence={"sender": who, "sender_doc": number, "personal_to": addressee})
        row = Incoming(carrier_id=c.id, sender=who, sender_doc=number, seal_intact=seal_intact,
                       personal_to=addressee, incident_id=incident, received_by=person.badge, received_at=now)
        uow.session.add(row)
        uow.session.flush()
        uow.ledger.append(EventDraft(EventType.INCOMING_REGISTERED, carrier=code, actor=actor.badge,
                                     to_location=place,
                                     payload={"incoming": row.id, "sender": who, "sender_doc": number,
                                              "seal_intact": seal_intact, "personal_to": addressee,
                                              "pages": data.pages, "copy": [data.copy_number, data.copy_total]}),
                          now)
        uow.commit()
        return _view(uow, row, c)


def designate_proxy(uow: UnitOfWork, principal: Signed, proxy: str) -> None:
    """The addressee, signing themselves, names a proxy for their 亲启 items (R-21: a proxy the leader designated)."""
    with uow:
        actor_facts(uow, principal, Action.INCOMING)
        p = get_person(uow, proxy)
        if p.badge == principal.badge:
            raise DomainError("A person is not their own proxy.", "不能指定本人为代收人。")
        exists = uow.session.get(Proxy, (principal.badge, p.badge))
        if exists is None:
            now = uow.now()
            uow.session.add(Proxy(principal=principal.badge, proxy=p.badge, designated_at=now))
            uow.ledger.append(EventDraft(EventType.PROXY_DESIGNATED, actor=principal.badge, to_holder=p.badge,
                                         payload={"principal": principal.badge, "proxy": p.badge}), now)
        uow.commit()


def deliver(uow: UnitOfWork, actor: Signed, code: str, taker: Signed | str) -> int:
    """Hand a 亲启 item, unopened, to its addressee or the addressee's proxy, who signs (R-21, R-22). The item is
    then held by that person (on loan, R-17). Returns the ledger sequence number."""
    with uow:
        actor_facts(uow, actor, Action.CHECK_OUT)
        c = get_carrier(uow, code)
        row = uow.session.execute(select(Incoming).where(Incoming.carrier_id == c.id)
                                  .order_by(Incoming.id.desc()).limit(1)).scalar_one_or_none()
        if row is None or row.personal_to is None or row.delivered_to is not None:
            refuse([Violation("R-21", f"{c.code} is not a 亲启 item waiting for its addressee.",
                              f"{c.code} 不是待交的亲启件。")], "deliver", c.code, actor.badge)
        assert row is not None and row.personal_to is not None
        t = get_person(uow, badge_of(taker))
        proxies = frozenset(uow.session.execute(select(Proxy.proxy).where(Proxy.principal == row.personal_to))
                            .scalars())
        problems = check_personal_delivery(row.personal_to, person_facts(t), signed_by(taker, t.badge), proxies)
        if c.status != CarrierStatus.IN_STORE.value:
            problems.append(Violation("R-17", f"{c.code} is not in the registry ({c.status}).",
                                      f"{c.code} 不在机要室（{c.status}）。"))
        refuse(problems, "deliver", c.code, actor.badge)
        now = uow.now()
        place = c.location.code if c.location else None
        c.status, c.holder_id, c.location_id, c.due_at, c.updated_at = (CarrierStatus.ON_LOAN.value, t.id, None,
                                                                        None, now)
        row.delivered_to, row.delivered_at = t.badge, now
        ev = uow.ledger.append(EventDraft(EventType.PERSONAL_DELIVERED, carrier=c.code, actor=actor.badge,
                                          from_location=place, to_holder=t.badge,
                                          payload={"incoming": row.id, "personal_to": row.personal_to,
                                                   "proxy": t.badge != row.personal_to}), now)
        uow.commit()
        return ev.seq


def register_rows(uow: UnitOfWork, since: datetime | None = None, until: datetime | None = None,
                  site: str | None = None) -> list[IncomingView]:
    """The incoming register (收文登记簿) for a period, in the caller's read transaction, oldest first."""
    q = select(Incoming, Carrier).join(Carrier, Carrier.id == Incoming.carrier_id).order_by(Incoming.id)
    if since is not None:
        q = q.where(Incoming.received_at >= since)
    if until is not None:
        q = q.where(Incoming.received_at < until)
    out = [_view(uow, row, c) for row, c in uow.session.execute(q).unique()]
    if site:
        out = [v for v in out if v.place is None or v.place.startswith(f"LOC-{site.upper()}-")]
    return out


def listing(uow: UnitOfWork, actor: Signed, since: datetime | None = None, until: datetime | None = None,
            waiting: bool = False) -> list[IncomingView]:
    with uow:
        actor_facts(uow, actor, Action.CHECK_OUT)
        rows = register_rows(uow, since, until)
        return [r for r in rows if not waiting or (r.personal_to and not r.delivered_to)]


def _view(uow: UnitOfWork, row: Incoming, c: Carrier) -> IncomingView:
    place = uow.session.execute(select(Location.code).where(Location.id == c.location_id)).scalar_one_or_none() \
        if c.location_id else None
    copy = f"{c.copy_number}/{c.copy_total}" if c.copy_number is not None else ""
    return IncomingView(row.id, c.code, row.sender, row.sender_doc, c.classification, copy, c.pages,
                        row.seal_intact, row.personal_to, row.transit_id, row.incident_id, row.received_by,
                        row.received_at, row.delivered_to, row.delivered_at, place)
