"""Test support: databases on both backends, a live server over real HTTP, and an API client.

Every test that asks for ``database_url`` runs once on SQLite (a real file) and once on PostgreSQL (a fresh
database cloned from a migrated template, which takes a fraction of a second). Outside CI, when no
PostgreSQL is reachable, the PostgreSQL half is skipped with one line saying so; in CI it must run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import uvicorn
from psycopg import sql
from sqlalchemy import Engine, event, make_url

from promojobs import bootstrap
from promojobs.api.app import create_app
from promojobs.api.edge import server_config
from promojobs.api.operation_docs import PROMOTION_REQUEST
from promojobs.bootstrap import Container
from promojobs.config import Settings
from promojobs.store.changes import psycopg_conninfo
from promojobs.store.database import Database
from promojobs.store.migrate import upgrade
from promojobs.worker.runner import Worker
from tests.tcp_proxy import TcpProxy

PG_ADMIN_URL = os.environ.get("PROMOJOBS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
_counter = itertools.count()


def postgres_reachable() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _admin() -> psycopg.Connection[Any]:
    return psycopg.connect(PG_ADMIN_URL, autocommit=True)


def _pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


class PostgresDatabases:
    """A migrated template per test process; each test gets a clone and drops it afterwards."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        # The pid keeps parallel test runs (two checkouts, CI beside a developer) from dropping each
        # other's template.
        self.template = f"pj_tpl_{tag}_{os.getpid()}"
        self._ready = False

    def _prepare(self) -> None:
        with _admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.template} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {self.template}")
        database = Database(_pg_url(self.template))
        upgrade(database)
        database.dispose()
        self._ready = True

    def create(self) -> str:
        if not self._ready:
            self._prepare()
        name = f"pj_{self.tag}_{os.getpid()}_{next(_counter)}"
        with _admin() as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {self.template}")
        return name

    def close(self) -> None:
        if self._ready:
            self.drop(self.template)

    def drop(self, name: str) -> None:
        with _admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def database_url_for(backend: str, tmp_path: Path, pg: PostgresDatabases) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'promojobs.sqlite3'}"
        database = Database(url)
        upgrade(database)
        database.dispose()
        yield url
        return
    name = pg.create()
    try:
        yield _pg_url(name)
    finally:
        pg.drop(name)


def join_all(threads: list[threading.Thread], timeout: float, what: str = "a thread") -> None:
    """Join every thread within ``timeout`` seconds in all, and fail clearly if one is still running."""
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    alive = [thread.name for thread in threads if thread.is_alive()]
    assert not alive, f"{what} did not end within {timeout} s: {alive}"


def wait_past(epoch_seconds: float) -> None:
    """Wait until the wall clock is past ``epoch_seconds``: for what expires by the clock (tokens, links),
    waiting on the very condition instead of a guessed sleep."""
    while time.time() <= epoch_seconds:
        time.sleep(min(0.05, max(0.001, epoch_seconds - time.time())))


@dataclass
class DistantDatabase:
    """A PostgreSQL database reached through a ``TcpProxy`` that delays each direction."""

    proxy: TcpProxy
    url: str
    direct_url: str

    @classmethod
    def start(cls, direct_url: str, delay_seconds: float) -> DistantDatabase:
        upstream = make_url(direct_url)
        proxy = TcpProxy(upstream.host or "127.0.0.1", upstream.port or 5432, delay_seconds)
        proxy.start()
        url = upstream.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        return cls(proxy, url, direct_url)


def sessions_when(url: str, where: str, done: Callable[[int], bool], timeout: float = 10) -> int:
    """How many of the database's sessions match ``where`` (SQL on ``pg_stat_activity``), asked until
    ``done(count)`` holds or ``timeout`` seconds pass: a server process starts waiting, or ends, a moment
    after its client acted, so a test can only wait for it."""
    deadline = time.monotonic() + timeout
    matching = sql.SQL("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND ({})")
    query = matching.format(sql.SQL(where))  # the test's own SQL text
    with psycopg.connect(psycopg_conninfo(url), autocommit=True) as conn:
        while True:
            row = conn.execute(query).fetchone()
            count = int(row[0]) if row else 0
            if done(count) or time.monotonic() > deadline:
                return count
            time.sleep(0.01)


def end_every_other_session(url: str) -> None:
    """What a restart, a failover or an administrator does to a database's sessions: every client session
    but the caller's ends (57P01), and this returns once the server has none left."""
    others = (
        "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        " AND backend_type = 'client backend'"
    )
    with psycopg.connect(psycopg_conninfo(url), autocommit=True) as conn:
        ended = conn.execute(f"SELECT count(pg_terminate_backend(pid)) {others}").fetchone()
        assert ended is not None and ended[0] > 0
        deadline = time.monotonic() + 10
        while (row := conn.execute(f"SELECT count(*) {others}").fetchone()) and row[0]:
            assert time.monotonic() < deadline
            time.sleep(0.01)


class SetClock:
    """A stand-in for the ``time`` module where only ``monotonic`` is read (``services.throttle``): it
    says ``now``, which moves only when a test moves it."""

    def __init__(self, now: float) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def client_credentials_grant(
    base_url: str, client_id: str, client_secret: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """``POST /oauth/access_token`` with the client-credentials grant: the answer, whatever it is."""
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
    return httpx.post(f"{base_url}/oauth/access_token", data=form, headers=headers, timeout=60)


def access_token(base_url: str, client_id: str, client_secret: str) -> str:
    """A token for the client over HTTP; the test fails unless it is granted (200)."""
    response = client_credentials_grant(base_url, client_id, client_secret)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer_http(base_url: str, token: str) -> httpx.Client:
    """An HTTP client of ``base_url`` that sends ``token`` as its bearer with every request."""
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


@dataclass
class LiveServer:
    """promojobs served by uvicorn on 127.0.0.1 in a background thread: real HTTP, real database."""

    container: Container
    base_url: str
    _server: uvicorn.Server
    _thread: threading.Thread
    clients: list[httpx.Client] = field(default_factory=list)

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        self._server.should_exit = True
        join_all([self._thread], timeout=30, what="the test server")

    def http(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.Client(base_url=self.base_url, headers=headers, timeout=60)
        self.clients.append(client)
        return client

    def token(self, store: str = "store-a", grant_type: str = "client_credentials") -> str:
        client = self.container.auth.create_client(store)
        form = {"grant_type": grant_type, "client_id": client.client_id}
        if grant_type == "client_credentials":
            form["client_secret"] = client.client_secret
        response = httpx.post(f"{self.base_url}/oauth/access_token", data=form, timeout=60)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def api(self, store: str = "store-a") -> Api:
        return Api(self.http(self.token(store)))


# Every statement a test server's engine ran on a thread with a running event loop, with where it came
# from. One such call stalls every request of the process for its round trip (issue 12): the autouse
# fixture ``no_statement_on_an_event_loop`` (tests/conftest.py) fails the test that made any.
BLOCKING_CALLS: list[str] = []


def watch_for_blocking_calls(engine: Engine) -> None:
    def before_cursor_execute(*args: Any) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # a worker thread, the request thread pool or the test's own thread: may block
        BLOCKING_CALLS.append(str(args[2]) + "\n" + "".join(traceback.format_stack(limit=16)))

    event.listen(engine, "before_cursor_execute", before_cursor_execute)


def start_server(database_url: str, data_dir: Path, **overrides: Any) -> LiveServer:
    settings = Settings(database_url=database_url, data_dir=data_dir, **overrides)
    container = bootstrap.build(settings)
    watch_for_blocking_calls(container.database.engine)
    port = free_port()
    config = server_config(
        create_app(container), settings.model_copy(update={"port": port}), log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    return LiveServer(container, f"http://127.0.0.1:{port}", server, thread)


PROMOTION = PROMOTION_REQUEST  # the API docs' example request: the tests send what the docs show


class Api:
    """A thin client for the promotion routes, with factories whose defaults tests can override."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def create_promotion(self, **overrides: Any) -> str:
        response = self.http.post("/v2/promotions", json={"data": {**PROMOTION, **overrides}})
        assert response.status_code == 201, response.text
        return str(response.json()["data"]["id"])

    def add_codes(self, promotion_id: str, *codes: str) -> httpx.Response:
        body = {"data": {"type": "promotion_codes", "codes": [{"code": code} for code in codes]}}
        return self.http.post(f"/v2/promotions/{promotion_id}/codes", json=body)

    def create_job(self, promotion_id: str, job_type: str = "code_generate", **data: Any) -> httpx.Response:
        body = {"data": {"type": "promotion_job", "job_type": job_type, **data}}
        return self.http.post(f"/v2/promotions/{promotion_id}/jobs", json=body)

    def generate(self, promotion_id: str, number_of_codes: int, **parameters: Any) -> dict[str, Any]:
        response = self.create_job(
            promotion_id, parameters={"number_of_codes": number_of_codes, **parameters}
        )
        assert response.status_code == 201, response.text
        return dict(response.json()["data"])

    def job(self, promotion_id: str, job_id: str) -> dict[str, Any]:
        response = self.http.get(f"/v2/promotions/{promotion_id}/jobs/{job_id}")
        assert response.status_code == 200, response.text
        return dict(response.json()["data"])

    def wait_for(self, promotion_id: str, job_id: str, *statuses: str, timeout: float = 60) -> dict[str, Any]:
        wanted = statuses or ("completed", "failed", "cancelled")
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(promotion_id, job_id)
            if job["status"] in wanted:
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job stayed {job['status']}: {job}")
            time.sleep(0.05)

    def list_jobs(self, promotion_id: str, **params: Any) -> httpx.Response:
        return self.http.get(f"/v2/promotions/{promotion_id}/jobs", params=params)

    def cancel(self, promotion_id: str, job_id: str) -> httpx.Response:
        return self.http.post(f"/v2/promotions/{promotion_id}/jobs/{job_id}/cancel")

    def file(self, promotion_id: str, job_id: str) -> httpx.Response:
        return self.http.get(f"/v2/promotions/{promotion_id}/jobs/{job_id}/file")

    def wait_until(
        self, promotion_id: str, job_id: str, condition: Callable[[dict[str, Any]], bool], timeout: float = 60
    ) -> dict[str, Any]:
        """Poll the job until ``condition(job)`` holds; fail with the last state seen."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(promotion_id, job_id)
            if condition(job):
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"condition never held; last state: {job}")
            time.sleep(0.01)

    def all_codes(self, promotion_id: str) -> list[dict[str, Any]]:
        codes: list[dict[str, Any]] = []
        offset = 0
        while True:
            response = self.http.get(
                f"/v2/promotions/{promotion_id}/codes", params={"page[limit]": 100, "page[offset]": offset}
            )
            assert response.status_code == 200, response.text
            page = response.json()["data"]
            codes += page
            if len(page) < 100:
                return codes
            offset += 100


def ep_error(status: int, title: str, detail: str | None = None, source: str | None = None) -> dict[str, Any]:
    """The Elastic Path error body promojobs answers with (``status`` always a string)."""
    error: dict[str, Any] = {"status": str(status), "title": title}
    if detail is not None:
        error["detail"] = detail
    if source is not None:
        error["source"] = source
    return {"errors": [error]}


@contextmanager
def running_workers(server: LiveServer, count: int = 1, batch_size: int | None = None) -> Iterator[None]:
    """``count`` real workers in threads of the test, for a server started without its embedded worker.

    On leaving, they are stopped the graceful way (the task in hand is handed back after its batch).
    """
    container = server.container
    settings = container.worker_settings()
    if batch_size is not None:
        settings = dataclasses.replace(settings, batch_size=batch_size)
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=Worker(container.database, settings, container.wakeup, f"test-worker-{index}").run,
            args=(stop,),
            daemon=True,
        )
        for index in range(count)
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        container.wakeup.set()
        join_all(threads, timeout=60, what="a worker")
