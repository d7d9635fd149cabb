"""ix_codes_rule_promotion_code: a rule promotion's codes in code order, so its list seeks by code

``GET /v2/rule-promotions/:id/codes?sort=code|-code`` (and its ``eq``/``gt`` code filters) pages in
``upper(code)`` order within one promotion, and past ``page[offset]`` 10,000 seeks from the last code seen.
No index had that order: ``ix_codes_promotion`` is ``(promotion_id, id)`` (creation order, which the
default order seeks on), and ``ux_codes_store_code_scope`` is ``(store_id, upper(code), scope)``, in code
order across the whole store, so a seek within one promotion would read every other promotion's codes
in between, and a page by offset sorted all the promotion's codes.

Partial on the rule consume units (``per_application``, ``per_checkout``; standard codes are
``per_cart``/``per_item``): generating or adding standard codes costs nothing more, only rule codes
maintain it.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_RULE_CODE = "consume_unit IN ('per_application', 'per_checkout')"


def upgrade() -> None:
    op.create_index(
        "ix_codes_rule_promotion_code",
        "codes",
        ["promotion_id", sa.text("upper(code)")],
        sqlite_where=sa.text(_RULE_CODE),
        postgresql_where=sa.text(_RULE_CODE),
    )


def downgrade() -> None:
    op.drop_index("ix_codes_rule_promotion_code", table_name="codes")
