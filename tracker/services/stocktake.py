"""The quarterly stock-take (清查, RULES §3, R-131, §5 Q6): sessions, read ingestion, reconciliation, resolution, close.

`start` freezes the expected snapshot of a scope (places under the given roots, optionally only some levels, plus
carriers on loan to people of the scope's units) and records who walks it. Reads arrive live or as uploaded handheld
files and are stored in bulk, idempotently on (device, batch, sequence): a location code sets the place for the reads
that follow it, a badge sets "with this holder", and an RFID batch is bound to a place. `reconcile` turns snapshot ×
reads into findings (see `tracker.reconcile`), each finding is resolved with a reason through the existing services
(move, check-in, report missing, register, found) inside one transaction together with one STOCKTAKE_RESOLVED event,
and `close` is refused while anything is unresolved; its event carries the digest of every read and the ledger head.
This module never writes a read into the ledger and never changes custody except through those services.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import chain, compress, groupby, repeat
from operator import eq, itemgetter, lt
from types import TracebackType
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from drivers.reads import Read, ReadKind
from drivers.rfid import upload as rfid_upload
from drivers.scanners import batch as scanner_batch
from labels.codes import classify_code
from tracker.domain import CarrierStatus, Classification, Clearance, DomainError, EventType, PersonStatus, Role
from tracker.ledger import EventDraft
from tracker.prepared import driver
from tracker.reconcile import FindingKind, ReconcileResult, Tuning, analyze
from tracker.reconcile import reconcile as run_reconcile
from tracker.rules import Action, Violation
from tracker.schema import Location, Person
from tracker.schema_stocktake import (
    StocktakeBatch,
    StocktakeBinding,
    StocktakeFinding,
    StocktakeRead,
    StocktakeResolution,
    StocktakeScope,
    StocktakeSession,
    StocktakeTeamMember,
)
from tracker.services import circulation, incidents, registry
from tracker.services.common import NotFound, Signed, actor_facts, badge_of, get_location, get_person, refuse
from tracker.store import UnitOfWork

RULE = "R-131"  # periodic 清查 against the register
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHUNK = 50_000

# (device, batch, seq, kind, code, at_us, rssi, antenna): what every source of reads becomes before ingest.
RawRead = tuple[str, str, int, str, str, int | None, float | None, int | None]


RELOCATE, CLOSE_LOAN, REPORT_MISSING, REGISTER, FOUND, ACKNOWLEDGE = (
    "relocate", "close_loan", "report_missing", "register", "found", "acknowledge")
RESOLUTIONS = (RELOCATE, CLOSE_LOAN, REPORT_MISSING, REGISTER, FOUND, ACKNOWLEDGE)
ALLOWED: dict[FindingKind, tuple[str, ...]] = {
    FindingKind.MISPLACED: (RELOCATE, ACKNOWLEDGE),
    FindingKind.MISSING: (REPORT_MISSING, ACKNOWLEDGE),
    FindingKind.NOT_COVERED: (REPORT_MISSING, ACKNOWLEDGE),
    FindingKind.LOAN_NOT_CLOSED: (CLOSE_LOAN, ACKNOWLEDGE),
    FindingKind.AMBIGUOUS: (RELOCATE, ACKNOWLEDGE),
    FindingKind.GONE_SEEN: (ACKNOWLEDGE,),
    FindingKind.MISSING_SEEN: (FOUND, ACKNOWLEDGE),
    FindingKind.UNKNOWN_CODE: (REGISTER, ACKNOWLEDGE),
    FindingKind.OUTSIDE_SCOPE: (RELOCATE, ACKNOWLEDGE),
    FindingKind.CLONE_SUSPECT: (ACKNOWLEDGE,),
    FindingKind.UNCONFIRMED_TOP_SECRET: (ACKNOWLEDGE,),
    FindingKind.NOT_VISITED: (ACKNOWLEDGE,),
}


@dataclass(frozen=True)
class StocktakeConfig:
    """Team rules and placement tuning; the defaults follow RULES §5 Q6 and the issue."""

    min_team: int = 2
    custodian_in_team: bool = False
    tuning: Tuning = field(default_factory=Tuning)


def _err(en: str, zh: str) -> DomainError:
    return DomainError(en, zh)


def to_us(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise _err(f"Read time {moment} has no time zone; reads are UTC.", f"读取时间 {moment} 缺少时区，须为UTC。")
    return (moment - EPOCH) // timedelta(microseconds=1)


# --- team --------------------------------------------------------------------------------------------------------


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


# --- sessions ----------------------------------------------------------------------------------------------------


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
        now = uow.now()
        if not roots:
            raise _err("Name at least one location for the scope.", "请至少指定一个清查位置。")
        t = cfg.tuning
        if t.clone_window_s < 0 or t.rssi_margin_db < 0 or t.count_ratio < 1 or cfg.min_team < 1:
            raise _err("Tuning out of range: clone window and RSSI margin are 0 or more, the count ratio 1 or more, "
                       "the team at least 1.",
                       "参数超出范围：克隆时间窗和RSSI余量不小于0，计数比不小于1，小组至少1人。")
        root_rows = [get_location(uow, code) for code in roots]
        try:
            level_set = sorted({Classification.parse(lv) for lv in levels or []}, key=lambda lv: -lv.rank)
        except DomainError as e:
            raise _err(e.en, e.zh) from e
        st = StocktakeSession(
            name=name.strip() or f"stock-take {now:%Y-%m-%d}", status="open",
            roots=";".join(r.code for r in root_rows), levels=",".join(lv.value for lv in level_set) or None,
            created_at=now, created_by=actor.badge, clone_window_s=cfg.tuning.clone_window_s,
            rssi_margin_db=cfg.tuning.rssi_margin_db, count_ratio=cfg.tuning.count_ratio,
            company_prefix=cfg.tuning.company_prefix, gid_manager=cfg.tuning.gid_manager, expected_count=0,
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


# --- uploads -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """A parsed handheld file: its format, its reads ready for `ingest`, and lines held back (an unfinished last
    line of a scanner file: it is read next time, when the file has grown)."""

    format: str  # plain | cs4070 | opticon | csv | rfid
    reads: list[RawRead]
    held_back: tuple[str, ...] = ()


_HEX = set("0123456789ABCDEF")


def _kind_of(code: str) -> str:
    return "epc" if len(code) == 24 and set(code) <= _HEX else "barcode"


def _content_batch(data: str) -> str:
    return "sha-" + hashlib.sha256(data.encode()).hexdigest()[:16]


def _read_key(r: RawRead) -> tuple[str, str, int]:
    return (r[0], r[1], r[2])


def _decode(data: str | bytes) -> str:
    if isinstance(data, str):
        return data
    for encoding in ("utf-8-sig", "gb18030"):  # handhelds unloaded on Chinese Windows write GB18030
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _err("The upload is neither UTF-8 nor GB18030 text.", "上传文件既不是 UTF-8 也不是 GB18030 文本。")


def parse_upload(data: str | bytes, device: str | None = None, batch: str | None = None, name: str = "",
                 tz: tzinfo | None = None) -> Upload:
    """Read a handheld upload: the RFID inventory export of `drivers.rfid.upload`, a CSV with `code` (and optionally
    time/device/batch/seq/rssi/antenna), or a handheld batch file read by `drivers.scanners.batch` (Opticon
    SCANNED.TXT, Zebra CS4070 Barcode.txt, or a plain list of codes). A bad line refuses the whole file."""
    text = _decode(data)
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    header = [h.strip().lower() for h in first.split(",")]
    if tuple(header) == rfid_upload.CSV_FIELDS:
        try:
            rows = rfid_upload.read_csv(io.StringIO(text))
        except rfid_upload.UploadError as e:
            raise _err(f"RFID upload: {e}", f"RFID 上传文件有误：{e}") from None
        return Upload("rfid", sorted(((r.device, r.batch, r.seq, "epc", r.epc, to_us(r.at), r.rssi, r.antenna)
                                      for r in rows), key=_read_key))
    if "code" in header and len(header) > 1:
        # A batch's own sequence is the order its reads were taken in, whatever order the file lists them.
        return Upload("csv", sorted(_parse_csv(text, device, batch), key=_read_key))
    return _parse_batch_file(text.encode(), device, batch, name, tz)


def _parse_batch_file(raw: bytes, device: str | None, batch: str | None, name: str, tz: tzinfo | None) -> Upload:
    dev = (device or "").strip()
    try:
        kind = scanner_batch.detect_format(name or "upload.txt", raw)
        if kind == "opticon":
            parsed = scanner_batch.parse_opticon(raw, tz=tz, batch_id=batch)
        elif not dev:
            raise _err(f"A {'plain list of codes' if kind == 'plain' else kind + ' file'} does not name its "
                       "scanner: give the device (--device).", "该文件未注明扫描设备，请指定设备（--device）。")
        elif kind == "cs4070":
            parsed = scanner_batch.parse_cs4070(raw, device=dev, batch_id=batch)
        else:  # lists made by people: one batch per distinct content unless named
            parsed = scanner_batch.parse_plain(raw, device=dev, batch_id=batch or _content_batch(raw.decode()))
    except scanner_batch.BatchFileError as e:
        raise _err(f"Upload: {e}", f"上传文件有误：{e}") from None
    bad = [p for p in parsed.problems if not (parsed.truncated and p.reason.startswith("last line"))]
    if bad:
        shown = "; ".join(f"line {p.line}: {p.reason}" for p in bad[:5])
        shown_zh = "；".join(f"第 {p.line} 行：{p.reason}" for p in bad[:5])
        raise _err(f"The upload has {len(bad)} unreadable line(s), nothing was stored: {shown}.",
                   f"上传文件有 {len(bad)} 行无法读取，未保存任何内容：{shown_zh}。")
    timed = parsed.format == "opticon"
    reads: list[RawRead] = []
    for rec in parsed.records:
        code = rec.read.code.strip().upper()
        reads.append((rec.key.device, rec.key.batch, rec.key.sequence, _kind_of(code), code,
                      to_us(rec.read.at) if timed else None, None, None))
    if not reads:
        raise _err("The upload holds no codes.", "上传文件中没有编号。")
    held = tuple(f"line {p.line}: {p.reason}" for p in parsed.problems if p not in bad)
    return Upload(parsed.format, reads, held)


def _parse_csv(data: str, device: str | None, batch: str | None) -> Iterator[RawRead]:
    reader = csv.DictReader(io.StringIO(data))
    fields = {f.strip().lower(): f for f in reader.fieldnames or []}
    known = {"code", "time", "at", "device", "batch", "seq", "rssi", "antenna", "kind"}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise _err(f"Unknown CSV column(s) {', '.join(unknown)}; use {', '.join(sorted(known))}.",
                   f"无法识别的列 {', '.join(unknown)}；可用列：{', '.join(sorted(known))}。")
    default_batch = batch or _content_batch(data)
    seen: set[tuple[str, str, int]] = set()
    for n, raw in enumerate(reader, start=1):
        line = n + 1
        r = {k: (raw.get(v) or "").strip() for k, v in fields.items()}
        code = r.get("code", "").upper()
        if not code:
            raise _err(f"line {line}: the code is empty.", f"第 {line} 行：编号为空。")
        dev = r.get("device") or (device or "").strip()
        if not dev:
            raise _err(f"line {line}: no device column and no --device given.",
                       f"第 {line} 行：没有 device 列，也未指定 --device。")
        try:
            seq = int(r["seq"]) if r.get("seq") else n
            when = r.get("time") or r.get("at")
            at = datetime.fromisoformat(when.replace("Z", "+00:00")) if when else None
            rssi = float(r["rssi"]) if r.get("rssi") else None
            antenna = int(r["antenna"]) if r.get("antenna") else None
        except ValueError as e:
            raise _err(f"line {line}: {e}", f"第 {line} 行：{e}") from None
        if at is not None and at.tzinfo is None:
            raise _err(f"line {line}: time {when!r} has no time zone (add Z or +08:00).",
                       f"第 {line} 行：时间 {when!r} 缺少时区（请加 Z 或 +08:00）。")
        kind = r.get("kind") or _kind_of(code)
        if kind not in ("barcode", "epc"):
            raise _err(f"line {line}: kind must be barcode or epc, not {kind!r}.",
                       f"第 {line} 行：kind 须为 barcode 或 epc，而不是 {kind!r}。")
        b = r.get("batch") or default_batch
        key = (dev, b, seq)
        if key in seen:
            raise _err(f"line {line}: ({dev}, {b}, {seq}) appears twice.", f"第 {line} 行：({dev}, {b}, {seq}) 重复。")
        seen.add(key)
        yield (dev, b, seq, kind, code, to_us(at), rssi, antenna)


def reads_from_driver(reads: Iterable[Read], device: str, batch: str, first_seq: int = 1) -> Iterator[RawRead]:
    """Number a driver's reads within one batch, in arrival order."""
    for seq, r in enumerate(reads, start=first_seq):
        code = r.code.strip().upper()
        kind = "epc" if r.kind is ReadKind.EPC else "barcode"
        yield (r.device or device, batch, seq, kind, code, to_us(r.at), r.rssi, r.antenna)


# --- ingest ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefusedRead:
    """A read the register would not take (no place yet, an unknown place or badge), with the reason in both
    languages, so a live pass can show each refusal at the counter while the reads around it are stored."""

    device: str
    batch: str
    seq: int
    code: str
    en: str
    zh: str


@dataclass(frozen=True)
class IngestResult:
    added: int
    duplicates: int
    places: int  # location / badge scans among them
    refused: tuple[RefusedRead, ...] = ()  # only with refuse_each: reads set aside, each with its reason

    @property
    def total(self) -> int:
        return self.added + self.duplicates


_COLUMNS = ("session_id", "batch_id", "seq", "kind", "code", "at_us", "rssi", "antenna", "loc_id", "holder_id")
# A stored row as ingest builds it: every column but the session's id, which is the same for the whole ingest and is
# bound once per statement rather than once per read.
Row = tuple[int, int, str, str, int | None, float | None, int | None, int | None, int | None]
_BATCH_OF = itemgetter(0, 1)
# Location and badge codes (the only reads that change the place of the reads after them) by their first letters;
# everything else in a handheld batch is a carrier code and goes through in bulk.
_PLACE_CODE = re.compile("LOC-|B-").match
_PLACE_PREFIXES = ("\nLOC-", "\nB-")


def _place_scans(codes: Sequence[str]) -> list[int]:
    """Positions of the location and badge codes among `codes`. The codes are joined by newlines and `str.find`
    jumps from one place code to the next in C, instead of a match per code (or a regular expression walking every
    character: 0.22 s for a million codes, against 0.09 s); codes with a newline of their own (none come from a
    scanner) are matched one by one."""
    joined = "\n" + "\n".join(codes)
    if joined.count("\n") != len(codes):
        return list(compress(range(len(codes)), map(_PLACE_CODE, codes)))
    starts: list[int] = []
    for prefix in _PLACE_PREFIXES:
        i = joined.find(prefix)
        while i >= 0:
            starts.append(i)
            i = joined.find(prefix, i + 1)
    starts.sort()
    out: list[int] = []
    line, pos = -1, 0
    for i in starts:  # the code starting after the newline at i is number (newlines up to i) - 1
        line += joined.count("\n", pos, i + 1)
        pos = i + 1
        out.append(line)
    return out


class _Stretch:
    """Carrier reads of one batch scanned one after another in one place, with no RSSI or antenna: the bulk of a
    handheld upload. They travel from the parser to the writer as the column slices they already are, so the hot
    path never builds a row tuple per read only to take it apart again."""

    __slots__ = ("ats", "bid", "codes", "holder", "kinds", "loc", "seqs")

    def __init__(self, bid: int, loc: int | None, holder: int | None, seqs: Sequence[int], kinds: Sequence[str],
                 codes: Sequence[str], ats: Sequence[int | None]) -> None:
        self.bid, self.loc, self.holder = bid, loc, holder
        self.seqs, self.kinds, self.codes, self.ats = seqs, kinds, codes, ats

    def __len__(self) -> int:
        return len(self.seqs)

    def part(self, lo: int, hi: int) -> _Stretch:
        return _Stretch(self.bid, self.loc, self.holder, self.seqs[lo:hi], self.kinds[lo:hi], self.codes[lo:hi],
                        self.ats[lo:hi])

    def rows(self) -> Iterator[Row]:
        return zip(repeat(self.bid), self.seqs, self.kinds, self.codes, self.ats, repeat(None), repeat(None),
                   repeat(self.loc), repeat(self.holder))


Piece = Row | _Stretch


def _rows(pieces: list[Piece]) -> list[Row]:
    out: list[Row] = []
    for p in pieces:
        if isinstance(p, _Stretch):
            out.extend(p.rows())
        else:
            out.append(p)
    return out


def _split(pieces: list[Piece], size: int) -> tuple[list[Piece], list[Piece]]:
    """The first `size` reads of `pieces` and the rest, cutting a stretch where the boundary falls in it."""
    taken = 0
    for k, p in enumerate(pieces):
        n = len(p) if isinstance(p, _Stretch) else 1
        if taken + n >= size:
            if taken + n == size:
                return pieces[:k + 1], pieces[k + 1:]
            assert isinstance(p, _Stretch)
            cut = size - taken
            return [*pieces[:k], p.part(0, cut)], [p.part(cut, n), *pieces[k + 1:]]
        taken += n
    return pieces, []


class _Batches:
    """(device, batch) → batch id for one session; new batches are created in bulk, and only batches that existed
    before this ingest can already hold reads (so only they are checked for duplicates or resumed)."""

    def __init__(self, uow: UnitOfWork, sid: int) -> None:
        self.uow, self.sid = uow, sid
        self.ids: dict[tuple[str, str], int] = {
            (str(d), str(b)): int(i) for i, d, b in uow.session.execute(select(
                StocktakeBatch.id, StocktakeBatch.device, StocktakeBatch.batch).where(
                StocktakeBatch.session_id == sid))}
        self.old = set(self.ids.values())

    def create(self, keys: Iterable[tuple[str, str]]) -> None:
        new = sorted({k for k in keys if k not in self.ids})
        for device, batch in new:
            if not device or not batch or len(device) > 64 or len(batch) > 64:
                raise _err(f"Device and batch ids are 1–64 characters ({device!r}, {batch!r}).",
                           f"设备号和批次号须为 1–64 个字符（{device!r}，{batch!r}）。")
        if not new:
            return
        ins = sqlite.insert(StocktakeBatch) if self.uow.dialect == "sqlite" else postgresql.insert(StocktakeBatch)
        self.uow.session.execute(ins.on_conflict_do_nothing(index_elements=["session_id", "device", "batch"]),
                                 [{"session_id": self.sid, "device": d, "batch": b} for d, b in new])
        wanted = set(new)
        rows = self.uow.session.execute(select(StocktakeBatch.id, StocktakeBatch.device, StocktakeBatch.batch)
                                        .where(StocktakeBatch.session_id == self.sid))
        for i, d, b in rows:
            key = (str(d), str(b))
            if key in wanted:
                self.ids[key] = int(i)

    def get(self, device: str, batch: str) -> int:
        key = (device, batch)
        if key not in self.ids:
            self.create([key])
        return self.ids[key]


# A run's reads as columns: seq, kind, code, time, rssi, antenna.
Columns = tuple[Sequence[Any], ...]
Run = tuple[tuple[str, str], Columns]


_ZIP_LIMIT = 4096


def _columns(run: Sequence[RawRead]) -> Columns:
    """A run's reads as columns. `zip(*run)` transposes a run of a few thousand reads fastest, but slows down badly
    on a huge one (a million iterators in lockstep), which is transposed a column at a time instead."""
    if len(run) > _ZIP_LIMIT:
        return tuple(list(map(itemgetter(k), run)) for k in range(2, 8))
    _, _, *cols = zip(*run, strict=True)
    return tuple(cols)


def _runs(reads: Iterable[RawRead], batches: _Batches) -> Iterable[Run]:
    """The input cut into runs of one (device, batch), each as columns (no per-read Python: the cut, its count and
    the transposition run in C). All new batches of a list are created with one statement; a stream is cut as it
    comes."""
    cut = ((key, _columns(list(group))) for key, group in groupby(reads, key=_BATCH_OF))
    if not isinstance(reads, list | tuple):
        return cut
    runs = list(cut)
    batches.create(key for key, _ in runs)
    return runs


class _Context:
    """Turns raw reads into stored rows: the place each read was taken in, checked before anything is written."""

    def __init__(self, uow: UnitOfWork, sid: int, batches: _Batches, refuse_each: bool = False) -> None:
        self.uow, self.sid, self.batches = uow, sid, batches
        self.refuse_each = refuse_each
        self.refused: list[RefusedRead] = []
        self.scope = {str(c): int(i) for c, i in uow.session.execute(select(
            StocktakeScope.code, StocktakeScope.location_id).where(StocktakeScope.session_id == sid))}
        self.bindings = {(d, b, a): int(loc) for d, b, a, loc in uow.session.execute(select(
            StocktakeBinding.device, StocktakeBinding.batch, StocktakeBinding.antenna, StocktakeBinding.loc_id
        ).where(StocktakeBinding.session_id == sid))}
        self.badges: dict[str, int | None] = {}
        self.state: dict[tuple[str, str], tuple[int | None, int | None, int]] = {}
        self.places = 0

    def _resume(self, batch_id: int, seq: int) -> tuple[int | None, int | None, int]:
        """The place set by the last location/badge scan already stored before `seq` (a resumed batch)."""
        if batch_id not in self.batches.old:
            return (None, None, 0)
        row = self.uow.session.execute(text(
            "SELECT loc_id, holder_id FROM stocktake_reads WHERE session_id = :s AND batch_id = :b "
            "AND seq < :q AND kind IN ('location', 'badge') ORDER BY seq DESC LIMIT 1"),
            {"s": self.sid, "b": batch_id, "q": seq}).first()
        return (row[0], row[1], 0) if row else (None, None, 0)

    def _badge(self, code: str) -> int | None:
        if code not in self.badges:
            pid = self.uow.session.execute(select(Person.id).where(Person.badge == code)).scalar_one_or_none()
            self.badges[code] = pid
        return self.badges[code]

    def _where(self, device: str, batch: str, seq: int) -> tuple[str, str]:
        return f"{device}/{batch} read {seq}", f"{device}/{batch} 第 {seq} 条"

    def _refuse(self, device: str, batch: str, seq: int, code: str, why: tuple[str, str]) -> None:
        """An upload is refused whole by its first bad read (the file is fixed and sent again); a live stream
        cannot be sent again, so there the read is set aside with its reason and the place stays as it was."""
        en, zh = self._where(device, batch, seq)
        if not self.refuse_each:
            raise _err(f"{en}: {why[0]}", f"{zh}：{why[1]}")
        self.refused.append(RefusedRead(device, batch, seq, code, f"{en}: {why[0]}", f"{zh}：{why[1]}"))

    def chunks(self, runs: Iterable[Run], size: int) -> Iterator[list[Piece]]:
        """Reads to store, `size` at a time. This is the ingest's hot path, so per-read work is left to C: a run of
        one batch is transposed into columns, its sequence checked with one `map`, and the carrier reads between two
        place scans stay column slices (a `_Stretch`, or rows through `zip` when they carry RSSI or antenna); only
        place scans and RFID reads are looked at one by one."""
        out: list[Piece] = []
        held = 0
        for (device, batch), cols in runs:
            held += self._run(device, batch, cols, out)
            while held >= size:
                chunk, out = _split(out, size)
                held -= size
                yield chunk
        if out:
            yield out

    def _run(self, device: str, batch: str, cols: Columns, out: list[Piece]) -> int:
        """Append the run's acceptable reads to `out`; returns how many."""
        seqs, kinds, codes, ats, rssis, antennas = cols
        bid = self.batches.get(device, batch)
        st = self.state.get((device, batch))
        if st is None:
            st = self._resume(bid, seqs[0])
        loc, holder, last_seq = st
        if seqs[0] <= last_seq or not all(map(lt, seqs, seqs[1:])):
            for seq in seqs:
                if seq <= last_seq:
                    en, zh = self._where(device, batch, seq)
                    raise _err(f"{en}: reads of a batch must come in sequence order (after {last_seq}).",
                               f"{zh}：同一批次的读取须按序号排列（应在 {last_seq} 之后）。")
                last_seq = seq
        n = len(seqs)
        if kinds.count("epc") == n and self._rfid_pass(device, batch, bid, cols, out):
            self.state[(device, batch)] = (loc, holder, seqs[-1])
            return n
        plain = rssis.count(None) == n and antennas.count(None) == n
        before = len(out)
        stretched = 0
        special = _place_scans(codes)
        if "epc" in kinds:
            special = sorted(set(special).union(compress(range(n), map(eq, kinds, repeat("epc")))))
        special.append(n)
        start = 0
        for i in special:
            if i > start and loc is None and holder is None:  # carrier reads before any place scan
                for k in range(start, i):
                    self._refuse(device, batch, seqs[k], codes[k], self._no_place(codes[k]))
            elif i > start and plain:  # carrier reads in the place set before them
                out.append(_Stretch(bid, loc, holder, seqs[start:i], kinds[start:i], codes[start:i], ats[start:i]))
                stretched += i - start - 1
            elif i > start:
                out.extend(zip(repeat(bid), seqs[start:i], kinds[start:i], codes[start:i], ats[start:i],
                               rssis[start:i], antennas[start:i], repeat(loc), repeat(holder)))
            if i == n:
                break
            start = i + 1
            seq, kind, code, at_us, rssi, antenna = seqs[i], kinds[i], codes[i], ats[i], rssis[i], antennas[i]
            if kind == "epc":
                place = self._bound(device, batch, antenna) or loc
                if place is None and holder is None:
                    self._refuse(device, batch, seq, code, (
                        f"RFID reads need a place: bind {device}/{batch} to a location first "
                        "(tracker stocktake bind) or scan a location code before them.",
                        f"RFID 读取须有位置：请先将 {device}/{batch} 绑定到位置，或先扫描位置码。"))
                    continue
                out.append((bid, seq, kind, code, at_us, rssi, antenna, place, None if place is not None else holder))
            elif code[:4] == "LOC-":
                lid = self.scope.get(code)
                if lid is None:
                    self._refuse(device, batch, seq, code, self._unknown_place(code))
                    continue
                loc, holder = lid, None
                self.places += 1
                out.append((bid, seq, "location", code, at_us, rssi, antenna, lid, None))
            elif classify_code(code) == "badge":
                pid = self._badge(code)
                if pid is None:
                    self._refuse(device, batch, seq, code, (f"badge {code} is not a registered person.",
                                                            f"证件 {code} 不是登记人员。"))
                    continue
                loc, holder = None, pid
                self.places += 1
                out.append((bid, seq, "badge", code, at_us, rssi, antenna, None, pid))
            else:  # a "B-…" code that is no badge: an ordinary read
                if loc is None and holder is None:
                    self._refuse(device, batch, seq, code, self._no_place(code))
                    continue
                out.append((bid, seq, kind, code, at_us, rssi, antenna, loc, holder))
        self.state[(device, batch)] = (loc, holder, seqs[-1])
        return len(out) - before + stretched

    def _bound(self, device: str, batch: str, antenna: int | None) -> int | None:
        """The place an RFID batch's antenna is bound to, else the place the whole batch is bound to."""
        return self.bindings.get((device, batch, antenna or 0)) or self.bindings.get((device, batch, 0))

    def _rfid_pass(self, device: str, batch: str, bid: int, cols: Columns, out: list[Piece]) -> bool:
        """A run of RFID reads only, every antenna bound to a place: rows are zipped in C with one dict lookup per
        antenna instead of looking at each read. False (nothing appended) when some antenna has no binding; the
        read-by-read path then places each read by the last place scan, or refuses it."""
        seqs, kinds, codes, ats, rssis, antennas = cols
        where = {a: self._bound(device, batch, a) for a in set(antennas)}
        if None in where.values():
            return False
        out.extend(zip(repeat(bid), seqs, kinds, codes, ats, rssis, antennas, map(where.__getitem__, antennas),
                       repeat(None)))
        return True

    @staticmethod
    def _no_place(code: str) -> tuple[str, str]:
        return (f"{code} was scanned before any location code; scan the shelf's location label first.",
                f"扫描 {code} 之前未扫描位置码，请先扫描所在位置的位置标签。")

    def _unknown_place(self, code: str) -> tuple[str, str]:
        known = self.uow.session.execute(select(Location.id).where(Location.code == code)).first()
        if known:
            return (f"{code} is outside the scope of stock-take #{self.sid}.",
                    f"{code} 不在清查 #{self.sid} 的范围内。")
        return f"{code} is not a location in the register.", f"{code} 不是登记的存放位置。"


# Rows per INSERT on SQLite: the session id is bound once (?1) and each row adds 9 parameters, so a statement stays
# under 999, the oldest limit on parameters. SQLite then parses, binds and resets once per group instead of per read.
_GROUP = 110
_INSERT = f"INSERT INTO stocktake_reads ({', '.join(_COLUMNS)}) VALUES "  # noqa: S608 (fixed columns)
_ROW = "(?1" + ", ?" * (len(_COLUMNS) - 1) + ")"
_INSERT_ONE = _INSERT + _ROW
_INSERT_GROUP = _INSERT + ", ".join([_ROW] * _GROUP)
# Most reads are carrier codes scanned one after another in one batch and one place, with no RSSI or antenna: such
# a stretch binds its batch, place and holder once (?2-?4) and four values per read, half the binding work of a
# general row. Stretches go in statements of these sizes (largest first), so only a handful of statements exist.
_STRETCH_SIZES = (128, 64, 32, 16, 8, 4, 2, 1)
_INSERT_STRETCH = {
    n: _INSERT + ", ".join(f"(?1, ?2, ?{5 + 4 * k}, ?{6 + 4 * k}, ?{7 + 4 * k}, ?{8 + 4 * k}, NULL, NULL, ?3, ?4)"
                           for k in range(n))
    for n in _STRETCH_SIZES}
# A stretch numbered without gaps and of one kind (a handheld's usual batch) also binds its first number and its kind
# once (?5, ?6): two values per read, its code and time.
_INSERT_EVEN = {
    n: _INSERT + ", ".join(f"(?1, ?2, ?5 + {k}, ?6, ?{7 + 2 * k}, ?{8 + 2 * k}, NULL, NULL, ?3, ?4)" for k in range(n))
    for n in _STRETCH_SIZES}
_STRETCH_KEY = itemgetter(0, 5, 6, 7, 8)  # batch, rssi, antenna, place, holder


def _cuts(size: int) -> Iterator[tuple[int, int]]:
    """Where the statements of a stretch of `size` reads start and how many reads each takes: `_STRETCH_SIZES`,
    largest first."""
    i = 0
    for n in _STRETCH_SIZES:
        while size - i >= n:
            yield i, n
            i += n


def _cut_stretch(execute: Any, head: tuple[Any, ...], seqs: Sequence[int], kinds: Sequence[str],
                 codes: Sequence[str], ats: Sequence[int | None]) -> None:
    """Insert one stretch, each statement with the stretch's `head` (session, batch, place, holder). Its reads'
    values are interleaved by slice assignments, in C."""
    size = len(seqs)
    if seqs[-1] - seqs[0] == size - 1 and kinds.count(kinds[0]) == size:  # seqs only ever increase
        flat: list[Any] = [None] * (2 * size)
        flat[0::2], flat[1::2] = codes, ats
        first, kind = seqs[0], kinds[0]
        for i, n in _cuts(size):
            execute(_INSERT_EVEN[n], (*head, first + i, kind, *flat[2 * i:2 * (i + n)]))
        return
    flat = [None] * (4 * size)
    flat[0::4], flat[1::4], flat[2::4], flat[3::4] = seqs, kinds, codes, ats
    for i, n in _cuts(size):
        execute(_INSERT_STRETCH[n], (*head, *flat[4 * i:4 * (i + n)]))


class _Writer:
    """Bulk insert of read rows, after dropping keys already stored and checking that each holds the same read (the
    same batch id reused for different reads would otherwise lose scans)."""

    def __init__(self, uow: UnitOfWork, sid: int, batches: _Batches) -> None:
        self.uow, self.sid, self.batches = uow, sid, batches
        self.dialect = uow.dialect
        self.added = 0
        self.duplicates = 0

    def write(self, pieces: list[Piece]) -> None:
        if self.dialect == "sqlite" and not self.batches.old:  # nothing stored before: no keys to drop
            self.added += self._insert(pieces)
            return
        rows = self._drop_known(_rows(pieces))
        if not rows:
            return
        added = self._insert(rows) if self.dialect == "sqlite" else self._copy(rows)
        self.added += added
        self.duplicates += len(rows) - added

    def _insert(self, pieces: Sequence[Piece]) -> int:
        """SQLite: plain INSERTs, no ON CONFLICT. Nothing can collide: keys already stored were dropped above, the
        input's own keys are strictly increasing per batch, and BEGIN IMMEDIATE keeps other writers out until commit
        (a collision would still fail the whole ingest, never skip a read).

        Statements run in the input's order, which is key order (batch ids are handed out in the order batches first
        appear), one `execute` each on the driver's cursor: every read then lands at the right-hand edge of the
        table's B-tree, on pages still in the cache. Grouping them by statement shape for `executemany` instead
        made each later shape insert between rows already written, re-reading pages the cache had spilled. Measured
        at a million reads: a quarter less SQLite time in a micro-benchmark; the benchmark's whole ingest took a
        median of 3.22 s against 3.48 s over 12 alternating runs (the driver's `execute` costs a few microseconds a
        statement; SQLAlchemy's would cost tens)."""
        d = driver(self.uow.session)
        execute = d.dbapi.cursor().execute
        try:
            return self._insert_pieces(execute, pieces)
        except d.dialect.loaded_dbapi.Error as e:  # wrapped as SQLAlchemy wraps it, for callers' error handling
            raise DBAPIError.instance("INSERT INTO stocktake_reads", None, e, d.dialect.loaded_dbapi.Error) from e

    def _insert_pieces(self, execute: Any, pieces: Sequence[Piece]) -> int:
        sid = self.sid
        rows: list[Row] = []
        total = 0
        for p in pieces:
            if not isinstance(p, _Stretch):
                rows.append(p)
                continue
            if rows:
                self._insert_rows(execute, rows)
                total += len(rows)
                rows = []
            total += len(p)
            _cut_stretch(execute, (sid, p.bid, p.loc, p.holder), p.seqs, p.kinds, p.codes, p.ats)
        if rows:
            self._insert_rows(execute, rows)
            total += len(rows)
        return total

    def _insert_rows(self, execute: Any, rows: list[Row]) -> None:
        """Rows that came one by one: those of one batch and place without RSSI or antenna go as a stretch, the
        others (RFID reads) `_GROUP` to a statement. A handful (most often the one place scan between two stretches)
        go one statement each: sorting them into stretches would cost several times more (28 µs a place scan, 10,000
        place scans in the benchmark's million reads)."""
        if len(rows) < 4:
            self._insert_loose(execute, rows)
            return
        sid = self.sid
        loose: list[Row] = []
        for (bid, rssi, antenna, loc, holder), group in groupby(rows, key=_STRETCH_KEY):
            if rssi is not None or antenna is not None:
                loose.extend(group)
                continue
            if loose:
                self._insert_loose(execute, loose)
                loose = []
            g = list(group)
            _cut_stretch(execute, (sid, bid, loc, holder), *(list(map(itemgetter(k), g)) for k in (1, 2, 3, 4)))
        if loose:
            self._insert_loose(execute, loose)

    def _insert_loose(self, execute: Any, loose: list[Row]) -> None:
        sid = self.sid
        whole = len(loose) - len(loose) % _GROUP
        for i in range(0, whole, _GROUP):
            execute(_INSERT_GROUP, (sid, *chain.from_iterable(loose[i:i + _GROUP])))
        for r in loose[whole:]:
            execute(_INSERT_ONE, (sid, *r))

    def _copy(self, rows: list[Row]) -> int:
        """PostgreSQL: COPY into a staging table, then one INSERT … SELECT … ON CONFLICT DO NOTHING — a row-by-row
        executemany costs a network round trip per read. The conflict clause only matters when another terminal
        stores the same batch at the same moment; the first one wins and this one counts those reads as duplicates."""
        cols = ", ".join(_COLUMNS[1:])
        conn = self.uow.session.connection()
        conn.exec_driver_sql(
            "CREATE TEMPORARY TABLE IF NOT EXISTS st_ingest_rows (batch_id INTEGER, seq INTEGER, kind VARCHAR(8), "
            "code VARCHAR(64), at_us BIGINT, rssi DOUBLE PRECISION, antenna INTEGER, loc_id INTEGER, "
            "holder_id INTEGER) ON COMMIT DELETE ROWS")
        conn.exec_driver_sql("TRUNCATE st_ingest_rows")
        raw: Any = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY st_ingest_rows ({cols}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)
        result: Any = conn.execute(text(
            f"INSERT INTO stocktake_reads ({', '.join(_COLUMNS)}) SELECT :s, {cols} FROM st_ingest_rows "  # noqa: S608
            "ON CONFLICT (session_id, batch_id, seq) DO NOTHING"), {"s": self.sid})
        return int(result.rowcount)

    def _drop_known(self, rows: list[Row]) -> list[Row]:
        old = self.batches.old
        if not old:
            return rows
        ranges: dict[int, list[int]] = {}
        for r in rows:
            if r[0] in old:
                span = ranges.get(r[0])
                if span is None:
                    ranges[r[0]] = [r[1], r[1]]
                elif r[1] > span[1]:
                    span[1] = r[1]
        if not ranges:
            return rows
        stored: dict[tuple[int, int], tuple[Any, ...]] = {}
        for bid, (lo, hi) in ranges.items():
            for row in self.uow.session.execute(text(
                    "SELECT seq, kind, code, at_us, rssi, antenna FROM stocktake_reads WHERE session_id = :s "
                    "AND batch_id = :b AND seq BETWEEN :lo AND :hi"), {"s": self.sid, "b": bid, "lo": lo, "hi": hi}):
                stored[(bid, int(row[0]))] = tuple(row[1:])
        if not stored:
            return rows
        names = {i: k for k, i in self.batches.ids.items()}
        fresh = []
        for r in rows:
            before = stored.get((r[0], r[1]))
            if before is None:
                fresh.append(r)
                continue
            if before != (r[2], r[3], r[4], r[5], r[6]):
                device, batch = names[r[0]]
                raise _err(f"{device}/{batch} read {r[1]} was already stored as {before[1]} and now comes as {r[3]}: "
                           "the batch id was reused for different reads. Give this upload its own batch id.",
                           f"{device}/{batch} 第 {r[1]} 条已存为 {before[1]}，现为 {r[3]}：批次号被重复用于不同读取，"
                           "请为本次上传使用新的批次号。")
            self.duplicates += 1
        return fresh


def ingest(uow: UnitOfWork, actor: Signed, sid: int, reads: Iterable[RawRead],
           commit_every: int | None = None, refuse_each: bool = False) -> IngestResult:
    """Store reads idempotently. One transaction for the whole input by default, so a bad read anywhere refuses
    it all; with `commit_every`, each chunk of that many reads is committed as it goes (live streams, huge files)
    and a re-sent input simply skips what is already stored. With `refuse_each`, a read the register refuses (no
    place yet, an unknown place or badge) is set aside in the result with its reason and every other read is
    stored: a live pass cannot be sent again, so refusing its good reads with the bad one would lose scans."""
    with uow, _no_cycle_collection():
        return _ingest(uow, actor, sid, reads, commit_every, refuse_each)


def _ingest(uow: UnitOfWork, actor: Signed, sid: int, reads: Iterable[RawRead], commit_every: int | None,
            refuse_each: bool) -> IngestResult:
    """The ingest proper, in a frame of its own: its runs, chunks and statements are freed when it returns, before
    the cycle collector is resumed, which would otherwise walk them all once more."""
    actor_facts(uow, actor, Action.STOCKTAKE)
    _session(uow, sid)
    batches = _Batches(uow, sid)
    runs = _runs(reads, batches)
    ctx = _Context(uow, sid, batches, refuse_each)
    writer = _Writer(uow, sid, batches)
    committed = 0
    for chunk in ctx.chunks(runs, commit_every or CHUNK):
        writer.write(chunk)
        if commit_every:
            _bulk_commit(uow, writer.added - committed, final=False)
            committed = writer.added
    _bulk_commit(uow, writer.added - committed, final=True)
    return IngestResult(writer.added, writer.duplicates, ctx.places, tuple(ctx.refused))


# From this many reads in one transaction, its WAL checkpoint is left to the store's checkpointer thread, so a big
# upload returns once its reads are durable (a million reads: about 0.8 s sooner). A live pass's flushes and small
# uploads commit as every other write does.
BULK_READS = 10_000


def _bulk_commit(uow: UnitOfWork, reads: int, final: bool) -> None:
    if reads >= BULK_READS:
        uow.defer_checkpoint()
    if final:
        uow.commit()
    else:
        uow.session.commit()


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector while reads are cut into columns and statements. Those are millions of
    tuples and lists that reference counting frees as soon as they are done with (they form no cycles), but each
    new container counts towards the next collection, and every few collections walks all the process's live
    objects, the caller's list of reads included: measured at a million reads, 0.8 s of a 3.4 s ingest, 1.3 s when
    the process holds a few million more objects. Cycles made meanwhile elsewhere are collected afterwards.
    A reconciliation pauses it too: its coverage roll-up makes tens of thousands of rows and tuples, and the
    collections they triggered were a tenth of a second of a million-carrier reconciliation."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class ReadsRefused(DomainError):
    """`LiveIngest.flush` refused some reads but stored every other read of the chunk (`result`). It is a
    DomainError so a screen that shows a refused scan keeps doing so; unlike other errors here, something was
    written, and `result.refused` names each refused read with its own reason."""

    def __init__(self, result: IngestResult) -> None:
        first, more = result.refused[0], len(result.refused) - 1
        en, zh = first.en, first.zh
        if more:
            en += f" (and {more} more read(s) refused; {result.added} stored)"
            zh += f"（另有 {more} 条被拒绝；已保存 {result.added} 条）"
        super().__init__(en, zh)
        self.result = result


class LiveIngest:
    """Reads from a live driver (or a keyboard-wedge scanner typed into a screen) for one device and batch: numbers
    them, and stores every `flush_every` reads or on `flush()`. Resuming after a crash continues the numbering."""

    def __init__(self, store: Any, actor: Signed, sid: int, device: str, batch: str,
                 flush_every: int = 1) -> None:
        self.store, self.actor, self.sid, self.device, self.batch = store, actor, sid, device, batch
        self.flush_every = flush_every
        with store.uow(readonly=True) as uow:
            last = uow.session.execute(select(func.max(StocktakeRead.seq)).join(
                StocktakeBatch, StocktakeBatch.id == StocktakeRead.batch_id).where(
                StocktakeRead.session_id == sid, StocktakeBatch.device == device,
                StocktakeBatch.batch == batch)).scalar_one_or_none()
        self.next_seq = int(last or 0) + 1
        self.pending: list[RawRead] = []

    def add(self, read: Read) -> IngestResult | None:
        code = read.code.strip().upper()
        kind = "epc" if read.kind is ReadKind.EPC else "barcode"
        self.pending.append((self.device, self.batch, self.next_seq, kind, code, to_us(read.at), read.rssi,
                             read.antenna))
        self.next_seq += 1
        if len(self.pending) >= self.flush_every:
            return self.flush()
        return None

    def flush(self) -> IngestResult:
        """Store the pending reads: every acceptable one, whatever the others are. Raises `ReadsRefused` (after
        storing) when some were refused. A refused read's number stays unused where later reads were stored, so a
        gap in a batch marks exactly where the counter refused a scan; trailing refused numbers are reused, as a
        restart would. When nothing could be stored (the database is unavailable), the reads stay pending for the
        next flush instead of being dropped."""
        pending, self.pending = self.pending, []
        if not pending:
            return IngestResult(0, 0, 0)
        try:
            result = ingest(self.store.uow(), self.actor, self.sid, pending, refuse_each=True)
        except Exception:
            self.pending = pending + self.pending
            raise
        if result.refused:
            refused = {r.seq for r in result.refused}
            kept = [r[2] for r in pending if r[2] not in refused]
            self.next_seq = max(kept, default=pending[0][2] - 1) + 1
            raise ReadsRefused(result)
        return result


# --- reconcile, progress, findings -------------------------------------------------------------------------------


def reconcile(uow: UnitOfWork, actor: Signed, sid: int) -> ReconcileResult:
    with uow:
        actor_facts(uow, actor, Action.STOCKTAKE)
        st = _session(uow, sid, lock=True)
        with _no_cycle_collection():
            result = run_reconcile(uow.session, sid, tuning_of(st))
        st.reconciled_at = uow.now()
        uow.defer_checkpoint()  # tens of thousands of findings: their WAL is copied into the file after this returns
        uow.commit()
        return result


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


# --- resolution --------------------------------------------------------------------------------------------------


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
    k = FindingKind(kind)
    act = action.strip().lower()
    with uow:
        actor_facts(uow, actor, Action.STOCKTAKE)
        now = uow.now()
        _session(uow, sid, lock=True)
        if not reason.strip():
            raise _err("Give the reason for the resolution.", "请填写处理理由。")
        if k is FindingKind.FOUND:
            raise _err(f"{subject} was found as expected; nothing to resolve.", f"{subject} 账物相符，无需处理。")
        if act not in ALLOWED[k]:
            raise _err(f"A {k.en} finding is resolved by {' or '.join(ALLOWED[k])}, not {action!r}.",
                       f"“{k.zh}”只能以 {'、'.join(ALLOWED[k])} 处理，不能用 {action!r}。")
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
        uow.commit()
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


# --- close -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CloseReceipt:
    event_seq: int
    reads_digest: str
    reads_count: int
    ledger_head: tuple[int, str]


def reads_digest(uow: UnitOfWork, sid: int) -> tuple[str, int]:
    """SHA-256 over every stored read in key order, one canonical line each; the same on both databases."""
    h = hashlib.sha256()
    n = 0
    result = uow.session.execute(text(
        "SELECT b.device, b.batch, r.seq, r.kind, r.code, r.at_us, r.rssi, r.antenna "
        "FROM stocktake_reads r JOIN stocktake_batches b ON b.id = r.batch_id WHERE r.session_id = :s"), {"s": sid})
    rows = sorted(((str(r[0]), str(r[1]), int(r[2]), *r[3:]) for r in result), key=lambda r: r[:3])
    for r in rows:
        line = "\x1f".join("" if v is None else (repr(float(v)) if isinstance(v, float) else str(v)) for v in r)
        h.update(line.encode() + b"\n")
        n += 1
    return h.hexdigest(), n


def close(uow: UnitOfWork, actor: Signed, sid: int) -> CloseReceipt:
    """Reconcile once more, refuse while any finding is unresolved, then seal the session with one event."""
    with uow:
        actor_facts(uow, actor, Action.STOCKTAKE)
        now = uow.now()
        st = _session(uow, sid, lock=True)
        result = run_reconcile(uow.session, sid, tuning_of(st))
        st.reconciled_at = now
        open_ = uow.session.execute(text(
            "SELECT f.kind, COUNT(*) FROM stocktake_findings f LEFT JOIN stocktake_resolutions r "
            "ON r.session_id = f.session_id AND r.kind = f.kind AND r.subject = f.subject "
            "WHERE f.session_id = :s AND f.kind <> 'found' AND r.action IS NULL GROUP BY f.kind ORDER BY f.kind"),
            {"s": sid}).all()
        if open_:
            listing = ", ".join(f"{n} {FindingKind(k).en}" for k, n in open_)
            listing_zh = "、".join(f"{FindingKind(k).zh} {n} 项" for k, n in open_)
            refuse([Violation(RULE, f"Stock-take #{sid} cannot close: unresolved findings remain ({listing}).",
                              f"清查 #{sid} 不能结束：尚有未处理的结果（{listing_zh}）。")],
                   "stocktake_close", None, actor.badge)
        digest, count = reads_digest(uow, sid)
        head = uow.ledger.head()
        resolved = uow.session.execute(select(func.count()).select_from(StocktakeResolution).where(
            StocktakeResolution.session_id == sid)).scalar_one()
        ev = uow.ledger.append(EventDraft(
            EventType.STOCKTAKE_CLOSED, actor=actor.badge,
            payload={"stocktake": sid, "reads_digest": digest, "reads": count, "ledger_head": [head[0], head[1]],
                     "findings": {k.value: n for k, n in sorted(result.counts.items())},
                     "resolutions": int(resolved), "expected": st.expected_count}), now)
        st.status, st.closed_at, st.closed_by = "closed", now, actor.badge
        st.close_seq, st.close_head, st.reads_digest, st.reads_count = ev.seq, head[1], digest, count
        uow.commit()
        return CloseReceipt(ev.seq, digest, count, head)


# --- summary for reports and screens -----------------------------------------------------------------------------


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


def list_sessions(uow: UnitOfWork) -> list[tuple[int, str, str, datetime, int]]:
    with uow:
        return [(s.id, s.name, s.status, s.created_at, s.expected_count) for s in uow.session.execute(
            select(StocktakeSession).order_by(StocktakeSession.id)).scalars()]


__all__ = [
    "ACKNOWLEDGE", "ALLOWED", "CLOSE_LOAN", "FOUND", "REGISTER", "RELOCATE", "REPORT_MISSING", "CloseReceipt",
    "FindingKind", "FindingView", "IngestResult", "LiveIngest", "LocationProgress", "RawRead", "ReadsRefused",
    "RefusedRead", "SessionView", "StocktakeConfig", "Upload", "bind", "close", "findings", "ingest",
    "list_sessions", "parse_upload", "progress", "reconcile", "resolve", "session_view", "start",
]
