"""Alembic migrations build exactly the schema the models describe, on both databases, and can be rolled back."""

from __future__ import annotations

import importlib
import importlib.util

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from tracker.schema import Base, modelled
from tracker.store import Store, alembic_config

if importlib.util.find_spec("tracker.schema_stocktake") is not None:
    importlib.import_module("tracker.schema_stocktake")


def test_models_and_migrations_agree(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": modelled})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_downgrade_to_base_and_back(store: Store) -> None:
    cfg = alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(inspect(store.engine).get_table_names()) <= {"alembic_version"}
    store.ensure_schema()
    assert "events" in inspect(store.engine).get_table_names()
    with store.uow(readonly=True) as uow:
        assert uow.ledger.head()[0] == 1  # the packaged policy, seeded as version 1 (one ledger event)
