"""register: an index made for substring search (FTS5 trigram on SQLite, pg_trgm GIN on PostgreSQL)

Revision ID: 0011
Revises: 0013
Create Date: 2026-12-06 14:30:00

`queries.find` (the `carrier find` command and the counter's F9 search) looked for its text anywhere in seven columns
with `LIKE '%…%'`, reading the whole register per keystroke (p99 66 ms at 100,000 carriers). On SQLite the carriers'
code and title are now also kept in `carrier_search`, their document number in `carrier_search_doc`, contentless FTS5
tables with the trigram tokenizer, by triggers on `carriers`: whatever writes a carrier (services, bulk import, replay, a SQL client) updates
the index in the same transaction. On PostgreSQL the same three columns get pg_trgm GIN indexes (`ILIKE '%…%'` uses
them), and code and document number B-tree indexes in the "C" collation (their prefixes); where the server lacks
the pg_trgm extension the search still works, by reading the table. People and places are few and are searched
directly. Texts of one or two characters have no trigram of their own: on SQLite `find` reads the first carriers
while the text is common there, and looks a rarer one up through the index's vocabulary (`carrier_search_terms`,
`carrier_search_doc_terms`: every trigram starting with the text).

A later migration that rebuilds `carriers` on SQLite (Alembic's batch mode: copy, drop, rename) drops its triggers
with the old table: it must create them again (`SQLITE` below) and refill the two tables.
"""

import sqlite3
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every value is indexed with two unit separators after it, so that each character of a text, its last two too,
# begins a trigram: a one- or two-character search finds its trigrams by prefix in the vocabulary. The FTS5 'delete'
# command must be given exactly the values indexed: every statement here indexes the same expressions. Document
# numbers have their own table: a search ranks them first, and a column filter on a shared table would read every
# title's entries for the text's trigrams to find none in a document number.
SQLITE = [
    "CREATE VIRTUAL TABLE carrier_search USING fts5(code, title, content='', tokenize='trigram')",
    "CREATE VIRTUAL TABLE carrier_search_doc USING fts5(doc_number, content='', tokenize='trigram')",
    "CREATE VIRTUAL TABLE carrier_search_terms USING fts5vocab(carrier_search, 'row')",
    "CREATE VIRTUAL TABLE carrier_search_doc_terms USING fts5vocab(carrier_search_doc, 'row')",
    "CREATE TRIGGER carrier_search_insert AFTER INSERT ON carriers BEGIN "
    "INSERT INTO carrier_search(rowid, code, title) VALUES (new.id, new.code || char(31, 31), "
    "new.title || char(31, 31)); "
    "INSERT INTO carrier_search_doc(rowid, doc_number) VALUES (new.id, "
    "coalesce(new.doc_number, '') || char(31, 31)); END",
    "CREATE TRIGGER carrier_search_delete AFTER DELETE ON carriers BEGIN "
    "INSERT INTO carrier_search(carrier_search, rowid, code, title) VALUES ('delete', old.id, "
    "old.code || char(31, 31), old.title || char(31, 31)); "
    "INSERT INTO carrier_search_doc(carrier_search_doc, rowid, doc_number) VALUES ('delete', old.id, "
    "coalesce(old.doc_number, '') || char(31, 31)); END",
    "CREATE TRIGGER carrier_search_update AFTER UPDATE OF id, code, doc_number, title ON carriers BEGIN "
    "INSERT INTO carrier_search(carrier_search, rowid, code, title) VALUES ('delete', old.id, "
    "old.code || char(31, 31), old.title || char(31, 31)); "
    "INSERT INTO carrier_search_doc(carrier_search_doc, rowid, doc_number) VALUES ('delete', old.id, "
    "coalesce(old.doc_number, '') || char(31, 31)); "
    "INSERT INTO carrier_search(rowid, code, title) VALUES (new.id, new.code || char(31, 31), "
    "new.title || char(31, 31)); "
    "INSERT INTO carrier_search_doc(rowid, doc_number) VALUES (new.id, "
    "coalesce(new.doc_number, '') || char(31, 31)); END",
    "INSERT INTO carrier_search(rowid, code, title) SELECT id, code || char(31, 31), title || char(31, 31) "
    "FROM carriers",
    "INSERT INTO carrier_search_doc(rowid, doc_number) SELECT id, coalesce(doc_number, '') || char(31, 31) "
    "FROM carriers",
]
PG_INDEXES = {"ix_carriers_code_trgm": "code", "ix_carriers_doc_number_trgm": "doc_number",
              "ix_carriers_title_trgm": "title"}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        if sqlite3.sqlite_version_info < (3, 34):
            raise RuntimeError(f"SQLite {sqlite3.sqlite_version} has no FTS5 trigram tokenizer: 3.34 or later is needed "
                               f"(SQLite {sqlite3.sqlite_version} 缺少 FTS5 trigram 分词器，需要 3.34 或更高版本).")
        for statement in SQLITE:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        # code and document-number prefixes are B-tree ranges in byte order, whatever the database's collation
        op.execute('CREATE INDEX ix_carriers_code_c ON carriers ((code COLLATE "C"))')
        op.execute('CREATE INDEX ix_carriers_doc_number_c ON carriers ((doc_number COLLATE "C"))')
        available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first()
        if available is None:
            return  # the search reads the table instead (slower on a big register: install postgresql-contrib)
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, column in PG_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON carriers USING gin ({column} gin_trgm_ops)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("carrier_search_insert", "carrier_search_delete", "carrier_search_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        for table in ("carrier_search_terms", "carrier_search_doc_terms", "carrier_search", "carrier_search_doc"):
            op.execute(f"DROP TABLE IF EXISTS {table}")
    elif bind.dialect.name == "postgresql":
        for name in (*PG_INDEXES, "ix_carriers_code_c", "ix_carriers_doc_number_c"):
            op.execute(f"DROP INDEX IF EXISTS {name}")
