"""Clear-back campaigns (清退/收缴, R-130–R-133): "everything issued before X (or by issuer Y, or of level Z) back by
W". A campaign lists, when it opens, the matching carriers that are out (with a holder, or missing); each comes back
through an ordinary check-in (which notes it here, in the check-in's own transaction and event) and is verified by a
scan at the registry (核对). Whatever is not back by the due date is a straggler, named with its holder in the
report the security officer signs when closing the campaign. Year-end collection (R-133) is the built-in preset.

This module never moves a carrier: a return is a check-in, with its returner and its rules. It lists, verifies and
reports.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select, update

from tracker.domain import CarrierStatus, Classification, DomainError, EventType, utc_iso
from tracker.ledger import EventDraft
from tracker.rules import Action, Violation
from tracker.schema import Campaign, CampaignItem, Carrier, Person
from tracker.services.common import NotFound, Refused, Signed, actor_facts, get_carrier
from tracker.store import UnitOfWork
from tracker.text import clean

KINDS = ("clear_back", "year_end")
_OUT = [s.value for s in CarrierStatus if s.with_holder] + [CarrierStatus.MISSING.value]


@dataclass(frozen=True, slots=True)
class ItemView:
    code: str
    level: str
    doc_number: str | None
    title: str
    holder: str | None  # who held it when the campaign opened
    holder_name: str | None
    status: str  # the carrier's status now
    returned_at: datetime | None
    returned_by: str | None
    verified_at: datetime | None
    verified_by: str | None

    @property
    def back(self) -> bool:
        return self.returned_at is not None or self.verified_at is not None


@dataclass(frozen=True, slots=True)
class CampaignView:
    id: int
    name: str
    kind: str
    criteria: dict[str, str]
    due_at: datetime
    status: str
    created_by: str
    created_at: datetime
    closed_by: str | None
    closed_at: datetime | None
    note: str
    head_seq: int | None
    head_hash: str | None
    items: tuple[ItemView, ...]

    @property
    def returned(self) -> list[ItemView]:
        return [i for i in self.items if i.back]

    @property
    def stragglers(self) -> list[ItemView]:
        return [i for i in self.items if not i.back]

    def late(self, now: datetime) -> bool:
        return now > self.due_at and bool(self.stragglers)


def new(uow: UnitOfWork, actor: Signed, due: datetime, *, name: str = "", before: date | None = None,
        issuer: str | None = None, level: str | None = None, kind: str = "clear_back") -> int:
    """Open a campaign (security officer) over the matching carriers out now; returns its number."""
    if kind not in KINDS:
        raise DomainError(f"Unknown campaign kind {kind!r}: use {' or '.join(KINDS)}.",
                          f"未知的清退类型 {kind!r}：可用 {'、'.join(KINDS)}。")
    with uow:
        actor_facts(uow, actor, Action.CAMPAIGN)
        now = uow.now()
        clean("name", name)
        clean("issuer", issuer or "")
        if due <= now:
            raise Refused([Violation("R-131", "A campaign's due date lies ahead.", "清退截止时间须晚于当前时间。")],
                          "campaign_new", None, actor.badge)
        criteria: dict[str, str] = {}
        q = select(Carrier.id, Carrier.status, Person.badge).outerjoin(Person, Person.id == Carrier.holder_id) \
            .where(Carrier.status.in_(_OUT))
        tz = uow.policy.tz
        if before is not None:
            criteria["before"] = before.isoformat()
            q = q.where(Carrier.registered_at < datetime.combine(before, time(0), tz))
        if issuer:
            criteria["issuer"] = issuer.strip()
            q = q.where(Carrier.issuer == issuer.strip())
        if level:
            lv = Classification.parse(level)
            criteria["level"] = lv.value
            q = q.where(Carrier.classification == lv.value)
        else:
            q = q.where(Carrier.classification.in_([c.value for c in Classification if c.is_secret_level]))
        title = name.strip() or _default_name(kind, criteria, due.astimezone(tz).date())
        c = Campaign(name=title, kind=kind, criteria=json.dumps(criteria, ensure_ascii=False, sort_keys=True),
                     due_at=due, status="open", created_by=actor.badge, created_at=now, note="")
        uow.session.add(c)
        uow.session.flush()
        rows = uow.session.execute(q.order_by(Carrier.id)).all()
        uow.session.add_all([CampaignItem(campaign_id=c.id, carrier_id=cid, holder=badge, status_at_start=status)
                             for cid, status, badge in rows])
        uow.ledger.append(EventDraft(EventType.CAMPAIGN_OPENED, actor=actor.badge,
                                     payload={"campaign": c.id, "kind": kind, "name": title, "criteria": criteria,
                                              "due": utc_iso(due), "items": len(rows)}), now)
        uow.commit()
        return c.id


def year_end(uow: UnitOfWork, actor: Signed, year: int, due: datetime | None = None) -> int:
    """The yearly collection (收缴, R-133): every classified carrier out, back by the last working day's end."""
    tz = uow.policy.tz
    end = due or datetime.combine(date(year, 12, 31), uow.policy.end_of_day, tz)
    return new(uow, actor, end, name=f"{year}年年终收缴", kind="year_end")


def _default_name(kind: str, criteria: dict[str, str], due: date) -> str:
    if kind == "year_end":
        return f"{due.year}年年终收缴"
    parts = [f"{k}={v}" for k, v in sorted(criteria.items())]
    return f"清退 {due.isoformat()}" + (f"（{'，'.join(parts)}）" if parts else "")


def note_return(uow: UnitOfWork, carrier_id: int, returner: str, now: datetime,
                waiting: Sequence[int] | None = None) -> list[int]:
    """A check-in counts for every open campaign waiting for the carrier; called inside the check-in's transaction
    (its ledger event names the campaigns). Returns their numbers. `waiting` is those campaigns when the caller has
    read them already (the counter's check-in, in its first batch)."""
    ids = list(waiting) if waiting is not None else list(uow.session.execute(
        select(CampaignItem.campaign_id).join(Campaign, Campaign.id == CampaignItem.campaign_id)
        .where(CampaignItem.carrier_id == carrier_id, CampaignItem.returned_at.is_(None), Campaign.status == "open")
    ).scalars())
    if ids:
        uow.session.execute(update(CampaignItem).where(CampaignItem.carrier_id == carrier_id,
                                                       CampaignItem.campaign_id.in_(ids))
                            .values(returned_at=now, returned_by=returner))
    return sorted(ids)


def scan(uow: UnitOfWork, actor: Signed, number: int, codes: Sequence[str]) -> list[str]:
    """Verify carriers back at the registry (核对): each must be on the campaign and in store. One event for the
    scan; all or nothing. Returns the codes verified."""
    with uow:
        actor_facts(uow, actor, Action.CHECK_IN)
        camp = _get(uow, number, lock=True)
        if camp.status != "open":
            raise DomainError(f"Campaign #{number} is closed.", f"清退 #{number} 已结束。")
        now = uow.now()
        problems: list[Violation] = []
        done: list[str] = []
        for code in dict.fromkeys(c.strip().upper() for c in codes if c.strip()):
            c = get_carrier(uow, code)
            item = uow.session.get(CampaignItem, (number, c.id))
            if item is None:
                problems.append(Violation("R-132", f"{code} is not on campaign #{number}.",
                                          f"{code} 不在清退 #{number} 的清单上。"))
            elif c.status != CarrierStatus.IN_STORE.value:
                problems.append(Violation("R-66", f"{code} is not back in store ({c.status}): check it in first, "
                                                  "naming who returns it.",
                                          f"{code} 尚未归还入库：请先办理归还并登记归还人。"))
            else:
                item.verified_at, item.verified_by = now, actor.badge
                if item.returned_at is None:  # back before the campaign saw a check-in (e.g. found)
                    item.returned_at, item.returned_by = now, None
                done.append(code)
        if not done and not problems:
            problems.append(Violation("R-132", "Scan at least one carrier.", "请至少扫描一件载体。"))
        if problems:
            raise Refused(problems, "campaign_scan", None, actor.badge)
        uow.ledger.append(EventDraft(EventType.CAMPAIGN_SCANNED, actor=actor.badge,
                                     payload={"campaign": number, "verified": done}), now)
        uow.commit()
        return done


def close(uow: UnitOfWork, actor: Signed, number: int, note: str = "") -> CampaignView:
    """Close a campaign (security officer): the stragglers are fixed in the record with the ledger head, and the
    report can be printed and signed. Stragglers do not block closing — they are the report's point (R-132: missing
    items) — but they stay on the duties list as overdue loans or losses."""
    with uow:
        actor_facts(uow, actor, Action.CAMPAIGN)
        text = clean("note", note, limit=2000, newlines=True) or ""
        camp = _get(uow, number, lock=True)
        if camp.status != "open":
            raise DomainError(f"Campaign #{number} is already closed.", f"清退 #{number} 已结束。")
        now = uow.now()
        view = _view(uow, camp)
        stragglers = [i.code for i in view.stragglers]
        ev = uow.ledger.append(EventDraft(EventType.CAMPAIGN_CLOSED, actor=actor.badge,
                                          payload={"campaign": number, "returned": len(view.returned),
                                                   "stragglers": stragglers, "note": text}), now)
        camp.status, camp.closed_by, camp.closed_at, camp.note = "closed", actor.badge, now, text
        camp.head_seq, camp.head_hash = ev.seq, ev.hash
        uow.commit()
        return _view(uow, camp)


def show(uow: UnitOfWork, number: int) -> CampaignView:
    with uow:
        return _view(uow, _get(uow, number, lock=False))


def listing(uow: UnitOfWork, include_closed: bool = True) -> list[CampaignView]:
    with uow:
        q = select(Campaign).order_by(Campaign.id)
        if not include_closed:
            q = q.where(Campaign.status == "open")
        return [_view(uow, c) for c in uow.session.execute(q).scalars()]


def _get(uow: UnitOfWork, number: int, lock: bool) -> Campaign:
    q = select(Campaign).where(Campaign.id == number)
    if lock:
        q = q.with_for_update()
    c = uow.session.execute(q.execution_options(populate_existing=True)).scalar_one_or_none()
    if c is None:
        raise NotFound(f"No campaign #{number}.", f"没有编号为 #{number} 的清退。")
    return c


def _view(uow: UnitOfWork, c: Campaign) -> CampaignView:
    rows = uow.session.execute(
        select(CampaignItem, Carrier.code, Carrier.classification, Carrier.doc_number, Carrier.title, Carrier.status,
               Person.name)
        .join(Carrier, Carrier.id == CampaignItem.carrier_id)
        .outerjoin(Person, Person.badge == CampaignItem.holder)
        .where(CampaignItem.campaign_id == c.id).order_by(Carrier.code)).all()
    items = tuple(ItemView(code, level, doc, title, i.holder, name, status, i.returned_at, i.returned_by,
                           i.verified_at, i.verified_by) for i, code, level, doc, title, status, name in rows)
    return CampaignView(c.id, c.name, c.kind, json.loads(c.criteria), c.due_at, c.status, c.created_by, c.created_at,
                        c.closed_by, c.closed_at, c.note, c.head_seq, c.head_hash, items)
