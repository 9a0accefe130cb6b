"""register: destruction batches (销毁), their lists and their scans at the destruction site

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 12:00:00

Issue 18: a batch is listed, approved per the matrix, scanned item by item at the site and completed under two
supervisors; a listed carrier is on at most one open batch (`destruction_items.open_carrier_id` is unique).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('destruction_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('requested_by', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approval_id', sa.Integer(), nullable=True),
    sa.Column('site', sa.String(length=200), nullable=True),
    sa.Column('methods', sa.Text(), nullable=False),
    sa.Column('supervisors', sa.Text(), nullable=False),
    sa.Column('completed_by', sa.String(length=40), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('head_seq', sa.BigInteger(), nullable=True),
    sa.Column('head_hash', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['approval_id'], ['approvals.id'],
                            name=op.f('fk_destruction_batches_approval_id_approvals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_destruction_batches'))
    )
    op.create_table('destruction_items',
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('carrier_id', sa.Integer(), nullable=False),
    sa.Column('prior_status', sa.String(length=24), nullable=False),
    sa.Column('listed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('scanned_by', sa.String(length=40), nullable=True),
    sa.Column('scan_method', sa.String(length=8), nullable=True),
    sa.Column('open_carrier_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['destruction_batches.id'],
                            name=op.f('fk_destruction_items_batch_id_destruction_batches')),
    sa.ForeignKeyConstraint(['carrier_id'], ['carriers.id'], name=op.f('fk_destruction_items_carrier_id_carriers')),
    sa.PrimaryKeyConstraint('batch_id', 'carrier_id', name=op.f('pk_destruction_items')),
    sa.UniqueConstraint('open_carrier_id', name=op.f('uq_destruction_items_open_carrier_id'))
    )
    op.create_index(op.f('ix_destruction_items_carrier_id'), 'destruction_items', ['carrier_id'], unique=False)
    op.create_table('destruction_extras',
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('scanned_by', sa.String(length=40), nullable=False),
    sa.Column('set_aside', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['destruction_batches.id'],
                            name=op.f('fk_destruction_extras_batch_id_destruction_batches')),
    sa.PrimaryKeyConstraint('batch_id', 'code', name=op.f('pk_destruction_extras'))
    )


def downgrade() -> None:
    op.drop_table('destruction_extras')
    op.drop_index(op.f('ix_destruction_items_carrier_id'), table_name='destruction_items')
    op.drop_table('destruction_items')
    op.drop_table('destruction_batches')
