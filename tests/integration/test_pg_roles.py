"""On PostgreSQL the counters connect as a role that may only add to the ledger (issue 16).

Issue 16 found the application role owning the tables: `ALTER TABLE events DISABLE TRIGGER USER` then `UPDATE`
succeeded. Here the register is set up as docs/security.md says (an owner role runs the migrations, `grant_app_role`
makes the application role) and every one of those attacks is tried as the application role, after the services
have done a day's work as it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError
from tests_support import Clock

from tracker.demo import badge, place, seed_people_and_places
from tracker.domain import DomainError
from tracker.ledger import verify
from tracker.services import approvals, circulation, registry, seals
from tracker.services.common import Refused
from tracker.store import Store, grant_app_role

pytestmark = pytest.mark.postgres

ATTACKS = [
    "ALTER TABLE events DISABLE TRIGGER USER",
    "ALTER TABLE events DISABLE TRIGGER ALL",
    "DROP TRIGGER events_append_only ON events",
    "UPDATE events SET actor = 'x' WHERE seq = 5",
    "DELETE FROM events WHERE seq = 5",
    "TRUNCATE events",
    "ALTER TABLE events OWNER TO CURRENT_USER",
    "DELETE FROM seals",
    "UPDATE refusals SET rules = ''",
    "DELETE FROM refusals",
    "UPDATE alembic_version SET version_num = '0000'",
    "CREATE TABLE shadow (x int)",
    "CREATE OR REPLACE FUNCTION tracker_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RETURN NEW; END $$",
    "SET ROLE postgres",
]


def test_the_app_role_works_the_counter_but_cannot_touch_the_ledger(pg_roles: tuple[str, str], clock: Clock) -> None:
    owner_url, app_url = pg_roles
    store = Store(app_url, terminal="counter", clock=clock)
    store.ensure_schema()  # reads the schema version: no upgrade needed, none possible
    people = seed_people_and_places(store)
    code = registry.register(store.uow(), people["clerk"], registry.CarrierInput(
        location=place("BJ", "R2C1S1"), classification="secret", period="10y", scope="法规处", copy_number=1,
        copy_total=1, title="t"))
    loan = approvals.grant(store.uow(), people["approver"], "loan", [code], clock() + timedelta(hours=2),
                           grantee=badge("reader_important"), requested_by=badge("clerk"))
    circulation.check_out(store.uow(), people["clerk"], code, people["reader_important"], approval_id=loan)
    with pytest.raises(Refused):  # a refusal writes its audit row as the app role too
        circulation.check_out(store.uow(), people["clerk"], code, people["reader_core"])
    circulation.check_in(store.uow(), people["clerk"], code)
    seals.seal(store.uow(), people["officer"])
    with store.engine.connect() as conn:
        head = conn.execute(text("SELECT seq, hash FROM chain_head")).one()
    for attack in ATTACKS:
        with pytest.raises(DBAPIError) as refused, store.engine.begin() as conn:
            conn.execute(text(attack))
        assert isinstance(refused.value, ProgrammingError), (attack, refused.value)  # insufficient privilege
        assert "permission denied" in str(refused.value) or "must be owner" in str(refused.value), attack
    with store.engine.begin() as conn:  # a grant without the grant option grants nothing (PostgreSQL only warns)
        conn.execute(text("GRANT UPDATE, DELETE ON events TO PUBLIC"))
    with pytest.raises(ProgrammingError, match="permission denied"), store.engine.begin() as conn:
        conn.execute(text("UPDATE events SET actor = 'x' WHERE seq = 5"))
    store.dispose()
    owner = Store(owner_url)
    with owner.engine.connect() as conn:
        assert conn.execute(text("SELECT seq, hash FROM chain_head")).one() == head
        assert conn.execute(text("SELECT count(*) FROM refusals")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM seals")).scalar_one() == 1
        report = verify(conn)
    assert report.ok, report.message()
    owner.dispose()


def test_a_role_that_owns_the_tables_is_refused_as_the_app_role(pg_roles: tuple[str, str]) -> None:
    owner_url, _app_url = pg_roles
    owner = owner_url.split("//", 1)[1].split("@", 1)[0]
    with pytest.raises(DomainError, match="owns the register's tables"):
        grant_app_role(owner_url, owner, None)
    with pytest.raises(DomainError, match="plain role name"):
        grant_app_role(owner_url, 'app"; DROP TABLE events; --', None)


def test_backup_as_the_app_role_and_restore_as_the_owner_keep_the_roles_apart(
        pg_roles: tuple[str, str], pg_server: Any, clock: Clock, tmp_path: Path) -> None:
    """The deployment docs/security.md describes: counters (the application role) take backups; the owner (with
    CREATEDB, to verify a dump in a scratch database) restores and grants the application role again — which then
    works the counter and still cannot touch the ledger."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from tracker.backup import BackupError, backup, restore

    owner_url, app_url = pg_roles
    admin = create_engine(pg_server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'ALTER ROLE "{make_url(owner_url).username}" CREATEDB'))
    admin.dispose()
    store = Store(app_url, terminal="counter", clock=clock)
    people = seed_people_and_places(store)

    def register(title: str) -> str:
        return registry.register(store.uow(), people["clerk"], registry.CarrierInput(
            location=place("BJ", "R2C1S1"), classification="internal", title=title))

    kept = register("kept")
    saved = backup(app_url, tmp_path / "app.dump")
    assert saved.report.ok, saved.report.message()
    lost = register("after the backup")
    with pytest.raises(BackupError, match="permission denied") as err:  # restoring is the owner's, never a counter's
        restore(saved.file, app_url)
    assert "nothing was replaced" in err.value.en
    store.dispose()
    restored = restore(saved.file, owner_url, anchor=(saved.head_seq, saved.head_hash),
                       app_role=str(make_url(app_url).username))
    assert restored.head_seq == saved.head_seq
    store = Store(app_url, terminal="counter", clock=clock)
    with store.engine.connect() as conn:
        codes = set(conn.execute(text("SELECT code FROM carriers")).scalars())
    assert kept in codes and lost not in codes
    assert register("after the restore")
    for attack in ("UPDATE events SET actor = 'x' WHERE seq = 1", "ALTER TABLE events DISABLE TRIGGER USER",
                   "TRUNCATE events"):
        with pytest.raises(ProgrammingError), store.engine.begin() as conn:
            conn.execute(text(attack))
    with store.engine.connect() as conn:
        assert verify(conn).ok
    store.dispose()
