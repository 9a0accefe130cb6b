"""Registry workflows: places, registration (single and CSV import), copies, reclassification and moves.

Every function checks the rulebook before writing and writes the state change and its ledger event in one
transaction; a CSV import is one transaction for the whole file, so it lands completely or not at all.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import func, select

from labels.codes import CodeError, make_carrier_code, parse_carrier_code
from tracker.bulk import insert_rows
from tracker.domain import (
    ApprovalPurpose,
    CarrierKind,
    CarrierStatus,
    Classification,
    DomainError,
    EventType,
    LocationKind,
    Regime,
    Scope,
    SecrecyPeriod,
)
from tracker.ledger import EventDraft
from tracker.rules import (
    Action,
    CarrierFacts,
    LocationFacts,
    Violation,
    check_copy,
    check_move,
    check_reclassify,
    check_registration,
    reclassify_purpose,
)
from tracker.schema import Carrier, Location, Person, PrintRun, table
from tracker.services.approvals import approval_facts, covering, mark_used
from tracker.services.common import (
    NotFound,
    Signed,
    actor_facts,
    carrier_facts,
    get_carrier,
    get_location,
    location_facts,
    printable_code,
    refuse,
    valid_code,
)
from tracker.store import UnitOfWork
from tracker.text import LIMITS, check_fields, clean, control_at, decode, line

CSV_COLUMNS = ("code", "kind", "regime", "classification", "period", "scope", "title", "doc_number", "issuer",
               "copy_number", "copy_total", "pages", "capacity", "location", "epc", "highest_level_held")


@dataclass(frozen=True)
class CarrierInput:
    """A carrier as typed at the counter or read from a CSV row: text in, validated on registration."""

    location: str
    classification: str | None
    kind: str = "paper"
    regime: str = "state"
    period: str | None = None
    scope: str | None = None
    title: str = ""
    doc_number: str | None = None
    issuer: str | None = None
    copy_number: int | None = None
    copy_total: int | None = None
    pages: int | None = None
    capacity: str | None = None
    code: str | None = None
    epc: str | None = None
    highest_level_held: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _domain_violation(rule: str, err: DomainError) -> Violation:
    return Violation(rule, err.en, err.zh)


class InvalidInput(DomainError):
    """Fields the register cannot take as typed (an unknown level, an unreadable period, a malformed code): bad input,
    not a refusal by a rule — nothing was asked of the rulebook yet, so the command line exits 2, not 3. It keeps the
    violations (each names the rule its field serves) so a CSV import can still name every bad row."""

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__("\n".join(v.message("en") for v in violations),
                         "\n".join(v.message("zh") for v in violations))
        self.violations = violations


def _joined(cls: type[DomainError], problems: list[Violation]) -> DomainError:
    return cls("\n".join(v.en for v in problems), "\n".join(v.zh for v in problems))


def _parse_input(data: CarrierInput, code: str) -> tuple[CarrierFacts, list[Violation]]:
    """Text to facts; each unreadable field becomes a violation naming the rule the field serves."""
    level, kind, regime, period, held, scope, problems = _parse_fields(
        data.classification, data.kind, data.regime, data.period, data.highest_level_held, data.scope)
    facts = CarrierFacts(code=code, kind=kind, regime=regime, level=level, period=period, scope=scope,
                         copy_number=data.copy_number, copy_total=data.copy_total, highest_level_held=held)
    return facts, list(problems)


_Fields = tuple[Classification | None, CarrierKind, Regime, SecrecyPeriod | None, Classification | None, Scope | None,
                tuple[Violation, ...]]


@lru_cache(maxsize=4096)
def _parse_fields(classification: str | None, kind_text: str, regime_text: str | None, period_text: str | None,
                  held_text: str | None, scope_text: str | None) -> _Fields:
    """The parsing itself, remembered: an import of 100,000 rows repeats a handful of level/period/scope texts."""
    out: list[Violation] = []
    level: Classification | None = None
    try:
        level = Classification.parse(classification)
    except DomainError as e:
        out.append(_domain_violation("R-01", e))
    kind, regime = CarrierKind.OTHER, Regime.STATE
    try:
        kind = CarrierKind.parse(kind_text)
    except DomainError as e:
        out.append(_domain_violation("R-18", e))
    try:
        regime = Regime(regime_text.strip().lower()) if regime_text else Regime.STATE
    except ValueError:
        out.append(Violation("R-14", f"Unknown regime {regime_text!r}: use state or company.",
                             f"无法识别的秘密类别 {regime_text!r}：请使用 state（国家秘密）或 company（公司秘密）。"))
    period = None
    try:
        period = SecrecyPeriod.parse(period_text)
    except DomainError as e:
        out.append(_domain_violation("R-02", e))
    held = None
    if held_text:
        try:
            held = Classification.parse(held_text)
        except DomainError as e:
            out.append(_domain_violation("R-102", e))
    return level, kind, regime, period, held, Scope.parse(scope_text), tuple(out)


# Sane bounds on counts typed at entry: past them the number is a typo, not a document.
MAX_PAGES = 100_000
MAX_COPIES = 10_000


def _count_problems(data: CarrierInput) -> list[Violation]:
    """Pages and copy numbers are positive and within a sane bound (a negative page count is a typo, not a rule)."""
    out: list[Violation] = []
    for value, high, rule, en, zh in ((data.pages, MAX_PAGES, "R-16", "pages", "页数"),
                                      (data.copy_number, MAX_COPIES, "R-30", "copy number", "份号"),
                                      (data.copy_total, MAX_COPIES, "R-30", "number of copies", "总份数")):
        if value is not None and not 1 <= value <= high:
            out.append(Violation(rule, f"The {en} must be 1 to {high}, not {value}.",
                                 f"{zh}须在 1 至 {high} 之间，而不是 {value}。"))
    return out


def known_scope(uow: UnitOfWork) -> tuple[set[str], set[str]]:
    """What a need-to-know scope may name: the units of registered people and places, and registered badges."""
    units = {u for (u,) in uow.session.execute(select(Person.unit).distinct()) if u}
    units |= {u for (u,) in uow.session.execute(select(Location.unit).distinct()) if u}
    badges = {b for (b,) in uow.session.execute(select(Person.badge))}
    return units, badges


def _entry_problems(period_text: str | None, scope_text: str | None, today: date,
                    known: Callable[[], tuple[set[str], set[str]]]) -> list[Violation]:
    """R-02 at entry, beyond parsing: the period lies ahead and the scope names what the register knows. The same
    check for the counter form, `carrier add`, imports and stock-take registrations (they all come through here)."""
    out: list[Violation] = []
    try:
        period = SecrecyPeriod.parse(period_text)
        if period is not None:
            period.check_entry(today)
    except DomainError as e:
        out.append(_domain_violation("R-02", e))
    scope = Scope.parse(scope_text)
    if scope:
        try:
            scope.check_entry(*known())
        except DomainError as e:
            out.append(_domain_violation("R-02", e))
    return out


def _check_code(code: str) -> list[Violation]:
    try:
        parse_carrier_code(code)
    except CodeError as e:
        return [Violation("R-18", e.message_en, e.message_zh)]
    return []


def next_serial(uow: UnitOfWork, site: str) -> int:
    """The next free serial for a site prefix. Runs under the write lock, so two terminals never pick the same."""
    prefix = f"{site}-"
    codes = uow.session.execute(
        select(Carrier.code).where(Carrier.code.like(f"{prefix}%"))
        .order_by(func.length(Carrier.code).desc(), Carrier.code.desc()).limit(1)
    ).scalars().all()
    if not codes:
        return 1
    return parse_carrier_code(codes[0]).serial + 1


def add_location(uow: UnitOfWork, actor: Signed, code: str, name: str, kind: str, max_level: str,
                 parent: str | None = None, reading_place: bool = False, unit: str | None = None) -> str:
    with uow:
        actor_facts(uow, actor, Action.MANAGE_LOCATIONS)
        check_fields((("code", code), ("name", name), ("unit", unit), ("parent", parent)))
        try:
            level = Classification.parse(max_level)
            lkind = LocationKind(kind.strip().lower())
        except (DomainError, ValueError) as e:
            raise DomainError(str(e), getattr(e, "zh", str(e))) from e
        code = printable_code(valid_code(code, "location"), "location")
        parent_row = get_location(uow, parent) if parent else None
        if parent_row is not None and level.rank > Classification(parent_row.max_level).rank:
            refuse([Violation("R-47", f"{code} cannot allow a higher level than its parent {parent}.",
                              f"{code} 的最高密级不能高于上级位置 {parent}。")], "add_location", None, actor.badge)
        exists = uow.session.execute(select(Location.id).where(Location.code == code)).first()
        if exists:
            raise DomainError(f"Location {code} already exists.", f"存放位置 {code} 已存在。")
        uow.session.add(Location(code=code, name=name, kind=lkind.value, max_level=level.value,
                                 parent_id=parent_row.id if parent_row else None, reading_place=reading_place,
                                 unit=unit))
        uow.ledger.append(EventDraft(EventType.LOCATION_ADDED, actor=actor.badge, to_location=code,
                                     payload={"name": name, "kind": lkind.value, "max_level": level.value,
                                              "parent": parent, "reading_place": reading_place}), uow.now())
        uow.commit()
        return code


def register(uow: UnitOfWork, actor: Signed, data: CarrierInput, site: str = "BJ") -> str:
    """Register one carrier into a storage place (登记, R-16); returns its code (generated if not given)."""
    codes = import_rows(uow, actor, [data], site=site)
    return codes[0]


def import_csv(uow: UnitOfWork, actor: Signed, text: str | bytes | io.TextIOBase, site: str = "BJ") -> list[str]:
    """All-or-nothing CSV import: a bad row refuses the whole file and names the row. Bytes are decoded as UTF-8 or
    GB18030 (`tracker.text.decode`), as the stock-take's uploads are."""
    if isinstance(text, bytes):
        text = decode(text, "CSV file")
    stream = io.StringIO(text) if isinstance(text, str) else text
    reader = csv.reader(stream)
    header = _record(reader)
    if header is None:
        raise DomainError("The CSV file is empty.", "CSV 文件为空。")
    for name in header:
        clean("column", name, where=line(1), limit=40)
    unknown = [c for c in header if c and c.strip() not in CSV_COLUMNS]
    if unknown:
        raise DomainError(f"Unknown CSV column(s): {', '.join(unknown)}. Columns: {', '.join(CSV_COLUMNS)}.",
                          f"无法识别的列：{', '.join(unknown)}。可用列：{', '.join(CSV_COLUMNS)}。")
    return import_rows(uow, actor, _csv_inputs(reader, header), site=site)


class _Records:
    """csv.reader's records with its `csv.Error` (a field over the size limit, a NUL on older Pythons, a broken
    quote in strict mode) turned into the bilingual error naming the line, instead of a traceback."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader

    @property
    def line(self) -> int:
        return int(self.reader.line_num)

    def __iter__(self) -> Iterator[list[str]]:
        return self

    def __next__(self) -> list[str]:
        try:
            return list(next(self.reader))
        except csv.Error as e:
            line = self.line
            if "field larger" in str(e):
                most = csv.field_size_limit()
                raise DomainError(
                    f"line {line}: a field is longer than {most} characters; the longest column (title) takes "
                    f"{LIMITS['title']}.",
                    f"第 {line} 行：有字段超过 {most} 个字符；最长的列（标题）只能 {LIMITS['title']} 个字符。",
                ) from None
            raise DomainError(f"line {line}: the CSV cannot be read ({e}).",
                              f"第 {line} 行：CSV 格式有误（{e}）。") from None


def _record(reader: Any) -> list[str] | None:
    return next(_Records(reader), None)


def _int(value: str | None, column: str, row: int) -> int | None:
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        shown = value if len(value) <= 30 else value[:30] + "…"
        raise DomainError(f"Row {row}: {column} must be a whole number, not {shown!r}.",
                          f"第 {row} 行：{column} 须为整数，而不是 {shown!r}。") from None
    return number  # its range is an entry rule's, checked with the row's other rules


def _csv_inputs(reader: Any, header: list[str]) -> Iterator[CarrierInput]:
    """Rows as CarrierInputs, numbered as the file's records (header = row 1; blank lines are skipped, uncounted).

    Cells are picked by position with one `itemgetter`: a column the header lacks reads as None, a cell a short row
    lacks as "", and a later duplicate header wins (as `csv.DictReader` would have it).
    """
    where = {name.strip(): i for i, name in enumerate(header) if name}
    width = len(header)
    pick = itemgetter(*(where.get(c, -1) for c in CSV_COLUMNS))  # -1: the None appended to every row
    padding = [""] * width
    row = 1
    records = _Records(reader)
    for raw in records:
        if not raw:
            continue
        row += 1
        cells: list[str | None] = [c.strip() for c in raw]
        if len(cells) < width:
            cells += padding[len(cells):]
        cells.append(None)
        (code, kind, regime, classification, period, scope, title, doc_number, issuer, copy_number, copy_total,
         pages, capacity, location, epc, held) = pick(cells)
        yield CarrierInput(
            code=code or None, kind=kind or "paper", regime=regime or "state", classification=classification,
            period=period or None, scope=scope or None, title=title or "", doc_number=doc_number or None,
            issuer=issuer or None, copy_number=_int(copy_number, "copy_number", row),
            copy_total=_int(copy_total, "copy_total", row), pages=_int(pages, "pages", row),
            capacity=capacity or None, location=location or "", epc=epc or None, highest_level_held=held or None,
            extra={"row": row, "line": records.line},
        )


def _check_text(data: CarrierInput) -> None:
    """The text policy (`tracker.text`) on one carrier's fields, before anything is written: a control character
    or an over-long value is a DomainError naming the field and the file's line.

    A 100,000-row import calls this 100,000 times, so the common case (nothing to refuse) is one regular-expression
    scan of the joined text and a handful of length comparisons, written out (about 1.8 µs a row, against 4.4 µs for
    `clean` on each field); only a row that fails is gone through field by field for the message. Level, kind,
    regime, period and held level are parsed into enum values (an over-long one cannot parse), so only the texts
    stored as given have their lengths compared here. Counts (pages, copy n/N) are the entry rules' (R-16, R-30), which
are stricter than any column's range."""
    title, doc, issuer, capacity, scope, epc = (data.title, data.doc_number, data.issuer, data.capacity, data.scope,
                                                data.epc)
    joined = " ".join(filter(None, (data.code, epc, title, doc, issuer, capacity, scope, data.location, data.kind,
                                     data.regime, data.classification, data.period, data.highest_level_held)))
    if (control_at(joined) is None and len(title) <= _TITLE and (doc is None or len(doc) <= _DOC)
            and (issuer is None or len(issuer) <= _ISSUER) and (capacity is None or len(capacity) <= _CAPACITY)
            and (scope is None or len(scope) <= _SCOPE) and (epc is None or len(epc) <= _EPC)
            and (data.code is None or len(data.code) <= _CODE)):
        return
    where = line(data.extra["line"]) if "line" in data.extra else None
    for f in ("code", "epc", "title", "doc_number", "issuer", "capacity", "scope", "location", "kind", "regime",
              "classification", "period", "highest_level_held"):
        clean(f, getattr(data, f), where=where)


_TITLE, _DOC, _ISSUER, _CAPACITY, _SCOPE, _EPC, _CODE = (LIMITS[f] for f in ("title", "doc_number", "issuer",
                                                                             "capacity", "scope", "epc", "code"))


# An imported carrier row: the columns taken as given, then the ones the rules derived (`_check_row`).
_CARRIERS = table(Carrier)
_GIVEN = ("code", "epc", "title", "doc_number", "issuer", "copy_number", "copy_total", "pages", "capacity")
_CHECKED = ("kind", "regime", "classification", "highest_level_held", "period", "scope", "location_id")


def _check_row(data: CarrierInput, code: str, places: dict[str, Location],
               place_facts: Callable[[Location], LocationFacts]
               ) -> tuple[tuple[Any, ...] | None, list[Violation], list[Violation], list[Violation]]:
    """The rulebook on one row: its unreadable fields, its unknown place and its rule violations (each naming
    `code`), or when it has none the carrier columns it registers with (in `_CHECKED` order)."""
    facts, unreadable = _parse_input(data, code)
    missing: list[Violation] = []
    place = places.get(data.location.strip()) if data.location else None
    if place is None:
        missing.append(Violation("R-17", f"{code}: storage place {data.location!r} is unknown; every carrier is "
                                         "registered into a place.",
                                 f"{code}：存放位置 {data.location!r} 不存在，载体登记须指定存放位置。"))
    errs = [] if unreadable else check_registration(facts, place_facts(place) if place else None)
    if unreadable or missing or errs:
        return None, unreadable, missing, errs
    assert facts.level is not None and place is not None
    held = facts.highest_level_held
    if facts.kind.is_storage_medium:
        held = max((facts.level, held or facts.level), key=lambda lv: lv.rank)
    period = facts.period.encode() if facts.period else None
    scope = facts.scope.encode() if facts.scope else None
    return (facts.kind.value, facts.regime.value, facts.level.value, held.value if held else None, period, scope,
            place.id), [], [], []


# From this many carriers an import is a bulk write whose WAL checkpoint is left to the store's checkpointer thread
# (a counter's one-off registration is left to SQLite's inline checkpoint, as every other commit).
_BULK = 1000


def import_rows(uow: UnitOfWork, actor: Signed, rows: Iterable[CarrierInput], site: str = "BJ") -> list[str]:
    """Check every row, then write all carriers and their ledger events in one transaction (or nothing).

    The rules are a pure function of a row's facts, and an import repeats a handful of shapes (level, kind, period,
    scope, copy numbers, place) over thousands of rows; so a shape that passed is remembered and each later row of
    that shape is checked by looking it up. A shape that failed is never remembered: each of its rows is checked in
    full, so every refusal names its own row and carrier. The shape key must hold every input field
    `check_registration` and `_parse_input` read: a rule that reads another field must add it to the key.
    """
    with uow:
        codes = import_in(uow, actor, rows, site)
        uow.commit()
        return codes


def import_in(uow: UnitOfWork, actor: Signed, rows: Iterable[CarrierInput], site: str = "BJ",
              check_actor: bool = True) -> list[str]:
    """`import_rows` inside the caller's transaction (收文登记 registers the carrier and its incoming record
    together). `check_actor=False` only for a caller that has checked the actor against its own rule (R-20)."""
    if check_actor:
        actor_facts(uow, actor, Action.REGISTER)
    now = uow.now()
    places = {loc.code: loc for loc in uow.session.execute(select(Location)).scalars()}
    place_facts = lru_cache(maxsize=None)(location_facts)
    serial = next_serial(uow, site)
    problems: list[Violation] = []
    unreadable: list[Violation] = []
    unknown_places: list[Violation] = []
    carriers: list[tuple[Any, ...]] = []
    accepted: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    seen: set[str] = set()
    seen_epc: set[str] = set()
    given: set[str] = set()  # codes typed in: generated ones lie past every registered serial (next_serial)
    today = now.astimezone(uow.policy.tz).date()
    known = lru_cache(maxsize=1)(lambda: known_scope(uow))
    entry: dict[tuple[str | None, str | None], list[Violation]] = {}
    for data in rows:
        _check_text(data)
        bad: list[Violation] = []
        if data.code:
            code = data.code.strip()
            bad = _check_code(code)
            given.add(code)
        else:
            code = make_carrier_code(site, serial)
            serial += 1
        errs: list[Violation] = []
        missing: list[Violation] = []
        unread: list[Violation] = []
        shape_key = (data.classification, data.kind, data.regime, data.period, data.highest_level_held,
                     data.scope, data.copy_number, data.copy_total, data.location)
        shape = accepted.get(shape_key)
        if shape is None:
            shape, unread, missing, errs = _check_row(data, code, places, place_facts)
            if shape is not None:
                accepted[shape_key] = shape
            bad += unread
        if not unread:  # an import repeats a handful of (period, scope) texts: each is judged once
            key = (data.period, data.scope)
            if key not in entry:
                entry[key] = _entry_problems(data.period, data.scope, today, known)
            bad += entry[key]
        if data.pages is not None or data.copy_number is not None or data.copy_total is not None:
            bad += _count_problems(data)
        if code in seen:
            errs.append(Violation("R-18", f"{code} appears twice in this import.", f"{code} 在本次导入中重复。"))
        seen.add(code)
        epc = data.epc.strip().upper() if data.epc else None
        if epc:
            if epc in seen_epc:
                errs.append(Violation("R-18", f"EPC {epc} appears twice.", f"EPC {epc} 重复。"))
            seen_epc.add(epc)
        if bad or missing or errs:
            where = f"row {data.extra['row']}" if "row" in data.extra else None
            for found, into in ((bad, unreadable), (missing, unknown_places), (errs, problems)):
                into += [replace(v, en=f"{where}: {v.en}", zh=f"{where}：{v.zh}") if where else v for v in found]
            if len(problems) + len(unreadable) + len(unknown_places) > 200:
                break
            continue
        assert shape is not None
        carriers.append((code, epc, data.title, data.doc_number, data.issuer, data.copy_number, data.copy_total,
                         data.pages, data.capacity, *shape))
    # Bad input first (exit 2), then what is not there (exit 4), then what the rules refuse (exit 3): a row with
    # an unreadable level is not worth a refusal in the audit log.
    if unreadable:
        raise InvalidInput(unreadable)
    if unknown_places:
        raise _joined(NotFound, [replace(v, en=v.message("en"), zh=v.message("zh")) for v in unknown_places])
    problems += _already_registered(uow, given, seen_epc)
    carriers, renumber, duplicates = _number_copies(uow, carriers)
    problems += duplicates
    refuse(problems, "register", carriers[0][0] if len(carriers) == 1 else None, actor.badge)
    renumbered: dict[str, list[str]] = {}
    for first, (siblings, total) in renumber.items():
        for sibling in siblings:
            sibling.copy_total = total
            sibling.updated_at = now
        renumbered[first] = sorted(c.code for c in siblings)
    if not carriers:
        raise DomainError("Nothing to register.", "没有要登记的载体。")
    insert_rows(uow.session, _CARRIERS, (*_GIVEN, *_CHECKED), carriers,
                {"status": CarrierStatus.IN_STORE.value, "registered_at": now, "updated_at": now})
    place_codes = {loc.id: loc.code for loc in places.values()}
    uow.ledger.append_many(_registered(carriers, place_codes, actor.badge, renumbered), now)
    if len(carriers) >= _BULK:
        uow.defer_checkpoint()
    return [c[0] for c in carriers]


def _registered(carriers: list[tuple[Any, ...]], place_codes: dict[int, str], actor: str,
                renumbered: dict[str, list[str]]) -> Iterator[EventDraft]:
    """Each carrier row's (`_GIVEN` + `_CHECKED`) REGISTERED event, made as the ledger takes it.

    Rows are kept as flat tuples, which the garbage collector stops tracking; 100,000 drafts with their payload dicts
    held until the end were walked by every full collection, about a second of a 100,000-row import.
    """
    for (code, _epc, _title, doc_number, _issuer, copy_number, copy_total, _pages, _capacity,
         kind, _regime, level, _held, period, scope, location_id) in carriers:
        payload = {"classification": level, "kind": kind, "period": period, "scope": scope,
                   "copy": [copy_number, copy_total], "doc_number": doc_number}
        if code in renumbered:  # the document's other copies now say "of N" with this N too
            payload["renumbered"] = renumbered[code]
        yield EventDraft(EventType.REGISTERED, carrier=code, actor=actor, to_location=place_codes[location_id],
                         payload=payload)


def _document(issuer: str | None, doc_number: str | None) -> tuple[str, str] | None:
    """A document is its issuer and its document number (文号); a carrier with no number belongs to none."""
    if not doc_number or not doc_number.strip():
        return None
    return (issuer or "").strip(), doc_number.strip()


def _copies_of(uow: UnitOfWork, documents: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[Carrier]]:
    """The registered copies of these documents, locked: their copy totals may be renumbered."""
    wanted = set(documents)
    numbers = sorted({doc for _issuer, doc in wanted})
    found: dict[tuple[str, str], list[Carrier]] = {}
    for i in range(0, len(numbers), 500):
        rows = uow.session.execute(select(Carrier).where(Carrier.doc_number.in_(numbers[i:i + 500]),
                                                         Carrier.copy_number.is_not(None))
                                   .with_for_update(of=Carrier)).unique().scalars()
        for c in rows:
            key = _document(c.issuer, c.doc_number)
            if key in wanted:
                found.setdefault(key, []).append(c)
    return found


_CopyPlan = tuple[list[tuple[Any, ...]], dict[str, tuple[list[Carrier], int]], list[Violation]]


def _number_copies(uow: UnitOfWork, carriers: list[tuple[Any, ...]]) -> _CopyPlan:
    """One carrier per (issuer, document number, copy number), and one N for all copies of a document (R-29, R-30).

    A copy number already registered (or twice in this batch) is refused, so a repeated save or command never makes a
    second "copy 2 of 2". A copy with a higher N, or a number past the others' N, renumbers N on every copy: the new
    rows are returned with the document's N, and the registered siblings to renumber (keyed by the first new copy,
    whose REGISTERED event names them)."""
    mine: dict[tuple[str, str], list[int]] = {}
    for i, row in enumerate(carriers):
        key = _document(row[4], row[3])
        if key is not None and row[5] is not None:
            mine.setdefault(key, []).append(i)
    if not mine:
        return carriers, {}, []
    registered = _copies_of(uow, mine)
    out = list(carriers)
    renumber: dict[str, tuple[list[Carrier], int]] = {}
    problems = _printed_in_runs(uow, mine, carriers)
    for key, rows in mine.items():
        siblings = registered.get(key, [])
        taken = {c.copy_number: c.code for c in siblings}
        for i in rows:
            code, number = out[i][0], out[i][5]
            if number in taken:
                issuer = f"{key[0]} " if key[0] else ""
                problems.append(Violation(
                    "R-29", f"{code}: copy {number} of {issuer}{key[1]} is already registered as {taken[number]}; "
                            "a copy is registered once (no extra copies). Look it up instead of registering it again.",
                    f"{code}：{issuer}{key[1]} 第{number}份 已登记为 {taken[number]}；每份只登记一次（不得多印多留），"
                    "请查找已登记的载体，不要重复登记。"))
            taken[number] = code
        total = max([c.copy_total or 0 for c in siblings] + [c.copy_number or 0 for c in siblings]
                    + [out[i][6] or 0 for i in rows] + [out[i][5] for i in rows])
        for i in rows:
            out[i] = (*out[i][:6], total, *out[i][7:])
        stale = [c for c in siblings if c.copy_total != total]
        if stale:
            renumber[out[rows[0]][0]] = (stale, total)
    return out, renumber, problems


def _printed_in_runs(uow: UnitOfWork, mine: dict[tuple[str, str], list[int]],
                     carriers: list[tuple[Any, ...]]) -> list[Violation]:
    """R-29: a document printed in an approved run (`services.printruns`) gets no copy registered by hand: a further
    copy is another approved run, which continues the numbering."""
    numbers = sorted({doc for _issuer, doc in mine})
    runs: dict[tuple[str, str], int] = {}
    for i in range(0, len(numbers), 500):
        for issuer, doc, run in uow.session.execute(
                select(PrintRun.issuer, PrintRun.doc_number, PrintRun.id)
                .where(PrintRun.doc_number.in_(numbers[i:i + 500]), PrintRun.status == "completed")):
            key = _document(issuer, doc)
            if key in mine:
                runs[key] = run
    out: list[Violation] = []
    for key, run in runs.items():
        for i in mine[key]:
            code = carriers[i][0]
            out.append(Violation(
                "R-29", f"{code}: {key[1]} is printed in approved runs (print run #{run}); a further copy is not "
                        "registered by hand but printed in a new approved run (tracker print-run new).",
                f"{code}：{key[1]} 按审批印制（印制单 #{run}），不得另行登记加印份数，如需加印须另行审批印制单"
                "（tracker print-run new）。"))
    return out


def _already_registered(uow: UnitOfWork, codes: set[str], epcs: set[str]) -> list[Violation]:
    out: list[Violation] = []
    for column, items in ((Carrier.code, sorted(codes)), (Carrier.epc, sorted(epcs))):
        for i in range(0, len(items), 500):
            chunk = items[i:i + 500]
            for (found,) in uow.session.execute(select(column).where(column.in_(chunk))):
                out.append(Violation("R-18", f"{found} is already registered; codes and tags are unique.",
                                     f"{found} 已登记，编号和标签不得重复。"))
    return out


def copy(uow: UnitOfWork, actor: Signed, code: str, count: int, approval_id: int | None,
         site: str = "BJ", copying_unit: str | None = None, level: str | None = None) -> list[str]:
    """Copies inherit level, period and scope (R-77), get the next copy numbers (R-30) and are registered (R-78)."""
    with uow:
        person, _facts = actor_facts(uow, actor, Action.COPY)
        clean("unit", copying_unit)
        if count > MAX_COPIES:
            raise InvalidInput([Violation("R-79", f"{count} copies is past the bound of {MAX_COPIES}.",
                                          f"复制 {count} 份超出上限 {MAX_COPIES} 份。")])
        now = uow.now()
        original = get_carrier(uow, code)
        approval_id = approval_id or covering(uow, ApprovalPurpose.COPY, original.id, None, now)
        approval = approval_facts(uow, approval_id, original.id)
        try:
            wanted = Classification.parse(level) if level else None
        except DomainError as e:
            raise InvalidInput([_domain_violation("R-77", e)]) from None
        refuse(check_copy(carrier_facts(original), approval, count, now, uow.policy, wanted, actor.badge), "copy",
               code, actor.badge)
        root_id = original.parent_id or original.id
        same = (Carrier.id == root_id) | (Carrier.parent_id == root_id)
        if _document(original.issuer, original.doc_number) is not None:  # copies registered one by one count too
            issuer = Carrier.issuer.is_(None) if original.issuer is None else Carrier.issuer == original.issuer
            same = same | ((Carrier.doc_number == original.doc_number) & issuer & Carrier.copy_number.is_not(None))
        family = list(uow.session.execute(select(Carrier).where(same).with_for_update(of=Carrier)).unique().scalars())
        highest = max([c.copy_number or 0 for c in family] + [c.copy_total or 0 for c in family] + [1])
        total = highest + count
        if original.copy_number is None:
            original.copy_number = 1
        for member in family:
            if member.copy_number is not None:
                member.copy_total = total
                member.updated_at = now
        serial = next_serial(uow, site)
        new_codes: list[str] = []
        drafts: list[EventDraft] = []
        for i in range(count):
            new_code = make_carrier_code(site, serial + i)
            number = highest + 1 + i
            uow.session.add(Carrier(
                code=new_code, kind=original.kind, regime=original.regime, classification=original.classification,
                highest_level_held=original.highest_level_held, period=original.period, scope=original.scope,
                title=original.title, doc_number=original.doc_number, issuer=original.issuer, copy_number=number,
                copy_total=total, pages=original.pages, capacity=original.capacity, parent_id=root_id,
                location_id=original.location_id, status=CarrierStatus.IN_STORE.value, registered_at=now,
                updated_at=now,
            ))
            new_codes.append(new_code)
            drafts.append(EventDraft(
                EventType.COPIED, carrier=new_code, actor=actor.badge,
                to_location=original.location.code if original.location else None, approval_id=approval_id,
                payload={"original": original.code, "copy": [number, total],
                         "copying_unit": copying_unit or person.unit,
                         "approvers": [a.badge for a in approval.approvers] if approval else [],
                         "classification": original.classification, "period": original.period,
                         "scope": original.scope}))
        if approval is not None:
            mark_used(uow, approval.id, [original.id], now)
        uow.session.flush()
        uow.ledger.append_many(drafts, now)
        uow.commit()
        return new_codes


def reclassify(uow: UnitOfWork, actor: Signed, code: str, level: str, period: str | None, scope: str | None,
               approval_id: int | None, basis: str = "") -> None:
    """A 定密 act (R-08): new level/period/scope with an approval; storage media never go down (R-103)."""
    with uow:
        actor_facts(uow, actor, Action.RECLASSIFY)
        check_fields((("basis", basis), ("scope", scope), ("period", period)))
        now = uow.now()
        c = get_carrier(uow, code)
        facts = carrier_facts(c)
        try:
            new_level = Classification.parse(level)
            new_period = SecrecyPeriod.parse(period) if period is not None else facts.period
        except DomainError as e:
            raise InvalidInput([_domain_violation("R-08", e)]) from None
        new_scope = Scope.parse(scope) if scope is not None else facts.scope
        entry = _entry_problems(period, scope, now.astimezone(uow.policy.tz).date(), lambda: known_scope(uow))
        if entry:
            raise InvalidInput(entry)
        assert facts.level is not None
        purpose = reclassify_purpose(facts.level, new_level, facts.scope, new_scope, new_period == facts.period)
        approval_id = approval_id or covering(uow, purpose, c.id, None, now)
        approval = approval_facts(uow, approval_id, c.id)
        place = location_facts(c.location) if c.location else None
        refuse(check_reclassify(facts, new_level, new_period, new_scope, approval, place, now, uow.policy,
                                actor.badge), "reclassify", code, actor.badge)
        old = {"classification": c.classification, "period": c.period, "scope": c.scope}
        c.classification = new_level.value
        c.period = new_period.encode() if new_period else None
        c.scope = new_scope.encode() if new_scope else None
        if CarrierKind(c.kind).is_storage_medium:
            levels = [Classification(x) for x in (old["classification"], c.highest_level_held, new_level.value) if x]
            c.highest_level_held = max(levels, key=lambda lv: lv.rank).value
        c.updated_at = now
        if approval is not None:
            mark_used(uow, approval.id, [c.id], now)
        uow.ledger.append(EventDraft(EventType.RECLASSIFIED, carrier=code, actor=actor.badge, approval_id=approval_id,
                                     payload={"from": old, "to": {"classification": c.classification,
                                                                  "period": c.period, "scope": c.scope},
                                              "basis": basis}), now)
        uow.commit()


def move(uow: UnitOfWork, actor: Signed, code: str, to_location: str, reason: str = "") -> None:
    with uow:
        actor_facts(uow, actor, Action.MOVE)
        clean("reason", reason)
        now = uow.now()
        c = get_carrier(uow, code)
        place = get_location(uow, to_location)
        refuse(check_move(carrier_facts(c), location_facts(place)), "move", code, actor.badge)
        old = c.location.code if c.location else None
        c.location_id = place.id
        c.updated_at = now
        uow.ledger.append(EventDraft(EventType.MOVED, carrier=code, actor=actor.badge, from_location=old,
                                     to_location=place.code, payload={"reason": reason}), now)
        uow.commit()


def set_epc(uow: UnitOfWork, actor: Signed, code: str, epc: str | None, tid: str | None) -> None:
    """Record what a label print wrote into the tag (EPC) and read back (TID)."""
    with uow:
        actor_facts(uow, actor, Action.LABEL)
        c = get_carrier(uow, code)
        if epc:
            other = uow.session.execute(select(Carrier.code).where(Carrier.epc == epc.upper(),
                                                                   Carrier.id != c.id)).first()
            if other:
                refuse([Violation("R-18", f"EPC {epc} already belongs to {other[0]}.",
                                  f"EPC {epc} 已属于 {other[0]}。")], "label", code, actor.badge)
        c.epc = epc.upper() if epc else c.epc
        c.tid = tid.upper() if tid else c.tid
        c.updated_at = uow.now()
        uow.ledger.append(EventDraft(EventType.LABEL_ENCODED, carrier=code, actor=actor.badge,
                                     payload={"epc": c.epc, "tid": c.tid}), uow.now())
        uow.commit()


def count_carriers(uow: UnitOfWork) -> int:
    return int(uow.session.execute(select(func.count(Carrier.id))).scalar_one())

