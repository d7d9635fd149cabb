"""What a running task knows: its database, settings, the claimed task, its job, and the stop signal."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from promojobs.store import tasks as task_store
from promojobs.store.database import Database
from promojobs.store.jobs import JobRecord
from promojobs.store.tasks import ClaimedTask

log = logging.getLogger("promojobs.worker")


@dataclass(frozen=True)
class WorkerSettings:
    batch_size: int
    lease_seconds: float
    poll_seconds: float
    max_task_attempts: int
    max_running_tasks_per_store: int
    codes_per_promotion_limit: int
    files_dir: Path

    @property
    def lease_us(self) -> int:
        return int(self.lease_seconds * 1_000_000)


@dataclass(frozen=True)
class TaskContext:
    database: Database
    settings: WorkerSettings
    task: ClaimedTask
    job: JobRecord
    stop: threading.Event


def release(context: TaskContext) -> None:
    """Give the task back on a graceful stop so another worker resumes it at once."""
    with context.database.write() as conn:
        task_store.release_task(conn, context.task)
    log.info("job %s: task %s released on stop", context.job.uuid, context.task.seq)
