"""register: an index for searches of one or two characters (unigrams and bigrams of code, title, document number)

Revision ID: 0019
Revises: 0011
Create Date: 2026-12-06 16:40:00

Trigrams (migration 0011) cannot serve a text of one or two characters. `queries.find` used to read the first
carriers for one, and then, on SQLite, every trigram starting with it out of the index's vocabulary (up to 500 terms
OR-ed together), on PostgreSQL the whole table: p99 19-25 ms on SQLite and a table scan on PostgreSQL at a million
carriers. Now every carrier's characters and pairs of adjacent characters are indexed, so a short text is one index
look-up whose first rows, in carrier order, are the answer:

- SQLite: `carrier_grams`, a contentless FTS5 table with `detail=none` (carrier ids only, no positions) whose tokens
  are the unigrams and bigrams of the code, title and document number, each column on its own (no pair spans two
  columns), separated by the unit separator, the one character the tokenizer is told is not part of a token (the
  register refuses control characters in text, and `find` drops them from a query). FTS5 folds case exactly as the
  trigram tables do. Triggers on `carriers` keep it in step in the writing transaction, whoever writes; a trigger
  cannot use a recursive query, so the positions 1…N come from the `search_positions` table (N = 2,000: four times
  the longest of the three texts the domain allows, a 500-character title).
- PostgreSQL: a GIN index on `tracker_grams(code, title, doc_number)`, an immutable function giving the distinct
  unigrams and bigrams of the lower-cased values (ILIKE on a UTF-8 database compares lower-cased text): the database
  keeps an expression index in step itself.

A later migration that rebuilds `carriers` on SQLite (batch mode) must create the triggers again (`SQLITE` below) and
refill `carrier_grams`, as for 0011's.
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0019'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSITIONS = 2_000
# Every character is part of a token except the control characters (Cc): the unit separator char(31) splits tokens.
TOKENIZER = "unicode61 remove_diacritics 0 categories 'L* M* N* P* S* Z* Co Cs Cn Cf'"


def grams(row: str) -> str:
    """The tokens of one carrier (`row` is new or old): each character and each pair of adjacent characters of each
    column (at the last character the pair is the character again). The FTS5 'delete' command must be given exactly
    the text indexed: every statement below builds it with this expression."""
    return ("(SELECT group_concat(substr(v, n, 1) || char(31) || substr(v, n, 2), char(31)) FROM "  # noqa: S608
            f"(SELECT {row}.code AS v UNION ALL SELECT {row}.title UNION ALL SELECT coalesce({row}.doc_number, '')) "
            "CROSS JOIN search_positions WHERE n <= length(v))")  # CROSS JOIN: the values outside, each a range of n


# Constant SQL throughout (column names and the expression above): nothing here comes from outside.
SQLITE = [
    f"CREATE VIRTUAL TABLE carrier_grams USING fts5(grams, content='', detail=none, tokenize=\"{TOKENIZER}\")",
    "CREATE TRIGGER carrier_grams_insert AFTER INSERT ON carriers BEGIN "  # noqa: S608
    f"INSERT INTO carrier_grams(rowid, grams) VALUES (new.id, {grams('new')}); END",
    "CREATE TRIGGER carrier_grams_delete AFTER DELETE ON carriers BEGIN "  # noqa: S608
    f"INSERT INTO carrier_grams(carrier_grams, rowid, grams) VALUES ('delete', old.id, {grams('old')}); END",
    "CREATE TRIGGER carrier_grams_update AFTER UPDATE OF id, code, doc_number, title ON carriers BEGIN "  # noqa: S608
    f"INSERT INTO carrier_grams(carrier_grams, rowid, grams) VALUES ('delete', old.id, {grams('old')}); "
    f"INSERT INTO carrier_grams(rowid, grams) VALUES (new.id, {grams('new')}); END",
    f"INSERT INTO carrier_grams(rowid, grams) SELECT c.id, {grams('c')} FROM carriers AS c",  # noqa: S608
]
PG_FUNCTION = """
CREATE FUNCTION tracker_grams(code text, title text, doc_number text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT substr(v, n, k)), '{}')
    FROM unnest(ARRAY[lower(code), lower(title), lower(doc_number)]) AS v,
         generate_series(1, length(v)) AS n, (VALUES (1), (2)) AS w(k)
    WHERE n + k - 1 <= length(v)
$$"""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("CREATE TABLE search_positions (n INTEGER PRIMARY KEY)")
        op.execute(f"WITH RECURSIVE p(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM p WHERE n < {POSITIONS}) "  # noqa: S608
                   "INSERT INTO search_positions (n) SELECT n FROM p")
        for statement in SQLITE:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute("CREATE INDEX ix_carriers_grams ON carriers USING gin "
                   "(tracker_grams(code, title, coalesce(doc_number, '')))")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("carrier_grams_insert", "carrier_grams_delete", "carrier_grams_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS carrier_grams")
        op.execute("DROP TABLE IF EXISTS search_positions")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_carriers_grams")
        op.execute("DROP FUNCTION IF EXISTS tracker_grams(text, text, text)")
