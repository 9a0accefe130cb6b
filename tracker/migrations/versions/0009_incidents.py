"""incidents: losses, broken seals and alarms, opened by a person or a device, closed only with a resolution

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 13:40:00

Issues 19, 20 and 23 all end in an incident (R-154–R-156): a loss report, a broken or mismatched seal, an alarm at a
gate or a cabinet. One table for all of them, so the security officer works one list.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'incidents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('level', sa.String(length=16), nullable=True),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('opened_by', sa.String(length=40), nullable=True),
        sa.Column('source', sa.String(length=100), nullable=True),
        sa.Column('discovered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('place', sa.String(length=40), nullable=True),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('evidence', sa.Text(), nullable=False),
        sa.Column('deadline', sa.DateTime(timezone=True), nullable=True),
        sa.Column('measures', sa.Text(), nullable=False),
        sa.Column('outcome', sa.String(length=20), nullable=True),
        sa.Column('resolution', sa.Text(), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('closed_by', sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents')),
    )
    op.create_index(op.f('ix_incidents_kind'), 'incidents', ['kind'], unique=False)
    op.create_index(op.f('ix_incidents_status'), 'incidents', ['status'], unique=False)
    op.create_table(
        'incident_carriers',
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'],
                                name=op.f('fk_incident_carriers_incident_id_incidents')),
        sa.PrimaryKeyConstraint('incident_id', 'code', name=op.f('pk_incident_carriers')),
    )
    op.create_index(op.f('ix_incident_carriers_code'), 'incident_carriers', ['code'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_incident_carriers_code'), table_name='incident_carriers')
    op.drop_table('incident_carriers')
    op.drop_index(op.f('ix_incidents_status'), table_name='incidents')
    op.drop_index(op.f('ix_incidents_kind'), table_name='incidents')
    op.drop_table('incidents')
