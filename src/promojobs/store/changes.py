"""Knowing whether a store's data changed since an answer was made, from the database itself.

Every transaction that changes a store's promotions, codes or jobs moves ``stores.data_version`` when it
commits (triggers, migration 0006), whichever process or machine it ran in. A read answer kept in memory
(services/read_cache.py) is reused only while the store's version is still the one read *before* its
query: the version is read on every request, in the request's own round trip, so a commit acknowledged
by any API process or worker is seen by the next read through any other.

Also here: ``listen``, the LISTEN loop the workers' wakeup uses.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import Connection, make_url, text

from promojobs.store.database import Database

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
