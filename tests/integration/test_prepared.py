"""The counter's driver-level statements (`tracker.prepared`) against the ORM, on SQLite and PostgreSQL.

They skip SQLAlchemy's execution layer, so these tests pin what must not change with it: the same values come back
(aware UTC instants, booleans), writes land in the unit of work's transaction, pending ORM changes are visible, and a
driver error is still a SQLAlchemy `DBAPIError` for the counter's error handling.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError

from tracker.demo import badge, place
from tracker.prepared import Prepared, batch, driver, prefetch
from tracker.schema import Approval, Carrier, Location, table
from tracker.services import approvals, registry
from tracker.services.common import Signed
from tracker.store import Store

_carriers, _locations = table(Carrier), table(Location)
CARRIER = Prepared(select(_carriers.c.id, _carriers.c.code, _carriers.c.due_at, _carriers.c.updated_at)
                   .where(_carriers.c.code == bindparam("code")))
PLACE = Prepared(select(_locations.c.code, _locations.c.reading_place).where(_locations.c.code == bindparam("code")))
SET_DUE = Prepared(update(_carriers).where(_carriers.c.code == bindparam("code")).values(due_at=bindparam("due")))


@pytest.fixture
def code(store: Store, people: dict[str, Signed]) -> str:
    return registry.import_rows(store.uow(), people["clerk"], [registry.CarrierInput(
        location=place("BJ", "R2C1S1"), classification="secret", period="10y", scope="法规处", copy_number=1,
        copy_total=1, title="t")])[0]


def test_rows_read_back_as_the_orm_reads_them(store: Store, code: str) -> None:
    due = datetime(2026, 11, 25, 9, 30, 15, 123456, tzinfo=UTC) + timedelta(hours=3)
    with store.uow() as uow:
        assert SET_DUE.execute(uow.session, {"code": code, "due": due.astimezone(UTC)}) == 1
        row = CARRIER.one(uow.session, {"code": code})
        orm = uow.session.execute(select(Carrier).where(Carrier.code == code)).scalar_one()
        assert (row.id, row.code, row.due_at, row.updated_at) == (orm.id, orm.code, orm.due_at, orm.updated_at)
        assert row.due_at == due and row.due_at.tzinfo is not None
        reading = PLACE.one(uow.session, {"code": place("BJ", "R1")})  # a reading room in the demo
        plain = PLACE.one(uow.session, {"code": place("BJ", "R2C1S1")})
        assert (reading.reading_place, plain.reading_place) == (True, False)
        assert CARRIER.one_or_none(uow.session, {"code": "NO-SUCH"}) is None
        uow.commit()
    with store.uow(readonly=True) as uow:  # committed with the unit of work's transaction
        assert CARRIER.one(uow.session, {"code": code}).due_at == due


def test_writes_roll_back_with_the_unit_of_work(store: Store, code: str) -> None:
    with store.uow() as uow:
        SET_DUE.execute(uow.session, {"code": code, "due": datetime(2030, 1, 1, tzinfo=UTC)})
        # no commit: leaving the block rolls back
    with store.uow(readonly=True) as uow:
        assert CARRIER.one(uow.session, {"code": code}).due_at is None


def test_pending_orm_changes_are_visible(store: Store, code: str) -> None:
    with store.uow() as uow:
        orm = uow.session.execute(select(Carrier).where(Carrier.code == code)).scalar_one()
        orm.due_at = datetime(2031, 5, 1, tzinfo=UTC)  # not flushed yet
        assert CARRIER.one(uow.session, {"code": code}).due_at == datetime(2031, 5, 1, tzinfo=UTC)


def test_a_new_transaction_gets_a_fresh_driver_connection(store: Store, code: str) -> None:
    with store.uow() as uow:
        first = driver(uow.session)
        assert driver(uow.session) is first  # looked up once per transaction
        uow.commit()
        assert "tracker_driver" not in uow.session.info  # forgotten when the transaction ended


def test_driver_errors_are_sqlalchemy_errors_and_change_nothing(store: Store, code: str) -> None:
    dup = Prepared(insert(_carriers).values(
        code=bindparam("code"), kind="paper", regime="state", classification="secret", period="10y", scope="x",
        status="in_store", copy_number=1, copy_total=1, title="dup", registered_at=bindparam("at"),
        updated_at=bindparam("at")))
    with pytest.raises(DBAPIError), store.uow() as uow:
        SET_DUE.execute(uow.session, {"code": code, "due": datetime(2030, 1, 1, tzinfo=UTC)})
        dup.execute(uow.session, {"code": code, "at": datetime.now(UTC)})  # the code is unique
    with store.uow(readonly=True) as uow:
        assert CARRIER.one(uow.session, {"code": code}).due_at is None


def test_statements_it_cannot_run_faithfully_are_refused() -> None:
    from sqlalchemy.dialects import sqlite

    expanding = Prepared(select(_carriers.c.id).where(_carriers.c.code.in_(bindparam("codes", expanding=True))))
    with pytest.raises(TypeError, match="expanding"):
        expanding.compiled(sqlite.dialect())
    with_default = Prepared(insert(table(Approval)).values(purpose=bindparam("p")))  # `note` has a Python default
    with pytest.raises(TypeError, match="defaults"):
        with_default.compiled(sqlite.dialect())


def test_approval_marking_through_the_driver(store: Store, code: str, people: dict[str, Signed]) -> None:
    aid = approvals.grant(store.uow(), people["approver"], "loan", [code], store.clock() + timedelta(hours=2),
                          grantee=badge("reader_important"), requested_by=badge("clerk"))
    with store.uow() as uow:
        cid = CARRIER.one(uow.session, {"code": code}).id
        before = approvals.approval_facts(uow, aid, cid)
        assert before is not None and before.carriers == {code} and not before.used_for
        approvals.mark_used(uow, aid, [cid], store.clock())
        after = approvals.approval_facts(uow, aid, cid)
        assert after is not None and after.used_for == {code}
        assert after.approver.badge == badge("approver")


def test_a_batched_error_is_a_sqlalchemy_error_and_changes_nothing(store: Store, code: str) -> None:
    """On PostgreSQL the writes in `batch` are held and sent as one script when the block ends: the duplicate's error
    arrives then, and must still be a `DBAPIError` that rolls back the write sent before it."""
    dup = Prepared(insert(_carriers).values(
        code=bindparam("code"), kind="paper", regime="state", classification="secret", period="10y", scope="x",
        status="in_store", copy_number=1, copy_total=1, title="dup", registered_at=bindparam("at"),
        updated_at=bindparam("at")))
    with pytest.raises(DBAPIError), store.uow() as uow:
        with batch(uow.session):
            SET_DUE.execute(uow.session, {"code": code, "due": datetime(2030, 1, 1, tzinfo=UTC)})
            dup.execute(uow.session, {"code": code, "at": datetime.now(UTC)})
        uow.commit()
    with store.uow(readonly=True) as uow:
        assert CARRIER.one(uow.session, {"code": code}).due_at is None


def test_batched_writes_and_reads_land_in_order(store: Store, code: str) -> None:
    due = datetime(2030, 1, 1, tzinfo=UTC)
    with store.uow() as uow:
        with batch(uow.session):
            SET_DUE.execute(uow.session, {"code": code, "due": due})
            assert CARRIER.one(uow.session, {"code": code}).due_at == due  # the read waits for the write before it
        uow.commit()
    with store.uow(readonly=True) as uow:
        assert CARRIER.one(uow.session, {"code": code}).due_at == due


def test_prefetched_rows_are_those_a_read_would_get_once(store: Store, code: str) -> None:
    with store.uow() as uow:
        prefetch(uow.session, (CARRIER, {"code": code}), (PLACE, {"code": place("BJ", "R2C1S1")}))
        first = CARRIER.one(uow.session, {"code": code})
        assert PLACE.one(uow.session, {"code": place("BJ", "R2C1S1")}).reading_place is False
        due = datetime(2030, 1, 1, tzinfo=UTC)
        SET_DUE.execute(uow.session, {"code": code, "due": due})
        # taken once: a second read asks the database again and sees the write
        assert first.due_at is None and CARRIER.one(uow.session, {"code": code}).due_at == due
    with store.uow() as uow:  # nothing prefetched is left over for the next transaction
        assert "tracker_prefetched" not in uow.session.info


def test_pending_orm_changes_go_before_a_batch(store: Store, code: str) -> None:
    with store.uow() as uow:
        orm = uow.session.execute(select(Carrier).where(Carrier.code == code)).scalar_one()
        orm.due_at = datetime(2031, 5, 1, tzinfo=UTC)  # not flushed yet
        with batch(uow.session):
            assert CARRIER.one(uow.session, {"code": code}).due_at == datetime(2031, 5, 1, tzinfo=UTC)


def test_a_batch_that_commits_commits_only_when_it_ends_well(store: Store, code: str) -> None:
    due = datetime(2030, 1, 1, tzinfo=UTC)
    with pytest.raises(RuntimeError), store.uow() as uow:
        with batch(uow.session, commit=True):
            SET_DUE.execute(uow.session, {"code": code, "due": due})
            raise RuntimeError("refused after the write was held")
    with store.uow(readonly=True) as uow:
        assert CARRIER.one(uow.session, {"code": code}).due_at is None
    with store.uow() as uow:
        with batch(uow.session, commit=True):
            SET_DUE.execute(uow.session, {"code": code, "due": due})
        uow.commit()  # nothing left to send on PostgreSQL; the commit itself on SQLite
    with store.uow(readonly=True) as uow:
        assert CARRIER.one(uow.session, {"code": code}).due_at == due


HOSTILE = ["it's", "'; DROP TABLE carriers; --", "back\\slash\\'", "$$ $tag$ E'\\x41'", "%s %(code)s %%",
           "保密〔2026〕12号", "\u2028 😀 \x1b[31m", "--", "/* not a comment */"]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_text_goes_through_a_script_as_a_value(store: Store, code: str, hostile: str) -> None:
    """`batch` and `prefetch` bind values on the client (psycopg's `ClientCursor`) and send several statements as
    one script on PostgreSQL: a value must stay one literal whatever it holds, and land byte for byte."""
    set_title = Prepared(update(_carriers).where(_carriers.c.code == bindparam("code")).values(title=bindparam("t")))
    title = Prepared(select(_carriers.c.title).where(_carriers.c.code == bindparam("code"),
                                                      _carriers.c.title == bindparam("t")))
    with store.uow() as uow:
        with batch(uow.session, commit=True):
            set_title.execute(uow.session, {"code": code, "t": hostile})
            SET_DUE.execute(uow.session, {"code": code, "due": datetime(2030, 1, 1, tzinfo=UTC)})
        uow.commit()
    with store.uow(readonly=True) as uow:
        prefetch(uow.session, (title, {"code": code, "t": hostile}), (CARRIER, {"code": code}))
        assert [r.title for r in title.rows(uow.session, {"code": code, "t": hostile})] == [hostile]
        assert CARRIER.one(uow.session, {"code": code}).due_at == datetime(2030, 1, 1, tzinfo=UTC)
    with store.engine.connect() as conn:  # nothing else was run: the table is there and holds its one carrier
        assert conn.execute(select(_carriers.c.title)).scalars().all() == [hostile]


def test_a_sent_statements_rows_come_after_the_block(store: Store, code: str) -> None:
    """`send` inside a batch: the rows of a write with RETURNING are read once the block has sent it."""
    stamp = Prepared(update(_carriers).where(_carriers.c.code == bindparam("code"))
                     .values(due_at=bindparam("due")).returning(_carriers.c.id, _carriers.c.due_at))
    due = datetime(2030, 1, 1, tzinfo=UTC)
    with store.uow() as uow:
        with batch(uow.session):
            pending = stamp.send(uow.session, {"code": code, "due": due})
            if store.dialect == "postgresql":
                with pytest.raises(RuntimeError):
                    pending.one()  # held, not sent yet
        assert pending.one().due_at == due
        uow.commit()


@pytest.mark.postgres
def test_statements_deallocated_behind_its_back_are_prepared_again(store: Store, code: str) -> None:
    """The scripts EXECUTE statements prepared once per connection. If something deallocates them (a pooler's
    DISCARD ALL, a DEALLOCATE ALL by hand), the operation at that moment fails as a storage error changing nothing,
    and the next one prepares them again."""
    if store.dialect != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    due = datetime(2030, 1, 1, tzinfo=UTC)
    with store.uow() as uow:
        with batch(uow.session, commit=True):
            SET_DUE.execute(uow.session, {"code": code, "due": due})
        uow.commit()
    with store.engine.connect() as conn:  # the pool's one connection, the one the batch used
        conn.exec_driver_sql("DEALLOCATE ALL")
        conn.commit()
    with pytest.raises(DBAPIError), store.uow() as uow:
        with batch(uow.session, commit=True):
            SET_DUE.execute(uow.session, {"code": code, "due": due + timedelta(days=1)})
        uow.commit()
    with store.uow() as uow:
        with batch(uow.session, commit=True):
            SET_DUE.execute(uow.session, {"code": code, "due": due + timedelta(days=2)})
        uow.commit()
    with store.uow(readonly=True) as uow:
        assert CARRIER.one(uow.session, {"code": code}).due_at == due + timedelta(days=2)


def test_the_first_script_opens_the_transaction(store: Store, code: str) -> None:
    """On PostgreSQL the transaction's BEGIN travels at the head of its first script (no round trip of its own): a
    lock the prefetch takes must then hold until the unit of work ends, and a write after it must roll back with
    it — as they would if the driver had sent its BEGIN alone."""
    locked = Prepared(select(_carriers.c.id).where(_carriers.c.code == bindparam("code")).with_for_update())
    with store.uow() as uow:  # prepares the statement on the connection (a PREPARE starts the transaction itself)
        prefetch(uow.session, (locked, {"code": code}))
    with store.uow() as uow:
        prefetch(uow.session, (locked, {"code": code}))
        assert locked.one(uow.session, {"code": code}) is not None
        if store.dialect == "postgresql":  # the lock is still held once the script has come back
            with store.engine.connect() as other, pytest.raises(DBAPIError):
                other.exec_driver_sql("SET lock_timeout = '100ms'")
                other.execute(select(_carriers.c.id).where(_carriers.c.code == code).with_for_update())
        SET_DUE.execute(uow.session, {"code": code, "due": datetime(2030, 1, 1, tzinfo=UTC)})
    with store.uow(readonly=True) as uow:  # not committed: rolled back
        assert CARRIER.one(uow.session, {"code": code}).due_at is None
