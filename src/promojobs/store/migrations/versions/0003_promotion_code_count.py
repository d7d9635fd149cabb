"""promotions.code_count: the number of codes, kept in step with every insert and delete

Counting a promotion's codes on every page of GET …/codes walked millions of index entries; the count is
now kept on the promotion, in the same transactions that add and remove codes.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("promotions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("code_count", sa.BigInteger(), server_default=sa.text("0"), nullable=False)
        )
    op.execute(
        "UPDATE promotions SET code_count = "
        "(SELECT count(*) FROM codes WHERE codes.promotion_id = promotions.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("promotions", schema=None) as batch_op:
        batch_op.drop_column("code_count")
