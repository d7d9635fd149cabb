"""Knowing whether a store's data changed since an answer was made, from the database itself.

Every transaction that changes a store's promotions, codes or jobs moves ``stores.data_version`` when it
commits (triggers, migration 0006), whichever process or machine it ran in. A read answer kept in memory
(services/read_cache.py) is reused only while the store's version is still the one read *before* its
query: the version is read on every request, in the request's own round trip, so a commit acknowledged
by any API process or worker is seen by the next read through any other.

Also here: ``listen``, the LISTEN loop the workers' wakeup uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Protocol, TypeVar

import psycopg
from anyio import to_thread
from psycopg.conninfo import make_conninfo
from sqlalchemy import Connection, make_url, text

from promojobs.domain.errors import Unavailable
from promojobs.metrics import DATABASE_ERRORS
from promojobs.store.database import PG_CONNECT_ARGS, Database

# Version reads of one store in flight at once (api/cached_reads.VersionReads); of all stores, the
# setting version_read_connections bounds them (on PostgreSQL, one connection each).
VERSION_READS_PER_STORE = 8
# A version read that has not answered by then is given up, and the request goes on to the application,
# which reads for itself: during an outage a request must not wait for the 10 s of a connection attempt,
# nor for the 30 s before TCP gives up on a kept connection. What a read given up still holds counts
# against the bound until it ends (AsyncStoreVersions).
VERSION_READ_SECONDS = 2.0
_VERSION_READ_MS = int(VERSION_READ_SECONDS * 1000)
# Opening a connection (connecting and preparing the read) is bounded by this instead: it goes on in the
# background when the read that needed it gives up, so a database a few hundred ms away, where that takes
# longer than a read's deadline, still gets connections the next reads find ready.
VERSION_OPEN_SECONDS = 10.0
# The server ends the connection's session with a message when the server itself goes away (57P01 an
# administrator or a fast shutdown, 57P02 a crash of another backend): the engine's connections are gone.
_SERVER_WENT_AWAY = frozenset({"57P01", "57P02"})

T = TypeVar("T")

_Conn = psycopg.AsyncConnection[tuple[int]]

_VERSION_SQL = text("SELECT data_version FROM stores WHERE id = :store")


def store_version(conn: Connection, store_id: int) -> int:
    """The store's data version now (0 for a store that does not exist, which holds nothing to keep)."""
    version = conn.execute(_VERSION_SQL, {"store": store_id}).scalar()
    return int(version or 0)


_VERSION_PG = "SELECT data_version FROM stores WHERE id = %s"
_VERSION_SQLITE = "SELECT data_version FROM stores WHERE id = ?"


def read_store_version(database: Database, store_id: int) -> int:
    """``store_version`` on a driver connection of its own: one round trip, nothing else (this runs for
    every read the API answers)."""
    sql = _VERSION_PG if database.is_postgres else _VERSION_SQLITE
    with database.raw_read() as raw:
        row = raw.execute(sql, (store_id,)).fetchone()
    return int(row[0]) if row else 0


class StoreVersions(Protocol):
    """Reads of a store's data version for the event loop: each costs one round trip, and none blocks it.
    ``in_flight`` reads may run at once (the caller keeps to it)."""

    in_flight: int

    async def read(self, store_id: int) -> int: ...

    async def open(self) -> None:
        """Ready what the first reads need, so they cost their round trip only; a database not reachable
        yet is no error (the reads will try again)."""

    async def close(self) -> None: ...


class ThreadedStoreVersions:
    """SQLite: ``read_store_version`` in the thread pool (a local file: the thread hop is the whole cost)."""

    def __init__(self, database: Database, in_flight: int) -> None:
        self._database = database
        self.in_flight = in_flight

    async def read(self, store_id: int) -> int:
        return await to_thread.run_sync(read_store_version, self._database, store_id)

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None


class AsyncStoreVersions:
    """PostgreSQL: the version read over psycopg's async API on the event loop itself, on ``connections``
    connections of its own, one per read in flight (the caller keeps to ``in_flight``). A read handed to a
    thread pays for the hop twice, and once done it waits for the thread to get the interpreter back from
    a busy loop (up to its 5 ms switch interval): with the database 1 ms away that wait was most of a kept
    answer's time.

    Connections that are not idle are bounded by ``connections`` too, outages included: those of reads in
    flight, of reads given up that still end in the background, and of openings no read waits for (begun
    by ``open()``, or by a read that gave up: they go on, and their connection is kept). A read that needs
    a connection takes an idle one, else waits for such an opening, else opens one if the bound allows,
    else is refused at once."""

    def __init__(self, database: Database, connections: int) -> None:
        self._database = database
        self.in_flight = connections
        self._conninfo = make_conninfo(
            psycopg_conninfo(database.url),
            **{
                **PG_CONNECT_ARGS,
                "application_name": "promojobs-versions",
                "connect_timeout": int(VERSION_OPEN_SECONDS),
                "options": f"{PG_CONNECT_ARGS['options']} -c statement_timeout={_VERSION_READ_MS}",
            },
        )
        self._idle: list[_Conn] = []
        self._generation = 0  # moved by close(): a connection of an earlier one is not kept
        self._dropping_pool: asyncio.Future[None] | None = None
        self._reading = 0
        self._abandoned: set[asyncio.Future[Any]] = set()
        self._unclaimed: list[_Opening] = []  # openings no read waits for, of this generation

    async def read(self, store_id: int) -> int:
        generation = self._generation  # before any wait: a close() during the read counts
        self._reading += 1
        try:
            return await _within(VERSION_READ_SECONDS, self._read(store_id, generation), self._abandoned)
        except (psycopg.Error, TimeoutError) as exc:
            DATABASE_ERRORS.labels("connection").inc()
            raise Unavailable() from exc
        finally:
            self._reading -= 1

    async def open(self) -> None:
        """Open and keep the connections, each with the read prepared (a connection costs three round
        trips and preparing it one more: the first polls should not wait for them)."""
        missing = self.in_flight - len(self._idle) - len(self._unclaimed)
        openings = [self._start_opening(self._generation) for _ in range(missing)]
        self._unclaimed.extend(openings)
        if openings:  # those that take longer go on, kept when done, and the first reads wait for them
            await asyncio.wait([opening.task for opening in openings], timeout=VERSION_READ_SECONDS)

    async def close(self) -> None:
        """Close the idle connections, and those of reads in flight as they end; the next read, on
        whichever loop, opens its own."""
        self._generation += 1
        self._dropping_pool = None
        # What is still under way belongs to the loop that began it, and closes its connection as it ends.
        self._unclaimed.clear()
        self._abandoned.clear()
        await self._close_idle()

    async def _read(self, store_id: int, generation: int) -> int:
        if self._idle:
            conn = self._idle.pop()
            try:
                return await self._query(conn, store_id, generation)
            except psycopg.Error as exc:
                if exc.sqlstate in _SERVER_WENT_AWAY:
                    await self._server_went_away()
                elif conn.broken:  # lost without a word (a reset, a host gone): the idle ones may be too
                    await self._close_idle()
        # On a new connection: after a lost one, once more before the request goes on without it.
        return await self._query(await self._new_connection(generation), store_id, generation)

    async def _new_connection(self, generation: int) -> _Conn:
        """A connection with the read prepared: one already opening (nearer than a new one), else a new
        one if the bound allows (this read is one of those counted)."""
        if self._unclaimed and generation == self._generation:
            opening = self._unclaimed.pop(0)  # the oldest: the nearest to ready
        elif self._reading + len(self._abandoned) > self.in_flight:
            raise Unavailable()  # the connections are all taken by reads the database has not answered
        else:
            opening = self._start_opening(generation)
        opening.claimed = True  # before its done callback can run: that is a turn away at the least
        try:
            return await asyncio.shield(opening.task)
        except asyncio.CancelledError:
            # This read gave up: the opening goes on for the next, and its connection is kept.
            opening.claimed = False
            if opening.ended:  # its own callback ran while it was claimed
                self._keep_opened(opening)
            elif not opening.task.done() and opening.generation == self._generation:
                self._unclaimed.append(opening)
            raise  # otherwise its callback, still to run, keeps the connection

    def _start_opening(self, generation: int) -> _Opening:
        opening = _Opening(_held(self._open()), generation)
        opening.task.add_done_callback(partial(self._opening_ended, opening))
        return opening

    def _opening_ended(self, opening: _Opening, _task: object) -> None:
        opening.ended = True
        if opening.claimed:
            return  # its read takes the connection
        with contextlib.suppress(ValueError):
            self._unclaimed.remove(opening)
        self._keep_opened(opening)

    async def _open(self) -> _Conn:
        async with asyncio.timeout(VERSION_OPEN_SECONDS):
            conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
            try:
                # Prepared now, so no read pays a round trip to prepare it (psycopg would on the fifth);
                # store 0 holds nothing.
                await (await conn.execute(_VERSION_PG, (0,), prepare=True)).fetchone()
            except BaseException:
                await _close_quietly(conn)
                raise
            return conn

    def _keep_opened(self, opening: _Opening) -> None:
        task = opening.task
        if not task.cancelled() and task.exception() is None:
            self._keep(task.result(), opening.generation)

    def _keep(self, conn: _Conn, generation: int) -> None:
        """Keep a connection no read uses now, if it is of this generation and there is room."""
        if generation == self._generation and len(self._idle) < self.in_flight:
            self._idle.append(conn)
        else:
            _held(_close_quietly(conn))

    async def _server_went_away(self) -> None:
        """The server ended a kept connection's session (a restart, a failover): the other idle ones are
        gone too, and so are the engine's. Its pool is dropped before the read is tried again, once for all
        the reads that find out at the same time, so the request that follows this read does not meet a
        dead pooled connection."""
        await self._close_idle()
        with contextlib.suppress(Exception):  # a failed drop leaves the pool to SQLAlchemy's own handling
            if self._dropping_pool is None:
                loop = asyncio.get_running_loop()
                # The loop's default executor, not the request threads, which may all be busy.
                dropping = self._dropping_pool = loop.run_in_executor(None, self._database.dispose)
                dropping.add_done_callback(self._pool_dropped)
            await asyncio.shield(self._dropping_pool)

    def _pool_dropped(self, done: asyncio.Future[None]) -> None:
        if self._dropping_pool is done:
            self._dropping_pool = None
        if not done.cancelled():
            done.exception()  # retrieved, whoever waited

    async def _close_idle(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await _close_quietly(conn)

    async def _query(self, conn: _Conn, store_id: int, generation: int) -> int:
        try:
            cursor = await conn.execute(_VERSION_PG, (store_id,), prepare=True)
            row = await cursor.fetchone()
        except BaseException:
            # Its state is unknown (a lost server, a cancelled read with its query in flight): not reused.
            await _close_quietly(conn)
            raise
        self._keep(conn, generation)
        return int(row[0]) if row else 0


class _Opening:
    """A connection being opened (connected, the read prepared), and whether a read waits for it."""

    def __init__(self, task: asyncio.Future[_Conn], generation: int) -> None:
        self.task = task
        self.generation = generation
        self.claimed = False
        self.ended = False  # its done callback ran (which is a turn after its task is done)


async def _within(seconds: float, work: Awaitable[T], abandoned: set[asyncio.Future[Any]]) -> T:
    """``work``'s result, or TimeoutError after ``seconds``. Work still running then (or when the caller is
    cancelled) is cancelled in the background, and held in ``abandoned`` until it ends: psycopg ends a
    cancelled query by asking the server to cancel it and waiting for it to end, up to 10 s, which the
    caller must not wait for."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.wait_for(asyncio.shield(task), seconds)
    finally:
        if not task.done():
            task.cancel()
            abandoned.add(task)
            task.add_done_callback(abandoned.discard)
            task.add_done_callback(_retrieve)


_background: set[asyncio.Future[Any]] = set()  # held: the loop keeps only weak references to tasks


def _held(work: Awaitable[T]) -> asyncio.Future[T]:
    """``work`` as a task held until it ends, whoever waits for it."""
    task = asyncio.ensure_future(work)
    _background.add(task)
    task.add_done_callback(_background.discard)
    task.add_done_callback(_retrieve)
    return task


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: nobody waits for it any more


async def _close_quietly(conn: _Conn) -> None:
    with contextlib.suppress(Exception):
        await conn.close()


def store_versions(database: Database, connections: int) -> StoreVersions:
    if database.is_postgres:
        return AsyncStoreVersions(database, connections)
    return ThreadedStoreVersions(database, connections)


def listen(
    conninfo: str,
    channel: str,
    stop: threading.Event,
    on_notice: Callable[[], None],
    on_listening: Callable[[], None],
    on_lost: Callable[[psycopg.Error], None],
) -> None:
    """LISTEN on ``channel`` until ``stop``, calling ``on_notice`` per notification; reconnect a second after
    the connection is lost."""
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
