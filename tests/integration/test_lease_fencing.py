"""Lease fencing, forced: a worker whose lease expired and whose task another worker took over cannot
commit anything more for it. Every step is done by the test in order, so the fenced path always runs.

The old worker's writes go through the worker's own batch code (``worker.generate.run``) on the real
database; only the claims are made by the test, so it decides who holds the lease and when.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import text

from promojobs.store import jobs as job_store
from promojobs.store import tasks as task_store
from promojobs.store.tasks import ClaimedTask, LeaseLost
from promojobs.worker import generate
from promojobs.worker.context import TaskContext
from tests.support import LiveServer

TOTAL = 3000
EXPIRED_AT_ONCE_US = 1  # a lease of one microsecond has expired by the next statement
LONG_LEASE_US = 600_000_000


def _claim(server: LiveServer, worker_id: str, lease_us: int) -> ClaimedTask:
    with server.container.database.write() as conn:
        task = task_store.claim_task(conn, worker_id, lease_us, per_store=4)
        assert task is not None, f"{worker_id} found nothing to claim"
        task_store.start_job(conn, task.job_id)
    return task


def _context(server: LiveServer, task: ClaimedTask) -> TaskContext:
    with server.container.database.read() as conn:
        job = job_store.find_job_by_pk(conn, task.job_id)
    assert job is not None
    return TaskContext(
        server.container.database, server.container.worker_settings(), task, job, threading.Event()
    )


def _state(server: LiveServer, job_id: str) -> dict[str, Any]:
    with server.container.database.read() as conn:
        row = conn.execute(
            text(
                "SELECT t.status, t.worker_id, t.attempt, t.done, j.generated, "
                "(SELECT count(*) FROM codes c WHERE c.job_id = j.id) AS codes "
                "FROM job_tasks t JOIN jobs j ON j.id = t.job_id WHERE j.uuid = :uuid"
            ),
            {"uuid": job_id},
        ).one()
    return dict(row._mapping)


def test_worker_whose_lease_was_taken_over__has_its_batch_refused_and_commits_nothing(
    make_server: Any,
) -> None:
    server: LiveServer = make_server(embedded_worker=False, worker_batch_size=500)
    api = server.api()
    promotion = api.create_promotion()
    job_id = api.generate(promotion, TOTAL)["id"]

    old = _claim(server, "old-worker", EXPIRED_AT_ONCE_US)  # holds the lease, which then expires
    new = _claim(server, "new-worker", LONG_LEASE_US)  # takes the expired task over
    assert (new.id, old.attempt, new.attempt) == (old.id, 1, 2)

    # The old worker wakes up and writes its next batch: refused, and the batch's codes roll back with it.
    with pytest.raises(LeaseLost):
        generate.run(_context(server, old))
    taken_over = {"status": "running", "worker_id": "new-worker", "attempt": 2, "done": 0}
    assert _state(server, job_id) == {**taken_over, "generated": 0, "codes": 0}
    # Its hand-back is fenced too: the task stays the new worker's.
    with server.container.database.write() as conn:
        task_store.release_task(conn, old)
    assert _state(server, job_id) == {**taken_over, "generated": 0, "codes": 0}

    generate.run(_context(server, new))
    assert _state(server, job_id) == {
        "status": "done",
        "worker_id": "new-worker",
        "attempt": 2,
        "done": TOTAL,
        "generated": TOTAL,
        "codes": TOTAL,
    }
    assert api.job(promotion, job_id)["status"] == "completed"
