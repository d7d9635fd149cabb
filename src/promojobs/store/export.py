"""A promotion's codes as CSV, streamed in pieces so memory stays flat at any size.

The database builds the text (``export_lines``). Handing each row to Python costs more than the
database's own work (and PostgreSQL's ``COPY … TO STDOUT`` hands over one row per message), so the export
reads ranges of 20,000 ids, and one query per range returns the range's lines already joined. What keeps
the database busy on both cores:

- PostgreSQL: two connections take alternate ranges, each through a pipeline two queries ahead, so two
  server processes build text while Python writes. Both read one snapshot (REPEATABLE READ, the second
  adopting the first's exported snapshot, as pg_dump -j does).
- SQLite builds text in the process that asks, and threads gain nothing (its allocator mutex serialises
  them; measured slower), so the ids are cut into parts and a helper *process* (``export_part``) writes
  each part but the first to a file of its own while this process streams the first; then the helpers'
  files follow in order. SQLite cannot hand a snapshot to another process, so the export holds the write
  lock (``BEGIN IMMEDIATE``) from before the helpers start until every part has begun its read
  transaction: no commit can land in between, so all parts read the same state. Writers wait only for
  the helpers' start (tens of milliseconds), and nothing is handed out before the lock is let go. A
  small export, or one whose lock or helpers do not come in time, stays in one process.

Ranges follow the index on (promotion_id, id); within a range on PostgreSQL, lines are grouped by
creation time (each group in id order). Not promised.
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
from collections import deque
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack, contextmanager
from typing import IO, Any

from psycopg import sql

from promojobs.store.database import Database
from promojobs.store.export_lines import POSTGRES, SQLITE, Execute, sqlite_ranges, stamp_groups
from promojobs.store.export_part import READY, WRITE_FAILED

EXPORT_HEADER = "code,uses,max_uses,consume_unit,user,created_at\n"
RANGE_IDS = 20_000
PIPELINE_DEPTH = 2
POSTGRES_CONNECTIONS = 2
# Parts of a SQLite export: one per core, each at least this many ranges: a helper costs 50-100 ms to start,
# so an export of fewer than ~300,000 codes stays in one process.
SQLITE_MAX_PARTS = min(os.cpu_count() or 1, 4)
SQLITE_MIN_RANGES_PER_PART = 8
HELPER_POLL_SECONDS = 0.25
# The export waits this long for the write lock, then for its helpers; past either it goes on alone.
LOCK_WAIT_SECONDS = 2.0
HELPER_START_SECONDS = 3.0
CHUNK_BYTES = 1 << 20
log = logging.getLogger("promojobs.worker")


class ExportPartFailed(Exception):
    """A SQLite export's helper process ended without writing its part."""


def export_csv(database: Database, promotion_id: int) -> Generator[bytes, None, None]:
    """The promotion's codes as CSV (header first), as of the moment the export starts. Close the
    generator to stop early: helper processes are stopped and connections released."""
    yield EXPORT_HEADER.encode()
    if database.is_postgres:
        yield from _export_postgres(database, promotion_id)
    else:
        yield from _export_sqlite(database, promotion_id)


# --- PostgreSQL ---------------------------------------------------------------------------------------


def _export_postgres(database: Database, promotion_id: int) -> Generator[bytes, None, None]:
    """Ranges taken in turn by ``POSTGRES_CONNECTIONS`` connections that read one snapshot (the first
    exports it, the others adopt it, as ``pg_dump -j`` does); each connection pipelined."""
    with ExitStack() as stack:
        raws: list[Any] = []
        for index in range(POSTGRES_CONNECTIONS):
            raw: Any = stack.enter_context(database.snapshot()).connection.dbapi_connection
            raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            if index == 0:
                (snapshot,) = raw.execute("SELECT pg_export_snapshot()").fetchone()
            else:
                raw.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
            # Without statistics (a table just filled, before autovacuum analyses it) the planner sorts a
            # range to group it; hashing its few created_at values is cheaper and keeps each group in id
            # order.
            raw.execute("SET LOCAL enable_sort = off")
            raws.append(raw)
        for raw in raws:
            stack.enter_context(raw.pipeline())
        yield from _postgres_ranges(promotion_id, [_pipelined(raw) for raw in raws])


def _pipelined(raw: Any) -> Execute:
    def execute(query: str, params: tuple[int, ...]) -> Any:
        return raw.cursor().execute(query, params)  # a cursor each: results wait on it in the pipeline

    return execute


def _postgres_ranges(promotion_id: int, executes: list[Execute]) -> Iterator[bytes]:
    """Each range's lines in order. Range i goes to connection i mod n; up to ``PIPELINE_DEPTH`` queries
    per connection are sent ahead of the range being written."""
    first, last = executes[0](POSTGRES.span, (promotion_id,)).fetchone()
    if first is None:
        return
    ahead = PIPELINE_DEPTH * len(executes)
    sent: deque[Any] = deque()
    for index, start in enumerate(range(first, last + 1, RANGE_IDS)):
        execute = executes[index % len(executes)]
        sent.append(execute(POSTGRES.lines, (promotion_id, start, start + RANGE_IDS - 1)))
        if len(sent) > ahead:
            yield stamp_groups(sent.popleft().fetchall())
    while sent:
        yield stamp_groups(sent.popleft().fetchall())


# --- SQLite -------------------------------------------------------------------------------------------


def _export_sqlite(database: Database, promotion_id: int) -> Generator[bytes, None, None]:
    path = database.engine.url.database
    with database.snapshot() as conn:
        raw: Any = conn.connection.dbapi_connection
        first, last = raw.execute(SQLITE.span, (promotion_id,)).fetchone()
        if first is None:
            return
        if not _can_start_helpers(path) or len(_parts(first, last)) == 1:
            yield from sqlite_ranges(raw.execute, promotion_id, first, last, RANGE_IDS)
            return
    # Several parts: this span only chose that. The parts' one snapshot starts under the write lock, where
    # the span is read again (codes may have come since).
    yield from _export_sqlite_in_parts(database, promotion_id, str(path))


def _export_sqlite_in_parts(database: Database, promotion_id: int, path: str) -> Generator[bytes, None, None]:
    """The parts read one state: while this process holds the write lock (an empty write transaction) no
    commit can land, so its snapshot and every helper's, all taken before the lock is let go, are the
    same. Nothing is yielded while the lock is held: the caller's heartbeat writes, and would wait for it.
    If the lock or a helper is slow to come (``LOCK_WAIT_SECONDS``, ``HELPER_START_SECONDS``), or a helper
    cannot start, the export goes on in this process alone."""
    with ExitStack() as stack:
        raw: Any = stack.enter_context(database.snapshot()).connection.dbapi_connection
        helpers: list[_Helper] = []
        with _write_lock(path) as locked:
            first, last = raw.execute(SQLITE.span, (promotion_id,)).fetchone()  # the snapshot starts here
            if first is None:
                return
            parts = _parts(first, last)
            first_range: list[Any] = []  # read while the helpers start: one query, no more, under the lock

            def read_first_range() -> None:
                end = min(first + RANGE_IDS - 1, last)
                first_range.append(raw.execute(SQLITE.lines, (promotion_id, first, end)).fetchone())

            if locked:
                helpers = _started_helpers(stack, path, promotion_id, parts[1:], read_first_range)
            if not helpers:
                parts = [(first, last)]
        yield from sqlite_ranges(raw.execute, promotion_id, *parts[0], RANGE_IDS, first_range)
        for helper in helpers:
            yield from helper.pieces()


@contextmanager
def _write_lock(path: str) -> Iterator[bool]:
    """SQLite's write lock on a connection of its own, waited for at most ``LOCK_WAIT_SECONDS``; yields
    whether it was taken."""
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
    parts: list[tuple[int, int]],
    meanwhile: Callable[[], None],
) -> list[_Helper]:
    """Helpers for ``parts``, each with its snapshot; none if one could not start in time (they are
    stopped, and the caller reads everything itself). ``meanwhile`` runs while they start."""
    deadline = time.monotonic() + HELPER_START_SECONDS
    with ExitStack() as starting:
        try:
            helpers = [starting.enter_context(_helper(path, promotion_id, part)) for part in parts]
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


def _can_start_helpers(path: str | None) -> bool:
    """A helper opens the database by its file name with this interpreter: an in-memory database has none,
    and an embedding program may have no interpreter to start."""
    return path not in (None, "", ":memory:") and not str(path).startswith("file:") and bool(sys.executable)


def _parts(first: int, last: int) -> list[tuple[int, int]]:
    """(first id, last id) of each part: whole ranges, as evenly as they divide."""
    ranges = (last - first) // RANGE_IDS + 1
    count = max(1, min(SQLITE_MAX_PARTS, ranges // SQLITE_MIN_RANGES_PER_PART))
    bounds = [first + (ranges * i // count) * RANGE_IDS for i in range(count)] + [last + 1]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(count)]


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
def _helper(path: str, promotion_id: int, part: tuple[int, int]) -> Iterator[_Helper]:
    """A helper process writing ``part`` into an unlinked temporary file (nothing to clean up after a
    crash); stopped when the export ends, however it ends."""
    # Beside the database, not in /tmp: a tmpfs there would hold the part in memory, and the database's
    # disk is one the operator sized for data.
    with _temporary_file(os.path.dirname(os.path.abspath(path))) as out:
        arguments = [path, promotion_id, *part, RANGE_IDS, out.fileno()]
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
