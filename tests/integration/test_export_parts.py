"""A SQLite export in several processes (store/export.py, store/export_helpers.py, store/export_part.py):
the parts read one snapshot, the file holds every code once, and no helper process outlives its export
or its worker."""

from __future__ import annotations

import csv
import errno
import io
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Generator, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from promojobs.store import export as export_store
from promojobs.store import export_helpers
from promojobs.store.database import Database
from promojobs.store.export_lines import SQLITE
from promojobs.store.migrate import upgrade
from tests.support import join_all

PROMOTION = 1
BASE_MICROS = 1_767_225_600_000_000  # 2026-01-01


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'export.sqlite3'}")
    upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def helpers(monkeypatch: pytest.MonkeyPatch) -> list[export_helpers._Helper]:
    """Three parts even for small exports; the helpers started, as they start, each 50 ms slow to start
    (a busy machine: it widens the moment the parts' snapshots are taken in)."""
    monkeypatch.setattr(export_store, "SQLITE_MAX_PARTS", 3)
    monkeypatch.setattr(export_store, "SQLITE_MIN_RANGES_PER_PART", 1)
    started: list[export_helpers._Helper] = []
    real = export_helpers._helper

    def recorded(*args: Any) -> AbstractContextManager[export_helpers._Helper]:
        manager = real(*args)
        started.append(manager.__enter__())
        time.sleep(0.05)
        return _Entered(manager, started[-1])

    monkeypatch.setattr(export_helpers, "_helper", recorded)
    return started


class _Entered:
    def __init__(self, manager: AbstractContextManager[export_helpers._Helper], value: Any) -> None:
        self.manager, self.value = manager, value

    def __enter__(self) -> Any:
        return self.value

    def __exit__(self, *exc: Any) -> None:
        self.manager.__exit__(*exc)


def _fill(database: Database, count: int, prefix: str = "P", promotion: int = PROMOTION) -> list[str]:
    """``count`` codes; ``created_at`` changes every 7 codes, so ranges hold several."""
    codes = [f"{prefix}-{i:06d}" for i in range(count)]
    path = str(database.engine.url.database)
    with sqlite3.connect(path) as conn:
        conn.executemany(
            'INSERT INTO codes (store_id, promotion_id, job_id, code, uses, max_uses, consume_unit, "user", '
            "created_at) VALUES (1, ?, NULL, ?, NULL, NULL, 'per_cart', NULL, ?)",
            [(promotion, code, BASE_MICROS + i // 7) for i, code in enumerate(codes)],
        )
    return codes


def _export(database: Database) -> bytes:
    """The whole file, header first."""
    return b"".join(export_store.export_csv(database, PROMOTION))


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode())))[1:]


def _span_steps(database: Database) -> tuple[tuple[int, int], int]:
    """The promotion's (first id, last id), and the SQLite VM instructions it took, in tens."""
    steps = 0

    def counted() -> int:
        nonlocal steps
        steps += 1
        return 0  # go on

    conn = sqlite3.connect(str(database.engine.url.database))
    try:
        conn.execute("SELECT 1 FROM codes LIMIT 1")  # the schema is read first, not counted
        conn.set_progress_handler(counted, 10)
        span = conn.execute(SQLITE.span, (PROMOTION,)).fetchone()
    finally:
        conn.close()
    return span, steps


def test_span__is_read_from_the_index_ends_whatever_the_promotion_holds(database: Database) -> None:
    """Every export reads it first, twice for one in parts: with min() and max() in one SELECT, SQLite
    read every index entry of the promotion (a tenth of a second for a million codes)."""
    _fill(database, 200)
    _fill(database, 2, "OTHER", PROMOTION + 1)  # another promotion's, after them
    (first, last), few = _span_steps(database)
    assert (first, last) == (1, 200)
    _fill(database, 20_000, "MORE")
    (first, last), many = _span_steps(database)
    assert (first, last) == (1, 20_202)
    assert many <= few + 2, f"{few} tens of steps for 200 codes, {many} for 20,200"


def test_parts__the_file_holds_every_code_once_with_its_time(
    database: Database, helpers: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_store, "RANGE_IDS", 10)
    codes = _fill(database, 1000)
    rows = _rows(_export(database))
    assert len(helpers) == 2
    # Every code once with its time (no order is promised): all 1000 within the first millisecond of 2026.
    assert sorted(row[0] for row in rows) == codes
    assert {row[5] for row in rows} == {"2026-01-01T00:00:00.000Z"}


def test_parts__read_one_snapshot_while_another_process_deletes(
    database: Database, helpers: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A writer deletes codes k and k + half in one commit each, a commit every few milliseconds: any
    # file taken from parts that read different moments breaks a pair. The export holds the write lock
    # until every part has its snapshot, so the writer waits instead.
    monkeypatch.setattr(export_store, "RANGE_IDS", 100)
    count = 10_000
    half = count // 2
    codes = _fill(database, count)
    stop, deleted = threading.Event(), [0]

    def delete_pairs() -> None:
        with sqlite3.connect(str(database.engine.url.database), timeout=30, isolation_level=None) as conn:
            for k in range(half):
                if stop.is_set():
                    return
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("DELETE FROM codes WHERE code IN (?, ?)", (codes[k], codes[k + half]))
                conn.execute("COMMIT")
                deleted[0] += 1
                time.sleep(0.002)  # room for the export's BEGIN IMMEDIATE (SQLite's busy wait polls)

    writer = threading.Thread(target=delete_pairs)
    writer.start()
    try:
        deadline = time.monotonic() + 10
        while deleted[0] < 10 and writer.is_alive() and time.monotonic() < deadline:
            time.sleep(0.001)
        assert deleted[0] >= 10, "the writer did not start"
        data = _export(database)
        present = {row[0] for row in _rows(data)}
        missing_pairs = (count - len(present)) // 2
        while deleted[0] <= missing_pairs and writer.is_alive() and time.monotonic() < deadline + 10:
            time.sleep(0.001)
    finally:
        stop.set()
        join_all([writer], timeout=60, what="the deleting writer")
    assert len(helpers) == 2
    broken = [k for k in range(half) if (codes[k] in present) != (codes[k + half] in present)]
    assert broken == []
    assert 0 < len(present) < count  # the writer ran before the snapshot
    assert deleted[0] > missing_pairs  # and after it: more pairs gone than the file misses


def _started(
    database: Database, monkeypatch: pytest.MonkeyPatch, count: int, range_ids: int
) -> Generator[bytes, None, None]:
    """An export of ``count`` codes, read up to its first range: its helpers are running."""
    monkeypatch.setattr(export_store, "RANGE_IDS", range_ids)
    _fill(database, count)
    pieces = export_store.export_csv(database, PROMOTION)
    next(pieces), next(pieces)  # the header, then the first range
    return pieces


def test_closing_the_export__stops_its_helpers(
    database: Database, helpers: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    pieces = _started(database, monkeypatch, count=2000, range_ids=10)
    processes = [helper.process for helper in helpers]
    pieces.close()
    assert len(processes) == 2
    assert all(process.returncode is not None for process in processes)


def test_a_helper_killed__fails_the_export(
    database: Database, helpers: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    pieces = _started(database, monkeypatch, count=20_000, range_ids=1)
    for helper in helpers:
        os.kill(helper.process.pid, signal.SIGKILL)
    with pytest.raises(export_helpers.ExportPartFailed, match="exit -9"):
        b"".join(pieces)


def test_a_helper_that_cannot_write__fails_the_export_with_the_reason(
    database: Database, helpers: list[Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The helper's file refuses writes (as a full disk would): the export raises the OSError itself, which
    # the worker turns into the job's readable error, as for its own file.
    monkeypatch.setattr(export_store, "RANGE_IDS", 10)
    (tmp_path / "part").write_bytes(b"")
    monkeypatch.setattr(export_helpers, "_temporary_file", lambda _dir: (tmp_path / "part").open("rb"))
    _fill(database, 200)
    with pytest.raises(OSError) as raised:
        _export(database)
    assert raised.value.errno == errno.EBADF
    assert len(helpers) == 2


def test_a_helper__stops_when_its_worker_is_gone(database: Database, tmp_path: Path) -> None:
    # A worker that starts a helper and dies (os._exit: as if killed) once the helper has written its first
    # lines; the helper has work for seconds (20,000 ranges of one id) and must stop on its own, its file
    # unfinished.
    count = 20_000
    _fill(database, count)
    out = tmp_path / "part.csv"
    worker = (
        "import os, subprocess, sys\n"
        f"fd = os.open({str(out)!r}, os.O_WRONLY | os.O_CREAT)\n"
        "helper = subprocess.Popen([sys.executable, '-m', 'promojobs.store.export_part', "
        f"{str(database.engine.url.database)!r}, '{PROMOTION}', '1', '{count}', '1', str(fd)], "
        "stdout=subprocess.PIPE, pass_fds=(fd,))\n"
        "assert helper.stdout.read(1) == b'r'\n"
        f"while os.path.getsize({str(out)!r}) == 0: pass\n"  # it has written its first lines
        "print(helper.pid, flush=True)\n"
        "os._exit(0)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", worker], capture_output=True, check=True, text=True, timeout=120
    )
    pid = int(ran.stdout)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)
    assert 0 < len(out.read_bytes().splitlines()) < count


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = subprocess.run(
        ["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True, timeout=30
    ).stdout
    return bool(state.strip()) and not state.strip().startswith("Z")  # a zombie has stopped


def test_parts__whole_ranges_as_even_as_they_divide(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_store, "RANGE_IDS", 10)
    monkeypatch.setattr(export_store, "SQLITE_MAX_PARTS", 3)
    monkeypatch.setattr(export_store, "SQLITE_MIN_RANGES_PER_PART", 1)
    assert export_store._parts(1, 95) == [(1, 30), (31, 60), (61, 95)]
    monkeypatch.setattr(export_store, "SQLITE_MIN_RANGES_PER_PART", 4)
    assert export_store._parts(1, 95) == [(1, 50), (51, 95)]
    assert export_store._parts(1, 35) == [(1, 35)]


def test_no_helpers__for_a_database_without_a_file_name() -> None:
    assert export_helpers.can_start_helpers("/var/lib/promojobs/promojobs.sqlite3")
    assert not any(map(export_helpers.can_start_helpers, (None, "", ":memory:", "file:x?mode=memory")))


def test_once_the_first_lines_are_out__writers_are_not_kept_waiting(
    database: Database, helpers: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The write lock that lines the parts' snapshots up is let go before anything is handed out: the
    # worker's heartbeat writes between pieces, and would otherwise wait for its own lock.
    pieces = _started(database, monkeypatch, count=2000, range_ids=10)
    assert len(helpers) == 2
    with sqlite3.connect(str(database.engine.url.database), timeout=0, isolation_level=None) as conn:
        conn.execute("BEGIN IMMEDIATE")  # "database is locked" at once if the export still held it
        conn.execute("ROLLBACK")
    pieces.close()


def test_write_lock_held_elsewhere__the_export_goes_on_in_one_process(
    database: Database, helpers: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_store, "RANGE_IDS", 10)
    monkeypatch.setattr(export_helpers, "LOCK_WAIT_SECONDS", 0.1)
    codes = _fill(database, 1000)
    with sqlite3.connect(str(database.engine.url.database), isolation_level=None) as writer:
        writer.execute("BEGIN IMMEDIATE")
        rows = _rows(_export(database))
        writer.execute("ROLLBACK")
    assert helpers == []
    assert [row[0] for row in rows] == codes


def test_helpers_slow_to_start__the_export_goes_on_in_one_process(
    database: Database, helpers: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_store, "RANGE_IDS", 10)
    monkeypatch.setattr(export_helpers, "HELPER_START_SECONDS", 0.0)
    codes = _fill(database, 1000)
    rows = _rows(_export(database))
    assert [row[0] for row in rows] == codes
    assert len(helpers) == 2
    assert all(helper.process.returncode is not None for helper in helpers)  # stopped, not left running


def test_a_range_of_codes_each_with_its_own_time__every_line_stamped(
    database: Database, helpers: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Codes added one request at a time each have their own created_at: one pass stamps them all.
    monkeypatch.setattr(export_store, "RANGE_IDS", 100)
    path = str(database.engine.url.database)
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO codes (store_id, promotion_id, code, consume_unit, created_at) "
            "VALUES (1, ?, ?, ?, ?)",
            [(PROMOTION, f"T-{i:05d}", "per_item", BASE_MICROS + i * 1000) for i in range(3000)],
        )
    rows = _rows(_export(database))
    stamped = sorted((row[0], row[5]) for row in rows)
    assert stamped == [
        (f"T-{i:05d}", f"2026-01-01T00:00:{i // 1000:02d}.{i % 1000:03d}Z") for i in range(3000)
    ]
    assert len(helpers) == 2
