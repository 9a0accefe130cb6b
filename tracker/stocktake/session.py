"""A stock-take session (清查, RULES §3, R-131, §5 Q6): starting one, its team, the frozen scope, RFID bindings.

`start` freezes the expected snapshot of a scope (places under the given roots, optionally only some levels, plus
carriers on loan to people of the scope's units) and records who walks it, after `check_team` (a pure rules check:
at least `min_team` different active people, none of them the places' custodian unless configured, each cleared for
the highest level in scope). `bind` ties an RFID batch (device, batch, antenna) to a place of the scope. It owns the
session row and its scope; it must never store a read, write a finding, or change custody.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, text

from tracker.domain import CarrierStatus, Classification, Clearance, DomainError, EventType, PersonStatus, Role
from tracker.epc_scope import company_prefixes
from tracker.ledger import EventDraft
from tracker.rules import Action, Violation
from tracker.schema import Person
from tracker.schema_stocktake import (
    StocktakeBinding,
    StocktakeScope,
    StocktakeSession,
    StocktakeTeamMember,
)
from tracker.services.common import NotFound, Signed, actor_facts, badge_of, get_location, get_person, refuse
from tracker.stocktake.kinds import Tuning
from tracker.stocktake.parts import analyze
from tracker.store import UnitOfWork
from tracker.text import check_fields


def _err(en: str, zh: str) -> DomainError:
    return DomainError(en, zh)


RULE = "R-131"  # periodic 清查 against the register


@dataclass(frozen=True)
class StocktakeConfig:
    """Team rules and placement tuning; the defaults follow RULES §5 Q6 and the issue."""

    min_team: int = 2
    custodian_in_team: bool = False
    tuning: Tuning = field(default_factory=Tuning)


@dataclass(frozen=True)
class TeamFacts:
    badge: str
    unit: str
    clearance_ok: bool
    active: bool


def check_team(team: Sequence[TeamFacts], custodians: set[str], config: StocktakeConfig,
               top_level: Classification | None) -> list[Violation]:
    """A stock-take team is at least `min_team` different active people, none of them the places' custodian
    (unless configured), each cleared for the highest level they will see."""
    out: list[Violation] = []
    badges = [m.badge for m in team]
    if len(set(badges)) != len(badges):
        out.append(Violation(RULE, "A team member is named twice.", "清查小组成员重复。"))
    if len(set(badges)) < config.min_team:
        out.append(Violation(RULE, f"A stock-take team has at least {config.min_team} people; "
                                   f"{len(set(badges))} given.",
                             f"清查小组至少须有 {config.min_team} 人，当前 {len(set(badges))} 人。"))
    if not config.custodian_in_team:
        for m in team:
            if m.badge in custodians:
                out.append(Violation(RULE, f"{m.badge} is a custodian of these places and may not check them "
                                           "(a custodian does not audit their own custody).",
                                     f"{m.badge} 是这些位置的保管人，不得参加对本人保管载体的清查。"))
    for m in team:
        if not m.active:
            out.append(Violation("R-140", f"{m.badge} is not active and cannot join a stock-take team.",
                                 f"{m.badge} 非在岗状态，不能参加清查。"))
        if not m.clearance_ok and top_level is not None:
            out.append(Violation("R-159", f"{m.badge} is not cleared for {top_level.label}, the highest level "
                                          "in this scope.",
                                 f"{m.badge} 的涉密等级不足以接触本次清查范围内的{top_level.zh}载体。"))
    return out


def _session(uow: UnitOfWork, sid: int, lock: bool = False, open_only: bool = True) -> StocktakeSession:
    q = select(StocktakeSession).where(StocktakeSession.id == sid)
    if lock:
        q = q.with_for_update()
    st = uow.session.execute(q.execution_options(populate_existing=True)).scalar_one_or_none()
    if st is None:
        raise NotFound(f"No stock-take #{sid}.", f"没有编号为 #{sid} 的清查。")
    if open_only and st.status != "open":
        raise _err(f"Stock-take #{sid} is closed; nothing can be added or changed.",
                   f"清查 #{sid} 已结束，不能再添加或更改。")
    return st


def tuning_of(st: StocktakeSession) -> Tuning:
    return Tuning(st.clone_window_s, st.rssi_margin_db, st.count_ratio, st.company_prefix, st.gid_manager)


def start(uow: UnitOfWork, actor: Signed, name: str, roots: Sequence[str], team: Sequence[Signed | str],
          levels: Sequence[str] | None = None, units: Sequence[str] | None = None,
          custodians: Sequence[str] | None = None, config: StocktakeConfig | None = None) -> int:
    """Freeze the expected snapshot of the scope and record the team; returns the session id."""
    cfg = config or StocktakeConfig()
    with uow:
        actor_facts(uow, actor, Action.STOCKTAKE)
        check_fields([("name", name), *(("unit", u) for u in units or ())])
        now = uow.now()
        if not roots:
            raise _err("Name at least one location for the scope.", "请至少指定一个清查位置。")
        t = cfg.tuning
        if t.clone_window_s < 0 or t.rssi_margin_db < 0 or t.count_ratio < 1 or cfg.min_team < 1:
            raise _err("Tuning out of range: clone window and RSSI margin are 0 or more, the count ratio 1 or more, "
                       "the team at least 1.",
                       "参数超出范围：克隆时间窗和RSSI余量不小于0，计数比不小于1，小组至少1人。")
        root_rows = [get_location(uow, code) for code in roots]
        own = company_prefixes(uow)
        asked = (cfg.tuning.company_prefix or "").strip()
        if asked and asked not in own:
            shown = ", ".join(own) or "none"
            raise _err(f"{asked} is not one of the register's GS1 company prefixes ({shown}): tags under it are "
                       "not ours.",
                       f"{asked} 不是登记库的 GS1 厂商识别代码（{shown}），该代码下的标签不属于本单位。")
        prefix = asked or ",".join(own) or None
        try:
            level_set = sorted({Classification.parse(lv) for lv in levels or []}, key=lambda lv: -lv.rank)
        except DomainError as e:
            raise _err(e.en, e.zh) from e
        st = StocktakeSession(
            name=name.strip() or f"stock-take {now:%Y-%m-%d}", status="open",
            roots=";".join(r.code for r in root_rows), levels=",".join(lv.value for lv in level_set) or None,
            created_at=now, created_by=actor.badge, clone_window_s=cfg.tuning.clone_window_s,
            rssi_margin_db=cfg.tuning.rssi_margin_db, count_ratio=cfg.tuning.count_ratio,
            company_prefix=prefix, gid_manager=cfg.tuning.gid_manager, expected_count=0,
        )
        uow.session.add(st)
        uow.session.flush()
        sid = st.id
        _freeze_scope(uow, sid, [r.id for r in root_rows])
        analyze(uow.session, "stocktake_scope")
        scope_units = set(units or []) | set(uow.session.execute(text(
            "SELECT DISTINCT l.unit FROM stocktake_scope s JOIN locations l ON l.id = s.location_id "
            "WHERE s.session_id = :s AND l.unit IS NOT NULL"), {"s": sid}).scalars())
        st.units = ";".join(sorted(scope_units))
        expected = _freeze_expected(uow, sid, level_set, sorted(scope_units))
        analyze(uow.session, "stocktake_expected")
        st.expected_count = expected
        members = [get_person(uow, badge_of(m)) for m in team]
        top = _top_level(uow, sid)
        custodian_badges = set(custodians or []) | _default_custodians(uow, sid)
        refuse(check_team([TeamFacts(p.badge, p.unit, top is None or _cleared(p, top),
                                     p.status == PersonStatus.ACTIVE.value) for p in members],
                          custodian_badges, cfg, top), "stocktake_start", None, actor.badge)
        for m, p in zip(team, members, strict=True):
            uow.session.add(StocktakeTeamMember(session_id=sid, badge=p.badge, name=p.name, unit=p.unit,
                                                signed_at=m.at if isinstance(m, Signed) else None))
        head_seq, head_hash = uow.ledger.head()
        ev = uow.ledger.append(EventDraft(
            EventType.STOCKTAKE_STARTED, actor=actor.badge,
            payload={"stocktake": sid, "name": st.name, "roots": st.roots, "levels": st.levels, "units": st.units,
                     "team": [p.badge for p in members], "expected": expected,
                     "ledger_head": [head_seq, head_hash]}), now)
        st.start_seq, st.start_head = ev.seq, head_hash
        uow.commit()
        return sid


def _cleared(p: Person, level: Classification) -> bool:
    return Clearance(p.clearance).may_hold(level)


def _top_level(uow: UnitOfWork, sid: int) -> Classification | None:
    levels = uow.session.execute(text(
        "SELECT DISTINCT classification FROM stocktake_expected WHERE session_id = :s"), {"s": sid}).scalars().all()
    known = [Classification(lv) for lv in levels]
    return max(known, key=lambda lv: lv.rank) if known else None


def _default_custodians(uow: UnitOfWork, sid: int) -> set[str]:
    """The registry clerks of the units that own places in the scope keep those places (专人保管, R-42)."""
    rows = uow.session.execute(text(
        "SELECT p.badge, p.roles FROM people p WHERE p.unit IN (SELECT DISTINCT l.unit FROM stocktake_scope s "
        "JOIN locations l ON l.id = s.location_id WHERE s.session_id = :s AND l.unit IS NOT NULL)"), {"s": sid}).all()
    return {str(b) for b, roles in rows if Role.CLERK.value in str(roles).split(",")}


def _freeze_scope(uow: UnitOfWork, sid: int, root_ids: list[int]) -> None:
    uow.session.execute(text(
        "INSERT INTO stocktake_scope (session_id, location_id, code, name, parent_id, covered, visited) "
        "WITH RECURSIVE sub(id) AS (SELECT id FROM locations WHERE id IN :roots "
        "  UNION SELECT l.id FROM locations l JOIN sub ON l.parent_id = sub.id) "
        "SELECT :s, l.id, l.code, l.name, l.parent_id, :f, :f FROM locations l WHERE l.id IN (SELECT id FROM sub)"
    ).bindparams(bindparam("roots", expanding=True)), {"s": sid, "roots": root_ids, "f": False})


def _freeze_expected(uow: UnitOfWork, sid: int, levels: list[Classification], units: list[str]) -> int:
    in_place = [s.value for s in CarrierStatus if s.in_place]
    with_holder = [s.value for s in CarrierStatus if s.with_holder]
    params: dict[str, Any] = {"s": sid, "in_place": in_place, "with_holder": with_holder,
                              "units": units, "levels": [lv.value for lv in levels]}
    binds: list[Any] = [bindparam("in_place", expanding=True)]
    if units:
        binds += [bindparam("with_holder", expanding=True), bindparam("units", expanding=True)]
    if levels:
        binds.append(bindparam("levels", expanding=True))
    # Fixed SQL text; the level filter is a bound parameter, never interpolated.
    level_sql = " AND c.classification IN :levels" if levels else ""
    sql = (
        "INSERT INTO stocktake_expected (session_id, carrier_id, code, classification, status, loc_id, holder_id) "  # noqa: S608
        "SELECT :s, c.id, c.code, c.classification, c.status, c.location_id, NULL FROM carriers c "
        "WHERE c.status IN :in_place AND c.location_id IN "
        "(SELECT location_id FROM stocktake_scope WHERE session_id = :s)" f"{level_sql}"
    )
    if units:
        sql += (" UNION ALL "  # noqa: S608 (fixed SQL; parameters are bound)
                "SELECT :s, c.id, c.code, c.classification, c.status, NULL, c.holder_id FROM carriers c "
                "JOIN people p ON p.id = c.holder_id WHERE c.status IN :with_holder AND p.unit IN :units"
                f"{level_sql}")
    else:
        del params["with_holder"], params["units"]
    result = uow.session.execute(text(sql).bindparams(*binds), params)
    return int(getattr(result, "rowcount", 0) or 0)


def bind(uow: UnitOfWork, actor: Signed, sid: int, device: str, batch: str, location: str,
         antenna: int = 0) -> None:
    """Bind an RFID read session (a device's batch, or one antenna of it) to the place it was read in."""
    with uow:
        actor_facts(uow, actor, Action.STOCKTAKE)
        _session(uow, sid)
        loc = _scope_location(uow, sid, location)
        existing = uow.session.get(StocktakeBinding, (sid, device, batch, antenna))
        if existing is not None and existing.loc_id != loc:
            raise _err(f"{device}/{batch} antenna {antenna or 'all'} is already bound to another place; "
                       "use a new batch id for a new place.",
                       f"{device}/{batch} 天线 {antenna or '全部'} 已绑定其他位置，新位置请使用新的批次号。")
        if existing is None:
            uow.session.add(StocktakeBinding(session_id=sid, device=device, batch=batch, antenna=antenna,
                                             loc_id=loc, bound_by=actor.badge, bound_at=uow.now()))
        uow.commit()


def _scope_location(uow: UnitOfWork, sid: int, code: str) -> int:
    row = uow.session.execute(select(StocktakeScope.location_id).where(
        StocktakeScope.session_id == sid, StocktakeScope.code == code.strip().upper())).scalar_one_or_none()
    if row is None:
        get_location(uow, code)  # unknown place → NotFound with its own message
        raise _err(f"{code} is outside the scope of stock-take #{sid}.", f"{code} 不在清查 #{sid} 的范围内。")
    return int(row)


def list_sessions(uow: UnitOfWork) -> list[tuple[int, str, str, datetime, int]]:
    with uow:
        return [(s.id, s.name, s.status, s.created_at, s.expected_count) for s in uow.session.execute(
            select(StocktakeSession).order_by(StocktakeSession.id)).scalars()]
