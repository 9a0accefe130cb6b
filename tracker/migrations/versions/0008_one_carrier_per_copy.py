"""register: one carrier per (issuer, document number, copy number)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 12:30:00

The service refuses a copy already registered (R-29, issue 14); this unique index makes two terminals saving the same
copy at the same moment unable to both succeed. A missing issuer counts as the empty issuer, so it is enforced too. A
register that already holds duplicates is not upgraded: the duplicates are named, to be resolved first (each is a
physical carrier that must be looked at, never one the upgrade may drop).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHERE = "doc_number IS NOT NULL AND copy_number IS NOT NULL"


def upgrade() -> None:
    duplicates = op.get_bind().execute(sa.text(
        "SELECT coalesce(issuer, ''), doc_number, copy_number, count(*) FROM carriers "
        "WHERE doc_number IS NOT NULL AND copy_number IS NOT NULL "
        "GROUP BY coalesce(issuer, ''), doc_number, copy_number HAVING count(*) > 1")).all()
    if duplicates:
        listed = "; ".join(f"{i} {d} copy {n} ×{k}" for i, d, n, k in duplicates[:20])
        raise RuntimeError(f"The register holds the same copy more than once ({listed}): resolve these carriers "
                           "before upgrading (登记库中有重复登记的同一份载体，请先处理后再升级).")
    op.create_index('uq_carriers_document_copy', 'carriers',
                    [sa.text("coalesce(issuer, '')"), 'doc_number', 'copy_number'], unique=True,
                    sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE))


def downgrade() -> None:
    op.drop_index('uq_carriers_document_copy', table_name='carriers')
