"""Cancelling promotion jobs through real HTTP and a real worker: pending jobs stop at once, processing jobs
go through ``cancelling`` while their codes are deleted, and nothing else is touched."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from promojobs.store import tasks as task_store
from promojobs.worker.runner import Worker
from tests.support import Api, LiveServer, ep_error, running_workers

MakeServer = Callable[..., LiveServer]

NOT_CANCELLABLE = ep_error(422, "Unprocessable Entity", "Only pending or processing jobs can be cancelled")
TOO_MANY_JOBS = ep_error(400, "Too many jobs", "Only 1 pending or processing job is allowed per promotion.")


def _job_codes_in_database(server: LiveServer, job_id: str) -> int:
    with server.container.database.read() as conn:
        count = conn.execute(
            text("SELECT count(*) FROM codes c JOIN jobs j ON j.id = c.job_id WHERE j.uuid = :uuid"),
            {"uuid": job_id},
        ).scalar_one()
    return int(count)


def _generated(job: dict[str, Any]) -> int:
    return int(job.get("result", {}).get("generated", 0))


def _park_mid_way(server: LiveServer, api: Api, promotion: str, job_id: str, at_least: int) -> dict[str, Any]:
    """Run a worker until the job has generated ``at_least`` codes, then stop it gracefully: the job stays
    ``processing`` with its codes so far, and no worker touches it until the test starts one."""
    with running_workers(server, batch_size=1000):
        api.wait_until(promotion, job_id, lambda job: _generated(job) >= at_least)
    parked = api.job(promotion, job_id)
    assert parked["status"] == "processing", parked
    return parked


def test_cancel_pending_job__is_cancelled_at_once_and_never_runs(make_server: MakeServer) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion = api.create_promotion()
    job = api.generate(promotion, 50)
    response = api.cancel(promotion, job["id"])
    assert response.status_code == 200, response.text
    cancelled = response.json()["data"]
    assert cancelled["status"] == "cancelled"
    assert "result" not in cancelled
    assert cancelled["meta"]["audit"]["cancelled_by"] is not None
    assert api.job(promotion, job["id"]) == cancelled
    # No task of it is left for a worker to claim.
    container = server.container
    worker = Worker(container.database, container.worker_settings(), container.wakeup)
    assert worker.run_once(threading.Event()) is False
    assert api.all_codes(promotion) == []
    again = api.cancel(promotion, job["id"])
    assert again.status_code == 422
    assert again.json() == NOT_CANCELLABLE
    # The promotion is free again.
    after = api.generate(promotion, 5)
    with running_workers(server, batch_size=1000):
        assert api.wait_for(promotion, after["id"])["status"] == "completed"
    assert len(api.all_codes(promotion)) == 5
    assert api.job(promotion, job["id"])["status"] == "cancelled"


def test_cancel_pending_export_job__is_cancelled_at_once(make_server: MakeServer) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion = api.create_promotion()
    job = api.create_job(promotion, "code_export").json()["data"]
    response = api.cancel(promotion, job["id"])
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "cancelled"
    assert "result" not in response.json()["data"]


@pytest.mark.slow
def test_cancel_processing_job__deletes_exactly_its_codes_and_reports_them_in_result_deleted(
    make_server: MakeServer,
) -> None:
    server = make_server(worker_batch_size=1000)
    api = server.api()
    promotion, neighbour = api.create_promotion(), api.create_promotion()
    assert api.add_codes(promotion, "HAND-ONE", "HAND-TWO").status_code == 201
    neighbour_job = api.generate(neighbour, 100)
    api.wait_for(neighbour, neighbour_job["id"], "completed")

    total = 200_000
    job = api.generate(promotion, total)
    running = api.wait_until(
        promotion, job["id"], lambda state: state["status"] == "processing" and _generated(state) > 0
    )
    assert _generated(running) < total
    response = api.cancel(promotion, job["id"])
    assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == "cancelling"

    cancelled = api.wait_for(promotion, job["id"], "cancelled")
    generated = _generated(cancelled)
    assert 0 < generated < total
    assert cancelled["result"] == {"generated": generated, "deleted": generated}
    assert _job_codes_in_database(server, job["id"]) == 0
    assert sorted(code["code"] for code in api.all_codes(promotion)) == ["HAND-ONE", "HAND-TWO"]
    assert len(api.all_codes(neighbour)) == 100

    again = api.cancel(promotion, job["id"])
    assert again.status_code == 422
    assert again.json() == NOT_CANCELLABLE
    after = api.generate(promotion, 10)
    assert api.wait_for(promotion, after["id"])["status"] == "completed"
    assert len(api.all_codes(promotion)) == 12


def test_cancelling_job__blocks_new_jobs_and_cannot_be_cancelled_again_until_its_codes_are_gone(
    make_server: MakeServer,
) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion = api.create_promotion()
    job = api.generate(promotion, 50_000)
    parked = _park_mid_way(server, api, promotion, job["id"], at_least=3000)
    generated = _generated(parked)
    assert _job_codes_in_database(server, job["id"]) == generated

    response = api.cancel(promotion, job["id"])
    assert response.status_code == 200
    cancelling = response.json()["data"]
    assert cancelling["status"] == "cancelling"
    assert cancelling["result"]["generated"] == generated
    assert api.job(promotion, job["id"])["status"] == "cancelling"

    blocked = api.create_job(promotion, parameters={"number_of_codes": 5})
    assert blocked.status_code == 400
    assert blocked.json() == TOO_MANY_JOBS
    again = api.cancel(promotion, job["id"])
    assert again.status_code == 422
    assert again.json() == NOT_CANCELLABLE

    with running_workers(server, batch_size=1000):
        cancelled = api.wait_for(promotion, job["id"], "cancelled")
    assert cancelled["result"] == {"generated": generated, "deleted": generated}
    assert _job_codes_in_database(server, job["id"]) == 0
    assert api.all_codes(promotion) == []
    assert api.create_job(promotion, parameters={"number_of_codes": 5}).status_code == 201


def test_cancel__completed_failed_and_cancelled_jobs_are_422_and_unknown_jobs_404(
    make_server: MakeServer,
) -> None:
    server = make_server(max_codes_per_promotion=10)
    api = server.api()
    promotion = api.create_promotion()
    completed = api.wait_for(promotion, api.generate(promotion, 10)["id"])
    assert completed["status"] == "completed"
    failed = api.wait_for(promotion, api.generate(promotion, 1)["id"])
    assert failed["status"] == "failed"
    exported = api.create_job(promotion, "code_export").json()["data"]
    exported = api.wait_for(promotion, exported["id"])
    assert exported["status"] == "completed"
    for job in (completed, failed, exported):
        response = api.cancel(promotion, job["id"])
        assert response.status_code == 422, job
        assert response.json() == NOT_CANCELLABLE
        assert api.job(promotion, job["id"]) == job
    assert len(api.all_codes(promotion)) == 10
    unknown = api.cancel(promotion, "00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404
    assert unknown.json() == ep_error(404, "Not Found", "job not found")
    foreign = server.api("store-b").cancel(promotion, completed["id"])
    assert foreign.status_code == 404


def test_cancel_racing_the_worker__never_errors_and_never_leaves_codes_of_a_cancelled_job(
    make_server: MakeServer,
) -> None:
    """Cancel right after create (racing the worker's claim) and, every other round, as soon as the job is
    seen processing (racing its batches): whichever wins, the outcome is consistent (cancelled with none of
    its codes left, or completed with all of them), and the rounds covered cancels of processing jobs."""
    server = make_server(worker_batch_size=500)
    api = server.api()
    promotion = api.create_promotion()
    total = 20_000
    at_cancel: Counter[str] = Counter()
    for round_number in range(24):
        job = api.generate(promotion, total)
        if round_number % 2:
            api.wait_until(promotion, job["id"], lambda state: state["status"] != "pending")
        response = api.cancel(promotion, job["id"])
        assert response.status_code in (200, 422), response.text
        at_cancel[response.json()["data"]["status"] if response.status_code == 200 else "422"] += 1
        final = api.wait_for(promotion, job["id"])
        remaining = _job_codes_in_database(server, job["id"])
        if final["status"] == "cancelled":
            assert response.status_code == 200, final
            assert remaining == 0, final
            assert final.get("result", {}).get("deleted", 0) == _generated(final), final
        else:
            assert response.status_code == 422, (response.json(), final)
            assert final["status"] == "completed"
            assert remaining == total
    # Cancels landed on processing jobs, which answer "cancelling" first (a cancel that lands on a pending
    # job is "cancelled" at once; test_cancel_pending_job covers that without a race).
    assert at_cancel["cancelling"] > 0, at_cancel


@pytest.mark.slow
def test_cancel_job_split_in_chunks_running_on_three_workers__deletes_every_code_it_made(
    make_server: MakeServer,
) -> None:
    server = make_server(embedded_worker=False, chunk_size=20_000)
    api = server.api()
    promotion = api.create_promotion()
    assert api.add_codes(promotion, "KEEP-ME").status_code == 201
    total = 200_000
    job = api.generate(promotion, total)
    with running_workers(server, count=3, batch_size=500):
        api.wait_until(promotion, job["id"], lambda state: _generated(state) >= 5000)
        response = api.cancel(promotion, job["id"])
        assert response.status_code == 200, response.text
        assert response.json()["data"]["status"] == "cancelling"
        cancelled = api.wait_for(promotion, job["id"], "cancelled")
    generated = _generated(cancelled)
    assert 5000 <= generated < total
    assert cancelled["result"] == {"generated": generated, "deleted": generated}
    assert _job_codes_in_database(server, job["id"]) == 0
    assert [code["code"] for code in api.all_codes(promotion)] == ["KEEP-ME"]
    with server.container.database.read() as conn:
        open_tasks = conn.execute(
            text(
                "SELECT count(*) FROM job_tasks t JOIN jobs j ON j.id = t.job_id "
                "WHERE j.uuid = :u AND t.status != 'done'"
            ),
            {"u": job["id"]},
        ).scalar_one()
    assert open_tasks == 0


@pytest.mark.slow
def test_cancel_job_running_on_as_many_workers_as_the_store_may_use__finishes_without_waiting_for_leases(
    make_server: MakeServer,
) -> None:
    """Every running chunk stops at its next batch and hands its slot back; the cancel task must not wait
    for their leases to free the store's running-task slots."""
    # Leases of 600 s: a cancel that waited for one would outlast the generous wait below.
    server = make_server(
        embedded_worker=False, chunk_size=10_000, max_running_tasks_per_store=4, lease_seconds=600
    )
    api = server.api()
    promotion = api.create_promotion()
    job = api.generate(promotion, 400_000)
    with running_workers(server, count=4, batch_size=500):
        deadline = time.monotonic() + 30
        while True:
            with server.container.database.read() as conn:
                running = conn.execute(
                    text("SELECT count(*) FROM job_tasks WHERE status = 'running'")
                ).scalar_one()
            if running == 4:
                break
            assert time.monotonic() < deadline, "four chunks never ran at once"
            time.sleep(0.01)
        assert api.cancel(promotion, job["id"]).json()["data"]["status"] == "cancelling"
        cancelled = api.wait_for(promotion, job["id"], "cancelled", timeout=120)
    assert cancelled["result"]["deleted"] == cancelled["result"]["generated"]
    assert _job_codes_in_database(server, job["id"]) == 0


def test_cancel_of_claimed_jobs_that_made_nothing_yet__export_and_generate_end_cancelled(
    make_server: MakeServer,
) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    exporting, generating = api.create_promotion(), api.create_promotion()
    assert api.add_codes(exporting, "STAYS").status_code == 201
    export = api.create_job(exporting, "code_export").json()["data"]
    generate = api.generate(generating, 1000)
    # Two workers claim the jobs and vanish before doing anything (their leases are long).
    with server.container.database.write() as conn:
        for name in ("gone-1", "gone-2"):
            task = task_store.claim_task(conn, name, 600_000_000, 4)
            assert task is not None
            task_store.start_job(conn, task.job_id)
    for promotion, job in ((exporting, export), (generating, generate)):
        assert api.job(promotion, job["id"])["status"] == "processing"
        response = api.cancel(promotion, job["id"])
        assert response.json()["data"]["status"] == "cancelling"
    with running_workers(server):
        cancelled_export = api.wait_for(exporting, export["id"], "cancelled")
        cancelled_generate = api.wait_for(generating, generate["id"], "cancelled")
    assert "result" not in cancelled_export
    assert cancelled_generate["result"] == {"generated": 0, "deleted": 0}
    assert [code["code"] for code in api.all_codes(exporting)] == ["STAYS"]
    no_file = api.file(exporting, export["id"])
    assert no_file.status_code == 422
    assert no_file.json() == ep_error(
        422, "Unprocessable Entity", "Job has no file to download. Job status: cancelled"
    )
