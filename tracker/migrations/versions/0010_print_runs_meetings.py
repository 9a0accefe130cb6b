"""register: print runs (印制) and classified meetings (涉密会议)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 14:00:00

Issue 21: a print run is approved with its count and distribution and completed once, registering its copies and a
by-products carrier (R-29–R-36); a meeting issues documents to listed attendees and collects them back
(R-123–R-127). A document is out at one meeting at most (`meeting_materials.open_carrier_id` is unique).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('venue_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('classification', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_by', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('venue_checked_by', sa.String(length=40), nullable=True),
    sa.Column('venue_check', sa.Text(), nullable=True),
    sa.Column('closed_by', sa.String(length=40), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('head_seq', sa.BigInteger(), nullable=True),
    sa.Column('head_hash', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['venue_id'], ['locations.id'], name=op.f('fk_meetings_venue_id_locations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meetings'))
    )
    op.create_table('meeting_attendees',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('signed_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_meeting_attendees_meeting_id_meetings')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_meeting_attendees_person_id_people')),
    sa.PrimaryKeyConstraint('meeting_id', 'person_id', name=op.f('pk_meeting_attendees'))
    )
    op.create_table('meeting_materials',
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('carrier_id', sa.Integer(), nullable=False),
    sa.Column('attendee_id', sa.Integer(), nullable=False),
    sa.Column('from_location_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=40), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=True),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('settled_by', sa.String(length=40), nullable=True),
    sa.Column('open_carrier_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['attendee_id'], ['people.id'], name=op.f('fk_meeting_materials_attendee_id_people')),
    sa.ForeignKeyConstraint(['carrier_id'], ['carriers.id'], name=op.f('fk_meeting_materials_carrier_id_carriers')),
    sa.ForeignKeyConstraint(['from_location_id'], ['locations.id'], name=op.f('fk_meeting_materials_from_location_id_locations')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_meeting_materials_meeting_id_meetings')),
    sa.PrimaryKeyConstraint('meeting_id', 'carrier_id', name=op.f('pk_meeting_materials')),
    sa.UniqueConstraint('open_carrier_id', name=op.f('uq_meeting_materials_open_carrier_id'))
    )
    op.create_index(op.f('ix_meeting_materials_carrier_id'), 'meeting_materials', ['carrier_id'], unique=False)
    op.create_table('print_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('approval_id', sa.Integer(), nullable=True),
    sa.Column('requested_by', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('doc_number', sa.String(length=100), nullable=False),
    sa.Column('issuer', sa.String(length=200), nullable=True),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('regime', sa.String(length=20), nullable=False),
    sa.Column('classification', sa.String(length=20), nullable=False),
    sa.Column('period', sa.String(length=20), nullable=True),
    sa.Column('scope', sa.Text(), nullable=True),
    sa.Column('copies', sa.Integer(), nullable=False),
    sa.Column('distribution', sa.Text(), nullable=False),
    sa.Column('location', sa.String(length=40), nullable=False),
    sa.Column('first_copy', sa.Integer(), nullable=True),
    sa.Column('printer', sa.String(length=40), nullable=True),
    sa.Column('proof_reader', sa.String(length=40), nullable=True),
    sa.Column('print_room', sa.String(length=200), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('byproducts', sa.Text(), nullable=False),
    sa.Column('byproduct_carrier_id', sa.Integer(), nullable=True),
    sa.Column('head_seq', sa.BigInteger(), nullable=True),
    sa.Column('head_hash', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['approval_id'], ['approvals.id'], name=op.f('fk_print_runs_approval_id_approvals')),
    sa.ForeignKeyConstraint(['byproduct_carrier_id'], ['carriers.id'], name=op.f('fk_print_runs_byproduct_carrier_id_carriers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_print_runs'))
    )
    op.create_index(op.f('ix_print_runs_doc_number'), 'print_runs', ['doc_number'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_print_runs_doc_number'), table_name='print_runs')
    op.drop_table('print_runs')
    op.drop_index(op.f('ix_meeting_materials_carrier_id'), table_name='meeting_materials')
    op.drop_table('meeting_materials')
    op.drop_table('meeting_attendees')
    op.drop_table('meetings')
