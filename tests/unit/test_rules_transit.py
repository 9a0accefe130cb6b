"""The transit rules as pure functions (R-18, R-20, R-21, R-56, R-87, R-89, R-93, R-159): each refusing and allowing,
with no database; and the package code, told apart from every other code by its shape."""

from __future__ import annotations

import pytest

from labels.codes import CodeError, classify_code, make_package_code, parse_package_code
from tracker.domain import CarrierKind, Classification, Clearance, Regime, Role, Scope
from tracker.rules import (
    CarrierFacts,
    PersonFacts,
    Policy,
    Violation,
    check_opening,
    check_personal_delivery,
    check_receiver,
    check_transit_parties,
)

P = Policy()


def person(badge: str, *roles: Role, clearance: Clearance = Clearance.CORE) -> PersonFacts:
    return PersonFacts(badge, badge, "办公室", clearance, frozenset(roles))


def carrier(level: Classification = Classification.SECRET) -> CarrierFacts:
    return CarrierFacts("BJ-0000010", CarrierKind.PAPER, Regime.STATE, level, None, Scope(frozenset({"办公室"})))


CLERK, COURIER, COURIER2 = person("C", Role.CLERK), person("K1", Role.COURIER), person("K2", Role.COURIER)
READER = person("R")


def rules(vs: list[Violation]) -> set[str]:
    return {v.rule for v in vs}


def test_dispatch_to_a_courier_both_signed() -> None:
    assert check_transit_parties([carrier()], CLERK, True, COURIER, True, None, False, False, P) == []
    assert rules(check_transit_parties([carrier()], CLERK, True, COURIER, False, None, False, False, P)) == {"R-18"}


def test_only_couriers_carry_and_no_courier_relay() -> None:
    assert "R-87" in rules(check_transit_parties([carrier()], CLERK, True, READER, True, None, False, False, P))
    assert rules(check_transit_parties([carrier()], COURIER, True, COURIER2, True, None, False, False, P)) == {"R-89"}
    relay = Policy(allow_courier_relay=True)
    assert check_transit_parties([carrier()], COURIER, True, COURIER2, True, None, False, False, relay) == []
    assert "R-56" in rules(check_transit_parties([carrier()], READER, True, COURIER, True, None, False, False, P))


def test_top_secret_needs_a_second_signed_cleared_courier() -> None:
    ts = [carrier(Classification.TOP_SECRET)]
    assert rules(check_transit_parties(ts, CLERK, True, COURIER, True, None, False, False, P)) == {"R-93"}
    assert rules(check_transit_parties(ts, CLERK, True, COURIER, True, CLERK, True, False, P)) == {"R-93"}
    assert rules(check_transit_parties(ts, CLERK, True, COURIER, True, COURIER2, False, False, P)) == {"R-18"}
    weak = person("K3", Role.COURIER, clearance=Clearance.IMPORTANT)
    assert rules(check_transit_parties(ts, CLERK, True, COURIER, True, weak, True, False, P)) == {"R-159"}
    assert check_transit_parties(ts, CLERK, True, COURIER, True, COURIER2, True, False, P) == []


def test_receipt_is_by_the_registry() -> None:
    assert check_transit_parties([carrier()], COURIER, True, CLERK, True, None, False, True, P) == []
    assert rules(check_transit_parties([carrier()], COURIER, True, COURIER2, True, None, False, True, P)) >= {"R-20"}


def test_receivers_and_personal_items() -> None:
    assert check_receiver(CLERK, P) == [] and rules(check_receiver(READER, P)) == {"R-20"}
    assert check_receiver(READER, Policy(incoming_receivers=("R",))) == []
    assert check_personal_delivery("R", READER, True, frozenset()) == []
    assert check_personal_delivery("X", READER, True, frozenset({"R"})) == []
    assert rules(check_personal_delivery("X", READER, True, frozenset())) == {"R-21"}
    assert rules(check_personal_delivery("R", READER, False, frozenset())) == {"R-22"}


def test_opening_counts_both_ways() -> None:
    assert check_opening(frozenset({"A", "B"}), frozenset({"A", "C"})) == (["B"], ["C"])


def test_package_codes() -> None:
    code = make_package_code("BJ", 1)
    assert parse_package_code(code).serial == 1 and classify_code(code) == "package"
    assert classify_code("BJ-0000010") != "package"
    with pytest.raises(CodeError):
        parse_package_code(code[:-1] + ("0" if code[-1] != "0" else "1"))
