"""Every code the register issues prints readably on every layout of its kind (issue 17): carrier codes always do
(tests/labels/test_symbols_fit.py decodes the longest); a place or badge code typed in by people is refused when it
is made, on SQLite and PostgreSQL, if the shelf or badge label's Code 128 could not carry it at some printer
resolution — rather than first refused at the printer, with the code already on the shelf."""

from __future__ import annotations

import pytest
from tests_support import count_events

from labels.codes import make_badge_code, make_location_code
from tracker import queries
from tracker.domain import DomainError
from tracker.services import personnel, registry
from tracker.services.common import Signed
from tracker.store import Store


def test_a_place_code_too_long_for_its_shelf_label_is_refused_when_made(store: Store,
                                                                        people: dict[str, Signed]) -> None:
    long = make_location_code("BJ", "R12CAB3SHELF")  # 12 characters: a valid code, 70 mm of Code 128
    before = count_events(store)
    with pytest.raises(DomainError) as refused:
        registry.add_location(store.uow(), people["admin"], long, "长编号柜", "cabinet", "secret")
    assert refused.value.en.startswith("R-18") and "location label" in refused.value.en and long in refused.value.en
    assert "标签" in refused.value.zh and long in refused.value.zh
    assert count_events(store) == before
    with store.uow(readonly=True) as uow:
        assert all(loc["code"] != long for loc in queries.locations(uow))
    longest = make_location_code("BJ", "R9C9S99")  # 7 characters: the shelf label holds it
    assert registry.add_location(store.uow(), people["admin"], longest, "九号柜", "cabinet", "secret") == longest


def test_a_badge_code_too_long_for_the_badge_label_is_refused_when_made(store: Store,
                                                                        people: dict[str, Signed]) -> None:
    long = make_badge_code("BJ", "ZHANGSANFENG")
    with pytest.raises(DomainError) as refused:
        personnel.add_person(store.uow(), people["admin"], long, "张三丰", "办公室", "none", [], None)
    assert refused.value.en.startswith("R-18") and "badge label" in refused.value.en
    with store.uow(readonly=True) as uow:
        assert all(p["badge"] != long for p in queries.people(uow))
    digits = make_badge_code("BJ", "900001")
    assert personnel.add_person(store.uow(), people["admin"], digits, "王五", "办公室", "none", [], None) == digits
