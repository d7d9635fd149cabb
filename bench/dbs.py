"""Scratch databases: a fresh, migrated SQLite file or PostgreSQL database per measurement."""

from __future__ import annotations

import itertools
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import psycopg

from bench.procs import postgres_cpu_seconds
from promojobs.store.database import Database
from promojobs.store.migrate import upgrade

Kind = Literal["sqlite", "postgresql"]
PG_ADMIN_URL = os.environ.get("PROMOJOBS_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PREFIX = "pjbench_"
_counter = itertools.count(1)


def postgres_reachable(admin_url: str = PG_ADMIN_URL) -> bool:
    try:
        with psycopg.connect(admin_url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@dataclass(frozen=True)
class ScratchDb:
    kind: Kind
    url: str  # as promojobs takes it (PROMOJOBS_DATABASE_URL)
    path: Path | None = None  # SQLite file
    name: str | None = None  # PostgreSQL database

    @property
    def conninfo(self) -> str:
        """For psycopg (PostgreSQL only)."""
        return self.url

    def psql_args(self) -> list[str]:
        parts = urlsplit(self.url)
        return [
            "psql",
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            parts.hostname or "127.0.0.1",
            "-p",
            str(parts.port or 5432),
            "-U",
            parts.username or "postgres",
            "-d",
            parts.path.lstrip("/"),
        ]

    def scalar(self, sql: str, *params: object) -> object:
        """One value from the database, read with the plain driver."""
        if self.kind == "sqlite":
            assert self.path is not None
            with sqlite3.connect(self.path) as conn:
                row = conn.execute(sql.replace("%s", "?"), params).fetchone()
            return None if row is None else row[0]
        with psycopg.connect(self.url) as pg:
            found = pg.execute(sql, params).fetchone()
        return None if found is None else found[0]

    def postgres_cpu(self) -> float:
        """CPU seconds used so far by the PostgreSQL processes working for this database (0 on SQLite)."""
        if self.kind != "postgresql":
            return 0.0
        assert self.name is not None
        return postgres_cpu_seconds(cluster_title(), self.name)

    def checkpoint(self) -> None:
        """Start from a clean slate: flush dirty pages so an earlier run's writes are not paid for here."""
        if self.kind == "postgresql":
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute("CHECKPOINT")
        else:
            assert self.path is not None
            with sqlite3.connect(self.path) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        os.sync()


_cluster_title: str | None = None


def cluster_title() -> str:
    """The process-title prefix of the PostgreSQL cluster's processes, e.g. ``postgres: 15/main: ``."""
    global _cluster_title
    if _cluster_title is None:
        with psycopg.connect(PG_ADMIN_URL) as conn:
            row = conn.execute("SELECT pg_backend_pid()").fetchone()
            assert row is not None
            with open(f"/proc/{row[0]}/cmdline", "rb") as handle:
                title = handle.read().replace(b"\0", b" ").decode(errors="replace")
        # "postgres: 15/main: postgres postgres 127.0.0.1(5432) idle": keep up to the user name.
        head, _, _rest = title.partition(": postgres ")
        _cluster_title = head + ": "
    return _cluster_title


class Databases:
    """Creates scratch databases and drops the PostgreSQL ones it created."""

    def __init__(self, work_dir: Path, admin_url: str = PG_ADMIN_URL) -> None:
        self.work_dir = work_dir
        self.admin_url = admin_url
        self.created: list[ScratchDb] = []

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.admin_url, autocommit=True)

    def drop_stale(self) -> None:
        """Drop scratch databases a crashed earlier run left behind (only ``pjbench_*`` ones)."""
        with self._admin() as admin:
            names = [
                str(row[0])
                for row in admin.execute(
                    "SELECT datname FROM pg_database WHERE datname LIKE %s", (PREFIX + "%",)
                ).fetchall()
            ]
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def create(self, kind: Kind, label: str) -> ScratchDb:
        tag = f"{next(_counter):02d}_{label}"
        if kind == "sqlite":
            path = self.work_dir / f"{tag}.sqlite3"
            db = ScratchDb("sqlite", f"sqlite:///{path}", path=path)
        else:
            name = f"{PREFIX}{os.getpid()}_{tag}"
            with self._admin() as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            db = ScratchDb("postgresql", self.admin_url.rsplit("/", 1)[0] + "/" + name, name=name)
        database = Database(db.url)
        try:
            upgrade(database)
        finally:
            database.dispose()
        self.created.append(db)
        return db

    def drop(self, db: ScratchDb) -> None:
        if db.kind == "postgresql":
            with self._admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
        else:
            assert db.path is not None
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db.path}{suffix}").unlink(missing_ok=True)
        if db in self.created:
            self.created.remove(db)

    def drop_all(self) -> None:
        for db in list(self.created):
            self.drop(db)
