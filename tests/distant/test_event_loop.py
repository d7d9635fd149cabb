"""With the database a network hop away, no request waits for another's database call: reads run side by
side in the request threads, and /healthz answers while every request thread waits for a row lock."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest

from promojobs.api.operation_docs import OPERATION_DOCS
from promojobs.api.routes.health import readyz
from tests.served import start_serve
from tests.support import PROMOTION, Api, DistantDatabase, LiveServer, sessions_when, start_server

MakeServer = Callable[..., LiveServer]
CONCURRENT = 32
REQUEST_THREADS = 4


@pytest.fixture
def make_distant_server(distant_pg: DistantDatabase, tmp_path: Path) -> Iterator[MakeServer]:
    servers: list[LiveServer] = []

    def make(**settings: object) -> LiveServer:
        server = start_server(distant_pg.url, tmp_path / f"data{len(servers)}", **settings)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
        server.container.database.dispose()


@pytest.mark.distant_delay(0.005)
def test_32_concurrent_reads__far_less_than_32_times_one(distant_pg: DistantDatabase, tmp_path: Path) -> None:
    # The server in a process of its own (as deployed), so the clients' and the proxy's threads here do
    # not compete with it for one interpreter.
    served = start_serve(distant_pg.url, tmp_path / "api", {"read_cache_entries": 0}, worker=False)
    try:
        token = served.tokens(["store-a"])["store-a"]
        headers = {"Authorization": f"Bearer {token}"}
        clients = [
            httpx.Client(base_url=served.base_url, headers=headers, timeout=60) for _ in range(CONCURRENT)
        ]
        promotion = clients[0].post("/v2/promotions", json={"data": PROMOTION}).json()["data"]["id"]
        codes = {"type": "promotion_codes", "codes": [{"code": f"CODE-{index:03d}"} for index in range(25)]}
        assert clients[0].post(f"/v2/promotions/{promotion}/codes", json={"data": codes}).status_code == 201
        url = f"/v2/promotions/{promotion}/codes"  # every read queries: the read cache is off

        def read(client: httpx.Client) -> float:
            started = time.perf_counter()
            assert client.get(url).status_code == 200
            return time.perf_counter() - started

        with ThreadPoolExecutor(CONCURRENT) as pool:
            for _ in range(2):  # every connection (HTTP, and the database pool's) opened before measuring
                list(pool.map(read, clients))
            one = statistics.median(read(clients[0]) for _ in range(5))
            started = time.perf_counter()
            list(pool.map(read, clients))
            together = time.perf_counter() - started
        for client in clients:
            client.close()
    finally:
        served.stop()
    print(f"32 concurrent reads: {together / one:.1f}x one read ({one * 1000:.1f} ms)")
    # Serialised, 32 reads would take 32x one read; side by side, a few times one at most.
    assert together < 10 * one, (
        f"32 concurrent reads took {together / one:.1f}x one read ({one * 1000:.1f} ms)"
    )


def test_healthz__answers_while_every_request_thread_waits_for_a_row_lock(
    make_distant_server: MakeServer, distant_pg: DistantDatabase
) -> None:
    server = make_distant_server(embedded_worker=False, request_threads=REQUEST_THREADS)
    api = server.api()
    promotion = api.create_promotion()
    token = api.http.headers["Authorization"].split()[1]
    blocked = REQUEST_THREADS + 2
    with psycopg.connect(distant_pg.direct_url.replace("+psycopg", "")) as holder:
        holder.execute("SELECT id FROM promotions WHERE uuid = %s FOR UPDATE", (promotion,))
        writers = [
            threading.Thread(target=_add_code, args=(server, token, promotion, f"LOCKED-{index}"))
            for index in range(blocked)
        ]
        for writer in writers:
            writer.start()
        _wait_for_lock_waiters(distant_pg.direct_url, REQUEST_THREADS)
        health = httpx.get(f"{server.base_url}/healthz", timeout=10)
        assert health.status_code == 200
        assert all(writer.is_alive() for writer in writers)  # still waiting for the lock
        holder.rollback()
    for writer in writers:
        writer.join(timeout=60)
    codes = Api(server.http(token)).all_codes(promotion)
    assert sorted(c["code"] for c in codes) == sorted(f"LOCKED-{index}" for index in range(blocked))


def _add_code(server: LiveServer, token: str, promotion: str, code: str) -> None:
    body = {"data": {"type": "promotion_codes", "codes": [{"code": code}]}}
    response = httpx.post(
        f"{server.base_url}/v2/promotions/{promotion}/codes",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 201, response.text


def _wait_for_lock_waiters(direct_url: str, count: int) -> None:
    waiting = sessions_when(
        direct_url, "wait_event_type = 'Lock'", lambda waiters: waiters >= count, timeout=30
    )
    assert waiting >= count, f"only {waiting} requests waiting for the lock"


def test_readyz__503_when_the_database_hangs__healthz_still_200(
    make_distant_server: MakeServer, distant_pg: DistantDatabase
) -> None:
    server = make_distant_server(embedded_worker=False)
    assert httpx.get(f"{server.base_url}/readyz", timeout=10).status_code == 200
    distant_pg.proxy.hold()  # connections stay open, nothing comes back: a hung database
    try:
        ready = httpx.get(f"{server.base_url}/readyz", timeout=30)
        assert ready.status_code == 503, ready.text
        # The answer the OpenAPI document shows for it (tests/api/test_openapi_examples.py sends the others).
        (documented,) = [example for example in OPERATION_DOCS[readyz].examples if example.status == 503]
        assert ready.json() == documented.body
        assert httpx.get(f"{server.base_url}/healthz", timeout=10).status_code == 200
    finally:
        distant_pg.proxy.release()
    assert httpx.get(f"{server.base_url}/readyz", timeout=30).status_code == 200
