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

# Version reads of the event loop in flight at once: per store (api/cached_reads.VersionReads) and per
# process on PostgreSQL (one connection each).
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

    async def close(self) -> None: ...


class ThreadedStoreVersions:
    """SQLite: ``read_store_version`` in the thread pool (a local file: the thread hop is the whole cost)."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def read(self, store_id: int) -> int:
        return await to_thread.run_sync(read_store_version, self._database, store_id)

    async def close(self) -> None:
        return None


class AsyncStoreVersions:
    """PostgreSQL: the version read over psycopg's async API on the event loop itself, on up to
    ``connections`` connections of its own. A read handed to a thread pays for the hop twice, and once done
    it waits for the thread to get the interpreter back from a busy loop (up to its 5 ms switch interval):
    with the database 1 ms away that wait was most of a kept answer's time."""

    def __init__(self, database: Database, connections: int) -> None:
        self._database = database
        self._conninfo = make_conninfo(
            psycopg_conninfo(database.url), application_name="promojobs-versions", **PG_CONNECT_ARGS
        )
        self._idle: list[psycopg.AsyncConnection[tuple[int]]] = []
        self._slots: asyncio.Semaphore | None = None
        self._connections = connections

    async def read(self, store_id: int) -> int:
        async with self._slot():
            if self._idle:
                try:
                    return await self._query(self._idle.pop(), store_id)
                except psycopg.Error:
                    await self._forget_connections()
            try:  # on a new connection: once more after a lost one, so a database restart fails no request
                return await self._query(
                    await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True), store_id
                )
            except psycopg.Error as exc:
                DATABASE_ERRORS.labels("connection").inc()
                raise Unavailable() from exc

    async def close(self) -> None:
        """Close the idle connections; the next read, on whichever loop, opens its own."""
        self._slots = None
        await self._close_idle()

    async def _close_idle(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await _close_quietly(conn)

    def _slot(self) -> asyncio.Semaphore:
        if self._slots is None:  # made on first use: it belongs to the loop that serves (tests serve twice)
            self._slots = asyncio.Semaphore(self._connections)
        return self._slots

    async def _query(self, conn: psycopg.AsyncConnection[tuple[int]], store_id: int) -> int:
        try:
            cursor = await conn.execute(_VERSION_PG, (store_id,))
            row = await cursor.fetchone()
        except BaseException:
            # Its state is unknown (a lost server, a cancelled read with its query in flight): not reused.
            await _close_quietly(conn)
            raise
        self._idle.append(conn)
        return int(row[0]) if row else 0

    async def _forget_connections(self) -> None:
        """An idle connection found dead (a database restart, a failover): the others are too, and so are the
        engine's, which are dropped as SQLAlchemy drops them after a lost connection."""
        DATABASE_ERRORS.labels("connection").inc()
        await self._close_idle()
        await to_thread.run_sync(self._database.dispose)


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
