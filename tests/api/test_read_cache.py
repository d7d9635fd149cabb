"""Read answers served from memory (services/read_cache.py) over real HTTP, on both backends: reused while
the store's data did not change, never after a commit, whether the commit came through this server, its
worker, or another process writing to the same database: the very next read sees it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text

from promojobs.store.database import Database
from tests.support import LiveServer, running_workers

MakeServer = Callable[..., LiveServer]


@pytest.fixture
def other_process(database_url: str) -> Iterator[Database]:
    """Another writer of the same database, with connections of its own (as another process has)."""
    database = Database(database_url)
    yield database
    database.dispose()


def _hits(server: LiveServer) -> int:
    return server.container.read_cache.hits


def test_same_read_twice__second_from_memory_and_identical(make_server: MakeServer) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion = api.create_promotion()
    api.generate(promotion, 10)
    first = api.list_jobs(promotion, filter="eq(job_type,code_generate)")
    hits = _hits(server)
    second = api.list_jobs(promotion, filter="eq(job_type,code_generate)")
    assert second.status_code == 200
    assert second.content == first.content
    assert second.headers["content-type"] == "application/json"
    assert _hits(server) == hits + 1


def test_write_through_this_server__next_read_sees_it(make_server: MakeServer) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion = api.create_promotion()
    job = api.generate(promotion, 10)
    assert api.job(promotion, job["id"])["status"] == "pending"
    assert api.job(promotion, job["id"])["status"] == "pending"
    assert api.cancel(promotion, job["id"]).status_code == 200
    assert api.job(promotion, job["id"])["status"] == "cancelled"
    listed = api.list_jobs(promotion).json()["data"]
    assert [j["status"] for j in listed] == ["cancelled"]


def test_worker_progress__every_poll_sees_the_latest_commit(make_server: MakeServer) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion = api.create_promotion()
    job = api.generate(promotion, 5000)
    api.job(promotion, job["id"])  # cached as pending
    seen: list[int] = []

    def record(polled: dict[str, Any]) -> bool:
        seen.append(polled.get("result", {}).get("generated", 0))
        return bool(polled["status"] == "completed")

    with running_workers(server, batch_size=500):
        done = api.wait_until(promotion, job["id"], record)
    assert done["result"]["generated"] == 5000
    assert seen == sorted(seen)
    with server.container.database.read() as conn:
        generated = conn.execute(
            text("SELECT generated FROM jobs WHERE uuid = :u"), {"u": job["id"]}
        ).scalar()
    assert generated == 5000


def _fail_job_directly(database: Database, job_id: str) -> None:
    with database.write() as conn:
        conn.execute(
            text("UPDATE jobs SET status = 'failed', error = 'set by another process' WHERE uuid = :uuid"),
            {"uuid": job_id},
        )


def test_commit_by_another_process__seen_by_the_very_next_read(
    make_server: MakeServer, other_process: Database
) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion = api.create_promotion()
    job = api.generate(promotion, 10)
    hits = _hits(server)
    for _ in range(3):  # cached, and served from memory
        assert api.job(promotion, job["id"])["status"] == "pending"
        assert api.list_jobs(promotion).json()["data"][0]["status"] == "pending"
    assert _hits(server) == hits + 4

    _fail_job_directly(other_process, job["id"])

    answer = api.job(promotion, job["id"])
    assert (answer["status"], answer["error"]) == ("failed", "set by another process")
    assert api.list_jobs(promotion).json()["data"][0]["status"] == "failed"


def test_commit_to_another_store__answers_of_this_one_still_reused(
    make_server: MakeServer, other_process: Database
) -> None:
    server = make_server(embedded_worker=False)
    api_a, api_b = server.api("store-a"), server.api("store-b")
    promotion_a, promotion_b = api_a.create_promotion(), api_b.create_promotion()
    job_b = api_b.generate(promotion_b, 10)
    api_a.list_jobs(promotion_a)
    hits = _hits(server)
    _fail_job_directly(other_process, job_b["id"])
    assert api_a.list_jobs(promotion_a).status_code == 200
    assert _hits(server) == hits + 1
    assert api_b.job(promotion_b, job_b["id"])["status"] == "failed"


def test_stores_never_share_an_answer(make_server: MakeServer) -> None:
    server = make_server(embedded_worker=False)
    api_a, api_b = server.api("store-a"), server.api("store-b")
    api_a.create_promotion(name="A's")
    api_b.create_promotion(name="B's")
    for _ in range(2):
        names_a = [p["name"] for p in api_a.http.get("/v2/promotions").json()["data"]]
        names_b = [p["name"] for p in api_b.http.get("/v2/promotions").json()["data"]]
        assert (names_a, names_b) == (["A's"], ["B's"])


def test_errors_are_not_kept(make_server: MakeServer) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    missing = "00000000-0000-4000-8000-000000000000"
    assert api.http.get(f"/v2/promotions/{missing}").status_code == 404
    assert len(server.container.read_cache) == 0


def test_revoked_client__its_token_gets_no_kept_answer(make_server: MakeServer) -> None:
    server = make_server(embedded_worker=False)
    client = server.container.auth.create_client("store-a")
    grant = server.container.auth.issue_token("client_credentials", client.client_id, client.client_secret)
    http = server.http(grant.access_token)
    assert http.get("/v2/promotions").status_code == 200
    assert http.get("/v2/promotions").status_code == 200  # kept
    assert server.container.auth.revoke_client(client.client_id)
    assert http.get("/v2/promotions").status_code == 401


def test_implicit_token__forbidden_even_where_an_answer_is_kept(make_server: MakeServer) -> None:
    server = make_server(embedded_worker=False)
    api = server.api("store-a")
    implicit = server.http(server.token("store-a", grant_type="implicit"))
    assert api.http.get("/v2/promotions").status_code == 200
    assert api.http.get("/v2/promotions").status_code == 200  # kept for store-a and this URL
    assert implicit.get("/v2/promotions").status_code == 403


def test_rate_limit__applies_to_kept_answers(make_server: MakeServer) -> None:
    server = make_server(embedded_worker=False, rate_limit_per_second=0.01, rate_limit_burst=3)
    api = server.api()
    statuses = [api.http.get("/v2/promotions").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    assert server.container.read_cache.hits >= 2


class _Calls:
    """A spy that counts the calls of a real method and makes them."""

    def __init__(self, method: Callable[..., Any]) -> None:
        self.method = method
        self.count = 0

    def __call__(self, *args: Any) -> Any:
        self.count += 1
        return self.method(*args)


def test_busy_token__confirmed_ahead_of_time__its_requests_never_wait_for_the_lookup(
    make_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token trusted for 1 s (the default) and used without a pause for 3 s: a background confirmation in
    the second half of each trust renews it, so after the first request no request looks the token up
    itself (without that, one would at each of the lapses, and a busy list's p99 was made of those). Only
    a pause of half a second between two requests could make it miss."""
    server = make_server(embedded_worker=False, token_cache_seconds=1.0)
    access, auth = server.container.access, server.container.auth
    looked_up, confirmed = _Calls(access.admit), _Calls(auth.refresh)
    monkeypatch.setattr(access, "admit", looked_up)
    monkeypatch.setattr(auth, "refresh", confirmed)
    api = server.api()
    promotion = api.create_promotion()
    for path in (f"/v2/promotions/{promotion}/jobs", "/v2/promotions"):  # kept answers, then routed reads
        ends = time.monotonic() + 1.5
        while time.monotonic() < ends:
            assert api.http.get(path).status_code == 200
        api.create_promotion()  # the next path's answers are not kept yet
    assert looked_up.count <= 1, f"{looked_up.count} requests looked their token up"
    assert confirmed.count >= 2


def test_token_revoked_by_another_process__refused_within_its_trust_though_confirmed_ahead(
    make_server: MakeServer, other_process: Database
) -> None:
    """Confirming ahead never stretches the trust: a revocation committed elsewhere is seen by every
    request that starts more than the trust (0.4 s) after it."""
    server = make_server(embedded_worker=False, token_cache_seconds=0.4)
    client = server.container.auth.create_client("store-a")
    grant = server.container.auth.issue_token("client_credentials", client.client_id, client.client_secret)
    http = server.http(grant.access_token)
    for _ in range(20):
        assert http.get("/v2/promotions").status_code == 200
    with other_process.write() as conn:
        conn.execute(
            text("UPDATE clients SET revoked_at = 1 WHERE client_id = :id"), {"id": client.client_id}
        )
    revoked = time.monotonic()
    while True:
        sent = time.monotonic()
        status = http.get("/v2/promotions").status_code
        if status == 401:
            break
        assert status == 200
        assert sent - revoked < 0.4, "admitted from a confirmation older than its trust"
