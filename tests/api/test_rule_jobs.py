"""/v2/rule-promotions/:id/jobs: generate and export on the standard job engine, as Elastic Path has them."""

from __future__ import annotations

import os
from typing import Any

import httpx

from promojobs.domain import codes as code_rules
from tests.api.rule_support import BASE, add_codes, create_id, create_job, list_codes, wait_for
from tests.api.test_errors import assert_ep_error
from tests.support import LiveServer, running_workers


def test_generate__codes_with_ids_and_the_rule_consume_unit(server: LiveServer) -> None:
    api = server.api()
    promotion = create_id(api)
    parameters = {"number_of_codes": 30, "code_prefix": "sum-"}
    response = create_job(api, promotion, name="gen", parameters=parameters)
    assert response.status_code == 201, response.text
    job = response.json()["data"]
    assert list(job)[:3] == ["type", "id", "rule_promotion_id"]
    assert job["rule_promotion_id"] == promotion and "promotion_id" not in job
    assert job["parameters"] == {
        "number_of_codes": 30,
        "consume_unit": "per_checkout",
        "code_length": 8,
        "code_prefix": "sum-",
    }
    done = wait_for(api, promotion, job["id"])
    assert done["status"] == "completed" and done["result"] == {"generated": 30}
    codes = list_codes(api, promotion, **{"page[limit]": 100})["data"]
    assert len(codes) == 30 and all(c["code"].startswith("sum-") and c["id"] for c in codes)
    assert {c["consume_unit"] for c in codes} == {"per_checkout"}
    assert api.http.delete(f"{BASE}/{promotion}/codes/{codes[0]['id']}").status_code == 204


def test_parameters__rule_consume_units_and_the_elasticpath_limit(make_server: Any) -> None:
    server = make_server(profile="elasticpath")
    api = server.api()
    promotion = create_id(api)
    assert_ep_error(
        create_job(api, promotion, parameters={"number_of_codes": 1, "consume_unit": "per_cart"}),
        400,
        source="data.parameters.consume_unit",
    )
    assert_ep_error(
        create_job(api, promotion, parameters={"number_of_codes": 1001}),
        400,
        "Too many promotion codes",
        source="data.parameters.number_of_codes",
    )
    job = create_job(api, promotion, parameters={"number_of_codes": 1000, "consume_unit": "per_application"})
    assert job.status_code == 201, job.text
    assert wait_for(api, promotion, job.json()["data"]["id"])["result"] == {"generated": 1000}
    automatic = create_id(api, automatic=True)
    assert_ep_error(create_job(api, automatic, parameters={"number_of_codes": 1}), 422, "No codes allowed")


def test_export__the_csv_of_every_code_through_a_signed_link(server: LiveServer) -> None:
    api = server.api()
    promotion = create_id(api)
    assert add_codes(api, promotion, {"code": "hand", "uses": 3}).status_code == 201
    generate = create_job(api, promotion, parameters={"number_of_codes": 5})
    wait_for(api, promotion, generate.json()["data"]["id"])
    export = create_job(api, promotion, job_type="code_export", name="export")
    assert export.status_code == 201, export.text
    job_id = export.json()["data"]["id"]
    assert wait_for(api, promotion, job_id)["status"] == "completed"
    href = api.http.get(f"{BASE}/{promotion}/jobs/{job_id}/file").json()["href"]
    lines = httpx.get(href).text.splitlines()
    assert lines[0] == "code,uses,max_uses,consume_unit,user,created_at"
    assert len(lines) == 1 + 6 and any(line.startswith("hand,3,3,per_checkout,") for line in lines)
    exports = {"filter": "eq(job_type,code_export):eq(status,complete)"}
    listed = api.http.get(f"{BASE}/{promotion}/jobs", params=exports)
    assert [j["id"] for j in listed.json()["data"]] == [job_id]
    generated_only = api.http.get(f"{BASE}/{promotion}/jobs", params={"filter": "eq(job_type,code_generate)"})
    assert [j["id"] for j in generated_only.json()["data"]] == [generate.json()["data"]["id"]]
    no_file = api.http.get(f"{BASE}/{promotion}/jobs/{generate.json()['data']['id']}/file")
    assert_ep_error(no_file, 422, "Unprocessable Entity")


def test_cancel__one_active_job_and_the_specs_422_with_a_period(make_server: Any) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion = create_id(api)
    job_id = create_job(api, promotion, parameters={"number_of_codes": 10}).json()["data"]["id"]
    assert_ep_error(
        create_job(api, promotion, job_type="code_export"),
        400,
        "Too many jobs",
        "Only 1 pending or processing job is allowed per promotion.",
    )
    cancelled = api.http.post(f"{BASE}/{promotion}/jobs/{job_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["data"]["status"] == "cancelled"
    assert_ep_error(
        api.http.post(f"{BASE}/{promotion}/jobs/{job_id}/cancel"),
        422,
        "Unprocessable Entity",
        "Only pending or processing jobs can be cancelled.",
    )
    assert api.http.post(f"/v2/promotions/{promotion}/jobs/{job_id}/cancel").status_code == 404


def test_generated_codes_never_equal_hand_added_rule_codes(make_server: Any, monkeypatch: Any) -> None:
    # The first random draw gives "X-AAAA-AAAA", which another rule promotion holds by hand: the job
    # must leave it out and top up with other codes.
    server = make_server(embedded_worker=False)
    api = server.api()
    holder = create_id(api)
    assert add_codes(api, holder, {"code": "x-aaaa-aaaa"}).status_code == 201
    promotion = create_id(api)
    job = create_job(api, promotion, parameters={"number_of_codes": 2, "code_prefix": "X-"})
    job_id = job.json()["data"]["id"]
    calls: list[int] = []

    def source(size: int) -> bytes:
        calls.append(size)  # the first draw is all "A" (byte 8 is "A"), later ones are os.urandom's
        return bytes([8] * size) if len(calls) == 1 else os.urandom(size)

    monkeypatch.setattr(code_rules, "_urandom", source)
    with running_workers(server):
        done = wait_for(api, promotion, job_id)
    assert done["status"] == "completed", done
    codes = [c["code"].upper() for c in list_codes(api, promotion)["data"]]
    assert len(codes) == 2 and "X-AAAA-AAAA" not in codes


def test_a_job_is_found_only_under_its_own_kind_of_promotion(make_server: Any) -> None:
    """GET …/jobs/{job_id} of a rule promotion's job under /v2/promotions (and the reverse) is 404, as the
    promotion itself is: the one-statement lookup of a job names the kind too."""
    server = make_server(embedded_worker=False)
    api = server.api()
    rule_promotion = create_id(api)
    rule_job = create_job(api, rule_promotion, parameters={"number_of_codes": 5})
    assert rule_job.status_code == 201, rule_job.text
    standard_promotion = api.create_promotion()
    standard_job = api.create_job(standard_promotion, parameters={"number_of_codes": 5})
    assert standard_job.status_code == 201, standard_job.text
    for path in (
        f"/v2/promotions/{rule_promotion}/jobs/{rule_job.json()['data']['id']}",
        f"{BASE}/{standard_promotion}/jobs/{standard_job.json()['data']['id']}",
    ):
        assert_ep_error(api.http.get(path), 404, "Not Found", "promotion not found")
