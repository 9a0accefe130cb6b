"""Exit gates on both databases, over the real reader protocol: a ThingMagic module on a pty hears people walking
through with carriers (each tag read with probability 0.9 per round, six rounds a pass) and the real driver feeds the
gate watcher. An authorised pass is logged with its direction; an unauthorised one fires the serial line once,
opens one incident with the reads, writes the audit log and leaves custody alone; a foreign tag is logged only."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select
from tests_support import approve, state_of
from watch_support import ledger_ok, reader, register, wait_for

from drivers.emulators.rfid_gate import GatePopulation
from drivers.reads import Read, ReadKind
from drivers.rfid.epc import encode_gs1_96
from drivers.transport import PtyPair
from tracker.demo import badge, place
from tracker.domain import IncidentKind
from tracker.policy import policy_from_document
from tracker.rules import Policy
from tracker.schema import Incident, Refusal, WatchEntry
from tracker.services import circulation, registry
from tracker.services.common import Signed
from tracker.store import Store
from tracker.watch import places
from tracker.watch.gates import GateWatcher
from tracker.watch.outputs import Outputs, SerialLine

ROOM, SITE, SHELF = place("BJ", "R2"), place("BJ", "SITE"), place("BJ", "R2C1S1")


def _gate(store: Store, admin: Signed, inside: str = ROOM) -> places.GateSpec:
    places.add_gate(store.uow(), admin, "gate-r2", "gate-reader", inside, SITE, ["1=inside", "2=outside"])
    gates, _ = places.load(store.uow())
    return gates[0]


def _log(store: Store, kind: str | None = None) -> list[WatchEntry]:
    with store.uow(readonly=True) as uow:
        q = select(WatchEntry).order_by(WatchEntry.id)
        if kind:
            q = q.where(WatchEntry.kind == kind)
        rows = list(uow.session.execute(q).scalars())
        uow.session.expunge_all()
        return rows


def _incidents(store: Store) -> list[Incident]:
    with store.uow(readonly=True) as uow:
        rows = list(uow.session.execute(select(Incident).order_by(Incident.id)).scalars())
        uow.session.expunge_all()
        return rows


def test_an_authorised_pass_is_logged_with_its_direction_and_no_alarm(store: Store, people: dict[str, Signed]) -> None:
    code, epc = register(store, people["clerk"], SHELF)
    a = approve(store, people["approver"], "loan", code, grantee=badge("reader_important"))
    circulation.check_out(store.uow(), people["clerk"], code, people["reader_important"], approval_id=a)
    pop = GatePopulation(seed=3)
    watcher = GateWatcher(store, _gate(store, people["admin"]), pass_gap=2.0).start()
    try:
        with reader(pop, watcher.sink, (1, 2)):
            pop.walk([epc], rounds=6, direction="out")
            wait_for(lambda: _log(store, "pass"))
    finally:
        watcher.stop()
    [entry] = _log(store, "pass")
    assert (entry.carrier, entry.direction) == (code, "out")
    assert not _incidents(store) and watcher.alarms == 0
    assert state_of(store, code)[0] == "on_loan"


def test_an_unauthorised_pass_alarms_once_with_evidence_and_custody_unchanged(
        store: Store, people: dict[str, Signed]) -> None:
    code, epc = register(store, people["clerk"], SHELF)
    before = state_of(store, code)
    light = PtyPair()
    pop = GatePopulation(seed=4)
    watcher = GateWatcher(store, _gate(store, people["admin"]), Outputs([SerialLine(light.device)]),
                          pass_gap=2.0).start()
    try:
        with reader(pop, watcher.sink, (1, 2)):
            walker = pop.walk([epc], rounds=8, direction="out")
            wait_for(lambda: any(e.direction for e in _log(store, "alarm")))
        heard = b""
        while (chunk := light.read(4096, timeout=0.3)):
            heard += chunk
    finally:
        watcher.stop()
        light.close()
    assert walker.heard[epc] >= 2, "several reads in the pass, still one alarm"
    assert heard == f"GATE_ALARM GATE-R2 {code} R-16\r\n".encode()
    [inc] = _incidents(store)
    assert inc.kind == IncidentKind.GATE_ALARM.value and inc.status == "open" and inc.opened_by is None
    evidence = json.loads(inc.evidence)
    assert evidence["gate"] == "GATE-R2" and evidence["epc"] == epc and evidence["reads"]
    [entry] = _log(store, "alarm")
    assert (entry.carrier, entry.incident, entry.direction) == (code, inc.id, "out")
    with store.uow(readonly=True) as uow:
        audit = uow.session.execute(select(Refusal).where(Refusal.kind == "gate_alarm")).scalars().all()
        assert [(r.carrier, r.rules) for r in audit] == [(code, "R-16")]
    assert state_of(store, code) == before
    assert ledger_ok(store)


def test_a_foreign_tag_is_logged_and_not_alarmed(store: Store, people: dict[str, Signed]) -> None:
    foreign = encode_gs1_96("sgtin-96", "4012345", 777, filter_value=1)
    pop = GatePopulation(seed=5)
    watcher = GateWatcher(store, _gate(store, people["admin"]), pass_gap=2.0).start()
    try:
        with reader(pop, watcher.sink, (1, 2)):
            pop.walk([foreign], rounds=6, direction="in")
            wait_for(lambda: _log(store, "foreign"))
    finally:
        watcher.stop()
    [entry] = _log(store, "foreign")
    assert (entry.epc, entry.carrier, entry.direction) == (foreign, None, "in")
    assert not _incidents(store) and watcher.alarms == 0


@pytest.mark.parametrize("reading_room, alarmed", [("R3", False), ("R1", True)])
def test_a_top_secret_loan_passes_only_towards_its_reading_place(
        store: Store, people: dict[str, Signed], reading_room: str, alarmed: bool) -> None:
    """R-67: at the door of the 机要室 (R1), a 绝密 loan to be read in another reading room beyond the door (R3)
    passes; one lent to be read in R1 itself has no business in the doorway."""
    registry.add_location(store.uow(), people["admin"], place("BJ", "R3"), "阅文室", "room", "top_secret",
                          parent=SITE, reading_place=True)
    code, epc = register(store, people["clerk"], place("BJ", "R1SAFE1"), level="top_secret", scope="技术处")
    a = approve(store, people["approver"], "loan", code, grantee=badge("reader_core"))
    circulation.check_out(store.uow(), people["clerk"], code, people["reader_core"], approval_id=a,
                          reading_place=place("BJ", reading_room))
    watcher = GateWatcher(store, _gate(store, people["admin"], inside=place("BJ", "R1")), pass_gap=2.0)
    events = watcher.handle([Read(epc, ReadKind.EPC, antenna=1)], 0.0)
    assert [e.verdict for e in events] == ["alarm" if alarmed else "allowed"]
    assert bool(_incidents(store)) is alarmed


def test_the_policy_can_make_unknown_tags_alarm(store: Store, people: dict[str, Signed], clock: Any) -> None:
    """`gate_alarm_unknown_tags` (register policy, changed only through the approved-policy path) turns a foreign tag
    from a log line into an alarm; without it the same read is only logged."""
    gate = _gate(store, people["admin"])
    foreign = encode_gs1_96("sgtin-96", "4012345", 778, filter_value=1)
    events = GateWatcher(store, gate).handle([Read(foreign, ReadKind.EPC, antenna=2)], 0.0)
    assert [e.verdict for e in events] == ["foreign"]
    assert policy_from_document({"gate_alarm_unknown_tags": True}).gate_alarm_unknown_tags
    strict = Store(store.url, terminal="test-terminal", clock=clock,
                   policy=replace(Policy(), gate_alarm_unknown_tags=True))
    try:
        [event] = GateWatcher(strict, gate).handle([Read(foreign, ReadKind.EPC, antenna=2)], 10.0)
    finally:
        strict.dispose()
    assert (event.verdict, event.carrier) == ("alarm", None)
    [inc] = _incidents(store)
    assert json.loads(inc.evidence)["epc"] == foreign and inc.kind == IncidentKind.GATE_ALARM.value


def test_one_alarm_per_carrier_per_pass(store: Store, people: dict[str, Signed]) -> None:
    """Debounce: a carrier read over and over while it stays in the doorway alarms once; coming back after the pass
    has ended (no read for `pass_gap` seconds) is a new pass and alarms again."""
    code, epc = register(store, people["clerk"], SHELF)
    watcher = GateWatcher(store, _gate(store, people["admin"]), pass_gap=1.0)
    verdicts = []
    for t, antenna in ((0.0, 1), (0.3, 1), (0.6, 2), (0.9, 2), (1.5, 2)):
        verdicts += [e.verdict for e in watcher.handle([Read(epc, ReadKind.EPC, antenna=antenna)] * 3, t)]
    watcher.expire(2.6)
    verdicts += [e.verdict for e in watcher.handle([Read(epc, ReadKind.EPC, antenna=2)], 5.0)]
    watcher.expire(7.0)
    assert verdicts == ["alarm", "alarm"] and watcher.alarms == 2
    assert [(e.carrier, e.direction) for e in _log(store, "alarm")] == [(code, "out"), (code, None)]
    assert len(_incidents(store)) == 2
