"""`tracker.views` reads one carrier with Core SQL (for `tracker carrier show`, issue 22): the view must be the very one
`tracker.queries` builds from the mapped objects, on both databases, for carriers in store, on loan (holder, due
time), copies, with and without an EPC, and for codes and EPCs given with spaces or in lower case."""

from __future__ import annotations

from sqlalchemy import select, update

from tracker import queries, views
from tracker.demo import build_demo
from tracker.schema import Carrier
from tracker.store import Store


def test_the_core_view_of_a_carrier_is_the_orm_view(store: Store) -> None:
    build_demo(store, carriers=24)
    with store.uow() as uow:  # a tag on some, a carrier gone missing: every field has a value somewhere
        ids = list(uow.session.execute(select(Carrier.id).order_by(Carrier.id)).scalars())
        for i in ids[::3]:
            uow.session.execute(update(Carrier).where(Carrier.id == i).values(epc=f"{i:024X}"))
        uow.session.execute(update(Carrier).where(Carrier.id == ids[1]).values(missing_since=store.clock()))
        uow.commit()
    with store.uow(readonly=True) as uow:
        carriers = list(uow.session.execute(select(Carrier.code, Carrier.epc)).all())
        expected = {code: queries.carrier(uow, code) for code, _ in carriers}
        by_epc = {epc: queries.carrier_by_epc(uow, epc) for _, epc in carriers if epc}
    assert any(v and v.holder for v in expected.values()) and any(v and v.due_at for v in expected.values())
    assert any(v and v.location for v in expected.values()) and any(v and v.missing_since for v in expected.values())
    with store.read() as conn:
        for code, view in expected.items():
            assert view is not None and views.carrier(conn, code) == view
            assert views.carrier(conn, f" {code} ") == view
        for epc, view in by_epc.items():
            assert view is not None and views.carrier_by_epc(conn, epc.lower()) == view
        assert views.carrier(conn, "BJ-999999X") is None and views.carrier_by_epc(conn, "00" * 12) is None
