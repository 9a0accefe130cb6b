"""Smart cabinets on both databases, over the real reader protocol: a ThingMagic module on a pty inventories the
tags inside, the door is opened by a badge, carriers are taken out and put back, and the watcher reconciles with the
register after the door closes. A 绝密 carrier taken by someone without clearance is an alarm and an incident, not a
loan; an approved take-out is a loan to the opener; a put-back is a check-in attributed to whoever opened the door;
a tag that falls silent in a closed cabinet is an alert, once."""

from __future__ import annotations

import json

from sqlalchemy import select
from tests_support import approve, state_of
from watch_support import ledger_ok, reader, register, wait_for

from drivers.emulators.rfid_population import EmulatedTag, TagPopulation
from drivers.reads import Read, ReadKind
from drivers.transport import PtyPair
from tracker.demo import badge, place
from tracker.domain import EventType, IncidentKind
from tracker.schema import Event, Incident, Loan, WatchEntry
from tracker.services.common import Signed
from tracker.store import Store
from tracker.watch import places
from tracker.watch.cabinets import CabinetWatcher, Door
from tracker.watch.outputs import Alarm, Outputs, SerialLine

SAFE, CABINET, SHELF = place("BJ", "R1SAFE1"), place("BJ", "R2C1"), place("BJ", "R2C1S1")


def _cabinet(store: Store, officer: Signed, where: str) -> places.CabinetSpec:
    places.add_cabinet(store.uow(), officer, where, "cabinet-reader")
    _, cabinets = places.load(store.uow())
    return cabinets[0]


def _tags(*epcs: str) -> TagPopulation:
    return TagPopulation([EmulatedTag(e, {1: -48.0}, 0.97) for e in epcs], seed=7)


def _rows(store: Store, model: type, *where: object) -> list:  # type: ignore[type-arg]
    with store.uow(readonly=True) as uow:
        rows = list(uow.session.execute(select(model).where(*where)).scalars())
        uow.session.expunge_all()
        return rows


def _rounds_since_removal(watcher: CabinetWatcher, staying: str, rounds: int = 3) -> None:
    """The door closes once the carrier has left the field: three newer hearings of a carrier that stayed, so the
    reader rounds in flight when it was taken (a slow machine lags rounds behind) are behind the close. Without it a
    fast close let a stale round's read of the taken carrier count as heard after the close: no take-out, no alarm."""
    for _ in range(rounds):
        mark = watcher.clock()
        wait_for(lambda m=mark: watcher.last_seen.get(staying, m - 1) > m)


def test_top_secret_taken_without_clearance_is_an_alarm_not_a_loan(store: Store, people: dict[str, Signed]) -> None:
    code, epc = register(store, people["clerk"], SAFE, level="top_secret", scope="法规处")
    _other, other_epc = register(store, people["clerk"], SAFE, level="secret")
    before = state_of(store, code)
    pop = _tags(epc, other_epc)
    buzzer = PtyPair()
    done: list[object] = []
    watcher = CabinetWatcher(store, _cabinet(store, people["officer"], SAFE), Outputs([SerialLine(buzzer.device)]),
                             settle=0.4, on_reconcile=done.append).start()
    try:
        with reader(pop, watcher.sink, (1,)):
            watcher.sink(Door(True, badge("reader_important")))  # 重要 clearance: may not hold 绝密
            pop.remove(epc)
            _rounds_since_removal(watcher, _other)
            watcher.sink(Door(False))
            wait_for(lambda: done)
        line = buzzer.read(4096, timeout=1.0)
    finally:
        watcher.stop()
        buzzer.close()
    result = done[0]
    assert result.alarms == [code] and result.taken == [] and result.returned == []  # type: ignore[attr-defined]
    assert line == f"CABINET_ALARM {SAFE} {code} R-159\r\n".encode().replace(b"*", b"_")
    [inc] = _rows(store, Incident)
    assert inc.kind == IncidentKind.CABINET_ALARM.value and inc.level == "top_secret"
    assert json.loads(inc.evidence)["opened_by"] == badge("reader_important")
    assert state_of(store, code) == before, "custody unchanged: the register keeps it in the safe"
    assert _rows(store, Loan) == []
    [entry] = _rows(store, WatchEntry, WatchEntry.kind == "alarm")
    assert (entry.carrier, entry.person, entry.incident) == (code, badge("reader_important"), inc.id)
    assert ledger_ok(store)


def test_an_approved_take_out_is_a_loan_and_the_put_back_is_the_openers(store: Store,
                                                                        people: dict[str, Signed]) -> None:
    code, epc = register(store, people["clerk"], SHELF)
    stays, stays_epc = register(store, people["clerk"], SHELF)  # heard throughout: it tells when rounds have passed
    approve(store, people["approver"], "loan", code, grantee=badge("reader_important"))
    pop = _tags(epc, stays_epc)
    done: list[object] = []
    watcher = CabinetWatcher(store, _cabinet(store, people["officer"], CABINET), settle=0.4,
                             on_reconcile=done.append).start()
    try:
        with reader(pop, watcher.sink, (1,)):
            watcher.sink(Door(True, badge("reader_important")))
            pop.remove(epc)
            _rounds_since_removal(watcher, stays)
            watcher.sink(Door(False))
            wait_for(lambda: done)
            assert state_of(store, code) == ("on_loan", badge("reader_important"), None)
            watcher.sink(Door(True, badge("clerk2")))  # the registry puts it back for the reader
            pop.add(EmulatedTag(epc, {1: -48.0}, 0.97))
            watcher.sink(Door(False))
            wait_for(lambda: len(done) == 2)
    finally:
        watcher.stop()
    assert state_of(store, code) == ("in_store", None, CABINET)
    out, back = _rows(store, Event, Event.carrier == code, Event.type.in_([EventType.CHECKED_OUT.value,
                                                                           EventType.CHECKED_IN.value]))
    assert (out.type, out.actor, out.to_holder) == (EventType.CHECKED_OUT.value, badge("reader_important"),
                                                    badge("reader_important"))
    assert (back.type, back.actor, back.from_holder) == (EventType.CHECKED_IN.value, badge("clerk2"),
                                                         badge("reader_important"))
    assert json.loads(back.payload)["cabinet"] == CABINET
    [put] = _rows(store, WatchEntry, WatchEntry.kind == "put_back")
    assert (put.carrier, put.person) == (code, badge("clerk2"))
    assert _rows(store, Incident) == []
    assert ledger_ok(store)


def test_a_tag_silent_in_a_closed_cabinet_is_one_alert(store: Store, people: dict[str, Signed]) -> None:
    code, epc = register(store, people["clerk"], SHELF)
    kept, kept_epc = register(store, people["clerk"], SHELF)
    pop = _tags(epc, kept_epc)
    done: list[object] = []
    watcher = CabinetWatcher(store, _cabinet(store, people["officer"], CABINET), interval=0.2, silent_after=0.8,
                             on_reconcile=done.append).start()
    try:
        with reader(pop, watcher.sink, (1,)):
            wait_for(lambda: len(done) >= 2)
            pop.remove(epc)  # no door event: the tag just stops answering (or the carrier left another way)
            wait_for(lambda: _rows(store, Incident))
            seen = len(done)
            wait_for(lambda: len(done) >= seen + 3)
    finally:
        watcher.stop()
    [inc] = _rows(store, Incident)
    assert inc.kind == IncidentKind.CABINET_ALARM.value and "not heard" in inc.summary
    silent = _rows(store, WatchEntry, WatchEntry.kind == "silent")
    assert [e.carrier for e in silent] == [code], "one alert, and only for the silent carrier"
    assert state_of(store, code)[0] == "in_store" and state_of(store, kept)[0] == "in_store"


def test_a_carrier_already_silent_is_not_lent_to_the_next_opener(store: Store, people: dict[str, Signed]) -> None:
    """Attack: a carrier leaves a closed cabinet unseen (a forced back panel, a shielded tag); the next person to open
    the door must not inherit it as a loan. It stays on the silent alert; only what left while they had the door
    open is theirs."""
    code, epc = register(store, people["clerk"], SHELF, level="internal")
    mine, my_epc = register(store, people["clerk"], SHELF, level="internal")
    now = [0.0]
    watcher = CabinetWatcher(store, _cabinet(store, people["officer"], CABINET), interval=1.0, silent_after=3.0,
                             clock=lambda: now[0])
    for t in (0.5, 1.5, 2.5):
        now[0] = t
        watcher.handle([Read(epc, ReadKind.EPC), Read(my_epc, ReadKind.EPC)], t)
        watcher.tick(t)
    for t in (3.5, 4.5, 5.5, 6.5):  # `code` no longer answers
        now[0] = t
        watcher.handle([Read(my_epc, ReadKind.EPC)], t)
        watcher.tick(t)
    assert watcher.silent_reported == {code}
    watcher.door(Door(True, badge("reader_general")), 7.0)
    watcher.door(Door(False), 8.0)  # they took `mine`
    assert watcher.tick(9.5) is None, "nothing heard since the close: wait for a round begun after it"
    result = watcher.tick(12.0)  # still nothing (the cabinet is empty): judged after settle × 3 more
    assert result is not None and result.taken == [mine] and result.alarms == []
    assert state_of(store, mine) == ("on_loan", badge("reader_general"), None)
    assert state_of(store, code)[0] == "in_store" and len(_rows(store, Incident)) == 1


def test_a_round_begun_before_the_close_does_not_count_as_heard(store: Store, people: dict[str, Signed]) -> None:
    """The reader's round in flight when the door closes may still hear a carrier being carried out: the first batch
    delivered after the close is not proof of presence. Only a batch from a round begun after the close is — and
    the reconciliation waits for one rather than judging on the stale batch."""
    code, epc = register(store, people["clerk"], SHELF, level="internal")
    stays, stays_epc = register(store, people["clerk"], SHELF, level="internal")
    now = [0.0]
    watcher = CabinetWatcher(store, _cabinet(store, people["officer"], CABINET), settle=0.4, interval=60.0,
                             clock=lambda: now[0])
    watcher.handle([Read(epc, ReadKind.EPC), Read(stays_epc, ReadKind.EPC)], 0.5)
    watcher.door(Door(True, badge("reader_general")), 1.0)
    watcher.door(Door(False), 2.0)  # `code` is in the opener's hand, still near the antenna
    watcher.handle([Read(epc, ReadKind.EPC), Read(stays_epc, ReadKind.EPC)], 2.05)  # the round begun before 2.0
    assert watcher.tick(2.5) is None, "settled by the clock, but no round begun after the close has been heard"
    watcher.handle([Read(stays_epc, ReadKind.EPC)], 2.6)
    result = watcher.tick(2.6)
    assert result is not None and result.taken == [code] and result.alarms == []
    assert state_of(store, code) == ("on_loan", badge("reader_general"), None)
    assert state_of(store, stays)[0] == "in_store"


class _Recorded:
    """An alarm output that keeps what it was asked to fire (a stack light the test can look at)."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def fire(self, alarm: Alarm) -> None:
        self.lines.append(alarm.line())

    def close(self) -> None:
        pass


def test_a_door_left_open_is_one_alert_per_opening(store: Store, people: dict[str, Signed]) -> None:
    """R-38: carriers are kept locked away. A door open longer than the register's policy (5 minutes by default)
    fires the alarm outputs and is an alert on the watch panel — once per opening, again after the next opening."""
    register(store, people["clerk"], SHELF, level="internal")
    light = _Recorded()
    watcher = CabinetWatcher(store, _cabinet(store, people["officer"], CABINET), Outputs([light]), interval=1e9,
                             clock=lambda: 0.0)
    watcher.door(Door(True, badge("reader_general")), 0.0)
    watcher.door(Door(True, badge("clerk")), 200.0)  # a second badge while open does not restart the count
    watcher.tick(299.0)
    assert light.lines == [] and _rows(store, WatchEntry, WatchEntry.kind == "door_open") == []
    watcher.tick(300.0)
    watcher.tick(400.0)
    assert light.lines == [f"CABINET_DOOR_OPEN {CABINET} {badge('clerk')} R-38\r\n".encode().replace(b"*", b"_")]
    [entry] = _rows(store, WatchEntry, WatchEntry.kind == "door_open")
    assert entry.place == CABINET and entry.person == badge("clerk")
    assert json.loads(entry.detail)["rules"] == ["R-38"] and "5 min" in json.loads(entry.detail)["en"]
    watcher.door(Door(False), 450.0)
    watcher.door(Door(True, badge("clerk")), 500.0)
    watcher.tick(700.0)
    assert len(_rows(store, WatchEntry, WatchEntry.kind == "door_open")) == 1, "the new opening has its own 5 min"
    watcher.tick(800.0)
    assert len(_rows(store, WatchEntry, WatchEntry.kind == "door_open")) == 2 and len(light.lines) == 2
