"""Fair scheduling: one store's long queue does not starve another store's single job."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from sqlalchemy import text

from promojobs.store.database import now_us
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


def _running_tasks(server: LiveServer, store: str) -> int:
    """The store's tasks running right now under a live lease, as the claim query counts them."""
    with server.container.database.read() as conn:
        count = conn.execute(
            text(
                "SELECT count(*) FROM job_tasks t JOIN stores s ON s.id = t.store_id "
                "WHERE s.name = :store AND t.status = 'running' AND t.lease_expires_at >= :now"
            ),
            {"store": store, "now": now_us()},
        ).scalar_one()
    return int(count)


@pytest.mark.slow
def test_one_store_never_holds_more_running_tasks_than_its_cap(make_server: object) -> None:
    server: LiveServer = make_server(embedded_worker=False, max_running_tasks_per_store=1, chunk_size=20_000)  # type: ignore[operator]
    busy, quiet = server.api("busy-store"), server.api("quiet-store")
    big_promotion = busy.create_promotion()
    big_job = busy.generate(big_promotion, 200_000)["id"]
    quiet_promotion = quiet.create_promotion()
    quiet_job = quiet.generate(quiet_promotion, 5_000)["id"]

    samples: list[int] = []
    with running_workers(server, count=3, batch_size=2_000):
        # The big job has ten chunks and three workers, but the cap leaves it one chunk at a time: sample the
        # store's running tasks until the job is done, while two workers stand idle beside it.
        deadline = time.monotonic() + 300
        while busy.job(big_promotion, big_job)["status"] not in ("completed", "failed"):
            samples.append(_running_tasks(server, "busy-store"))
            assert time.monotonic() < deadline, f"the big job never finished; running samples: {samples}"
    assert quiet.job(quiet_promotion, quiet_job)["status"] == "completed"
    assert busy.job(big_promotion, big_job)["result"]["generated"] == 200_000
    assert max(samples) == 1, Counter(samples)
    assert samples.count(1) >= 10, f"too few samples saw the job running to tell: {Counter(samples)}"
