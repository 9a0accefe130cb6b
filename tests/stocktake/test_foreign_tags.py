"""In a stock-take, on SQLite and PostgreSQL, a GIAI-96 tag under another organisation's company prefix is an
unknown code, never the carrier whose asset number it happens to carry: that carrier stays missing from its shelf
until its own tag (under the register's prefix) or its label is read. The reconciler takes the prefixes from the
register, not from an option; a stock-take asked to trust a prefix the register does not hold is refused."""

from __future__ import annotations

import pytest

from labels.codes import carrier_code_to_epc
from tests.stocktake.conftest import S1, S2, World
from tracker import stocktake as st
from tracker.domain import DomainError
from tracker.schema import CompanyPrefix

OURS, FOREIGN = "6901234", "6999999"


def _own_prefix(w: World) -> None:
    """The register's prefix, as `tracker init` records it (this world's people were made before)."""
    with w.store.uow() as uow:
        uow.session.add(CompanyPrefix(prefix=OURS, added_at=uow.now()))
        uow.commit()


def test_a_foreign_prefix_tag_is_an_unknown_code_not_a_carrier(world: World) -> None:
    w = world
    _own_prefix(w)
    sid = w.start()
    foreign_b2 = carrier_code_to_epc(w.c("b2"), FOREIGN)
    own_a2 = carrier_code_to_epc(w.c("a2"), OURS)
    w.upload(sid, [S1, own_a2, S2, foreign_b2])
    found = w.reconcile(sid)
    assert foreign_b2 in found["unknown_code"]
    assert w.c("b2") in found["missing"]  # only another organisation's tag was on its shelf
    assert w.c("a2") not in found["missing"] and own_a2 not in found["unknown_code"]


def test_without_a_prefix_in_the_register_no_giai_tag_is_a_carrier(world: World) -> None:
    w = world
    sid = w.start()
    giai = carrier_code_to_epc(w.c("a2"), OURS)
    w.upload(sid, [S1, giai, carrier_code_to_epc(w.c("b2"))])  # b2's GID-96 tag is still ours
    found = w.reconcile(sid)
    assert giai in found["unknown_code"] and w.c("a2") in found["missing"]
    assert w.c("b2") not in found.get("missing", set())


def test_a_stocktake_may_not_trust_a_prefix_the_register_does_not_hold(world: World) -> None:
    w = world
    _own_prefix(w)
    with pytest.raises(DomainError) as refused:
        w.start(config=st.StocktakeConfig(tuning=st.Tuning(company_prefix=FOREIGN)))
    assert "not one of the register's GS1 company prefixes" in refused.value.en
    assert "不是登记库的 GS1 厂商识别代码" in refused.value.zh
