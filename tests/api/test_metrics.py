"""GET /metrics over real HTTP: Prometheus text, exposed only as the setting says, with request counts by
route template, the worker's work, and per-store task gauges bounded in their store labels."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from promojobs.store import tasks as task_store
from promojobs.worker.runner import Worker
from tests.support import DistantDatabase, LiveServer, free_port, start_server

MakeServer = Callable[..., LiveServer]
TOKEN = "metrics-token-0123456789"  # noqa: S105 (a test setting)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(text: str, name: str, **labels: str) -> float:
    return _samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def _grown(before: str, after: str, name: str, **labels: str) -> float:
    """How much a counter grew: the counters are the process's, shared by the test servers it runs."""
    return _value(after, name, **labels) - _value(before, name, **labels)


def _scraped_when(url: str, done: Callable[[str], bool], timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while not done(text := httpx.get(url).text) and time.monotonic() < deadline:
        time.sleep(0.01)
    return text


def test_off_by_default__404(server: LiveServer) -> None:
    assert httpx.get(f"{server.base_url}/metrics").status_code == 404


def test_token__required_and_compared(make_server: MakeServer) -> None:
    server = make_server(metrics="token", metrics_token=TOKEN)
    url = f"{server.base_url}/metrics"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    answer = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")


def test_requests_jobs_and_codes__counted(make_server: MakeServer) -> None:
    server = make_server(metrics="open")
    url = f"{server.base_url}/metrics"
    before = httpx.get(url).text
    api = server.api()
    promotion = api.create_promotion()
    job = api.generate(promotion, 1200)
    assert api.wait_for(promotion, job["id"])["status"] == "completed"
    for _ in range(3):
        assert api.list_jobs(promotion).status_code == 200
    assert api.http.get("/v2/promotions/not-a-uuid").status_code == 404
    after = httpx.get(url).text

    route = "/v2/promotions/{promotion_id}/jobs"
    listed = _grown(before, after, "promojobs_requests_total", method="GET", route=route, status="200")
    listed += _grown(
        before, after, "promojobs_requests_total", method="GET", route="(kept answer)", status="200"
    )
    assert listed == 3
    missing = "/v2/promotions/{promotion_id}"
    assert _grown(before, after, "promojobs_requests_total", method="GET", route=missing, status="404") == 1
    assert not re.search(r'route="/v2/promotions/not-a-uuid"', after)  # templates only, never raw paths
    timed = _grown(before, after, "promojobs_request_seconds_count", route=route)
    timed += _grown(before, after, "promojobs_request_seconds_count", route="(kept answer)")
    assert timed >= 3  # the three listings, timed under their template or as kept answers (so are polls)
    # The worker counts a batch's codes just after its commit, which may be after the job reads completed.
    after = _scraped_when(url, lambda text: _grown(before, text, "promojobs_codes_generated_total") >= 1200)
    assert _grown(before, after, "promojobs_codes_generated_total") == 1200
    assert _value(after, "promojobs_jobs", job_type="code_generate", status="completed") == 1
    assert _grown(before, after, "promojobs_worker_batch_seconds_count", kind="generate") > 0
    assert _value(after, "promojobs_api_processes") == 1


def test_exports__codes_and_batches_counted(make_server: MakeServer) -> None:
    server = make_server(metrics="open")
    url = f"{server.base_url}/metrics"
    api = server.api()
    promotion = api.create_promotion()
    assert api.wait_for(promotion, api.generate(promotion, 700)["id"])["status"] == "completed"
    before = httpx.get(url).text
    export = api.create_job(promotion, "code_export")
    assert export.status_code == 201, export.text
    assert api.wait_for(promotion, export.json()["data"]["id"])["status"] == "completed"
    after = httpx.get(url).text
    assert _grown(before, after, "promojobs_codes_exported_total") == 700
    assert _grown(before, after, "promojobs_worker_batch_seconds_count", kind="export") > 0
    assert _value(after, "promojobs_jobs", job_type="code_export", status="completed") == 1


def test_running_task_and_its_lease_reclaimed__shown(make_server: MakeServer) -> None:
    """A worker claims a job's task and is lost (its lease of 1 µs has ended by the next statement):
    the task shows as running for its store; the worker that claims it again counts a lease reclaim."""
    server = make_server(metrics="open", embedded_worker=False)
    url = f"{server.base_url}/metrics"
    api = server.api("reclaimed-store")
    promotion = api.create_promotion()
    job = api.generate(promotion, 50)
    with server.container.database.write() as conn:
        lost = task_store.claim_task(conn, "lost-worker", 1, per_store=4)
        assert lost is not None
        task_store.start_job(conn, lost.job_id)
    before = httpx.get(url).text
    assert _value(before, "promojobs_tasks", store="reclaimed-store", status="running") == 1
    container = server.container
    heir = Worker(container.database, container.worker_settings(), container.wakeup, "heir-worker")
    assert heir.run_once(threading.Event())
    after = httpx.get(url).text
    assert _grown(before, after, "promojobs_lease_reclaims_total") == 1
    assert _value(after, "promojobs_tasks", store="reclaimed-store", status="running") == 0
    assert api.job(promotion, job["id"])["status"] == "completed"


def test_database_out_of_reach__errors_counted_by_kind(distant_pg: DistantDatabase, tmp_path: Path) -> None:
    """PostgreSQL behind a proxy that cuts every connection and refuses new ones: a read answers 503,
    and the error is counted as a lost connection."""
    server = start_server(distant_pg.url, tmp_path / "data", metrics="open", embedded_worker=False)
    try:
        url = f"{server.base_url}/metrics"
        api = server.api()
        promotion = api.create_promotion()
        before = httpx.get(url).text
        distant_pg.proxy.cut()
        try:
            assert api.http.get(f"/v2/promotions/{promotion}/jobs").status_code == 503
        finally:
            distant_pg.proxy.restore()
        after = httpx.get(url).text
        assert _grown(before, after, "promojobs_database_errors_total", kind="connection") >= 1
    finally:
        server.stop()
        server.container.database.dispose()


def test_tasks_per_store__at_most_the_configured_number_of_store_labels(make_server: MakeServer) -> None:
    server = make_server(metrics="open", metrics_max_stores=1, embedded_worker=False, chunk_size=100)
    for store, jobs in (("busy-store", 3), ("quiet-store", 1), ("idle-store", 1)):
        api = server.api(store)
        api.generate(api.create_promotion(), jobs * 100)  # jobs chunks of 100: that many ready tasks
    text = httpx.get(f"{server.base_url}/metrics").text
    assert _value(text, "promojobs_tasks", store="busy-store", status="ready") == 3
    assert _value(text, "promojobs_tasks", store="other", status="ready") == 2
    assert "quiet-store" not in text and "idle-store" not in text


def test_port__served_apart_and_not_on_the_api(make_server: MakeServer) -> None:
    port = free_port()
    server = make_server(metrics="port", metrics_port=port)
    assert httpx.get(f"{server.base_url}/metrics").status_code == 404
    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert "promojobs_requests_total" in text or "promojobs_requests" in text
