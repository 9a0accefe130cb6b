"""One carrier's view read with Core SQL, and the view's type and Chinese field names, without the ORM.

`tracker carrier show` pays its start-up on every call (issue 22): mapping the register's ORM schema cost it more
than importing SQLAlchemy itself, and reading one carrier needs none of it. So the view (`CarrierView`), its Chinese
names and values live here, and `carrier`/`carrier_by_epc` read one row with a plain SELECT on a connection
(`Store.read`), giving the same view `tracker.queries.carrier` builds from the mapped objects (a test compares
them on both databases). This module only reads, and must never import the schema, the ORM or the services.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, DateTime, text

from tracker.domain import (
    CarrierKind,
    CarrierStatus,
    Classification,
    DomainError,
    Regime,
    SecrecyPeriod,
    marking_text,
)


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



_SELECT = (
    "SELECT c.code, c.kind, c.classification, c.title, c.doc_number, c.status, h.badge, h.name, l.code, l.name, "
    "c.due_at, c.copy_number, c.copy_total, c.period, c.scope, c.epc, c.regime, c.missing_since, c.issuer, c.pages, "
    "c.capacity, c.highest_level_held, c.registered_at FROM carriers c LEFT JOIN people h ON h.id = c.holder_id "
    "LEFT JOIN locations l ON l.id = c.location_id WHERE c.{} = :value")
# The instants are read as the schema's UTCDateTime reads them: SQLite keeps the UTC digits without an offset.
_INSTANTS = {"due_at": DateTime(timezone=True), "missing_since": DateTime(timezone=True),
             "registered_at": DateTime(timezone=True)}
_BY_CODE = text(_SELECT.format("code")).columns(**_INSTANTS)
_BY_EPC = text(_SELECT.format("epc")).columns(**_INSTANTS)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _read(conn: Connection, statement: Any, value: str) -> CarrierView | None:
    row = conn.execute(statement, {"value": value}).first()
    if row is None:
        return None
    (code, kind, level, title, doc, status, badge, name, loc, loc_name, due, copy, total, period, scope, epc, regime,
     missing, issuer, pages, capacity, highest, registered) = row
    return CarrierView(
        code=code, kind=kind, classification=level,
        marking=marking_text(Classification(level), SecrecyPeriod.parse(period)), title=title, doc_number=doc,
        status=status, holder=badge, holder_name=name, location=loc, location_name=loc_name, due_at=_utc(due),
        copy_number=copy, copy_total=total, period=period, scope=scope, epc=epc, regime=regime,
        missing_since=_utc(missing), issuer=issuer, pages=pages, capacity=capacity, highest_level_held=highest,
        registered_at=_utc(registered))


def carrier(conn: Connection, code: str) -> CarrierView | None:
    """The carrier with this code (as `tracker.queries.carrier`)."""
    return _read(conn, _BY_CODE, code.strip())


def carrier_by_epc(conn: Connection, epc: str) -> CarrierView | None:
    """The carrier with this EPC (as `tracker.queries.carrier_by_epc`)."""
    return _read(conn, _BY_EPC, epc.strip().upper())
