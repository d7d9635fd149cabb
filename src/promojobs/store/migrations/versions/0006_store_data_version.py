"""stores.data_version, moved in the transaction of every change to a store's promotions, codes or jobs;
api_processes, the registry of live API processes; the NOTIFY triggers of 0004 go

An API process reuses a kept read answer only while its store's ``data_version`` is the one it was made
under, read from the database in the request's own round trip (promojobs.store.changes). Every change of
codes also moves the promotion's ``code_count``, so triggers on promotions and jobs cover the three
tables. On PostgreSQL they are deferred constraint triggers: the store row is updated at commit, so
writers of one store hold its lock only for the instant of their commit. SQLite has one writer at a time
and plain row triggers.

Each API process records itself in ``api_processes`` every few seconds; the per-store rate limit is
shared among the live ones (promojobs.services.throttle).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("promotions", "jobs")
_PG_FUNCTION = """
CREATE FUNCTION promojobs_bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE stores SET data_version = data_version + 1 WHERE id = OLD.store_id;
    ELSE
        UPDATE stores SET data_version = data_version + 1 WHERE id = NEW.store_id;
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("data_version", sa.BigInteger(), server_default=sa.text("0"), nullable=False)
        )
    op.create_table(
        "api_processes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("seen_at", sa.BigInteger(), nullable=False),
    )
    if op.get_context().dialect.name == "postgresql":
        _upgrade_postgres()
    else:
        _upgrade_sqlite()


def _upgrade_postgres() -> None:
    for table in ("promotions", "codes", "jobs"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_notify_change ON {table}")
    op.execute("DROP FUNCTION IF EXISTS promojobs_notify_change()")
    op.execute(_PG_FUNCTION)
    for table in TABLES:
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {table}_data_version AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION promojobs_bump_data_version()"
        )


def _upgrade_sqlite() -> None:
    for table in TABLES:
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            op.execute(
                f"CREATE TRIGGER {table}_data_version_{event.lower()} AFTER {event} ON {table} BEGIN "
                f"UPDATE stores SET data_version = data_version + 1 WHERE id = {row}.store_id; END"
            )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER {table}_data_version ON {table}")
        op.execute("DROP FUNCTION promojobs_bump_data_version()")
        op.execute(
            "CREATE FUNCTION promojobs_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN PERFORM pg_notify('promojobs_changes', ''); RETURN NULL; END $$"
        )
        for table in ("promotions", "codes", "jobs"):
            op.execute(
                f"CREATE TRIGGER {table}_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "
                f"{table} FOR EACH STATEMENT EXECUTE FUNCTION promojobs_notify_change()"
            )
    else:
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_data_version_{event}")
    op.drop_table("api_processes")
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.drop_column("data_version")
