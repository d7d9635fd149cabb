"""Faults, each test named after its fault: what the user sees, and that nothing is lost.

- the database unreachable at start (PostgreSQL with nothing listening, an impossible SQLite path, a data
  directory that cannot exist; and a database that appears during the wait);
- the database lost mid-request (a TCP proxy between promojobs and PostgreSQL, cut and restored);
- the export directory unwritable, and the disk full, during an export;
- SQLite under 50 concurrent writers while a generate job runs.

Workers killed (SIGKILL), stopped (SIGTERM) or paused past their lease (SIGSTOP) are in
``test_worker_crash.py``; see docs/reliability.md for the whole list.
"""

from __future__ import annotations

import errno
import os
import select
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, make_url, text

from promojobs.domain.errors import Unavailable
from promojobs.store.database import Database
from promojobs.worker import export
from tests.processes import PROMOJOBS, BootstrapClient, process_env
from tests.served import Served, spawn_worker, start_serve, wait_for_log, wait_ready
from tests.support import PROMOTION, Api, LiveServer, end_every_other_session, join_all
from tests.tcp_proxy import TcpProxy

MakeServer = Callable[..., LiveServer]
BOOTSTRAP = BootstrapClient("fault-client", "fault-secret-0123456789")


def _run_serve(database_url: str | None, data_dir: Path, **settings: object) -> tuple[int, str]:
    """Run ``promojobs serve`` to its end: (exit code, everything it printed). Without a
    ``database_url`` it uses its default SQLite file in ``data_dir``."""
    env = process_env(database_url or "", data_dir, **settings)
    if database_url is None:
        del env["PROMOJOBS_DATABASE_URL"]
    result = subprocess.run(
        [PROMOJOBS, "serve", "--port", "1"],  # it must give up long before it would listen anywhere
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode, result.stdout + result.stderr


def _proxied(database_url: str, proxy: TcpProxy) -> str:
    url = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    return url.render_as_string(hide_password=False)


def _job_codes(database_url: str, job_id: str) -> tuple[int, int]:
    """(rows, distinct case-insensitive codes) the job owns, read straight from the database."""
    database = Database(database_url)
    try:
        with database.read() as conn:
            row = conn.execute(
                text(
                    "SELECT count(*), count(DISTINCT upper(c.code)) FROM codes c "
                    "JOIN jobs j ON j.id = c.job_id WHERE j.uuid = :uuid"
                ),
                {"uuid": job_id},
            ).one()
    finally:
        database.dispose()
    return int(row[0]), int(row[1])


def _job_row(database_url: str, job_id: str) -> dict[str, Any]:
    database = Database(database_url)
    try:
        with database.read() as conn:
            row = conn.execute(
                text("SELECT status, error, generated FROM jobs WHERE uuid = :uuid"), {"uuid": job_id}
            ).one()
    finally:
        database.dispose()
    return dict(row._mapping)


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.request.method, response.request.url, response.text)
    assert response.headers["content-type"].startswith("application/json")
    (error,) = response.json()["errors"]
    assert error["status"] == "503"
    assert error["title"] == "Service Unavailable"
    assert error["detail"]


def _assert_unavailable_soon(http: httpx.Client, method: str, path: str, body: Any) -> None:
    """503 with the Elastic Path body. A read may still be answered from the read cache (200) for the
    moment until the server's change listener sees its own connection closed; within a second, 503."""
    deadline = time.monotonic() + 1.0
    while True:
        response = http.request(method, path, json=body)
        if method != "GET" or path == "/readyz" or response.status_code != 200 or time.monotonic() > deadline:
            _assert_unavailable(response)
            return
        time.sleep(0.005)


# -- the database unreachable at start --------------------------------------------------------------------


def test_database_unreachable_at_start__nothing_listens_on_the_postgresql_port__retries_then_exits_clearly(
    tmp_path: Path,
) -> None:
    reserved = TcpProxy("127.0.0.1", 9)  # bound, never listening: connections are refused
    try:
        url = f"postgresql://promojobs:s3cret-password@127.0.0.1:{reserved.port}/promojobs"
        code, output = _run_serve(url, tmp_path, database_wait_seconds=2)
    finally:
        reserved.close()
    assert code == 1, output
    where = (
        f"the database at postgresql://promojobs:***@127.0.0.1:{reserved.port}/promojobs cannot be reached"
    )
    assert output.count(where) >= 3, output  # two retries or more, then the final message
    assert "retrying in" in output and "PROMOJOBS_DATABASE_WAIT_SECONDS" in output
    last = output.strip().splitlines()[-1]
    assert last.startswith(f"Error: {where} (") and "Connection refused" in last, output
    assert "gave up after 2 s. Check PROMOJOBS_DATABASE_URL" in last
    assert "s3cret-password" not in output
    assert "Traceback" not in output


@pytest.mark.parametrize("where", ["database_url", "data_dir"])
def test_database_unreachable_at_start__impossible_sqlite_path__retries_then_exits_clearly(
    tmp_path: Path, where: str
) -> None:
    blocker = tmp_path / "a-regular-file"
    blocker.write_text("not a directory")
    if where == "database_url":  # an explicit SQLite URL whose directory cannot exist
        impossible = blocker / "promojobs.sqlite3"
        code, output = _run_serve(f"sqlite:///{impossible}", tmp_path / "data", database_wait_seconds=2)
        problem = f"the SQLite database {impossible} cannot be opened (unable to open database file)"
        hint = "Check that its directory exists and is writable"
    else:  # the default SQLite file inside a data directory that cannot exist
        code, output = _run_serve(None, blocker / "data", database_wait_seconds=2)
        problem = f"the data directory {blocker / 'data'} cannot be used (Not a directory"
        hint = "Check PROMOJOBS_DATA_DIR"
    assert code == 1, output
    assert output.count(problem) >= 3, output
    last = output.strip().splitlines()[-1]
    assert last.startswith(f"Error: {problem}") and "gave up after 2 s" in last and hint in last, output
    assert "Traceback" not in output


@pytest.mark.slow
def test_database_unreachable_at_start__postgresql_appears_during_the_wait__serve_and_worker_start(
    pg_database_url: str, tmp_path: Path
) -> None:
    upstream = make_url(pg_database_url)
    proxy = TcpProxy(upstream.host or "127.0.0.1", upstream.port or 5432)  # not listening yet
    url = _proxied(pg_database_url, proxy)
    served = start_serve(url, tmp_path / "api", BOOTSTRAP.settings, worker=False, wait=False)
    worker = spawn_worker(url, tmp_path / "worker", {"poll_seconds": 0.2})
    try:
        for process in (served, worker):  # each has retried at least once: it waits, it did not give up
            wait_for_log(process, "cannot be reached (connection failed", count=2)
        assert served.process.poll() is None and worker.process.poll() is None
        proxy.start()  # the database appears
        wait_ready(served, timeout=30)
        wait_for_log(worker, " started", timeout=30)
        with BOOTSTRAP.http(served.base_url) as http:
            api = Api(http)
            promotion = api.create_promotion()
            job = api.generate(promotion, 1000)
            done = api.wait_for(promotion, job["id"], timeout=60)
        assert done["status"] == "completed" and done["result"] == {"generated": 1000}
    finally:
        served.stop()
        worker.stop()
        proxy.close()


@pytest.mark.slow
def test_database_unreachable_at_start__sqlite_directory_appears_during_the_wait__serve_starts(
    tmp_path: Path,
) -> None:
    later = tmp_path / "mounted-later"
    served = start_serve(
        f"sqlite:///{later / 'promojobs.sqlite3'}", tmp_path / "data", BOOTSTRAP.settings, wait=False
    )
    try:
        wait_for_log(served, "cannot be opened (unable to open database file)")
        later.mkdir()
        wait_ready(served, timeout=30)
        with BOOTSTRAP.http(served.base_url) as http:
            assert Api(http).create_promotion()
    finally:
        served.stop()


# -- the database lost mid-request ---------------------------------------------------------------------------

LOST_JOB = 300_000  # in batches of 1,000: long enough to still run at every cut, even on a fast machine


class Hammer:
    """Threads sending reads and writes in a loop until stopped, recording (sent, answered, status) of each
    request. A request that raises (no answer: a hang past the client timeout, a dropped connection) is
    recorded with status 0, so the test sees it."""

    def __init__(self, base_url: str, token: str, promotion: str, job: str, threads: int = 4) -> None:
        self.results: list[tuple[float, float, int]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._loop, args=(base_url, token, promotion, job, index), daemon=True)
            for index in range(threads)
        ]

    def __enter__(self) -> Hammer:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        join_all(self._threads, timeout=60, what="a hammering client")

    def _loop(self, base_url: str, token: str, promotion: str, job: str, index: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        requests: list[tuple[str, str, dict[str, Any] | None]] = [
            ("GET", "/v2/promotions", None),
            ("GET", f"/v2/promotions/{promotion}/jobs/{job}", None),
            ("GET", f"/v2/promotions/{promotion}/codes?page[limit]=5", None),
            ("POST", "/v2/promotions", {"data": PROMOTION}),
        ]
        sent = 0
        with httpx.Client(base_url=base_url, headers=headers, timeout=20) as http:
            while not self._stop.is_set():
                method, path, body = requests[(sent + index) % len(requests)]
                sent += 1
                sent_at = time.monotonic()
                try:
                    status = http.request(method, path, json=body).status_code
                except httpx.HTTPError:
                    status = 0
                with self._lock:
                    self.results.append((sent_at, time.monotonic(), status))
                time.sleep(0.01)

    def statuses(self, when: Callable[[float, float], bool]) -> Counter[int]:
        """Statuses of the requests whose (sent, answered) times satisfy ``when``."""
        with self._lock:
            return Counter(status for sent, answered, status in self.results if when(sent, answered))

    def wait_for_answers(self, when: Callable[[float, float], bool], count: int = 8) -> None:
        """Wait until ``count`` requests whose (sent, answered) times satisfy ``when`` were answered."""
        deadline = time.monotonic() + 60
        while sum(self.statuses(when).values()) < count:
            assert time.monotonic() < deadline, f"the hammering clients got no answers: {self.statuses(when)}"
            time.sleep(0.01)


@pytest.mark.slow
def test_database_lost_mid_request__503_with_an_elastic_path_body__recovery_and_no_job_lost(
    pg_database_url: str, tmp_path: Path
) -> None:
    """The API and a worker reach PostgreSQL through a proxy; the proxy is cut while a job runs and while
    requests are in flight, then restored."""
    upstream = make_url(pg_database_url)
    proxy = TcpProxy(upstream.host or "127.0.0.1", upstream.port or 5432)
    proxy.start()
    url = _proxied(pg_database_url, proxy)
    # A lease far longer than the test: the job can only finish in time if the worker hands its task back
    # after the outage instead of leaving it to expire.
    # One chunk (chunk_size above the job), so the second worker really has nothing to claim.
    settings: dict[str, object] = {
        "worker_batch_size": 1000,
        "lease_seconds": 600,
        "poll_seconds": 0.2,
        "chunk_size": LOST_JOB,
    }
    served = start_serve(url, tmp_path / "api", {**BOOTSTRAP.settings, "chunk_size": LOST_JOB}, worker=False)
    worker = spawn_worker(url, tmp_path / "worker", settings)
    http = BOOTSTRAP.http(served.base_url)
    idle = None
    try:
        api = Api(http)
        promotion = api.create_promotion()
        api.add_codes(promotion, "HAND-ADDED-1")
        job = api.generate(promotion, LOST_JOB)
        api.wait_until(
            promotion,
            job["id"],
            lambda j: j["status"] == "processing" and j.get("result", {}).get("generated", 0) > 0,
        )
        # A second worker, idle (the only task is taken): it meets the outage between tasks.
        idle = spawn_worker(url, tmp_path / "idle", settings)
        wait_for_log(idle, " started")
        token = http.headers["Authorization"].split()[1]
        with Hammer(served.base_url, token, promotion, job["id"]) as hammer:
            hammer.wait_for_answers(lambda sent, answered: True)
            cut_at = time.monotonic()
            proxy.cut()
            # Every kind of request answers 503 at once, with the Elastic Path error body.
            for method, path, body in [
                ("GET", "/v2/promotions", None),
                ("GET", f"/v2/promotions/{promotion}", None),
                ("GET", f"/v2/promotions/{promotion}/jobs/{job['id']}", None),
                ("POST", "/v2/promotions", {"data": PROMOTION}),
                (
                    "POST",
                    f"/v2/promotions/{promotion}/codes",
                    {"data": {"type": "promotion_codes", "codes": [{"code": "DURING-OUTAGE"}]}},
                ),
                (
                    "POST",
                    f"/v2/promotions/{promotion}/jobs",
                    {"data": {"type": "promotion_job", "job_type": "code_export"}},
                ),
                ("GET", "/readyz", None),
            ]:
                # At once: the client's timeout (60 s) turns a request that hangs into a failure.
                _assert_unavailable_soon(http, method, path, body)
            tokens = httpx.post(
                f"{served.base_url}/oauth/access_token",
                data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
            )
            assert tokens.status_code in (401, 503), tokens.text  # a bad secret needs no database to refuse
            assert httpx.get(f"{served.base_url}/healthz").status_code == 200  # the process itself is fine
            wait_for_log(worker, "the database was lost during its generate task")
            wait_for_log(idle, "the database cannot be reached", count=2)  # the outage went on for a while
            # The worker did not fail the job: it waits for the database.
            during = _job_row(pg_database_url, job["id"])
            assert (during["status"], during["error"]) == ("processing", None), during
            assert 0 < during["generated"] < LOST_JOB
            assert worker.process.poll() is None, worker.log()

            restored_at = time.monotonic()
            proxy.restore()
            first = http.get(f"/v2/promotions/{promotion}/jobs/{job['id']}")  # pool_pre_ping: at once
            assert first.status_code == 200, first.text
            hammer.wait_for_answers(lambda sent, answered: sent > restored_at)
        # Before the cut and after the restore: success only. In flight at the cut (lost mid-request) or
        # sent during the outage: 503, or success for those that finished first.
        before = hammer.statuses(lambda sent, answered: answered < cut_at)
        outage = hammer.statuses(lambda sent, answered: answered >= cut_at and sent <= restored_at)
        after = hammer.statuses(lambda sent, answered: sent > restored_at)
        assert set(before) <= {200, 201} and before, (before, outage, after)
        assert set(outage) <= {200, 201, 503} and outage[503] > 0, (before, outage, after)
        assert set(after) <= {200, 201} and after, (before, outage, after)  # 0: a request failed or hung

        done = api.wait_for(promotion, job["id"], timeout=120)
        assert done["status"] == "completed", done
        assert done["result"] == {"generated": LOST_JOB}
        assert _job_codes(pg_database_url, job["id"]) == (LOST_JOB, LOST_JOB)
        assert "handed back after a database outage" in worker.log()
        assert worker.process.poll() is None, worker.log()
        assert "the database cannot be reached" in idle.log() and "answers again" in idle.log(), idle.log()
        assert idle.process.poll() is None, idle.log()
        for log in (served.log(), worker.log(), idle.log()):
            assert " 500 " not in log and "Traceback" not in log, log
    finally:
        http.close()
        served.stop()
        worker.stop()
        if idle is not None:
            idle.stop()
        proxy.close()


def test_sessions_ended_by_the_server__the_pooled_connections_are_replaced_before_a_read_meets_them(
    pg_database_url: str,
) -> None:
    """A restart, a failover or an administrator ends every session; the database is back at once. The
    pool's idle connections are dead, and the next read must not be the one to find out (a 503)."""
    database = Database(pg_database_url)
    try:
        with database.read() as first, database.read() as second:  # two pooled connections
            first.execute(text("SELECT 1"))
            second.execute(text("SELECT 1"))
        end_every_other_session(pg_database_url)
        with database.read() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
        with database.raw_read() as raw:  # the version read's path
            assert raw.execute("SELECT 2").fetchone() == (2,)
    finally:
        database.dispose()


def test_session_ended_again_as_its_replacement_is_handed_out__the_read_gets_a_503_not_a_500(
    pg_database_url: str,
) -> None:
    """The sessions end, and the connection that replaces the dead pooled one is ended too before the
    read gets it (the server still ending sessions): the read is told the database is unavailable, as any
    lost connection is, and the next read works."""
    database = Database(pg_database_url)
    ended: list[int] = []

    def end_the_replacement(driver: Any, _record: object) -> None:
        if ended:
            return
        ended.append(driver.info.backend_pid)
        end_every_other_session(pg_database_url)  # the replacement is the only other one now
        poller = select.poll()
        poller.register(driver.fileno(), select.POLLIN)
        assert poller.poll(10_000), "the server did not end the replacement's session"

    try:
        with database.read() as conn:  # one pooled connection
            conn.execute(text("SELECT 1"))
        end_every_other_session(pg_database_url)
        event.listen(database.engine, "connect", end_the_replacement)
        with pytest.raises(Unavailable), database.read() as conn:
            conn.execute(text("SELECT 1"))
        assert ended, "no replacement was opened"
        with database.read() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        database.dispose()


@pytest.mark.slow
def test_database_connections_killed_mid_job__the_job_is_not_failed_and_ends_with_exactly_all_codes(
    pg_database_url: str, tmp_path: Path
) -> None:
    """A database restart, a failover or an administrator ends every connection while a job runs
    (``pg_terminate_backend``); the database itself stays up, so the next connection works at once. The
    batch in flight rolls back and the worker carries on: the job must not fail."""
    settings: dict[str, object] = {"worker_batch_size": 1000, "lease_seconds": 600, "poll_seconds": 0.2}
    served = start_serve(pg_database_url, tmp_path / "api", BOOTSTRAP.settings, worker=False)
    worker = spawn_worker(pg_database_url, tmp_path / "worker", settings)
    http = BOOTSTRAP.http(served.base_url)
    database = Database(pg_database_url)
    try:
        api = Api(http)
        promotion = api.create_promotion()
        job = api.generate(promotion, LOST_JOB)
        api.wait_until(
            promotion,
            job["id"],
            lambda j: j["status"] == "processing" and j.get("result", {}).get("generated", 0) > 0,
        )
        for _ in range(3):
            with database.write() as conn:
                killed = conn.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
            assert killed > 0
            # The next kill lands after the worker reconnected and committed another batch.
            before = _job_row(pg_database_url, job["id"])["generated"]
            api.wait_until(
                promotion,
                job["id"],
                lambda j, before=before: (  # type: ignore[misc]
                    j["status"] != "processing" or j.get("result", {}).get("generated", 0) > before
                ),
            )
        done = api.wait_for(promotion, job["id"], timeout=120)
        assert done["status"] == "completed", done
        assert done["result"] == {"generated": LOST_JOB}
        assert _job_codes(pg_database_url, job["id"]) == (LOST_JOB, LOST_JOB)
        assert "handed back after a database outage" in worker.log()
        assert worker.process.poll() is None, worker.log()
    finally:
        database.dispose()
        http.close()
        served.stop()
        worker.stop()


@pytest.mark.slow
def test_worker_lost_more_often_than_max_task_attempts__the_job_fails_with_an_explaining_error(
    make_server: MakeServer, database_url: str, tmp_path: Path
) -> None:
    """A job whose workers keep dying (a poison job, a machine that keeps crashing) is not retried forever:
    after ``max_task_attempts`` lost workers it fails, keeping exactly the codes it committed."""
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion = api.create_promotion()
    job = api.generate(promotion, LOST_JOB)
    settings: dict[str, object] = {
        "lease_seconds": 1,
        "max_task_attempts": 1,
        "worker_batch_size": 2000,
        "poll_seconds": 0.2,
    }
    first = spawn_worker(database_url, tmp_path / "first", settings)
    second = None
    try:
        api.wait_until(promotion, job["id"], lambda j: j.get("result", {}).get("generated", 0) > 0)
        first.process.kill()
        first.process.wait(timeout=30)
        second = spawn_worker(database_url, tmp_path / "second", settings)
        failed = api.wait_for(promotion, job["id"], timeout=60)
        assert failed["status"] == "failed", failed
        assert failed["error"] == "job abandoned: its worker was lost 1 time"
        generated = failed["result"]["generated"]
        assert 0 < generated < LOST_JOB
        assert _job_codes(database_url, job["id"]) == (generated, generated)
        # The worker that gave up on it goes on with the next job.
        other = api.create_promotion()
        assert api.wait_for(other, api.generate(other, 1000)["id"])["status"] == "completed"
    finally:
        first.stop()
        if second is not None:
            second.stop()


# -- the export directory unwritable, the disk full ---------------------------------------------------------


def _export(api: Api, promotion: str) -> dict[str, Any]:
    response = api.create_job(promotion, "code_export")
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def _assert_no_file(api: Api, promotion: str, job_id: str, status: str) -> None:
    response = api.file(promotion, job_id)
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["detail"] == f"Job has no file to download. Job status: {status}"


def test_export_directory_unwritable__the_job_fails_with_a_readable_error_and_no_file(
    make_server: MakeServer, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    server = make_server(export_dir=blocker / "exports")  # mkdir fails, as root too
    api = server.api()
    promotion = api.create_promotion()
    assert api.add_codes(promotion, "ALPHA-1", "BRAVO-2").status_code == 201
    job = _export(api, promotion)
    failed = api.wait_for(promotion, job["id"])
    assert failed["status"] == "failed", failed
    assert failed["error"] == "export failed: the export file could not be written (Not a directory)"
    assert str(tmp_path) not in failed["error"]  # no server paths in what the client sees
    _assert_no_file(api, promotion, job["id"], "failed")
    # The worker goes on: the next job runs.
    assert api.generate(promotion, 10)


class FullDisk:
    """A file that takes ``room`` bytes and then refuses the rest with ENOSPC, as a full disk does. The
    refusal waits for ``go`` so the test can look at everything while the export is stuck mid-file."""

    def __init__(self, path: Path, room: int, reached: threading.Event, go: threading.Event) -> None:
        self._file = path.open("wb")
        self.room = room
        self.reached = reached
        self.go = go

    def write(self, data: bytes) -> int:
        if len(data) <= self.room:
            self.room -= len(data)
            return self._file.write(data)
        self._file.write(data[: self.room])
        self._file.flush()
        self.room = 0
        self.reached.set()
        self.go.wait(timeout=60)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def flush(self) -> None:
        self._file.flush()

    def fileno(self) -> int:
        return self._file.fileno()

    def __enter__(self) -> FullDisk:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._file.close()


def test_disk_full_during_export__the_job_fails_with_a_readable_error_and_no_partial_file_is_ever_served(
    make_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_server(worker_batch_size=5000)
    files_dir = server.container.settings.files_dir
    api = server.api()
    promotion = api.create_promotion()
    assert api.wait_for(promotion, api.generate(promotion, 20_000)["id"])["status"] == "completed"

    reached, go = threading.Event(), threading.Event()
    monkeypatch.setattr(export, "_open_temporary", lambda path: FullDisk(path, 4096, reached, go))
    job = _export(api, promotion)
    try:
        assert reached.wait(timeout=60), "the export never started writing"
        # Stuck mid-file: the job is processing, there is no file to download, only a hidden partial one.
        assert api.job(promotion, job["id"])["status"] == "processing"
        _assert_no_file(api, promotion, job["id"], "processing")
        (partial,) = list(files_dir.iterdir())
        assert partial.name.startswith(".") and partial.name.endswith(".tmp")
        assert partial.stat().st_size == 4096
    finally:
        go.set()
    failed = api.wait_for(promotion, job["id"])
    assert failed["status"] == "failed", failed
    assert failed["error"] == "export failed: the export file could not be written (No space left on device)"
    _assert_no_file(api, promotion, job["id"], "failed")
    assert list(files_dir.iterdir()) == [], "the partial file was left behind"

    # Space freed: the next export is whole.
    monkeypatch.undo()
    retried = _export(api, promotion)
    assert api.wait_for(promotion, retried["id"])["status"] == "completed"
    link = api.file(promotion, retried["id"]).json()["href"]
    lines = httpx.get(link, timeout=60).text.splitlines()
    assert len(lines) == 1 + 20_000 and len(set(lines)) == len(lines)
    assert [path.name for path in files_dir.iterdir() if path.name.startswith(".")] == []


# -- SQLite under 50 concurrent writers ---------------------------------------------------------------------

WRITERS = 50
ROUNDS = 6
WRITER_STORES = 5
CODES_PER_ADD = 20
CODES_PER_JOB = 100
BACKGROUND_JOB = 400_000


@pytest.fixture
def sqlite_served(tmp_path: Path) -> Iterator[Served]:
    served = start_serve(
        f"sqlite:///{tmp_path / 'promojobs.sqlite3'}", tmp_path / "data", {"poll_seconds": 0.2}
    )
    yield served
    served.stop()


@pytest.mark.slow
def test_sqlite_under_50_concurrent_writers__no_database_locked_reaches_a_client_and_every_write_is_there(
    sqlite_served: Served,
) -> None:
    served = sqlite_served
    tokens = served.tokens([f"writers-{index}" for index in range(WRITER_STORES)] + ["background"])
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    lock = threading.Lock()

    def record(response: httpx.Response) -> httpx.Response:
        with lock:
            statuses[response.status_code] += 1
            if response.status_code >= 300:
                failures.append(f"{response.request.method} {response.request.url.path}: {response.text}")
        return response

    background = Api(
        httpx.Client(
            base_url=served.base_url, headers={"Authorization": f"Bearer {tokens['background']}"}, timeout=120
        )
    )
    big_promotion = background.create_promotion()
    # Batches of 50,000 codes: each holds SQLite's write lock for a good fraction of a second.
    big_job = background.generate(big_promotion, BACKGROUND_JOB)
    background.wait_until(big_promotion, big_job["id"], lambda j: j["status"] == "processing")
    start = threading.Barrier(WRITERS)

    def writer(index: int) -> list[tuple[str, str, str]]:
        store = f"writers-{index % WRITER_STORES}"
        headers = {"Authorization": f"Bearer {tokens[store]}"}
        made = []
        with httpx.Client(base_url=served.base_url, headers=headers, timeout=120) as http:
            api = Api(http)
            start.wait()
            for round_ in range(ROUNDS):
                response = record(
                    http.post("/v2/promotions", json={"data": {**PROMOTION, "name": f"w{index}-{round_}"}})
                )
                if response.status_code != 201:
                    continue
                promotion = response.json()["data"]["id"]
                codes = [f"W{index}-R{round_}-{n}" for n in range(CODES_PER_ADD)]
                record(api.add_codes(promotion, *codes))
                response = record(api.create_job(promotion, parameters={"number_of_codes": CODES_PER_JOB}))
                if response.status_code == 201:
                    made.append((store, promotion, response.json()["data"]["id"]))
                record(http.get(f"/v2/promotions/{promotion}/codes", params={"page[limit]": 1}))
        return made

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        made = [item for items in pool.map(writer, range(WRITERS)) for item in items]
    seconds = time.monotonic() - started
    print(
        f"{WRITERS} writers: {sum(statuses.values())} requests in {seconds:.1f} s, statuses {dict(statuses)}"
    )
    assert failures == [], failures[:5]
    assert set(statuses) <= {200, 201}
    assert background.job(big_promotion, big_job["id"])["status"] in ("processing", "completed")

    # Every write is there.
    assert len(made) == WRITERS * ROUNDS
    for store in {store for store, _, _ in made}:
        with httpx.Client(
            base_url=served.base_url, headers={"Authorization": f"Bearer {tokens[store]}"}
        ) as http:
            listed = http.get("/v2/promotions", params={"page[limit]": 1}).json()
            assert listed["meta"]["results"]["total"] == WRITERS // WRITER_STORES * ROUNDS
            deadline = time.monotonic() + 120
            for owner, promotion, job_id in made:
                if owner != store:
                    continue
                api = Api(http)
                job = api.wait_for(promotion, job_id, timeout=max(1, deadline - time.monotonic()))
                assert job["status"] == "completed" and job["result"] == {"generated": CODES_PER_JOB}, job
                codes = http.get(f"/v2/promotions/{promotion}/codes", params={"page[limit]": 1}).json()
                assert codes["meta"]["results"]["total"] == CODES_PER_ADD + CODES_PER_JOB
    done = background.wait_for(big_promotion, big_job["id"], timeout=300)
    assert done["status"] == "completed" and done["result"] == {"generated": BACKGROUND_JOB}
    background.http.close()
    log = served.log()
    assert "database is locked" not in log and "Traceback" not in log and " 500 " not in log
