"""Migration 0005 copies what the keyspace check needs from each job's parameters JSON into columns."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import text

from promojobs.store.database import Database
from promojobs.store.jobs import live_codes_with_format
from promojobs.store.migrate import alembic_config, upgrade

_PROMOTION = (
    "INSERT INTO promotions (id, uuid, store_id, name, enabled, automatic, promotion_type, created_at, "
    "updated_at) VALUES (:id, :uuid, 1, 'p', true, false, 'fixed_discount', 1, 1)"
)
# One promotion per job: a promotion has at most one active job.
_JOB = (
    "INSERT INTO jobs (uuid, store_id, promotion_id, job_type, parameters_json, status, generated, "
    "created_at, updated_at) "
    "VALUES (:uuid, 1, :promotion, :job_type, :parameters, :status, :generated, 1, 1)"
)
GENERATE_JOBS = [  # uuid, parameters, status, generated
    ("a", {"number_of_codes": 7, "code_length": 8, "code_prefix": "Sum-"}, "pending", 0),
    ("b", {"number_of_codes": 9, "code_length": 8, "code_prefix": "SUM-"}, "completed", 5),
    ("c", {"number_of_codes": 4, "code_length": 8}, "failed", 2),
    ("d", {"number_of_codes": 3, "code_length": 10}, "processing", 1),
]


def _downgrade_to_0004(database: Database) -> None:
    config = alembic_config(database.url)
    with database.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0004")


def test_migration_0005__backfills_the_keyspace_columns_from_the_parameters(database_url: str) -> None:
    database = Database(database_url)
    try:
        _downgrade_to_0004(database)
        with database.engine.begin() as conn:
            conn.execute(text("INSERT INTO stores (id, uuid, name, created_at) VALUES (1, 's', 's', 1)"))
            export: list[tuple[str, dict[str, object] | None, str, int]] = [("e", None, "completed", 0)]
            for index, (uuid, parameters, status, generated) in enumerate([*GENERATE_JOBS, *export]):
                conn.execute(text(_PROMOTION), {"id": index + 1, "uuid": uuid})
                values = {"uuid": uuid, "promotion": index + 1, "status": status, "generated": generated}
                job_type = "code_export" if parameters is None else "code_generate"
                encoded = None if parameters is None else json.dumps(parameters)
                conn.execute(text(_JOB), {**values, "job_type": job_type, "parameters": encoded})
        upgrade(database)
        with database.engine.begin() as conn:
            rows = conn.execute(
                text("SELECT uuid, keyspace_prefix, code_length, number_of_codes FROM jobs ORDER BY uuid")
            ).all()
            assert [tuple(row) for row in rows] == [
                ("a", "SUM-", 8, 7),
                ("b", "SUM-", 8, 9),
                ("c", "", 8, 4),
                ("d", "", 10, 3),
                ("e", None, None, None),
            ]
            # Pending counts what it will generate, completed what it did; failed jobs hold nothing.
            assert live_codes_with_format(conn, 1, "SUM-", 8) == 7 + 5
            assert live_codes_with_format(conn, 1, "", 8) == 0
            assert live_codes_with_format(conn, 1, "", 10) == 3
    finally:
        database.dispose()
