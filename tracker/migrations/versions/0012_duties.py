"""duties: clear-back campaigns, people's lifecycle records and the 脱密期

Revision ID: 0012
Revises: 0014
Create Date: 2026-12-06 14:00:00

Issue 19: a campaign (清退/收缴) waits for the carriers that were out when it opened; a person's vetting, trainings,
exams and pledges are records (R-161–R-165); the end of a 脱密期 is kept on the person (R-166, R-167).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('people', sa.Column('cooling_off_until', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'campaigns',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('criteria', sa.Text(), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('created_by', sa.String(length=40), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('closed_by', sa.String(length=40), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('head_seq', sa.BigInteger(), nullable=True),
        sa.Column('head_hash', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    )
    op.create_index(op.f('ix_campaigns_status'), 'campaigns', ['status'], unique=False)
    op.create_table(
        'campaign_items',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('carrier_id', sa.Integer(), nullable=False),
        sa.Column('holder', sa.String(length=40), nullable=True),
        sa.Column('status_at_start', sa.String(length=24), nullable=False),
        sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('returned_by', sa.String(length=40), nullable=True),
        sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('verified_by', sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_items_campaign_id_campaigns')),
        sa.ForeignKeyConstraint(['carrier_id'], ['carriers.id'], name=op.f('fk_campaign_items_carrier_id_carriers')),
        sa.PrimaryKeyConstraint('campaign_id', 'carrier_id', name=op.f('pk_campaign_items')),
    )
    op.create_index(op.f('ix_campaign_items_carrier_id'), 'campaign_items', ['carrier_id'], unique=False)
    op.create_table(
        'person_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('on', sa.DateTime(timezone=True), nullable=False),
        sa.Column('result', sa.String(length=20), nullable=True),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('recorded_by', sa.String(length=40), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_person_records_person_id_people')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_person_records')),
    )
    op.create_index(op.f('ix_person_records_person_id'), 'person_records', ['person_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_person_records_person_id'), table_name='person_records')
    op.drop_table('person_records')
    op.drop_index(op.f('ix_campaign_items_carrier_id'), table_name='campaign_items')
    op.drop_table('campaign_items')
    op.drop_index(op.f('ix_campaigns_status'), table_name='campaigns')
    op.drop_table('campaigns')
    with op.batch_alter_table('people') as batch:
        batch.drop_column('cooling_off_until')
