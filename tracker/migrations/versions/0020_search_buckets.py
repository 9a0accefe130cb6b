"""register: one pg_trgm GIN index of code, title and document number that also knows each carrier's id bucket

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 19:30:00

On PostgreSQL `queries.find` wants the first carriers, in registration order, whose title, code or document number
holds a text. The pg_trgm GIN indexes of migration 0011 (one per column) can only give every match, in no order: a text
absent from the first carriers but common later ('Final Plan' in the search benchmark: 1,863 matches and 5,727
candidates to recheck at a million carriers) had every candidate read and sorted for a page of 100, 18–35 ms.

This index holds the same three trigram columns plus `id >> 16`, the carrier's bucket of 65,536 ids (btree_gin's
integer operator class, from the same contrib package as pg_trgm). A search can then ask for the matches of one bucket:
GIN intersects the trigrams with the bucket's entry and stops at the bucket's end, and only that bucket's candidates
are rechecked — 'Final Plan' answers from its first bucket in about 2 ms. It replaces the three per-column indexes
(a query on one column uses it as well: measured the same for a document number), so a carrier change still writes the
same trigram entries once, into one index.

The index keeps GIN's fast update (new entries wait in a pending list, merged in bulk), with that list limited to
256 kB instead of the server's 4 MB default: every scan of the index reads the whole pending list, and at 4 MB it cost
5–20 ms per search at a million carriers; with fast update off every carrier update (a check-out: status, holder and
place are indexed, so it is never a HOT update) wrote its ~60 trigram entries straight into the tree, doubling its
median (4.0 → 7.5 ms on the shared machine). The unigram-and-bigram index of 0019 gets the same limit.

Where the server lacks pg_trgm or btree_gin nothing is created here and the search reads as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING_KB = 256
OLD_INDEXES = {"ix_carriers_code_trgm": "code", "ix_carriers_doc_number_trgm": "doc_number",
               "ix_carriers_title_trgm": "title"}


def _has(bind: sa.engine.Connection, query: str) -> bool:
    return bind.execute(sa.text(query)).first() is not None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return  # SQLite: FTS5 (0011, 0019) already reads the first matches in carrier order
    if _has(bind, "SELECT 1 FROM pg_indexes WHERE indexname = 'ix_carriers_grams'"):
        op.execute(f"ALTER INDEX ix_carriers_grams SET (gin_pending_list_limit = {PENDING_KB})")
    if not (_has(bind, "SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
            and _has(bind, "SELECT 1 FROM pg_available_extensions WHERE name = 'btree_gin'")):
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.execute("CREATE INDEX ix_carriers_search ON carriers USING gin (title gin_trgm_ops, code gin_trgm_ops, "
               f"doc_number gin_trgm_ops, (id >> 16)) WITH (gin_pending_list_limit = {PENDING_KB})")
    for name in OLD_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if _has(bind, "SELECT 1 FROM pg_indexes WHERE indexname = 'ix_carriers_grams'"):
        op.execute("ALTER INDEX ix_carriers_grams RESET (gin_pending_list_limit)")
    if not _has(bind, "SELECT 1 FROM pg_indexes WHERE indexname = 'ix_carriers_search'"):
        return
    for name, column in OLD_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON carriers USING gin ({column} gin_trgm_ops)")
    op.execute("DROP INDEX ix_carriers_search")
    # btree_gin stays: another object may use it, and it changes nothing by itself
