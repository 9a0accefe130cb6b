"""two-person integrity: approvals as requests with decisions, the policy in the register, the audit log's kinds

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 12:00:00

An approval becomes a request that one or more distinct approvers decide (`approval_decisions`); the policy — the
approval matrix, limits, PIN lockout — is stored as versioned documents (`policy_versions`), changed only through a
two-person service; a PIN reset by an administrator is one-time (`people.pin_must_change`); the audit table keeps
sign-in failures, policy and role changes and exports beside refusals (`refusals.kind`, `refusals.detail`).
Approvals granted before this revision keep their single approver as their one decision.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('approvals') as b:
        b.alter_column('approver_id', existing_type=sa.Integer(), nullable=True)
        b.add_column(sa.Column('status', sa.String(length=12), nullable=False, server_default='granted'))
        b.add_column(sa.Column('needed', sa.Integer(), nullable=False, server_default='1'))
        b.add_column(sa.Column('request', sa.Text(), nullable=False, server_default=''))
    op.create_table('approval_decisions',
    sa.Column('approval_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approval_id'], ['approvals.id'], name=op.f('fk_approval_decisions_approval_id_approvals')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_approval_decisions_person_id_people')),
    sa.PrimaryKeyConstraint('approval_id', 'person_id', name=op.f('pk_approval_decisions'))
    )
    op.execute("INSERT INTO approval_decisions (approval_id, person_id, decision, reason, at) "
               "SELECT id, approver_id, 'approve', '', created_at FROM approvals WHERE approver_id IS NOT NULL")
    op.create_table('policy_versions',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('proposed_by', sa.String(length=40), nullable=True),
    sa.Column('approval_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_versions'))
    )
    with op.batch_alter_table('people') as b:
        b.add_column(sa.Column('pin_must_change', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('refusals') as b:
        b.add_column(sa.Column('kind', sa.String(length=20), nullable=False, server_default='refused'))
        b.add_column(sa.Column('detail', sa.Text(), nullable=False, server_default=''))
        b.create_index('ix_refusals_at', ['at'])


def downgrade() -> None:
    with op.batch_alter_table('refusals') as b:
        b.drop_index('ix_refusals_at')
        b.drop_column('detail')
        b.drop_column('kind')
    with op.batch_alter_table('people') as b:
        b.drop_column('pin_must_change')
    op.drop_table('policy_versions')
    op.drop_table('approval_decisions')
    with op.batch_alter_table('approvals') as b:
        b.drop_column('request')
        b.drop_column('needed')
        b.drop_column('status')
        b.alter_column('approver_id', existing_type=sa.Integer(), nullable=False)
