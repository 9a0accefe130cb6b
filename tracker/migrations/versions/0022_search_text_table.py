"""register (PostgreSQL): the searched texts and their trigram index move to `carrier_grams`, off the custody updates

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 22:40:00

A check-out or check-in changes a carrier's status, holder and place — indexed columns, so PostgreSQL writes a new
entry into every index of `carriers`, the search's pg_trgm GIN index of migration 0020 included: its trigrams of the
unchanged title, code and document number were extracted and queued again on every custody change, 38 µs of the
update's 134 µs of server time and 830 of its 1,690 bytes of WAL (pg_stat_statements, issue 22). The texts now have a
copy in `carrier_grams` (migration 0021's table, kept by the same SECURITY DEFINER trigger, which fires only when a
code, title or document number is written), and the trigram indexes live there; `queries.find` reads their matches
from it. The copy is made in the same transaction as the carrier's own change, so a search inside that transaction
sees it (tests/integration/test_search.py).

Whatever trigram indexes `carriers` had are moved as they are: 0020's one index with the id bucket where the server
has btree_gin, else 0011's three per-column indexes where it has pg_trgm, else none (the search then reads the texts
without an index, as before).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING_KB = 256
BUCKETED = ("ix_carriers_search", "ix_carrier_texts",
            "(title gin_trgm_ops, code gin_trgm_ops, doc_number gin_trgm_ops, (id >> 16))")
PER_COLUMN = tuple((f"ix_carriers_{column}_trgm", f"ix_carrier_texts_{column}", f"({column} gin_trgm_ops)")
                   for column in ("code", "doc_number", "title"))

# 0021's trigger function with the texts' copy added to the row it writes (downgrade: as 0021 wrote it)
_TRIGGER = """
CREATE OR REPLACE FUNCTION tracker_carrier_grams() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM carrier_grams WHERE id = OLD.id;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.id <> OLD.id THEN
        DELETE FROM carrier_grams WHERE id = OLD.id;
    END IF;
    INSERT INTO carrier_grams (id, grams{columns})
    VALUES (NEW.id, tracker_grams(NEW.code, NEW.title, coalesce(NEW.doc_number, '')){values})
    ON CONFLICT (id) DO UPDATE SET grams = EXCLUDED.grams{updates};
    RETURN NEW;
END $$"""
TRIGGER_FUNCTION = _TRIGGER.format(
    columns=", code, title, doc_number", values=", NEW.code, NEW.title, NEW.doc_number",
    updates=", code = EXCLUDED.code, title = EXCLUDED.title, doc_number = EXCLUDED.doc_number")
OLD_TRIGGER_FUNCTION = _TRIGGER.format(columns="", values="", updates="")


def _has_index(name: str) -> bool:
    return op.get_bind().execute(sa.text("SELECT 1 FROM pg_indexes WHERE indexname = :n"), {"n": name}).first() \
        is not None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite searches its FTS5 tables (0011, 0019), which a custody update does not touch
    op.execute("ALTER TABLE carrier_grams ADD COLUMN code TEXT, ADD COLUMN title TEXT, ADD COLUMN doc_number TEXT")
    op.execute("UPDATE carrier_grams AS g SET code = c.code, title = c.title, doc_number = c.doc_number "
               "FROM carriers AS c WHERE c.id = g.id")
    op.execute(TRIGGER_FUNCTION)
    for old, new, columns in (BUCKETED, *PER_COLUMN):
        if _has_index(old):
            op.execute(f"CREATE INDEX {new} ON carrier_grams USING gin {columns} "
                       f"WITH (gin_pending_list_limit = {PENDING_KB})")
            op.execute(f"DROP INDEX {old}")
    op.execute("ANALYZE carrier_grams")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for old, new, columns in (BUCKETED, *PER_COLUMN):
        if _has_index(new):
            op.execute(f"CREATE INDEX {old} ON carriers USING gin {columns}"
                       + (f" WITH (gin_pending_list_limit = {PENDING_KB})" if old == BUCKETED[0] else ""))
            op.execute(f"DROP INDEX {new}")
    op.execute(OLD_TRIGGER_FUNCTION)
    op.execute("ALTER TABLE carrier_grams DROP COLUMN code, DROP COLUMN title, DROP COLUMN doc_number")
