"""Who returns a carrier (R-56, R-66) and where carriers are read (R-60, R-67, R-68), on both databases: a check-in
names its returner in the ledger, a third person is a proxy only with the holder's signature, and a refusal writes
nothing but its audit row."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from sqlalchemy import select
from tests_support import approve, count_events, state_of

from tracker.demo import badge, place
from tracker.domain import Classification
from tracker.rules import Policy
from tracker.schema import Event
from tracker.services import circulation, registry
from tracker.services.common import Refused, Signed
from tracker.store import Store

SHELF = place("BJ", "R2C1S1")
READING = place("BJ", "R1")


def lent(store: Store, people: dict[str, Signed], to: str = "reader_important", level: str = "secret") -> str:
    code = registry.register(store.uow(), people["clerk"], registry.CarrierInput(
        location=SHELF, classification=level, period="10y", scope="法规处;技术处;办公室", copy_number=1, copy_total=1,
        title="测试文件"))
    a = approve(store, people["approver"], "loan", code, grantee=badge(to))
    circulation.check_out(store.uow(), people["clerk"], code, people[to], approval_id=a, reading_place=READING)
    return code


def last_payload(store: Store, code: str) -> dict[str, object]:
    with store.uow(readonly=True) as uow:
        text = uow.session.execute(select(Event.payload).where(Event.carrier == code)
                                   .order_by(Event.seq.desc())).scalars().first()
    assert text is not None
    return dict(json.loads(text))


def test_the_holder_returns_and_is_recorded(store: Store, people: dict[str, Signed]) -> None:
    code = lent(store, people)
    circulation.check_in(store.uow(), people["clerk"], code, returned_by=people["reader_important"])
    assert state_of(store, code) == ("in_store", None, SHELF)
    p = last_payload(store, code)
    assert p["returned_by"] == badge("reader_important") and p["returner"] == "holder"


def test_an_unsigned_returner_is_refused_and_nothing_is_written(store: Store, people: dict[str, Signed]) -> None:
    code = lent(store, people)
    before = count_events(store)
    with pytest.raises(Refused) as e:
        circulation.check_in(store.uow(), people["clerk"], code, returned_by=badge("reader_important"))
    assert e.value.rules == ["R-66"]
    assert count_events(store) == before and state_of(store, code)[0] == "on_loan"


def test_a_third_person_is_a_proxy_only_with_the_holders_signature(store: Store, people: dict[str, Signed]) -> None:
    code = lent(store, people)
    before = count_events(store)
    with pytest.raises(Refused) as e:  # 代交: another reader brings it back on their own
        circulation.check_in(store.uow(), people["clerk"], code, returned_by=people["reader_core"])
    assert e.value.rules == ["R-56"] and count_events(store) == before
    with pytest.raises(Refused) as e:  # the holder "signing" without a PIN is no signature
        circulation.check_in(store.uow(), people["clerk"], code, returned_by=people["reader_core"],
                             holder=Signed(badge("reader_core"), store.clock()))
    assert e.value.rules == ["R-56"]
    circulation.check_in(store.uow(), people["clerk"], code, returned_by=people["reader_core"],
                         holder=people["reader_important"])
    p = last_payload(store, code)
    assert p["returned_by"] == badge("reader_core") and p["returner"] == "proxy" and p["holder_signed"]


def test_a_proxy_needs_the_clearance_for_the_level(store: Store, people: dict[str, Signed]) -> None:
    code = lent(store, people)  # 机密; the 一般 reader may not carry it even with the holder's signature
    with pytest.raises(Refused) as e:
        circulation.check_in(store.uow(), people["clerk"], code, returned_by=people["reader_general"],
                             holder=people["reader_important"])
    assert "R-159" in e.value.rules


def test_a_courier_or_the_registry_brings_it_back(store: Store, people: dict[str, Signed]) -> None:
    first, second = lent(store, people), lent(store, people)
    circulation.check_in(store.uow(), people["clerk"], first, returned_by=people["courier"])
    assert last_payload(store, first)["returner"] == "courier"
    circulation.check_in(store.uow(), people["clerk"], second)  # the operator took it back itself
    p = last_payload(store, second)
    assert p["returned_by"] == badge("clerk") and p["returner"] == "registry"


@pytest.fixture
def policy() -> Policy:
    """The unit decided (R-60, R-68) that 机密 is read only at a designated reading place too."""
    return replace(Policy(), reading_place_levels=frozenset({Classification.TOP_SECRET, Classification.SECRET}))


def test_policy_makes_secret_read_at_a_reading_place(store: Store, people: dict[str, Signed]) -> None:
    code = registry.register(store.uow(), people["clerk"], registry.CarrierInput(
        location=SHELF, classification="secret", period="10y", scope="法规处", copy_number=1, copy_total=1))
    a = approve(store, people["approver"], "loan", code, grantee=badge("reader_important"))
    before = count_events(store)
    with pytest.raises(Refused) as e:
        circulation.check_out(store.uow(), people["clerk"], code, people["reader_important"], approval_id=a)
    assert e.value.rules == ["R-68"] and count_events(store) == before
    circulation.check_out(store.uow(), people["clerk"], code, people["reader_important"], approval_id=a,
                          reading_place=READING)
    assert state_of(store, code)[0] == "on_loan"
