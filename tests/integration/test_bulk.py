"""tracker.bulk on both databases: every row lands once and in order across multi-row statements, inside the
caller's transaction; constants get SQLAlchemy's conversion, and a varying column that needs one is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tracker.bulk import MAX_PARAMETERS, insert_rows
from tracker.ledger import COLUMNS
from tracker.schema import Carrier, Event, table
from tracker.store import Store

PER = MAX_PARAMETERS // (len(COLUMNS) + 1)  # event rows per statement


def _events(n: int) -> list[tuple[object, ...]]:
    return [(10_000 + i, "2026-11-26T03:00:00.000000Z", "registered", f"C{i}", None, None, None, None, "LOC",
             None, i % 3 or None, "t", "{}", "0" * 64) for i in range(n)]


@pytest.mark.parametrize("n", [1, PER - 1, PER, PER + 1, 2 * PER + 3])
def test_every_row_lands_once_in_order_and_only_in_the_transaction(store: Store, n: int) -> None:
    with store.uow() as uow:
        insert_rows(uow.session, table(Event), COLUMNS, _events(n), {"hash": "f" * 64})
        got = uow.session.execute(select(Event.seq, Event.carrier, Event.approval_id, Event.hash)
                                  .where(Event.seq >= 10_000).order_by(Event.seq)).all()
        assert [tuple(r) for r in got] == [(10_000 + i, f"C{i}", i % 3 or None, "f" * 64) for i in range(n)]
    with store.uow(readonly=True) as uow:  # never committed: nothing is left
        assert uow.session.execute(select(Event.seq).where(Event.seq >= 10_000)).first() is None


def test_a_varying_column_that_needs_conversion_is_refused(store: Store) -> None:
    with store.uow() as uow, pytest.raises(ValueError, match="registered_at"):
        insert_rows(uow.session, table(Carrier), ("code", "registered_at"), [("X", datetime.now(UTC))])
