"""register: the GS1 company prefixes of our own RFID tags

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 11:00:00

An EPC under any other company prefix is an unknown tag, never a carrier (issue 17). The prefixes are set at
`tracker init` from the configured prefix (TRACKER_GS1_PREFIX); a register without one accepts no GIAI-96 tag.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('company_prefixes',
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('prefix', name=op.f('pk_company_prefixes'))
    )


def downgrade() -> None:
    op.drop_table('company_prefixes')
