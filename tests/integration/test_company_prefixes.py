"""The register's own GS1 company prefixes live in the register (migration 0006), are recorded once at init and
decide which tags are carriers: a GIAI-96 tag under any other prefix is an unknown tag, on SQLite and PostgreSQL."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect

from labels.codes import carrier_code_to_epc, make_badge_code, make_carrier_code
from tracker.domain import DomainError
from tracker.epc_scope import carrier_code_for_epc, company_prefixes, configured_prefixes, record_company_prefixes
from tracker.services import personnel
from tracker.store import Store

OURS = "6901234"
CODE = make_carrier_code("BJ", 1238)


def test_the_table_comes_with_the_schema_and_starts_empty(store: Store) -> None:
    assert "company_prefixes" in inspect(store.engine).get_table_names()
    with store.uow(readonly=True) as uow:
        assert company_prefixes(uow) == ()
        # no prefix recorded: our tags are GID-96 only, and no GIAI tag is a carrier
        assert carrier_code_for_epc(uow, carrier_code_to_epc(CODE, OURS)) is None
        assert carrier_code_for_epc(uow, carrier_code_to_epc(CODE)) == CODE


def test_prefixes_are_recorded_once_at_init_and_never_changed_after(store: Store) -> None:
    assert configured_prefixes({"TRACKER_GS1_PREFIX": f"{OURS}, 6923456"}) == (OURS, "6923456")
    assert configured_prefixes({}) == ()
    with pytest.raises(DomainError) as bad:
        configured_prefixes({"TRACKER_GS1_PREFIX": "69A"})
    assert "6 to 12 digits" in bad.value.en and "6 至 12 位数字" in bad.value.zh
    assert record_company_prefixes(store.uow(), [OURS]) == (OURS,)
    assert record_company_prefixes(store.uow(), [OURS]) == (OURS,)  # init run again: nothing changes
    with pytest.raises(DomainError) as refused:
        record_company_prefixes(store.uow(), [OURS, "6923456"])  # a foreign prefix slipped in later
    assert "not changed" in refused.value.en and "不可更改" in refused.value.zh
    with store.uow(readonly=True) as uow:
        assert company_prefixes(uow) == (OURS,)
        assert carrier_code_for_epc(uow, carrier_code_to_epc(CODE, OURS)) == CODE


def test_a_register_with_people_takes_no_first_prefix(store: Store) -> None:
    personnel.add_person(store.uow(), None, make_badge_code("BJ", "1"), "管理员", "保密办", "core", ["admin"], "482916")
    with pytest.raises(DomainError):
        record_company_prefixes(store.uow(), [OURS])
    with store.uow(readonly=True) as uow:
        assert company_prefixes(uow) == ()


@pytest.mark.parametrize("ours", [[OURS], [OURS, "69012345"]])
def test_a_foreign_prefix_giai_tag_is_an_unknown_tag(store: Store, ours: list[str]) -> None:
    record_company_prefixes(store.uow(), ours)
    with store.uow(readonly=True) as uow:
        own = company_prefixes(uow)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        foreign=st.from_regex(r"[0-9]{6,9}", fullmatch=True),
        site=st.text(string.ascii_uppercase, min_size=2, max_size=4),
        serial=st.integers(0, 999_999_999),
    )
    def check(foreign: str, site: str, serial: int) -> None:
        assume(foreign not in own)
        code = make_carrier_code(site, serial)
        try:
            epc = carrier_code_to_epc(code, foreign)
        except ValueError:
            assume(False)
        assert carrier_code_for_epc(own, epc) is None
        assert carrier_code_for_epc(own, carrier_code_to_epc(code, own[0])) == code

    check()
    with store.uow(readonly=True) as uow:  # and the same through the register itself
        assert carrier_code_for_epc(uow, carrier_code_to_epc(CODE, "6999999")) is None
        assert carrier_code_for_epc(uow, carrier_code_to_epc(CODE, OURS)) == CODE


def test_init_records_the_prefixes_with_its_people_or_not_at_all(store: Store) -> None:
    """`tracker init` in one transaction: a refused first person leaves no prefix behind (it used to, so a mistyped
    prefix could never be put right by the next init), and an accepted one comes with its prefixes."""
    admin = personnel.NewPerson(make_badge_code("BJ", "1"), "管理员", "保密办", "core", ("admin",), "482916")
    bad = personnel.NewPerson("BJ-P-2", "保密员", "保密办", "core", ("security_officer",), "571938")
    with pytest.raises(DomainError):
        personnel.bootstrap(store.uow(), [admin, bad], ["6999999"])
    with store.uow(readonly=True) as uow:
        assert company_prefixes(uow) == ()
    personnel.bootstrap(store.uow(), [admin], [OURS])
    with store.uow(readonly=True) as uow:
        assert company_prefixes(uow) == (OURS,)
