"""register (PostgreSQL): the unigrams and bigrams of a carrier in a table of their own, kept by triggers

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 20:05:00

Migration 0019 indexed `tracker_grams(code, title, doc_number)` with an expression GIN index on `carriers`. PostgreSQL
computes every index's entry for every new row version, and a check-out or check-in changes a carrier's status,
holder and place (indexed columns: never a HOT update), so each one ran the function again: measured 290 µs of server
CPU per custody update of 760 (with the index) against 470 (without), a third of the server's share of every counter
operation. Now the grams live in `carrier_grams` (the name SQLite's FTS5 table has), written by triggers only when a
code, title or document number is written, and searched through its own GIN index; a custody update does not touch
it. The function is rewritten in PL/pgSQL (the same set of grams, duplicates left to GIN, which keeps each key once):
58 µs a carrier against 128 µs for the set-based SQL, for the imports that still run it.

The triggers' function is SECURITY DEFINER, owned like the tables by the role that migrates: the application role
(`tracker db grant`) writes carriers and the triggers keep the grams whatever its grants on `carrier_grams`; the roles
that could read `carriers` are given the same rights on it, so the search keeps working on a register upgraded in
place before its grants are made again.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GRAMS_FUNCTION = """
CREATE OR REPLACE FUNCTION tracker_grams(code text, title text, doc_number text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE v text; n int; len int; out text[] := '{}';
BEGIN
    FOREACH v IN ARRAY ARRAY[lower(code), lower(title), lower(doc_number)] LOOP
        len := length(v);
        FOR n IN 1..len LOOP
            out := out || substr(v, n, 1);
            IF n < len THEN
                out := out || substr(v, n, 2);
            END IF;
        END LOOP;
    END LOOP;
    RETURN out;
END $$"""

TRIGGER_FUNCTION = """
CREATE FUNCTION tracker_carrier_grams() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM carrier_grams WHERE id = OLD.id;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.id <> OLD.id THEN
        DELETE FROM carrier_grams WHERE id = OLD.id;
    END IF;
    INSERT INTO carrier_grams (id, grams)
    VALUES (NEW.id, tracker_grams(NEW.code, NEW.title, coalesce(NEW.doc_number, '')))
    ON CONFLICT (id) DO UPDATE SET grams = EXCLUDED.grams;
    RETURN NEW;
END $$"""

GRANT_LIKE_CARRIERS = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT DISTINCT grantee FROM information_schema.role_table_grants
             WHERE table_schema = current_schema() AND table_name = 'carriers' AND privilege_type = 'SELECT'
               AND grantee <> current_user LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON carrier_grams TO %I', r.grantee);
    END LOOP;
END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite's grams were a table of their own from the start (0019)
    op.execute(GRAMS_FUNCTION)
    op.execute("CREATE TABLE carrier_grams (id INTEGER PRIMARY KEY, grams TEXT[] NOT NULL)")
    op.execute("INSERT INTO carrier_grams (id, grams) "
               "SELECT id, tracker_grams(code, title, coalesce(doc_number, '')) FROM carriers")
    # a short pending list, as 0020 gives the search's other GIN indexes: every search reads the whole list
    op.execute("CREATE INDEX ix_carrier_grams ON carrier_grams USING gin (grams) WITH (gin_pending_list_limit = 256)")
    op.execute("ANALYZE carrier_grams")
    op.execute(TRIGGER_FUNCTION)
    op.execute("CREATE TRIGGER carrier_grams_insert AFTER INSERT ON carriers FOR EACH ROW "
               "EXECUTE FUNCTION tracker_carrier_grams()")
    op.execute("CREATE TRIGGER carrier_grams_update AFTER UPDATE OF id, code, title, doc_number ON carriers "
               "FOR EACH ROW EXECUTE FUNCTION tracker_carrier_grams()")
    op.execute("CREATE TRIGGER carrier_grams_delete AFTER DELETE ON carriers FOR EACH ROW "
               "EXECUTE FUNCTION tracker_carrier_grams()")
    op.execute(GRANT_LIKE_CARRIERS)
    op.execute("DROP INDEX IF EXISTS ix_carriers_grams")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE INDEX ix_carriers_grams ON carriers USING gin "
               "(tracker_grams(code, title, coalesce(doc_number, '')))")
    for trigger in ("carrier_grams_insert", "carrier_grams_update", "carrier_grams_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON carriers")
    op.execute("DROP FUNCTION IF EXISTS tracker_carrier_grams()")
    op.execute("DROP TABLE IF EXISTS carrier_grams")
