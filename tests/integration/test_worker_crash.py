"""Worker processes that die or are stopped in the middle of a job: the job resumes in another worker and
ends with exactly the requested number of distinct codes, none lost and none twice.

The API server runs in the test without its embedded worker; the workers are real ``promojobs worker``
processes on the same database.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
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

    def start(self, lease_seconds: float, poll_seconds: float = 0.2) -> subprocess.Popen[bytes]:
        name = f"worker-{len(self.started)}"
        # Only the settings named here: a developer's own PROMOJOBS_* variables must not change the test.
        env = process_env(
            self.database_url,
            self.tmp_path / name,
            lease_seconds=lease_seconds,
            worker_batch_size=5000,
            poll_seconds=poll_seconds,
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


def _task_ids_of(server: LiveServer, job_id: str) -> list[int]:
    with server.container.database.read() as conn:
        rows = conn.execute(
            text("SELECT t.id FROM job_tasks t JOIN jobs j ON j.id = t.job_id WHERE j.uuid = :uuid"),
            {"uuid": job_id},
        ).all()
    return [int(row[0]) for row in rows]


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
    """SIGTERM wakes an idle worker at once: it polls only every 600 s here, so an exit within the wait
    below can only come from the signal waking it, not from its poll running out."""
    make_server(embedded_worker=False)
    idle = workers.start(lease_seconds=2, poll_seconds=600)
    _wait_for_log(workers, idle, " started")  # its SIGTERM handler is installed before it logs this
    idle.send_signal(signal.SIGTERM)
    assert idle.wait(timeout=60) == 0, workers.log(idle)
    assert " stopped" in workers.log(idle)


def _wait_for_log(workers: Workers, process: subprocess.Popen[bytes], line: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while line not in workers.log(process):
        assert process.poll() is None, workers.log(process)
        assert time.monotonic() < deadline, f"the worker never logged {line!r}:\n{workers.log(process)}"
        time.sleep(0.05)


def _holds_a_write(database_url: str, task_id: int) -> bool:
    """Whether some transaction holds the task's row (PostgreSQL) or the write lock (SQLite) right now;
    asked without waiting."""
    if database_url.startswith("sqlite"):
        with sqlite3.connect(
            database_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None
        ) as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                return True
            conn.execute("ROLLBACK")
            return False
    with psycopg.connect(database_url) as conn:
        try:
            conn.execute("SELECT id FROM job_tasks WHERE id = %s FOR UPDATE NOWAIT", (task_id,))
        except psycopg.errors.LockNotAvailable:
            return True
        conn.rollback()
        return False


def _pause_between_batches(database_url: str, process: subprocess.Popen[bytes], task_id: int) -> None:
    """SIGSTOP the worker at a moment it holds no lock another worker needs to take its task over (a
    worker paused inside a batch keeps its locks, and nobody could take over): stop it, look, and resume
    and try again if it was inside one."""
    deadline = time.monotonic() + 120
    while True:
        process.send_signal(signal.SIGSTOP)
        if not _holds_a_write(database_url, task_id):
            return
        process.send_signal(signal.SIGCONT)
        assert time.monotonic() < deadline, "the worker was never caught between batches"
        time.sleep(0.01)  # let it run on to another point of its batch


def test_worker_paused_past_its_lease__cannot_add_codes_after_another_worker_took_over(
    make_server: MakeServer, workers: Workers, database_url: str
) -> None:
    """SIGSTOP between batches, another worker takes the task over once the lease expires, then SIGCONT:
    the paused worker's next write is refused ("lease lost"), it commits nothing more, the count is exact."""
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion, job_id, first = _submit_and_wait_until_mid_way(api, workers, lease_seconds=2)
    (task_id,) = _task_ids_of(server, job_id)
    _pause_between_batches(database_url, first, task_id)
    try:
        second = workers.start(lease_seconds=2)
        deadline = time.monotonic() + 120
        while _tasks_of(server, job_id)[0]["attempt"] < 2:
            assert time.monotonic() < deadline, f"the task was never taken over: {_tasks_of(server, job_id)}"
            time.sleep(0.05)
    finally:
        first.send_signal(signal.SIGCONT)
    _wait_for_log(workers, first, "lease lost")
    _assert_exactly_all_codes(server, api, promotion, job_id)
    assert first.poll() is None and second.poll() is None
