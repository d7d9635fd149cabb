"""GET /metrics over real HTTP: Prometheus text, exposed only as the setting says, with request counts by
route template, the worker's work, and per-store task gauges bounded in their store labels."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support import LiveServer, free_port

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
    listed = _value(after, "promojobs_requests_total", method="GET", route=route, status="200")
    listed += _value(after, "promojobs_requests_total", method="GET", route="(kept answer)", status="200")
    before_listed = _value(before, "promojobs_requests_total", method="GET", route=route, status="200")
    before_listed += _value(
        before, "promojobs_requests_total", method="GET", route="(kept answer)", status="200"
    )
    assert listed - before_listed == 3
    missing = "/v2/promotions/{promotion_id}"
    assert _value(after, "promojobs_requests_total", method="GET", route=missing, status="404") >= 1
    assert not re.search(r'route="/v2/promotions/not-a-uuid"', after)  # templates only, never raw paths
    assert _value(after, "promojobs_request_seconds_count", route=route) > 0
    generated = _value(after, "promojobs_codes_generated_total") - _value(
        before, "promojobs_codes_generated_total"
    )
    assert generated == 1200
    assert _value(after, "promojobs_jobs", job_type="code_generate", status="completed") == 1
    assert _value(after, "promojobs_worker_batch_seconds_count", kind="generate") > 0
    assert _value(after, "promojobs_api_processes") == 1


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
