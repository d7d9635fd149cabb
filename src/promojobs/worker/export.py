"""Run a ``code_export`` job: stream the promotion's codes to a CSV file, atomically, in constant memory.

The file is written under a temporary name, synced and renamed into place; only then is the job marked
completed, in a transaction fenced by the task's lease. A crash leaves at most a temporary file, and the
export simply restarts (a million codes take a few seconds).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from promojobs.store import tasks as task_store
from promojobs.store.codes import export_csv
from promojobs.worker.context import TaskContext, release

HEARTBEAT_SECONDS = 2.0


class StopRequested(Exception):
    pass


def export_file_name(job_uuid: str, attempt: int) -> str:
    # One name per attempt: a worker that lost its lease can only ever remove its own file.
    return f"{job_uuid}_{attempt}_codes.csv"


def run(context: TaskContext) -> None:
    files_dir = context.settings.files_dir
    files_dir.mkdir(parents=True, exist_ok=True)
    final = files_dir / export_file_name(context.job.uuid, context.task.attempt)
    temporary = files_dir / f".{context.job.uuid}.{context.task.attempt}.tmp"
    try:
        _write(context, temporary)
        os.replace(temporary, final)
        _sync_dir(files_dir)
    except StopRequested:
        release(context)
        return
    finally:
        temporary.unlink(missing_ok=True)
    _complete(context, final)


def _write(context: TaskContext, path: Path) -> None:
    next_beat = time.monotonic() + HEARTBEAT_SECONDS
    with path.open("wb") as out, context.database.read() as conn:
        for piece in export_csv(conn, context.job.promotion_pk):
            out.write(piece)
            if time.monotonic() >= next_beat:
                _heartbeat(context)
                next_beat = time.monotonic() + HEARTBEAT_SECONDS
        out.flush()
        os.fsync(out.fileno())


def _heartbeat(context: TaskContext) -> None:
    """Renew the lease, and notice a cancel or a stop request, while the export streams."""
    if context.stop.is_set():
        raise StopRequested()
    with context.database.write() as conn:
        task_store.record_progress(conn, context.task, 0, context.settings.lease_us)
        task_store.add_generated(conn, context.job.pk, 0)


def _complete(context: TaskContext, final: Path) -> None:
    completed = False
    try:
        with context.database.write() as conn:
            task_store.finish_task(conn, context.task)
            completed = task_store.complete_job_if_done(conn, context.job.pk, file_name=final.name)
    finally:
        if not completed:
            final.unlink(missing_ok=True)


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
