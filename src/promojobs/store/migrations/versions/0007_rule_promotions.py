"""Rule promotions in the promotions table; codes unique per store or per rule promotion (one index)

One data model for both kinds, so they share the job engine, the export path and the keyspace check:
- ``promotions.kind`` is ``standard`` or ``rule``; a rule promotion's own fields are ``priority``,
  ``stackable``, ``override_stacking`` and ``rule_set_json`` (NULL on standard promotions).
- ``codes.scope`` is 0 for every code that must be unique in its store (standard codes, and codes any
  job generates), and the promotion's id for a code added by hand to a rule promotion (unique only
  within that promotion). The unique index becomes ``(store_id, upper(code), scope)``: the same single
  index as before on the generation path, and still a prefix lookup by ``(store_id, upper(code))``.
- ``ix_codes_hand_added`` (partial: ``scope <> 0``) lists the hand-added rule codes of a store.
- ``codes.rule_json`` keeps a rule code's ``max_uses_per_shopper`` and ``is_for_new_shopper``.
- A rule promotion's ``priority`` is unique per store when set (a partial unique index).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_PRIORITY_SET = "priority IS NOT NULL"
_HAND_ADDED = "scope <> 0"


def upgrade() -> None:
    # Plain ADD COLUMN, never a table rebuild: 0006's data_version triggers on promotions stay as they are
    # (tests/integration/test_migration_0007.py checks they still fire).
    # Plain ADD COLUMN on both databases (a constant default is instant on PostgreSQL 11+ and SQLite).
    op.add_column(
        "promotions", sa.Column("kind", sa.String(8), nullable=False, server_default=sa.text("'standard'"))
    )
    op.add_column("promotions", sa.Column("priority", sa.BigInteger(), nullable=True))
    op.add_column("promotions", sa.Column("stackable", sa.Boolean(), nullable=True))
    op.add_column("promotions", sa.Column("override_stacking", sa.Boolean(), nullable=True))
    op.add_column("promotions", sa.Column("rule_set_json", sa.Text(), nullable=True))
    op.create_index(
        "ux_promotions_store_priority",
        "promotions",
        ["store_id", "priority"],
        unique=True,
        sqlite_where=sa.text(_PRIORITY_SET),
        postgresql_where=sa.text(_PRIORITY_SET),
    )
    op.add_column("codes", sa.Column("scope", sa.BigInteger(), nullable=False, server_default=sa.text("0")))
    op.add_column("codes", sa.Column("rule_json", sa.Text(), nullable=True))
    op.create_index(
        "ux_codes_store_code_scope", "codes", ["store_id", sa.text("upper(code)"), "scope"], unique=True
    )
    op.drop_index("ux_codes_store_code", table_name="codes")
    # Only hand-added rule codes are in it (a generated row costs it nothing): generation reads it so a
    # generated code never equals one of them either.
    op.create_index(
        "ix_codes_hand_added",
        "codes",
        ["store_id"],
        sqlite_where=sa.text(_HAND_ADDED),
        postgresql_where=sa.text(_HAND_ADDED),
    )


def downgrade() -> None:
    # Codes added by hand to rule promotions would break the store-wide index: they go with their kind.
    op.drop_index("ix_codes_hand_added", table_name="codes")
    op.execute("DELETE FROM codes WHERE scope <> 0")
    op.execute(
        "DELETE FROM job_tasks WHERE job_id IN (SELECT j.id FROM jobs j JOIN promotions p "
        "ON p.id = j.promotion_id WHERE p.kind = 'rule')"
    )
    op.execute("DELETE FROM jobs WHERE promotion_id IN (SELECT id FROM promotions WHERE kind = 'rule')")
    op.execute("DELETE FROM codes WHERE promotion_id IN (SELECT id FROM promotions WHERE kind = 'rule')")
    op.execute("DELETE FROM promotions WHERE kind = 'rule'")
    if op.get_context().dialect.name == "postgresql":
        # 0006's data_version triggers are deferred to commit; PostgreSQL alters no table with trigger
        # events pending, so fire them now.
        op.execute("SET CONSTRAINTS ALL IMMEDIATE")
    op.create_index("ux_codes_store_code", "codes", ["store_id", sa.text("upper(code)")], unique=True)
    op.drop_index("ux_codes_store_code_scope", table_name="codes")
    op.drop_index("ux_promotions_store_priority", table_name="promotions")
    for column in ("rule_json", "scope"):
        op.drop_column("codes", column)
    for column in ("rule_set_json", "override_stacking", "stackable", "priority", "kind"):
        op.drop_column("promotions", column)
