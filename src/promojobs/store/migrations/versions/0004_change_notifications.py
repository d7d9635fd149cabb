"""PostgreSQL: NOTIFY promojobs_changes after every statement that changes promotions, codes or jobs

API processes keep recent read answers in memory and LISTEN on this channel to know when they may have
gone stale (promojobs.store.changes). Statement triggers, not row triggers: one notification per
statement (and PostgreSQL folds the identical ones of a transaction into one), so a 50,000-code COPY
costs one. SQLite needs nothing: PRAGMA data_version gives the same signal.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = ("promotions", "codes", "jobs")


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION promojobs_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('promojobs_changes', '');
            RETURN NULL;
        END
        $$
        """
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION promojobs_notify_change()"
        )


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_notify_change ON {table}")
    op.execute("DROP FUNCTION promojobs_notify_change()")
