"""The smart cabinet watcher (智能柜): inventories turned into take-outs and put-backs, and silent tags into alerts.

The register is the baseline: what it keeps in the cabinet (the cabinet and its shelves) is what the reader should
hear. When the door closes the watcher lets the reader run `settle` seconds, then compares what it heard since the
close with the register. Only rounds begun after the close count: the first batch of reads delivered after the close
may be a round the reader started while the door was still open (a taken carrier still in the field), so hearings
count from the second batch on, and the reconciliation waits for that fresh batch (at most `settle` × 3 more, then it
judges with what it has — an empty cabinet hears nothing at all). A carrier no longer heard was taken out by whoever
opened the door (the badge at the cabinet's scanner); a carrier heard that the register had out with a person was put
back by them.

A take-out is checked exactly as a check-out at the counter (`rules.check_checkout`: clearance R-159, need-to-know
R-54, the loan approval the policy asks for R-63, a reading place for 绝密 R-67 — the room the cabinet stands in).
Decision (documented in README): an allowed take-out IS a loan to the person who opened the cabinet (one CHECKED_OUT
event, actor = that person, payload names the cabinet), because R-17 wants the register to show who holds it now; a
refused one is an alarm and an incident, never a loan, and custody stays as it was (the register still says
"in the cabinet" and the incident says who took it). A put-back is a check-in to the cabinet (R-66). While the door
stays closed the watcher inventories on a schedule; a carrier the register keeps inside that has not been heard for
`silent_after` seconds is an alert (an incident the security officer works), once per carrier. A door left open
longer than the policy's `cabinet_door_open_minutes` (R-38: carriers are kept locked away) fires the alarm outputs
and is an alert on the watch panel, once per opening.
This module never lends or returns anything the rules refuse, and never trusts a door event for more than naming
who opened the door.
"""

from __future__ import annotations

import json
import logging
import queue
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from drivers.reads import DeviceStatus, Read, ReadKind
from tracker.domain import ApprovalPurpose, CarrierStatus, Classification, EventType, IncidentKind, utc_iso
from tracker.ledger import EventDraft
from tracker.rules import Violation, check_cabinet_return, check_checkout
from tracker.schema import Carrier, Incident, IncidentCarrier, Loan, Location, Person, WatchEntry
from tracker.services import incidents
from tracker.services.approvals import approval_facts, covering, mark_used
from tracker.services.common import carrier_facts, close_open_loan, get_carrier, location_facts, person_facts
from tracker.store import Store, UnitOfWork
from tracker.watch.background import Background
from tracker.watch.outputs import Alarm, Outputs
from tracker.watch.places import CabinetSpec, TagResolver

log = logging.getLogger(__name__)
_IN_PLACE = [s.value for s in CarrierStatus if s.in_place]
BATCH = 0.05


@dataclass(frozen=True, slots=True)
class Door:
    """A door event from the cabinet's controller: opened by a badge (None: forced, or no badge read), or closed."""

    open: bool
    badge: str | None = None


@dataclass
class Reconciliation:
    """One inventory compared with the register."""

    read: int
    expected: int
    taken: list[str] = field(default_factory=list)
    returned: list[str] = field(default_factory=list)
    alarms: list[str] = field(default_factory=list)
    silent: list[str] = field(default_factory=list)
    misplaced: list[str] = field(default_factory=list)
    seconds: float = 0.0


class CabinetWatcher(Background):
    def __init__(self, store: Store, spec: CabinetSpec, outputs: Outputs | None = None, *, settle: float = 1.0,
                 interval: float = 60.0, silent_after: float = 180.0,
                 clock: Callable[[], float] = time.monotonic,
                 on_reconcile: Callable[[Reconciliation], None] | None = None) -> None:
        super().__init__()
        self.store = store
        self.spec = spec
        self.outputs = outputs or Outputs()
        self.settle, self.interval, self.silent_after = settle, interval, silent_after
        self.clock = clock
        self.on_reconcile = on_reconcile
        self.resolver = TagResolver()
        self.last_seen: dict[str, float] = {}
        self.started = clock()
        self.door_open = False
        self.opener: str | None = None
        self.closed_at = self.started
        self.due: float | None = None  # when the reconciliation after a door close runs
        self.batches_since_close = 0
        self.opened_at: float | None = None
        self.door_alerted = False
        with store.uow(readonly=True) as uow:  # the register's policy, never a client's: a minute at the least
            self.door_open_limit = 60.0 * max(1, uow.policy.cabinet_door_open_minutes)
        self.fresh_from: float | None = None  # when the first batch of a round begun after the close arrived
        self.next_inventory = self.started + interval
        self.silent_reported: set[str] = set()
        self.history: list[Reconciliation] = []
        self._queue: queue.SimpleQueue[Read | DeviceStatus | Door] = queue.SimpleQueue()

    # -- feeding -------------------------------------------------------------------------------------------------

    def sink(self, event: Read | DeviceStatus | Door) -> None:
        self._queue.put(event)

    def door(self, event: Door, t: float) -> None:
        if event.open:
            self.door_open = True
            self.opener = event.badge.strip().upper() if event.badge else None
            self.due = None
            if self.opened_at is None:  # OPEN repeated while open (a second badge) does not restart the count
                self.opened_at, self.door_alerted = t, False
        else:
            self.door_open = False
            self.opened_at = None
            self.closed_at = t
            self.due = t + self.settle
            self.batches_since_close, self.fresh_from = 0, None

    def handle(self, reads: Sequence[Read], t: float) -> None:
        if not self.door_open and self.fresh_from is None:
            self.batches_since_close += 1
            if self.batches_since_close == 2:
                self.fresh_from = t
        epcs = {r.code.upper() for r in reads if r.kind == ReadKind.EPC}
        if not epcs:
            return
        tags = self.resolver.cached(epcs)  # a closed cabinet hears the same tags all day: no transaction for them
        if tags is None:
            with self.store.uow(readonly=True) as uow:
                tags = self.resolver.resolve(uow, epcs)
        for tag in tags.values():
            if tag.code is not None and tag.kind == "carrier":
                self.last_seen[tag.code] = t

    def tick(self, t: float) -> Reconciliation | None:
        """Run whatever is due at `t`: the reconciliation after a door close, or the scheduled inventory."""
        if self.door_open and not self.door_alerted and self.opened_at is not None \
                and t - self.opened_at >= self.door_open_limit:
            self.door_alerted = True
            self._door_left_open(t - self.opened_at)
        if (self.due is not None and not self.door_open and t >= self.due
                and (self.fresh_from is not None or t >= self.due + 3 * self.settle)):
            self.due = None
            self.next_inventory = t + self.interval
            return self.reconcile(t)
        if not self.door_open and self.due is None and t >= self.next_inventory:
            self.next_inventory = t + self.interval
            return self.inventory(t)
        return None

    # -- deciding ------------------------------------------------------------------------------------------------

    def _expected(self, uow: UnitOfWork) -> set[str]:
        return set(uow.session.execute(select(Carrier.code).where(Carrier.location_id.in_(self.spec.holds),
                                                                  Carrier.status.in_(_IN_PLACE))).scalars())

    def reconcile(self, t: float) -> Reconciliation:
        """After a door close: what left went with the opener, what came back came back from them."""
        began = self.clock()
        since = self.closed_at if self.fresh_from is None else self.fresh_from
        heard = {code for code, seen in self.last_seen.items() if seen >= since}
        with self.store.uow(readonly=True) as uow:
            expected = self._expected(uow)
        result = Reconciliation(len(heard), len(expected))
        for code in sorted(expected - heard):
            if code in self.silent_reported:
                # Already unheard while the door was shut: whoever opens the door next did not take it. Its alert
                # stands; lending it to them would put a loss on an innocent badge.
                continue
            self._take_out(code, self.opener, result)
        for code in sorted(heard - expected):
            self._put_back(code, self.opener, result)
        self._log_inventory(result)
        self.opener = None
        result.seconds = self.clock() - began
        return self._done(result)

    def inventory(self, t: float) -> Reconciliation:
        """The scheduled inventory of a closed cabinet: a carrier kept here and not heard lately is silent."""
        with self.store.uow(readonly=True) as uow:
            expected = self._expected(uow)
        since = max(self.closed_at, self.started)
        heard = {c for c, seen in self.last_seen.items() if seen >= t - self.silent_after}
        result = Reconciliation(len(heard & expected), len(expected))
        if t - since >= self.silent_after:
            for code in sorted(expected - heard):
                if code not in self.silent_reported:
                    self._silent(code, t, result)
        self.silent_reported &= expected - heard  # heard again (or gone from the register): may alert again later
        self._log_inventory(result)
        return self._done(result)

    def _done(self, result: Reconciliation) -> Reconciliation:
        self.history.append(result)
        del self.history[:-50]
        if self.on_reconcile is not None:
            self.on_reconcile(result)
        return result

    def _reading_place(self, uow: UnitOfWork) -> Location | None:
        cab = uow.session.get(Location, self.spec.location_id)
        assert cab is not None
        for place in (cab, cab.parent):
            if place is not None and place.reading_place:
                return place
        return None

    def _take_out(self, code: str, badge: str | None, result: Reconciliation) -> None:
        with self.store.uow() as uow:
            c = get_carrier(uow, code)
            now = uow.now()
            policy = uow.policy
            person = uow.session.execute(select(Person).where(Person.badge == badge)).scalar_one_or_none() \
                if badge else None
            facts = carrier_facts(c)
            if person is None:
                violations = [Violation("R-64", f"{code} was taken from cabinet {self.spec.code} with no badge read "
                                                "at its scanner.",
                                        f"{code} 被从智能柜 {self.spec.code} 取出，但柜门扫描器未读到工卡。")]
                approval_id = None
                due = now
                place = None
            else:
                level = facts.level
                approval_id = covering(uow, ApprovalPurpose.LOAN, c.id, person.badge, now) \
                    if level in policy.loan_approval_levels else None
                approval = approval_facts(uow, approval_id, c.id)
                due = policy.end_of_working_day(now, 0 if level == Classification.TOP_SECRET else
                                                policy.loan_max_days)
                place = self._reading_place(uow)
                violations = check_checkout(facts, person_facts(person), True, approval, due, now,
                                            location_facts(place) if place else None, policy, None)
            if violations:
                self._cabinet_alarm(uow, code, badge, violations, "taken", result)
                return
            assert person is not None
            from_place = c.location.code if c.location else None
            c.status, c.holder_id, c.location_id, c.due_at, c.updated_at = (
                CarrierStatus.ON_LOAN.value, person.id, None, due, now)
            uow.session.add(Loan(carrier_id=c.id, borrower_id=person.id, kind="loan", approval_id=approval_id,
                                 reading_place_id=place.id if place and facts.level == Classification.TOP_SECRET
                                 else None, from_location_id=self.spec.location_id, out_at=now, due_at=due,
                                 open_carrier_id=c.id))
            if approval_id is not None:
                mark_used(uow, approval_id, [c.id], now)
            uow.ledger.append(EventDraft(EventType.CHECKED_OUT, carrier=code, actor=person.badge,
                                         from_location=from_place, to_holder=person.badge, approval_id=approval_id,
                                         payload={"due": utc_iso(due), "cabinet": self.spec.code,
                                                  "reading_place": place.code if place and facts.level ==
                                                  Classification.TOP_SECRET else None}), now)
            uow.session.add(WatchEntry(at=now, place=self.spec.code, kind="taken", carrier=code, person=person.badge,
                                       detail=json.dumps({"due": utc_iso(due)})))
            uow.commit()
            result.taken.append(code)

    def _put_back(self, code: str, badge: str | None, result: Reconciliation) -> None:
        with self.store.uow() as uow:
            c = get_carrier(uow, code)
            now = uow.now()
            cab = uow.session.get(Location, self.spec.location_id)
            assert cab is not None
            facts = carrier_facts(c)
            violations = check_cabinet_return(facts, location_facts(cab))
            if violations and not facts.status.with_holder:
                # Kept elsewhere, or missing, and now heard here: a finding for the clerk, not a return.
                uow.session.add(WatchEntry(at=now, place=self.spec.code, kind="misplaced", carrier=code,
                                           person=badge, detail=json.dumps({"rules": [v.rule for v in violations],
                                                                            "en": violations[0].en})))
                uow.commit()
                result.misplaced.append(code)
                return
            if violations:
                self._cabinet_alarm(uow, code, badge, violations, "put back", result)
                return
            holder = c.holder.badge if c.holder else None
            overdue = c.due_at is not None and now > c.due_at
            close_open_loan(uow, c, now)
            c.status, c.holder_id, c.location_id, c.due_at, c.updated_at = (
                CarrierStatus.IN_STORE.value, None, cab.id, None, now)
            uow.ledger.append(EventDraft(EventType.CHECKED_IN, carrier=code, actor=badge, from_holder=holder,
                                         to_location=cab.code,
                                         payload={"overdue": overdue, "cabinet": self.spec.code, "by": badge}), now)
            uow.session.add(WatchEntry(at=now, place=self.spec.code, kind="put_back", carrier=code, person=badge,
                                       detail=json.dumps({"holder": holder, "overdue": overdue})))
            uow.commit()
            result.returned.append(code)

    def _open_alarm(self, uow: UnitOfWork, code: str) -> bool:
        return uow.session.execute(
            select(Incident.id).join(IncidentCarrier, IncidentCarrier.incident_id == Incident.id)
            .where(IncidentCarrier.code == code, Incident.status == "open",
                   Incident.kind == IncidentKind.CABINET_ALARM.value).limit(1)).first() is not None

    def _cabinet_alarm(self, uow: UnitOfWork, code: str, badge: str | None, violations: list[Violation], what: str,
                       result: Reconciliation) -> None:
        rule = violations[0].rule
        en = "; ".join(v.en for v in violations)
        zh = "；".join(v.zh for v in violations)
        self.outputs.fire(Alarm(self.spec.code, code, IncidentKind.CABINET_ALARM.value, rule))
        now = uow.now()
        number = None
        if not self._open_alarm(uow, code):  # one open incident per carrier, however often the door closes
            number = incidents.open_in(uow, IncidentKind.CABINET_ALARM,
                                       f"Cabinet {self.spec.code}: {code} {what} by {badge or 'nobody identified'}: "
                                       f"{en}", actor=None, carriers=[code], place=self.spec.code,
                                       evidence={"cabinet": self.spec.code, "device": self.spec.device,
                                                 "opened_by": badge, "what": what,
                                                 "rules": [v.rule for v in violations]})
        uow.session.add(WatchEntry(at=now, place=self.spec.code, kind="alarm", carrier=code, person=badge,
                                   incident=number,
                                   detail=json.dumps({"what": what, "rules": [v.rule for v in violations], "en": en,
                                                      "zh": zh}, ensure_ascii=False)))
        uow.commit()
        self.store.uow().audit({"kind": "cabinet_alarm", "action": f"cabinet {self.spec.code}"[:40],
                                "carrier": code, "rules": ",".join(v.rule for v in violations)[:200],
                                "detail": en, "actor": badge})
        result.alarms.append(code)

    def _silent(self, code: str, t: float, result: Reconciliation) -> None:
        self.silent_reported.add(code)
        seen = self.last_seen.get(code)
        ago = None if seen is None else round(t - seen)
        with self.store.uow() as uow:
            now = uow.now()
            number = None
            if not self._open_alarm(uow, code):
                number = incidents.open_in(
                    uow, IncidentKind.CABINET_ALARM,
                    f"Cabinet {self.spec.code}: {code} not heard inside the closed cabinet "
                    f"({'never' if ago is None else f'{ago} s'} since last read).",
                    actor=None, carriers=[code], place=self.spec.code,
                    evidence={"cabinet": self.spec.code, "device": self.spec.device, "silent_seconds": ago})
            uow.session.add(WatchEntry(at=now, place=self.spec.code, kind="silent", carrier=code, incident=number,
                                       detail=json.dumps({"silent_seconds": ago})))
            uow.commit()
        result.silent.append(code)

    def _door_left_open(self, seconds: float) -> None:
        minutes = int(seconds // 60)
        self.outputs.fire(Alarm(self.spec.code, self.opener or "-", "cabinet_door_open", "R-38"))
        en = (f"Cabinet {self.spec.code} has been open {minutes} min (opened by {self.opener or 'nobody identified'}):"
              " carriers are kept locked away (R-38).")
        zh = (f"智能柜 {self.spec.code} 已打开 {minutes} 分钟（开柜人：{self.opener or '未识别'}）："
              "涉密载体须存放于加锁的柜内（R-38）。")
        with self.store.uow() as uow:
            uow.session.add(WatchEntry(at=uow.now(), place=self.spec.code, kind="door_open", person=self.opener,
                                       detail=json.dumps({"rules": ["R-38"], "minutes": minutes, "en": en, "zh": zh},
                                                         ensure_ascii=False)))
            uow.commit()
        self.store.uow().audit({"kind": "cabinet_door_open", "action": f"cabinet {self.spec.code}"[:40],
                                "rules": "R-38", "detail": en, "actor": self.opener})

    def _log_inventory(self, result: Reconciliation) -> None:
        with self.store.uow() as uow:
            uow.session.add(WatchEntry(at=uow.now(), place=self.spec.code, kind="inventory",
                                       detail=json.dumps({"read": result.read, "register": result.expected})))
            uow.commit()

    # -- running -------------------------------------------------------------------------------------------------

    def _drain(self, first: Read | DeviceStatus | Door) -> None:
        batch: list[Read] = []
        item: Read | DeviceStatus | Door | None = first
        while item is not None:
            if isinstance(item, Door):
                if batch:
                    self.handle(batch, self.clock())
                    batch = []
                self.door(item, self.clock())
            elif isinstance(item, Read):
                batch.append(item)
            try:
                item = self._queue.get_nowait() if len(batch) < 10000 else None
            except queue.Empty:
                item = None
        if batch:
            self.handle(batch, self.clock())

    def _run(self) -> None:
        while not self._stop.is_set():
            now = self.clock()
            due = self.due if self.due is None or self.due > now else now + BATCH  # waiting for a fresh round
            door = self.opened_at + self.door_open_limit if self.opened_at is not None and not self.door_alerted \
                else None
            wake = min(x for x in (due, self.next_inventory, door, now + 0.5) if x is not None)
            try:
                first = self._queue.get(timeout=max(0.0, wake - now))
                # A round of hundreds of tags arrives as hundreds of reads: take them as one batch, not one by one
                # (the idle cabinet's CPU), at the cost of BATCH seconds on a reconciliation that waits `settle`.
                self._stop.wait(BATCH)
            except queue.Empty:
                first = None
            try:
                if first is not None:
                    self._drain(first)
                self.tick(self.clock())
            except Exception:
                log.exception("cabinet %s: inventory could not be handled", self.spec.code)

    @property
    def thread_name(self) -> str:
        return f"cabinet:{self.spec.code}"


def expected_counts(uow: UnitOfWork, cabinets: Iterable[CabinetSpec]) -> dict[str, int]:
    """How many carriers the register keeps in each cabinet (the panel's 'register' column)."""
    return {cab.code: len(set(uow.session.execute(select(Carrier.code).where(
        Carrier.location_id.in_(cab.holds), Carrier.status.in_(_IN_PLACE))).scalars())) for cab in cabinets}


def parse_door_line(line: bytes) -> Door | None:
    """One line from a cabinet's door controller: `OPEN <badge>` (its scanner read a badge and the lock opened),
    `OPEN` (opened with no badge: a key, or forced) or `CLOSE`. Anything else is ignored, never guessed at; a badge
    is kept only if it looks like one (letters, digits, '-', '*', at most 40)."""
    words = line.decode("ascii", "replace").strip().split()
    if not words:
        return None
    verb = words[0].upper()
    if verb == "CLOSE" and len(words) == 1:
        return Door(False)
    if verb == "OPEN" and len(words) <= 2:
        who = words[1].upper() if len(words) == 2 else None
        if who is not None and not (len(who) <= 40 and all(ch.isalnum() or ch in "-*" for ch in who)):
            who = None
        return Door(True, who)
    return None


class DoorLine(Background):
    """Reads a door controller's lines from a serial URL (a pty, /dev/ttyUSB0, rfc2217://…) into a watcher's sink;
    reopens the port after an error, so an unplugged controller comes back by itself."""

    def __init__(self, url: str, sink: Callable[[Door], None], baudrate: int = 9600) -> None:
        super().__init__()
        self.url, self.sink, self.baudrate = url, sink, baudrate

    def _run(self) -> None:
        import serial

        buf = b""
        while not self._stop.is_set():
            try:
                with serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=0.2) as port:
                    while not self._stop.is_set():
                        buf += port.read(256)
                        *lines, buf = buf.replace(b"\r", b"\n").split(b"\n")
                        buf = buf[-256:]
                        for line in lines:
                            door = parse_door_line(line)
                            if door is not None:
                                self.sink(door)
            except (serial.SerialException, OSError) as exc:
                log.error("door line %s: %s", self.url, exc)
                self._stop.wait(1.0)

    join_timeout = 2.0

    @property
    def thread_name(self) -> str:
        return f"door:{self.url}"
