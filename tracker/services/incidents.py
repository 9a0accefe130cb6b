"""Loss, recovery and incidents (R-154–R-156): reporting a carrier missing opens a loss incident and starts the R-155
clock; finding it stops the carrier's clock, and the incident stays on the security officer's list until closed
with a resolution.

A report is written immediately and can be made by anyone active (R-154, R-156: hiding a loss is itself forbidden).
The deadline after which a loss counts as a leak incident is computed from the level by `rules.leak_deadline`.
Other features raise incidents inside their own transaction with `open_in` (a broken seal at a transit hop, an alarm
at a gate): the incident and the act that found it commit together or not at all. This module never changes a
carrier's custody for an incident: an alarm is evidence, not a movement.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from tracker.domain import (
    CarrierStatus,
    Classification,
    DomainError,
    EventType,
    IncidentKind,
    IncidentOutcome,
    utc_iso,
)
from tracker.ledger import EventDraft
from tracker.rules import Action, check_found, check_incident_close, check_report_missing, leak_deadline
from tracker.schema import Carrier, Incident, IncidentCarrier
from tracker.services.common import (
    NotFound,
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
        uow.ledger.append(EventDraft(EventType.REPORTED_MISSING, carrier=c.code, actor=actor.badge,
                                     from_holder=last_holder, from_location=last_place,
                                     payload={"note": note, "leak_deadline": utc_iso(deadline) if deadline else None}),
                          now)
        # the loss is an incident from the moment it is reported, on the security officer's list until closed.
        open_in(uow, IncidentKind.LOSS, f"{c.code} reported missing" + (f": {note}" if note else ""),
                actor=actor.badge, carriers=[c.code], place=last_place, deadline=deadline,
                evidence={"last_holder": last_holder, "last_place": last_place})
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
        open_ids = [i.id for i in _open_for(uow, c.code)]
        uow.ledger.append(EventDraft(EventType.FOUND, carrier=c.code, actor=actor.badge, to_location=place.code,
                                     payload={"missing_days": days, "note": note, "incidents": open_ids}), now)
        uow.commit()
        return days


# --- incidents ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class IncidentView:
    id: int
    kind: str
    status: str
    level: str | None
    opened_at: datetime
    opened_by: str | None
    source: str | None
    discovered_at: datetime | None
    place: str | None
    summary: str
    deadline: datetime | None
    carriers: tuple[str, ...]
    still_missing: tuple[str, ...]
    measures: tuple[dict[str, Any], ...]
    evidence: dict[str, Any]
    outcome: str | None
    resolution: str | None
    closed_at: datetime | None
    closed_by: str | None


def open_in(uow: UnitOfWork, kind: IncidentKind, summary: str, *, actor: str | None, carriers: Sequence[str] = (),
            place: str | None = None, evidence: Mapping[str, Any] | None = None,
            discovered_at: datetime | None = None, deadline: datetime | None = None) -> int:
    """Open an incident inside the caller's transaction, with its ledger event; returns its number. `actor` is the
    badge of whoever raised it, or None for a device (the terminal is recorded either way). Codes the register does
    not know are kept as read: a foreign tag at a gate is evidence too."""
    now = uow.now()
    codes = sorted({c.strip().upper() for c in carriers if c.strip()})
    level = _highest(uow, codes)
    inc = Incident(kind=IncidentKind(kind).value, status="open", level=level, opened_at=now, opened_by=actor,
                   source=uow.store.terminal, discovered_at=discovered_at or now, place=place, summary=summary,
                   evidence=json.dumps(dict(evidence or {}), ensure_ascii=False, sort_keys=True, default=str),
                   deadline=deadline, measures="[]")
    uow.session.add(inc)
    uow.session.flush()
    uow.session.add_all([IncidentCarrier(incident_id=inc.id, code=code) for code in codes])
    uow.ledger.append(EventDraft(EventType.INCIDENT_OPENED, carrier=codes[0] if len(codes) == 1 else None,
                                 actor=actor, to_location=place,
                                 payload={"incident": inc.id, "kind": inc.kind, "carriers": codes, "summary": summary,
                                          "level": level, "deadline": utc_iso(deadline) if deadline else None}),
                      now)
    return inc.id


def report(uow: UnitOfWork, actor: Signed, kind: IncidentKind | str, summary: str, carriers: Sequence[str] = (),
           place: str | None = None, discovered_at: datetime | None = None) -> int:
    """A person reports an incident (R-154: immediately; R-156: anyone may, no role needed). A loss is reported with
    `report_missing`, which also changes the carrier's status; this is for everything else."""
    with uow:
        actor_facts(uow, actor, Action.REPORT_MISSING)
        k = _kind(kind)
        if k is IncidentKind.LOSS:
            raise DomainError("Report a loss with `carrier missing CODE`: it also marks the carrier 下落不明.",
                              "载体丢失请用“载体下落不明”登记（carrier missing），它同时变更载体状态。")
        text = clean("summary", summary, limit=2000, newlines=True) or ""
        if not text.strip():
            raise DomainError("Say what happened (--summary).", "请说明发生了什么（--summary）。")
        if discovered_at is not None and discovered_at > uow.now():
            raise DomainError("The discovery time is in the future.", "发现时间晚于当前时间。")
        if place is not None:
            place = get_location(uow, place).code
        number = open_in(uow, k, text, actor=actor.badge, carriers=carriers, place=place,
                         discovered_at=discovered_at)
        uow.commit()
        return number


def add_measure(uow: UnitOfWork, actor: Signed, number: int, measure: str) -> None:
    """Record a remedial measure or a step of the tracing (R-154: 补救措施, 追查), in the incident and the ledger."""
    with uow:
        actor_facts(uow, actor, Action.INCIDENT)
        text = clean("measure", measure, limit=2000, newlines=True) or ""
        if not text.strip():
            raise DomainError("Say what was done.", "请说明采取的措施。")
        inc = _get(uow, number, lock=True)
        if inc.status != "open":
            raise DomainError(f"Incident #{number} is closed.", f"事件 #{number} 已结案。")
        now = uow.now()
        measures = json.loads(inc.measures)
        measures.append({"at": utc_iso(now), "by": actor.badge, "text": text})
        inc.measures = json.dumps(measures, ensure_ascii=False)
        uow.ledger.append(EventDraft(EventType.INCIDENT_UPDATED, actor=actor.badge,
                                     payload={"incident": number, "measure": text}), now)
        uow.commit()


def close(uow: UnitOfWork, actor: Signed, number: int, outcome: IncidentOutcome | str, resolution: str) -> None:
    """Close an incident with its outcome and resolution (R-156). A loss closes as recovered only when every carrier
    of it is back; otherwise only as a leak reported (R-155)."""
    with uow:
        actor_facts(uow, actor, Action.INCIDENT)
        try:
            out = IncidentOutcome(str(outcome).strip().lower())
        except ValueError:
            raise DomainError(f"Unknown outcome {outcome!r}: use one of {', '.join(o.value for o in IncidentOutcome)}.",
                              f"未知的结果 {outcome!r}：可用 {'、'.join(o.value for o in IncidentOutcome)}。") from None
        text = clean("resolution", resolution, limit=2000, newlines=True) or ""
        inc = _get(uow, number, lock=True)
        missing = _still_missing(uow, number)
        refuse(check_incident_close(inc.kind, inc.status, out.value, text, missing), "incident_close", None,
               actor.badge)
        now = uow.now()
        inc.status, inc.outcome, inc.resolution, inc.closed_at, inc.closed_by = ("closed", out.value, text, now,
                                                                                 actor.badge)
        uow.ledger.append(EventDraft(EventType.INCIDENT_CLOSED, actor=actor.badge,
                                     payload={"incident": number, "outcome": out.value, "resolution": text,
                                              "still_missing": missing}), now)
        uow.commit()


def view(uow: UnitOfWork, actor: Signed, number: int) -> IncidentView:
    with uow:
        actor_facts(uow, actor, Action.AUDIT)
        return _view(uow, _get(uow, number, lock=False))


def listing(uow: UnitOfWork, actor: Signed, include_closed: bool = False) -> list[IncidentView]:
    """The security officer's and the auditor's list: open incidents first, oldest first."""
    with uow:
        actor_facts(uow, actor, Action.AUDIT)
        return open_incidents(uow) if not include_closed else [
            _view(uow, i) for i in uow.session.execute(select(Incident).order_by(Incident.id)).scalars()]


def open_incidents(uow: UnitOfWork) -> list[IncidentView]:
    """Every open incident, without a permission check: for the alerts and duties readers, which check their own."""
    rows = uow.session.execute(select(Incident).where(Incident.status == "open").order_by(Incident.id)).scalars()
    return [_view(uow, i) for i in rows]


def _kind(kind: IncidentKind | str) -> IncidentKind:
    try:
        return IncidentKind(str(kind).strip().lower())
    except ValueError:
        raise DomainError(f"Unknown incident kind {kind!r}: use one of {', '.join(k.value for k in IncidentKind)}.",
                          f"未知的事件类型 {kind!r}：可用 {'、'.join(k.value for k in IncidentKind)}。") from None


def _get(uow: UnitOfWork, number: int, lock: bool) -> Incident:
    q = select(Incident).where(Incident.id == number)
    if lock:
        q = q.with_for_update()
    inc = uow.session.execute(q.execution_options(populate_existing=True)).scalar_one_or_none()
    if inc is None:
        raise NotFound(f"No incident #{number}.", f"没有编号为 #{number} 的事件。")
    return inc


def _codes(uow: UnitOfWork, number: int) -> list[str]:
    return list(uow.session.execute(select(IncidentCarrier.code).where(IncidentCarrier.incident_id == number)
                                    .order_by(IncidentCarrier.code)).scalars())


def _still_missing(uow: UnitOfWork, number: int) -> list[str]:
    return list(uow.session.execute(
        select(Carrier.code).join(IncidentCarrier, IncidentCarrier.code == Carrier.code)
        .where(IncidentCarrier.incident_id == number, Carrier.status == CarrierStatus.MISSING.value)
        .order_by(Carrier.code)).scalars())


def _open_for(uow: UnitOfWork, code: str) -> list[Incident]:
    return list(uow.session.execute(
        select(Incident).join(IncidentCarrier, IncidentCarrier.incident_id == Incident.id)
        .where(IncidentCarrier.code == code, Incident.status == "open").order_by(Incident.id)).scalars())


def _highest(uow: UnitOfWork, codes: Sequence[str]) -> str | None:
    if not codes:
        return None
    levels = [Classification(v) for v in uow.session.execute(
        select(Carrier.classification).where(Carrier.code.in_(codes))).scalars()]
    return max(levels, key=lambda lv: lv.rank).value if levels else None


def _view(uow: UnitOfWork, i: Incident) -> IncidentView:
    return IncidentView(i.id, i.kind, i.status, i.level, i.opened_at, i.opened_by, i.source, i.discovered_at, i.place,
                        i.summary, i.deadline, tuple(_codes(uow, i.id)), tuple(_still_missing(uow, i.id)),
                        tuple(json.loads(i.measures)), json.loads(i.evidence), i.outcome, i.resolution, i.closed_at,
                        i.closed_by)
