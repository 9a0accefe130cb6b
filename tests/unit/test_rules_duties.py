"""The rules issue 19 added, as pure functions: who may return a carrier (R-56, R-66), reading places by policy
(R-60, R-68), and leaving a classified post with its 脱密期 (R-140, R-166, R-170)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from tracker.domain import (
    CarrierKind,
    CarrierStatus,
    Classification,
    Clearance,
    PersonStatus,
    Regime,
    Role,
    Scope,
    SecrecyPeriod,
)
from tracker.policy import policy_document, policy_from_document
from tracker.rules import (
    CarrierFacts,
    LocationFacts,
    PersonFacts,
    Policy,
    check_checkout,
    check_leaving_post,
    check_returner,
)

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
OUT = CarrierFacts("BJ-000001X", CarrierKind.PAPER, Regime.STATE, Classification.SECRET, SecrecyPeriod(years=10),
                   Scope(units=frozenset({"法规处"})), CarrierStatus.ON_LOAN, holder="holder")


def person(badge: str, clearance: Clearance = Clearance.IMPORTANT, *roles: Role) -> PersonFacts:
    return PersonFacts(badge, badge, "法规处", clearance, frozenset(roles))


def rules(vs: list) -> set[str]:  # type: ignore[type-arg]
    return {v.rule for v in vs}


def test_who_may_return() -> None:
    assert check_returner(OUT, person("holder"), True, False) == []
    assert rules(check_returner(OUT, person("holder"), False, False)) == {"R-66"}
    assert check_returner(OUT, person("c", Clearance.CORE, Role.COURIER), True, False) == []
    assert check_returner(OUT, person("k", Clearance.CORE, Role.CLERK), True, False) == []
    assert rules(check_returner(OUT, person("other"), True, False)) == {"R-56"}
    assert check_returner(OUT, person("other"), True, True) == []
    assert rules(check_returner(OUT, person("low", Clearance.GENERAL), True, True)) == {"R-159"}
    gone = replace(person("other"), status=PersonStatus.DEPARTED)
    assert "R-56" in rules(check_returner(OUT, gone, True, True))
    assert all(v.en and v.zh for v in check_returner(OUT, person("low", Clearance.GENERAL), False, False))


def test_reading_places_by_policy() -> None:
    home = replace(OUT, status=CarrierStatus.IN_STORE, holder=None, location="LOC-A")
    strict = policy_from_document({"reading_place_levels": ["top_secret", "secret"]})
    assert Policy().reading_place_levels == frozenset({Classification.TOP_SECRET})
    assert policy_document(strict)["reading_place_levels"] == ["secret", "top_secret"]
    due = NOW + timedelta(hours=2)
    assert "R-68" not in rules(check_checkout(home, person("r"), True, None, due, NOW, None, Policy()))
    assert "R-68" in rules(check_checkout(home, person("r"), True, None, due, NOW, None, strict))
    room = LocationFacts("LOC-R", "reading room", Classification.TOP_SECRET, reading_place=True)
    assert "R-68" not in rules(check_checkout(home, person("r"), True, None, due, NOW, room, strict))


def test_leaving_a_post() -> None:
    core, start = person("core", Clearance.CORE), date(2026, 11, 25)
    assert check_leaving_post(core, [], True, start, date(2030, 1, 1)) == []
    assert rules(check_leaving_post(core, ["BJ-000001X"], False, start, date(2028, 1, 1))) == {"R-140", "R-170",
                                                                                                "R-166"}
    assert rules(check_leaving_post(core, [], True, start, date(2032, 1, 1))) == {"R-166"}
    assert check_leaving_post(person("g", Clearance.GENERAL), [], True, start, date(2027, 12, 1)) == []
