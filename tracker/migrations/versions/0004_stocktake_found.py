"""stocktake: carriers found as expected kept apart, as (session, carrier, reads)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 03:00:00

A million-carrier reconciliation spent most of its time writing a full finding row for every carrier found where the
register has it; those are now derived from the expected snapshot. See `tracker.stocktake.reconcile`. Findings written before
this revision stay valid; the next reconciliation moves their found rows here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('stocktake_found',
    sa.Column('session_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('carrier_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('reads', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('session_id', 'carrier_id', name=op.f('pk_stocktake_found')),
    sqlite_with_rowid=False
    )


def downgrade() -> None:
    op.drop_table('stocktake_found')
