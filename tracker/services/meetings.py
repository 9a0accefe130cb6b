"""Classified meetings (涉密会议, RULES §2.11, R-123–R-127): documents issued to attendees and collected back.

A meeting (`new`) has a venue (a registered place fit for its level), a time, a level and its attendee list. The
registry issues documents (`issue`) to a listed attendee who signs in with badge and PIN; each hop is one ledger
event naming the clerk and the attendee, and the attendee becomes the accountable holder until the meeting ends
(`carriers.due_at`), with no loan record: the meeting's own `meeting_materials` row is the record, and while it is
open the circulation services keep a 绝密/机密 document at the venue (`bound_meeting`, R-124). Documents come back
by `collect` (scanned back into the place they came from), are registered as kept by their attendee where R-125
allows (`keep`: below 机密 only), or are reported missing (`report_missing`, through `services.incidents`, which
starts the R-155 clock). `close` needs every document accounted for and the venue check recorded (R-126); its event
is the ledger head the meeting record (R-127) quotes. This module records and reads; the rulebook decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from tracker.domain import CarrierStatus, Classification, DomainError, EventType, utc_iso
from tracker.ledger import EventDraft
from tracker.rules import (
    Action,
    MeetingFacts,
    Violation,
    check_meeting_close,
    check_meeting_issue,
    check_meeting_keep,
    check_meeting_new,
    check_place_accepts,
)
from tracker.schema import Carrier, Location, Meeting, MeetingAttendee, MeetingMaterial, Person
from tracker.services import incidents
from tracker.services.common import (
    NotFound,
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
from tracker.services.registry import InvalidInput
from tracker.store import UnitOfWork
from tracker.text import clean

OUTCOME_ZH = {"collected": "已收回", "kept": "登记留存", "missing": "下落不明", None: "未收回"}
STATUS_ZH = {"open": "进行中", "closed": "已结束"}


@dataclass(frozen=True)
class AttendeeView:
    badge: str
    name: str
    unit: str
    clearance: str
    signed_in_at: datetime | None


@dataclass(frozen=True)
class MaterialView:
    code: str
    title: str
    doc_number: str | None
    copy_number: int | None
    copy_total: int | None
    level: str
    attendee: str
    issued_at: datetime
    issued_by: str
    outcome: str | None
    settled_at: datetime | None
    settled_by: str | None
    status: str


@dataclass(frozen=True)
class MeetingView:
    """A meeting as `meeting show`, the desk and the meeting record (R-127) read it."""

    id: int
    title: str
    venue: str
    venue_name: str
    starts_at: datetime
    ends_at: datetime
    level: str
    status: str
    created_by: str
    attendees: list[AttendeeView]
    materials: list[MaterialView]
    venue_checked_by: str | None
    venue_check: str | None
    closed_by: str | None
    closed_at: datetime | None
    head_seq: int | None
    head_hash: str | None

    @property
    def outstanding(self) -> list[str]:
        return [m.code for m in self.materials if m.outcome is None and m.status != CarrierStatus.MISSING.value]


def new(uow: UnitOfWork, actor: Signed, title: str, venue: str, starts: datetime, ends: datetime, level: str,
        attendees: Sequence[str]) -> int:
    """Open a meeting with its venue, time, level and attendee list (R-123, R-127)."""
    with uow:
        actor_facts(uow, actor, Action.MEETING)
        clean("title", title)
        try:
            lv = Classification.parse(level)
        except DomainError as e:
            raise InvalidInput([Violation("R-01", e.en, e.zh)]) from None
        place = get_location(uow, venue)
        badges = list(dict.fromkeys(b.strip() for b in attendees if b.strip()))
        people = [get_person(uow, b) for b in badges]
        refuse(check_meeting_new(lv, location_facts(place), starts, ends, len(people)), "meeting_new", None,
               actor.badge)
        now = uow.now()
        m = Meeting(title=title.strip(), venue_id=place.id, starts_at=starts, ends_at=ends, classification=lv.value,
                    status="open", created_by=actor.badge, created_at=now)
        uow.session.add(m)
        uow.session.flush()
        uow.session.add_all([MeetingAttendee(meeting_id=m.id, person_id=p.id) for p in people])
        uow.session.flush()
        uow.ledger.append(EventDraft(EventType.MEETING_OPENED, actor=actor.badge, to_location=place.code,
                                     payload={"meeting": m.id, "title": m.title, "level": lv.value,
                                              "starts": utc_iso(starts), "ends": utc_iso(ends),
                                              "attendees": [p.badge for p in people]}), now)
        uow.commit()
        return m.id


def issue(uow: UnitOfWork, actor: Signed, meeting_id: int, attendee: Signed | str, codes: Sequence[str]) -> list[int]:
    """Hand documents to a signed-in attendee: one event per document, naming the clerk and the attendee."""
    with uow:
        _me, _facts = actor_facts(uow, actor, Action.MEETING)
        now = uow.now()
        m = _lock(uow, meeting_id)
        facts = _facts_of(uow, m)
        person = get_person(uow, badge_of(attendee))
        signed = signed_by(attendee, person.badge)
        wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
        if not wanted:
            raise DomainError("Scan at least one document to issue.", "请至少扫描一份要发放的材料。")
        carriers = {code: get_carrier(uow, code) for code in sorted(wanted)}
        problems: list[Violation] = []
        for code in wanted:
            c = carriers[code]
            problems += check_meeting_issue(facts, carrier_facts(c), person_facts(person), signed,
                                            bound_meeting(uow, c.id))
        refuse(list(dict.fromkeys(problems)), "meeting_issue", wanted[0] if len(wanted) == 1 else None, actor.badge)
        row = uow.session.get(MeetingAttendee, (m.id, person.id))
        if row is not None and row.signed_in_at is None and isinstance(attendee, Signed):
            row.signed_in_at = attendee.at
        venue = _venue(uow, m)
        seqs = []
        for code in wanted:
            c = carriers[code]
            place = c.location
            material = uow.session.get(MeetingMaterial, (m.id, c.id))
            if material is None:
                material = MeetingMaterial(meeting_id=m.id, carrier_id=c.id)
                uow.session.add(material)
            material.attendee_id, material.from_location_id = person.id, place.id if place else None
            material.issued_at, material.issued_by, material.open_carrier_id = now, actor.badge, c.id
            material.outcome = material.settled_at = material.settled_by = None
            c.status, c.holder_id, c.location_id, c.due_at, c.updated_at = (
                CarrierStatus.ON_LOAN.value, person.id, None, m.ends_at, now)
            uow.session.flush()
            ev = uow.ledger.append(EventDraft(
                EventType.MEETING_ISSUED, carrier=c.code, actor=actor.badge,
                from_location=place.code if place else None, to_holder=person.badge,
                payload={"meeting": m.id, "venue": venue.code, "attendee_signed":
                         utc_iso(attendee.at) if isinstance(attendee, Signed) else None}), now)
            seqs.append(ev.seq)
        uow.commit()
        return seqs


def collect(uow: UnitOfWork, actor: Signed, meeting_id: int, codes: Sequence[str],
            to_location: str | None = None) -> list[int]:
    """Scan documents back from the attendees into the place each came from (or `to_location`), R-123."""
    with uow:
        actor_facts(uow, actor, Action.MEETING)
        now = uow.now()
        m = _lock(uow, meeting_id)
        wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
        if not wanted:
            raise DomainError("Scan at least one document to collect.", "请至少扫描一份要收回的材料。")
        target = get_location(uow, to_location) if to_location else None
        pairs: list[tuple[Carrier, MeetingMaterial, Location]] = []
        problems: list[Violation] = []
        for code in wanted:
            c = get_carrier(uow, code)
            material = _open_material(uow, m, c)
            if material is None:
                problems.append(Violation("R-123", f"{c.code} is not out at meeting #{m.id}.",
                                          f"{c.code} 不是会议 #{m.id} 发出未收回的材料。"))
                continue
            place = target or (uow.session.get(Location, material.from_location_id)
                               if material.from_location_id else None)
            if place is None:
                problems.append(Violation("R-17", f"{c.code}: say where it goes back to (--to LOCATION).",
                                          f"{c.code}：请指定收回后的存放位置。"))
                continue
            problems += check_place_accepts(c.code, Classification(c.classification), location_facts(place))
            pairs.append((c, material, place))
        refuse(problems, "meeting_collect", wanted[0] if len(wanted) == 1 else None, actor.badge)
        seqs = []
        for c, material, place in pairs:
            holder = c.holder.badge if c.holder else None
            c.status, c.holder_id, c.location_id, c.due_at, c.updated_at = (
                CarrierStatus.IN_STORE.value, None, place.id, None, now)
            material.outcome, material.settled_at, material.settled_by, material.open_carrier_id = (
                "collected", now, actor.badge, None)
            uow.session.flush()
            ev = uow.ledger.append(EventDraft(EventType.MEETING_COLLECTED, carrier=c.code, actor=actor.badge,
                                              from_holder=holder, to_location=place.code,
                                              payload={"meeting": m.id}), now)
            seqs.append(ev.seq)
        uow.commit()
        return seqs


def keep(uow: UnitOfWork, actor: Signed, meeting_id: int, code: str) -> int:
    """Register a document as kept by the attendee who holds it (R-125); 绝密/机密 never are (R-124)."""
    with uow:
        actor_facts(uow, actor, Action.MEETING)
        now = uow.now()
        m = _lock(uow, meeting_id)
        c = get_carrier(uow, code)
        material = _open_material(uow, m, c)
        holder = c.holder.badge if c.holder and material is not None else None
        refuse(check_meeting_keep(_facts_of(uow, m), carrier_facts(c), holder), "meeting_keep", c.code, actor.badge)
        assert material is not None
        material.outcome, material.settled_at, material.settled_by, material.open_carrier_id = (
            "kept", now, actor.badge, None)
        c.due_at, c.updated_at = None, now
        uow.session.flush()
        ev = uow.ledger.append(EventDraft(EventType.MEETING_KEPT, carrier=c.code, actor=actor.badge,
                                          from_holder=holder, to_holder=holder, payload={"meeting": m.id}), now)
        uow.commit()
        return ev.seq


def report_missing(uow: UnitOfWork, actor: Signed, meeting_id: int, code: str, note: str = "") -> datetime | None:
    """A document not found at collection is reported missing at once (R-154; the R-155 clock starts); returns the
    leak-incident deadline. The meeting counts it as accounted for, so the loss never holds the meeting open."""
    with uow:
        m = _get(uow, meeting_id)
        c = get_carrier(uow, code, lock=False)
        if _open_material(uow, m, c) is None:
            raise NotFound(f"{c.code} is not out at meeting #{m.id}.", f"{c.code} 不是会议 #{m.id} 发出未收回的材料。")
    deadline = incidents.report_missing(uow, actor, code, f"meeting #{meeting_id}" + (f": {note}" if note else ""))
    with uow:
        m = _lock(uow, meeting_id)
        c = get_carrier(uow, code)
        material = uow.session.get(MeetingMaterial, (m.id, c.id))
        if material is not None and material.outcome is None:
            material.outcome, material.settled_at, material.settled_by, material.open_carrier_id = (
                "missing", uow.now(), actor.badge, None)
        uow.commit()
    return deadline


def close(uow: UnitOfWork, actor: Signed, meeting_id: int, venue_check: str) -> tuple[int, str]:
    """Close the meeting: everything back or accounted for, and the venue check recorded (R-123, R-126). Returns the
    ledger head (sequence, hash) the meeting record quotes."""
    with uow:
        actor_facts(uow, actor, Action.MEETING)
        clean("note", venue_check)
        now = uow.now()
        m = _lock(uow, meeting_id)
        rows = _materials(uow, m)
        outstanding = [c.code for mat, c in rows if mat.outcome is None and c.status != CarrierStatus.MISSING.value]
        refuse(check_meeting_close(_facts_of(uow, m), outstanding, bool(venue_check.strip())), "meeting_close",
               None, actor.badge)
        for mat, _c in rows:
            if mat.outcome is None:  # reported missing through incidents directly
                mat.outcome, mat.settled_at, mat.settled_by, mat.open_carrier_id = ("missing", now, actor.badge,
                                                                                     None)
        counts = {k: sum(1 for mat, _ in rows if mat.outcome == k) for k in ("collected", "kept", "missing")}
        ev = uow.ledger.append(EventDraft(EventType.MEETING_CLOSED, actor=actor.badge,
                                          to_location=_venue(uow, m).code,
                                          payload={"meeting": m.id, "venue_check": venue_check.strip(),
                                                   "issued": len(rows), **counts}), now)
        m.status, m.closed_by, m.closed_at = "closed", actor.badge, now
        m.venue_checked_by, m.venue_check = actor.badge, venue_check.strip()
        m.head_seq, m.head_hash = ev.seq, ev.hash
        uow.session.flush()
        uow.commit()
        return ev.seq, ev.hash


# --- reading ------------------------------------------------------------------------------------------------------


def bound_meeting(uow: UnitOfWork, carrier_id: int) -> int | None:
    """The meeting a document is out at, if any (the circulation services refuse to move a 绝密/机密 one, R-124)."""
    return uow.session.execute(select(MeetingMaterial.meeting_id).where(
        MeetingMaterial.open_carrier_id == carrier_id)).scalar()


def view(uow: UnitOfWork, meeting_id: int) -> MeetingView:
    m = _get(uow, meeting_id)
    venue = _venue(uow, m)
    attendees = [AttendeeView(p.badge, p.name, p.unit, p.clearance, a.signed_in_at) for a, p in uow.session.execute(
        select(MeetingAttendee, Person).join(Person, Person.id == MeetingAttendee.person_id)
        .where(MeetingAttendee.meeting_id == m.id).order_by(Person.badge))]
    badges = {p.id: p.badge for p in uow.session.execute(select(Person).join(
        MeetingMaterial, MeetingMaterial.attendee_id == Person.id).where(MeetingMaterial.meeting_id == m.id)).scalars()}
    materials = [MaterialView(c.code, c.title, c.doc_number, c.copy_number, c.copy_total, c.classification,
                              badges.get(mat.attendee_id, ""), mat.issued_at, mat.issued_by, mat.outcome,
                              mat.settled_at, mat.settled_by, c.status) for mat, c in _materials(uow, m, lock=False)]
    return MeetingView(m.id, m.title, venue.code, venue.name, m.starts_at, m.ends_at, m.classification, m.status,
                       m.created_by, attendees, materials, m.venue_checked_by, m.venue_check, m.closed_by,
                       m.closed_at, m.head_seq, m.head_hash)


def meetings(uow: UnitOfWork, status: str | None = None) -> list[MeetingView]:
    q = select(Meeting.id).order_by(Meeting.id.desc())
    if status:
        q = q.where(Meeting.status == status)
    return [view(uow, mid) for mid in uow.session.execute(q).scalars()]


def uncollected(uow: UnitOfWork, now: datetime) -> list[tuple[int, str]]:
    """Duties: (meeting, document) still out at an open meeting whose end has passed (R-123)."""
    return [(mid, code) for mid, code in uow.session.execute(
        select(Meeting.id, Carrier.code).join(MeetingMaterial, MeetingMaterial.meeting_id == Meeting.id)
        .join(Carrier, Carrier.id == MeetingMaterial.carrier_id)
        .where(Meeting.status == "open", Meeting.ends_at < now, MeetingMaterial.open_carrier_id.is_not(None))
        .order_by(Meeting.id, Carrier.code))]


# --- helpers ------------------------------------------------------------------------------------------------------


def _no_meeting(meeting_id: int) -> NotFound:
    return NotFound(f"No meeting #{meeting_id}.", f"没有编号为 #{meeting_id} 的会议。")


def _get(uow: UnitOfWork, meeting_id: int) -> Meeting:
    m = uow.session.get(Meeting, meeting_id)
    if m is None:
        raise _no_meeting(meeting_id)
    return m


def _lock(uow: UnitOfWork, meeting_id: int) -> Meeting:
    m = uow.session.execute(select(Meeting).where(Meeting.id == meeting_id).with_for_update()
                            .execution_options(populate_existing=True)).scalar_one_or_none()
    if m is None:
        raise _no_meeting(meeting_id)
    return m


def _venue(uow: UnitOfWork, m: Meeting) -> Location:
    place = uow.session.get(Location, m.venue_id)
    assert place is not None
    return place


def _facts_of(uow: UnitOfWork, m: Meeting) -> MeetingFacts:
    badges = frozenset(uow.session.execute(select(Person.badge).join(
        MeetingAttendee, MeetingAttendee.person_id == Person.id).where(MeetingAttendee.meeting_id == m.id)).scalars())
    return MeetingFacts(m.id, m.status, Classification(m.classification), location_facts(_venue(uow, m)), badges)


def _open_material(uow: UnitOfWork, m: Meeting, c: Carrier) -> MeetingMaterial | None:
    material = uow.session.get(MeetingMaterial, (m.id, c.id))
    return material if material is not None and material.open_carrier_id is not None else None


def _materials(uow: UnitOfWork, m: Meeting, lock: bool = True) -> list[tuple[MeetingMaterial, Carrier]]:
    q = (select(MeetingMaterial, Carrier).join(Carrier, Carrier.id == MeetingMaterial.carrier_id)
         .where(MeetingMaterial.meeting_id == m.id).order_by(Carrier.code))
    if lock:
        q = q.with_for_update(of=Carrier)
    return [(mat, c) for mat, c in uow.session.execute(q.execution_options(populate_existing=True)).unique()]
