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
an operation's time. `pipeline` sends a run of these statements without waiting for each (psycopg's pipeline mode):
the writes of a check-out and the ledger head's lock reach the server together and come back in one round trip. On
SQLite (in-process, no round trips) it does nothing.
"""

from __future__ import annotations

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


_PREFETCHED = "tracker_prefetched"


def prefetch(session: Session, *reads: tuple[Prepared, Mapping[str, Any]]) -> None:
    """On PostgreSQL, send these reads together and wait once: the next `rows`/`one`/`one_or_none` of each statement
    with the same parameters in this transaction takes the rows fetched here instead of asking the server again
    (once: a second call asks again). Locks a read takes (FOR UPDATE) are taken here, in the order given.

    For an operation that knows at its start what it will read, as a check-out does (the clerk, the borrower, the
    carrier, the policy's version): four round trips become one. The rows are as of this call, so fetch only what
    is read before the transaction writes anything that would change it. Elsewhere (SQLite) this does nothing."""
    if driver(session).dialect.name != "postgresql":
        return
    pending: dict[tuple[int, Any], list[Any]] = session.info.setdefault(_PREFETCHED, {})
    with pipeline(session):
        sent = [(p, _params_key(params), *p._run(session, params)) for p, params in reads]
        for p, key, c, cursor in sent:
            pending[(id(p), key)] = p._fetch(c, cursor)


@contextmanager
def pipeline(session: Session, commit: bool = False) -> Iterator[None]:
    """Run the block's prebuilt statements in one batch on PostgreSQL: a write is sent, not waited for (its
    `execute` returns -1, the row count being unknown yet), and the first read (`rows`, `one`…) or the end of the
    block waits for everything sent so far in one round trip. An error in any of them surfaces there, as SQLAlchemy's
    `DBAPIError` like any other, and the transaction is then failed as it would have been statement by statement.

    Only `Prepared` statements may run inside (the ORM expects a result from every statement at once), and the block
    must end before the transaction's commit: the connection leaves pipeline mode before the pool may hand it on.
    With `commit`, the transaction's COMMIT itself goes in the block's last batch when the block ends without an
    error — one round trip less, and on the counter, one less while the ledger head is locked — and the caller
    commits its unit of work right after the block, which then has nothing left to send (the driver sees no open
    transaction). Elsewhere (SQLite) this does nothing, and the unit of work's commit commits."""
    session.flush()  # pending ORM changes go now: the statements' own flushes inside must find nothing to send
    d = driver(session)
    enter = getattr(d.dbapi, "pipeline", None) if d.dialect.name == "postgresql" else None
    if enter is None:
        yield
        return
    error: type[Exception] = d.dialect.loaded_dbapi.Error
    try:
        with enter():
            yield
            if commit:
                with d.dbapi.cursor() as cursor:
                    cursor.execute("COMMIT")
    except error as e:
        raise DBAPIError.instance("(pipelined statements)", None, e, error) from e


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
        if isinstance(self.statement, SelectBase):
            columns = list(self.statement.selected_columns)
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

    def _run(self, session: Session, params: Mapping[str, Any]) -> tuple[_Compiled, Any]:
        session.flush()  # what the ORM's autoflush would do: pending ORM changes are visible to this statement
        d = driver(session)
        c = self.compiled(d.dialect)
        values = [params[n] if n in params else c.defaults[n] for n in c.names]
        values = [v if p is None or v is None else p(v) for v, p in zip(values, c.processors, strict=True)]
        args: Sequence[Any] | dict[str, Any] = values if c.positional else dict(zip(c.names, values, strict=True))
        cursor = d.dbapi.cursor()
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
            fetched = cursor.fetchall()  # in a `pipeline`, an earlier statement's error surfaces here
        except c.error as e:
            raise DBAPIError.instance(c.sql, None, e, c.error) from e
        finally:
            cursor.close()
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

    def execute(self, session: Session, params: Mapping[str, Any] | None = None) -> int:
        """Run a write; returns the driver's row count."""
        _c, cursor = self._run(session, params or {})
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()


def _params_key(params: Mapping[str, Any]) -> Any:
    return tuple(sorted(params.items()))


def _row_type(fields: list[str]) -> Any:
    """A named tuple class for one statement's rows (fields known only when the statement is built)."""
    return namedtuple("Row", fields)
