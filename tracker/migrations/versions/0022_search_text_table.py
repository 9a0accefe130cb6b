"""register (PostgreSQL): the searched texts and their trigram index move to `carrier_texts`, off the custody updates

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 22:40:00

A check-out or check-in changes a carrier's status, holder and place — indexed columns, so PostgreSQL writes a new
entry into every index of `carriers`, the search's pg_trgm GIN index of migration 0020 included: its trigrams of the
unchanged title, code and document number were extracted and queued again on every custody change, 38 µs of the
update's 134 µs of server time and 830 of its 1,690 bytes of WAL (pg_stat_statements, issue 22). The texts now have a
copy in `carrier_texts` (id, code, title, document number), written by migration 0021's SECURITY DEFINER trigger,
which fires only when a code, title or document number is written, and the trigram indexes live there; `queries.find`
reads their matches from it. A table of its own and not a column of `carrier_grams`: each candidate the index returns
is rechecked on its row, and a row of `carrier_grams` carries the grams array (782 MB at a million carriers against
`carriers`' 163 MB: code texts 17–22 ms against 13–15 ms there). The copy is written in the same transaction as the
carrier's own change, so a search inside that transaction sees it (tests/integration/test_search.py).

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

# 0021's trigger function, now also writing the texts' copy (downgrade: as 0021 wrote it)
_TRIGGER = """
CREATE OR REPLACE FUNCTION tracker_carrier_grams() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM carrier_grams WHERE id = OLD.id;{texts_gone}
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.id <> OLD.id THEN
        DELETE FROM carrier_grams WHERE id = OLD.id;{texts_gone}
    END IF;
    INSERT INTO carrier_grams (id, grams)
    VALUES (NEW.id, tracker_grams(NEW.code, NEW.title, coalesce(NEW.doc_number, '')))
    ON CONFLICT (id) DO UPDATE SET grams = EXCLUDED.grams;{texts}
    RETURN NEW;
END $$"""
TRIGGER_FUNCTION = _TRIGGER.format(texts_gone="\n        DELETE FROM carrier_texts WHERE id = OLD.id;", texts="""
    INSERT INTO carrier_texts (id, code, title, doc_number) VALUES (NEW.id, NEW.code, NEW.title, NEW.doc_number)
    ON CONFLICT (id) DO UPDATE SET code = EXCLUDED.code, title = EXCLUDED.title, doc_number = EXCLUDED.doc_number;""")
OLD_TRIGGER_FUNCTION = _TRIGGER.format(texts_gone="", texts="")
# as 0021 grants `carrier_grams`: the roles that could read `carriers` read (and, through it, write) the copy
GRANT_LIKE_CARRIERS = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT DISTINCT grantee FROM information_schema.role_table_grants
             WHERE table_schema = current_schema() AND table_name = 'carriers' AND privilege_type = 'SELECT'
               AND grantee <> current_user LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON carrier_texts TO %I', r.grantee);
    END LOOP;
END $$"""


def _has_index(name: str) -> bool:
    return op.get_bind().execute(sa.text("SELECT 1 FROM pg_indexes WHERE indexname = :n"), {"n": name}).first() \
        is not None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite searches its FTS5 tables (0011, 0019), which a custody update does not touch
    op.execute("CREATE TABLE carrier_texts (id INTEGER PRIMARY KEY, code TEXT, title TEXT, doc_number TEXT)")
    op.execute("INSERT INTO carrier_texts (id, code, title, doc_number) SELECT id, code, title, doc_number "
               "FROM carriers")
    op.execute(TRIGGER_FUNCTION)
    op.execute(GRANT_LIKE_CARRIERS)
    for old, new, columns in (BUCKETED, *PER_COLUMN):
        if _has_index(old):
            op.execute(f"CREATE INDEX {new} ON carrier_texts USING gin {columns} "
                       f"WITH (gin_pending_list_limit = {PENDING_KB})")
            op.execute(f"DROP INDEX {old}")
    op.execute("ANALYZE carrier_texts")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for old, new, columns in (BUCKETED, *PER_COLUMN):
        if _has_index(new):
            op.execute(f"CREATE INDEX {old} ON carriers USING gin {columns}"
                       + (f" WITH (gin_pending_list_limit = {PENDING_KB})" if old == BUCKETED[0] else ""))
            op.execute(f"DROP INDEX {new}")
    op.execute(OLD_TRIGGER_FUNCTION)
    op.execute("DROP TABLE carrier_texts")
