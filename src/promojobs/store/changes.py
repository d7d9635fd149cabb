"""Knowing cheaply whether the database may have changed, so a read answer can be served again.

A ``ChangeClock`` gives a version that is different after any commit that touched promotions, codes or
jobs, in this process or another, or ``None`` when it cannot tell (then nothing is served from memory).
An answer may be reused only while the version read *before* its query is still the current one: a commit
during the query moves the version, so the answer is dropped, never served stale.

- In this process, ``Database.write`` calls ``bump`` after each commit (read-your-writes).
- SQLite: ``PRAGMA data_version`` on a connection that never writes changes whenever any other connection,
  in any process, has committed; it reads the WAL index in shared memory, no I/O.
- PostgreSQL: statement triggers on those tables ``NOTIFY promojobs_changes`` (migration 0004) and a
  thread LISTENs. A commit elsewhere is seen when its notification arrives, a millisecond or so after the
  commit; while the LISTEN connection is down the version is unknown.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Hashable
from typing import Protocol

import psycopg
from sqlalchemy.engine import make_url

CHANNEL = "promojobs_changes"
LISTENER_NAME = f"promojobs-{CHANNEL}"  # the application_name of its LISTEN connection
log = logging.getLogger("promojobs.changes")


class ChangeClock(Protocol):
    def version(self) -> Hashable | None: ...

    def watch(self) -> None:
        """Start noticing other processes' commits (an API server does; a worker never reads through the
        cache and does not need to)."""

    def bump(self) -> None: ...

    def close(self) -> None: ...


class _LocalCommits:
    """What every clock shares: counting this process's commits (read-your-writes). Each clock's
    ``version`` combines the count with what it learns of other processes, in its own type."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def bump(self) -> None:
        with self._lock:
            self._count += 1

    def watch(self) -> None:
        pass

    def close(self) -> None:
        pass


class UnknownClock(_LocalCommits):
    """A database whose other writers cannot be watched (SQLite in memory): never reuse an answer."""

    def version(self) -> None:
        return None


class SqliteClock(_LocalCommits):
    def __init__(self, path: str) -> None:
        super().__init__()
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._read_lock = threading.Lock()

    def version(self) -> tuple[int, int] | None:
        try:
            with self._read_lock:
                if self._conn is None:
                    self._conn = self._connect()
                (data_version,) = self._conn.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error:
            return None
        return self._count, int(data_version)

    def close(self) -> None:
        with self._read_lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connect(self) -> sqlite3.Connection:
        # Read-only and never in a transaction: its data_version moves with every commit of any other
        # connection to the file. Opened on first use: the file may not exist before migrations ran.
        conn = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, check_same_thread=False)
        conn.isolation_level = None
        return conn


class PostgresClock(_LocalCommits):
    """Counts ``NOTIFY promojobs_changes`` received on a LISTEN connection of its own."""

    def __init__(self, conninfo: str) -> None:
        super().__init__()
        self._conninfo = conninfo
        self._remote = 0
        self._listening = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def version(self) -> tuple[int, int] | None:
        if not self._listening:
            return None
        return self._count, self._remote

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def watch(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="promojobs-changes", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        listen(self._conninfo, CHANNEL, self._stop, self._on_notice, self._on_listening, self._on_lost)

    def _on_listening(self) -> None:
        # Anything may have changed while nobody listened: versions from before are void.
        self._remote += 1
        self._listening = True

    def _on_notice(self) -> None:
        self._remote += 1

    def _on_lost(self, exc: psycopg.Error) -> None:
        self._listening = False
        log.warning(
            "LISTEN %s lost (%s); answers are not reused until it is back", CHANNEL, type(exc).__name__
        )


def listen(
    conninfo: str,
    channel: str,
    stop: threading.Event,
    on_notice: Callable[[], None],
    on_listening: Callable[[], None],
    on_lost: Callable[[psycopg.Error], None],
) -> None:
    """LISTEN on ``channel`` until ``stop``, calling ``on_notice`` per notification; reconnect a second after
    the connection is lost. Shared by the read cache's clock and the workers' wakeup."""
    while not stop.is_set():
        try:
            with psycopg.connect(
                conninfo, autocommit=True, connect_timeout=10, application_name=f"promojobs-{channel}"
            ) as conn:
                conn.execute(f"LISTEN {channel}")
                on_listening()
                while not stop.is_set():
                    for _notice in conn.notifies(timeout=0.5):
                        on_notice()
        except psycopg.Error as exc:
            on_lost(exc)
        stop.wait(1.0)


def psycopg_conninfo(url: str) -> str:
    """The libpq connection string for a SQLAlchemy PostgreSQL URL (psycopg's own LISTEN connections)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def clock_for(url: str) -> ChangeClock:
    """The clock for a SQLAlchemy URL (``postgresql+psycopg://…`` or ``sqlite:///path``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return PostgresClock(psycopg_conninfo(url))
    if parsed.database in (None, "", ":memory:"):
        return UnknownClock()
    return SqliteClock(parsed.database)
