"""reader places: exit gates and smart cabinets bound to RFID readers, and the log of what they saw (issue 23)

Revision ID: 0014
Revises: 0010
Create Date: 2026-12-06 14:00:00

A gate or a cabinet is register data (which reader, which antenna faces which way, which places it stands
between), so a client file cannot switch an alarm off. What the readers saw is evidence kept in bulk outside the
ledger (`watch_log`), like the audit log; the acts it leads to are ledger events of their own.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'reader_places',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('device', sa.String(length=100), nullable=False),
        sa.Column('inside_id', sa.Integer(), nullable=False),
        sa.Column('outside_id', sa.Integer(), nullable=True),
        sa.Column('antennas', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(['inside_id'], ['locations.id'], name=op.f('fk_reader_places_inside_id_locations')),
        sa.ForeignKeyConstraint(['outside_id'], ['locations.id'],
                                name=op.f('fk_reader_places_outside_id_locations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reader_places')),
        sa.UniqueConstraint('code', name=op.f('uq_reader_places_code')),
    )
    op.create_index(op.f('ix_reader_places_inside_id'), 'reader_places', ['inside_id'], unique=False)
    op.create_table(
        'watch_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('place', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('epc', sa.String(length=64), nullable=True),
        sa.Column('carrier', sa.String(length=40), nullable=True),
        sa.Column('person', sa.String(length=40), nullable=True),
        sa.Column('direction', sa.String(length=8), nullable=True),
        sa.Column('incident', sa.Integer(), nullable=True),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_watch_log')),
    )
    op.create_index(op.f('ix_watch_log_at'), 'watch_log', ['at'], unique=False)
    op.create_index(op.f('ix_watch_log_place'), 'watch_log', ['place'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_watch_log_place'), table_name='watch_log')
    op.drop_index(op.f('ix_watch_log_at'), table_name='watch_log')
    op.drop_table('watch_log')
    op.drop_index(op.f('ix_reader_places_inside_id'), table_name='reader_places')
    op.drop_table('reader_places')
