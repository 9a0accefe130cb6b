"""Replay the custody ledger into the state it implies and compare that state with the current-state tables.

The hash chain proves the ledger was not rewritten; it says nothing about the tables beside it. Someone with write
access to the database can run `UPDATE carriers SET status='destroyed'` or turn a 绝密 carrier into an unclassified one
without touching an event, and every screen would show the forged state. This module owns the other half of `ledger
verify`: it walks the events in order, applies what each one implies exactly as the service that wrote it changed the
tables (status, holder, place, level, copy n/N and the open loan of every carrier; clearance, roles and status of
every person), then reads the tables in the same snapshot and names each difference (subject, field, ledger says,
table says). An event type it does not know is itself a finding: the replay fails closed rather than guess.

It only reads; it never repairs a table (which side is right is for a person to decide, from the paper record and
the anchors). Measured on 1,000,000 events and 1,000,000 carriers (bench/bench_verify.py), the walk runs on the
driver's rows (tuples), parses a payload only for the four event types whose payload carries state, and keeps one
small list per carrier: no ORM object, no SQLAlchemy Row per event.
"""

from __future__ import annotations

import gc
import json
import json.scanner
import re
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from sqlalchemy import Connection

from tracker.domain import CarrierStatus, EventType


def _loader() -> Callable[[str], Any]:
    """`json.loads` without its Python wrappers (two whitespace regex matches and a method call per document), which
    cost more than the C scanner's own work on a million small payloads. Ledger payloads are compact canonical JSON
    (`ledger.canonical_payload`) with nothing around the object, so scanning from 0 reads the whole document."""
    make: Any = json.scanner.make_scanner  # typeshed types it as taking the decoder's private context
    scan = make(json.JSONDecoder())

    def load(text: str) -> Any:
        try:
            return scan(text, 0)[0]
        except StopIteration:
            return json.loads(text)  # not JSON at all: let json say so

    return load


_load = _loader()
# The start of a REGISTERED payload in its canonical form (sorted keys, no spaces): read without a JSON parse, as it
# is most of a register's events. Anything else — another key order, a value of another shape — goes through JSON.
_REGISTERED_HEAD = re.compile(r'\{"classification":"([a-z_]+)","copy":\[(\d{1,9}|null),(\d{1,9}|null)\][,}]')
MAX_DIFFERENCES = 1000  # kept in a report; the count says how many there were in all
NONE = "—"


class Difference(NamedTuple):
    """One disagreement. A tuple, so `json.dumps` writes it as [subject, field, ledger, table]."""

    subject: str  # a carrier code or a person's badge
    field: str
    ledger: str
    table: str


FIELD_ZH = {
    "presence": "登记记录", "status": "状态", "holder": "持有人", "place": "存放位置", "level": "密级",
    "copy": "份号", "open loan": "未归还借出", "clearance": "涉密等级", "roles": "角色", "person status": "人员状态",
    "event": "事件",
}


def driver_rows(conn: Connection, sql: str, name: str, batch: int = 20000) -> Iterator[tuple[Any, ...]]:
    """Rows as the driver returns them, streamed: over a million rows SQLAlchemy's Row objects cost more than the
    work done on them. On PostgreSQL a named (server-side) cursor keeps the rows out of memory."""
    raw: Any = conn.connection.dbapi_connection
    cur = raw.cursor(name=name) if conn.dialect.name == "postgresql" else raw.cursor()
    try:
        cur.execute(sql)
        while rows := cur.fetchmany(batch):
            yield from rows
    finally:
        cur.close()


# Carrier state slots (a list per carrier: small, and no attribute lookups in the hot loop).
STATUS, HOLDER, PLACE, LEVEL, COPY_N, COPY_TOTAL, LOAN, ROOT = range(8)
# Person state slots.
CLEARANCE, ROLES, PSTATUS = range(3)

# Events that change nothing a table holds about a carrier or a person's clearance, roles and status.
INERT = frozenset({EventType.LOCATION_ADDED, EventType.APPROVAL_GRANTED, EventType.LABEL_ENCODED,
                   EventType.STOCKTAKE_STARTED, EventType.STOCKTAKE_RESOLVED, EventType.STOCKTAKE_CLOSED,
                   EventType.LEDGER_SEALED, EventType.APPROVAL_REQUESTED, EventType.APPROVAL_DECIDED,
                   EventType.POLICY_CHANGED, EventType.DESTRUCTION_BATCH_OPENED, EventType.ARCHIVE_CONSULTED,
                   EventType.MEDIUM_CERTIFIED,  # a fact about a computer, never a movement
                   EventType.PRINT_RUN_REQUESTED, EventType.PRINT_RUN_COMPLETED, EventType.MEETING_OPENED,
                   EventType.MEETING_KEPT, EventType.MEETING_CLOSED,
                   # An incident is evidence and work, never a movement: custody is unchanged by it.
                   EventType.INCIDENT_OPENED, EventType.INCIDENT_UPDATED, EventType.INCIDENT_CLOSED,
                   # Packages and their seals are containers, never custody; an incoming record and a proxy
                   # designation describe a carrier and a person without moving either (services.transit).
                   EventType.INCOMING_REGISTERED, EventType.PACKAGE_CREATED, EventType.PACKED,
                   EventType.PACKAGE_SEALED, EventType.PACKAGE_OPENED, EventType.PROXY_DESIGNATED,
                   # A campaign lists and verifies; its returns are check-ins. A lifecycle record is a fact about a
                   # person (a training, a pledge) that changes no clearance, role or status.
                   EventType.CAMPAIGN_OPENED, EventType.CAMPAIGN_SCANNED, EventType.CAMPAIGN_CLOSED,
                   EventType.PERSON_RECORDED,
                   # A gate or cabinet bound to a reader is configuration of the watch, not a movement.
                   EventType.READER_PLACE_ADDED})

_IN_STORE, _ON_LOAN, _IN_TRANSIT, _CARRIED_OUT, _MISSING = (
    CarrierStatus.IN_STORE.value, CarrierStatus.ON_LOAN.value, CarrierStatus.IN_TRANSIT.value,
    CarrierStatus.CARRIED_OUT.value, CarrierStatus.MISSING.value)


class Replay:
    """The state the ledger implies, built event by event (`run`), then compared with the tables (`compare`)."""

    def __init__(self) -> None:
        self.carriers: dict[str, list[Any]] = {}
        self.people: dict[str, list[str | None]] = {}
        self.families: dict[str, list[str]] = {}  # root code -> its copies, only for carriers that were copied
        self.findings: list[Difference] = []
        self.count = 0
        self._strings: dict[str, str] = {}
        self._unknown: set[str] = set()
        self._apply: dict[str, Callable[[tuple[Any, ...]], None]] = {
            EventType.REGISTERED.value: self._registered, EventType.COPIED.value: self._copied,
            EventType.RECLASSIFIED.value: self._reclassified, EventType.MOVED.value: self._moved,
            EventType.CHECKED_OUT.value: self._checked_out, EventType.CHECKED_IN.value: self._checked_in,
            EventType.HANDED_OVER.value: self._handed_over, EventType.CARRIED_OUT.value: self._carried_out,
            EventType.REPORTED_MISSING.value: self._reported_missing, EventType.FOUND.value: self._found,
            EventType.PERSON_ADDED.value: self._person_added, EventType.PERSON_CHANGED.value: self._person_changed,
            EventType.PERSON_DEPARTED.value: self._person_departed,
            EventType.DESTRUCTION_LISTED.value: self._listed, EventType.DESTRUCTION_UNLISTED.value: self._unlisted,
            EventType.ARCHIVED.value: self._archived, EventType.DESTROYED.value: self._left,
            EventType.RETURNED_TO_ISSUER.value: self._left, EventType.TRANSFERRED_OUT.value: self._left,
            EventType.PRINTED.value: self._printed, EventType.PRINT_BYPRODUCTS.value: self._printed,
            EventType.MEETING_ISSUED.value: self._meeting_issued,
            EventType.MEETING_COLLECTED.value: self._meeting_collected,
            EventType.DISPATCHED.value: self._dispatched, EventType.TRANSIT_HOP.value: self._transit_hop,
            EventType.TRANSIT_RECEIVED.value: self._checked_in,
            EventType.PERSONAL_DELIVERED.value: self._personal_delivered,
        }

    # --- findings ------------------------------------------------------------------------------------------------

    def note(self, subject: str, field: str, ledger: Any, table: Any) -> None:
        self.count += 1
        if len(self.findings) < MAX_DIFFERENCES:
            self.findings.append(Difference(subject, field, _text(ledger), _text(table)))

    def _share(self, value: str | None) -> str | None:
        """One string object per distinct place or badge: a million carriers otherwise keep a million copies."""
        if value is None:
            return None
        return self._strings.setdefault(value, value)

    # --- the walk ------------------------------------------------------------------------------------------------

    def run(self, rows: Iterator[tuple[Any, ...]]) -> None:
        """Apply events given as (seq, type, carrier, from_holder, to_holder, to_location, payload) in ascending
        sequence order. A row out of that order raises `OutOfOrder`, and this half-built replay is to be thrown away."""
        apply, carriers, load = self._apply, self.carriers, _load
        share = self._strings.setdefault
        registered, head = EventType.REGISTERED.value, _REGISTERED_HEAD.match
        last = 0
        for row in rows:
            if row[0] <= last:
                raise OutOfOrder(row[0])
            last = row[0]
            if row[1] == registered and row[2] not in carriers and '"renumbered":' not in row[6]:
                # most events by far: inlined `_registered` (a copy that renumbers its siblings goes the long way)
                code, place = row[2], row[5]
                m = head(row[6])
                if m is not None:
                    level, n, total = m.groups()
                    n = None if n == "null" else int(n)
                    total = None if total == "null" else int(total)
                else:
                    p = load(row[6])
                    copy, level = p.get("copy"), p.get("classification")
                    if type(copy) is list and len(copy) == 2:
                        n, total = copy
                    else:
                        n = total = None
                carriers[code] = [_IN_STORE, None, place and share(place, place), level and share(level, level), n,
                                  total, None, code]
                continue
            handler = apply.get(row[1])
            if handler is not None:
                handler(row)
            elif row[1] not in _INERT_VALUES and row[1] not in self._unknown:
                self._unknown.add(row[1])
                self.note(f"#{row[0]}", "event", f"type {row[1]!r}, not known to this version's replay",
                          "cannot be checked")

    def _carrier(self, row: tuple[Any, ...]) -> list[Any] | None:
        state = self.carriers.get(row[2])
        if state is None:
            self.note(str(row[2]), "presence", f"{row[1]} at #{row[0]} before any registration", NONE)
        return state

    def _new(self, row: tuple[Any, ...], level: str | None, copy: Any, root: str) -> list[Any] | None:
        code = row[2]
        if code in self.carriers:
            self.note(code, "presence", f"registered again at #{row[0]}", NONE)
            return None
        n, total = (copy[0], copy[1]) if isinstance(copy, list) and len(copy) == 2 else (None, None)
        state = [_IN_STORE, None, self._share(row[5]), self._share(level), n, total, None, root]
        self.carriers[code] = state
        return state

    def _registered(self, row: tuple[Any, ...]) -> None:
        p = _load(row[6])
        self._new(row, p.get("classification"), p.get("copy"), row[2])
        self._renumber(row, p)

    def _renumber(self, row: tuple[Any, ...], p: dict[str, Any]) -> None:
        """services.registry and services.printruns: a copy that raises a document's N names the registered copies
        that now say "of N" too (`renumbered`), on its own event."""
        copy = p.get("copy")
        total = copy[1] if isinstance(copy, list) and len(copy) == 2 else None
        for code in p.get("renumbered") or ():
            state = self.carriers.get(code)
            if state is None:
                self.note(str(code), "presence", f"renumbered at #{row[0]} before any registration", NONE)
            else:
                state[COPY_TOTAL] = total

    def _copied(self, row: tuple[Any, ...]) -> None:
        # services.registry.copy: the family is the root and its direct copies; every member with a copy number
        # takes the new total, and an original without a number becomes copy 1.
        p = _load(row[6])
        original = self.carriers.get(p.get("original"))
        copy = p.get("copy")
        if original is None:
            self.note(str(row[2]), "presence", f"copied at #{row[0]} from unregistered {p.get('original')}", NONE)
            return
        root = original[ROOT]
        total = copy[1] if isinstance(copy, list) and len(copy) == 2 else None
        if original[COPY_N] is None:
            original[COPY_N] = 1
        family = self.families.setdefault(root, [])
        for member in (root, *family):
            state = self.carriers.get(member)
            if state is not None and state[COPY_N] is not None:
                state[COPY_TOTAL] = total
        if self._new(row, p.get("classification"), copy, root) is not None:
            family.append(row[2])

    def _reclassified(self, row: tuple[Any, ...]) -> None:
        state = self._carrier(row)
        if state is not None:
            to = _load(row[6]).get("to") or {}
            state[LEVEL] = self._share(to.get("classification"))

    def _moved(self, row: tuple[Any, ...]) -> None:
        state = self._carrier(row)
        if state is not None:
            state[PLACE] = self._share(row[5])

    def _checked_out(self, row: tuple[Any, ...]) -> None:
        state = self._carrier(row)
        if state is not None:
            holder = self._share(row[4])
            kind = "repair" if '"repair":' in row[6] else "loan"  # services.endoflife.send_for_repair, in-house
            state[STATUS], state[HOLDER], state[PLACE], state[LOAN] = _ON_LOAN, holder, None, (kind, holder)

    def _checked_in(self, row: tuple[Any, ...]) -> None:
        state = self._carrier(row)
        if state is not None:
            state[STATUS], state[HOLDER], state[PLACE], state[LOAN] = _IN_STORE, None, self._share(row[5]), None

    def _handed_over(self, row: tuple[Any, ...]) -> None:
        # services.circulation.handover: to a courier it is in transit, to anyone else on loan; carried out stays so.
        state = self._carrier(row)
        if state is not None:
            taker = self._share(row[4])
            if state[STATUS] != _CARRIED_OUT:
                person = self.people.get(taker or "")
                roles = (person[ROLES] or "") if person is not None else ""
                state[STATUS] = _IN_TRANSIT if "courier" in roles.split(",") else _ON_LOAN
            state[HOLDER] = taker

    def _carried_out(self, row: tuple[Any, ...]) -> None:
        state = self._carrier(row)
        if state is not None:
            holder = self._share(row[4])
            kind = "repair" if '"repair":' in row[6] else "carry_out"  # a repair outside is carried out too
            state[STATUS], state[HOLDER], state[PLACE], state[LOAN] = _CARRIED_OUT, holder, None, (kind, holder)

    def _reported_missing(self, row: tuple[Any, ...]) -> None:
        state = self._carrier(row)  # the loan stays open until the carrier is found (services.incidents)
        if state is not None:
            state[STATUS], state[HOLDER], state[PLACE] = _MISSING, None, None

    def _found(self, row: tuple[Any, ...]) -> None:
        state = self._carrier(row)
        if state is not None:
            state[STATUS], state[PLACE], state[LOAN] = _IN_STORE, self._share(row[5]), None

    # Print runs (services.printruns): a printed copy or the run's by-products enter the store like a registration;
    # a reprint renumbers the document's earlier copies to the new total, named on its first copy's event.
    def _printed(self, row: tuple[Any, ...]) -> None:
        p = _load(row[6])
        self._new(row, p.get("classification"), p.get("copy"), row[2])
        self._renumber(row, p)

    # Meetings (services.meetings): issued to an attendee (held, no loan record), collected back into a place.
    def _meeting_issued(self, row: tuple[Any, ...]) -> None:
        state = self._carrier(row)
        if state is not None:
            state[STATUS], state[HOLDER], state[PLACE] = _ON_LOAN, self._share(row[4]), None

    def _meeting_collected(self, row: tuple[Any, ...]) -> None:
        state = self._carrier(row)
        if state is not None:
            state[STATUS], state[HOLDER], state[PLACE] = _IN_STORE, None, self._share(row[5])

    # End of life (services.destruction, services.endoflife): listing keeps the place, leaving clears it.
    def _listed(self, row: tuple[Any, ...]) -> None:
        state = self._carrier(row)
        if state is not None:
            state[STATUS] = CarrierStatus.PENDING_DESTRUCTION.value

    def _unlisted(self, row: tuple[Any, ...]) -> None:
        state = self._carrier(row)
        if state is not None:
            state[STATUS] = _load(row[6]).get("status")

    def _archived(self, row: tuple[Any, ...]) -> None:
        state = self._carrier(row)
        if state is not None:
            state[STATUS], state[PLACE] = CarrierStatus.ARCHIVED.value, self._share(row[5])

    def _left(self, row: tuple[Any, ...]) -> None:
        state = self._carrier(row)  # destroyed, returned_to_issuer, transferred_out: the event type is the status
        if state is not None:
            state[STATUS], state[HOLDER], state[PLACE], state[LOAN] = row[1], None, None, None

    # Transit (services.transit, services.incoming): the courier holds from dispatch, each hop's taker after it,
    # and receipt puts the carrier in the destination place (as a check-in does); a 亲启 item handed to its
    # addressee is held by them, with no loan record.
    def _dispatched(self, row: tuple[Any, ...]) -> None:
        state = self._carrier(row)
        if state is not None:
            state[STATUS], state[HOLDER], state[PLACE] = _IN_TRANSIT, self._share(row[4]), None

    def _transit_hop(self, row: tuple[Any, ...]) -> None:
        state = self._carrier(row)
        if state is not None:
            state[HOLDER] = self._share(row[4])

    def _personal_delivered(self, row: tuple[Any, ...]) -> None:
        state = self._carrier(row)
        if state is not None:
            state[STATUS], state[HOLDER], state[PLACE] = _ON_LOAN, self._share(row[4]), None

    def _person_added(self, row: tuple[Any, ...]) -> None:
        p = _load(row[6])
        self.people[row[4]] = [p.get("clearance"), p.get("roles") or "", "active"]

    def _person_changed(self, row: tuple[Any, ...]) -> None:
        person = self.people.get(row[4])
        if person is None:
            self.note(str(row[4]), "presence", f"{row[1]} at #{row[0]} before the person was added", NONE)
            return
        p = _load(row[6])
        if "clearance" in p:
            person[CLEARANCE] = p["clearance"]
        if "roles" in p:
            person[ROLES] = p["roles"] or ""
        if "status" in p:
            person[PSTATUS] = p["status"]

    def _person_departed(self, row: tuple[Any, ...]) -> None:
        person = self.people.get(row[3])
        if person is None:
            self.note(str(row[3]), "presence", f"{row[1]} at #{row[0]} before the person was added", NONE)
            return
        person[ROLES], person[PSTATUS] = "", "departed"
        if '"clearance":' in row[6]:  # services.personnel.leave: no clearance during the 脱密期
            person[CLEARANCE] = _load(row[6]).get("clearance")

    # --- the comparison ------------------------------------------------------------------------------------------

    def compare(self, conn: Connection) -> None:
        """Read the tables (on the caller's transaction, so in the snapshot the events were read in) and note every
        field that disagrees with the replayed state; then every subject only one side knows."""
        badges: dict[int, str] = {}
        people = self.people
        for pid, badge, clearance, roles, status in driver_rows(
                conn, "SELECT id, badge, clearance, roles, status FROM people", "replay_people"):
            badges[pid] = badge
            want = people.pop(badge, None)
            if want is None:
                self.note(badge, "presence", NONE, "person in the table, never added in the ledger")
                continue
            if want[CLEARANCE] != clearance:
                self.note(badge, "clearance", want[CLEARANCE], clearance)
            if _roles(want[ROLES]) != _roles(roles):
                self.note(badge, "roles", want[ROLES], roles)
            if want[PSTATUS] != status:
                self.note(badge, "person status", want[PSTATUS], status)
        for badge in people:
            self.note(badge, "presence", "person added", "no row in people")
        places = dict(driver_rows(conn, "SELECT id, code FROM locations", "replay_places"))
        loans: dict[int, tuple[str, str | None]] = {}
        for carrier_id, borrower_id, kind in driver_rows(
                conn, "SELECT carrier_id, borrower_id, kind FROM loans WHERE open_carrier_id IS NOT NULL",
                "replay_loans"):
            if carrier_id in loans:
                self.note(f"carrier id {carrier_id}", "open loan", "at most one", "several")
            loans[carrier_id] = (kind, badges.get(borrower_id))
        carriers = self.carriers
        note = self.note
        for cid, code, status, holder_id, place_id, level, n, total in driver_rows(
                conn, "SELECT id, code, status, holder_id, location_id, classification, copy_number, copy_total "
                      "FROM carriers", "replay_carriers"):
            was = carriers.pop(code, None)
            if was is None:
                note(code, "presence", "never registered", "carrier in the table")
                continue
            if was[STATUS] != status:
                note(code, "status", was[STATUS], status)
            holder = badges.get(holder_id)  # None for None: no person has a null id
            if was[HOLDER] != holder:
                note(code, "holder", was[HOLDER], holder if holder_id is None or holder else f"id {holder_id}")
            place = places.get(place_id)
            if was[PLACE] != place:
                note(code, "place", was[PLACE], place if place_id is None or place else f"id {place_id}")
            if was[LEVEL] != level:
                note(code, "level", was[LEVEL], level)
            if was[COPY_N] != n or was[COPY_TOTAL] != total:
                note(code, "copy", _copy(was[COPY_N], was[COPY_TOTAL]), _copy(n, total))
            loan = loans.get(cid)
            if was[LOAN] != loan:
                note(code, "open loan", _loan(was[LOAN]), _loan(loan))
        for code in carriers:
            note(code, "presence", "registered", "no row in carriers")


_INERT_VALUES = frozenset(t.value for t in INERT)
REPLAY_SELECT = ("SELECT seq, type, carrier, from_holder, to_holder, to_location, payload FROM events "  # noqa: S608
                 f"WHERE type NOT IN ({', '.join(repr(t) for t in sorted(_INERT_VALUES))}) ORDER BY seq")


def _text(value: Any) -> str:
    return NONE if value is None or value == "" else str(value)


def _roles(text: str | None) -> frozenset[str]:
    return frozenset(r for r in (text or "").split(",") if r)


def _copy(n: Any, total: Any) -> str:
    return NONE if n is None and total is None else f"{_text(n)}/{_text(total)}"


def _loan(loan: tuple[str, str | None] | None) -> str:
    return NONE if loan is None else f"{loan[0]} to {_text(loan[1])}"


class OutOfOrder(Exception):
    """Rows came in an order other than their sequence numbers' (then they are read again, sorted)."""


def replay_and_compare(conn: Connection, through: int) -> Replay:
    """Replay events 1..`through` and compare with the tables, all on the caller's transaction.

    On SQLite the events are first read in storage (rowid) order, a plain table scan, 30% cheaper than walking the
    `seq` index and looking each row up: events are inserted in sequence order, so the two orders agree unless
    someone reinserted rows — which `run` notices (a sequence number not above the last one) and the events are then
    read again in `seq` order."""
    collecting = gc.isenabled()
    gc.disable()  # a million small lists, none in a cycle: the collector would walk them over and over (a third)
    try:
        return _replay_and_compare(conn, through)
    finally:
        if collecting:
            gc.enable()


def _replay_and_compare(conn: Connection, through: int) -> Replay:
    sql = REPLAY_SELECT.replace(" ORDER BY seq", f" AND seq <= {int(through)} ORDER BY seq")
    if conn.dialect.name == "sqlite":
        r = Replay()
        try:
            r.run(driver_rows(conn, sql.replace("ORDER BY seq", "ORDER BY rowid"), "replay_events"))
        except OutOfOrder:
            pass
        else:
            r.compare(conn)
            return r
    r = Replay()
    r.run(driver_rows(conn, sql, "replay_events"))
    r.compare(conn)
    return r


def summary(r: Replay, shown: int = 20) -> tuple[str, str]:
    """The findings as one bilingual message, the first `shown` spelled out."""
    lines_en = [f"{d.subject}: {d.field} — ledger says {d.ledger}, table says {d.table}" for d in r.findings[:shown]]
    lines_zh = [f"{d.subject}：{FIELD_ZH.get(d.field, d.field)}——台账为 {d.ledger}，数据表为 {d.table}"
                for d in r.findings[:shown]]
    more = r.count - len(lines_en)
    en = (f"The tables disagree with the ledger in {r.count} place(s) (someone changed them outside the ledger):\n"
          + "\n".join(lines_en) + (f"\n… and {more} more" if more > 0 else ""))
    zh = (f"数据表与台账不符，共 {r.count} 处（有人绕过台账修改了数据）：\n"
          + "\n".join(lines_zh) + (f"\n……另有 {more} 处" if more > 0 else ""))
    return en, zh
