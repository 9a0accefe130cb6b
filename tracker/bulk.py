"""Many-row INSERTs handed to the database driver, inside the caller's transaction.

SQLAlchemy's executemany builds, checks and type-processes one parameter dictionary per row; for a 100,000-carrier
import that cost more than SQLite's own work (issue 2). Here rows are tuples in a fixed column order whose values the
driver takes as they are (text, whole numbers, None), and a value that needs the dialect's conversion (an instant,
`UTCDateTime`) is passed once as a constant and converted once by SQLAlchemy's own bind processor. Each statement
carries as many rows as `MAX_PARAMETERS` allows (multi-row VALUES): executing a statement has a fixed cost — on
SQLite, opening the table and each of its indexes — and paying it per 50 rows instead of per row roughly halved the
carriers insert. Statements still go through the session's connection (`exec_driver_sql`), so connection events,
error wrapping and the transaction are SQLAlchemy's as usual. This module never commits and never puts a value into
SQL text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

_MARK = {"qmark": "?", "format": "%s", "pyformat": "%s"}
MAX_PARAMETERS = 999  # per statement: the lowest limit SQLite has been built with; PostgreSQL allows 65,535


def _processor(table: Table, column: str, dialect: Dialect) -> Any:
    """The conversion SQLAlchemy would apply to a value of this column on this dialect, or None."""
    type_ = table.c[column].type
    return type_.dialect_impl(dialect).bind_processor(dialect)


def placeholder(dialect: Dialect) -> str:
    """The driver's own positional parameter mark, for statements handed to it as they are (`exec_driver_sql`)."""
    mark = _MARK.get(str(dialect.paramstyle))
    if mark is None:
        raise NotImplementedError(f"driver-level statements do not know the {dialect.paramstyle} parameter style")
    return mark


def insert_rows(session: Session, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]],
                constants: Mapping[str, Any] | None = None) -> None:
    """INSERT `rows` (tuples ordered as `columns`) into `table`, each followed by the same `constants`.

    A varying column whose type needs conversion on this dialect is refused rather than silently stored unconverted:
    pass such a value as a constant, or insert through SQLAlchemy Core.
    """
    if not rows:
        return
    session.flush()  # what the ORM's autoflush would do: pending ORM changes land before these rows
    conn = session.connection()
    dialect = conn.dialect
    for name in columns:
        if _processor(table, name, dialect) is not None:
            raise ValueError(f"{table.name}.{name} needs a {dialect.name} conversion; pass it as a constant")
    fixed: tuple[Any, ...] = ()
    names = list(columns)
    for name, value in (constants or {}).items():
        process = _processor(table, name, dialect)
        fixed += (process(value) if process is not None else value,)
        names.append(name)
    mark = placeholder(dialect)
    preparer = dialect.identifier_preparer
    columns_sql = ", ".join(preparer.quote(n) for n in names)
    head = f"INSERT INTO {preparer.format_table(table)} ({columns_sql}) VALUES "  # noqa: S608 (schema names only)
    one = f"({', '.join([mark] * len(names))})"

    def flat(chunk: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
        return tuple(chain.from_iterable(row + fixed for row in chunk))

    per = max(1, MAX_PARAMETERS // len(names))
    full = len(rows) - len(rows) % per
    if full:
        conn.exec_driver_sql(head + ", ".join([one] * per), [flat(rows[i:i + per]) for i in range(0, full, per)])
    if full < len(rows):
        conn.exec_driver_sql(head + ", ".join([one] * (len(rows) - full)), flat(rows[full:]))
