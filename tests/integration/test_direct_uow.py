"""A unit of work on a Core connection (`UnitOfWork.direct`, the counter's check-out and check-in): the same one
transaction as with the ORM session — ORM changes and prebuilt statements commit together or not at all, on both
databases — and a refusal still leaves only its audit row."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tracker.demo import place
from tracker.domain import DomainError, EventType
from tracker.ledger import EventDraft, verify
from tracker.schema import Event, Location, Refusal
from tracker.services import registry
from tracker.services.common import Refused, Signed
from tracker.store import Store

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
