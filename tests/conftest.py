from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import (
    BLOCKING_CALLS,
    DistantDatabase,
    LiveServer,
    PostgresDatabases,
    database_url_for,
    postgres_reachable,
    start_server,
)


def in_ci(value: str | None) -> bool:
    """Any non-empty ``CI`` other than "false" or "0" is CI (runners set ``true``, ``1`` or ``yes``)."""
    return value is not None and value.strip().lower() not in ("", "false", "0")


IN_CI = in_ci(os.environ.get("CI"))
_PG_REACHABLE: bool | None = None


def _pg_ok() -> bool:
    global _PG_REACHABLE
    if _PG_REACHABLE is None:
        _PG_REACHABLE = postgres_reachable()
        if not _PG_REACHABLE and IN_CI:
            raise RuntimeError("CI is set but PostgreSQL is not reachable at 127.0.0.1:5432")
    return _PG_REACHABLE


@pytest.fixture(autouse=True)
def no_statement_on_an_event_loop() -> Iterator[None]:
    """No test server ran a database statement on its event loop during the test (issue 12's rule; see
    ``tests.support.watch_for_blocking_calls``). Autouse, so it is torn down after the test's servers."""
    BLOCKING_CALLS.clear()
    yield
    assert not BLOCKING_CALLS, "a database statement ran on the event loop:\n" + BLOCKING_CALLS[0]


def pytest_report_header(config: pytest.Config) -> str:
    if _pg_ok():
        return "backends: sqlite, postgresql"
    return "backends: sqlite only -- PostgreSQL is not reachable, its half of the suite is SKIPPED"


@pytest.fixture(scope="session")
def pg_databases(worker_id: str) -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases(worker_id.replace("-", "_"))
    yield databases
    databases.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and not _pg_ok():
        pytest.skip("PostgreSQL not reachable")
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, pg_databases: PostgresDatabases) -> Iterator[str]:
    yield from database_url_for(backend, tmp_path, pg_databases)


@pytest.fixture
def make_server(database_url: str, tmp_path: Path) -> Iterator[Any]:
    servers: list[LiveServer] = []

    def _make(**overrides: Any) -> LiveServer:
        server = start_server(database_url, tmp_path / f"data{len(servers)}", **overrides)
        servers.append(server)
        return server

    yield _make
    for server in servers:
        server.stop()
        server.container.database.dispose()


@pytest.fixture
def server(make_server: Any) -> LiveServer:
    return make_server()  # type: ignore[no-any-return]


@pytest.fixture
def pg_database_url(tmp_path: Path, pg_databases: PostgresDatabases) -> Iterator[str]:
    """A fresh PostgreSQL database, for what only the PostgreSQL deployment does (many processes)."""
    if not _pg_ok():
        pytest.skip("PostgreSQL not reachable")
    yield from database_url_for("postgresql", tmp_path, pg_databases)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """One line per backend, so CI output shows the suite passing on each of them."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            backend = next((name for name in ("sqlite", "postgresql") if f"[{name}" in nodeid), None)
            if backend is not None and getattr(report, "when", "call") in ("call", "setup"):
                if outcome == "passed" and report.when != "call":
                    continue
                counts.setdefault(backend, {}).setdefault(outcome, 0)
                counts[backend][outcome] += 1
    for backend, outcomes in sorted(counts.items()):
        summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
        terminalreporter.write_line(f"backend {backend}: {summary}")
    skipped_pg = counts.get("postgresql", {}).get("skipped", 0)
    if skipped_pg and not _PG_REACHABLE:
        terminalreporter.write_sep(
            "!",
            f"{skipped_pg} PostgreSQL tests SKIPPED: PostgreSQL is not reachable at 127.0.0.1:5432 "
            "(set CI=1 to make that an error)",
            red=True,
            bold=True,
        )


@pytest.fixture
def distant_pg(pg_database_url: str, request: pytest.FixtureRequest) -> Iterator[DistantDatabase]:
    """PostgreSQL a network hop away: the test database behind a latency proxy (``distant_delay`` marker
    sets the one-way delay in seconds; 1 ms by default). ``url`` goes through the proxy, ``direct_url``
    does not (for the test's own connections)."""
    marker = request.node.get_closest_marker("distant_delay")
    delay = float(marker.args[0]) if marker else 0.001
    database = DistantDatabase.start(pg_database_url, delay)
    yield database
    database.proxy.close()
