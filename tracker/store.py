"""Database access: engines for SQLite and PostgreSQL, schema upgrades, and the unit of work.

SQLite is opened in WAL mode with synchronous=FULL and foreign keys on, and every writing transaction starts with
BEGIN IMMEDIATE so two terminals never both read a carrier as free and then both write. PostgreSQL uses row locks
(SELECT … FOR UPDATE) on the carrier and the ledger head. One operation is one unit of work: one transaction, one
commit, and on a refusal a rollback followed by an audit row in its own transaction. Nothing here knows the rules.

A bulk write on SQLite (a big stock-take upload or import, a reconciliation) may leave its WAL checkpoint to the
store's `Checkpointer` thread, so it returns once its pages are durable in the WAL rather than after they are copied
again into the database file.

Opening a store loads SQLAlchemy's Core only: the ORM, the register's mapped schema, the ledger and the rulebook are
imported when the first unit of work (or the policy) needs them (issue 22: `tracker carrier show` answers with Core
SQL through `read`, and mapping the schema alone cost it more than SQLAlchemy's own import).
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InvalidatePoolError

from tracker.domain import DomainError

if TYPE_CHECKING:  # Alembic is loaded by the upgrade only: every command opens a store, few upgrade it
    from zoneinfo import ZoneInfo

    from alembic.config import Config
    from sqlalchemy.orm import Session, sessionmaker

    from tracker.ledger import Ledger
    from tracker.rules import Policy


class SchemaOutdated(DomainError):
    pass


class StorageFault(DomainError):
    """The database refused to store anything more: full, or read-only. Nothing of the operation was written, and
    nothing confirmed before is lost (the transaction rolled back; committed ones stay). The counter and the CLI show
    the message as it is; the fix is on the server (space, permissions), not at the counter."""


class RegisterFull(StorageFault):
    def __init__(self) -> None:
        super().__init__(
            "The register's disk is full: this operation was not saved (nothing confirmed before is lost). "
            "Free space on the database's disk, then repeat it.",
            "登记库所在磁盘已满：本次操作未保存（此前已确认的记录不受影响）。请清理数据库磁盘空间后重试。")


class RegisterReadOnly(StorageFault):
    def __init__(self) -> None:
        super().__init__(
            "The register is read-only here: this operation was not saved (nothing confirmed before is lost). "
            "Check the database file's permissions or the server's read-only setting, then repeat it.",
            "登记库当前为只读：本次操作未保存（此前已确认的记录不受影响）。请检查数据库文件权限或服务器只读设置后重试。")


class RegisterUnavailable(StorageFault):
    def __init__(self) -> None:
        super().__init__(
            "The register's server did not answer: this operation is not confirmed. Check the carrier's status, "
            "then repeat it; if the register was switched to its standby, the counter reconnects by itself.",
            "登记库服务器无响应：本次操作未确认。请先查看载体状态再重试；如登记库已切换到备用服务器，柜台会自动重新连接。")


class SavedMeanwhile(DomainError):
    """Another terminal saved the same thing in the same moment, and the database's own unique rule stopped the
    second one (the services refuse it first whenever they can see it; two PostgreSQL transactions cannot see each
    other's uncommitted rows). Nothing of this operation was written."""

    def __init__(self, what_en: str, what_zh: str) -> None:
        super().__init__(
            f"{what_en} was registered at another terminal at the same moment: nothing was saved here. Look it up, "
            "then repeat only if it is still needed.",
            f"{what_zh}已在另一终端同时登记：本次未保存。请先查询，确有需要再重试。")


# The unique rules whose breach is such a race, as PostgreSQL (constraint name) and SQLite (index name, or table.column)
# report them, and what to call the thing in the message.
_UNIQUE_RACES = (
    (("uq_carriers_document_copy",), "This copy of the document", "该文件的这一份"),
    (("uq_carriers_code", "carriers.code"), "A carrier with this code", "该编号的载体"),
    (("uq_carriers_epc", "carriers.epc"), "A carrier with this tag", "该标签的载体"),
)


def saved_meanwhile(exc: BaseException) -> SavedMeanwhile | None:
    if not isinstance(exc, IntegrityError):
        return None
    text = str(exc.orig)
    for needles, en, zh in _UNIQUE_RACES:
        if any(n in text for n in needles):
            return SavedMeanwhile(en, zh)
    return None


# SQLite's messages (sqlite3 carries no error code before Python 3.11's sqlite_errorname) and PostgreSQL's SQLSTATEs.
_FULL = ("database or disk is full",)
_READONLY = ("attempt to write a readonly database", "readonly database")
_PG_FULL = {"53100", "53200", "54000"}  # disk_full, out_of_memory, program_limit_exceeded
_PG_READONLY = {"25006"}  # read_only_sql_transaction
# connection_exception (08…), admin_shutdown, crash_shutdown, cannot_connect_now: the server went away or is not
# (yet) the one accepting writes — the multi-host URL of a failover pair moves on to the other at the next connect.
_PG_GONE = {"57P01", "57P02", "57P03"}
_GONE = ("server closed the connection", "connection is lost", "connection failed", "consuming input failed",
         "no connection to the server", "terminating connection", "connection refused", "the connection is closed")


def storage_fault(exc: BaseException) -> StorageFault | None:
    """The bilingual fault a database error stands for, when it is a full disk, a read-only database or a server
    that went away."""
    if not isinstance(exc, DBAPIError):
        return None
    orig = exc.orig
    code = getattr(getattr(orig, "diag", None), "sqlstate", None) or getattr(orig, "sqlstate", None)
    name = str(getattr(orig, "sqlite_errorname", ""))
    text = str(orig).lower()
    if code in _PG_FULL or name == "SQLITE_FULL" or any(m in text for m in _FULL):
        return RegisterFull()
    if code in _PG_READONLY or name == "SQLITE_READONLY" or any(m in text for m in _READONLY):
        return RegisterReadOnly()
    if (code and (code.startswith("08") or code in _PG_GONE)) or exc.connection_invalidated or (
            exc.orig is not None and type(orig).__module__.startswith("psycopg") and any(m in text for m in _GONE)):
        return RegisterUnavailable()
    return None


# --- private files ----------------------------------------------------------------------------------------------

FILE_MODE, DIR_MODE = 0o600, 0o700


@dataclass(frozen=True)
class FileWarning:
    """A register file other local users can read or change (shown by the CLI and the TUI at open)."""

    path: str
    mode: int
    en: str
    zh: str

    def message(self, lang: str = "en") -> str:
        return self.zh if lang == "zh" else self.en


def sqlite_path(url: str | URL) -> Path | None:
    """The file a SQLite URL names (also in `file:` URI form), or None for memory databases and other servers."""
    u = make_url(url) if isinstance(url, str) else url
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    name = u.database
    if name.startswith("file:"):
        if "vfs=memdb" in str(u) or "mode=memory" in str(u):
            return None
        name = name[len("file:"):].split("?", 1)[0]
    return Path(name)


def _loose(path: Path, is_dir: bool) -> FileWarning | None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None
    if is_dir:
        # a directory others may list is not the leak; one they may write to lets them replace the register
        if not mode & 0o022 or mode & stat.S_ISVTX:
            return None
        return FileWarning(str(path), mode, f"The register's directory {path} is writable by other users (mode "
                                             f"{mode:o}): they could replace or delete the register. Run "
                                             f"`chmod 700 {path}`.",
                           f"登记库所在目录 {path} 其他用户可写（权限 {mode:o}）：他人可替换或删除登记库。"
                           f"请执行 `chmod 700 {path}`。")
    if not mode & 0o077:
        return None
    return FileWarning(str(path), mode, f"The register file {path} is open to other users (mode {mode:o}): anyone "
                                        "who can read it can copy the whole register and try PINs against their "
                                        f"hashes offline. Run `chmod 600 {path}`.",
                       f"登记库文件 {path} 对其他用户开放（权限 {mode:o}）：能读取它的人可复制整个登记库并离线"
                       f"猜测 PIN。请执行 `chmod 600 {path}`。")


def private_file_warnings(url: str | URL) -> list[FileWarning]:
    """Every register file (database, -wal, -shm) and its directory that is looser than 0600 / 0700."""
    path = sqlite_path(url)
    if path is None:
        return []
    found = [_loose(path.parent, True)]
    found += [_loose(Path(f"{path}{suffix}"), False) for suffix in ("", "-wal", "-shm")]
    return [w for w in found if w is not None]


def create_private(path: Path) -> None:
    """Create the register's directory (0700) and an empty database file (0600) before SQLite opens it.

    SQLite gives the -wal and -shm files the database file's own mode, so they are private too; a file created by
    SQLite itself would take the process umask (0644 on most systems: issue 16 copied one and found a PIN)."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=DIR_MODE)
        os.chmod(path.parent, DIR_MODE)  # mkdir's mode is masked by the umask
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.fchmod(fd, FILE_MODE)
    os.close(fd)


def make_private(url: str | URL) -> list[str]:
    """Tighten an existing register to 0600 files in a 0700 directory; returns the paths changed."""
    path = sqlite_path(url)
    changed: list[str] = []
    if path is None:
        return changed
    for p, mode in ((path.parent, DIR_MODE), *((Path(f"{path}{s}"), FILE_MODE) for s in ("", "-wal", "-shm"))):
        if p.exists() and stat.S_IMODE(p.stat().st_mode) != mode:
            os.chmod(p, mode)
            changed.append(str(p))
    return changed


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


# --- PostgreSQL roles -------------------------------------------------------------------------------------------

# Tables the application may only add to and read: the custody ledger, its paper anchors and the audit of refusals.
APPEND_ONLY = ("events", "seals", "refusals", "approval_decisions", "policy_versions", "company_prefixes")
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def grant_app_role(owner_url: str, app_role: str, password: str | None) -> None:
    """Create (or update) the role the counters connect as, with only the privileges the services need.

    Run it as the role that ran the migrations and owns the tables (it needs CREATEROLE to create the role), after
    every `tracker db upgrade` (new tables get their grants). The application role owns nothing, so it can never
    ALTER a table, DISABLE or DROP a trigger, or change a grant; on `events`, `seals` and `refusals` it may only
    SELECT and INSERT (no UPDATE, DELETE or TRUNCATE); elsewhere it has ordinary DML, and no CREATE in the schema.
    Idempotent. Refuses a role that is a superuser, may bypass row security or owns a table of the register: such a
    role cannot be limited by grants at all."""
    if not _ROLE_NAME.match(app_role):
        raise DomainError(f"{app_role!r} is not a plain role name (lower-case letters, digits, _).",
                          f"{app_role!r} 不是合规的角色名（小写字母、数字、下划线）。")
    engine = make_engine(owner_url)
    try:
        if engine.dialect.name != "postgresql":
            raise DomainError("Database roles exist on PostgreSQL only; a SQLite register is protected by its file "
                              "permissions.", "数据库角色仅适用于 PostgreSQL；SQLite 登记库依靠文件权限保护。")
        with engine.begin() as conn:
            _grant(conn, app_role, password)
    finally:
        engine.dispose()


def _grant(conn: Any, role: str, password: str | None) -> None:
    from psycopg import sql

    raw = conn.connection.dbapi_connection

    def run(template: str, *literals: Any) -> None:
        statement = sql.SQL(template).format(sql.Identifier(role), *literals)
        conn.exec_driver_sql(statement.as_string(raw))

    found = conn.exec_driver_sql(
        "SELECT rolsuper OR rolbypassrls, EXISTS (SELECT 1 FROM pg_tables t WHERE t.tableowner = r.rolname "
        "AND t.schemaname = current_schema()) FROM pg_roles r WHERE r.rolname = %(r)s", {"r": role}).first()
    if found is not None and (found[0] or found[1]):
        raise DomainError(f"Role {role} is a superuser or owns the register's tables: grants cannot limit it. "
                          "Use a role of its own for the application.",
                          f"角色 {role} 是超级用户或拥有登记库的表，授权无法限制它。请为应用另建专用角色。")
    if found is None:
        run("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")
    if password is not None:
        run("ALTER ROLE {} PASSWORD {}", sql.Literal(password))
    database = conn.exec_driver_sql("SELECT current_database(), current_schema()").one()
    schema = sql.Identifier(database[1])
    run("GRANT CONNECT, TEMPORARY ON DATABASE {1} TO {0}", sql.Identifier(database[0]))
    run("GRANT USAGE ON SCHEMA {1} TO {0}", schema)
    run("REVOKE CREATE ON SCHEMA {1} FROM {0}", schema)
    run("REVOKE ALL ON ALL TABLES IN SCHEMA {1} FROM {0}", schema)
    run("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {1} TO {0}", schema)
    run("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {1} TO {0}", schema)
    tables = set(conn.exec_driver_sql("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").scalars())
    for name in (*APPEND_ONLY, "alembic_version"):
        if name in tables:
            run("REVOKE UPDATE, DELETE, TRUNCATE ON TABLE {1}.{2} FROM {0}", schema, sql.Identifier(name))
    if "alembic_version" in tables:
        run("REVOKE INSERT ON TABLE {1}.alembic_version FROM {0}", schema)
    if int(conn.exec_driver_sql("SHOW server_version_num").scalar_one()) >= 170000:
        run("GRANT MAINTAIN ON ALL TABLES IN SCHEMA {1} TO {0}", schema)  # ANALYZE of the stock-take work tables


def make_engine(url: str) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        path = sqlite_path(u)
        if path is not None and "mode=ro" not in str(u):
            create_private(path)
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
    engine = create_engine(u)
    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    def _pg_connect(dbapi_conn: Any, record: Any) -> None:
        # The counter's statements are prepared by `tracker.prepared` itself; psycopg's automatic preparing would
        # make its every rollback deallocate all of the connection's prepared statements, theirs included.
        dbapi_conn.prepare_threshold = None
        record.info[_NEW] = True

    @event.listens_for(engine, "checkout")
    def _pg_alive(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        """SQLAlchemy's `pool_pre_ping`, through the pool's public checkout event, so that a unit of work whose first
        message can stand in for the ping may skip it (`unchecked_checkout`). A pooled connection is asked an
        empty query before use, unless it was just opened: one the server dropped (a restart, a failover) is
        thrown away with every connection pooled before it, and the pool connects again (the counter reconnects
        by itself, to the standby once promoted)."""
        if record.info.pop(_NEW, False) or _UNCHECKED.get():
            return
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as e:
            if dialect.is_disconnect(e, dbapi_conn, None):
                raise InvalidatePoolError() from e
            raise

    return engine


_NEW = "tracker_new_connection"  # connection-record flag: opened, not yet checked out
_UNCHECKED: ContextVar[bool] = ContextVar("tracker_unchecked_checkout", default=False)


@contextmanager
def unchecked_checkout() -> Iterator[None]:
    """Connections checked out in this block are not pinged: for a unit of work that finds out itself whether its
    connection is alive, from its first message, and starts again on a fresh one if not (`_DirectSession.renew`)."""
    token = _UNCHECKED.set(True)
    try:
        yield
    finally:
        _UNCHECKED.reset(token)


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "tracker:migrations")
    return cfg


def wall_clock() -> datetime:
    return datetime.now(UTC)


# Where a Store built without a clock (the command line, the TUI) and the command line's "+4h" read the time. Only
# code inside the process can replace it: the test suite does (tests/support/suite_clock), so every process of a
# test runs on the suite's clock and none on the machine's. Nothing a client can set — a file, an environment
# variable, an option — reaches it: a client that could move the register's time could stretch an approval or a loan.
default_clock: Callable[[], datetime] = wall_clock


def current_time() -> datetime:
    """The time from `default_clock`, looked up at each call (so a clock the suite installs later still counts)."""
    return default_clock()
_REVISION = re.compile(r"^revision(?:: str)? = ['\"](\w+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision(?:: [\w| ]+)? = (?:['\"](\w+)['\"]|None)", re.M)


def head_revision() -> str | None:
    """This program's newest schema revision, read from the migration files' `revision`/`down_revision` lines: the
    check every command makes before it opens the register must not load Alembic (a third of a second). Anything the
    simple reading cannot settle (several heads, a line it does not recognise) is left to Alembic itself; a test
    checks both agree."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (Path(__file__).parent / "migrations" / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        rev, down = _REVISION.search(source), _DOWN.search(source)
        if rev is None and down is None:
            continue  # not a migration (__init__.py)
        if rev is None or down is None:
            return _alembic_head()
        revisions.add(rev.group(1))
        if down.group(1):
            parents.add(down.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else _alembic_head()


def _alembic_head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


class Store:
    """One register database. Cheap to keep for the life of a process; not shared across processes."""

    def __init__(self, url: str, terminal: str | None = None, clock: Callable[[], datetime] | None = None,
                 policy: Policy | None = None) -> None:
        self.url = url
        # A policy handed in by code (tests, benchmarks) stands in for the register's; nothing a user can set
        # reaches this argument: the command line and the TUI read the policy from the register.
        self._override = policy
        self._cached: tuple[int, Policy] | None = None  # (version in force, its policy), once read
        # Looked at before the engine creates anything: what we create is private; what we found may not be.
        self.warnings: list[FileWarning] = private_file_warnings(url)
        self.engine = make_engine(url)
        self.terminal = terminal
        self.clock = clock or current_time
        self._zone: ZoneInfo | None = None  # the policy's time zone, read without the policy (`time_zone`)
        self.checkpointer: Checkpointer | None = None
        if sqlite_file(self.engine):
            self.checkpointer = Checkpointer(self.engine)
            event.listen(self.engine, "checkin", self._checked_in)

    @cached_property
    def _rw(self) -> sessionmaker[Session]:
        return self._sessions(self.engine)

    @cached_property
    def _ro(self) -> sessionmaker[Session]:
        return self._sessions(self.engine.execution_options(tracker_readonly=True))

    @staticmethod
    def _sessions(engine: Engine) -> sessionmaker[Session]:
        """The ORM's session factory, made (and the ORM imported) at the first unit of work."""
        from sqlalchemy.orm import sessionmaker

        from tracker.prepared import forget

        factory = sessionmaker(engine, expire_on_commit=False)
        # a driver connection is good for one transaction only
        event.listen(factory, "after_transaction_end", lambda session, _transaction: forget(session))
        return factory

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction on a Core connection, for a command that reads a few rows with plain SQL and
        needs neither the ORM nor a unit of work (`tracker carrier show`). A full disk, a read-only database or a lost
        server is the same bilingual fault as in a unit of work."""
        try:
            with self.engine.connect().execution_options(tracker_readonly=True) as conn, conn.begin():
                yield conn
        except DBAPIError as exc:
            fault = storage_fault(exc)
            if fault is None:
                raise
            raise fault from exc

    def time_zone(self) -> ZoneInfo:
        """The policy's time zone (times shown to people are local), read with Core SQL: showing one time must not
        load the policy's machinery. The same zone `policy.tz` gives: the document's `timezone`, else the default."""
        if self._override is not None:
            return self._override.tz
        if self._cached is not None and self._cached[0] != 0:
            return self._cached[1].tz
        if self._zone is None:
            from zoneinfo import ZoneInfo

            with self.read() as conn:
                doc = conn.execute(text("SELECT document FROM policy_versions ORDER BY id DESC LIMIT 1")).scalar()
            zone = json.loads(doc).get("timezone") if doc is not None else None
            if isinstance(zone, str):
                self._zone = ZoneInfo(zone)
            else:  # a register with no policy yet
                from tracker.rules import Policy

                self._zone = Policy().tz
        return self._zone

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
        if self._cached is None or self._cached[0] == 0:
            with self._ro() as session, session.begin():
                return self.policy_in(session)
        return self._cached[1]

    def policy_in(self, session: Session) -> Policy:
        if self._override is not None:
            return self._override
        from tracker.policy import in_force, version_in_force
        from tracker.rules import Policy

        version = version_in_force(session)
        if self._cached is None or version != self._cached[0]:
            found = in_force(session)
            if found is not None:
                self._cached = found
            elif self._cached is None:  # a register with no policy yet: the documented defaults
                self._cached = (0, Policy())
        return self._cached[1]

    def upgrade(self) -> None:
        from alembic import command

        cfg = alembic_config()
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        self.seed_policy()

    def seed_policy(self) -> None:
        """A register without a policy gets the packaged policy.toml as version 1 (one ledger event)."""
        from tracker.ledger import Ledger
        from tracker.policy import shipped_policy, version_in_force, write_version

        with self._rw() as session, session.begin():
            if version_in_force(session) == 0:
                write_version(session, Ledger(session, self.terminal), shipped_policy(), self.clock(), None, None,
                              None)

    def current_revision(self) -> str | None:
        """The revision stamped in the register (what Alembic's MigrationContext reads, without loading Alembic)."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        if len(rows) > 1:
            raise SchemaOutdated(f"The register is stamped with several schema versions ({', '.join(rows)}).",
                                 f"登记库记录了多个结构版本（{'，'.join(rows)}）。")
        return rows[0] if rows else None

    def head_revision(self) -> str | None:
        return head_revision()

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
        self._direct = False

    def direct(self) -> UnitOfWork:
        """This unit of work on a Core connection, for an operation that reads and writes through `tracker.prepared`
        statements (the counter's check-out and check-in): `with uow.direct():` instead of `with uow:`. The ORM
        session's own begin, commit and close (its transaction bookkeeping, its connection handling) cost about 0.12
        ms of client CPU per operation on PostgreSQL — a tenth of a check-out (issue 22). `session` is then a
        `_DirectSession`: the one transaction on the connection, with an ORM session joined to it made only if
        something needs one (an ORM query, `add`)."""
        self._direct = not self.readonly
        return self

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
        if self._direct:
            try:
                self.session = _DirectSession.begin(self.store.engine)
            except DBAPIError as exc:  # the server is not there: the same fault as inside the block
                fault = storage_fault(exc)
                if fault is None:
                    raise
                raise fault from exc
        else:
            factory = self.store._ro if self.readonly else self.store._rw
            self.session = factory()
            self.session.begin()
        from tracker.ledger import Ledger

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
        except DBAPIError:
            # The server went away under the transaction (a failover): the rollback cannot reach it either. The
            # connection is dropped, not returned to the pool, and the fault is the operation's, not the rollback's
            # (with no operation failing, nothing was left to undo: a read that ended or an act not committed).
            self.session.invalidate()
        finally:
            self.session.close()
        fault: DomainError | None = None
        if exc is not None:
            fault = storage_fault(exc) or saved_meanwhile(exc)
        if fault is not None:  # the rollback above kept everything committed before; say why, in both languages
            raise fault from exc
        audit = getattr(exc, "audit_row", None)
        if audit is not None and not self.readonly:
            self.audit(audit)

    def audit(self, row: dict[str, Any]) -> None:
        """One entry in the audit log, in a transaction of its own (kept even when the operation rolls back)."""
        from tracker.schema import Refusal

        try:
            with self.store._rw() as s, s.begin():
                s.add(Refusal(at=self.now(), terminal=self.store.terminal, **row))
        except DBAPIError as e:  # a refusal that cannot be audited is a fault of the store, not a quiet refusal
            fault = storage_fault(e)
            if fault is None:
                raise
            raise fault from e


class _DirectSession:
    """A unit of work's transaction on a Core connection, standing in for its ORM session (`UnitOfWork.direct`).

    It has what `tracker.prepared` uses — `info` (per transaction: it lives as long as this object), `flush`,
    `connection` — and what the unit of work calls (`commit`, `rollback`, `close`, `invalidate`, `in_transaction`).
    Anything else (`execute`, `get`, `add`, `scalars`, `get_bind`…) goes to an ORM session made at its first use
    and joined to this same transaction (SQLAlchemy's "join a session into an external transaction"): it never
    commits or rolls back the transaction itself, and its pending changes are flushed before every prebuilt
    statement and before the commit, as the session's own autoflush would."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        with unchecked_checkout():
            self._conn = engine.connect()
        try:
            self._tx = self._conn.begin()
        except BaseException:
            self._conn.close()
            raise
        self.info: dict[str, Any] = {}
        self._orm: Session | None = None
        self._renewed = False

    @classmethod
    def begin(cls, engine: Engine) -> Session:
        """A new transaction, typed as the session it stands in for: every caller of `UnitOfWork.session` may use
        it as one (what it lacks is delegated to a real one)."""
        from typing import cast

        return cast("Session", cls(engine))

    def renew(self) -> bool:
        """The transaction's first message found its connection dead (PostgreSQL: the connection is checked out
        unpinged, and that message stands in for the pool's ping, one round trip less per operation — issue 22).
        Nothing of the transaction reached a server, so it starts again on a connection the pool checks as it
        checks every other: the dead one is dropped, and so is every connection pooled before it as soon as its
        own ping fails. Once per unit of work; False when already renewed (the fault is then the operation's)."""
        if self._renewed or self._orm is not None:
            return False
        self._renewed = True
        self.info.clear()
        self._conn.invalidate()
        self._conn.close()
        self._conn = self._engine.connect()
        self._tx = self._conn.begin()
        return True

    def connection(self) -> Connection:
        return self._conn

    def flush(self) -> None:
        if self._orm is not None:
            self._orm.flush()

    def in_transaction(self) -> bool:
        return self._tx.is_active

    def commit(self) -> None:
        self.flush()
        self._tx.commit()

    def rollback(self) -> None:
        if self._tx.is_active:
            self._tx.rollback()

    def invalidate(self) -> None:
        self._conn.invalidate()

    def close(self) -> None:
        self.info.clear()
        try:
            if self._orm is not None:
                self._orm.close()
        finally:
            self._conn.close()

    def __getattr__(self, name: str) -> Any:
        if self._orm is None:
            from sqlalchemy.orm import Session

            self._orm = Session(bind=self._conn, expire_on_commit=False)
        return getattr(self._orm, name)
