"""Worker processes that die or are stopped in the middle of a job: the job resumes in another worker and
ends with exactly the requested number of distinct codes, none lost and none twice.

The API server runs in the test without its embedded worker; the workers are real ``promojobs worker``
processes on the same database.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.processes import PROMOJOBS, process_env
from tests.support import Api, LiveServer

pytestmark = pytest.mark.slow

MakeServer = Callable[..., LiveServer]
TOTAL = 200_000


class Workers:
    """``promojobs worker`` subprocesses started by one test, all stopped when it ends."""

    def __init__(self, database_url: str, tmp_path: Path) -> None:
        self.database_url = database_url
        self.tmp_path = tmp_path
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, lease_seconds: float) -> subprocess.Popen[bytes]:
        name = f"worker-{len(self.started)}"
        # Only the settings named here: a developer's own PROMOJOBS_* variables must not change the test.
        env = process_env(
            self.database_url,
            self.tmp_path / name,
            lease_seconds=lease_seconds,
            worker_batch_size=5000,
            poll_seconds=0.2,
        )
        log = (self.tmp_path / f"{name}.log").open("wb")
        process = subprocess.Popen([PROMOJOBS, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.started.append(process)
        return process

    def log(self, process: subprocess.Popen[bytes]) -> str:
        index = self.started.index(process)
        return (self.tmp_path / f"worker-{index}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)


@pytest.fixture
def workers(database_url: str, tmp_path: Path) -> Iterator[Workers]:
    started = Workers(database_url, tmp_path)
    yield started
    started.stop_all()


def _generated(job: dict[str, Any]) -> int:
    return int(job.get("result", {}).get("generated", 0))


def _codes_of(server: LiveServer, job_id: str) -> tuple[int, int]:
    """(rows, distinct case-insensitive codes) the job owns in the codes table."""
    with server.container.database.read() as conn:
        row = conn.execute(
            text(
                "SELECT count(*), count(DISTINCT upper(c.code)) FROM codes c JOIN jobs j ON j.id = c.job_id "
                "WHERE j.uuid = :uuid"
            ),
            {"uuid": job_id},
        ).one()
    return int(row[0]), int(row[1])


def _tasks_of(server: LiveServer, job_id: str) -> list[dict[str, Any]]:
    with server.container.database.read() as conn:
        rows = conn.execute(
            text(
                "SELECT t.status, t.worker_id, t.attempt, t.done, t.target FROM job_tasks t "
                "JOIN jobs j ON j.id = t.job_id WHERE j.uuid = :uuid ORDER BY t.seq"
            ),
            {"uuid": job_id},
        ).all()
    return [dict(row._mapping) for row in rows]


def _submit_and_wait_until_mid_way(api: Api, workers: Workers, lease_seconds: float) -> tuple[str, str, Any]:
    promotion = api.create_promotion()
    first = workers.start(lease_seconds)
    job = api.generate(promotion, TOTAL)
    api.wait_until(
        promotion,
        job["id"],
        lambda state: state["status"] == "processing" and _generated(state) > 0,
        timeout=60,
    )
    return promotion, job["id"], first


def _assert_exactly_all_codes(server: LiveServer, api: Api, promotion: str, job_id: str) -> dict[str, Any]:
    done = api.wait_for(promotion, job_id, timeout=120)
    assert done["status"] == "completed", done
    assert done["result"] == {"generated": TOTAL}
    assert _codes_of(server, job_id) == (TOTAL, TOTAL)
    listed = api.http.get(f"/v2/promotions/{promotion}/codes", params={"page[limit]": 1}).json()
    assert listed["meta"]["results"]["total"] == TOTAL
    return done


def test_worker_killed_mid_job__another_worker_resumes_after_the_lease_with_exactly_all_codes(
    make_server: MakeServer, workers: Workers
) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion, job_id, first = _submit_and_wait_until_mid_way(api, workers, lease_seconds=2)
    first.send_signal(signal.SIGKILL)
    assert first.wait(timeout=30) == -signal.SIGKILL

    stranded = api.job(promotion, job_id)
    assert stranded["status"] == "processing", "the job must be mid-way when its worker dies"
    assert 0 < _generated(stranded) < TOTAL
    assert _codes_of(server, job_id) == (_generated(stranded), _generated(stranded))
    assert [task["status"] for task in _tasks_of(server, job_id)] == ["running"]

    second = workers.start(lease_seconds=2)
    _assert_exactly_all_codes(server, api, promotion, job_id)
    (task,) = _tasks_of(server, job_id)
    assert (task["status"], task["attempt"], task["done"]) == ("done", 2, TOTAL)
    assert second.poll() is None, workers.log(second)


def test_worker_stopped_with_sigterm__hands_the_job_back_and_another_worker_finishes_it(
    make_server: MakeServer, workers: Workers
) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    # A lease far longer than the test: only a graceful hand-back lets the second worker resume in time.
    promotion, job_id, first = _submit_and_wait_until_mid_way(api, workers, lease_seconds=600)
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=60) == 0, workers.log(first)
    assert "released on stop" in workers.log(first)

    handed_back = api.job(promotion, job_id)
    assert handed_back["status"] == "processing"
    generated = _generated(handed_back)
    assert 0 < generated < TOTAL
    assert _codes_of(server, job_id) == (generated, generated)
    (task,) = _tasks_of(server, job_id)
    assert (task["status"], task["worker_id"], task["attempt"], task["done"]) == ("ready", None, 0, generated)

    workers.start(lease_seconds=600)
    _assert_exactly_all_codes(server, api, promotion, job_id)
    (task,) = _tasks_of(server, job_id)
    assert (task["status"], task["attempt"], task["done"]) == ("done", 1, TOTAL)


def test_idle_worker_stopped_with_sigterm__exits_promptly(make_server: MakeServer, workers: Workers) -> None:
    make_server(embedded_worker=False)
    idle = workers.start(lease_seconds=2)
    deadline = time.monotonic() + 30
    while " started" not in workers.log(idle):
        assert idle.poll() is None and time.monotonic() < deadline, workers.log(idle)
        time.sleep(0.05)
    time.sleep(0.5)  # now waiting for work
    stopped_at = time.monotonic()
    idle.send_signal(signal.SIGTERM)
    assert idle.wait(timeout=10) == 0, workers.log(idle)
    assert time.monotonic() - stopped_at < 2
    assert " stopped" in workers.log(idle)


def test_worker_paused_past_its_lease__cannot_add_codes_after_another_worker_took_over(
    make_server: MakeServer, workers: Workers
) -> None:
    """SIGSTOP, then SIGCONT after the lease expired: a worker that was paused between batches finds its
    task taken over and commits nothing more ("lease lost"); one paused inside a batch still holds its
    locks, so nobody could take over, and it simply goes on. Either way the count is exact."""
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion, job_id, first = _submit_and_wait_until_mid_way(api, workers, lease_seconds=2)
    first.send_signal(signal.SIGSTOP)
    try:
        paused_at = _generated(api.job(promotion, job_id))
        second = workers.start(lease_seconds=2)
        time.sleep(6)
        progressed = _generated(api.job(promotion, job_id)) > paused_at
    finally:
        first.send_signal(signal.SIGCONT)
    _assert_exactly_all_codes(server, api, promotion, job_id)
    if progressed:
        deadline = time.monotonic() + 30
        while "lease lost" not in workers.log(first):
            assert time.monotonic() < deadline, workers.log(first)
            time.sleep(0.1)
    assert first.poll() is None and second.poll() is None
