"""Dispatch and courier transit (发文、机要交通, R-17, R-18, R-55, R-56, R-87–R-94, §5 Q17): carriers leave a
registry, loose or sealed in packages, hand to hand through couriers, and are received by the destination registry.

A transit is open from dispatch to receipt. At every moment of it one person is accountable for every carrier in
it (R-17): the courier who took it last (status in transit, holder that courier) or a registry on the way; the
second courier of a 绝密 transit is recorded with every hop (R-93) but the holder is the one who signed as taker.
Each hop is one transaction: both parties sign, every outermost package's seal is read (a sealed package accounts for
its contents), one ledger event per carrier, the hop's record with the ledger head after it (for its receipt), and an
incident for a seal that does not match. Receipt at the destination puts the carriers in the destination place and
registers them as incoming (收文); a 亲启 transit's carriers wait there unopened for the addressee (`incoming`).
This module never moves a carrier that is not on the transit, and never lets a carrier be on two open transits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from labels.codes import classify_code, parse_location_code
from tracker.domain import CarrierStatus, Classification, DomainError, EventType, IncidentKind
from tracker.ledger import EventDraft
from tracker.rules import Action, Violation, check_dispatch, check_transit_parties, unique_violations
from tracker.schema import Carrier, Incoming, Location, Package, PackageItem, Person, Transit, TransitHop, TransitItem
from tracker.services.common import (
    NotFound,
    Signed,
    actor_facts,
    badge_of,
    carrier_facts,
    get_carrier,
    get_location,
    get_person,
    person_facts,
    refuse,
    signed_by,
)
from tracker.services.incidents import open_in
from tracker.services.packages import SEAL_BROKEN, carriers_of, get_package
from tracker.store import UnitOfWork
from tracker.text import clean


@dataclass(frozen=True, slots=True)
class HopView:
    number: int
    kind: str
    giver: str
    taker: str
    companion: str | None
    place: str | None
    at: datetime
    seals: tuple[dict[str, Any], ...]
    incident: int | None
    head_seq: int
    head_hash: str


@dataclass(frozen=True, slots=True)
class TransitView:
    id: int
    status: str
    from_place: str
    to_place: str
    to_site: str
    holder: str | None
    companion: str | None
    personal_to: str | None
    level: str
    due_at: datetime
    dispatched_at: datetime
    dispatched_by: str
    received_at: datetime | None
    received_by: str | None
    note: str
    carriers: tuple[str, ...]
    packages: tuple[dict[str, Any], ...]  # outermost packages: code, seal, carriers inside
    hops: tuple[HopView, ...]


def site_of(place_code: str) -> str:
    """A place belongs to the site its code names (LOC-SH-… is Shanghai), as carrier codes carry theirs."""
    return parse_location_code(place_code).site


def dispatch(uow: UnitOfWork, actor: Signed, from_place: str, to_place: str, items: Sequence[str],
             courier: Signed | str, companion: Signed | str | None = None, giver: Signed | str | None = None,
             due: datetime | None = None, personal_to: str | None = None, note: str = "") -> int:
    """发文: the registry hands carriers and sealed packages to a courier (the first hop). Returns the transit number.

    The giver is the registry person handing over (the operator when not given); the courier and, for 绝密, the
    second courier sign. Packages must be sealed and outermost; loose carriers must be in store and not packed."""
    with uow:
        actor_facts(uow, actor, Action.DISPATCH)
        text = clean("note", note, limit=500) or ""
        now = uow.now()
        src, dst = get_location(uow, from_place), get_location(uow, to_place)
        addressee = get_person(uow, personal_to).badge if personal_to else None
        carriers: list[tuple[Carrier, Package | None]] = []
        problems: list[Violation] = []
        packages: list[Package] = []
        # Rows are locked in one global order (codes sorted), so two dispatches sharing a carrier wait for each other
        # instead of deadlocking on PostgreSQL (as circulation.handover does).
        for text_code in sorted({i.strip().upper() for i in items if i.strip()}):
            if classify_code(text_code) == "package":
                pkg = get_package(uow, text_code)
                if pkg.status != "sealed" or pkg.parent_id is not None:
                    problems.append(Violation("R-88", f"{pkg.code} is not a sealed outermost package: seal it "
                                                      "(and take it out of any other) before dispatch.",
                                              f"{pkg.code} 不是已封口的外层封装：发文前须封口。"))
                    continue
                packages.append(pkg)
                inside = carriers_of(uow, pkg)
                if not inside:
                    problems.append(Violation("R-18", f"{pkg.code} holds no carrier.", f"{pkg.code} 内无载体。"))
                carriers += [(c, pkg) for c in inside]
            else:
                c = get_carrier(uow, text_code)
                packed = uow.session.execute(select(PackageItem.package_id)
                                             .where(PackageItem.open_carrier_id == c.id)).scalar_one_or_none()
                if packed is not None:
                    problems.append(Violation("R-88", f"{c.code} is packed in a package: dispatch the package.",
                                              f"{c.code} 已装入封装：请按封装发文。"))
                carriers.append((c, None))
        facts = [carrier_facts(c) for c, _ in carriers]
        problems += check_dispatch(facts, src.code, dst.code)
        g = get_person(uow, badge_of(giver) if giver is not None else actor.badge)
        t = get_person(uow, badge_of(courier))
        comp = get_person(uow, badge_of(companion)) if companion is not None else None
        giver_signed = signed_by(giver, g.badge) if giver is not None else True  # the operator signed in
        problems += check_transit_parties(
            facts, person_facts(g), giver_signed, person_facts(t), signed_by(courier, t.badge),
            person_facts(comp) if comp else None, comp is not None and companion is not None
            and signed_by(companion, comp.badge), False, uow.policy)
        if not person_facts(g).is_registry:
            problems.append(Violation("R-87", f"{g.badge} is not registry staff: a dispatch leaves from the registry.",
                                      f"{g.badge} 不是机要室人员：发文须由机要室交出。"))
        if not person_facts(t).is_courier:
            problems.append(Violation("R-87", f"{t.badge} is not a designated courier (机要交通).",
                                      f"{t.badge} 不是指定机要交通。"))
        busy = [c.code for c, _ in carriers if uow.session.execute(
            select(TransitItem.transit_id).where(TransitItem.open_carrier_id == c.id)).first() is not None]
        if busy:
            problems.append(Violation("R-17", f"Already travelling: {', '.join(busy)}.",
                                      f"已在传递中：{'、'.join(busy)}。"))
        if due is not None and due <= now:
            problems.append(Violation("R-55", "The due time must be in the future.", "应到时间须晚于当前时间。"))
        refuse(unique_violations(problems), "dispatch", carriers[0][0].code if len(carriers) == 1 else None,
               actor.badge)
        level = max((Classification(c.classification) for c, _ in carriers), key=lambda lv: lv.rank)
        transit = Transit(status="in_transit", from_location_id=src.id, to_location_id=dst.id,
                          to_site=site_of(dst.code), holder_id=t.id, companion_id=comp.id if comp else None,
                          personal_to=addressee, level=level.value, note=text,
                          due_at=due or now + timedelta(hours=uow.policy.transit_due_hours), dispatched_at=now,
                          dispatched_by=actor.badge)
        uow.session.add(transit)
        uow.session.flush()
        drafts = []
        for c, outer in carriers:
            uow.session.add(TransitItem(transit_id=transit.id, carrier_id=c.id,
                                        package_id=outer.id if outer else None, open_carrier_id=c.id))
            place = c.location.code if c.location else None
            c.status, c.holder_id, c.location_id, c.due_at, c.updated_at = (
                CarrierStatus.IN_TRANSIT.value, t.id, None, None, now)
            drafts.append(EventDraft(EventType.DISPATCHED, carrier=c.code, actor=actor.badge, from_holder=g.badge,
                                     from_location=place, to_holder=t.badge,
                                     witness=comp.badge if comp else None,
                                     payload={"transit": transit.id, "package": outer.code if outer else None,
                                              "to": dst.code, "personal_to": addressee}))
        uow.session.flush()
        uow.ledger.append_many(drafts, now)
        seals = [{"package": p.code, "expected": p.seal, "seen": p.seal, "ok": True} for p in packages]
        _hop_record(uow, transit, "dispatch", g.badge, t.badge, comp.badge if comp else None, src.code, now, seals,
                    None)
        uow.commit()
        return transit.id


def hop(uow: UnitOfWork, actor: Signed, number: int, giver: Signed | str, taker: Signed | str,
        seals: Mapping[str, str], companion: Signed | str | None = None, place: str | None = None) -> int:
    """One hand-to-hand hop on the way (a courier to a registry on the way, or that registry to the next courier).
    `seals` is the seal number read on each outermost package (or BROKEN); returns the hop's number."""
    return _move(uow, actor, number, giver, taker, seals, companion, place, final=False)


def receive(uow: UnitOfWork, actor: Signed, number: int, giver: Signed | str, taker: Signed | str,
            seals: Mapping[str, str]) -> int:
    """Receipt at the destination registry (签收): the last hop; the carriers go into the destination place and
    are registered as incoming. Returns the hop's number."""
    return _move(uow, actor, number, giver, taker, seals, None, None, final=True)


def _move(uow: UnitOfWork, actor: Signed, number: int, giver: Signed | str, taker: Signed | str,
          seals: Mapping[str, str], companion: Signed | str | None, place: str | None, final: bool) -> int:
    with uow:
        _op, op_facts = actor_facts(uow, actor, Action.DISPATCH if final else Action.TRANSIT_HOP)
        now = uow.now()
        transit = _get(uow, number, lock=True)
        if transit.status != "in_transit":
            refuse([Violation("R-17", f"Transit #{number} was received already.", f"传递 #{number} 已签收。")],
                   "transit_hop", None, actor.badge)
        g, t = get_person(uow, badge_of(giver)), get_person(uow, badge_of(taker))
        comp = get_person(uow, badge_of(companion)) if companion is not None else None
        at_place = get_location(uow, place).code if place else None
        items = list(uow.session.execute(select(TransitItem).where(TransitItem.transit_id == transit.id)).scalars())
        carriers = sorted((get_carrier(uow, _code(uow, i.carrier_id)) for i in items), key=lambda c: c.code)
        facts = [carrier_facts(c) for c in carriers]
        problems: list[Violation] = []
        holder = uow.session.get(Person, transit.holder_id) if transit.holder_id else None
        if holder is None or holder.badge != g.badge:
            problems.append(Violation("R-17", f"Transit #{number} is held by {holder.badge if holder else '—'}, not "
                                              f"{g.badge}: only the accountable holder hands it on.",
                                      f"传递 #{number} 由 {holder.badge if holder else '—'} 持有，不是 {g.badge}："
                                      "只有当前责任人可以交接。"))
        astray = [c.code for c in carriers
                  if c.status != CarrierStatus.IN_TRANSIT.value or c.holder_id != transit.holder_id]
        if astray:
            # Moved outside the transit (a check-in or handover at a counter): the chain no longer holds them.
            problems.append(Violation("R-17", f"Not with the transit's holder any more: {', '.join(astray)}; the "
                                              "security officer must look into it before the transit goes on.",
                                      f"以下载体已不在本次传递持有人处：{'、'.join(astray)}；须由保密办查明后再继续传递。"))
        if op_facts.badge not in (g.badge, t.badge) and not op_facts.is_registry:
            problems.append(Violation("R-55", f"{op_facts.badge} is not a party to this hop.",
                                      f"{op_facts.badge} 不是本次交接的当事人。"))
        problems += check_transit_parties(
            facts, person_facts(g), signed_by(giver, g.badge), person_facts(t), signed_by(taker, t.badge),
            person_facts(comp) if comp else None, comp is not None and companion is not None
            and signed_by(companion, comp.badge), final, uow.policy)
        dst = uow.session.get(Location, transit.to_location_id)
        assert dst is not None
        # Seals: every outermost package is read; one not read at all is a count not made.
        outer = _outer_packages(uow, transit.id)
        given = {k.strip().upper(): v.strip() for k, v in seals.items()}
        unread = [p.code for p in outer if p.code not in given]
        if unread:
            problems.append(Violation("R-18", f"Read the seal of every package at the hop; not read: "
                                              f"{', '.join(unread)}.",
                                      f"交接时须核对每个封装的封志，未核对：{'、'.join(unread)}。"))
        strange = sorted(set(given) - {p.code for p in outer})
        if strange:
            problems.append(Violation("R-18", f"Not a package of transit #{number}: {', '.join(strange)}.",
                                      f"不是传递 #{number} 的封装：{'、'.join(strange)}。"))
        refuse(unique_violations(problems), "transit_receive" if final else "transit_hop", None, actor.badge)
        readings = []
        bad: list[dict[str, Any]] = []
        for p in outer:
            seen = given[p.code]
            ok = seen == p.seal
            readings.append({"package": p.code, "expected": p.seal, "seen": seen, "ok": ok})
            if not ok:
                bad.append(readings[-1])
        incident = None
        if bad:
            broken = any(r["seen"].upper() == SEAL_BROKEN for r in bad)
            kind = IncidentKind.SEAL_BROKEN if broken else IncidentKind.SEAL_MISMATCH
            inside = sorted({c.code for c in carriers
                             for i in items if i.carrier_id == c.id and i.package_id in
                             {p.id for p in outer if p.code in {r['package'] for r in bad}}})
            incident = open_in(uow, kind, f"Transit #{number}, hop {g.badge} → {t.badge}: "
                                          + "; ".join(f"{r['package']} seal {r['expected']} recorded, {r['seen']} read"
                                                      for r in bad),
                               actor=actor.badge, carriers=inside, place=at_place or (dst.code if final else None),
                               evidence={"transit": number, "seals": bad, "giver": g.badge, "taker": t.badge})
        drafts = []
        for c in carriers:
            if final:
                c.status, c.holder_id, c.location_id, c.updated_at = (CarrierStatus.IN_STORE.value, None, dst.id, now)
                drafts.append(EventDraft(EventType.TRANSIT_RECEIVED, carrier=c.code, actor=actor.badge,
                                         from_holder=g.badge, to_location=dst.code,
                                         payload={"transit": number, "received_by": t.badge}))
            else:
                c.holder_id, c.updated_at = t.id, now
                drafts.append(EventDraft(EventType.TRANSIT_HOP, carrier=c.code, actor=actor.badge,
                                         from_holder=g.badge, to_holder=t.badge,
                                         witness=comp.badge if comp else None, to_location=at_place,
                                         payload={"transit": number}))
        uow.ledger.append_many(drafts, now)
        if final:
            transit.status, transit.received_at, transit.received_by, transit.holder_id = ("received", now, t.badge,
                                                                                           None)
            transit.companion_id = None
            src = uow.session.get(Location, transit.from_location_id)
            sender = src.code if src is not None else "?"
            for item in items:
                item.open_carrier_id = None
                c = next(x for x in carriers if x.id == item.carrier_id)
                uow.session.add(Incoming(carrier_id=c.id, sender=sender, sender_doc=c.doc_number,
                                         seal_intact=not bad, personal_to=transit.personal_to, transit_id=number,
                                         incident_id=incident, received_by=t.badge, received_at=now))
            uow.ledger.append(EventDraft(EventType.INCOMING_REGISTERED, actor=actor.badge, to_location=dst.code,
                                         payload={"transit": number, "carriers": [c.code for c in carriers],
                                                  "sender": sender, "personal_to": transit.personal_to,
                                                  "seal_intact": not bad}), now)
        else:
            transit.holder_id = t.id
            transit.companion_id = comp.id if comp else None
        hop_no = _hop_record(uow, transit, "receipt" if final else "hop", g.badge, t.badge,
                             comp.badge if comp else None, at_place or (dst.code if final else None), now, readings,
                             incident)
        uow.commit()
        return hop_no


def _hop_record(uow: UnitOfWork, transit: Transit, kind: str, giver: str, taker: str, companion: str | None,
                place: str | None, now: datetime, seals: list[dict[str, Any]], incident: int | None) -> int:
    uow.session.flush()
    last = uow.session.execute(select(TransitHop.number).where(TransitHop.transit_id == transit.id)
                               .order_by(TransitHop.number.desc()).limit(1)).scalar_one_or_none() or 0
    seq, head = uow.ledger.head()
    uow.session.add(TransitHop(transit_id=transit.id, number=last + 1, kind=kind, giver=giver, taker=taker,
                               companion=companion, place=place, at=now,
                               seals=json.dumps(seals, ensure_ascii=False), incident_id=incident, head_seq=seq,
                               head_hash=head))
    return last + 1


def _outer_packages(uow: UnitOfWork, transit_id: int) -> list[Package]:
    return list(uow.session.execute(
        select(Package).where(Package.id.in_(select(TransitItem.package_id).where(
            TransitItem.transit_id == transit_id, TransitItem.package_id.is_not(None)))).order_by(Package.code)
    ).scalars())


def _code(uow: UnitOfWork, carrier_id: int) -> str:
    return str(uow.session.execute(select(Carrier.code).where(Carrier.id == carrier_id)).scalar_one())


def _get(uow: UnitOfWork, number: int, lock: bool) -> Transit:
    q = select(Transit).where(Transit.id == number)
    if lock:
        q = q.with_for_update()
    t = uow.session.execute(q.execution_options(populate_existing=True)).scalar_one_or_none()
    if t is None:
        raise NotFound(f"No transit #{number}.", f"没有编号为 #{number} 的传递。")
    return t



# --- reading --------------------------------------------------------------------------------------------------


def view(uow: UnitOfWork, number: int) -> TransitView:
    """One transit with its carriers, packages and hops, in the caller's (read) transaction."""
    t = _get(uow, number, lock=False)
    return _view(uow, t)


def _badge(uow: UnitOfWork, person_id: int | None) -> str | None:
    if person_id is None:
        return None
    return uow.session.execute(select(Person.badge).where(Person.id == person_id)).scalar_one_or_none()


def _place(uow: UnitOfWork, location_id: int) -> str:
    return str(uow.session.execute(select(Location.code).where(Location.id == location_id)).scalar_one())


def _view(uow: UnitOfWork, t: Transit) -> TransitView:
    items = list(uow.session.execute(
        select(Carrier.code, TransitItem.package_id).join(TransitItem, TransitItem.carrier_id == Carrier.id)
        .where(TransitItem.transit_id == t.id).order_by(Carrier.code)))
    pkgs = {p.id: p for p in uow.session.execute(select(Package).where(
        Package.id.in_({pid for _, pid in items if pid is not None}))).scalars()}
    packages = tuple({"package": p.code, "kind": p.kind, "seal": p.seal,
                      "carriers": [code for code, pid in items if pid == p.id]}
                     for p in sorted(pkgs.values(), key=lambda p: p.code))
    hops = tuple(HopView(h.number, h.kind, h.giver, h.taker, h.companion, h.place, h.at, tuple(json.loads(h.seals)),
                         h.incident_id, h.head_seq, h.head_hash)
                 for h in uow.session.execute(select(TransitHop).where(TransitHop.transit_id == t.id)
                                              .order_by(TransitHop.number)).scalars())
    return TransitView(t.id, t.status, _place(uow, t.from_location_id), _place(uow, t.to_location_id), t.to_site,
                       _badge(uow, t.holder_id), _badge(uow, t.companion_id), t.personal_to, t.level, t.due_at,
                       t.dispatched_at, t.dispatched_by, t.received_at, t.received_by, t.note,
                       tuple(code for code, _ in items), packages, hops)


def listing(uow: UnitOfWork, actor: Signed, to_site: str | None = None, open_only: bool = True,
            since: datetime | None = None, until: datetime | None = None) -> list[TransitView]:
    """Transits, oldest first: what is on its way to a site (its registry's view), or a dispatch register."""
    with uow:
        actor_facts(uow, actor, Action.HANDOVER)
        q = select(Transit).order_by(Transit.id)
        if to_site:
            q = q.where(Transit.to_site == to_site.strip().upper())
        if open_only:
            q = q.where(Transit.status == "in_transit")
        if since is not None:
            q = q.where(Transit.dispatched_at >= since)
        if until is not None:
            q = q.where(Transit.dispatched_at < until)
        return [_view(uow, t) for t in uow.session.execute(q).scalars()]


def show(uow: UnitOfWork, actor: Signed, number: int) -> TransitView:
    with uow:
        actor_facts(uow, actor, Action.HANDOVER)
        return view(uow, number)


def overdue(uow: UnitOfWork) -> list[TransitView]:
    """Open transits past their due time, without a permission check: for the alerts reader."""
    now = uow.now()
    rows = uow.session.execute(select(Transit).where(Transit.status == "in_transit", Transit.due_at < now)
                               .order_by(Transit.due_at)).scalars()
    return [_view(uow, t) for t in rows]


def check_code(text: str) -> str:
    """A transit number typed or scanned as `T-12`, `#12` or `12`."""
    t = text.strip().upper().removeprefix("T-").removeprefix("#")
    if not t.isdigit():
        raise DomainError(f"{text!r} is not a transit number.", f"{text!r} 不是传递编号。")
    return t


def open_for(uow: UnitOfWork, code: str) -> int | None:
    """The open transit a scanned package or carrier travels on, if any (the courier screen starts from a scan)."""
    text = code.strip().upper()
    q = select(TransitItem.transit_id).where(TransitItem.open_carrier_id.is_not(None))
    if classify_code(text) == "package":
        q = q.join(Package, Package.id == TransitItem.package_id).where(Package.code == text)
    else:
        q = q.join(Carrier, Carrier.id == TransitItem.carrier_id).where(Carrier.code == text)
    return uow.session.execute(q.limit(1)).scalar_one_or_none()
