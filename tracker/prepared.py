"""Prebuilt Core statements run straight on the driver's cursor, for the counter's hottest path.

Check-out and check-in are about nine small statements each, and the counter has a queue of scans behind them.
Through the ORM session one such statement costs about 70 µs of Python on this project's machines, through a Core
`Connection` about 50 µs, and on the driver's own cursor about 8 µs — most of the difference is SQLAlchemy's
per-execution bookkeeping (parameter dictionaries, result metadata, events), not the SQL. So the hot path keeps
writing its statements with SQLAlchemy Core (typed, one source for SQLite and PostgreSQL) but has each compiled once
per dialect here, and runs it on the unit of work's DBAPI connection — inside the same transaction, with the same type
conversions (SQLAlchemy's own bind and result processors, so `UTCDateTime` and booleans read back exactly as through
the ORM), and with driver errors wrapped as SQLAlchemy's `DBAPIError` so callers' error handling is unchanged.

Only flat statements are supported: no expanding IN lists and no statement caching by shape; that is what keeps this
small. Everything off the hot path stays on the ORM.

On PostgreSQL each statement is a round trip to the server, and at the counter those waits, not the SQL, are most of
an operation's time. `prefetch` sends an operation's reads as one script and `batch` holds its writes to send them,
with the COMMIT, as another, and the transaction's BEGIN rides at the head of the first. The counter's unit of work
(`UnitOfWork.direct`) also lets that first script stand in for the pool's liveness ping: its connection is checked out
unpinged, and if the script finds it dead the unit of work starts again on a checked one and sends it again (nothing
of the transaction had reached a server). A check-out is then two round trips — the reads, the writes — against four
for a bare one-row INSERT and COMMIT (the ping, BEGIN, INSERT, COMMIT) (issue 22). On SQLite (in-process, no round
trips) they do nothing.
"""

from __future__ import annotations

import re
import weakref
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ClauseElement, SelectBase

Processor = Callable[[Any], Any]
_KEY = "tracker_driver"


@dataclass(frozen=True, slots=True)
class Driver:
    """The driver's connection under a session's transaction, and the dialect that compiles for it."""

    dbapi: Any
    dialect: Dialect


def driver(session: Session) -> Driver:
    """The session's current transaction on the driver's own connection (begun if need be), looked up once per
    transaction: `forget` drops it when the transaction ends."""
    d: Driver | None = session.info.get(_KEY)
    if d is None:
        conn = session.connection()
        d = session.info[_KEY] = Driver(conn.connection.driver_connection, conn.dialect)
    return d


def forget(session: Session) -> None:
    session.info.pop(_KEY, None)
    session.info.pop(_PREFETCHED, None)
    session.info.pop(_BATCH, None)
    session.info.pop(_CLIENT, None)


_PREFETCHED = "tracker_prefetched"


def prefetch(session: Session, *reads: tuple[Prepared, Mapping[str, Any]]) -> None:
    """On PostgreSQL, send these reads together and wait once: the next `rows`/`one`/`one_or_none` of each statement
    with the same parameters in this transaction takes the rows fetched here instead of asking the server again
    (once: a second call asks again). Locks a read takes (FOR UPDATE) are taken here, in the order given, and each
    read after a lock sees what was committed before the lock was granted (each statement its own snapshot).

    For an operation that knows at its start what it will read, as a check-out does (the clerk, the borrower, the
    carrier, the policy's version): seven round trips become one. The rows are as of this call, so fetch only what
    is read before the transaction writes anything that would change it. Elsewhere (SQLite) this does nothing."""
    if driver(session).dialect.name != "postgresql":
        return
    pending: dict[tuple[int, Any], list[Any]] = session.info.setdefault(_PREFETCHED, {})
    results = _script(session, [(p, *p._args(session, params)) for p, params in reads])
    for (p, params), rows in zip(reads, results, strict=True):
        pending[(id(p), _params_key(params))] = rows


_BATCH = "tracker_batch"


def _script(session: Session, statements: Sequence[tuple[Prepared, _Compiled, Any]],
            commit: bool = False) -> list[list[Any]]:
    """PostgreSQL: run the statements as one script — one message, one round trip — and return each one's rows
    (empty for a write), converted as `Prepared.rows` converts them. With `commit`, the script ends with COMMIT.

    Each statement is prepared once per connection (`PREPARE`, in a message of its own the first time) and the
    script is a run of `EXECUTE name(values…)`. Why not the driver's pipeline mode: measured with psycopg 3.3 on
    this project's machines, seven one-row reads with joins cost 421 µs of client CPU and 675 µs of server CPU in a
    pipeline (the driver sends and polls once per statement, the server binds and executes each through the extended
    protocol), 211 µs and 555 µs as one script of plain statements (planned every time), and 160 µs and 190 µs as one
    script of EXECUTEs; 2.35 ms, 2.05 ms and 1.02 ms of wall time. The values are bound on the client by psycopg's
    `ClientCursor` — each one quoted as a literal by the driver's own adapters, with the connection's encoding and
    quoting rules, so no value can end its literal (tests/integration/test_prepared.py sends hostile text through
    it) — and each statement still runs on its own, in order, with a snapshot of its own: a read after a lock sees
    what the lock waited for. The first failing statement stops the script (a COMMIT after it never runs) and its
    error is raised as SQLAlchemy's `DBAPIError`, the transaction then being failed as statement by statement.
    psycopg's own automatic preparing is switched off on these connections (`tracker.store`): its rollback would
    deallocate every prepared statement of the connection, ours included."""
    d = driver(session)
    cursor = _client_cursor(session, d)
    error: type[Exception] = d.dialect.loaded_dbapi.Error
    first = _untouched(d.dbapi)  # nothing of this transaction has gone to the server yet
    ready = _READY.setdefault(d.dbapi, set())
    new = {id(c): c for _p, c, _a in statements if id(c) not in ready}
    sql = ""
    try:
        if new:
            sql = ";\n".join(f"PREPARE {_name(c)} AS {_server_text(c)}" for c in new.values())
            cursor.execute(sql)
            ready.update(new)
        sql = _template(statements, commit)
        params = {f"p{i}_{k}": v for i, (_p, _c, args) in enumerate(statements) for k, v in args.items()}
        begin = _inline_begin(d.dbapi)
        if begin is None:
            cursor.execute(sql, params)
        else:
            sql = f"{begin};\n{sql}"
            d.dbapi._autocommit = True
            try:
                cursor.execute(sql, params)
            finally:
                d.dbapi._autocommit = False
            cursor.nextset()  # past the BEGIN's own result
        out: list[list[Any]] = []
        for p, c, _args in statements:
            # a write's rows are not wanted (an INSERT's compiled form may return the new id all the same)
            out.append(p._convert(c, cursor.fetchall()) if c.row is not None else [])
            cursor.nextset()
    except error as e:
        if getattr(e, "sqlstate", None) == "26000":  # deallocated behind our back: prepare again next time
            ready.clear()
        renew = getattr(session, "renew", None)  # a unit of work checked out unpinged (`store._DirectSession`)
        raised: Any = e  # the driver's Error (`error` is typed by its base)
        # Only a script without the COMMIT: one whose COMMIT may have reached the server before the connection
        # broke might have been saved, and must not be sent twice (the fault is then the operation's, as before).
        if (first and not commit and renew is not None and d.dialect.is_disconnect(raised, d.dbapi, None)
                and renew()):
            return _script(session, statements, commit)  # the same script, first again, on a live connection
        raise DBAPIError.instance(sql, None, e, error) from e
    return out


def _untouched(dbapi: Any) -> bool:
    from psycopg.pq import TransactionStatus

    return bool(dbapi.pgconn.transaction_status == TransactionStatus.IDLE)


def _inline_begin(dbapi: Any) -> str | None:
    """The BEGIN psycopg would send, when the script is the transaction's first message: it then goes at the head
    of the script instead of in a round trip of its own before it (psycopg sends its BEGIN alone and waits). For
    that one call the driver is told it is in autocommit mode, so it sends no BEGIN of its own; its transaction
    state then follows the server's, as after any BEGIN. This leans on two private members of psycopg 3's
    connection (`_autocommit`, `_get_tx_start_command`); without them the BEGIN simply keeps its own round trip."""
    start = getattr(dbapi, "_get_tx_start_command", None)
    if start is None or getattr(dbapi, "_autocommit", None) is not False:
        return None
    from psycopg.pq import TransactionStatus

    if dbapi.pgconn.transaction_status != TransactionStatus.IDLE:
        return None
    return str(start().decode())


_CLIENT = "tracker_client_cursor"
_PARAM = re.compile(r"(?<!%)%\((\w+)\)s")
_TEMPLATES: dict[tuple[Any, ...], str] = {}
_NAMES: dict[int, str] = {}
# The statements prepared on each connection (by the id of their `_Compiled`); gone with the connection.
_READY: weakref.WeakKeyDictionary[Any, set[int]] = weakref.WeakKeyDictionary()


def _name(c: _Compiled) -> str:
    name = _NAMES.get(id(c))
    if name is None:
        name = _NAMES[id(c)] = f"tracker_{len(_NAMES) + 1}"
    return name


def _server_text(c: _Compiled) -> str:
    """The statement as PREPARE takes it: `$1`, `$2`… in the order of `c.names`, a literal % no longer doubled."""
    numbers = {n: i for i, n in enumerate(c.names, 1)}
    return _PARAM.sub(lambda m: f"${numbers[m.group(1)]}", c.sql).replace("%%", "%")


def _template(statements: Sequence[tuple[Prepared, _Compiled, Any]], commit: bool) -> str:
    """The script's text, `EXECUTE name(%(p0_cid)s, …)` per statement with each one's parameters renamed apart,
    made once per sequence of statements: the driver then parses one template it has cached and quotes the values
    into it."""
    key = (*(id(c) for _p, c, _a in statements), commit)
    sql = _TEMPLATES.get(key)
    if sql is None:
        parts = [f"EXECUTE {_name(c)}" + (f"({', '.join(f'%(p{i}_{n})s' for n in c.names)})" if c.names else "")
                 for i, (_p, c, _a) in enumerate(statements)]
        sql = ";\n".join([*parts, "COMMIT"] if commit else parts)
        if len(_TEMPLATES) < 1024:  # a handful of operations use scripts; a bound, not a cache policy
            _TEMPLATES[key] = sql
    return sql


def _client_cursor(session: Session, d: Driver) -> Any:
    """A client-binding cursor on the transaction's connection (psycopg's `ClientCursor`), made once per
    transaction (`forget` drops it with the transaction, as it drops the connection)."""
    cursor = session.info.get(_CLIENT)
    if cursor is None:
        from psycopg import ClientCursor

        cursor = session.info[_CLIENT] = ClientCursor(d.dbapi)
    return cursor


class _Batch:
    """The writes of a `batch` block, held to go to the server as one script."""

    def __init__(self) -> None:
        self.statements: list[tuple[Prepared, _Compiled, Any]] = []
        self.pending: list[tuple[int, Pending]] = []

    def flush(self, session: Session, commit: bool = False) -> None:
        statements, pending = self.statements, self.pending
        self.statements, self.pending = [], []
        if not statements and not commit:
            return
        results = _script(session, statements, commit)
        for i, p in pending:
            p._rows = results[i]


@contextmanager
def batch(session: Session, commit: bool = False) -> Iterator[None]:
    """Send the block's prebuilt writes to PostgreSQL as one script at its end: a write's `execute` returns -1 (its
    row count is not known yet) and a `send` returns rows that are read after the block. A read inside the block
    (`rows`, `one`…) first sends the writes held before it, so it sees them. An error in any of them surfaces at
    that point, as SQLAlchemy's `DBAPIError` like any other, and the transaction is then failed as it would have
    been statement by statement.

    Only `Prepared` statements may run inside (others would overtake the held writes). With `commit`, the
    transaction's COMMIT ends the script when the block ends without an error — one round trip less, and on the
    counter, none while the ledger head is locked: a check-out's custody, loan, approval link, ledger event and
    COMMIT are one message — and the caller commits its unit of work right after the block, which then has nothing
    left to send (the driver sees no open transaction). Elsewhere (SQLite) this does nothing, statements run as they
    come, and the unit of work's commit commits."""
    session.flush()  # pending ORM changes go now: the statements' own flushes inside must find nothing to send
    if driver(session).dialect.name != "postgresql":
        yield
        return
    held = session.info[_BATCH] = _Batch()
    try:
        yield
        held.flush(session, commit)
    finally:
        session.info.pop(_BATCH, None)


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    positional: bool
    names: tuple[str, ...]  # bind names, in the order the driver wants them
    processors: tuple[Processor | None, ...]  # one per name, in the same order
    defaults: Mapping[str, Any]  # literal values written into the statement (`id == 1`)
    row: Any  # a namedtuple class named after the selected columns, or None for DML
    results: tuple[tuple[int, Processor], ...]  # column index, processor, for the columns that need one
    error: type[Exception]


class Prepared:
    """One Core statement, compiled the first time it runs on each dialect.

    `rows()` returns named tuples whose fields are the selected columns' keys (labels where given), so callers read
    `row.holder_badge` as they would from a SQLAlchemy `Row`.
    """

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled: Any = self.statement.compile(dialect=dialect)  # an SQLCompiler: positiontup, bind_names
        binds = {name: bind for bind, name in compiled.bind_names.items()}
        if any(bind.expanding for bind in binds.values()):
            raise TypeError("Prepared statements take no expanding IN lists; run one statement per value")
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise TypeError("Prepared statements run no Python-side column defaults; give every value")
        names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(binds)
        processors = tuple(binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names)
        defaults = {n: b.value for n, b in binds.items() if not b.required}
        row: Any = None
        results: list[tuple[int, Processor]] = []
        returning = getattr(self.statement, "_returning", ())  # a write's RETURNING columns, read through `send`
        if isinstance(self.statement, SelectBase) or returning:
            columns = list(self.statement.selected_columns if isinstance(self.statement, SelectBase) else returning)
            row = _row_type([str(c.key) for c in columns])
            for i, c in enumerate(columns):
                p = c.type.dialect_impl(dialect).result_processor(dialect, None)
                if p is not None:
                    results.append((i, p))
        return _Compiled(str(compiled), compiled.positional, names, processors, defaults, row, tuple(results),
                         dialect.loaded_dbapi.Error)

    def compiled(self, dialect: Dialect) -> _Compiled:
        c = self._by_dialect.get(dialect.name)
        if c is None:
            c = self._by_dialect[dialect.name] = self._compile(dialect)
        return c

    def _args(self, session: Session, params: Mapping[str, Any]) -> tuple[_Compiled, Any]:
        session.flush()  # what the ORM's autoflush would do: pending ORM changes are visible to this statement
        c = self.compiled(driver(session).dialect)
        values = [params[n] if n in params else c.defaults[n] for n in c.names]
        values = [v if p is None or v is None else p(v) for v, p in zip(values, c.processors, strict=True)]
        args: Sequence[Any] | dict[str, Any] = values if c.positional else dict(zip(c.names, values, strict=True))
        return c, args

    def _run(self, session: Session, params: Mapping[str, Any]) -> tuple[_Compiled, Any]:
        held: _Batch | None = session.info.get(_BATCH)
        if held is not None:  # a read inside a `batch` block: the writes held before it go first
            held.flush(session)
        c, args = self._args(session, params)
        cursor = driver(session).dbapi.cursor()
        try:
            cursor.execute(c.sql, args)
        except c.error as e:
            cursor.close()
            raise DBAPIError.instance(c.sql, args, e, c.error) from e
        return c, cursor

    def rows(self, session: Session, params: Mapping[str, Any] | None = None) -> list[Any]:
        pending = session.info.get(_PREFETCHED)
        if pending:
            found: list[Any] | None = pending.pop((id(self), _params_key(params or {})), None)
            if found is not None:
                return found
        c, cursor = self._run(session, params or {})
        return self._fetch(c, cursor)

    def _fetch(self, c: _Compiled, cursor: Any) -> list[Any]:
        try:
            fetched = cursor.fetchall()
        except c.error as e:
            raise DBAPIError.instance(c.sql, None, e, c.error) from e
        finally:
            cursor.close()
        return self._convert(c, fetched)

    def _convert(self, c: _Compiled, fetched: Sequence[Any]) -> list[Any]:
        if not c.results:
            return [c.row._make(r) for r in fetched]
        out = []
        for r in fetched:
            values = list(r)
            for i, p in c.results:
                values[i] = p(values[i])
            out.append(c.row._make(values))
        return out

    def one_or_none(self, session: Session, params: Mapping[str, Any] | None = None) -> Any:
        found = self.rows(session, params)
        if len(found) > 1:
            raise ValueError(f"more than one row for {self.statement}")
        return found[0] if found else None

    def one(self, session: Session, params: Mapping[str, Any] | None = None) -> Any:
        found = self.one_or_none(session, params)
        if found is None:
            raise ValueError(f"no row for {self.statement}")
        return found

    def send(self, session: Session, params: Mapping[str, Any] | None = None) -> Pending:
        """Run a statement whose rows are wanted later (a write with RETURNING): inside a `batch` block it is held
        with the block's writes and its rows are read (`Pending.one`) after the block — no round trip of its own.
        Outside one it runs at once, as `rows` would."""
        held: _Batch | None = session.info.get(_BATCH)
        if held is None:
            c, cursor = self._run(session, params or {})
            return Pending(self, self._fetch(c, cursor))
        c, args = self._args(session, params or {})
        pending = Pending(self, None)
        held.pending.append((len(held.statements), pending))
        held.statements.append((self, c, args))
        return pending

    def execute(self, session: Session, params: Mapping[str, Any] | None = None) -> int:
        """Run a write; returns the driver's row count (-1 inside a `batch` block, where it is not known yet)."""
        held: _Batch | None = session.info.get(_BATCH)
        if held is not None:
            held.statements.append((self, *self._args(session, params or {})))
            return -1
        _c, cursor = self._run(session, params or {})
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()


class Pending:
    """The rows of a statement sent by `Prepared.send`: there once its `batch` block has ended."""

    __slots__ = ("_prepared", "_rows")

    def __init__(self, prepared: Prepared, rows: list[Any] | None) -> None:
        self._prepared, self._rows = prepared, rows

    def one(self) -> Any:
        if self._rows is None:
            raise RuntimeError(f"the rows of {self._prepared.statement} are read after its batch block")
        if len(self._rows) != 1:
            raise ValueError(f"{len(self._rows)} rows for {self._prepared.statement}, one expected")
        return self._rows[0]


def _params_key(params: Mapping[str, Any]) -> Any:
    return tuple(sorted(params.items()))


def _row_type(fields: list[str]) -> Any:
    """A named tuple class for one statement's rows (fields known only when the statement is built)."""
    return namedtuple("Row", fields)
