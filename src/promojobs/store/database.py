"""One ``Database`` for both backends: an engine, read and write transactions, and the backend's name.

Reads on PostgreSQL run in autocommit: a read is one statement (page, total and promotion lookup folded
together), so it needs no snapshot of its own, and a BEGIN and a COMMIT would be two more round trips to a
database a network hop away. Pooled connections are not pinged before use (another round trip per
request). They are looked at instead, with no round trip: an idle connection the server has written to
(the message and end of a session it ended: a restart, a failover, an administrator) is replaced before
it is handed out. A connection found dead otherwise (a host gone without a word) fails its request with
503, and SQLAlchemy then replaces every connection of the pool opened before it.

SQLite allows one writer at a time. A transaction that starts as a reader and later writes can fail with
"database is locked" without waiting, so every write transaction starts with ``BEGIN IMMEDIATE`` (it
waits for the lock, up to ``busy_timeout``) and read transactions start with a plain ``BEGIN``.
"""

from __future__ import annotations

import os
import select
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import ConnectionPoolEntry

from promojobs.domain.errors import Unavailable
from promojobs.metrics import DATABASE_ERRORS

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 64 * 1024
# A larger WAL between checkpoints makes bulk inserts ~2x faster (measured with 50,000-row batches) at the
# cost of a WAL file of up to ~160 MiB during a big job.
SQLITE_WAL_AUTOCHECKPOINT_PAGES = 40_000
PG_IDLE_IN_TRANSACTION_MS = 60_000
# A database host that does not answer at all (a network partition, not a refused connection) fails a
# request with 503 instead of hanging it: after this long when connecting, and when data sent on an open
# connection stays unacknowledged this long (TCP_USER_TIMEOUT; a slow query is not affected).
PG_CONNECT_TIMEOUT_SECONDS = 10
PG_TCP_USER_TIMEOUT_MS = 30_000
# The libpq options of every connection promojobs opens to PostgreSQL (the engine's and the event loop's).
PG_CONNECT_ARGS: dict[str, str | int] = {
    # A hung client (a paused worker, a machine gone without closing its connection) must not hold row
    # locks for hours: PostgreSQL ends idle transactions and dead connections.
    "options": f"-c idle_in_transaction_session_timeout={PG_IDLE_IN_TRANSACTION_MS}",
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "connect_timeout": PG_CONNECT_TIMEOUT_SECONDS,
    "tcp_user_timeout": PG_TCP_USER_TIMEOUT_MS,
}
POOL_SIZE = 40  # the request threads' default (Settings.request_threads)
POOL_OVERFLOW = 10  # for the threads beside them: an embedded worker, /readyz
NEW_CONNECTION = "promojobs_new"  # in a pool entry's info: opened, not yet handed out
PRIVATE_FILE_MODE = 0o600


def now_us() -> int:
    return time.time_ns() // 1000


def new_uuid() -> str:
    return str(uuid.uuid4())


def normalise_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Database:
    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        self.url = normalise_url(url)
        self.engine = _create_engine(self.url, pool_size)
        self._postgres = self.engine.dialect.name == "postgresql"

    @property
    def is_postgres(self) -> bool:
        return self._postgres

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reading: in autocommit on PostgreSQL (each statement its own snapshot, no
        BEGIN/COMMIT round trips), in a read transaction on SQLite (local, so it costs nothing)."""
        with _translated_errors(), self.engine.connect() as conn:
            if self.is_postgres:
                conn.execution_options(isolation_level="AUTOCOMMIT")
                yield conn
                return
            with conn.begin():
                yield conn

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read transaction on both backends: several statements that must see one state (an export)."""
        with _translated_errors(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with (
            _translated_errors(),
            self.engine.connect().execution_options(promojobs_write=True) as conn,
            conn.begin(),
        ):
            yield conn

    @contextmanager
    def raw_read(self) -> Iterator[Any]:
        """A pooled driver connection in autocommit, for one small statement on a hot path (the store
        version of every read): none of SQLAlchemy's per-statement work. Parameters in the driver's style
        (``?`` for sqlite3, ``%s`` for psycopg). A driver error invalidates the connection: 503."""
        try:
            with _translated_errors():
                pooled = self.engine.raw_connection()
        except (sqlite3.Error, psycopg.Error) as exc:  # a new connection's failure is not wrapped
            DATABASE_ERRORS.labels("connection").inc()
            raise Unavailable() from exc
        driver: Any = pooled.driver_connection
        try:
            if self._postgres:
                driver.autocommit = True
            yield driver
        except (sqlite3.Error, psycopg.Error) as exc:
            pooled.invalidate()
            # As SQLAlchemy does on a lost connection: the pooled ones opened before it are dropped too,
            # so a database restart costs one failed request, not one per pooled connection.
            self.engine.dispose()
            DATABASE_ERRORS.labels("connection").inc()
            raise Unavailable() from exc
        finally:
            _leave_autocommit(pooled, driver, self._postgres)
            pooled.close()

    def ping(self) -> None:
        """One round trip: raises ``Unavailable`` if the database does not answer."""
        with self.read() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def _leave_autocommit(pooled: Any, driver: Any, postgres: bool) -> None:
    """Back to transactions before the connection returns to the pool (SQLAlchemy's reads and writes
    expect them); a connection that cannot is not reused."""
    if not postgres or not pooled.is_valid:
        return
    try:
        driver.autocommit = False
    except psycopg.Error:
        pooled.invalidate()


@contextmanager
def _translated_errors() -> Iterator[None]:
    """What a retry can cure becomes ``Unavailable`` (503, and a worker hands its task back instead of
    failing the job): a lost or unreachable database, a SQLite write lock still held after ``busy_timeout``,
    no free connection in the pool. Other driver errors propagate."""
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        if _is_connection_problem(exc):
            DATABASE_ERRORS.labels("connection").inc()
            raise Unavailable() from exc
        if _is_busy(exc):
            DATABASE_ERRORS.labels("busy").inc()
            raise Unavailable("The database is busy; try again shortly.") from exc
        DATABASE_ERRORS.labels("other").inc()
        raise
    except PoolTimeout as exc:
        DATABASE_ERRORS.labels("pool_timeout").inc()
        raise Unavailable("The service is busy; try again shortly.") from exc


def _is_connection_problem(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    message = str(exc.orig).lower()
    return any(
        marker in message
        for marker in ("connection", "could not connect", "server closed", "terminating", "unable to open")
    )


def _is_busy(exc: DBAPIError) -> bool:
    message = str(exc.orig).lower()
    return "database is locked" in message or "database is busy" in message


def _create_engine(url: str, pool_size: int) -> Engine:
    if url.startswith("sqlite"):
        return _create_sqlite_engine(url, pool_size)
    engine = create_engine(
        url,
        # As many pooled connections as request threads, so a busy API does not open and close a session
        # per request; overflow only for the threads beside them.
        pool_size=pool_size,
        max_overflow=POOL_OVERFLOW,
        connect_args=PG_CONNECT_ARGS,
    )
    event.listen(engine, "connect", _mark_new)
    event.listen(engine, "checkout", _refuse_if_ended_by_the_server)
    return engine


def _mark_new(_driver: Any, record: ConnectionPoolEntry) -> None:
    # The pool's own ``fresh`` flag says the same, but it is cleared before the checkout listeners run;
    # the pool empties ``info`` when it opens the next connection.
    record.info[NEW_CONNECTION] = True


def _refuse_if_ended_by_the_server(driver: Any, record: ConnectionPoolEntry, _proxy: object) -> None:
    """An idle connection has nothing to read unless the server ended its session (the last message and
    the end of the stream are waiting; pooled sessions never LISTEN, and the server sends nothing else
    unasked): replaced then, so a restart does not cost requests their answer.
    A poll of its socket, no round trip; the pool retries the checkout on DisconnectionError, once. A
    connection just opened is not polled: it is the pool's retry (refused too, it would end the checkout
    with SQLAlchemy's InvalidRequestError, a 500), or new, and a session ended since then fails its first
    statement like any lost connection, a 503."""
    if record.info.pop(NEW_CONNECTION, False):
        return
    poller = select.poll()
    try:
        poller.register(driver.fileno(), select.POLLIN)
    except psycopg.Error:  # closed or lost already
        raise DisconnectionError("this pooled connection is closed") from None
    if poller.poll(0):
        raise DisconnectionError("the server ended this pooled connection's session")


def _create_private_sqlite_file(url: str) -> None:
    """Create the database file 0600 before SQLite does (it would follow the umask, usually 0644): it
    holds every code and the hashed secrets. SQLite gives its -wal and -shm files the same mode."""
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    except FileExistsError:
        return  # an existing database keeps the mode its operator gave it
    except OSError:
        return  # a directory that is not there (yet): connecting reports it, with the cli's retry


def _create_sqlite_engine(url: str, pool_size: int) -> Engine:
    _create_private_sqlite_file(url)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        pool_size=pool_size,
        max_overflow=POOL_OVERFLOW,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own handling is broken).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
            f"cache_size=-{SQLITE_CACHE_KIB}",
            f"wal_autocheckpoint={SQLITE_WAL_AUTOCHECKPOINT_PAGES}",
            "foreign_keys=OFF",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("promojobs_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
