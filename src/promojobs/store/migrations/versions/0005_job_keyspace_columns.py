"""jobs.keyspace_prefix, code_length, number_of_codes: the keyspace check as one indexed query

Submitting a code_generate job read the parameters JSON of every live generate job of the store and
summed in Python. The three values the check needs are now columns (NULL for export jobs), filled from
the job's typed spec on insert and backfilled here from the stored parameters.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

DEFAULT_CODE_LENGTH = 8  # the default when the job was submitted (the echo always carries code_length)


def upgrade() -> None:
    # Plain ADD COLUMN (nullable) on both databases: no table rebuild, the partial index stays as it is.
    op.add_column("jobs", sa.Column("keyspace_prefix", sa.String(64), nullable=True))
    op.add_column("jobs", sa.Column("code_length", sa.Integer(), nullable=True))
    op.add_column("jobs", sa.Column("number_of_codes", sa.BigInteger(), nullable=True))
    _backfill()
    op.create_index("ix_jobs_keyspace", "jobs", ["store_id", "keyspace_prefix", "code_length"])


def _backfill() -> None:
    # In Python, not in SQL: the JSON functions differ between SQLite and PostgreSQL, and jobs are few
    # (one row per job, however many codes it has).
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT id, parameters_json FROM jobs "
            "WHERE job_type = 'code_generate' AND parameters_json IS NOT NULL"
        )
    ).all()
    update = sa.text(
        "UPDATE jobs SET keyspace_prefix = :prefix, code_length = :length, number_of_codes = :number "
        "WHERE id = :id"
    )
    for job_id, parameters_json in rows:
        parameters = json.loads(parameters_json)
        conn.execute(
            update,
            {
                "id": job_id,
                "prefix": str(parameters.get("code_prefix", "")).upper(),
                "length": int(parameters.get("code_length", DEFAULT_CODE_LENGTH)),
                "number": int(parameters["number_of_codes"]),
            },
        )


def downgrade() -> None:
    op.drop_index("ix_jobs_keyspace", table_name="jobs")
    # In place (SQLite 3.35+): a batch rebuild of the table would have to recreate its partial index.
    for column in ("number_of_codes", "code_length", "keyspace_prefix"):
        op.drop_column("jobs", column)
