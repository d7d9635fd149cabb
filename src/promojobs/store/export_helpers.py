"""The SQLite export's helper processes: each writes one part of the ids to a file of its own while the
exporting worker streams the first part, and all of them read the same snapshot.

Why processes: SQLite builds text in the process that asks for it, and a second thread gains nothing
(docs/performance.md, "The export"). Why the write lock: SQLite cannot hand a snapshot to another
process, so no commit may land while the parts begin their reads.

The export reaches this module through one seam, ``helpers_on_one_snapshot``; the child side is
``store/export_part.py``.
"""

from __future__ import annotations

import logging
import os
import select
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import IO

from promojobs.store.export_part import READY, WRITE_FAILED

Part = tuple[int, int]  # first id, last id
HELPER_POLL_SECONDS = 0.25
# The export waits this long for the write lock, then for its helpers; past either it goes on alone.
LOCK_WAIT_SECONDS = 2.0
HELPER_START_SECONDS = 3.0
CHUNK_BYTES = 1 << 20
log = logging.getLogger("promojobs.worker")


class ExportPartFailed(Exception):
    """A SQLite export's helper process ended without writing its part."""


def can_start_helpers(path: str | None) -> bool:
    """A helper opens the database by its file name with this interpreter: an in-memory database has none,
    and an embedding program may have no interpreter to start."""
    return path not in (None, "", ":memory:") and not str(path).startswith("file:") and bool(sys.executable)


@contextmanager
def helpers_on_one_snapshot(
    path: str,
    promotion_id: int,
    range_ids: int,
    begin: Callable[[], Sequence[Part]],
    meanwhile: Callable[[], None],
) -> Iterator[list[Iterator[bytes]]]:
    """Helpers that read the state the caller's own snapshot reads; yields each one's pieces, in order.

    Under SQLite's write lock, ``begin`` starts the caller's snapshot and returns the parts to hand out;
    a helper starts for each, ``meanwhile`` runs while they start, and the lock is let go once every
    helper has its snapshot, before anything is yielded (the caller's heartbeat writes). Yields no
    helpers if the lock or a helper is slow to come, or a helper cannot start: the caller then reads
    everything itself. The helpers are stopped when the block ends, however it ends."""
    with ExitStack() as stack:
        helpers: list[_Helper] = []
        with _write_lock(path) as locked:
            parts = begin()
            if locked and parts:
                helpers = _started_helpers(stack, path, promotion_id, range_ids, parts, meanwhile)
        yield [helper.pieces() for helper in helpers]


@contextmanager
def _write_lock(path: str) -> Iterator[bool]:
    """SQLite's write lock on a connection of its own (an empty write transaction), waited for at most
    ``LOCK_WAIT_SECONDS``; yields whether it was taken."""
    conn = sqlite3.connect(path, timeout=LOCK_WAIT_SECONDS, isolation_level=None)
    try:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # busy: other writers hold it
            yield False
            return
        try:
            yield True
        finally:
            conn.execute("ROLLBACK")
    finally:
        conn.close()


def _started_helpers(
    stack: ExitStack,
    path: str,
    promotion_id: int,
    range_ids: int,
    parts: Sequence[Part],
    meanwhile: Callable[[], None],
) -> list[_Helper]:
    """Helpers for ``parts``, each with its snapshot, kept on ``stack``; none if one could not start in
    time (those started are stopped)."""
    deadline = time.monotonic() + HELPER_START_SECONDS
    with ExitStack() as starting:
        try:
            helpers = [starting.enter_context(_helper(path, promotion_id, part, range_ids)) for part in parts]
            meanwhile()
            if all(helper.ready(deadline - time.monotonic()) for helper in helpers):
                stack.enter_context(starting.pop_all())
                return helpers
            log.warning(
                "export helpers did not start within %s s; exporting in one process", HELPER_START_SECONDS
            )
        except (OSError, ExportPartFailed) as exc:
            log.warning("export helpers could not start (%s); exporting in one process", exc)
    return []


class _Helper:
    def __init__(self, process: subprocess.Popen[bytes], out: IO[bytes]) -> None:
        self.process = process
        self.out = out

    def ready(self, timeout: float) -> bool:
        """Whether it has begun its read transaction (its snapshot) within ``timeout`` seconds."""
        assert self.process.stdout is not None
        said = _read_when_ready(self.process.stdout.fileno(), max(timeout, 0), len(READY))
        if said is None:
            return False
        if said != READY:
            raise ExportPartFailed(f"an export helper ended before it started (exit {self.process.wait()})")
        return True

    def pieces(self) -> Iterator[bytes]:
        """Its part, once written; empty pieces while it works, so that the caller's heartbeat goes on."""
        assert self.process.stdout is not None
        # Its stdout reaches end of file when it exits: select wakes at once, where Popen.wait would poll.
        said = b""
        while (chunk := _read_when_ready(self.process.stdout.fileno(), HELPER_POLL_SECONDS)) != b"":
            if chunk is None:
                yield b""
            else:
                said += chunk
        code = self.process.wait()
        if code == WRITE_FAILED:  # an OSError, so that the job fails as for the worker's own file
            error = int(said or 0)
            raise OSError(error, os.strerror(error))
        if code != 0:
            raise ExportPartFailed(f"an export helper failed (exit {code})")
        self.out.seek(0)
        while chunk := self.out.read(CHUNK_BYTES):
            yield chunk


def _read_when_ready(fd: int, timeout: float, size: int = 64) -> bytes | None:
    """Up to ``size`` bytes of what ``fd`` has (empty at end of file), or None after ``timeout`` seconds."""
    if select.select([fd], [], [], timeout)[0]:
        return os.read(fd, size)
    return None


def _temporary_file(directory: str) -> IO[bytes]:
    return tempfile.TemporaryFile(dir=directory)


@contextmanager
def _helper(path: str, promotion_id: int, part: Part, range_ids: int) -> Iterator[_Helper]:
    """A helper process writing ``part`` into an unlinked temporary file (nothing to clean up after a
    crash); stopped when the export ends, however it ends."""
    # Beside the database, not in /tmp: a tmpfs there would hold the part in memory, and the database's
    # disk is one the operator sized for data.
    with _temporary_file(os.path.dirname(os.path.abspath(path))) as out:
        arguments = [path, promotion_id, *part, range_ids, out.fileno()]
        process = subprocess.Popen(
            [sys.executable, "-m", "promojobs.store.export_part", *map(str, arguments)],
            stdout=subprocess.PIPE,
            pass_fds=(out.fileno(),),
        )
        try:
            yield _Helper(process, out)
        finally:
            process.kill()
            process.wait()
            assert process.stdout is not None
            process.stdout.close()
