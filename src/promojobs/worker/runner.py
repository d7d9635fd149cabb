"""The worker loop: claim a task, run it batch by batch under its lease, record the outcome.

A failed job is data, not an exception: anything unexpected while running a task fails its job with a
readable ``error`` and is logged with the job id; the worker then goes on with the next task.

A lost database is not the job's fault: when a task meets ``Unavailable`` (the connection dropped, the
server restarted, SQLite stayed locked), the batch in flight rolls back, the worker waits for the database
to answer again and hands the task back (its attempt does not count), so the job resumes where its last
committed batch ended. Between tasks the worker just keeps polling until the database is back.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid

from sqlalchemy import Connection

from promojobs.domain.errors import Unavailable
from promojobs.domain.jobs import CODES_LIMIT_EXCEEDED, JobStatus, JobType, TaskKind
from promojobs.metrics import LEASE_RECLAIMS
from promojobs.store import codes as code_store
from promojobs.store import jobs as job_store
from promojobs.store import tasks as task_store
from promojobs.store.database import Database
from promojobs.store.jobs import JobRecord
from promojobs.store.tasks import ClaimedTask, JobNotRunning, LeaseLost
from promojobs.worker import cancel, export, generate
from promojobs.worker.context import TaskContext, WorkerSettings
from promojobs.worker.wakeup import Wakeup

log = logging.getLogger("promojobs.worker")
MAX_OUTAGE_DELAY_SECONDS = 5.0


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    def __init__(
        self, database: Database, settings: WorkerSettings, wakeup: Wakeup, worker_id: str | None = None
    ):
        self.database = database
        self.settings = settings
        self.wakeup = wakeup
        self.worker_id = worker_id or new_worker_id()

    def run(self, stop: threading.Event) -> None:
        log.info("worker %s started", self.worker_id)
        outage_delay = 0.0
        while not stop.is_set():
            try:
                worked = self.run_once(stop)
                if outage_delay:
                    log.info("worker %s: the database answers again", self.worker_id)
                    outage_delay = 0.0
            except Unavailable as exc:
                outage_delay = min(
                    max(outage_delay * 2, self.settings.poll_seconds), MAX_OUTAGE_DELAY_SECONDS
                )
                log.warning(
                    "worker %s: the database cannot be reached (%s); retrying in %.1f s",
                    self.worker_id,
                    _cause(exc),
                    outage_delay,
                )
                stop.wait(outage_delay)
                continue
            except Exception:
                log.exception("worker %s: unexpected error between tasks", self.worker_id)
                worked = False
            if not worked and self.wakeup.wait(self.settings.poll_seconds):
                # Says why an idle worker looks again (a notice, not its poll): tests check the mechanism.
                log.info("worker %s: woken by a notice of new work", self.worker_id)
        log.info("worker %s stopped", self.worker_id)

    def run_once(self, stop: threading.Event) -> bool:
        """Claim and run one task; return False when there was nothing to do."""
        claimed = self._claim()
        if claimed is None:
            return False
        task, job = claimed
        if job is not None:
            self._execute(TaskContext(self.database, self.settings, task, job, stop))
        return True

    def _claim(self) -> tuple[ClaimedTask, JobRecord | None] | None:
        with self.database.write() as conn:
            task = task_store.claim_task(
                conn, self.worker_id, self.settings.lease_us, self.settings.max_running_tasks_per_store
            )
            if task is None:
                return None
            if task.attempt > 1:
                LEASE_RECLAIMS.inc()
            job = job_store.find_job_by_pk(conn, task.job_id)
            assert job is not None
            if task.kind != TaskKind.CANCEL and task.attempt > self.settings.max_task_attempts:
                lost = task.attempt - 1
                error = f"job abandoned: its worker was lost {lost} time{'' if lost == 1 else 's'}"
                task_store.fail_job(conn, job.pk, error)
                log.error("job %s: %s", job.uuid, error)
                return task, None
            if job.status == JobStatus.PENDING and not self._within_codes_limit(conn, job):
                task_store.fail_job(conn, job.pk, CODES_LIMIT_EXCEEDED)
                log.info("job %s: %s", job.uuid, CODES_LIMIT_EXCEEDED)
                return task, None
            task_store.start_job(conn, job.pk)
        log.info("job %s: %s task %s claimed (attempt %s)", job.uuid, task.kind, task.seq, task.attempt)
        return task, job

    def _within_codes_limit(self, conn: Connection, job: JobRecord) -> bool:
        if job.job_type != JobType.CODE_GENERATE:
            return True
        existing = code_store.count_promotion_codes(conn, job.promotion_pk)
        return existing + job.generate_spec().number_of_codes <= self.settings.codes_per_promotion_limit

    def _execute(self, context: TaskContext) -> None:
        runner = {TaskKind.GENERATE: generate.run, TaskKind.EXPORT: export.run, TaskKind.CANCEL: cancel.run}
        try:
            runner[context.task.kind](context)
        except LeaseLost:
            log.warning("job %s: lease lost, another worker owns the task now", context.job.uuid)
        except JobNotRunning:
            log.info("job %s: no longer processing, task stopped", context.job.uuid)
            self._hand_back(context)
        except Unavailable as exc:
            log.warning(
                "job %s: the database was lost during its %s task (%s); the task is handed back once it "
                "answers again",
                context.job.uuid,
                context.task.kind,
                _cause(exc),
            )
            self._hand_back_after_outage(context)
        except Exception as exc:
            log.exception("job %s: %s task failed", context.job.uuid, context.task.kind)
            self._fail(context, f"{context.task.kind} failed: {exc}")

    def _hand_back(self, context: TaskContext) -> None:
        """Free the task's running slot now, not when its lease expires: the job's cancel task may be waiting
        for one (``max_running_tasks_per_store``). The job is not processing, so nobody claims it again."""
        try:
            with self.database.write() as conn:
                task_store.release_task(conn, context.task)
        except Exception:
            log.exception(
                "job %s: could not hand back a stopped task; its lease will expire", context.job.uuid
            )

    def _hand_back_after_outage(self, context: TaskContext) -> None:
        """Wait for the database, then give the task back without counting the attempt: this worker or
        another resumes it from its last committed batch. If the database stays away past the lease, another
        worker may already have taken the task over; the fenced release then changes nothing."""
        delay = self.settings.poll_seconds
        while not context.stop.is_set():
            try:
                with self.database.write() as conn:
                    task_store.release_task(conn, context.task)
            except Unavailable:
                context.stop.wait(delay)
                delay = min(delay * 2, MAX_OUTAGE_DELAY_SECONDS)
                continue
            except Exception:
                log.exception("job %s: could not hand back the task; its lease will expire", context.job.uuid)
                return
            log.info(
                "job %s: task %s handed back after a database outage", context.job.uuid, context.task.seq
            )
            return
        log.warning(
            "job %s: stopping during a database outage; the task's lease will expire", context.job.uuid
        )

    def _fail(self, context: TaskContext, error: str) -> None:
        try:
            with self.database.write() as conn:
                task_store.fail_job(conn, context.job.pk, error[:500])
        except Exception:
            log.exception("job %s: could not record the failure; its lease will expire", context.job.uuid)


def _cause(exc: Unavailable) -> str:
    """The driver's words behind an ``Unavailable``, on one line, for the log."""
    cause = exc.__cause__
    orig = getattr(cause, "orig", None) or cause or exc
    return " ".join(str(orig).split())[:300] or type(orig).__name__
