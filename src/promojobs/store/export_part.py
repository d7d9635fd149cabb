"""A helper process of a SQLite export: writes the lines of one part of the promotion's ids to a file.

Run by ``store.export`` as ``python -m promojobs.store.export_part DB PROMOTION FIRST LAST RANGE_IDS FD``
with ``FD`` an open file it inherits. SQLite builds text in the process that asks for it, and a second
thread in the same process gains nothing (SQLite's allocator mutex serialises them), so a second
*process* is how an export uses a second core.

It reads in a transaction of its own and writes ``r`` to stdout once that transaction has its snapshot;
the exporting worker holds SQLite's write lock until every part has said so, so that all parts read the
same snapshot. It stops on its own when the worker that started it is gone.
"""

from __future__ import annotations

import os
import sqlite3
import sys

from promojobs.store.export_lines import sqlite_ranges

READY = b"r"
WRITE_FAILED = 2  # exit status; stdout then holds the errno after READY
WORKER_GONE = 1
CACHE_KIB = 64 * 1024  # as the service's own connections (store.database)


def main(argv: list[str]) -> int:
    path, promotion_id, first, last, range_ids, fd = argv[0], *map(int, argv[1:6])
    parent = os.getppid()
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    conn.execute("BEGIN")
    conn.execute("SELECT 1 FROM codes LIMIT 1").fetchall()  # the snapshot starts with this first read
    _say(READY)
    try:
        with os.fdopen(fd, "wb") as out:
            for piece in sqlite_ranges(conn.execute, promotion_id, first, last, range_ids):
                if os.getppid() != parent:  # the worker died: nobody will read this file
                    return WORKER_GONE
                out.write(piece)
    except OSError as exc:  # the disk is full, say: the worker fails the job with the reason
        _say(str(exc.errno or 0).encode())
        return WRITE_FAILED
    return 0


def _say(message: bytes) -> None:
    sys.stdout.buffer.write(message)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
