"""The store's hand-added-codes lock on PostgreSQL: a hand-add of rule codes (exclusive) and a generate
batch (shared) of the same store wait for each other; generate batches do not wait for each other."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, text

from promojobs.store.database import Database
from promojobs.store.rule_codes import lock_hand_added_codes
from tests.api.rule_support import add_codes, create_id, create_job, job, wait_for

STORE = 7
# A safety bound so a broken lock fails the test instead of hanging it; not a timing assertion.
MAX_POLLS = 100_000
FINAL = ("completed", "failed", "cancelled")


def _waiting_pids(conn: Connection) -> set[int]:
    rows = conn.execute(
        text(
            "SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
            "WHERE a.datname = current_database() AND l.locktype = 'advisory' AND NOT l.granted "
            "AND a.wait_event_type = 'Lock' AND a.wait_event = 'advisory'"
        )
    ).scalars()
    return {int(pid) for pid in rows}


def _wait_until_blocked(observer: Database, pid: int | None, finished: Callable[[], bool]) -> None:
    """Until ``pid`` (any backend if None) waits for an advisory lock; fail if ``finished`` first."""
    for _ in range(MAX_POLLS):
        assert not finished(), "the second transaction went on without waiting for the lock"
        with observer.read() as conn:
            waiting = _waiting_pids(conn)
        if waiting if pid is None else pid in waiting:
            return
    raise AssertionError("the second transaction never waited for the lock")


def _store_id(database: Database) -> int:
    with database.read() as conn:
        return int(conn.execute(text("SELECT store_id FROM promotions")).scalar_one())


def _blocked_by_first(database_url: str, first_exclusive: bool, second_exclusive: bool) -> None:
    holder, contender, observer = Database(database_url), Database(database_url), Database(database_url)
    started = threading.Event()
    finished = threading.Event()
    pid: list[int] = []

    def second() -> None:
        with contender.write() as conn:
            pid.append(int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one()))
            started.set()
            lock_hand_added_codes(conn, STORE, exclusive=second_exclusive)
            finished.set()

    try:
        with holder.write() as conn:
            lock_hand_added_codes(conn, STORE, exclusive=first_exclusive)
            thread = threading.Thread(target=second)
            thread.start()
            started.wait()
            _wait_until_blocked(observer, pid[0], finished.is_set)
            assert not finished.is_set()
        # The first transaction committed: its lock is gone and the second goes on.
        thread.join()
        assert finished.is_set()
    finally:
        for database in (holder, contender, observer):
            database.dispose()


def test_generate_batch_waits_for_an_open_hand_add(pg_database_url: str) -> None:
    _blocked_by_first(pg_database_url, first_exclusive=True, second_exclusive=False)


def test_hand_add_waits_for_an_open_generate_batch(pg_database_url: str) -> None:
    _blocked_by_first(pg_database_url, first_exclusive=False, second_exclusive=True)


def test_generate_batches_and_other_stores_do_not_wait(pg_database_url: str) -> None:
    first, second = Database(pg_database_url), Database(pg_database_url)
    try:
        with first.write() as held, second.write() as conn:
            lock_hand_added_codes(held, STORE, exclusive=False)
            # A wrong lock fails here instead of hanging the test.
            conn.execute(text("SET LOCAL lock_timeout = '60s'"))
            lock_hand_added_codes(conn, STORE, exclusive=False)
            lock_hand_added_codes(conn, STORE + 1, exclusive=True)
            granted = conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            ).scalar_one()
            assert granted == 3
    finally:
        first.dispose()
        second.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_generate_batch_waits_for_the_hand_add_in_flight(server: Any, database_url: str) -> None:
    """The worker's batch takes the lock before it reads the hand-added codes: with a hand-add's lock held
    open, the job adds nothing until it commits."""
    api = server.api()
    promotion = create_id(api)
    holder = Database(database_url)
    try:
        with holder.write() as conn:
            lock_hand_added_codes(conn, _store_id(holder), exclusive=True)
            created = create_job(api, promotion, parameters={"number_of_codes": 20})
            assert created.status_code == 201, created.text
            job_id = created.json()["data"]["id"]
            _wait_until_blocked(holder, None, lambda: job(api, promotion, job_id)["status"] in FINAL)
            assert job(api, promotion, job_id).get("result", {}).get("generated", 0) == 0
        done = wait_for(api, promotion, job_id)
        assert done["status"] == "completed" and done["result"] == {"generated": 20}
    finally:
        holder.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_hand_add_waits_for_the_generate_batch_in_flight(server: Any, database_url: str) -> None:
    """The hand-add takes the lock before it checks the store's codes: with a batch's lock held open, it
    answers only after that batch commits."""
    api = server.api()
    promotion = create_id(api)
    holder = Database(database_url)
    answer: list[httpx.Response] = []
    adding = threading.Thread(target=lambda: answer.append(add_codes(api, promotion, {"code": "held-1"})))
    try:
        with holder.write() as conn:
            lock_hand_added_codes(conn, _store_id(holder), exclusive=False)
            adding.start()
            _wait_until_blocked(holder, None, lambda: bool(answer))
            assert not answer
        adding.join()
        assert answer[0].status_code == 201, answer[0].text
    finally:
        holder.dispose()
