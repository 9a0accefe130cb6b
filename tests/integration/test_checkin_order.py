"""Check-in judges whether the carrier is out before it asks where it goes back to (issue 14: "Checking in a carrier
already in store says 'R-66: say where it goes back to'"). On both databases; a refusal writes nothing but its
audit row."""

from __future__ import annotations

import pytest
from tests_support import count_events, state_of

from tracker.demo import place
from tracker.services import circulation, incidents, registry
from tracker.services.common import Refused, Signed
from tracker.store import Store

SHELF = place("BJ", "R2C1S1")
NOWHERE = place("BJ", "R9C9S9")  # well formed, no such place in the register


def _register(store: Store, clerk: Signed) -> str:
    return registry.register(store.uow(), clerk, registry.CarrierInput(
        location=SHELF, classification="internal", title="归还顺序"))


def _refusal(store: Store, clerk: Signed, code: str, to: str | None = None) -> Refused:
    before = count_events(store)
    with pytest.raises(Refused) as e:
        circulation.check_in(store.uow(), clerk, code, to)
    assert count_events(store) == before
    return e.value


def test_a_carrier_in_store_is_refused_as_not_out_not_asked_for_a_place(store: Store,
                                                                         people: dict[str, Signed]) -> None:
    code = _register(store, people["clerk"])
    e = _refusal(store, people["clerk"], code)
    assert e.rules == ["R-66"]
    en, zh = e.violations[0].en, e.violations[0].zh
    assert "not out" in en and f"in {SHELF}" in en and "say where" not in en, en
    assert "未借出" in zh and "存放位置" not in zh, zh
    assert state_of(store, code) == ("in_store", None, SHELF)


def test_the_status_comes_before_an_unknown_place(store: Store, people: dict[str, Signed]) -> None:
    """A place that does not exist is not the reason: the carrier is not out at all."""
    code = _register(store, people["clerk"])
    e = _refusal(store, people["clerk"], code, NOWHERE)
    assert e.rules == ["R-66"] and "not out" in e.violations[0].en


def test_a_missing_carrier_is_refused_as_not_out(store: Store, people: dict[str, Signed]) -> None:
    code = _register(store, people["clerk"])
    incidents.report_missing(store.uow(), people["clerk"], code, note="not on its shelf")
    e = _refusal(store, people["clerk"], code)
    assert e.rules == ["R-66"] and "not out" in e.violations[0].en and "missing" in e.violations[0].en


def test_a_carrier_on_loan_still_goes_back_where_it_came_from(store: Store, people: dict[str, Signed]) -> None:
    code = _register(store, people["clerk"])
    circulation.check_out(store.uow(), people["clerk"], code, people["reader_core"])
    circulation.check_in(store.uow(), people["clerk"], code)
    assert state_of(store, code) == ("in_store", None, SHELF)
