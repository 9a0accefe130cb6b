"""Alembic environment: runs on the connection the Store hands over (never reads alembic.ini or a URL itself)."""

from alembic import context

import tracker.schema_stocktake  # noqa: F401  (registers the stock-take tables on Base.metadata)
from tracker.schema import Base, modelled

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through tracker.store.Store.upgrade() or `tracker db upgrade`")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=modelled,
)
with context.begin_transaction():
    context.run_migrations()
