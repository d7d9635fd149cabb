"""Round trips to a distant PostgreSQL, counted by the latency proxy in front of it: a read with a known
token costs at most two (the store's version, then the query when the kept answer is not current), and
never a BEGIN/COMMIT of its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import DistantDatabase, LiveServer, start_server


@pytest.fixture
def distant_server(distant_pg: DistantDatabase, tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(distant_pg.url, tmp_path / "data", embedded_worker=False)
    yield server
    server.stop()
    server.container.database.dispose()


def _round_trips(distant_pg: DistantDatabase, request: Callable[[], httpx.Response]) -> int:
    distant_pg.proxy.reset_counts()
    assert request().status_code == 200
    return distant_pg.proxy.round_trips


@pytest.mark.parametrize("path", ["/jobs", "/codes", "", "/jobs?filter=eq(status,pending)"])
def test_list_read_with_a_known_token__at_most_two_round_trips(
    distant_server: LiveServer, distant_pg: DistantDatabase, path: str
) -> None:
    api = distant_server.api()
    promotion = api.create_promotion()
    api.add_codes(promotion, "FIRST-CODE", "SECOND-CODE")
    api.generate(promotion, 10)
    url = f"/v2/promotions{'/' + promotion if path else ''}{path}"
    first = api.http.get(url)  # the token is now known; the answer kept
    assert first.status_code == 200, first.text

    assert api.add_codes(promotion, "THIRD-CODE").status_code == 201  # the kept answer is now stale
    trips = _round_trips(distant_pg, lambda: api.http.get(url))
    assert trips <= 2, f"{trips} round trips for GET {url} after a change"
    trips = _round_trips(distant_pg, lambda: api.http.get(url))
    assert trips <= 1, f"{trips} round trips for GET {url} with nothing changed"


def test_single_reads__at_most_two_round_trips(
    distant_server: LiveServer, distant_pg: DistantDatabase
) -> None:
    api = distant_server.api()
    promotion = api.create_promotion()
    job = api.generate(promotion, 10)
    for url in (f"/v2/promotions/{promotion}", f"/v2/promotions/{promotion}/jobs/{job['id']}"):
        assert api.http.get(url).status_code == 200
        assert api.cancel(promotion, job["id"]).status_code in (200, 422)
        trips = _round_trips(distant_pg, lambda: api.http.get(url))  # noqa: B023 (called at once)
        assert trips <= 2, f"{trips} round trips for GET {url}"
