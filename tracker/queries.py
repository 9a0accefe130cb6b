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
from sqlalchemy import text as sql_text
from sqlalchemy.orm import aliased

from tracker.domain import (
    CarrierKind,
    CarrierStatus,
    Classification,
    DomainError,
    PersonStatus,
    Regime,
    SecrecyPeriod,
    local_text,
    marking_text,
)
from tracker.rules import leak_deadline
from tracker.schema import Approval, ApprovalCarrier, Carrier, Event, Location, Person
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


# Texts shorter than this have no trigram: the index cannot serve them (see `find`).
TRIGRAM = 3


def _like(text: str) -> str:
    """`text` as a LIKE pattern matching itself anywhere: its own % and _ are literal characters here."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _fts_phrase(text: str) -> str:
    """`text` as one FTS5 phrase: with the trigram tokenizer, a match is the text found as a substring."""
    return '"' + text.replace('"', '""') + '"'


_FTS = sql_text("SELECT rowid FROM carrier_search WHERE carrier_search MATCH :match ORDER BY rowid LIMIT :n")


def find(uow: UnitOfWork, text: str, limit: int = 50) -> list[CarrierView]:
    """Incremental search over code, document number, title, holder and place, ranked: the exact code (or EPC), codes
    starting with the text, document numbers holding it, then titles, codes, holders and places holding it; within
    a rank by code for the code ranks, else in registration order.

    Each rank is one indexed read stopped at `limit` rows, so a keystroke costs the same on a million carriers as on
    a thousand: codes by prefix from their B-tree index; on SQLite, substrings of three characters or more from the
    `carrier_search` FTS5 trigram index (migration 0011), on PostgreSQL from pg_trgm GIN indexes; people and places
    are few and are read directly. One or two characters have no trigram: the carriers are read in registration
    order until `limit` of them hold the text (quick for the common characters a short text usually is; a rare one
    reads further).
    """
    t = text.strip()
    if not t or limit <= 0:
        return []
    session = uow.session
    code = t.upper()
    found: dict[int, None] = {}  # carrier ids in rank order

    def take(ids: Any) -> bool:
        for i in ids:
            found.setdefault(i, None)
        return len(found) >= limit

    def room() -> int:
        return limit + len(found)  # enough rows to fill the page after dropping those already ranked higher

    pattern = _like(t)

    def like(column: Any) -> Any:
        return column.ilike(pattern, escape="\\")

    holders = select(Person.id).where(or_(like(Person.badge), like(Person.name)))
    places = select(Location.id).where(or_(like(Location.code), like(Location.name)))
    # codes are upper case: a B-tree range is the prefix match, on both databases
    ranks: list[Any] = [
        select(Carrier.id).where(or_(Carrier.code == code, Carrier.epc == code)).order_by(Carrier.code),
        select(Carrier.id).where(Carrier.code >= code, Carrier.code < code + "\U0010ffff").order_by(Carrier.code),
    ]
    if uow.dialect == "sqlite" and len(t) >= TRIGRAM:
        phrase = _fts_phrase(t)
        ranks += ["doc_number : " + phrase, "{code title} : " + phrase]
    else:
        ranks += [select(Carrier.id).where(like(Carrier.doc_number)).order_by(Carrier.id),
                  select(Carrier.id).where(or_(like(Carrier.title), like(Carrier.code))).order_by(Carrier.id)]
    ranks += [select(Carrier.id).where(Carrier.holder_id.in_(holders)).order_by(Carrier.id),
              select(Carrier.id).where(Carrier.location_id.in_(places)).order_by(Carrier.id)]
    last: list[int] = []  # titles, codes, holders and places: one rank, in registration order
    for i, q in enumerate(ranks):
        if isinstance(q, str):
            ids = session.execute(_FTS, {"match": q, "n": room()}).scalars().all()
        else:
            ids = session.execute(q.limit(room())).scalars().all()
        if i < 3:
            if take(ids):
                break
        else:
            last.extend(ids)
    if len(found) < limit:
        take(sorted(set(last) - set(found)))
    ids = list(found)[:limit]
    if not ids:
        return []
    rows = {c.id: c for c in session.execute(select(Carrier).where(Carrier.id.in_(ids))).unique().scalars()}
    return [_view(rows[i]) for i in ids if i in rows]


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
    kind: str  # overdue | top_secret_out | missing | leak | departing | approval
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
    for c in rows:
        due = c.due_at
        when = local_text(due, tz, zone=True)
        who = c.holder.badge if c.holder else "?"
        if c.classification == Classification.TOP_SECRET.value:
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
