"""The duties calendar (RULES §3): every periodic or event-driven duty the register can know, with its due moment,
who is responsible, and since when it is late.

It is pure computation over the register's tables and one moment (`at`, the store's clock unless given), so a test
moves a clock and sees each duty appear on its date. Sources are small functions, one per duty; a feature that
brings its own deadlines (transits) adds a source with `add_source` instead of editing this module. It only reads:
it never changes state and never declassifies anything — a secrecy period ending is a review task for the security
office (R-12, §5 Q14), not an act.

Cadences where the seeds leave a choice (§5 Q5): a 清查 every three months counted from the last closed stock-take
(R-131); a clear-back of ordinary classified documents by 30 June and 31 December (R-130; the December one is the
yearly R-132 clear-back too), met by a campaign opened after the previous deadline and closed; year-end collection
(R-133) by 31 December, met by that year's closed year-end campaign; every cleared person signs the yearly pledge
(责任状) within a year of the last, attends two trainings and passes an exam each calendar year (R-163), is vetted
before holding a clearance (R-161).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from tracker.domain import (
    CarrierStatus,
    Classification,
    Clearance,
    DomainError,
    EventType,
    PersonStatus,
    SecrecyPeriod,
    local_text,
)
from tracker.schema import Campaign, CampaignItem, Carrier, Event, Incident, Person, PersonRecord
from tracker.store import UnitOfWork

OFFICER, CLERK = "security_officer", "clerk"


@dataclass(frozen=True, slots=True)
class Duty:
    """One duty: `due` is when it must be done; `late_since` is set (to `due`) once that moment has passed.
    `responsible` is a role (`security_officer`, `clerk`) or `person`; `person` names the one who must act
    when it is one person (a holder, someone whose pledge is due)."""

    kind: str
    rule: str
    due: datetime
    responsible: str
    person: str | None
    subject: str | None
    en: str
    zh: str
    late_since: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["due"] = self.due.isoformat()
        d["late_since"] = self.late_since.isoformat() if self.late_since else None
        return d


KIND_ZH = {
    "return_overdue": "逾期未还", "return_today": "当日应还", "return_due": "到期归还", "stocktake": "季度清查",
    "clear_back": "定期清退", "year_end": "年终收缴", "secrecy_review": "保密期限届满审核", "vetting": "上岗审查",
    "training": "保密培训", "exam": "保密考试", "pledge": "保密责任状", "cooling_off": "脱密期",
    "cooling_off_end": "脱密期届满", "incident": "事件处置", "campaign": "清退截止", "transit": "传递",
}

# (uow, at, until) -> duties: the window is (-inf, until]; `at` decides what is late.
Source = Callable[[UnitOfWork, datetime, datetime], Iterable[Duty]]
_SOURCES: list[Source] = []


def add_source(source: Source) -> Source:
    """Register another feature's duties (e.g. transits due); usable as a decorator."""
    _SOURCES.append(source)
    return source


def compute(uow: UnitOfWork, at: datetime | None = None, days: int = 7,
            sources: Iterable[Source] | None = None) -> list[Duty]:
    """Every duty due by the end of the local day `days` after `at` (everything late included; `days=0` is today),
    ordered by due moment. An open incident and a 脱密期 still running are listed whatever their dates: the
    incident is worked now (R-154), and the person in the 脱密期 holds no clearance. `sources` limits the
    computation to some duties (the alerts read only the register-wide ones)."""
    now = at or uow.now()
    last = (now.astimezone(uow.policy.tz) + timedelta(days=days)).date()
    until = datetime.combine(last, time(23, 59, 59), uow.policy.tz)
    out = [d for source in (_SOURCES if sources is None else sources) for d in source(uow, now, until)]
    out = [d if d.due >= now else _late(d) for d in out]
    return sorted(out, key=lambda d: (d.due, d.kind, d.subject or ""))


def _late(d: Duty) -> Duty:
    return Duty(d.kind, d.rule, d.due, d.responsible, d.person, d.subject, d.en, d.zh, d.due)


def _end_of(day: date, uow: UnitOfWork) -> datetime:
    return datetime.combine(day, uow.policy.end_of_day, uow.policy.tz)


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _when(uow: UnitOfWork, moment: datetime) -> str:
    return local_text(moment, uow.policy.tz)


# --- returns (R-58, R-65, R-59) -------------------------------------------------------------------------------------

@add_source
def returns_due(uow: UnitOfWork, at: datetime, until: datetime) -> Iterator[Duty]:
    tz = uow.policy.tz
    rows = uow.session.execute(
        select(Carrier.code, Carrier.classification, Carrier.due_at, Person.badge, Person.name)
        .join(Person, Person.id == Carrier.holder_id)
        .where(Carrier.status.in_([s.value for s in CarrierStatus if s.with_holder]), Carrier.due_at <= until)
        .order_by(Carrier.due_at)).all()
    today = at.astimezone(tz).date()
    for code, level, due, badge, name in rows:
        assert due is not None
        when = _when(uow, due)
        ts = level == Classification.TOP_SECRET.value
        if due < at:
            yield Duty("return_overdue", "R-59" if ts else "R-65", due, "person", badge, code,
                       f"{code} with {badge} {name} was due back {when}.",
                       f"{code} 由 {badge} {name} 持有，应于 {when} 归还，已逾期。")
        else:
            kind = "return_today" if due.astimezone(tz).date() == today else "return_due"
            yield Duty(kind, "R-65", due, "person", badge, code, f"{code} with {badge} {name} is due back {when}.",
                       f"{code} 由 {badge} {name} 持有，应于 {when} 归还。")


# --- 清查, clear-back and year-end collection (R-133) --------------------------------------

def _founded(uow: UnitOfWork) -> datetime | None:
    """The register's start: its first person (the packaged policy may be seeded into an empty schema earlier)."""
    first = uow.session.execute(select(func.min(Event.at)).where(Event.type == EventType.PERSON_ADDED.value)
                                ).scalar_one_or_none()
    return datetime.fromisoformat(first.replace("Z", "+00:00")) if first else None


@add_source
def stocktake_due(uow: UnitOfWork, at: datetime, until: datetime) -> Iterator[Duty]:
    from tracker.schema_stocktake import StocktakeSession

    last = uow.session.execute(select(func.max(StocktakeSession.closed_at))
                               .where(StocktakeSession.status == "closed")).scalar_one_or_none()
    since = last or _founded(uow)
    if since is None:
        return
    due = _end_of(_add_months(since.astimezone(uow.policy.tz).date(), 3), uow)
    if due <= until:
        basis_en = f"the last closed stock-take ({_when(uow, last)})" if last else "the register's start"
        basis_zh = f"上次清查（{_when(uow, last)}）" if last else "登记库启用"
        yield Duty("stocktake", "R-131", due, OFFICER, None, None,
                   f"Quarterly 清查 of every carrier against the register, three months after {basis_en}.",
                   f"季度清查：自{basis_zh}起三个月内逐件核对全部载体。")


def _deadlines(uow: UnitOfWork, at: datetime, until: datetime, months: tuple[int, ...]) -> list[datetime]:
    """Month-end deadlines from a year before `at` up to `until`."""
    out = []
    for year in range(at.year - 1, until.year + 1):
        for m in months:
            due = _end_of(date(year, m, calendar.monthrange(year, m)[1]), uow)
            if at - timedelta(days=366) <= due <= until:
                out.append(due)
    return out


@add_source
def clear_back_due(uow: UnitOfWork, at: datetime, until: datetime) -> Iterator[Duty]:
    founded = _founded(uow)
    closed = uow.session.execute(select(Campaign.kind, Campaign.created_at).where(Campaign.status == "closed")).all()
    for due in _deadlines(uow, at, until, (6, 12)):
        previous = _end_of(_add_months(due.astimezone(uow.policy.tz).date(), -6), uow)
        if founded is not None and due - founded < timedelta(days=31):
            continue  # a register opened in the last month of a half-year has nothing of that half to clear back
        if any(created > previous for _k, created in closed):
            continue
        day = f"{due.astimezone(uow.policy.tz):%Y-%m-%d}"
        yield Duty("clear_back", "R-130", due, OFFICER, None, day,
                   f"Clear back ordinary classified documents (other than 绝密) to the registry by {day}: open a "
                   "campaign (tracker campaign new) and close it.",
                   f"{day} 前清退一般涉密文件（绝密除外）：发起清退（tracker campaign new）并办结。")
    for due in _deadlines(uow, at, until, (12,)):
        year = due.astimezone(uow.policy.tz).year
        start = datetime.combine(date(year, 1, 1), time(0), uow.policy.tz)
        if founded is not None and due - founded < timedelta(days=31):
            continue
        if any(k == "year_end" and created >= start for k, created in closed):
            continue
        yield Duty("year_end", "R-133", due, OFFICER, None, str(year),
                   f"Year-end collection {year}: every carrier on loan or held in departments handed in "
                   "(tracker campaign new --year-end).",
                   f"{year}年年终收缴：借出及部门持有的载体全部收回（tracker campaign new --year-end）。")


# --- secrecy periods (R-12, §5 Q14) ------------------------------------------------------------------------------

def period_end(period: str | None, registered: datetime, tz: Any) -> date | None:
    """The last day of a secrecy period, counted from registration (the register's record of 定密); None for 长期."""
    try:
        p = SecrecyPeriod.parse(period)
    except DomainError:
        return None
    if p is None or p.long_term:
        return None
    if p.until is not None:
        return p.until
    assert p.years is not None
    start = registered.astimezone(tz).date()
    return _add_months(start, 12 * p.years)


@add_source
def secrecy_due(uow: UnitOfWork, at: datetime, until: datetime) -> Iterator[Duty]:
    tz = uow.policy.tz
    gone = [s.value for s in CarrierStatus if s.gone]
    rows = uow.session.execute(
        select(Carrier.code, Carrier.classification, Carrier.period, Carrier.registered_at)
        .where(Carrier.period.is_not(None), Carrier.status.not_in(gone),
               Carrier.classification.in_([c.value for c in Classification if c.is_secret_level]))).all()
    horizon = until.astimezone(tz).date()
    for code, level, period, registered in rows:
        end = period_end(period, registered, tz)
        if end is None or end > horizon:
            continue
        due = _end_of(end, uow)
        lv = Classification(level)
        yield Duty("secrecy_review", "R-12", due, OFFICER, None, code,
                   f"The secrecy period of {code} ({lv.label}, {period}) ends {end.isoformat()}: review it — "
                   "declassify, extend or keep, as a recorded 定密 act; never automatic.",
                   f"{code}（{lv.zh}，{period}）保密期限于 {end.isoformat()} 届满：请审核解密、延期或维持，"
                   "须作定密记录，不得自动解密。")


# --- people (R-161, R-163, R-166, R-167) -----------------------------------------------------------------------------

def _people(uow: UnitOfWork) -> list[tuple[int, str, str, datetime | None]]:
    """Active cleared people: id, badge, name, when they were added (their first ledger event)."""
    added = dict(uow.session.execute(select(Event.to_holder, func.min(Event.at))
                                     .where(Event.type == EventType.PERSON_ADDED.value)
                                     .group_by(Event.to_holder)).all())
    rows = uow.session.execute(select(Person.id, Person.badge, Person.name)
                               .where(Person.status == PersonStatus.ACTIVE.value,
                                      Person.clearance != Clearance.NONE.value).order_by(Person.badge)).all()
    return [(pid, badge, name, datetime.fromisoformat(added[badge].replace("Z", "+00:00")) if badge in added
             else None) for pid, badge, name in rows]


@add_source
def lifecycle_due(uow: UnitOfWork, at: datetime, until: datetime) -> Iterator[Duty]:
    tz = uow.policy.tz
    records: dict[int, list[tuple[str, datetime, str | None]]] = {}
    for pid, kind, on, result in uow.session.execute(select(PersonRecord.person_id, PersonRecord.kind,
                                                            PersonRecord.on, PersonRecord.result)):
        records.setdefault(pid, []).append((kind, on, result))
    for pid, badge, name, added in _people(uow):
        mine = records.get(pid, [])
        start = added or at
        if not any(k == "vetting" for k, _o, r in mine):
            yield Duty("vetting", "R-161", start, OFFICER, badge, badge,
                       f"{badge} {name} holds a clearance with no vetting on record (审查, before the post).",
                       f"{badge} {name} 已定涉密等级，但无上岗审查记录。")
        pledges = [o for k, o, _r in mine if k == "pledge"]
        due = _end_of(_add_months(max(pledges).astimezone(tz).date(), 12), uow) if pledges else start
        if due <= until:
            yield Duty("pledge", "R-163", due, OFFICER, badge, badge,
                       f"{badge} {name} signs the yearly secrecy pledge (保密责任状).",
                       f"{badge} {name} 须签订年度保密责任状。")
        for year in range(at.astimezone(tz).year - 1, until.astimezone(tz).year + 1):
            deadline = _end_of(date(year, 12, 31), uow)
            if deadline > until or deadline < at - timedelta(days=366) or (added is not None and deadline < added):
                continue
            in_year = [(k, r) for k, o, r in mine if o.astimezone(tz).year == year]
            trained = sum(1 for k, _r in in_year if k == "training")
            if trained < 2:
                yield Duty("training", "R-163", deadline, OFFICER, badge, badge,
                           f"{badge} {name}: {trained} of the 2 secrecy trainings of {year} attended.",
                           f"{badge} {name}：{year}年保密培训已参加 {trained} 次，须至少 2 次。")
            if not any(k == "exam" and r == "passed" for k, r in in_year):
                yield Duty("exam", "R-163", deadline, OFFICER, badge, badge,
                           f"{badge} {name}: no passed secrecy exam in {year}.",
                           f"{badge} {name}：{year}年尚无合格的保密考试记录。")
    rows = uow.session.execute(select(Person.badge, Person.name, Person.cooling_off_until)
                               .where(Person.cooling_off_until.is_not(None))).all()
    for badge, name, end in rows:
        assert end is not None
        day = f"{end.astimezone(tz):%Y-%m-%d}"
        if end > until:
            yield Duty("cooling_off", "R-167", end, OFFICER, badge, badge,
                       f"{badge} {name} is in the 脱密期 until {day}: no clearance, no carriers, no trips abroad "
                       "without approval (R-168).",
                       f"{badge} {name} 处于脱密期，至 {day} 止：无涉密资格，不得接触载体，出境须经批准。")
        elif end >= at - timedelta(days=31):
            yield Duty("cooling_off_end", "R-166", end, OFFICER, badge, badge,
                       f"The 脱密期 of {badge} {name} ends {day}: note it in the personnel file.",
                       f"{badge} {name} 的脱密期于 {day} 届满：请在人事档案中注明。")


# --- incidents and campaigns ---------------------------------------------------------------------------

@add_source
def incidents_due(uow: UnitOfWork, at: datetime, until: datetime) -> Iterator[Duty]:
    for i in uow.session.execute(select(Incident).where(Incident.status == "open").order_by(Incident.id)).scalars():
        due = i.deadline or i.opened_at  # listed whatever the window: an open incident is worked now
        limit = _when(uow, i.deadline) if i.deadline else "-"
        yield Duty("incident", "R-155" if i.deadline else "R-154", due, OFFICER, None, f"#{i.id}",
                   f"Incident #{i.id} ({i.kind}) open: {i.summary} (leak-incident deadline {limit}).",
                   f"事件 #{i.id}（{i.kind}）未结：{i.summary}（泄密事件期限 {limit}）。")


@add_source
def campaigns_due(uow: UnitOfWork, at: datetime, until: datetime) -> Iterator[Duty]:
    waiting = dict(uow.session.execute(
        select(CampaignItem.campaign_id, func.count()).where(CampaignItem.returned_at.is_(None),
                                                             CampaignItem.verified_at.is_(None))
        .group_by(CampaignItem.campaign_id)).all())
    for c in uow.session.execute(select(Campaign).where(Campaign.status == "open", Campaign.due_at <= until)
                                 .order_by(Campaign.due_at)).scalars():
        n = waiting.get(c.id, 0)
        yield Duty("campaign", "R-130", c.due_at, OFFICER, None, f"#{c.id}",
                   f"Campaign #{c.id} {c.name}: {n} carrier(s) still out; due {_when(uow, c.due_at)}, then close it "
                   "and sign its report.",
                   f"清退 #{c.id} {c.name}：尚有 {n} 件未收回；截止 {_when(uow, c.due_at)}，届时办结并签署报告。")
