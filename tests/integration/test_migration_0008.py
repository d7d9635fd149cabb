"""Migration 0008: the partial index of rule codes in code order, on both backends, and its downgrade."""

from __future__ import annotations

from sqlalchemy import text

from promojobs.store.database import Database
from promojobs.store.migrate import upgrade
from tests.integration.test_migration_0007 import _downgrade

INDEX = "ix_codes_rule_promotion_code"


def _index(database: Database) -> str | None:
    """The index's definition as the database keeps it, or None."""
    query = (
        "SELECT indexdef FROM pg_indexes WHERE indexname = :name"
        if database.engine.dialect.name == "postgresql"
        else "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name"
    )
    with database.engine.connect() as conn:
        found = conn.execute(text(query), {"name": INDEX}).scalar()
    return None if found is None else str(found)


def test_migration_0008__adds_the_partial_code_order_index_and_removes_it_on_downgrade(
    database_url: str,
) -> None:
    database = Database(database_url)
    try:
        index = _index(database)
        assert index is not None and "UNIQUE" not in index.upper(), index
        assert "upper(" in index.lower() and "promotion_id" in index, index
        assert "WHERE" in index and "per_application" in index and "per_checkout" in index, index
        _downgrade(database, "0007")
        assert _index(database) is None
        upgrade(database)
        assert _index(database) is not None
    finally:
        database.engine.dispose()
