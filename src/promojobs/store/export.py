"""A promotion's codes as CSV, streamed in pieces so memory stays flat at any size.

The database builds the text (``export_lines``): handing each row to Python would cost more than the
database's own work, so the export reads ranges of 20,000 ids and one query per range returns the range's
lines already joined. Both backends keep two cores busy:

- PostgreSQL: two connections take alternate ranges, each pipelined two queries ahead, so two server
  processes build text while Python writes. Both read one snapshot (REPEATABLE READ, the second adopting
  the first's exported snapshot, as pg_dump -j does).
- SQLite builds text in the process that asks, so a large export is cut into parts: this process streams
  the first while helper processes (``export_helpers``) write the others, all on one snapshot; then the
  helpers' files follow in order. A small export, or one whose helpers do not come in time, stays in one
  process.

Ranges follow the index on (promotion_id, id); within a range on PostgreSQL, lines are grouped by
creation time (each group in id order). Not promised.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Generator, Iterator
from contextlib import ExitStack
from typing import Any

from psycopg import sql

from promojobs.store.database import Database
from promojobs.store.export_helpers import Part, can_start_helpers, helpers_on_one_snapshot
from promojobs.store.export_lines import POSTGRES, SQLITE, Execute, sqlite_ranges, stamp_groups

EXPORT_HEADER = "code,uses,max_uses,consume_unit,user,created_at\n"
RANGE_IDS = 20_000
PIPELINE_DEPTH = 2
POSTGRES_CONNECTIONS = 2
# Parts of a SQLite export: one per core, each at least this many ranges: a helper costs 50-100 ms to start,
# so an export of fewer than ~300,000 codes stays in one process.
SQLITE_MAX_PARTS = min(os.cpu_count() or 1, 4)
SQLITE_MIN_RANGES_PER_PART = 8


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
        if not can_start_helpers(path) or len(_parts(first, last)) == 1:
            yield from sqlite_ranges(raw.execute, promotion_id, first, last, RANGE_IDS)
            return
    # Several parts: this span only chose that. The parts' one snapshot starts under the write lock, where
    # the span is read again (codes may have come since).
    yield from _export_sqlite_in_parts(database, promotion_id, str(path))


def _export_sqlite_in_parts(database: Database, promotion_id: int, path: str) -> Generator[bytes, None, None]:
    with database.snapshot() as conn:
        first_part = _FirstPart(conn.connection.dbapi_connection, promotion_id)
        with helpers_on_one_snapshot(
            path, promotion_id, RANGE_IDS, first_part.begin, first_part.read_first_range
        ) as helpers:
            if first_part.span is None:
                return
            mine = first_part.parts[0] if helpers else first_part.span
            yield from sqlite_ranges(
                first_part.execute, promotion_id, *mine, RANGE_IDS, first_part.first_range
            )
            for pieces in helpers:
                yield from pieces


class _FirstPart:
    """This process's side of a SQLite export in parts: its snapshot starts with the span (read under the
    helpers' write lock), and its first range is read while the helpers start."""

    def __init__(self, raw: Any, promotion_id: int) -> None:
        self.execute: Execute = raw.execute
        self.promotion_id = promotion_id
        self.span: Part | None = None
        self.parts: list[Part] = []
        self.first_range: list[Any] = []

    def begin(self) -> list[Part]:
        """The parts for the helpers (all but the first)."""
        first, last = self.execute(SQLITE.span, (self.promotion_id,)).fetchone()
        if first is None:
            return []
        self.span = (first, last)
        self.parts = _parts(first, last)
        return self.parts[1:]

    def read_first_range(self) -> None:
        assert self.span is not None
        first, last = self.span
        params = (self.promotion_id, first, min(first + RANGE_IDS - 1, last))
        self.first_range.append(self.execute(SQLITE.lines, params).fetchone())


def _parts(first: int, last: int) -> list[Part]:
    """(first id, last id) of each part: whole ranges, as evenly as they divide."""
    ranges = (last - first) // RANGE_IDS + 1
    count = max(1, min(SQLITE_MAX_PARTS, ranges // SQLITE_MIN_RANGES_PER_PART))
    bounds = [first + (ranges * i // count) * RANGE_IDS for i in range(count)] + [last + 1]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(count)]
