"""Raw baselines: each backend's fastest known path, outside promojobs, on the same table and indexes.

- SQLite insert (the best conflict-safe variant): stdlib ``sqlite3``, ``INSERT … ON CONFLICT
  DO NOTHING`` by ``executemany``, one transaction per sorted 50,000-row batch, a 64 MiB page cache and
  ``wal_autocheckpoint=100000``.
- PostgreSQL insert (the fastest): one ``COPY … FROM STDIN`` per sorted 50,000-row batch, each
  batch its own transaction.
- Export: the database's own command-line tool writing the same rows as CSV.

Codes are made before the clock starts; sorting each batch is inside the timing.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.dbs import ScratchDb
from bench.procs import run_measured

ALPHABET = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_TABLE = bytes(ALPHABET[b % 32] for b in range(256))
BATCH_ROWS = 50_000
SQLITE_CACHE_KIB = 64 * 1024
SQLITE_WAL_AUTOCHECKPOINT = 100_000
COLUMNS = 'store_id, promotion_id, job_id, code, uses, max_uses, consume_unit, "user", created_at'
# Surrogate keys of rows that exist nowhere else; the table has no foreign keys.
STORE_ID, PROMOTION_ID, JOB_ID = 1, 1, 1


def random_codes(count: int, length: int, prefix: str = "") -> list[str]:
    """``count`` distinct codes in promojobs' format: ``length`` symbols, a dash after every four."""
    out: set[str] = set()
    while len(out) < count:
        need = count - len(out)
        symbols = os.urandom(need * length).translate(_TABLE).decode("ascii")
        for i in range(0, need * length, length):
            body = symbols[i : i + length]
            out.add(prefix + "-".join(body[j : j + 4] for j in range(0, length, 4)))
    return list(out)


@dataclass(frozen=True)
class InsertResult:
    seconds: float
    rows: int
    client_cpu: float  # CPU seconds of this process during the insert
    server_cpu: float  # CPU seconds of PostgreSQL for this database (0 on SQLite, which runs in-process)

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


def insert(db: ScratchDb, codes: list[str], batch_rows: int = BATCH_ROWS) -> InsertResult:
    if db.kind == "sqlite":
        return _insert_sqlite(db, codes, batch_rows)
    return _insert_postgres(db, codes, batch_rows)


def _insert_sqlite(db: ScratchDb, codes: list[str], batch_rows: int) -> InsertResult:
    assert db.path is not None
    conn = sqlite3.connect(db.path, isolation_level=None)
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        f"cache_size=-{SQLITE_CACHE_KIB}",
        f"wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT}",
    ):
        conn.execute(f"PRAGMA {pragma}")
    sql = f"INSERT INTO codes ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"  # noqa: S608
    now = time.time_ns() // 1000
    rows = 0
    cpu0 = time.process_time()
    started = time.perf_counter()
    for start in range(0, len(codes), batch_rows):
        batch = sorted(codes[start : start + batch_rows])
        conn.execute("BEGIN")
        cursor = conn.executemany(
            sql,
            ((STORE_ID, PROMOTION_ID, JOB_ID, c, None, None, "per_cart", None, now) for c in batch),
        )
        rows += cursor.rowcount
        conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu0
    conn.close()
    return InsertResult(seconds, rows, cpu, 0.0)


def _insert_postgres(db: ScratchDb, codes: list[str], batch_rows: int) -> InsertResult:
    now = time.time_ns() // 1000
    with psycopg.connect(db.conninfo) as conn, conn.cursor() as cur:
        server0 = db.postgres_cpu()
        cpu0 = time.process_time()
        started = time.perf_counter()
        for start in range(0, len(codes), batch_rows):
            batch = sorted(codes[start : start + batch_rows])
            with cur.copy(f"COPY codes ({COLUMNS}) FROM STDIN") as copy:
                for c in batch:
                    copy.write_row((STORE_ID, PROMOTION_ID, JOB_ID, c, None, None, "per_cart", None, now))
            conn.commit()
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu0
        server = db.postgres_cpu() - server0
    return InsertResult(seconds, len(codes), cpu, server)


@dataclass(frozen=True)
class ExportResult:
    seconds: float
    peak_rss_kib: int
    size_bytes: int
    lines: int


def export(db: ScratchDb, promotion_pk: int, out: Path) -> ExportResult:
    """The database tool's own CSV dump of the promotion's codes, in id order, as one process."""
    select = (
        'SELECT code, uses, max_uses, consume_unit, "user", created_at '  # noqa: S608
        f"FROM codes WHERE promotion_id = {int(promotion_pk)} ORDER BY id"
    )
    if db.kind == "sqlite":
        assert db.path is not None
        seconds, rss = run_measured(["sqlite3", "-readonly", "-csv", "-header", str(db.path), select], out)
    else:
        command = f"\\copy ({select}) to '{out}' with (format csv, header)"
        seconds, rss = run_measured([*db.psql_args(), "-c", command])
    size = out.stat().st_size
    with out.open("rb") as handle:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    out.unlink()
    return ExportResult(seconds, rss, size, lines)
