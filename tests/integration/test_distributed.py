"""PostgreSQL with many API processes and many worker processes, one of them killed mid-job."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from promojobs import bootstrap
from promojobs.config import Settings
from promojobs.worker.wakeup import CHANNEL
from tests.processes import Fleet
from tests.support import PROMOTION, access_token, bearer_http, sessions_when

BIG_JOB = 1_000_000
SMALL_JOB = 30_000
STORES = 5
JOBS = 20


@pytest.fixture
def fleet(pg_database_url: str, tmp_path: Path) -> Iterator[Fleet]:
    fleet = Fleet(
        pg_database_url,
        tmp_path,
        {"chunk_size": 100_000, "worker_batch_size": 10_000, "lease_seconds": 3, "poll_seconds": 5},
    )
    yield fleet
    fleet.close()


def _tokens(database_url: str, data_dir: Path, base_url: str) -> list[str]:
    container = bootstrap.build(Settings(database_url=database_url, data_dir=data_dir))
    tokens = []
    for index in range(STORES):
        client = container.auth.create_client(f"store-{index}")
        tokens.append(access_token(base_url, client.client_id, client.client_secret))
    container.database.dispose()
    return tokens


def _submit(base_url: str, token: str, number_of_codes: int) -> tuple[str, str, int]:
    with bearer_http(base_url, token) as http:
        promotion = http.post("/v2/promotions", json={"data": PROMOTION}).json()["data"]["id"]
        parameters = {
            "number_of_codes": number_of_codes,
            "code_length": 9 if number_of_codes == BIG_JOB else 8,
        }
        response = http.post(
            f"/v2/promotions/{promotion}/jobs",
            json={"data": {"type": "promotion_job", "job_type": "code_generate", "parameters": parameters}},
        )
        assert response.status_code == 201, response.text
        return promotion, response.json()["data"]["id"], number_of_codes


def _job(base_url: str, token: str, promotion: str, job: str) -> dict[str, Any]:
    response = httpx.get(
        f"{base_url}/v2/promotions/{promotion}/jobs/{job}", headers={"Authorization": f"Bearer {token}"}
    )
    return dict(response.json()["data"])


def _worker_pid_holding(database_url: str, data_dir: Path, job_id: str) -> int | None:
    container = bootstrap.build(Settings(database_url=database_url, data_dir=data_dir))
    with container.database.read() as conn:
        holder = conn.execute(
            text(
                "SELECT t.worker_id FROM job_tasks t JOIN jobs j ON j.id = t.job_id "
                "WHERE j.uuid = :job AND t.status = 'running' LIMIT 1"
            ),
            {"job": job_id},
        ).scalar()
    container.database.dispose()
    return None if holder is None else int(str(holder).split(":")[1])


@pytest.mark.slow
def test_twenty_jobs_on_two_apis_and_four_workers_survive_a_killed_worker(
    fleet: Fleet, pg_database_url: str, tmp_path: Path
) -> None:
    apis = [fleet.api(), fleet.api()]
    workers = [fleet.worker() for _ in range(4)]
    tokens = _tokens(pg_database_url, tmp_path / "admin", apis[0])
    sizes = [BIG_JOB] + [SMALL_JOB] * (JOBS - 1)
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        submitted = list(
            pool.map(
                lambda index: (
                    index % STORES,
                    *_submit(apis[index % 2], tokens[index % STORES], sizes[index]),
                ),
                range(JOBS),
            )
        )

    store, promotion, big_job, _ = submitted[0]
    deadline = time.monotonic() + 120
    while _job(apis[1], tokens[store], promotion, big_job).get("result", {}).get("generated", 0) < 200_000:
        assert time.monotonic() < deadline, "the big job made no progress"
        time.sleep(0.1)
    victim = _worker_pid_holding(pg_database_url, tmp_path / "admin", big_job)
    assert victim in {worker.pid for worker in workers}
    os.kill(victim, signal.SIGKILL)

    deadline = time.monotonic() + 300
    for store, promotion, job, size in submitted:
        while (state := _job(apis[store % 2], tokens[store], promotion, job))["status"] != "completed":
            assert state["status"] in ("pending", "processing"), state
            assert time.monotonic() < deadline, state
            time.sleep(0.2)
        assert state["result"]["generated"] == size

    container = bootstrap.build(Settings(database_url=pg_database_url, data_dir=tmp_path / "admin"))
    with container.database.read() as conn:
        counts = conn.execute(
            text(
                "SELECT p.uuid, count(*), count(DISTINCT upper(c.code)) FROM codes c "
                "JOIN promotions p ON p.id = c.promotion_id GROUP BY p.uuid"
            )
        ).all()
    container.database.dispose()
    by_promotion = {uuid: (total, distinct) for uuid, total, distinct in counts}
    for _, promotion, _, size in submitted:
        assert by_promotion[promotion] == (size, size)


LISTENING = f"query = 'LISTEN {CHANNEL}'"  # a worker connection waiting for notices of new tasks


@pytest.mark.slow
def test_a_new_job_wakes_idle_workers_by_notify_not_by_their_poll(
    fleet: Fleet, pg_database_url: str, tmp_path: Path
) -> None:
    """The workers poll only every 600 s here: a job picked up within the deadline below was picked up
    because NOTIFY woke a worker, which the worker logs."""
    fleet.settings["poll_seconds"] = 600
    api = fleet.api()
    fleet.worker()
    fleet.worker()
    token = _tokens(pg_database_url, tmp_path / "admin", api)[0]
    listening = sessions_when(pg_database_url, LISTENING, lambda count: count == 2, timeout=60)
    assert listening == 2, "the workers never listened for notices"
    promotion, job, _ = _submit(api, token, 1_000)
    _wait_until(
        lambda: _job(api, token, promotion, job)["status"] != "pending",
        "the job stayed pending: no NOTIFY woke an idle worker",
    )
    _wait_until(
        lambda: any("woken by a notice of new work" in log.read_text() for log in fleet.logs[1:]),
        "no worker logged a wake-up by notice",
    )


def _wait_until(condition: Callable[[], bool], failure: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)
