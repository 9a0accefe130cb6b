"""One carrier per (issuer, document number, copy number), and one "of N" for every copy of a document (issue 14).

Saving the new-carrier form twice, or running `carrier add` twice, must not make two "copy 2 of 2"; a later copy must
renumber N on every copy of the document, whether the copies were registered one by one or made with `copy`.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from tests_support import approve, count_events

from tracker.demo import place
from tracker.services import registry
from tracker.services.common import Refused, Signed
from tracker.store import Store

SHELF = place("BJ", "R2C1S1")


def _copy(store: Store, clerk: Signed, n: int, total: int, doc: str = "京密〔2026〕7号",
          issuer: str | None = "市保密局") -> str:
    return registry.register(store.uow(), clerk, registry.CarrierInput(
        location=SHELF, classification="secret", period="10y", scope="法规处", doc_number=doc, issuer=issuer,
        copy_number=n, copy_total=total))


def _numbers(store: Store, doc: str = "京密〔2026〕7号") -> dict[str, tuple[int | None, int | None]]:
    from tracker.schema import Carrier

    with store.uow(readonly=True) as uow:
        rows = uow.session.execute(select(Carrier.code, Carrier.copy_number, Carrier.copy_total)
                                   .where(Carrier.doc_number == doc)).all()
    return {code: (n, total) for code, n, total in rows}


def test_the_same_copy_twice_is_refused_and_writes_nothing(store: Store, people: dict[str, Signed]) -> None:
    first = _copy(store, people["clerk"], 2, 2)
    before = count_events(store)
    with pytest.raises(Refused) as err:
        _copy(store, people["clerk"], 2, 2)
    assert err.value.rules == ["R-29"]
    assert first in err.value.violations[0].en and "已登记为" in err.value.violations[0].zh
    assert count_events(store) == before and list(_numbers(store)) == [first]
    # The same number of another document, or of the same number from another issuer, is another carrier.
    _copy(store, people["clerk"], 2, 2, doc="京密〔2026〕8号")
    _copy(store, people["clerk"], 2, 2, issuer="上级机关")


def test_a_batch_with_one_copy_twice_is_refused(store: Store, people: dict[str, Signed]) -> None:
    row = registry.CarrierInput(location=SHELF, classification="secret", period="10y", scope="法规处",
                                doc_number="京密〔2026〕9号", issuer="市保密局", copy_number=1, copy_total=2)
    with pytest.raises(Refused) as err:
        registry.import_rows(store.uow(), people["clerk"], [row, row])
    assert err.value.rules == ["R-29"]
    assert _numbers(store, "京密〔2026〕9号") == {}


def test_a_later_copy_renumbers_every_sibling(store: Store, people: dict[str, Signed]) -> None:
    one, two = _copy(store, people["clerk"], 1, 2), _copy(store, people["clerk"], 2, 2)
    three = _copy(store, people["clerk"], 3, 3)
    assert _numbers(store) == {one: (1, 3), two: (2, 3), three: (3, 3)}
    # A copy whose own N is lower than the document's takes the document's N.
    five = _copy(store, people["clerk"], 5, 5)
    four = _copy(store, people["clerk"], 4, 4)
    assert set(_numbers(store).values()) == {(n, 5) for n in range(1, 6)}
    assert {four, five} <= set(_numbers(store))


def test_copy_command_renumbers_copies_registered_one_by_one(store: Store, people: dict[str, Signed]) -> None:
    one, two = _copy(store, people["clerk"], 1, 2), _copy(store, people["clerk"], 2, 2)
    a = approve(store, people["approver"], "copy", one, copies=1)
    (new,) = registry.copy(store.uow(), people["clerk"], one, 1, a)
    assert _numbers(store) == {one: (1, 3), two: (2, 3), new: (3, 3)}


def test_the_database_holds_one_row_per_copy_too(store: Store, people: dict[str, Signed]) -> None:
    """Two terminals saving the same copy at once both pass the service's look-up; the unique index (migration 0008)
    lets only one commit. A missing issuer counts as one issuer."""
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from tracker.schema import Carrier

    first = _copy(store, people["clerk"], 1, 1, issuer=None)
    with store.uow(readonly=True) as uow:
        row = uow.session.execute(select(Carrier).where(Carrier.code == first)).unique().scalar_one()
        values = {c.name: getattr(row, c.key) for c in Carrier.__table__.columns if c.name not in ("id", "epc")}
    values["code"] = "BJ-9999996"
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(insert(Carrier.__table__).values(**values))
