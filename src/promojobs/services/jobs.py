"""Promotion jobs on the API side: submit, list, get, cancel, and the signed link to an export file.

The work itself is done by workers (``promojobs.worker``); this module only writes the job and its tasks
and wakes the workers up.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from promojobs.domain import codes as code_rules
from promojobs.domain.errors import (
    Forbidden,
    NoCodesAllowed,
    NotFound,
    TooManyJobs,
    Unprocessable,
    ValidationFailed,
)
from promojobs.domain.filters import parse_filter, require_one_of
from promojobs.domain.ids import is_uuid
from promojobs.domain.job_specs import (
    STANDARD_CONSUME_UNITS,
    ConsumeUnits,
    ExportSpec,
    GenerateSpec,
    JobSpec,
    parse_job_spec,
)
from promojobs.domain.jobs import CANCELLABLE_STATUSES, STATUS_ALIASES, JobStatus, JobType, TaskKind
from promojobs.domain.pagination import PageRequest
from promojobs.services.promotions import find_or_404
from promojobs.store import jobs as job_store
from promojobs.store.database import Database, now_us
from promojobs.store.jobs import ActiveJobExists, IdempotencyKeyTaken, JobRecord, NewJob
from promojobs.store.promotions import STANDARD

JOB_FILTERS = {"job_type": frozenset({"eq"}), "status": frozenset({"eq"})}
JOB_FILTER_VALUES = {"job_type": [t.value for t in JobType], "status": [s.value for s in JobStatus]}
MAX_JOB_NAME_CHARS = 50


class JobNotFound(NotFound):
    """job not found"""


class NotCancellable(Unprocessable):
    """Only pending or processing jobs can be cancelled"""


class NoFileToDownload(Unprocessable):
    """Job has no file to download."""


class IdempotencyKeyReused(Unprocessable):
    """This Idempotency-Key was already used with a different request."""


@dataclass(frozen=True)
class JobLimits:
    codes_per_job: int
    keyspace_max_fill_ratio: float
    chunk_size: int
    idempotency_seconds: int


@dataclass(frozen=True)
class JobRequest:
    """A job request as parsed at the edge (``JobService.parse_request``)."""

    name: str | None
    spec: JobSpec
    fingerprint: str
    idempotency_key: str | None = None


# Called inside the transaction that makes work for workers; wakes them up once it commits.
Notifier = Callable[[Connection], None]


class JobService:
    """The jobs of one kind of promotion (standard or rule): the engine underneath is the same."""

    def __init__(
        self,
        database: Database,
        limits: JobLimits,
        notify: Notifier,
        *,
        kind: str = STANDARD,
        units: ConsumeUnits = STANDARD_CONSUME_UNITS,
        not_cancellable: str | None = None,
    ) -> None:
        self.database = database
        self.limits = limits
        self.notify = notify
        self.kind = kind
        self.units = units
        self.not_cancellable = not_cancellable  # the 422 detail, where it differs by kind

    def parse_request(
        self,
        promotion_uuid: str,
        job_type: str,
        name: str | None,
        parameters: Mapping[str, Any] | None,
        idempotency_key: str | None = None,
    ) -> JobRequest:
        """Check a job request once, where it comes in; everything after sees typed values only."""
        _check_name(name)
        spec = parse_job_spec(job_type, parameters, self.limits.codes_per_job, self.units)
        fingerprint = _fingerprint(promotion_uuid, job_type, name, parameters)
        return JobRequest(name, spec, fingerprint, idempotency_key)

    def submit(
        self, store_id: int, client_id: str, promotion_uuid: str, request: JobRequest
    ) -> tuple[JobRecord, bool]:
        """Create a job; return it and whether it is new (False: an idempotent replay)."""
        with self.database.write() as conn:
            promotion = find_or_404(conn, store_id, promotion_uuid, for_update=True, kind=self.kind)
            replay = self._replay(conn, store_id, request.idempotency_key, request.fingerprint)
            if replay is not None:
                return replay, False
            if isinstance(request.spec, GenerateSpec):
                if promotion.automatic:
                    raise NoCodesAllowed()
                self._check_keyspace(conn, store_id, request.spec)
            job_pk = _insert(
                conn,
                NewJob(
                    store_id,
                    promotion.pk,
                    client_id,
                    request.name,
                    request.spec,
                    request.idempotency_key,
                    request.fingerprint,
                ),
            )
            self._add_tasks(conn, job_pk, store_id, request.spec)
            self.notify(conn)
            job = job_store.find_job_by_pk(conn, job_pk)
        assert job is not None
        return job, True

    def list(
        self, store_id: int, promotion_uuid: str, page: PageRequest, raw_filter: str | None
    ) -> tuple[list[JobRecord], int]:
        # A list, not a dict: clauses are ANDed, so eq(status,failed):eq(status,completed) matches nothing.
        equals: list[tuple[str, str]] = []
        for clause in parse_filter(raw_filter, JOB_FILTERS):
            value = clause.values[0]
            value = STATUS_ALIASES.get(value, value) if clause.field == "status" else value
            require_one_of(clause, JOB_FILTER_VALUES[clause.field], value)
            equals.append((clause.field, value))
        with self.database.read() as conn:
            if is_uuid(promotion_uuid):
                found = job_store.list_jobs_page(
                    conn, store_id, promotion_uuid, equals, page.limit, page.offset, kind=self.kind
                )
                if found is not None:
                    return found
            promotion = find_or_404(conn, store_id, promotion_uuid, kind=self.kind)
            return [], job_store.count_jobs(conn, promotion.pk, equals)

    def get(self, store_id: int, promotion_uuid: str, job_uuid: str) -> JobRecord:
        with self.database.read() as conn:
            if is_uuid(promotion_uuid) and is_uuid(job_uuid):
                job = job_store.find_promotion_job(conn, store_id, promotion_uuid, job_uuid, self.kind)
                if job is not None:
                    return job  # one round trip; the errors below tell which of the two is missing
            return self._find(conn, store_id, promotion_uuid, job_uuid)

    def cancel(self, store_id: int, client_id: str, promotion_uuid: str, job_uuid: str) -> JobRecord:
        with self.database.write() as conn:
            # Locking the promotion serialises cancels with job submission and with each other.
            find_or_404(conn, store_id, promotion_uuid, for_update=True, kind=self.kind)
            job = self._find(conn, store_id, promotion_uuid, job_uuid)
            if job.status not in CANCELLABLE_STATUSES:
                raise NotCancellable(self.not_cancellable)
            # A worker may be claiming the job or finishing it right now: take its tasks first (the order
            # workers lock in), then move the status only from the one it really has.
            job_store.lock_tasks(conn, job.pk)
            if job_store.change_status(
                conn, job.pk, JobStatus.PENDING, JobStatus.CANCELLED, cancelled_by=client_id
            ):
                job_store.close_tasks(conn, job.pk)
            elif job_store.change_status(
                conn, job.pk, JobStatus.PROCESSING, JobStatus.CANCELLING, cancelled_by=client_id
            ):
                job_store.insert_tasks(conn, job.pk, store_id, TaskKind.CANCEL, [0])
                self.notify(conn)
            else:
                raise NotCancellable(self.not_cancellable)  # it completed or failed meanwhile
            return self._find(conn, store_id, promotion_uuid, job_uuid)

    def downloadable(self, store_id: int, promotion_uuid: str, job_uuid: str) -> JobRecord:
        job = self.get(store_id, promotion_uuid, job_uuid)
        if job.job_type != JobType.CODE_EXPORT or job.status != JobStatus.COMPLETED or not job.file_name:
            raise NoFileToDownload(f"Job has no file to download. Job status: {job.status}")
        return job

    def exported_file(self, job_uuid: str) -> str:
        """The file name of a completed export, for a download link that was already verified."""
        if not is_uuid(job_uuid):
            raise Forbidden("The export file is no longer available")
        with self.database.read() as conn:
            job = job_store.find_job_by_uuid(conn, job_uuid)
        if job is None or job.status != JobStatus.COMPLETED or not job.file_name:
            raise Forbidden("The export file is no longer available")
        return job.file_name

    def _find(self, conn: Connection, store_id: int, promotion_uuid: str, job_uuid: str) -> JobRecord:
        promotion = find_or_404(conn, store_id, promotion_uuid, kind=self.kind)
        job = job_store.find_job(conn, store_id, promotion.pk, job_uuid) if is_uuid(job_uuid) else None
        if job is None:
            raise JobNotFound()
        return job

    def _replay(self, conn: Connection, store_id: int, key: str | None, fingerprint: str) -> JobRecord | None:
        if key is None:
            return None
        earlier = job_store.find_by_idempotency_key(conn, store_id, key)
        if earlier is None:
            return None
        if earlier.created_at < now_us() - self.limits.idempotency_seconds * 1_000_000:
            job_store.forget_idempotency_key(conn, earlier.pk)
            return None
        if earlier.request_fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        return earlier

    def _check_keyspace(self, conn: Connection, store_id: int, spec: GenerateSpec) -> None:
        live = job_store.live_codes_with_format(conn, store_id, spec.keyspace_prefix, spec.code_length)
        code_rules.check_keyspace(
            spec.number_of_codes, live, spec.code_length, self.limits.keyspace_max_fill_ratio
        )

    def _add_tasks(self, conn: Connection, job_pk: int, store_id: int, spec: JobSpec) -> None:
        if isinstance(spec, ExportSpec):
            job_store.insert_tasks(conn, job_pk, store_id, TaskKind.EXPORT, [0])
            return
        chunks = _chunks(spec.number_of_codes, self.limits.chunk_size)
        job_store.insert_tasks(conn, job_pk, store_id, TaskKind.GENERATE, chunks)


def _insert(conn: Connection, job: NewJob) -> int:
    try:
        return job_store.insert_job(conn, job)
    except ActiveJobExists as exc:
        raise TooManyJobs() from exc
    except IdempotencyKeyTaken as exc:
        # The same key on this promotion would have waited for the promotion lock and replayed:
        # a concurrent job that took the key belongs to another promotion, so another request.
        raise IdempotencyKeyReused() from exc


def _chunks(total: int, chunk_size: int) -> list[int]:
    count = max(1, math.ceil(total / chunk_size))
    return [min(chunk_size, total - index * chunk_size) for index in range(count)]


def _check_name(name: str | None) -> None:
    if name is not None and len(name) > MAX_JOB_NAME_CHARS:
        raise ValidationFailed(f"name must be at most {MAX_JOB_NAME_CHARS} characters", source="data.name")


def _fingerprint(
    promotion_uuid: str, job_type: str, name: str | None, parameters: Mapping[str, Any] | None
) -> str:
    # Of the request as sent (not of the parsed spec): the fingerprints already stored stay comparable.
    body = {"promotion": promotion_uuid, "job_type": job_type, "name": name, "parameters": parameters}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
