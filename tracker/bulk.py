"""Many-row INSERTs handed to the database driver's own executemany, inside the caller's transaction.

SQLAlchemy's executemany builds, checks and type-processes one parameter dictionary per row; for a 100,000-carrier
import that cost more than SQLite's own work (issue 2). Here rows are tuples in a fixed column order whose values the
driver takes as they are (text, whole numbers, None), and a value that needs the dialect's conversion (an instant,
`UTCDateTime`) is passed once as a constant and converted once by SQLAlchemy's own bind processor. The statement
still goes through the session's connection (`exec_driver_sql`), so connection events, error wrapping and the
transaction are SQLAlchemy's as usual. This module never commits and never builds SQL from values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

_MARK = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _processor(table: Table, column: str, dialect: Dialect) -> Any:
    """The conversion SQLAlchemy would apply to a value of this column on this dialect, or None."""
    type_ = table.c[column].type
    return type_.dialect_impl(dialect).bind_processor(dialect)


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
    mark = _MARK.get(str(dialect.paramstyle))
    if mark is None:
        raise NotImplementedError(f"bulk insert does not know the {dialect.paramstyle} parameter style")
    quote = dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({', '.join(quote(n) for n in names)}) "  # noqa: S608 (names from the schema, values bound)
           f"VALUES ({', '.join([mark] * len(names))})")
    conn.exec_driver_sql(sql, [row + fixed for row in rows] if fixed else list(rows))
