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
from collections.abc import Callable
from typing import Protocol

import psycopg
from anyio import to_thread
from psycopg.conninfo import make_conninfo
from sqlalchemy import Connection, make_url, text

from promojobs.domain.errors import Unavailable
from promojobs.metrics import DATABASE_ERRORS
from promojobs.store.database import PG_CONNECT_ARGS, Database

# Version reads of the event loop in flight at once (api/cached_reads.VersionReads): of one store, and of
# all stores of a process (on PostgreSQL one connection each, so also the connections it keeps).
VERSION_READS_PER_STORE = 4
VERSION_READS_IN_FLIGHT = 4

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
    """Reads of a store's data version for the event loop: each costs one round trip, and none blocks it."""

    async def read(self, store_id: int) -> int: ...

    async def open(self) -> None:
        """Ready what the first reads need, so they cost their round trip only; a database not reachable
        yet is no error (the reads will try again)."""

    async def close(self) -> None: ...


class ThreadedStoreVersions:
    """SQLite: ``read_store_version`` in the thread pool (a local file: the thread hop is the whole cost)."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def read(self, store_id: int) -> int:
        return await to_thread.run_sync(read_store_version, self._database, store_id)

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None


class AsyncStoreVersions:
    """PostgreSQL: the version read over psycopg's async API on the event loop itself, on connections of
    its own: as many as reads in flight at once, which the caller bounds (``VersionReads``), and at most
    ``connections`` kept idle. A read handed to a thread pays for the hop twice, and once done it waits for
    the thread to get the interpreter back from a busy loop (up to its 5 ms switch interval): with the
    database 1 ms away that wait was most of a kept answer's time."""

    def __init__(self, database: Database, connections: int) -> None:
        self._database = database
        self._dropping_pool: asyncio.Future[None] | None = None
        self._conninfo = make_conninfo(
            psycopg_conninfo(database.url), application_name="promojobs-versions", **PG_CONNECT_ARGS
        )
        self._connections = connections
        self._idle: list[psycopg.AsyncConnection[tuple[int]]] = []
        self._generation = 0  # moved by close(): a connection of an earlier one is not kept

    async def read(self, store_id: int) -> int:
        generation = self._generation  # before any wait: a close() during the read counts
        if self._idle:
            conn = self._idle.pop()
            try:
                return await self._query(conn, store_id, generation)
            except psycopg.Error:
                DATABASE_ERRORS.labels("connection").inc()
                if conn.broken:
                    await self._connections_lost()
        try:  # on a new connection: after a lost one, once more before the request is answered 503
            return await self._query(await self._connect(), store_id, generation)
        except psycopg.Error as exc:
            DATABASE_ERRORS.labels("connection").inc()
            raise Unavailable() from exc

    async def open(self) -> None:
        """Open and keep ``connections`` connections, each with the read prepared (a connection costs three
        round trips and preparing one more: the first polls should not wait for them)."""
        generation = self._generation
        opened = await asyncio.gather(
            *(self._connect() for _ in range(self._connections)), return_exceptions=True
        )
        for conn in opened:
            if isinstance(conn, psycopg.AsyncConnection):
                with contextlib.suppress(psycopg.Error):
                    await self._query(conn, 0, generation)  # store 0 holds nothing: only the preparing counts

    async def close(self) -> None:
        """Close the idle connections, and those of reads in flight as they end; the next read, on
        whichever loop, opens its own."""
        self._generation += 1
        await self._close_idle()

    async def _connections_lost(self) -> None:
        """A kept connection found dead: a database restart or failover, so the other idle ones are gone
        too, and so are the engine's. Its pool is dropped before the read is tried again, once for all the
        reads that find out at the same time, so the request that follows this read does not meet a dead
        pooled connection (SQLAlchemy would drop the pool too, but only after failing a request on it)."""
        await self._close_idle()
        if self._dropping_pool is None:
            loop = asyncio.get_running_loop()
            # The loop's default executor, not the request threads, which may all be busy.
            dropping = self._dropping_pool = loop.run_in_executor(None, self._database.dispose)
            dropping.add_done_callback(self._pool_dropped)
        await asyncio.shield(self._dropping_pool)

    def _pool_dropped(self, done: asyncio.Future[None]) -> None:
        self._dropping_pool = None
        if not done.cancelled():
            done.exception()  # retrieved: a failed drop leaves the pool to SQLAlchemy's own handling

    async def _connect(self) -> psycopg.AsyncConnection[tuple[int]]:
        return await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)

    async def _close_idle(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await _close_quietly(conn)

    async def _query(self, conn: psycopg.AsyncConnection[tuple[int]], store_id: int, generation: int) -> int:
        try:
            # Prepared on a connection's first read, so no later read pays a round trip to prepare it
            # (psycopg would on the fifth).
            cursor = await conn.execute(_VERSION_PG, (store_id,), prepare=True)
            row = await cursor.fetchone()
        except BaseException:
            # Its state is unknown (a lost server, a cancelled read with its query in flight): not reused.
            await _close_quietly(conn)
            raise
        if generation == self._generation and len(self._idle) < self._connections:
            self._idle.append(conn)
        else:
            await _close_quietly(conn)
        return int(row[0]) if row else 0


async def _close_quietly(conn: psycopg.AsyncConnection[tuple[int]]) -> None:
    with contextlib.suppress(Exception):
        await conn.close()


def store_versions(database: Database, connections: int) -> StoreVersions:
    if database.is_postgres:
        return AsyncStoreVersions(database, connections)
    return ThreadedStoreVersions(database)


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
