"""Read-side queries shared by the CLI, the TUI and the reports: summaries, search, history and alerts.

Everything here only reads, inside a read-only unit of work, and returns plain dataclasses so callers never hold ORM
objects across threads. It must never change state.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from tracker import duties
from tracker.domain import (
    CarrierKind,
    CarrierStatus,
    Classification,
    DomainError,
    IncidentKind,
    PersonStatus,
    Regime,
    SecrecyPeriod,
    local_text,
    marking_text,
)
from tracker.rules import leak_deadline
from tracker.schema import (
    Approval,
    ApprovalCarrier,
    Carrier,
    Event,
    Location,
    Meeting,
    MeetingMaterial,
    Person,
    PrintRun,
)
from tracker.services.incidents import open_incidents
from tracker.services.transit import overdue
from tracker.store import UnitOfWork


@dataclass(frozen=True)
class CarrierView:
    code: str
    kind: str
    classification: str
    marking: str
    title: str
    doc_number: str | None
    status: str
    holder: str | None
    holder_name: str | None
    location: str | None
    location_name: str | None
    due_at: datetime | None
    copy_number: int | None
    copy_total: int | None
    period: str | None
    scope: str | None
    epc: str | None
    regime: str
    missing_since: datetime | None = None
    issuer: str | None = None
    pages: int | None = None
    capacity: str | None = None
    highest_level_held: str | None = None
    registered_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("due_at", "missing_since", "registered_at"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


# The Chinese name of every CarrierView field, for `--lang zh` tables and export headers (JSON keeps the English keys).
FIELD_ZH = {
    "code": "编号", "kind": "载体类型", "classification": "密级", "marking": "密级标志", "title": "标题",
    "doc_number": "文号", "status": "状态", "holder": "持有人", "holder_name": "持有人姓名", "location": "存放位置",
    "location_name": "位置名称", "due_at": "应还时间", "copy_number": "份号", "copy_total": "总份数",
    "period": "保密期限", "scope": "知悉范围", "epc": "电子标签 EPC", "regime": "秘密类别",
    "missing_since": "下落不明起始", "issuer": "发文机关", "pages": "页数", "capacity": "容量",
    "highest_level_held": "曾存储最高密级", "registered_at": "登记时间",
}


def value_zh(field: str, value: Any) -> Any:
    """A field's value as a Chinese reader reads it: levels, kinds, statuses, regimes and periods in Chinese."""
    if value is None or value == "":
        return value
    try:
        if field in ("classification", "highest_level_held"):
            return Classification(value).zh
        if field == "kind":
            return CarrierKind(value).zh
        if field == "status":
            return CarrierStatus(value).zh
        if field == "regime":
            return Regime(value).zh
        if field == "period":
            period = SecrecyPeriod.parse(value)
            return period.zh if period else value
    except (ValueError, DomainError):
        return value
    return value


def _view(c: Carrier) -> CarrierView:
    level = Classification(c.classification)
    period = SecrecyPeriod.parse(c.period)
    return CarrierView(
        code=c.code, kind=c.kind, classification=c.classification, marking=marking_text(level, period),
        title=c.title, doc_number=c.doc_number, status=c.status,
        holder=c.holder.badge if c.holder else None, holder_name=c.holder.name if c.holder else None,
        location=c.location.code if c.location else None, location_name=c.location.name if c.location else None,
        due_at=c.due_at, copy_number=c.copy_number, copy_total=c.copy_total, period=c.period, scope=c.scope,
        epc=c.epc, regime=c.regime, missing_since=c.missing_since, issuer=c.issuer, pages=c.pages,
        capacity=c.capacity, highest_level_held=c.highest_level_held, registered_at=c.registered_at,
    )


def carrier(uow: UnitOfWork, code: str) -> CarrierView | None:
    c = uow.session.execute(select(Carrier).where(Carrier.code == code.strip())).unique().scalar_one_or_none()
    return _view(c) if c else None


def carrier_by_epc(uow: UnitOfWork, epc: str) -> CarrierView | None:
    c = uow.session.execute(select(Carrier).where(Carrier.epc == epc.strip().upper())).unique().scalar_one_or_none()
    return _view(c) if c else None


def find(uow: UnitOfWork, text: str, limit: int = 50) -> list[CarrierView]:
    """Incremental search over code, title, document number, holder and place (prefix first, then substring)."""
    t = text.strip()
    if not t:
        return []
    holder, place = aliased(Person), aliased(Location)
    pattern = f"%{t}%"
    q = (select(Carrier).outerjoin(holder, Carrier.holder_id == holder.id)
         .outerjoin(place, Carrier.location_id == place.id)
         .where(or_(Carrier.code.like(pattern), Carrier.title.like(pattern), Carrier.doc_number.like(pattern),
                    holder.badge.like(pattern), holder.name.like(pattern), place.code.like(pattern),
                    place.name.like(pattern), Carrier.epc == t.upper()))
         .order_by(Carrier.code).limit(limit))
    return [_view(c) for c in uow.session.execute(q).unique().scalars()]


@dataclass(frozen=True)
class HistoryEntry:
    seq: int
    at: str
    type: str
    actor: str | None
    from_holder: str | None
    to_holder: str | None
    from_location: str | None
    to_location: str | None
    witness: str | None
    approval_id: int | None
    payload: dict[str, Any]


def history(uow: UnitOfWork, code: str) -> list[HistoryEntry]:
    rows = uow.session.execute(select(Event).where(Event.carrier == code.strip()).order_by(Event.seq)).scalars()
    return [HistoryEntry(e.seq, e.at, e.type, e.actor, e.from_holder, e.to_holder, e.from_location, e.to_location,
                         e.witness, e.approval_id, json.loads(e.payload)) for e in rows]


def summary(uow: UnitOfWork) -> dict[str, Any]:
    by_status = dict(uow.session.execute(select(Carrier.status, func.count()).group_by(Carrier.status)).all())
    by_level = dict(uow.session.execute(select(Carrier.classification, func.count())
                                        .group_by(Carrier.classification)).all())
    now = uow.now()
    overdue = uow.session.execute(select(func.count()).select_from(Carrier).where(
        Carrier.status.in_([s.value for s in CarrierStatus if s.with_holder]), Carrier.due_at < now)).scalar_one()
    head = uow.ledger.head()
    return {
        "carriers": sum(by_status.values()),
        "by_status": by_status,
        "by_level": by_level,
        "overdue": overdue,
        "people": uow.session.execute(select(func.count()).select_from(Person)).scalar_one(),
        "locations": uow.session.execute(select(func.count()).select_from(Location)).scalar_one(),
        "ledger_head": {"seq": head[0], "hash": head[1]},
    }


@dataclass(frozen=True)
class Alert:
    kind: str  # overdue | top_secret_out | missing | leak | departing | approval | incident | duty
    carrier: str | None
    person: str | None
    due: datetime | None
    en: str
    zh: str


def alerts(uow: UnitOfWork, for_badge: str | None = None) -> list[Alert]:
    """Everything the security officer must act on now: overdue loans, 绝密 out past the day, losses, departures."""
    now = uow.now()
    tz = uow.policy.tz  # every time a person reads is the unit's local time (issue 14: 18:00 shown as 10:00)
    out: list[Alert] = []
    out_statuses = [s.value for s in CarrierStatus if s.with_holder]
    rows = uow.session.execute(select(Carrier).where(Carrier.status.in_(out_statuses), Carrier.due_at < now)
                               .order_by(Carrier.due_at)).unique().scalars()
    # A document still out at a meeting that has ended is the meeting's duty to collect, named as such.
    at_meeting = dict(uow.session.execute(select(MeetingMaterial.carrier_id, MeetingMaterial.meeting_id).join(
        Meeting, Meeting.id == MeetingMaterial.meeting_id).where(MeetingMaterial.open_carrier_id.is_not(None))).all())
    for c in rows:
        due = c.due_at
        when = local_text(due, tz, zone=True)
        who = c.holder.badge if c.holder else "?"
        if c.id in at_meeting:
            m = at_meeting[c.id]
            out.append(Alert("meeting", c.code, who, due,
                             f"{c.code} not collected back from {who} after meeting #{m} ended {when} (R-123).",
                             f"{c.code} 在会议 #{m} 结束（{when}）后仍未从 {who} 处收回（R-123）。"))
        elif c.classification == Classification.TOP_SECRET.value:
            out.append(Alert("top_secret_out", c.code, who, due,
                             f"绝密 {c.code} not returned on time by {who} (due {when}).",
                             f"绝密载体 {c.code} 未按时归还，持有人 {who}（应于 {when} 归还）。"))
        else:
            out.append(Alert("overdue", c.code, who, due, f"{c.code} overdue with {who} since {when}.",
                             f"{c.code} 逾期未还，持有人 {who}，应还时间 {when}。"))
    missing = uow.session.execute(select(Carrier).where(Carrier.status == CarrierStatus.MISSING.value)
                                  .order_by(Carrier.missing_since)).unique().scalars()
    for c in missing:
        since = c.missing_since or now
        deadline = leak_deadline(Classification(c.classification), since, uow.policy)
        days = (now - since).days
        kind = "leak" if deadline is not None and now >= deadline else "missing"
        limit = f"{deadline.astimezone(tz):%Y-%m-%d}" if deadline else "-"
        out.append(Alert(kind, c.code, None, deadline,
                         f"{c.code} missing for {days} day(s); leak-incident deadline {limit} (R-155).",
                         f"{c.code} 下落不明 {days} 天；泄密事件期限 {limit}（R-155）。"))
    for inc in open_incidents(uow):  # on the list until the security office closes it
        opened = local_text(inc.opened_at, tz, zone=True)
        kind_zh = IncidentKind(inc.kind).zh if inc.kind in set(IncidentKind) else inc.kind
        out.append(Alert("incident", inc.carriers[0] if len(inc.carriers) == 1 else None, inc.opened_by,
                         inc.deadline, f"Incident #{inc.id} ({inc.kind}) open since {opened}: {inc.summary}",
                         f"事件 #{inc.id}（{kind_zh}）自 {opened} 起未结：{inc.summary}"))
    byproducts = uow.session.execute(
        select(PrintRun.id, PrintRun.doc_number, PrintRun.completed_at, Carrier.code)
        .join(Carrier, Carrier.id == PrintRun.byproduct_carrier_id)
        .where(Carrier.status != CarrierStatus.DESTROYED.value).order_by(PrintRun.id)).all()
    for run_id, doc, done, code in byproducts:
        out.append(Alert("byproducts", code, None, done,
                         f"By-products {code} of print run #{run_id} ({doc}) are not destroyed yet (R-34).",
                         f"印制单 #{run_id}（{doc}）的副产品 {code} 尚未销毁（R-34）。"))
    # The register-wide duties of RULES §3 once late (清查, clear-back, year-end collection, a campaign past its date):
    # the same computation as `tracker duties`, so the two never disagree.
    for d in duties.compute(uow, now, 0, (duties.stocktake_due, duties.clear_back_due, duties.campaigns_due)):
        if d.late_since is not None:
            late = local_text(d.late_since, tz, zone=True)
            out.append(Alert("duty", None, None, d.due, f"{d.en} Late since {late} ({d.rule}).",
                             f"{d.zh}（{d.rule}，自 {late} 起逾期）"))
    for t in overdue(uow):  # the courier always knows where each carrier is; a late transit is asked after
        due_text = local_text(t.due_at, tz, zone=True)
        out.append(Alert("transit_overdue", t.carriers[0] if len(t.carriers) == 1 else None, t.holder, t.due_at,
                         f"Transit #{t.id} to {t.to_place} not received by {due_text}; held by {t.holder}.",
                         f"传递 #{t.id}（至 {t.to_place}）未在 {due_text} 前签收，当前由 {t.holder} 持有。"))
    departing = uow.session.execute(select(Person).where(Person.status == PersonStatus.DEPARTING.value)).scalars()
    for p in departing:
        n = uow.session.execute(select(func.count()).select_from(Carrier).where(Carrier.holder_id == p.id)
                                ).scalar_one()
        if n:
            out.append(Alert("departing", None, p.badge, None,
                             f"{p.badge} {p.name} is departing and still holds {n} carrier(s) (R-140).",
                             f"{p.badge} {p.name} 待离岗，仍持有 {n} 件载体（R-140）。"))
    if for_badge:
        me = uow.session.execute(select(Person).where(Person.badge == for_badge)).scalar_one_or_none()
        if me is not None and "approver" in me.roles.split(","):
            pending = uow.session.execute(
                select(Approval).join(ApprovalCarrier).where(Approval.approver_id == me.id,
                                                             ApprovalCarrier.used_at.is_(None),
                                                             Approval.valid_until > now).distinct()).scalars()
            for a in pending:
                until = local_text(a.valid_until, tz, zone=True)
                out.append(Alert("approval", None, for_badge, a.valid_until,
                                 f"Approval #{a.id} ({a.purpose}) unused, valid until {until}.",
                                 f"审批 #{a.id}（{a.purpose}）尚未使用，有效期至 {until}。"))
    return out


def people(uow: UnitOfWork) -> list[dict[str, Any]]:
    rows = uow.session.execute(select(Person).order_by(Person.badge)).scalars()
    return [{"badge": p.badge, "name": p.name, "unit": p.unit, "clearance": p.clearance, "roles": p.roles,
             "status": p.status} for p in rows]


def locations(uow: UnitOfWork) -> list[dict[str, Any]]:
    parent = aliased(Location)
    rows = uow.session.execute(select(Location, parent.code).outerjoin(parent, Location.parent_id == parent.id)
                               .order_by(Location.code)).all()
    return [{"code": loc.code, "name": loc.name, "kind": loc.kind, "parent": pcode, "max_level": loc.max_level,
             "reading_place": loc.reading_place} for loc, pcode in rows]


def export_rows(uow: UnitOfWork) -> list[CarrierView]:
    return [_view(c) for c in uow.session.execute(select(Carrier).order_by(Carrier.code)).unique().scalars()]
