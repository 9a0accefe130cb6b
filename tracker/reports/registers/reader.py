"""Reading a register for a period: the one query every register definition runs, the reader's permission, and the
audit-log entry that says who took which register (an export of the register, kind ``export``).

Rows come from the ledger (`events`, the period's events of the definition's types, up to the head read in the same
transaction) joined to today's carrier, holder and place; people and approvers are read once. It never writes to the
register: the audit entry goes to the audit log, in its own transaction, as every export's does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, or_, select

from tracker.domain import CarrierKind, Classification, DomainError, EventType, utc_iso
from tracker.reports.registers.definitions import REGISTERS
from tracker.reports.registers.model import Context, EventRow, PersonInfo, Printed, Register
from tracker.schema import ApprovalDecision, Carrier, Event, Location, Person, table
from tracker.services.common import NotFound, Signed, actor_facts
from tracker.store import UnitOfWork
from tracker.text import clean

_events, _carriers, _people, _places = table(Event), table(Carrier), table(Person), table(Location)
_holder = _people.alias("holder")
_MEDIA = tuple(k.value for k in CarrierKind if k.is_storage_medium)
_TOP = Classification.TOP_SECRET.value


def register_of(name: str) -> Register:
    """The definition named `name`, or bad input naming the registers there are."""
    reg = REGISTERS.get(name.strip().lower().replace("-", "_"))
    if reg is None:
        names = ", ".join(REGISTERS)
        raise DomainError(f"No register {name!r}: there are {names}.", f"没有名为 {name!r} 的台账，可选：{names}。")
    return reg


def period_bounds(first: date, last: date, tz: Any) -> tuple[datetime, datetime]:
    """The period's first and last day, both whole, in the unit's time zone: [first 00:00, the day after last)."""
    if last < first:
        raise DomainError(f"The period ends ({last}) before it starts ({first}).",
                          f"期间的结束日期（{last}）早于开始日期（{first}）。")
    return datetime.combine(first, time(0), tz), datetime.combine(last + timedelta(days=1), time(0), tz)


def _query(reg: Register, since: datetime, until: datetime, head: int) -> Any:
    q = (select(_events.c.seq, _events.c.at, _events.c.type, _events.c.carrier, _events.c.actor,
                _events.c.from_holder, _events.c.to_holder, _events.c.from_location, _events.c.to_location,
                _events.c.witness, _events.c.approval_id, _events.c.payload, _carriers.c.title,
                _carriers.c.doc_number, _carriers.c.issuer, _carriers.c.kind, _carriers.c.classification,
                _carriers.c.period, _carriers.c.scope, _carriers.c.copy_number, _carriers.c.copy_total,
                _carriers.c.pages, _carriers.c.status, _holder.c.badge.label("holder"),
                _places.c.code.label("location"))
         .select_from(_events.outerjoin(_carriers, _carriers.c.code == _events.c.carrier)
                      .outerjoin(_holder, _holder.c.id == _carriers.c.holder_id)
                      .outerjoin(_places, _places.c.id == _carriers.c.location_id))
         .where(_events.c.type.in_(reg.events), _events.c.at >= utc_iso(since), _events.c.at < utc_iso(until),
                _events.c.seq <= head))
    if reg.media_only:
        q = q.where(_carriers.c.kind.in_(_MEDIA))
    if reg.top_secret_only:
        q = q.where(or_(_carriers.c.classification == _TOP, _carriers.c.highest_level_held == _TOP))
        return q.order_by(_events.c.carrier, _events.c.seq)
    return q.order_by(_events.c.seq)


def _in_unit(e: EventRow, unit: str, people: dict[str, PersonInfo]) -> bool:
    """An event belongs to a unit (部门) when someone of it acted, gave, took or accompanied."""
    return any((p := people.get(b or "")) is not None and p.unit == unit
               for b in (e.actor, e.from_holder, e.to_holder, e.witness))


def read(uow: UnitOfWork, reader: Signed, name: str, first: date, last: date, unit: str | None = None,
         lang: str = "zh", medium: str = "read") -> Printed:
    """The register `name` for the days `first`..`last` (local), optionally of one unit. Refused (and the refusal
    audited) unless the reader's role may read this register; each read is logged as an export."""
    reg = register_of(name)
    wanted_unit = (clean("unit", unit, limit=100) or "").strip() or None
    with uow:
        actor_facts(uow, reader, reg.action)
        tz = uow.policy.tz
        since, until = period_bounds(first, last, tz)
        head_seq, head_hash = uow.ledger.head()
        s = uow.session
        people = {b: PersonInfo(b, n, u, c) for b, n, u, c in
                  s.execute(select(Person.badge, Person.name, Person.unit, Person.clearance))}
        if wanted_unit and wanted_unit not in {p.unit for p in people.values()}:
            raise NotFound(f"No one in the register belongs to the unit {wanted_unit!r}.",
                           f"登记库中没有属于 {wanted_unit!r} 的人员。")
        events = [EventRow(r) for r in s.execute(_query(reg, since, until, head_seq)).all()]
        if wanted_unit:
            events = [e for e in events if _in_unit(e, wanted_unit, people)]
        ctx = Context(lang, tz, people, approvers=_approvers(uow, events))
        if reg.returns and events:
            ctx.returns = _returns(uow, {e.carrier for e in events if e.carrier}, min(e.seq for e in events), head_seq)
        rows = [row for e in events for row in reg.rows(e, ctx)]
    printed = Printed(reg, lang, tz, first, last, wanted_unit, reader.badge, uow.now(), head_seq, head_hash, rows,
                      people)
    uow.audit({"actor": reader.badge, "action": "register", "carrier": None, "rules": "", "kind": "export",
               "detail": json.dumps({"register": reg.name, "from": first.isoformat(), "to": last.isoformat(),
                                     "unit": wanted_unit, "medium": medium, "rows": len(rows),
                                     "head": head_seq}, ensure_ascii=False)})
    return printed


def _approvers(uow: UnitOfWork, events: Sequence[EventRow]) -> dict[int, list[str]]:
    """Who signed each approval the rows name, in signing order (one query for the range of numbers)."""
    ids = {e.approval_id for e in events if e.approval_id is not None}
    if not ids:
        return {}
    out: dict[int, list[str]] = {}
    rows = uow.session.execute(
        select(ApprovalDecision.approval_id, Person.badge).join(Person, Person.id == ApprovalDecision.person_id)
        .where(and_(ApprovalDecision.approval_id >= min(ids), ApprovalDecision.approval_id <= max(ids)),
               ApprovalDecision.decision == "approve")
        .order_by(ApprovalDecision.approval_id, ApprovalDecision.at))
    for approval_id, badge in rows:
        if approval_id in ids:
            out.setdefault(approval_id, []).append(badge)
    return out


def _returns(uow: UnitOfWork, carriers: set[str], after: int, head: int
             ) -> dict[str, list[tuple[int, datetime, str | None]]]:
    """The check-ins of these carriers after event `after`, in order: a loan's return may fall after the period."""
    out: dict[str, list[tuple[int, datetime, str | None]]] = {}
    rows = uow.session.execute(
        select(Event.seq, Event.at, Event.carrier, Event.actor)
        .where(Event.type == EventType.CHECKED_IN.value, Event.seq > after, Event.seq <= head).order_by(Event.seq))
    for seq, at, carrier, actor in rows:
        if carrier in carriers:
            out.setdefault(carrier, []).append((seq, datetime.fromisoformat(at), actor))
    return out

