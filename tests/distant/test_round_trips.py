"""Round trips to a distant PostgreSQL, counted by the latency proxy in front of it: a read with a known
token costs at most two (the store's version, then the query when the kept answer is not current), and
never a BEGIN/COMMIT of its own."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import httpx
import pytest

from tests.api import rule_support as rule
from tests.support import DistantDatabase, LiveServer, start_server


@pytest.fixture
def distant_server(distant_pg: DistantDatabase, tmp_path: Path) -> Iterator[LiveServer]:
    # No heartbeat of the process registry during the test: its few statements, every 2 s, would be
    # counted with the reads' round trips.
    server = start_server(
        distant_pg.url, tmp_path / "data", embedded_worker=False, process_heartbeat_seconds=3600
    )
    yield server
    server.stop()
    server.container.database.dispose()


def _round_trips(
    distant_pg: DistantDatabase, request: Callable[[], httpx.Response], before: Callable[[], object] = list
) -> int:
    """The fewest round trips of three tries (``before`` runs ahead of each): a token is trusted from memory
    for at most a second, so a try may pay its lookup again on a slow machine; a regression adds a round
    trip to every try."""
    counts = []
    for _ in range(3):
        before()
        distant_pg.proxy.reset_counts()
        assert request().status_code == 200
        counts.append(distant_pg.proxy.round_trips)
    return min(counts)


def _assert_two_after_a_change_one_without(
    distant_pg: DistantDatabase, http: httpx.Client, url: str, change: Callable[[], object]
) -> None:
    """A list read with a known token: at most two round trips when ``change`` made its kept answer
    stale (the version, then the query), one when nothing changed."""
    first = http.get(url)  # the token is now known; the answer kept
    assert first.status_code == 200, first.text
    trips = _round_trips(distant_pg, lambda: http.get(url), change)
    assert trips <= 2, f"{trips} round trips for GET {url} after a change"
    trips = _round_trips(distant_pg, lambda: http.get(url))
    assert trips <= 1, f"{trips} round trips for GET {url} with nothing changed"


@pytest.mark.parametrize("path", ["/jobs", "/codes", "", "/jobs?filter=eq(status,pending)"])
def test_list_read_with_a_known_token__at_most_two_round_trips(
    distant_server: LiveServer, distant_pg: DistantDatabase, path: str
) -> None:
    api = distant_server.api()
    promotion = api.create_promotion()
    api.add_codes(promotion, "FIRST-CODE", "SECOND-CODE")
    api.generate(promotion, 10)
    url = f"/v2/promotions{'/' + promotion if path else ''}{path}"
    added = iter(range(100))

    def change() -> None:  # the kept answer is now stale
        assert api.add_codes(promotion, f"MORE-{next(added)}").status_code == 201

    _assert_two_after_a_change_one_without(distant_pg, api.http, url, change)


@pytest.mark.parametrize(
    "path",
    [
        "/jobs",
        "/codes",
        "/codes?filter=eq(code,rule-first)",
        "/codes?filter=eq(code,none)",
        "/codes?sort=-code",
        "",
        "*",
    ],
)
def test_rule_list_and_single_reads_with_a_known_token__at_most_two_round_trips(
    distant_server: LiveServer, distant_pg: DistantDatabase, path: str
) -> None:
    """The rule promotion routes' reads as the standard ones: the promotion looked up in the list's own
    statement, an empty page (``none``) too. ``""`` is the list of rule promotions, ``*`` one of them."""
    api = distant_server.api()
    promotion = rule.create_id(api)
    assert rule.add_codes(api, promotion, {"code": "RULE-FIRST"}, {"code": "RULE-SECOND"}).status_code == 201
    job = rule.create_job(api, promotion, parameters={"number_of_codes": 10})
    assert job.status_code == 201, job.text
    url = rule.BASE + {"": "", "*": f"/{promotion}"}.get(path, f"/{promotion}{path}")
    added = iter(range(100))

    def change() -> None:  # the kept answer is now stale
        assert rule.add_codes(api, promotion, {"code": f"MORE-{next(added)}"}).status_code == 201

    _assert_two_after_a_change_one_without(distant_pg, api.http, url, change)


def test_single_reads__at_most_two_round_trips(
    distant_server: LiveServer, distant_pg: DistantDatabase
) -> None:
    api = distant_server.api()
    promotion = api.create_promotion()
    job = api.generate(promotion, 10)
    for url in (f"/v2/promotions/{promotion}", f"/v2/promotions/{promotion}/jobs/{job['id']}"):
        assert api.http.get(url).status_code == 200

        def change() -> None:  # a new code moves the store's version: the kept answer is stale
            api.add_codes(promotion, f"CODE-{time.monotonic_ns()}")

        trips = _round_trips(distant_pg, lambda: api.http.get(url), change)  # noqa: B023 (called at once)
        assert trips <= 2, f"{trips} round trips for GET {url}"


def test_concurrent_reads_of_one_store__share_its_version_reads(
    distant_server: LiveServer, distant_pg: DistantDatabase
) -> None:
    """32 clients polling one code list at once: the requests that arrive together share a version read
    begun after they came (up to eight of the store in flight, the rest joining the next), so they cost far
    fewer than 32 round trips (each request reading its own costs at least 32; 78 were counted before the
    reads were shared), the fewest of three tries; and each still sees the write acknowledged before it
    was sent."""
    api = distant_server.api()
    promotion = api.create_promotion()
    url = f"{distant_server.base_url}/v2/promotions/{promotion}/codes"
    headers = dict(api.http.headers)
    clients = [httpx.Client(headers=headers) for _ in range(32)]
    try:
        tries = []
        for added in range(3):
            assert api.add_codes(promotion, f"SHARED-{added}").status_code == 201
            for client in clients:  # connected, and the answer kept under the new version
                assert client.get(url).json()["meta"]["results"]["total"] == added + 1
            distant_pg.proxy.reset_counts()
            with ThreadPoolExecutor(len(clients)) as pool:
                totals = list(pool.map(partial(_poll, threading.Barrier(len(clients)), url), clients))
            tries.append(distant_pg.proxy.round_trips)
            assert totals == [added + 1] * len(clients)
        assert min(tries) <= len(clients) // 4, f"{tries} round trips for {len(clients)} concurrent reads"
    finally:
        for client in clients:
            client.close()


def _poll(start: threading.Barrier, url: str, client: httpx.Client) -> int:
    start.wait()  # all at once
    return int(client.get(url).json()["meta"]["results"]["total"])
