"""What a stock-take stands at and how its findings are settled: per-place progress, the findings list, resolving a
finding with a reason, and the session summary screens and reports show.

Each finding is resolved through the existing services (move, check-in, report missing, register, found) inside one
transaction together with one STOCKTAKE_RESOLVED event. It only reads, except `resolve`; it must never reconcile,
never change custody except through those services, and never write a read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy import bindparam, func, select, text

from labels.codes import classify_code
from tracker.domain import DomainError, EventType
from tracker.ledger import EventDraft
from tracker.rules import Action
from tracker.schema import Location
from tracker.schema_stocktake import (
    StocktakeFinding,
    StocktakeRead,
    StocktakeResolution,
    StocktakeScope,
    StocktakeSession,
    StocktakeTeamMember,
)
from tracker.services import circulation, incidents, registry
from tracker.services.common import NotFound, Signed, actor_facts
from tracker.stocktake.kinds import ALLOWED, CLOSE_LOAN, FOUND, REGISTER, RELOCATE, REPORT_MISSING, FindingKind
from tracker.stocktake.session import _session
from tracker.store import UnitOfWork
from tracker.text import NOTE_LIMIT, clean


def _err(en: str, zh: str) -> DomainError:
    return DomainError(en, zh)


@dataclass(frozen=True)
class LocationProgress:
    code: str
    name: str
    visited: bool
    covered: bool
    expected: int
    seen: int
    missing: int
    misplaced: int
    not_covered: int
    unexplained: int


_SEEN = ("found", "misplaced", "ambiguous", "loan_not_closed")


EXPECTED_KINDS = (*_SEEN, "missing", "not_covered")


def progress(uow: UnitOfWork, sid: int) -> list[LocationProgress]:
    """Per place of the scope (and one line for carriers with holders): expected, seen, missing — from the last
    reconciliation."""
    with uow:
        st = _session(uow, sid, open_only=False)
        rows = uow.session.execute(text(
            "SELECT expected_loc_id, kind, COUNT(*) FROM stocktake_findings WHERE session_id = :s "
            "AND kind IN :kinds GROUP BY expected_loc_id, kind").bindparams(bindparam("kinds", expanding=True)),
            {"s": sid, "kinds": list(EXPECTED_KINDS)}).all()
        extra: dict[int | None, int] = dict(uow.session.execute(text(
            "SELECT seen_loc_id, COUNT(*) FROM stocktake_findings WHERE session_id = :s AND kind IN "
            "('unknown_code', 'outside_scope', 'gone_seen', 'missing_seen') GROUP BY seen_loc_id"),
            {"s": sid}).all())
        places = uow.session.execute(select(StocktakeScope).where(StocktakeScope.session_id == sid)
                                     .order_by(StocktakeScope.code)).scalars().all()
        counts: dict[int | None, dict[str, int]] = {}
        for loc, kind, n in rows:
            counts.setdefault(loc, {})[str(kind)] = int(n)
        for loc, n in _found_counts(uow, st).items():
            per = counts.setdefault(loc, {})
            per["found"] = per.get("found", 0) + n
        out = []
        for p in places:
            c = counts.get(p.location_id, {})
            out.append(_progress_line(p.code, p.name, p.visited, p.covered, c, int(extra.get(p.location_id, 0))))
        if None in counts:
            met = uow.session.execute(text(
                "SELECT 1 FROM stocktake_reads WHERE session_id = :s AND kind = 'badge' LIMIT 1"), {"s": sid}).first()
            out.append(_progress_line("(holders)", "借出在人员手中 / with holders", met is not None, met is not None,
                                      counts[None], 0))
        return out


def _progress_line(code: str, name: str, visited: bool, covered: bool, c: dict[str, int],
                   extra: int) -> LocationProgress:
    expected = sum(c.values())
    return LocationProgress(code, name, bool(visited), bool(covered), expected, sum(c.get(k, 0) for k in _SEEN),
                            c.get("missing", 0), c.get("misplaced", 0), c.get("not_covered", 0), extra)


@dataclass(frozen=True)
class FindingView:
    kind: FindingKind
    subject: str
    classification: str | None
    expected: str | None  # location code or holder badge
    seen: str | None
    method: str | None
    reads: int
    peak_rssi: float | None
    detail: str
    action: str | None = None
    reason: str | None = None
    resolved_by: str | None = None
    event_seq: int | None = None
    settled: bool = False  # no longer produced by the reconciliation: its resolution explained it

    @property
    def resolved(self) -> bool:
        return self.kind is FindingKind.FOUND or self.action is not None


def findings(uow: UnitOfWork, sid: int, kinds: Sequence[FindingKind] | None = None,
             unresolved_only: bool = False, limit: int | None = None) -> list[FindingView]:
    with uow:
        _session(uow, sid, open_only=False)
        return _findings(uow, sid, kinds, unresolved_only, limit)


# The snapshot carriers found exactly as expected by people's scans, the bulk of a stock-take, have no row of their
# own: a reconciliation gives every other snapshot carrier a finding, so these are the snapshot carriers without one,
# once the session has been reconciled. `stocktake_found` keeps the read count of those read more than once.
_RECONCILED = "EXISTS (SELECT 1 FROM stocktake_sessions ss WHERE ss.id = :s AND ss.reconciled_at IS NOT NULL)"


_WITH_FINDING = ("(SELECT DISTINCT carrier_id FROM stocktake_findings WHERE session_id = :s "
                 "AND carrier_id IS NOT NULL)")


# The snapshot carriers (e) that have a finding.
_EXPECTED_WITH_FINDING = (f"{_WITH_FINDING} x JOIN stocktake_expected e "
                          "ON e.session_id = :s AND e.carrier_id = x.carrier_id")


# Every finding of session :s in one row shape: the findings table, and the carriers found as expected.
_ALL_FINDINGS = (
    "(SELECT session_id, kind, subject, classification, expected_loc_id, "  # noqa: S608 (module constants only)
    "expected_holder_id, seen_loc_id, seen_holder_id, method, reads, peak_rssi, detail "
    "FROM stocktake_findings WHERE session_id = :s "
    "UNION ALL SELECT e.session_id, 'found', e.code, e.classification, e.loc_id, e.holder_id, e.loc_id, "
    "e.holder_id, 'scan', COALESCE(fd.reads, 1), NULL, '' FROM stocktake_expected e "
    f"LEFT JOIN {_WITH_FINDING} x ON x.carrier_id = e.carrier_id "
    "LEFT JOIN stocktake_found fd ON fd.session_id = e.session_id AND fd.carrier_id = e.carrier_id "
    f"WHERE e.session_id = :s AND x.carrier_id IS NULL AND {_RECONCILED})")


def _found_counts(uow: UnitOfWork, st: StocktakeSession) -> dict[int | None, int]:
    """Carriers found as expected, per expected place (None: with holders): the snapshot's carriers there, less
    those with a finding — two small GROUP BYs, not a probe per snapshot carrier."""
    if st.reconciled_at is None:
        return {}
    sid = st.id
    out: dict[int | None, int] = {loc: int(n) for loc, n in uow.session.execute(text(
        "SELECT loc_id, COUNT(*) FROM stocktake_expected WHERE session_id = :s GROUP BY loc_id"), {"s": sid})}
    for loc, n in uow.session.execute(text(
            f"SELECT e.loc_id, COUNT(*) FROM {_EXPECTED_WITH_FINDING} GROUP BY e.loc_id"), {"s": sid}):  # noqa: S608
        out[loc] -= int(n)
    return {loc: n for loc, n in out.items() if n}


def _found_total(uow: UnitOfWork, st: StocktakeSession) -> int:
    """Carriers found as expected: the snapshot's size less its carriers with a finding."""
    if st.reconciled_at is None:
        return 0
    return st.expected_count - int(uow.session.execute(text(
        f"SELECT COUNT(*) FROM {_EXPECTED_WITH_FINDING}"), {"s": st.id}).scalar_one())  # noqa: S608 (constants)


def _findings(uow: UnitOfWork, sid: int, kinds: Sequence[FindingKind] | None, unresolved_only: bool,
              limit: int | None) -> list[FindingView]:
    with_found = not unresolved_only and (not kinds or FindingKind.FOUND in kinds)
    sql = (
        "SELECT f.kind, f.subject, f.classification, el.code, eh.badge, sl.code, sh.badge, f.method, f.reads, "  # noqa: S608 (module constants only)
        "f.peak_rssi, f.detail, r.action, r.reason, r.actor, r.event_seq "
        f"FROM {_ALL_FINDINGS if with_found else 'stocktake_findings'} f "
        "LEFT JOIN locations el ON el.id = f.expected_loc_id LEFT JOIN people eh ON eh.id = f.expected_holder_id "
        "LEFT JOIN locations sl ON sl.id = f.seen_loc_id LEFT JOIN people sh ON sh.id = f.seen_holder_id "
        "LEFT JOIN stocktake_resolutions r ON r.session_id = f.session_id AND r.kind = f.kind "
        "AND r.subject = f.subject WHERE f.session_id = :s")
    params: dict[str, Any] = {"s": sid}
    stmt_binds: list[Any] = []
    if kinds:
        sql += " AND f.kind IN :kinds"
        params["kinds"] = [k.value for k in kinds]
        stmt_binds.append(bindparam("kinds", expanding=True))
    if unresolved_only:
        sql += " AND f.kind <> 'found' AND r.action IS NULL"
    sql += " ORDER BY COALESCE(el.code, eh.badge, sl.code, ''), f.kind, f.subject"
    if limit:
        sql += f" LIMIT {int(limit)}"
    out = []
    for row in uow.session.execute(text(sql).bindparams(*stmt_binds), params):
        out.append(FindingView(FindingKind(row[0]), row[1], row[2], row[3] or row[4], row[5] or row[6], row[7],
                               int(row[8] or 0), row[9], row[10] or "", row[11], row[12], row[13], row[14]))
    if not unresolved_only and (limit is None or len(out) < limit):
        out += _settled(uow, sid, kinds)
    return out


def _settled(uow: UnitOfWork, sid: int, kinds: Sequence[FindingKind] | None) -> list[FindingView]:
    """Resolutions whose finding the latest reconciliation no longer produces, because the resolution itself
    explained it (an unknown item now registered where it was seen, a carrier moved into the scope): they stay in
    every listing and report."""
    rows = uow.session.execute(text(
        "SELECT r.kind, r.subject, c.classification, r.target, r.action, r.reason, r.actor, r.event_seq "
        "FROM stocktake_resolutions r LEFT JOIN carriers c ON c.code = r.subject "
        "WHERE r.session_id = :s AND NOT EXISTS (SELECT 1 FROM stocktake_findings f WHERE f.session_id = :s "
        "AND f.kind = r.kind AND f.subject = r.subject) ORDER BY r.event_seq"), {"s": sid}).all()
    wanted = set(kinds or FindingKind)
    return [FindingView(FindingKind(k), subj, level, None, target, None, 0,
                        None, "settled by its resolution / 已由处理消除", action, reason, actor, seq, settled=True)
            for k, subj, level, target, action, reason, actor, seq in rows if FindingKind(k) in wanted]


def _find(uow: UnitOfWork, sid: int, kind: FindingKind, subject: str) -> StocktakeFinding:
    f = uow.session.execute(select(StocktakeFinding).where(
        StocktakeFinding.session_id == sid, StocktakeFinding.subject == subject,
        StocktakeFinding.kind == kind.value)).scalars().first()
    if f is None:
        raise NotFound(f"Stock-take #{sid} has no {kind.en} finding for {subject} (reconcile first?).",
                       f"清查 #{sid} 中没有 {subject} 的“{kind.zh}”结果（请先核对）。")
    return f


class _Joined(UnitOfWork):
    """The caller's open unit of work handed to a service, so the service's change, the finding's resolution and
    its event land in one transaction: entering does not open a session, `commit` only flushes, and leaving never
    rolls back (the outer unit of work does that, and audits a refusal)."""

    def __init__(self, outer: UnitOfWork) -> None:
        super().__init__(outer.store)
        self.session = outer.session
        self.ledger = outer.ledger
        self._outer = outer

    def now(self) -> datetime:
        return self._outer.now()

    def __enter__(self) -> UnitOfWork:
        return self

    def commit(self) -> None:
        self.session.flush()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        return None


def _code_of(uow: UnitOfWork, table: type[Location], pk: int | None) -> str | None:
    obj = uow.session.get(table, pk) if pk is not None else None
    return None if obj is None else obj.code


def resolve(uow: UnitOfWork, actor: Signed, sid: int, kind: FindingKind | str, subject: str, action: str,
            reason: str, to_location: str | None = None,
            carrier: registry.CarrierInput | None = None) -> int:
    """Resolve one finding with a reason; returns the STOCKTAKE_RESOLVED event's sequence number."""
    k, act = FindingKind(kind), action.strip().lower()
    with uow:
        _prologue(uow, actor, sid, k, act, reason)
        seq = _resolve_in(uow, actor, sid, k, subject, act, reason, to_location, carrier)
        uow.commit()
        return seq


def resolve_many(uow: UnitOfWork, actor: Signed, sid: int, kind: FindingKind | str, action: str, reason: str,
                 place: str | None = None, subjects: Sequence[str] | None = None,
                 to_location: str | None = None) -> list[int]:
    """Resolve every unresolved finding of one kind with one reason — only those expected or seen at `place`, or only
    the `subjects` of a scanned list, when given — all or nothing: one transaction, one ledger event per finding.
    A stock-take with 63 carriers missing and 82 places not covered was 145 commands; it is now two. A listed
    subject that has no unresolved finding of that kind refuses the whole list, naming it (a mis-scan is not
    silently skipped). Registering unknown items needs each one's details and stays one at a time."""
    k, act = FindingKind(kind), action.strip().lower()
    with uow:
        _prologue(uow, actor, sid, k, act, reason)
        if act == REGISTER:
            raise _err("Register unknown items one at a time: each needs its own level, kind, period and scope.",
                       "未知载体须逐件登记：每件都须填写密级、类型、保密期限和知悉范围。")
        todo = _findings(uow, sid, [k], True, None)
        if place is not None:
            todo = [f for f in todo if place.strip().upper() in (f.expected, f.seen)]
        if subjects is not None:
            wanted = list(dict.fromkeys(s.strip().upper() for s in subjects if s.strip()))
            have = {f.subject for f in todo}
            stray = [s for s in wanted if s not in have]
            if stray:
                shown = ", ".join(stray[:10]) + (" …" if len(stray) > 10 else "")
                raise _err(f"No unresolved {k.en} finding for {shown}; nothing was resolved.",
                           f"{shown} 没有未处理的“{k.zh}”结果；未作任何处理。")
            todo = [f for f in todo if f.subject in set(wanted)]
        if not todo:
            raise _err(f"No unresolved {k.en} finding matches; nothing was resolved.",
                       f"没有符合条件的未处理“{k.zh}”结果；未作任何处理。")
        seqs = [_resolve_in(uow, actor, sid, k, f.subject, act, reason, to_location, None) for f in todo]
        uow.commit()
        return seqs


def _prologue(uow: UnitOfWork, actor: Signed, sid: int, k: FindingKind, act: str, reason: str) -> None:
    """What every resolution checks once: the actor's role, an open session (locked), a reason, an allowed action."""
    actor_facts(uow, actor, Action.STOCKTAKE)
    _session(uow, sid, lock=True)
    clean("reason", reason, limit=NOTE_LIMIT - 40)  # the moves and reports it makes carry "stock-take #n: "
    if not reason.strip():
        raise _err("Give the reason for the resolution.", "请填写处理理由。")
    if k is FindingKind.FOUND:
        raise _err("A carrier found as expected has nothing to resolve.", "账物相符，无需处理。")
    if act not in ALLOWED[k]:
        raise _err(f"A {k.en} finding is resolved by {' or '.join(ALLOWED[k])}, not {act!r}.",
                   f"“{k.zh}”只能以 {'、'.join(ALLOWED[k])} 处理，不能用 {act!r}。")


def _resolve_in(uow: UnitOfWork, actor: Signed, sid: int, k: FindingKind, subject: str, act: str, reason: str,
                to_location: str | None, carrier: registry.CarrierInput | None) -> int:
    """One finding's resolution inside the caller's transaction; returns its event's sequence number."""
    now = uow.now()
    f = _find(uow, sid, k, subject.strip().upper())
    done = uow.session.get(StocktakeResolution, (sid, k.value, f.subject))
    if done is not None:
        raise _err(f"{f.subject} ({k.en}) was already resolved by {done.actor}: {done.action}.",
                   f"{f.subject}（{k.zh}）已由 {done.actor} 处理：{done.action}。")
    seen_place = _code_of(uow, Location, f.seen_loc_id)
    note = f"stock-take #{sid}: {reason.strip()}"
    target: str | None = None
    inner = _Joined(uow)
    if act == RELOCATE:
        target = to_location or seen_place
        if target is None:
            raise _err(f"Say where {f.subject} goes (--to LOCATION).", f"请指定 {f.subject} 的新位置（--to）。")
        registry.move(inner, actor, f.subject, target, reason=note)
    elif act == CLOSE_LOAN:
        target = to_location or seen_place
        circulation.check_in(inner, actor, f.subject, to_location=target)
    elif act == REPORT_MISSING:
        incidents.report_missing(inner, actor, f.subject, note=note)
    elif act == FOUND:
        target = to_location or seen_place
        if target is None:
            raise _err(f"Say where {f.subject} was put (--to LOCATION).",
                       f"请指定 {f.subject} 的存放位置（--to）。")
        incidents.found(inner, actor, f.subject, target, note=note)
    elif act == REGISTER:
        if carrier is None:
            raise _err("Registering an unknown item needs its details (level, kind, period, scope, place).",
                       "登记未知载体须填写其密级、类型、保密期限、知悉范围和存放位置。")
        data = _unknown_input(f.subject, carrier, to_location or seen_place)
        target = registry.register(inner, actor, data, site=_site_of(f.subject, carrier))
    uow.session.add(StocktakeResolution(session_id=sid, kind=k.value, subject=f.subject, action=act,
                                        reason=reason.strip(), target=target, actor=actor.badge, at=now,
                                        event_seq=0))
    ev = uow.ledger.append(EventDraft(
        EventType.STOCKTAKE_RESOLVED, carrier=f.subject if f.carrier_id is not None or act == REGISTER else None,
        actor=actor.badge, to_location=target if act in (RELOCATE, CLOSE_LOAN, FOUND) else None,
        payload={"stocktake": sid, "finding": k.value, "subject": f.subject, "action": act,
                 "reason": reason.strip(), "target": target, "seen": seen_place,
                 "expected": _code_of(uow, Location, f.expected_loc_id)}), now)
    uow.session.flush()
    uow.session.execute(text("UPDATE stocktake_resolutions SET event_seq = :q WHERE session_id = :s "
                             "AND kind = :k AND subject = :subj"),
                        {"q": ev.seq, "s": sid, "k": k.value, "subj": f.subject})
    return ev.seq


def _unknown_input(subject: str, data: registry.CarrierInput, place: str | None) -> registry.CarrierInput:
    """The unknown code becomes the carrier's code (a printed label) or its EPC (a tag)."""
    from dataclasses import replace

    shape = classify_code(subject)
    loc = data.location or place or ""
    if shape == "carrier":
        return replace(data, code=subject, location=loc)
    if shape == "epc":
        return replace(data, epc=subject, location=loc)
    return replace(data, location=loc)


def _site_of(subject: str, data: registry.CarrierInput) -> str:
    code = data.code or subject
    return code.split("-")[0] if classify_code(code) == "carrier" else "BJ"


@dataclass(frozen=True)
class SessionView:
    id: int
    name: str
    status: str
    roots: list[str]
    levels: list[str]
    units: list[str]
    created_at: datetime
    created_by: str
    expected: int
    reads: int
    team: list[tuple[str, str, str]]  # badge, name, unit
    counts: dict[FindingKind, int]
    unresolved: int
    start_seq: int | None
    start_head: str | None
    close_seq: int | None
    close_head: str | None
    reads_digest: str | None
    ledger_head: tuple[int, str]
    reconciled_at: datetime | None


def session_view(uow: UnitOfWork, sid: int) -> SessionView:
    with uow:
        st = _session(uow, sid, open_only=False)
        team = [(m.badge, m.name, m.unit) for m in uow.session.execute(select(StocktakeTeamMember).where(
            StocktakeTeamMember.session_id == sid).order_by(StocktakeTeamMember.badge)).scalars()]
        counts = {FindingKind(k): int(n) for k, n in uow.session.execute(text(
            "SELECT kind, COUNT(*) FROM stocktake_findings WHERE session_id = :s GROUP BY kind"), {"s": sid})}
        found = _found_total(uow, st)
        if found:
            counts[FindingKind.FOUND] = counts.get(FindingKind.FOUND, 0) + found
        unresolved = int(uow.session.execute(text(
            "SELECT COUNT(*) FROM stocktake_findings f LEFT JOIN stocktake_resolutions r "
            "ON r.session_id = f.session_id AND r.kind = f.kind AND r.subject = f.subject "
            "WHERE f.session_id = :s AND f.kind <> 'found' AND r.action IS NULL"), {"s": sid}).scalar_one())
        reads = int(uow.session.execute(select(func.count()).select_from(StocktakeRead).where(
            StocktakeRead.session_id == sid)).scalar_one())
        return SessionView(
            st.id, st.name, st.status, st.roots.split(";"), (st.levels or "").split(",") if st.levels else [],
            [u for u in st.units.split(";") if u], st.created_at, st.created_by, st.expected_count, reads,
            team, counts, unresolved, st.start_seq, st.start_head, st.close_seq, st.close_head, st.reads_digest,
            uow.ledger.head(), st.reconciled_at)
