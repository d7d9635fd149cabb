"""The worker's SQL: claim a task under a lease, renew it with every batch, and fence every write.

A claimed task belongs to ``(worker_id, attempt)``. Every write a worker makes for a task carries that pair
in its WHERE clause, in the same transaction as the work it records, so a worker that lost its lease (it
paused, the network dropped, another worker took the task over) cannot commit anything: its transaction
finds no row to update and rolls back. Claims skip rows other workers hold locked on PostgreSQL
(``FOR UPDATE SKIP LOCKED``); on SQLite the write lock (``BEGIN IMMEDIATE``) serialises claims.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from promojobs.domain.jobs import TaskKind, TaskStatus
from promojobs.store.database import now_us
from promojobs.store.jobs import close_tasks, lock_tasks

# The task statuses as the SQL below spells them (the enum's constants, never input).
READY, RUNNING, DONE = TaskStatus.READY.value, TaskStatus.RUNNING.value, TaskStatus.DONE.value


@dataclass(frozen=True)
class ClaimedTask:
    id: int
    job_id: int
    store_id: int
    kind: TaskKind
    seq: int
    target: int
    done: int
    attempt: int
    worker_id: str


class LeaseLost(Exception):
    """The task is no longer ours: another worker took it over, or it was closed."""


class JobNotRunning(Exception):
    """The job left ``processing`` (cancelled, failed or deleted): stop working on it."""


_RUNNING_IN_STORE = (
    f"(SELECT count(*) FROM job_tasks r WHERE r.store_id = t.store_id AND r.status = '{RUNNING}' "
    "AND r.lease_expires_at >= :now)"
)

# Cancel tasks first (they free the promotion); then the store with the fewest running tasks and, among
# equals, the store served longest ago, so one store's long queue cannot starve another store; then the
# oldest job of that store.
_CLAIMABLE = f"""
SELECT t.id FROM job_tasks t JOIN jobs j ON j.id = t.job_id JOIN stores s ON s.id = t.store_id
WHERE (t.status = '{READY}' OR (t.status = '{RUNNING}' AND t.lease_expires_at < :now))
  AND (j.status IN ('pending', 'processing') OR (t.kind = 'cancel' AND j.status = 'cancelling'))
  AND {_RUNNING_IN_STORE} < :per_store
ORDER BY CASE WHEN t.kind = 'cancel' THEN 0 ELSE 1 END, {_RUNNING_IN_STORE},
         COALESCE(s.last_claimed_at, 0), j.created_at, t.seq
LIMIT 1
"""

_TAKE = f"""
UPDATE job_tasks SET status = '{RUNNING}', worker_id = :worker, attempt = attempt + 1,
       lease_expires_at = :lease, updated_at = :now
WHERE id = :id
RETURNING id, job_id, store_id, kind, seq, target, done, attempt
"""


# Claims on PostgreSQL take this transaction-scoped advisory lock first. Without it, workers claiming at
# the same moment each count the store's running tasks in their own snapshot, none sees the others' claims,
# and a store ends up with as many running tasks as there are workers, past its cap. (SQLite's write lock
# already serialises claims.) A claim is a few milliseconds once per chunk, so the queue is short.
_CLAIM_LOCK_KEY = 0x70726F6D6F  # "promo"


def claim_task(conn: Connection, worker_id: str, lease_us: int, per_store: int) -> ClaimedTask | None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLAIM_LOCK_KEY})
    now = now_us()
    query = _CLAIMABLE + (" FOR UPDATE OF t SKIP LOCKED" if conn.dialect.name == "postgresql" else "")
    task_id = conn.execute(text(query), {"now": now, "per_store": per_store}).scalar()
    if task_id is None:
        return None
    row = conn.execute(
        text(_TAKE), {"worker": worker_id, "lease": now + lease_us, "now": now, "id": task_id}
    ).one()
    conn.execute(
        text("UPDATE stores SET last_claimed_at = :now WHERE id = :id"), {"now": now, "id": row.store_id}
    )
    return ClaimedTask(
        id=row.id,
        job_id=row.job_id,
        store_id=row.store_id,
        kind=TaskKind(row.kind),
        seq=row.seq,
        target=row.target,
        done=row.done,
        attempt=row.attempt,
        worker_id=worker_id,
    )


def start_job(conn: Connection, job_id: int) -> None:
    conn.execute(
        text(
            "UPDATE jobs SET status = 'processing', updated_at = :now WHERE id = :id AND status = 'pending'"
        ),
        {"now": now_us(), "id": job_id},
    )


def record_progress(conn: Connection, task: ClaimedTask, added: int, lease_us: int) -> None:
    """Fenced: count ``added`` units of work on the task and renew its lease, or raise ``LeaseLost``."""
    now = now_us()
    result = conn.execute(
        text(
            "UPDATE job_tasks SET done = done + :added, lease_expires_at = :lease, updated_at = :now "
            f"WHERE id = :id AND worker_id = :worker AND attempt = :attempt AND status = '{RUNNING}'"
        ),
        {
            "added": added,
            "lease": now + lease_us,
            "now": now,
            "id": task.id,
            "worker": task.worker_id,
            "attempt": task.attempt,
        },
    )
    if result.rowcount != 1:
        raise LeaseLost()


def add_generated(conn: Connection, job_id: int, added: int) -> None:
    """Count generated codes on the job, only while it is still processing; else raise ``JobNotRunning``.

    This UPDATE also takes the job's row lock, which orders the chunks that finish at the same moment, so
    the last of them sees every other chunk done (see ``complete_job_if_done``).
    """
    if not _update_job(conn, job_id, "generated = generated + :added", "status = 'processing'", added=added):
        raise JobNotRunning()


def require_processing(conn: Connection, job_id: int) -> None:
    """Raise ``JobNotRunning`` unless the job is still processing (a generate chunk asks this).

    It touches the job's row (``updated_at``) to ask, which also takes the row's lock, as
    ``add_generated`` does: what follows in the transaction is ordered with the other chunks' finishes."""
    result = conn.execute(
        text("UPDATE jobs SET updated_at = :now WHERE id = :id AND status = 'processing'"),
        {"now": now_us(), "id": job_id},
    )
    if result.rowcount != 1:
        raise JobNotRunning()


def set_exported(conn: Connection, job_id: int, rows: int) -> None:
    """An export's rows written so far (kept in ``generated``: the rows a job produced), only while the job
    is still processing; else raise ``JobNotRunning``. Set, not added: a retried export starts again."""
    result = conn.execute(
        text("UPDATE jobs SET generated = :rows, updated_at = :now WHERE id = :id AND status = 'processing'"),
        {"rows": rows, "now": now_us(), "id": job_id},
    )
    if result.rowcount != 1:
        raise JobNotRunning()


def finish_task(conn: Connection, task: ClaimedTask) -> None:
    result = conn.execute(
        text(
            f"UPDATE job_tasks SET status = '{DONE}', lease_expires_at = NULL, updated_at = :now "
            f"WHERE id = :id AND worker_id = :worker AND attempt = :attempt AND status = '{RUNNING}'"
        ),
        {"now": now_us(), "id": task.id, "worker": task.worker_id, "attempt": task.attempt},
    )
    if result.rowcount != 1:
        raise LeaseLost()


def complete_job_if_done(conn: Connection, job_id: int, **values: object) -> bool:
    assignments = "".join(f", {name} = :{name}" for name in values)
    result = conn.execute(
        text(
            f"UPDATE jobs SET status = 'completed', updated_at = :now{assignments} "
            "WHERE id = :id AND status = 'processing' AND NOT EXISTS ("
            f"  SELECT 1 FROM job_tasks WHERE job_id = :id AND kind != 'cancel' AND status != '{DONE}')"
        ),
        {"now": now_us(), "id": job_id, **values},
    )
    return result.rowcount == 1


def release_task(conn: Connection, task: ClaimedTask) -> None:
    """Hand the task back at once (graceful stop); the attempt it used does not count."""
    conn.execute(
        text(
            f"UPDATE job_tasks SET status = '{READY}', worker_id = NULL, lease_expires_at = NULL, "
            "attempt = attempt - 1, updated_at = :now "
            f"WHERE id = :id AND worker_id = :worker AND attempt = :attempt AND status = '{RUNNING}'"
        ),
        {"now": now_us(), "id": task.id, "worker": task.worker_id, "attempt": task.attempt},
    )


def fail_job(conn: Connection, job_id: int, error: str) -> bool:
    """Fail a pending or processing job and close its tasks; a job being cancelled is left to its cancel."""
    lock_tasks(conn, job_id)  # tasks before the job: the order every writer uses, so no deadlock
    if not _update_job(
        conn, job_id, "status = 'failed', error = :error", "status IN ('pending', 'processing')", error=error
    ):
        return False
    close_tasks(conn, job_id)
    return True


def _update_job(conn: Connection, job_id: int, assignments: str, condition: str, **values: object) -> bool:
    """``UPDATE jobs SET assignments`` (and ``updated_at``) on the job if ``condition`` holds; whether it
    did."""
    result = conn.execute(
        text(f"UPDATE jobs SET {assignments}, updated_at = :now WHERE id = :id AND {condition}"),
        {"now": now_us(), "id": job_id, **values},
    )
    return result.rowcount == 1


def add_deleted(conn: Connection, job_id: int, deleted: int) -> None:
    conn.execute(
        text("UPDATE jobs SET deleted = COALESCE(deleted, 0) + :n, updated_at = :now WHERE id = :id"),
        {"n": deleted, "now": now_us(), "id": job_id},
    )


def finish_cancel(conn: Connection, job_id: int) -> None:
    lock_tasks(conn, job_id)
    conn.execute(
        text(
            "UPDATE jobs SET status = 'cancelled', deleted = COALESCE(deleted, 0), updated_at = :now "
            "WHERE id = :id AND status = 'cancelling'"
        ),
        {"now": now_us(), "id": job_id},
    )
    close_tasks(conn, job_id)
