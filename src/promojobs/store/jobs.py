"""Promotion jobs as the API sees them: insert, find, list, cancel. Worker-side SQL is in ``store.tasks``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, case, func, insert, select, text, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from promojobs.domain.job_specs import ExportSpec, GenerateSpec, JobSpec
from promojobs.domain.jobs import JobStatus, JobType, TaskKind, TaskStatus
from promojobs.store.database import new_uuid, now_us
from promojobs.store.rows import record_from_row
from promojobs.store.schema import job_tasks, jobs, promotions


@dataclass(frozen=True)
class JobRecord:
    pk: int
    uuid: str
    store_id: int
    promotion_pk: int
    promotion_uuid: str
    job_type: str
    name: str | None
    parameters: JobSpec
    status: str
    generated: int
    deleted: int | None
    error: str | None
    file_name: str | None
    created_by: str | None
    cancelled_by: str | None
    request_fingerprint: str | None
    created_at: int
    updated_at: int

    def generate_spec(self) -> GenerateSpec:
        """The spec of a ``code_generate`` job (what its generate tasks run)."""
        if not isinstance(self.parameters, GenerateSpec):
            raise TypeError(f"job {self.uuid} is a {self.job_type} job, not code_generate")
        return self.parameters


@dataclass(frozen=True)
class NewJob:
    store_id: int
    promotion_pk: int
    created_by: str
    name: str | None
    spec: JobSpec
    idempotency_key: str | None
    request_fingerprint: str


_JOB_COLUMNS = (*jobs.c, promotions.c.uuid.label("promotion_uuid"))


def _record(row: Row[Any]) -> JobRecord:
    return record_from_row(
        JobRecord,
        row,
        pk=row.id,
        promotion_pk=row.promotion_id,
        parameters=_spec(row.job_type, row.parameters_json),
    )


def _spec(job_type: str, parameters_json: str | None) -> JobSpec:
    if job_type == JobType.CODE_EXPORT or parameters_json is None:
        return ExportSpec()
    return _generate_spec(parameters_json)


@lru_cache(maxsize=256)  # small for the same reason as to_rfc3339's
def _generate_spec(parameters_json: str) -> GenerateSpec:
    # Parsed once per distinct text (a hot list re-reads the same jobs); the spec is frozen, so shared.
    return GenerateSpec.from_echo(json.loads(parameters_json))


def _select_jobs() -> Any:
    return select(*_JOB_COLUMNS).join(promotions, promotions.c.id == jobs.c.promotion_id)


class ActiveJobExists(Exception):
    """The partial unique index refused a second active job on the promotion."""


class IdempotencyKeyTaken(Exception):
    """Another job of the store committed the same ``Idempotency-Key`` first."""


def insert_job(conn: Connection, job: NewJob) -> int:
    savepoint = conn.begin_nested()
    try:
        pk = conn.execute(insert(jobs).values(**_columns(job)).returning(jobs.c.id)).scalar_one()
    except IntegrityError as exc:
        savepoint.rollback()
        violated = _violated_index(exc)
        if violated == "ux_jobs_one_active_per_promotion":
            raise ActiveJobExists() from exc
        if violated == "ux_jobs_idempotency":
            raise IdempotencyKeyTaken() from exc
        raise
    savepoint.commit()
    return int(pk)


def _columns(job: NewJob) -> dict[str, Any]:
    now = now_us()
    echoed = job.spec.echo()
    columns: dict[str, Any] = {
        "uuid": new_uuid(),
        "store_id": job.store_id,
        "promotion_id": job.promotion_pk,
        "job_type": job.spec.job_type.value,
        "name": job.name,
        "parameters_json": None if echoed is None else json.dumps(echoed),
        "status": JobStatus.PENDING.value,
        "created_by": job.created_by,
        "idempotency_key": job.idempotency_key,
        "request_fingerprint": job.request_fingerprint,
        "created_at": now,
        "updated_at": now,
    }
    if isinstance(job.spec, GenerateSpec):
        # What the keyspace check reads, as columns (see live_codes_with_format).
        columns["keyspace_prefix"] = job.spec.keyspace_prefix
        columns["code_length"] = job.spec.code_length
        columns["number_of_codes"] = job.spec.number_of_codes
    return columns


def _violated_index(exc: IntegrityError) -> str | None:
    # By the index's name, never by searching the message: PostgreSQL's message quotes the row's values
    # (an Idempotency-Key may contain any word). SQLite names the indexed columns instead.
    diag = getattr(exc.orig, "diag", None)
    if diag is not None:
        return getattr(diag, "constraint_name", None)
    message = str(exc.orig)
    if message == "UNIQUE constraint failed: jobs.promotion_id":
        return "ux_jobs_one_active_per_promotion"
    if message == "UNIQUE constraint failed: jobs.store_id, jobs.idempotency_key":
        return "ux_jobs_idempotency"
    return None


def insert_tasks(
    conn: Connection, job_pk: int, store_id: int, kind: TaskKind, targets: Sequence[int]
) -> None:
    now = now_us()
    conn.execute(
        insert(job_tasks),
        [
            {
                "job_id": job_pk,
                "store_id": store_id,
                "kind": kind.value,
                "seq": seq,
                "target": target,
                "status": TaskStatus.READY.value,
                "updated_at": now,
            }
            for seq, target in enumerate(targets)
        ],
    )


def find_job(conn: Connection, store_id: int, promotion_pk: int, uuid: str) -> JobRecord | None:
    return _first_job(
        conn, jobs.c.store_id == store_id, jobs.c.promotion_id == promotion_pk, jobs.c.uuid == uuid
    )


def find_promotion_job(
    conn: Connection, store_id: int, promotion_uuid: str, uuid: str, kind: str
) -> JobRecord | None:
    """A job by its promotion's and its own ids, in the caller's store, of a promotion of this kind (a
    rule promotion's job is not found under /v2/promotions, nor the reverse): one statement."""
    return _first_job(
        conn,
        promotions.c.store_id == store_id,
        promotions.c.uuid == promotion_uuid,
        promotions.c.kind == kind,
        jobs.c.uuid == uuid,
    )


def find_job_by_uuid(conn: Connection, uuid: str) -> JobRecord | None:
    return _first_job(conn, jobs.c.uuid == uuid)


def _first_job(conn: Connection, *conditions: ColumnElement[bool]) -> JobRecord | None:
    row = conn.execute(_select_jobs().where(*conditions)).first()
    return None if row is None else _record(row)


def find_job_by_pk(conn: Connection, pk: int) -> JobRecord | None:
    row = conn.execute(_select_jobs().where(jobs.c.id == pk)).first()
    return None if row is None else _record(row)


def find_by_idempotency_key(conn: Connection, store_id: int, key: str) -> JobRecord | None:
    row = conn.execute(
        _select_jobs().where(jobs.c.store_id == store_id, jobs.c.idempotency_key == key)
    ).first()
    return None if row is None else _record(row)


def forget_idempotency_key(conn: Connection, job_pk: int) -> None:
    conn.execute(update(jobs).where(jobs.c.id == job_pk).values(idempotency_key=None))


_LISTABLE = frozenset({"job_type", "status"})
_PAGE_SQL = (
    "SELECT j.*, p.uuid AS promotion_uuid, count(j.id) OVER () AS total "
    "FROM promotions p LEFT JOIN jobs j ON j.promotion_id = p.id{conditions} "
    "WHERE p.store_id = :store AND p.uuid = :promotion AND p.kind = :kind "
    "ORDER BY j.created_at DESC, j.id DESC LIMIT :limit OFFSET :offset"
)
_COUNT_SQL = "SELECT count(*) FROM jobs j WHERE j.promotion_id = :promotion_pk{conditions}"


def list_jobs_page(
    conn: Connection,
    store_id: int,
    promotion_uuid: str,
    equals: Sequence[tuple[str, str]],
    limit: int,
    offset: int,
    *,
    kind: str = "standard",
) -> tuple[list[JobRecord], int] | None:
    """One page of a promotion's jobs, newest first, and the total, in ONE query (the hot read of the API),
    the promotion looked up in it (a promotion without such jobs gives one row of NULL job columns).

    None when there is no row: the caller then tells an unknown promotion (404) from an offset past the
    end (``count_jobs``)."""
    conditions, values = _equals_sql(equals)
    rows = conn.execute(
        text(_PAGE_SQL.format(conditions=conditions)),
        {
            "store": store_id,
            "promotion": promotion_uuid,
            "kind": kind,
            "limit": limit,
            "offset": offset,
            **values,
        },
    ).all()
    if not rows:
        return None
    if rows[0].id is None:
        return [], 0
    return [_record(row) for row in rows], int(rows[0].total)


def count_jobs(conn: Connection, promotion_pk: int, equals: Sequence[tuple[str, str]]) -> int:
    conditions, values = _equals_sql(equals)
    query = text(_COUNT_SQL.format(conditions=conditions))
    return int(conn.execute(query, {"promotion_pk": promotion_pk, **values}).scalar_one())


def _equals_sql(equals: Sequence[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    # Column names come from a fixed set; values are always bound parameters.
    assert all(name in _LISTABLE for name, _ in equals)
    conditions = "".join(f" AND j.{name} = :v{index}" for index, (name, _) in enumerate(equals))
    return conditions, {f"v{index}": value for index, (_, value) in enumerate(equals)}


def live_codes_with_format(conn: Connection, store_id: int, keyspace_prefix: str, length: int) -> int:
    """How many codes of this prefix (upper-cased) and length the store's live generate jobs hold or will
    hold: a completed job what it generated, a pending or processing one what it was asked for."""
    live = case((jobs.c.status == JobStatus.COMPLETED.value, jobs.c.generated), else_=jobs.c.number_of_codes)
    total = conn.execute(
        select(func.coalesce(func.sum(live), 0)).where(
            jobs.c.store_id == store_id,
            jobs.c.keyspace_prefix == keyspace_prefix,
            jobs.c.code_length == length,
            jobs.c.job_type == JobType.CODE_GENERATE.value,
            jobs.c.status.in_([JobStatus.PENDING, JobStatus.PROCESSING, JobStatus.COMPLETED]),
        )
    ).scalar_one()
    return int(total)


def lock_tasks(conn: Connection, job_pk: int) -> None:
    """Lock the job's task rows (PostgreSQL; on SQLite the write lock already serialises writers).

    Workers lock a task row before its job row (claim, then ``start_job``; a batch's progress, then the
    job's count). Whoever changes a job's status from the API takes its tasks first too, so the two
    cannot deadlock; waiting here also lets a claim or batch in flight commit before the status is read.
    """
    conn.execute(
        select(job_tasks.c.id).where(job_tasks.c.job_id == job_pk).order_by(job_tasks.c.id).with_for_update()
    ).all()


def change_status(conn: Connection, job_pk: int, current: JobStatus, new: JobStatus, **values: Any) -> bool:
    """Move the job from ``current`` to ``new``; False (and no change) if it is no longer ``current``."""
    result = conn.execute(
        update(jobs)
        .where(jobs.c.id == job_pk, jobs.c.status == current.value)
        .values(status=new.value, updated_at=now_us(), **values)
    )
    return result.rowcount == 1


def close_tasks(conn: Connection, job_pk: int) -> None:
    """Close every task of the job that is not done yet (the job was cancelled or failed)."""
    conn.execute(
        update(job_tasks)
        .where(job_tasks.c.job_id == job_pk, job_tasks.c.status != TaskStatus.DONE.value)
        .values(status=TaskStatus.DONE.value, worker_id=None, lease_expires_at=None, updated_at=now_us())
    )
