"""Migration 0007 (rule promotions): existing rows become standard promotions and store-unique codes;
the new unique index keeps standard codes unique per store and lets hand-added rule codes repeat across
promotions; 0006's data_version triggers still fire; the downgrade removes what only rule promotions could
hold and restores the old index."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from promojobs.store.database import Database
from promojobs.store.migrate import alembic_config, upgrade

_PROMOTION = (
    "INSERT INTO promotions (id, uuid, store_id, name, enabled, automatic, promotion_type, created_at, "
    "updated_at) VALUES (:id, :uuid, 1, 'p', true, false, 'fixed_discount', 1, 1)"
)
_CODE = (
    "INSERT INTO codes (store_id, promotion_id, code, consume_unit, created_at) "
    "VALUES (1, :promotion, :code, 'per_cart', 1)"
)


def _downgrade(database: Database, revision: str) -> None:
    config = alembic_config(database.url)
    with database.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def test_migration_0007__up_with_existing_rows_and_down_again(database_url: str) -> None:
    database = Database(database_url)
    try:
        _downgrade(database, "0006")
        with database.engine.begin() as conn:
            conn.execute(text("INSERT INTO stores (id, uuid, name, created_at) VALUES (1, 's', 's', 1)"))
            conn.execute(text(_PROMOTION), {"id": 1, "uuid": "standard"})
            conn.execute(text(_CODE), {"promotion": 1, "code": "KEEP"})
        with database.engine.begin() as conn:
            version = conn.execute(text("SELECT data_version FROM stores WHERE id = 1")).scalar_one()
        upgrade(database)
        with database.engine.begin() as conn:
            assert conn.execute(text("SELECT kind, priority FROM promotions")).one() == ("standard", None)
            assert conn.execute(text("SELECT scope FROM codes")).scalar_one() == 0
            rule = text(_PROMOTION.replace("'fixed_discount'", "'rule_promotion'"))
            conn.execute(rule, {"id": 2, "uuid": "r1"})
            conn.execute(rule, {"id": 3, "uuid": "r2"})
            conn.execute(text("UPDATE promotions SET kind = 'rule' WHERE id IN (2, 3)"))
            hand_added = _CODE.replace("consume_unit, created_at", "consume_unit, created_at, scope").replace(
                "'per_cart', 1)", "'per_checkout', 1, :promotion)"
            )
            for promotion in (2, 3):  # the same name in two rule promotions, and beside the standard code
                conn.execute(text(hand_added), {"promotion": promotion, "code": "keep"})
        with database.engine.begin() as conn:  # the rule rows above moved the store's data version
            assert conn.execute(text("SELECT data_version FROM stores WHERE id = 1")).scalar_one() > version
        with pytest.raises(IntegrityError), database.engine.begin() as conn:
            conn.execute(text(_CODE), {"promotion": 1, "code": "keep"})  # standard: unique in the store
        with pytest.raises(IntegrityError), database.engine.begin() as conn:
            conn.execute(text(hand_added), {"promotion": 2, "code": "KEEP"})  # rule: unique in the promotion
        _downgrade(database, "0006")
        with database.engine.begin() as conn:
            assert conn.execute(text("SELECT uuid FROM promotions")).scalars().all() == ["standard"]
            assert conn.execute(text("SELECT code FROM codes")).scalars().all() == ["KEEP"]
        with pytest.raises(IntegrityError), database.engine.begin() as conn:
            conn.execute(text(_CODE), {"promotion": 1, "code": "keep"})  # the old index is back
        upgrade(database)
    finally:
        database.dispose()
