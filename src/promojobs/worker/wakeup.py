"""Waking idle workers as soon as there is work, instead of at their next poll.

In one process a ``threading.Event`` is enough. Across processes on PostgreSQL, the transaction that adds
work runs ``NOTIFY promojobs_tasks`` (delivered when it commits) and every worker LISTENs on a connection
of its own. On SQLite, separate worker processes fall back to polling (``poll_seconds``).
"""

from __future__ import annotations

import logging
import threading

import psycopg
from sqlalchemy import Connection, event

from promojobs.store.changes import listen

CHANNEL = "promojobs_tasks"
log = logging.getLogger("promojobs.worker")


class Wakeup:
    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def wait(self, timeout: float) -> bool:
        """Wait for a notice of new work or ``timeout``; True when it was a notice."""
        noticed = self._event.wait(timeout)
        self._event.clear()
        return noticed

    def notify_on_commit(self, conn: Connection) -> None:
        """Wake this process's workers (on PostgreSQL: all workers) once ``conn``'s transaction commits."""
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"NOTIFY {CHANNEL}")
        event.listen(conn, "commit", lambda _conn: self.set(), once=True)


class PostgresListener:
    """A thread that LISTENs for ``NOTIFY promojobs_tasks`` and sets the local ``Wakeup``."""

    def __init__(self, conninfo: str, wakeup: Wakeup, stop: threading.Event) -> None:
        self.conninfo = conninfo
        self.wakeup = wakeup
        self.stop = stop
        self.thread = threading.Thread(target=self._run, name="promojobs-listen", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        listen(self.conninfo, CHANNEL, self.stop, self.wakeup.set, lambda: None, self._on_lost)

    def _on_lost(self, exc: psycopg.Error) -> None:
        log.warning("LISTEN connection lost (%s); polling until it is back", type(exc).__name__)
