"""The exit gate watcher (通道门): reads from a gate's reader become passes, each pass one decision per carrier.

A pass is every read of one tag with no gap longer than `pass_gap` seconds; the antennas that heard it, in order,
give its direction. At the first read of a tag the watcher asks the register what the tag is and, for a carrier,
whether the register shows it out with a person (`rules.check_gate_pass`); an unauthorised pass fires the outputs at
once (the light must not wait for the database), then records an incident with the reads as evidence, an entry in
the security officer's audit log and a `watch_log` row the counters show as a notification. One alarm per carrier per
pass, however many times the tag is read. Tags that are no carrier are logged, and alarm only where the policy says.
This module never changes custody: a gate sees, it does not lend or return.
"""

from __future__ import annotations

import json
import logging
import queue
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select, update

from drivers.reads import DeviceStatus, Read, ReadKind
from tracker.domain import IncidentKind, utc_iso
from tracker.rules import Violation, check_gate_pass, check_unknown_tag
from tracker.schema import Carrier, Loan, WatchEntry
from tracker.services import incidents
from tracker.services.common import carrier_facts
from tracker.store import Store, UnitOfWork
from tracker.watch.background import Background
from tracker.watch.outputs import Alarm, Outputs
from tracker.watch.places import GateSpec, Tag, TagResolver

log = logging.getLogger(__name__)
EVIDENCE_READS = 20


@dataclass
class Pass:
    epc: str
    first: float
    last: float
    sides: list[str] = field(default_factory=list)
    reads: list[dict[str, object]] = field(default_factory=list)
    count: int = 0
    tag: Tag | None = None
    verdict: str = ""  # allowed | alarm | foreign | ours
    rules: tuple[Violation, ...] = ()
    entry: int | None = None  # the watch_log row of its alarm

    @property
    def direction(self) -> str | None:
        if not self.sides or self.sides[0] == self.sides[-1]:
            return None
        return "out" if self.sides[0] == "inside" else "in"


@dataclass(frozen=True, slots=True)
class GateEvent:
    """What the panel shows: one decided pass (or its alarm)."""

    place: str
    epc: str
    carrier: str | None
    verdict: str
    direction: str | None
    incident: int | None
    latency: float  # seconds from the pass's first read to the outputs firing (alarms) or to the decision


class GateWatcher(Background):
    def __init__(self, store: Store, spec: GateSpec, outputs: Outputs | None = None, *, pass_gap: float = 2.0,
                 clock: Callable[[], float] = time.monotonic,
                 on_event: Callable[[GateEvent], None] | None = None) -> None:
        super().__init__()
        self.store = store
        self.spec = spec
        self.outputs = outputs or Outputs()
        self.pass_gap = pass_gap
        self.clock = clock
        self.on_event = on_event
        self.resolver = TagResolver()
        self.passes: dict[str, Pass] = {}
        self.recent: deque[GateEvent] = deque(maxlen=200)
        self.alarms = 0
        self._queue: queue.SimpleQueue[Read | DeviceStatus] = queue.SimpleQueue()

    # -- feeding -------------------------------------------------------------------------------------------------

    def sink(self, event: Read | DeviceStatus) -> None:
        """The reader's callback (its own thread): queue and return at once."""
        self._queue.put(event)

    def handle(self, reads: Sequence[Read], t: float) -> list[GateEvent]:
        """Fold a batch of reads (arrived by `t`) into passes, and decide every pass that is new."""
        fresh: list[Pass] = []
        for r in reads:
            if r.kind != ReadKind.EPC:
                continue
            epc = r.code.upper()
            p = self.passes.get(epc)
            if p is not None and t - p.last > self.pass_gap:
                self._finish([p])
                p = None
            if p is None:
                p = self.passes[epc] = Pass(epc, t, t)
                fresh.append(p)
            p.last = t
            p.count += 1
            side = self.spec.antennas.get(r.antenna or 0)
            if side is not None and (not p.sides or p.sides[-1] != side):
                p.sides.append(side)
            if len(p.reads) < EVIDENCE_READS:
                p.reads.append({"at": utc_iso(r.at), "antenna": r.antenna, "rssi": r.rssi})
        return self._decide(fresh, t) if fresh else []

    def expire(self, t: float) -> None:
        """Close every pass not read for `pass_gap` seconds and log it with its direction."""
        done = [p for p in self.passes.values() if t - p.last > self.pass_gap]
        if done:
            self._finish(done)

    # -- deciding ------------------------------------------------------------------------------------------------

    def _decide(self, fresh: list[Pass], t: float) -> list[GateEvent]:
        with self.store.uow(readonly=True) as uow:
            tags = self.resolver.resolve(uow, [p.epc for p in fresh])
            policy = uow.policy
            for p in fresh:
                p.tag = tags[p.epc]
            codes = [p.tag.code for p in fresh if p.tag is not None and p.tag.kind == "carrier" and p.tag.code]
            verdicts = self._carrier_rules(uow, codes)
        events: list[GateEvent] = []
        for p in fresh:
            assert p.tag is not None
            if p.tag.kind == "carrier":
                p.rules = tuple(verdicts.get(p.tag.code or "", ()))
                p.verdict = "alarm" if p.rules else "allowed"
            else:
                p.rules = tuple(check_unknown_tag(p.epc, p.tag.kind == "ours", policy))
                p.verdict = "alarm" if p.rules else p.tag.kind
            if p.verdict == "alarm":
                events.append(self._alarm(p, t))
            else:
                events.append(self._note(GateEvent(self.spec.code, p.epc, p.tag.code, p.verdict, None, None,
                                                   self.clock() - p.first)))
        return events

    def _carrier_rules(self, uow: UnitOfWork, codes: list[str]) -> dict[str, list[Violation]]:
        out: dict[str, list[Violation]] = {}
        for i in range(0, len(codes), 500):
            rows = list(uow.session.execute(select(Carrier).where(Carrier.code.in_(codes[i:i + 500])))
                        .unique().scalars())
            places = {r[0]: r[1] for r in uow.session.execute(
                select(Loan.carrier_id, Loan.reading_place_id).where(Loan.open_carrier_id.in_([c.id for c in rows])))}
            for c in rows:
                rp = places.get(c.id)
                out[c.code] = check_gate_pass(carrier_facts(c), None if rp is None else rp in self.spec.beyond)
        return out

    def _alarm(self, p: Pass, t: float) -> GateEvent:
        assert p.tag is not None
        what = p.tag.code or p.epc
        rule = p.rules[0].rule
        self.outputs.fire(Alarm(self.spec.code, what, IncidentKind.GATE_ALARM.value, rule))
        fired = self.clock() - p.first
        self.alarms += 1
        en = "; ".join(v.en for v in p.rules)
        evidence = {"gate": self.spec.code, "device": self.spec.device, "epc": p.epc, "reads": list(p.reads),
                    "rules": [v.rule for v in p.rules], "inside": self.spec.inside, "outside": self.spec.outside}
        number: int | None = None
        try:
            with self.store.uow() as uow:
                number = incidents.open_in(uow, IncidentKind.GATE_ALARM, f"Gate {self.spec.code}: {en}", actor=None,
                                           carriers=[what], place=self.spec.inside, evidence=evidence)
                entry = WatchEntry(at=uow.now(), place=self.spec.code, kind="alarm", epc=p.epc, carrier=p.tag.code,
                                   incident=number, detail=json.dumps({"rules": [v.rule for v in p.rules], "en": en,
                                                                       "zh": "；".join(v.zh for v in p.rules)},
                                                                      ensure_ascii=False))
                uow.session.add(entry)
                uow.session.flush()
                p.entry = entry.id
                uow.commit()
            self.store.uow().audit({"kind": "gate_alarm", "action": f"gate {self.spec.code}"[:40],
                                    "carrier": what[:40], "rules": ",".join(v.rule for v in p.rules)[:200],
                                    "detail": en, "actor": None})
        except Exception:  # the outputs have fired; a register that cannot record is reported, never silent
            log.exception("gate %s: alarm for %s fired but could not be recorded", self.spec.code, what)
        return self._note(GateEvent(self.spec.code, p.epc, p.tag.code, "alarm", None, number, fired))

    def _note(self, event: GateEvent) -> GateEvent:
        self.recent.append(event)
        if self.on_event is not None:
            self.on_event(event)
        return event

    def _finish(self, done: list[Pass]) -> None:
        for p in done:
            self.passes.pop(p.epc, None)
        if any(p.verdict == "ours" for p in done):
            self.resolver.forget_unregistered()  # it may be registered before it passes again
        try:
            with self.store.uow() as uow:
                now = uow.now()
                for p in done:
                    assert p.tag is not None
                    if p.entry is not None:
                        uow.session.execute(update(WatchEntry).where(WatchEntry.id == p.entry)
                                            .values(direction=p.direction))
                        continue
                    kind = {"allowed": "pass", "ours": "unknown"}.get(p.verdict, p.verdict)
                    uow.session.add(WatchEntry(at=now, place=self.spec.code, kind=kind, epc=p.epc,
                                               carrier=p.tag.code, direction=p.direction,
                                               detail=json.dumps({"reads": p.count})))
                uow.commit()
        except Exception:
            log.exception("gate %s: passes could not be logged", self.spec.code)

    # -- running -------------------------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._queue.get(timeout=min(0.5, self.pass_gap / 2))
            except queue.Empty:
                self.expire(self.clock())
                continue
            batch = [first]
            while len(batch) < 5000:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            reads = [e for e in batch if isinstance(e, Read)]
            now = self.clock()
            try:
                self.handle(reads, now)
                self.expire(now)
            except Exception:
                log.exception("gate %s: reads could not be handled", self.spec.code)

    @property
    def thread_name(self) -> str:
        return f"gate:{self.spec.code}"

    def stop(self) -> None:
        super().stop()
        if self.passes:
            self._finish(list(self.passes.values()))
