"""Input rules at entry, in the service, so the counter form, `carrier add`, CSV import and stock-take registrations
refuse the same things (issue 14): a period date already past (R-02), a scope naming a unit or badge the register
does not know, and counts (pages, copy numbers, copies) that are not positive or past a sane bound. Each is bad
input (`registry.InvalidInput`, exit 2), names its field's rule, says it in both languages and writes nothing."""

from __future__ import annotations

from datetime import date

import pytest
from tests_support import approve, count_events

from tracker.demo import badge, place
from tracker.domain import DomainError, Scope, SecrecyPeriod
from tracker.services import registry
from tracker.services.common import Signed
from tracker.store import Store

SHELF = place("BJ", "R2C1S1")


def test_period_must_lie_ahead() -> None:
    SecrecyPeriod.parse("2026-11-26").check_entry(date(2026, 11, 25))  # type: ignore[union-attr]
    for text in ("2020-01-01", "2026-11-25"):
        with pytest.raises(DomainError) as err:
            SecrecyPeriod.parse(text).check_entry(date(2026, 11, 25))  # type: ignore[union-attr]
        assert text in err.value.en and "今天" in err.value.zh
    SecrecyPeriod.parse("10y").check_entry(date(2026, 11, 25))  # type: ignore[union-attr]


def test_scope_names_known_units_and_badges() -> None:
    Scope.parse("法规处;@B1").check_entry({"法规处"}, {"B1"})  # type: ignore[union-attr]
    with pytest.raises(DomainError) as err:
        Scope.parse("法规处;不存在处;@B9").check_entry({"法规处"}, {"B1"})  # type: ignore[union-attr]
    assert "不存在处" in err.value.en and "@B9" in err.value.zh and "法规处," not in err.value.en


def _add(store: Store, clerk: Signed, **kw: object) -> str:
    fields: dict[str, object] = {"location": SHELF, "classification": "confidential", "period": "10y",
                                 "scope": "法规处", **kw}
    return registry.register(store.uow(), clerk, registry.CarrierInput(**fields))  # type: ignore[arg-type]


@pytest.mark.parametrize(("field", "value", "rule"), [
    ("period", "2020-01-01", "R-02"),  # the clock is 2026-11-25
    ("period", "2026-11-25", "R-02"),
    ("scope", "不存在处", "R-02"),
    ("scope", "法规处;@B-BJ-99999X", "R-02"),
    ("pages", -5, "R-16"),
    ("pages", 0, "R-16"),
    ("pages", registry.MAX_PAGES + 1, "R-16"),
    ("copy_total", registry.MAX_COPIES + 1, "R-30"),
])
def test_bad_entry_is_refused_and_writes_nothing(store: Store, people: dict[str, Signed], field: str,
                                                 value: object, rule: str) -> None:
    before = count_events(store)
    extra: dict[str, object] = {field: value}
    if field == "copy_total":
        extra["copy_number"] = 1
    with pytest.raises(registry.InvalidInput) as err:
        _add(store, people["clerk"], **extra)
    assert [v.rule for v in err.value.violations] == [rule]
    assert err.value.en and err.value.zh != err.value.en
    assert count_events(store) == before


def test_good_entry_and_known_scope_pass(store: Store, people: dict[str, Signed]) -> None:
    _add(store, people["clerk"], period="2027-01-01", scope=f"技术处;@{badge('reader_core')}", pages=12)


def test_import_names_each_bad_row(store: Store, people: dict[str, Signed]) -> None:
    text = ("classification,period,scope,location,pages\n"
            f"confidential,10y,法规处,{SHELF},3\n"
            f"confidential,2020-01-01,法规处,{SHELF},3\n"
            f"confidential,10y,不存在处,{SHELF},3\n"
            f"confidential,10y,法规处,{SHELF},-5\n")
    with pytest.raises(registry.InvalidInput) as err:
        registry.import_csv(store.uow(), people["clerk"], text)
    assert [v.en.split(":")[0] for v in err.value.violations] == ["row 3", "row 4", "row 5"]


def test_reclassify_refuses_a_past_period_and_an_unknown_unit(store: Store, people: dict[str, Signed]) -> None:
    code = _add(store, people["clerk"])
    a = approve(store, people["approver"], "reclassify", code)
    for period, scope in (("2020-01-01", None), (None, "不存在处")):
        with pytest.raises(registry.InvalidInput):
            registry.reclassify(store.uow(), people["officer"], code, "confidential", period, scope, a)


def test_copy_count_is_bounded(store: Store, people: dict[str, Signed]) -> None:
    code = _add(store, people["clerk"])
    with pytest.raises(registry.InvalidInput):
        registry.copy(store.uow(), people["clerk"], code, registry.MAX_COPIES + 1, None)
