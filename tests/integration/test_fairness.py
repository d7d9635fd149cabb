"""Fair scheduling: one store's long queue does not starve another store's single job."""

from __future__ import annotations

import pytest

from tests.support import Api, LiveServer, running_workers


def _finished_at(api: Api, promotion: str, job: str) -> str:
    finished = api.job(promotion, job)
    assert finished["status"] == "completed"
    return str(finished["meta"]["timestamps"]["updated_at"])


def test_a_store_with_fifty_queued_jobs_does_not_starve_another_stores_single_job(
    make_server: object,
) -> None:
    server: LiveServer = make_server(embedded_worker=False)  # type: ignore[operator]
    busy, quiet = server.api("busy-store"), server.api("quiet-store")
    queued = []
    for _ in range(50):
        promotion = busy.create_promotion()
        queued.append((promotion, busy.generate(promotion, 200)["id"]))
    lonely_promotion = quiet.create_promotion()
    lonely_job = quiet.generate(lonely_promotion, 200)["id"]

    with running_workers(server, count=1):
        quiet.wait_for(lonely_promotion, lonely_job, "completed")
        busy.wait_for(*queued[-1], "completed")
    lonely_finished = _finished_at(quiet, lonely_promotion, lonely_job)
    busy_finished = sorted(_finished_at(busy, promotion, job) for promotion, job in queued)
    # Claims rotate across stores: the quiet store's job ran second, not fifty-first.
    assert sum(finished < lonely_finished for finished in busy_finished) <= 1


@pytest.mark.slow
def test_one_store_never_holds_more_running_tasks_than_its_cap(make_server: object) -> None:
    server: LiveServer = make_server(embedded_worker=False, max_running_tasks_per_store=1, chunk_size=20_000)  # type: ignore[operator]
    busy, quiet = server.api("busy-store"), server.api("quiet-store")
    big_promotion = busy.create_promotion()
    big_job = busy.generate(big_promotion, 200_000)["id"]
    quiet_promotion = quiet.create_promotion()
    quiet_job = quiet.generate(quiet_promotion, 5_000)["id"]

    with running_workers(server, count=3, batch_size=2_000):
        quiet.wait_for(quiet_promotion, quiet_job, "completed")
        # The big job has ten chunks and three workers, but the cap leaves it one at a time, so the quiet
        # store's small job finishes long before it.
        assert busy.job(big_promotion, big_job)["status"] == "processing"
        busy.wait_for(big_promotion, big_job, "completed")
    assert busy.job(big_promotion, big_job)["result"]["generated"] == 200_000
