"""Incidents (R-154–R-156) on both databases: a loss report opens one with its R-155 deadline, only the security
office works and closes them, a loss is not closed as recovered while a carrier of it is missing, a closed incident
stays closed, and every change is a ledger event that leaves custody alone."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from tests_support import count_events, state_of

from tracker import queries
from tracker.demo import badge, place
from tracker.domain import DomainError, EventType, IncidentKind
from tracker.ledger import verify
from tracker.replay import replay_and_compare
from tracker.schema import Event
from tracker.services import incidents, registry
from tracker.services.common import NotFound, Refused, Signed
from tracker.store import Store

SAFE = place("BJ", "R1SAFE1")
SHELF = place("BJ", "R2C1S1")


def _register(store: Store, clerk: Signed, level: str = "secret", where: str = SHELF) -> str:
    data = registry.CarrierInput(location=where, classification=level, period="10y", scope="法规处", title="事件测试",
                                 copy_number=1, copy_total=1)
    return registry.register(store.uow(), clerk, data)


def _rules(e: Refused) -> set[str]:
    return {v.rule for v in e.violations}


def _last(store: Store) -> Event:
    with store.engine.connect() as conn:
        row = conn.execute(select(Event).order_by(Event.seq.desc()).limit(1)).one()
    return row  # type: ignore[return-value]


def test_a_loss_report_opens_an_incident_with_its_r155_deadline(store: Store, people: dict[str, Signed]) -> None:
    code = _register(store, people["clerk"], "top_secret", SAFE)
    before = count_events(store)
    deadline = incidents.report_missing(store.uow(), people["reader_general"], code, note="not in the safe")
    assert count_events(store) == before + 2  # the carrier's status, and the incident
    [inc] = incidents.listing(store.uow(), people["officer"])
    assert (inc.kind, inc.status, inc.level, inc.carriers, inc.still_missing) == (
        "loss", "open", "top_secret", (code,), (code,))
    assert inc.deadline == deadline == store.clock() + timedelta(days=10)
    assert inc.opened_by == badge("reader_general") and inc.place == SAFE and inc.source == "test-terminal"
    with store.uow(readonly=True) as uow:
        assert any(a.kind == "incident" and f"#{inc.id}" in a.en for a in queries.alerts(uow))


def test_only_the_security_office_works_incidents(store: Store, people: dict[str, Signed]) -> None:
    code = _register(store, people["clerk"])
    incidents.report_missing(store.uow(), people["clerk"], code)
    [inc] = incidents.listing(store.uow(), people["auditor"])  # the auditor reads
    before = count_events(store)
    for who in ("clerk", "admin", "auditor", "approver"):
        with pytest.raises(Refused):
            incidents.add_measure(store.uow(), people[who], inc.id, "looked in the archive")
        with pytest.raises(Refused):
            incidents.close(store.uow(), people[who], inc.id, "leak_reported", "reported to the bureau")
    with pytest.raises(Refused):
        incidents.listing(store.uow(), people["clerk"])
    assert count_events(store) == before


def test_a_loss_closes_as_recovered_only_when_every_carrier_is_back(store: Store, people: dict[str, Signed]) -> None:
    code = _register(store, people["clerk"])
    incidents.report_missing(store.uow(), people["clerk"], code)
    [inc] = incidents.listing(store.uow(), people["officer"])
    before = count_events(store)
    for outcome in ("recovered", "unfounded", "other"):
        with pytest.raises(Refused) as e:
            incidents.close(store.uow(), people["officer"], inc.id, outcome, "it will turn up")
        assert _rules(e.value) == {"R-155"}
    with pytest.raises(Refused) as e:
        incidents.close(store.uow(), people["officer"], inc.id, "leak_reported", "   ")
    assert _rules(e.value) == {"R-156"}
    assert count_events(store) == before
    incidents.add_measure(store.uow(), people["officer"], inc.id, "searched room 2; asked the last holder")
    incidents.found(store.uow(), people["clerk"], code, SHELF)
    assert incidents.view(store.uow(), people["officer"], inc.id).status == "open"  # found is not closed
    incidents.close(store.uow(), people["officer"], inc.id, "recovered", "found behind the cabinet; no exposure")
    done = incidents.view(store.uow(), people["officer"], inc.id)
    assert (done.status, done.outcome, done.closed_by) == ("closed", "recovered", badge("officer"))
    assert [m["text"] for m in done.measures] == ["searched room 2; asked the last holder"]
    with pytest.raises(Refused) as e:
        incidents.close(store.uow(), people["officer"], inc.id, "recovered", "again")
    assert _rules(e.value) == {"R-156"}
    with pytest.raises(DomainError):
        incidents.add_measure(store.uow(), people["officer"], inc.id, "too late")
    assert incidents.listing(store.uow(), people["officer"]) == []
    assert len(incidents.listing(store.uow(), people["officer"], include_closed=True)) == 1
    with store.engine.connect() as conn:
        assert verify(conn).ok


def test_a_loss_still_missing_closes_only_as_a_leak_reported(store: Store, people: dict[str, Signed]) -> None:
    code = _register(store, people["clerk"], "confidential")
    incidents.report_missing(store.uow(), people["clerk"], code)
    [inc] = incidents.listing(store.uow(), people["officer"])
    store.clock.advance(days=61)  # type: ignore[attr-defined]
    incidents.close(store.uow(), people["officer"], inc.id, "leak_reported", "reported to the secrecy bureau")
    assert state_of(store, code)[0] == "missing"  # closing an incident never changes custody
    ev = _last(store)
    assert ev.type == EventType.INCIDENT_CLOSED and json.loads(ev.payload)["still_missing"] == [code]


def test_anyone_reports_other_incidents_and_unknown_codes_are_kept(store: Store, people: dict[str, Signed]) -> None:
    code = _register(store, people["clerk"], "top_secret", SAFE)
    n = incidents.report(store.uow(), people["reader_general"], "seal_broken", "envelope torn at the corner",
                         carriers=[code.lower(), "E2801160600002066A4D2B7C"], place=SAFE)
    v = incidents.view(store.uow(), people["officer"], n)
    assert (v.kind, v.level, v.carriers, v.still_missing) == (
        "seal_broken", "top_secret", tuple(sorted([code, "E2801160600002066A4D2B7C"])), ())
    assert state_of(store, code) == ("in_store", None, SAFE)
    before = count_events(store)
    with pytest.raises(DomainError):  # a loss goes through `missing`, which changes the carrier's status too
        incidents.report(store.uow(), people["clerk"], IncidentKind.LOSS, "gone", carriers=[code])
    with pytest.raises(DomainError):
        incidents.report(store.uow(), people["clerk"], "ufo", "lights in the sky")
    with pytest.raises(DomainError):
        incidents.report(store.uow(), people["clerk"], "other", "  ")
    with pytest.raises(DomainError):
        incidents.report(store.uow(), people["clerk"], "other", "later", discovered_at=store.clock() + timedelta(1))
    with pytest.raises(NotFound):
        incidents.report(store.uow(), people["clerk"], "other", "somewhere", place=place("BJ", "NOWHERE"))
    with pytest.raises(NotFound):
        incidents.view(store.uow(), people["officer"], 99999)
    assert count_events(store) == before


def test_incident_events_replay_without_touching_custody(store: Store, people: dict[str, Signed]) -> None:
    code = _register(store, people["clerk"])
    incidents.report_missing(store.uow(), people["clerk"], code)
    incidents.report(store.uow(), people["clerk"], "other", "door left open", place=SHELF)
    [_, b] = incidents.listing(store.uow(), people["officer"])
    incidents.add_measure(store.uow(), people["officer"], b.id, "door lock replaced")
    incidents.close(store.uow(), people["officer"], b.id, "other", "lock replaced, room checked")
    with store.engine.connect() as conn:
        through = conn.execute(select(Event.seq).order_by(Event.seq.desc()).limit(1)).scalar_one()
        assert replay_and_compare(conn, through).findings == []
        assert verify(conn).ok
