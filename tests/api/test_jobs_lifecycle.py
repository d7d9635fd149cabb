"""Promotion jobs through real HTTP with the embedded worker: generate, progress, export, cancel."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import text

from tests.support import LiveServer


def test_generate_job__completes_with_exactly_the_requested_number_of_codes(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    job = api.generate(promotion, 1234, code_prefix="SUM-", code_length=10, max_uses_per_code=2)
    assert job["status"] == "pending"
    assert job["parameters"] == {
        "number_of_codes": 1234,
        "consume_unit": "per_cart",
        "max_uses_per_code": 2,
        "code_length": 10,
        "code_prefix": "SUM-",
    }
    done = api.wait_for(promotion, job["id"])
    assert done["status"] == "completed"
    assert done["result"] == {"generated": 1234}
    codes = api.all_codes(promotion)
    assert len(codes) == 1234
    assert len({c["code"].upper() for c in codes}) == 1234
    assert all(c["code"].startswith("SUM-") and len(c["code"]) == 4 + 10 + 2 for c in codes)
    assert all(c["uses"] == 2 and c["max_uses"] == 2 and c["consume_unit"] == "per_cart" for c in codes)


def test_export_job__file_holds_every_code_of_the_promotion(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    assert api.add_codes(promotion, "@AT", "-MINUS", "plain").status_code == 201
    api.wait_for(promotion, api.generate(promotion, 500)["id"])
    export = api.create_job(promotion, "code_export", name="export").json()["data"]
    assert "parameters" not in export
    api.wait_for(promotion, export["id"], "completed")
    href = api.http.get(f"/v2/promotions/{promotion}/jobs/{export['id']}/file").json()["href"]
    download = httpx.get(href)
    assert download.status_code == 200
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[0] == ["code", "uses", "max_uses", "consume_unit", "user", "created_at"]
    exported = {row[0] for row in rows[1:]}
    listed = {c["code"] for c in api.all_codes(promotion)}
    assert len(rows) == 1 + 503
    assert exported == {("'" + code if code[0] in "+-@" else code) for code in listed}


@pytest.mark.slow
def test_server_stopped_mid_job__hands_the_job_back_and_the_next_server_finishes_it(
    make_server: Callable[..., LiveServer],
) -> None:
    first = make_server(worker_batch_size=1000)
    api = first.api()
    promotion = api.create_promotion()
    total = 100_000
    job = api.generate(promotion, total)
    api.wait_until(promotion, job["id"], lambda state: state.get("result", {}).get("generated", 0) > 0)
    first.stop()  # the embedded worker ends its batch and releases the task
    with first.container.database.read() as conn:
        task = conn.execute(text("SELECT status, worker_id, done FROM job_tasks")).one()
    assert (task.status, task.worker_id) == ("ready", None)
    assert 0 < task.done < total

    second = make_server()
    api = second.api()
    done = api.wait_for(promotion, job["id"], timeout=120)
    assert done["status"] == "completed"
    assert done["result"] == {"generated": total}
    listed = api.http.get(f"/v2/promotions/{promotion}/codes", params={"page[limit]": 1}).json()
    assert listed["meta"]["results"]["total"] == total
