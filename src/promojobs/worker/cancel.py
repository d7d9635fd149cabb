"""Finish a cancel: delete the codes the job generated, in batches, counting them in ``result.deleted``.

Generate batches stop committing as soon as the job is ``cancelling`` (their job update is conditional on
``processing``), so every code this deletes is final, and a batch in flight elsewhere rolls back by itself.
"""

from __future__ import annotations

from promojobs.store import tasks as task_store
from promojobs.store.codes import delete_job_codes_batch
from promojobs.worker.context import TaskContext, release


def run(context: TaskContext) -> None:
    while True:
        if context.stop.is_set():
            release(context)
            return
        with context.database.write() as conn:
            deleted = delete_job_codes_batch(
                conn, context.job.pk, context.job.promotion_pk, context.settings.batch_size
            )
            task_store.record_progress(conn, context.task, deleted, context.settings.lease_us)
            if deleted:
                task_store.add_deleted(conn, context.job.pk, deleted)
            else:
                task_store.finish_cancel(conn, context.job.pk)
                return
