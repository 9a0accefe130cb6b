"""Database access: engines for SQLite and PostgreSQL, schema upgrades, and the unit of work.

SQLite is opened in WAL mode with synchronous=FULL and foreign keys on, and every writing transaction starts with
BEGIN IMMEDIATE so two terminals never both read a carrier as free and then both write. PostgreSQL uses row locks
(SELECT … FOR UPDATE) on the carrier and the ledger head. One operation is one unit of work: one transaction, one
commit, and on a refusal a rollback followed by an audit row in its own transaction. Nothing here knows the rules.

A bulk write on SQLite (a big stock-take upload or import, a reconciliation) may leave its WAL checkpoint to the
store's `Checkpointer` thread, so it returns once its pages are durable in the WAL rather than after they are copied
again into the database file.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from tracker.domain import DomainError
from tracker.ledger import Ledger
from tracker.prepared import forget
from tracker.rules import Policy
from tracker.schema import Refusal


class SchemaOutdated(DomainError):
    pass


log = logging.getLogger(__name__)

# SQLite's own default: a commit that leaves the WAL over this many pages checkpoints it inline.
AUTOCHECKPOINT_PAGES = 1000
_DEFERRED = "tracker_checkpoint_deferred"  # connection-record flag set by `UnitOfWork.defer_checkpoint`
_ATTACHED = "tracker_attached"  # connection-record list of databases `attach_for_transaction` attached


def sqlite_file(engine: Engine) -> bool:
    """A SQLite database in a file, which other connections of the process can open too (not `:memory:`)."""
    return engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")


def attach_for_transaction(session: Session, alias: str, uri: str) -> None:
    """ATTACH a database (a URI: connections are opened with URI names on) to the session's connection for the rest
    of its transaction. SQLite refuses to DETACH a database the open transaction has read, so the store detaches it
    when the connection goes back to the pool, before anyone else can check it out. SQLite files only."""
    fairy = session.connection().connection
    fairy.cursor().execute(f"ATTACH DATABASE ? AS {alias}", (uri,))
    fairy.info.setdefault(_ATTACHED, []).append(alias)


class Checkpointer:
    """Copies a bulk write's WAL pages into the database file on a thread of its own, after the write has committed.

    SQLite checkpoints inline, in the commit that pushed the WAL over `AUTOCHECKPOINT_PAGES`: after a million-read
    upload that commit also copied 50 MB back into the database file and synced it, a fifth of the upload's time.
    The copy adds nothing to durability (synchronous=FULL syncs the WAL at commit; a crash before the checkpoint
    loses nothing, the next open replays the WAL), so it is done here, in a PASSIVE checkpoint that never waits for
    readers or writers: counter commits go on meanwhile, and frames a reader still needs are left to the next
    checkpoint. Requests made while one runs are merged into one more run. `close` waits for what was asked, so a
    short-lived command leaves the database file checkpointed."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.runs = 0
        self.last: tuple[int, int, int] | None = None  # (busy, WAL frames, frames checkpointed) of the last run
        self._held = threading.Lock()
        self._state = threading.Condition()
        self._wanted = False
        self._running = False
        self._closed = False
        self._thread: threading.Thread | None = None

    def request(self) -> None:
        with self._state:
            self._wanted = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="wal-checkpoint", daemon=True)
                self._thread.start()
            self._state.notify_all()

    def wait(self) -> None:
        """Until no checkpoint is asked for or running."""
        with self._state:
            self._state.wait_for(lambda: not (self._wanted or self._running))

    @contextmanager
    def hold(self) -> Iterator[None]:
        """No background checkpoint starts while this is held (one already running is waited for), e.g. while the
        database and WAL files are copied as they are. Requests made meanwhile run afterwards, so `wait`, `close`
        and the store's `dispose` must not be called by the holder."""
        with self._held:
            yield

    def close(self) -> None:
        """Wait for what was asked, then end the thread; a later request starts a new one."""
        self.wait()
        with self._state:
            thread, self._thread = self._thread, None
            self._closed = True
            self._state.notify_all()
        if thread is not None:
            thread.join()
        with self._state:
            self._closed = False

    def _loop(self) -> None:
        while True:
            with self._state:
                self._state.wait_for(lambda: self._wanted or self._closed)
                if not self._wanted:  # closed, and nothing asked since: a request racing `close` still runs
                    return
                self._wanted, self._running = False, True
            try:
                with self._held:
                    self._checkpoint()
            finally:
                with self._state:
                    self._running = False
                    self._state.notify_all()

    def _checkpoint(self) -> None:
        try:
            raw = self.engine.raw_connection()
            try:
                cur = raw.cursor()
                cur.execute("PRAGMA wal_checkpoint(PASSIVE)")
                row = cur.fetchone()
                assert row is not None  # the PRAGMA always answers one row
                busy, frames, done = row
            finally:
                raw.close()
        except Exception as exc:  # a failed copy loses nothing: the next checkpoint, inline or here, redoes it
            log.warning("background WAL checkpoint failed: %s", type(exc).__name__)
            return
        self.runs += 1
        self.last = (int(busy), int(frames), int(done))


def make_engine(url: str) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        # URI names: a reconciliation attaches in-memory databases its worker connections filled (`file:…?vfs=memdb`).
        engine = create_engine(u, connect_args={"timeout": 30, "uri": True})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let us issue BEGIN ourselves (pysqlite's implicit BEGIN is DEFERRED and comes too late).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            readonly = conn.get_execution_options().get("tracker_readonly", False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    if u.get_backend_name() == "postgresql" and u.drivername == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    return create_engine(u, pool_pre_ping=True)


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "tracker:migrations")
    return cfg


class Store:
    """One register database. Cheap to keep for the life of a process; not shared across processes."""

    def __init__(self, url: str, terminal: str | None = None, clock: Callable[[], datetime] | None = None,
                 policy: Policy | None = None) -> None:
        self.url = url
        # A policy handed in by code (tests, benchmarks) stands in for the register's; nothing a user can set
        # reaches this argument: the command line and the TUI read the policy from the register.
        self._override = policy
        self._cached: tuple[int, Policy] = (0, Policy())
        self.engine = make_engine(url)
        self.terminal = terminal
        self.clock = clock or (lambda: datetime.now(UTC))
        self._rw = sessionmaker(self.engine, expire_on_commit=False)
        self._ro = sessionmaker(self.engine.execution_options(tracker_readonly=True), expire_on_commit=False)
        for factory in (self._rw, self._ro):  # a driver connection is good for one transaction only
            event.listen(factory, "after_transaction_end", lambda session, _transaction: forget(session))
        self.checkpointer: Checkpointer | None = None
        if sqlite_file(self.engine):
            self.checkpointer = Checkpointer(self.engine)
            event.listen(self.engine, "checkin", self._checked_in)

    def _checked_in(self, dbapi_conn: Any, record: Any) -> None:
        """A deferred checkpoint ends with its transaction: the connection goes back to checkpointing inline before
        anyone else can check it out of the pool, and the checkpoint it skipped is handed to the checkpointer.
        Databases attached for the transaction are detached."""
        for alias in record.info.pop(_ATTACHED, ()):
            if dbapi_conn is not None:
                dbapi_conn.execute(f"DETACH DATABASE {alias}")
        if record.info.pop(_DEFERRED, False) and self.checkpointer is not None:
            if dbapi_conn is not None:
                dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
            self.checkpointer.request()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def policy(self) -> Policy:
        """The policy in force as last read from the register. Read once here; afterwards every unit of work that
        consults the policy re-reads its version inside its own transaction (`policy_in`), so a change made at
        another counter is enforced by the next operation without a connection spent on it here."""
        if self._override is not None:
            return self._override
        if self._cached[0] == 0:
            with self._ro() as session, session.begin():
                return self.policy_in(session)
        return self._cached[1]

    def policy_in(self, session: Session) -> Policy:
        if self._override is not None:
            return self._override
        from tracker.policy import in_force, version_in_force

        version = version_in_force(session)
        if version != self._cached[0]:
            found = in_force(session)
            if found is not None:
                self._cached = found
        return self._cached[1]

    def upgrade(self) -> None:
        cfg = alembic_config()
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        self.seed_policy()

    def seed_policy(self) -> None:
        """A register without a policy gets the packaged policy.toml as version 1 (one ledger event)."""
        from tracker.policy import shipped_policy, version_in_force, write_version

        with self._rw() as session, session.begin():
            if version_in_force(session) == 0:
                write_version(session, Ledger(session, self.terminal), shipped_policy(), self.clock(), None, None,
                              None)

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(alembic_config()).get_current_head()

    def ensure_schema(self) -> None:
        """An empty database is upgraded on first use; an older schema is refused until `tracker db upgrade`."""
        names = set(inspect(self.engine).get_table_names())
        if not names - {"alembic_version"}:
            self.upgrade()
            return
        current, head = self.current_revision(), self.head_revision()
        if current != head:
            raise SchemaOutdated(
                f"The register's schema is at {current}, this program needs {head}: run `tracker db upgrade`.",
                f"登记库结构版本为 {current}，程序需要 {head}：请运行 `tracker db upgrade`。",
            )

    def uow(self, readonly: bool = False) -> UnitOfWork:
        return UnitOfWork(self, readonly=readonly)

    def dispose(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.close()
        self.engine.dispose()


class UnitOfWork:
    """One operation = one transaction. Use as `with store.uow() as uow: …; uow.commit()`.

    Leaving the block without `commit()` rolls back. If a `Refused` error leaves the block, the refusal is written to
    the audit table in a separate transaction, so a refused operation changes nothing but the audit trail.
    """

    session: Session
    ledger: Ledger

    def __init__(self, store: Store, readonly: bool = False) -> None:
        self.store = store
        self.readonly = readonly
        self._committed = False

    def now(self) -> datetime:
        return self.store.clock()

    @property
    def policy(self) -> Policy:
        """The policy in force, read inside this unit's own transaction so a whole operation sees one version."""
        if self.store._override is not None:
            return self.store._override
        if getattr(self, "session", None) is not None and self.session.in_transaction():
            return self.store.policy_in(self.session)
        return self.store.policy

    @property
    def dialect(self) -> str:
        return self.store.dialect

    def __enter__(self) -> UnitOfWork:
        factory = self.store._ro if self.readonly else self.store._rw
        self.session = factory()
        self.session.begin()
        self.ledger = Ledger(self.session, self.store.terminal)
        self._committed = False
        return self

    def defer_checkpoint(self) -> None:
        """Commit this bulk write without checkpointing the WAL inline; the store's `Checkpointer` does it after the
        commit (SQLite files only; elsewhere nothing changes). Durability is the same: the WAL is synced at commit."""
        if self.store.checkpointer is None:
            return
        fairy = self.session.connection().connection
        fairy.cursor().execute("PRAGMA wal_autocheckpoint=0")
        fairy.info[_DEFERRED] = True

    def commit(self) -> None:
        if self.readonly:
            raise RuntimeError("read-only unit of work")
        self.session.commit()
        self._committed = True

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if not self._committed:
                self.session.rollback()
        finally:
            self.session.close()
        audit = getattr(exc, "audit_row", None)
        if audit is not None and not self.readonly:
            self.audit(audit)

    def audit(self, row: dict[str, Any]) -> None:
        """One entry in the audit log, in a transaction of its own (kept even when the operation rolls back)."""
        with self.store._rw() as s, s.begin():
            s.add(Refusal(at=self.now(), terminal=self.store.terminal, **row))
