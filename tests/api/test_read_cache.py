"""Read answers served from memory (services/read_cache.py) over real HTTP, on both backends: reused while
nothing changed, never after a commit, whether the commit came through this server, its worker, or
another process writing to the same database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from promojobs.store.changes import LISTENER_NAME, PostgresClock, clock_for
from promojobs.store.database import Database
from tests.support import LiveServer, running_workers

MakeServer = Callable[..., LiveServer]
# On PostgreSQL a commit by another process is seen when its NOTIFY arrives (milliseconds); on SQLite at
# once. Generous, for a loaded CI machine; the SQLite test checks "at once".
NOTIFY_DEADLINE_SECONDS = 5.0


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
    _wait_until_listening(server)
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


def _first_answer_with(
    read: Callable[[], dict[str, Any]], wanted: Callable[[dict[str, Any]], bool]
) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    while True:
        answer = read()
        waited = time.monotonic() - started
        if wanted(answer) or waited > NOTIFY_DEADLINE_SECONDS:
            return answer, waited
        time.sleep(0.005)


def test_commit_by_another_process__seen_by_the_next_reads(
    make_server: MakeServer, other_process: Database, backend: str
) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion = api.create_promotion()
    job = api.generate(promotion, 10)
    _wait_until_listening(server)
    hits = _hits(server)
    for _ in range(3):  # cached, and served from memory
        assert api.job(promotion, job["id"])["status"] == "pending"
        assert api.list_jobs(promotion).json()["data"][0]["status"] == "pending"
    assert _hits(server) == hits + 4

    _fail_job_directly(other_process, job["id"])

    answer, waited = _first_answer_with(
        lambda: api.job(promotion, job["id"]), lambda j: j["status"] == "failed"
    )
    assert answer["status"] == "failed", f"still {answer['status']} {waited:.1f} s after the commit"
    assert answer["error"] == "set by another process"
    listed = api.list_jobs(promotion).json()["data"]
    assert listed[0]["status"] == "failed"
    if backend == "sqlite":
        assert waited == pytest.approx(0, abs=0.5)  # the very first read after the commit


def _wait_until_listening(server: LiveServer) -> None:
    deadline = time.monotonic() + NOTIFY_DEADLINE_SECONDS
    while server.container.database.changes.version() is None:
        assert time.monotonic() < deadline, "the change listener did not start"
        time.sleep(0.01)


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


def test_postgres_listener_lost__nothing_reused_until_it_is_back(pg_database_url: str) -> None:
    database = Database(pg_database_url)
    clock = clock_for(database.url)
    assert isinstance(clock, PostgresClock)
    clock.watch()
    try:
        before = _listening_version(clock)
        with psycopg.connect(pg_database_url.replace("+psycopg", ""), autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s AND datname = current_database()",
                (LISTENER_NAME,),
            ).fetchone()
        assert killed is not None and killed[0] >= 1
        deadline = time.monotonic() + NOTIFY_DEADLINE_SECONDS
        while clock.version() is not None:  # the lost connection is noticed within the 0.5 s wait
            assert time.monotonic() < deadline, "a lost LISTEN connection was not noticed"
            time.sleep(0.01)
        after = _listening_version(clock)  # reconnected after about a second
        assert after != before, "a commit made while nobody listened could be missed"
    finally:
        clock.close()
        database.dispose()


def _listening_version(clock: PostgresClock) -> object:
    deadline = time.monotonic() + NOTIFY_DEADLINE_SECONDS
    while (version := clock.version()) is None:
        assert time.monotonic() < deadline, "the change listener did not start"
        time.sleep(0.01)
    return version


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
