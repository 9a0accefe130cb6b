"""stocktake: expected snapshot clustered on its key (SQLite) and indexed by code

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 02:00:00

A million-carrier reconciliation read the snapshot through its (session, location) index, one row lookup per carrier,
and probed the register twice per code to tell expected codes from the rest. See `tracker.stocktake.reconcile`.
"""

from collections.abc import Sequence
from contextlib import AbstractContextManager

from alembic import op
from alembic.operations import BatchOperations

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _expected(with_rowid: bool) -> AbstractContextManager[BatchOperations]:
    """SQLite can only change a table's clustering by copying it; PostgreSQL has nothing to change."""
    if op.get_bind().dialect.name == "sqlite":
        return op.batch_alter_table('stocktake_expected', recreate='always',
                                    table_kwargs={'sqlite_with_rowid': with_rowid})
    return op.batch_alter_table('stocktake_expected')


def upgrade() -> None:
    with _expected(with_rowid=False) as batch_op:
        batch_op.create_index('ix_stocktake_expected_session_code', ['session_id', 'code'], unique=False)


def downgrade() -> None:
    with _expected(with_rowid=True) as batch_op:
        batch_op.drop_index('ix_stocktake_expected_session_code')
