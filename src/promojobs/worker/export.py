"""Run a ``code_export`` job: stream the promotion's codes to a CSV file, atomically, in constant memory.

The file is written under a temporary name, synced and renamed into place; only then is the job marked
completed, in a transaction fenced by the task's lease. A crash leaves at most a temporary file, and the
export simply restarts (a million codes take a few seconds).

A file system that refuses the file (disk full, directory missing or read-only) fails the job with a
readable ``error`` and leaves nothing behind: the temporary file is removed and no file is ever served.
"""

from __future__ import annotations

import logging
import os
import time
from contextlib import closing
from pathlib import Path
from typing import BinaryIO

from promojobs.domain.errors import Unavailable
from promojobs.metrics import BATCH_SECONDS, CODES_EXPORTED
from promojobs.store import tasks as task_store
from promojobs.store.export import export_csv
from promojobs.worker.context import TaskContext, release

HEARTBEAT_SECONDS = 2.0
PRIVATE_FILE_MODE = 0o600
log = logging.getLogger("promojobs.worker")


class StopRequested(Exception):
    pass


class ExportFileFailed(Exception):
    """The export file could not be written; the message is the job's ``error`` (no server paths in it)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(f"the export file could not be written ({error.strerror or type(error).__name__})")


def export_file_name(job_uuid: str, attempt: int) -> str:
    # One name per attempt: a worker that lost its lease can only ever remove its own file.
    return f"{job_uuid}_{attempt}_codes.csv"


def run(context: TaskContext) -> None:
    files_dir = context.settings.files_dir
    final = files_dir / export_file_name(context.job.uuid, context.task.attempt)
    temporary = files_dir / f".{context.job.uuid}.{context.task.attempt}.tmp"
    try:
        try:
            files_dir.mkdir(parents=True, exist_ok=True)
            rows = _write(context, temporary)
            os.replace(temporary, final)
            _sync_dir(files_dir)
        except OSError as exc:
            log.error("job %s: writing the export file %s failed: %s", context.job.uuid, temporary, exc)
            _remove(final)
            raise ExportFileFailed(exc) from exc
    except StopRequested:
        release(context)
        return
    finally:
        _remove(temporary)
    _complete(context, final, rows)


def _open_temporary(path: Path) -> BinaryIO:
    # Only the service's own user reads the codes (0600), whatever the umask; the download link is the
    # way others get them. fchmod: a file left by an earlier attempt keeps the mode it was created with.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    os.fchmod(fd, PRIVATE_FILE_MODE)
    return os.fdopen(fd, "wb")


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:  # e.g. its directory is not a directory: there is nothing to remove
        log.warning("could not remove %s: %s", path, exc)


def _write(context: TaskContext, path: Path) -> int:
    """Write the CSV; the number of code rows in it. Every line ends with a newline and no cell holds one
    (codes, users and the fixed columns have no control characters), so lines are counted by newlines."""
    next_beat = time.monotonic() + HEARTBEAT_SECONDS
    lines = 0
    # closing(): on a failed write the export's connections (and threads) are released at once.
    with (
        _open_temporary(path) as out,
        closing(export_csv(context.database, context.job.promotion_pk)) as pieces,
    ):
        started = time.perf_counter()
        for piece in pieces:
            out.write(piece)
            lines += piece.count(b"\n")
            BATCH_SECONDS.labels("export").observe(time.perf_counter() - started)
            if time.monotonic() >= next_beat:
                _heartbeat(context, _rows(lines))
                next_beat = time.monotonic() + HEARTBEAT_SECONDS
            started = time.perf_counter()
        out.flush()
        os.fsync(out.fileno())
    CODES_EXPORTED.inc(_rows(lines))
    return _rows(lines)


def _rows(lines: int) -> int:
    return max(lines - 1, 0)  # the header is not a code


def _heartbeat(context: TaskContext, rows: int) -> None:
    """Renew the lease, show the rows written so far, and notice a cancel or a stop request, while the
    export streams."""
    if context.stop.is_set():
        raise StopRequested()
    with context.database.write() as conn:
        task_store.record_progress(conn, context.task, 0, context.settings.lease_us)
        task_store.set_exported(conn, context.job.pk, rows)


def _complete(context: TaskContext, final: Path, rows: int) -> None:
    completed = False
    try:
        with context.database.write() as conn:
            task_store.finish_task(conn, context.task)
            completed = task_store.complete_job_if_done(
                conn, context.job.pk, file_name=final.name, generated=rows
            )
    except Unavailable:
        # The commit may have landed before the connection dropped, so the job may be completed with this
        # file: keep it. If it did not land, the task is handed back and its retry (same attempt number,
        # same file name) replaces the file.
        completed = True
        raise
    finally:
        if not completed:
            _remove(final)


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
