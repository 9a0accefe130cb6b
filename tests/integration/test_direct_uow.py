"""A unit of work on a Core connection (`UnitOfWork.direct`, the counter's check-out and check-in): the same one
transaction as with the ORM session — ORM changes and prebuilt statements commit together or not at all, on both
databases — and a refusal still leaves only its audit row."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool
from tests_support import approve

from tracker import queries
from tracker.demo import place
from tracker.domain import DomainError, EventType
from tracker.ledger import EventDraft, verify
from tracker.prepared import batch
from tracker.schema import Event, Location, Refusal
from tracker.services import circulation, registry
from tracker.services.common import Refused, Signed
from tracker.store import RegisterUnavailable, Store

SAFE = place("BJ", "DIRECT1")


def _count(store: Store, q: object) -> int:
    with store.uow(readonly=True) as uow:
        return int(uow.session.execute(q).scalar_one())  # type: ignore[call-overload]


def test_an_orm_service_run_direct_commits_its_row_and_its_event_together(store: Store,
                                                                          people: dict[str, Signed]) -> None:
    events = _count(store, select(func.count()).select_from(Event))
    # add_location reads and adds through the ORM and appends its event through a prebuilt statement
    registry.add_location(store.uow().direct(), people["admin"], SAFE, "直连柜", "cabinet", "secret")
    assert _count(store, select(func.count()).where(Location.code == SAFE)) == 1
    with store.uow(readonly=True) as uow:
        last = uow.session.execute(select(Event.type, Event.to_location).order_by(Event.seq.desc()).limit(1)).one()
    assert tuple(last) == (EventType.LOCATION_ADDED.value, SAFE)
    assert _count(store, select(func.count()).select_from(Event)) == events + 1
    with store.engine.connect() as conn:
        report = verify(conn)
    assert report.ok, report.message()


def test_a_failure_after_writes_leaves_nothing(store: Store, people: dict[str, Signed]) -> None:
    events = _count(store, select(func.count()).select_from(Event))
    uow = store.uow().direct()
    with pytest.raises(RuntimeError), uow:
        uow.session.add(Location(code=SAFE, name="半途", kind="cabinet", max_level="secret"))
        uow.ledger.append(EventDraft(EventType.LOCATION_ADDED, actor=people["admin"].badge,
                                              to_location=SAFE), uow.now())
        uow.session.flush()
        raise RuntimeError("the operation fails after its writes")
    assert _count(store, select(func.count()).where(Location.code == SAFE)) == 0
    assert _count(store, select(func.count()).select_from(Event)) == events


def test_a_refusal_run_direct_is_audited_and_changes_nothing_else(store: Store, people: dict[str, Signed]) -> None:
    refusals = _count(store, select(func.count()).select_from(Refusal))
    with pytest.raises(Refused):  # a place may not allow more than its parent
        registry.add_location(store.uow().direct(), people["admin"], SAFE, "越级柜", "cabinet", "top_secret",
                              parent=place("BJ", "R2"))
    assert _count(store, select(func.count()).where(Location.code == SAFE)) == 0
    assert _count(store, select(func.count()).select_from(Refusal)) == refusals + 1
    with pytest.raises(DomainError):  # a second unit of work on the same store still works after the refusal
        registry.add_location(store.uow().direct(), people["admin"], place("BJ", "R2"), "重复", "room", "secret")


def test_an_orm_change_made_after_the_last_prebuilt_statement_is_committed(store: Store,
                                                                         people: dict[str, Signed]) -> None:
    """Nothing after the ORM `add` flushes it on the way (no prebuilt statement follows): the commit must."""
    with store.uow().direct() as uow:
        uow.ledger.append(EventDraft(EventType.LOCATION_ADDED, actor=people["admin"].badge, to_location=SAFE),
                          uow.now())
        uow.session.add(Location(code=SAFE, name="后加", kind="cabinet", max_level="secret"))
        uow.commit()
    assert _count(store, select(func.count()).where(Location.code == SAFE)) == 1


def _drop_every_connection(store: Store) -> int:
    """What a server restart or an administrator does to the counter's pooled connections: the server ends them."""
    admin = create_engine(store.engine.url, poolclass=NullPool)
    try:
        with admin.connect() as conn:
            ended = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                      "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()
    finally:
        admin.dispose()
    return int(ended)


def test_a_connection_the_server_dropped_costs_the_counter_nothing(store: Store, people: dict[str, Signed]) -> None:
    """The check-out's first script stands in for the pool's ping (one round trip less): when it finds its pooled
    connection dead, the operation starts again on a live one and succeeds, as the ping would have let it; other
    units of work keep the ping. Fails if the direct unit of work neither pings nor starts again."""
    if store.dialect != "postgresql":
        pytest.skip("pooled connections a server can drop are PostgreSQL's")
    codes = registry.import_rows(store.uow(), people["clerk"], [registry.CarrierInput(
        location=place("BJ", "R2C1S1"), classification="secret", period="10y", scope="法规处", copy_number=1,
        copy_total=1, title=f"断线 {i}") for i in range(3)])
    reader = people["reader_important"]
    grant = approve(store, people["approver"], "loan", *codes, grantee=reader.badge)
    circulation.check_out(store.uow(), people["clerk"], codes[0], reader, approval_id=grant)  # pooled, prepared
    circulation.check_in(store.uow(), people["clerk"], codes[0])
    events = _count(store, select(func.count()).select_from(Event))
    assert _drop_every_connection(store) >= 1
    receipt = circulation.check_out(store.uow(), people["clerk"], codes[1], reader, approval_id=grant)
    assert receipt.holder == reader.badge
    assert _drop_every_connection(store) >= 1
    circulation.check_in(store.uow(), people["clerk"], codes[1])
    assert _drop_every_connection(store) >= 1
    with store.uow(readonly=True) as uow:  # a unit of work on the ORM session: its connection is pinged
        assert queries.carrier(uow, codes[1]) is not None
    assert _count(store, select(func.count()).select_from(Event)) == events + 2
    with store.engine.connect() as conn:
        report = verify(conn)
    assert report.ok, report.message()


def test_a_first_script_that_commits_is_never_sent_twice(store: Store, people: dict[str, Signed]) -> None:
    """A script carrying the COMMIT may have been saved before its connection broke: it is not sent again on a new
    connection (that could record the act twice); the operation fails as unconfirmed and the next one works."""
    if store.dialect != "postgresql":
        pytest.skip("pooled connections a server can drop are PostgreSQL's")
    registry.add_location(store.uow().direct(), people["admin"], SAFE, "直连柜", "cabinet", "secret")  # pooled
    events = _count(store, select(func.count()).select_from(Event))
    assert _drop_every_connection(store) >= 1
    uow = store.uow().direct()
    with pytest.raises(RegisterUnavailable), uow:
        with batch(uow.session, commit=True):  # the transaction's first message is its writes and COMMIT
            uow.ledger.append(EventDraft(EventType.LOCATION_ADDED, actor=people["admin"].badge, to_location=SAFE),
                              uow.now())
        uow.commit()
    assert _count(store, select(func.count()).select_from(Event)) == events
    registry.add_location(store.uow().direct(), people["admin"], place("BJ", "DIRECT2"), "直连柜二", "cabinet",
                          "secret")
    assert _count(store, select(func.count()).select_from(Event)) == events + 1
