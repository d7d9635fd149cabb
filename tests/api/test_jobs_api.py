"""Promotion jobs through real HTTP: creation and its errors, the per-promotion rule, listing, progress,
idempotency. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import text

from tests.support import LiveServer, ep_error, join_all, running_workers, wait_past

MakeServer = Callable[..., LiveServer]

TOO_MANY_JOBS = ep_error(400, "Too many jobs", "Only 1 pending or processing job is allowed per promotion.")
BAD_FILTER = {
    "errors": [{"status": "400", "title": "Bad Request", "detail": "Could not parse the supplied filter"}]
}


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [job["id"] for job in response.json()["data"]]


# --- creation ---------------------------------------------------------------------------------------


def test_create_job__returns_201_with_the_pending_job_echoing_its_parameters(make_server: MakeServer) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion = api.create_promotion()
    response = api.create_job(
        promotion,
        name="summer sale job ",
        parameters={
            "number_of_codes": 3,
            "max_uses_per_code": 1,
            "code_prefix": "Summer-",
            "code_length": 10,
        },
    )
    assert response.status_code == 201, response.text
    job = response.json()["data"]
    assert job["type"] == "promotion_job"
    assert job["promotion_id"] == promotion
    assert job["job_type"] == "code_generate"
    assert job["name"] == "summer sale job "
    assert job["status"] == "pending"
    assert job["parameters"] == {
        "number_of_codes": 3,
        "consume_unit": "per_cart",
        "max_uses_per_code": 1,
        "code_length": 10,
        "code_prefix": "Summer-",
    }
    assert "result" not in job and "error" not in job
    assert job["meta"]["timestamps"]["created_at"] == job["meta"]["timestamps"]["updated_at"]
    assert api.job(promotion, job["id"]) == job


def test_create_export_job__has_no_parameters_and_no_result(make_server: MakeServer) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion = api.create_promotion()
    response = api.create_job(promotion, "code_export", name="export codes job")
    assert response.status_code == 201, response.text
    job = response.json()["data"]
    assert job["job_type"] == "code_export" and job["status"] == "pending"
    assert "parameters" not in job and "result" not in job


INVALID_CREATES: list[tuple[dict[str, Any], str, str, str]] = [
    # (extra body fields, source, title, detail)
    ({}, "data.parameters", "required", "parameters is required for code_generate jobs"),
    ({"parameters": {}}, "data.parameters.number_of_codes", "required", "number_of_codes is required"),
    (
        {"parameters": {"number_of_codes": 0}},
        "data.parameters.number_of_codes",
        "Bad Request",
        "number_of_codes must be between 1 and 100000000",
    ),
    (
        {"parameters": {"number_of_codes": -1}},
        "data.parameters.number_of_codes",
        "Bad Request",
        "number_of_codes must be between 1 and 100000000",
    ),
    (
        {"parameters": {"number_of_codes": 1.5}},
        "data.parameters.number_of_codes",
        "Bad Request",
        "number_of_codes must be an integer",
    ),
    (
        {"parameters": {"number_of_codes": "10"}},
        "data.parameters.number_of_codes",
        "Bad Request",
        "number_of_codes must be an integer",
    ),
    (
        {"parameters": {"number_of_codes": True}},
        "data.parameters.number_of_codes",
        "Bad Request",
        "number_of_codes must be an integer",
    ),
    (
        {"parameters": {"number_of_codes": 10**12}},
        "data.parameters.number_of_codes",
        "Too many promotion codes",
        "Only 100000000 promotion codes are allowed per promotion",
    ),
    (
        {"parameters": {"number_of_codes": 5, "code_length": 7}},
        "data.parameters.code_length",
        "Bad Request",
        "code_length must be from 8 to 16, got 7",
    ),
    (
        {"parameters": {"number_of_codes": 5, "code_length": 17}},
        "data.parameters.code_length",
        "Bad Request",
        "code_length must be from 8 to 16, got 17",
    ),
    (
        {"parameters": {"number_of_codes": 5, "consume_unit": "per_order"}},
        "data.parameters.consume_unit",
        "Bad Request",
        "consume_unit must be per_cart or per_item",
    ),
    (
        {"parameters": {"number_of_codes": 5, "code_prefix": "bad prefix"}},
        "data.parameters.code_prefix",
        "Bad Request",
        "code_prefix may only contain ASCII letters, digits and - _ . $ @ (found ' ' at position 3)",
    ),
    (
        {"parameters": {"number_of_codes": 5, "code_prefix": "summer+"}},
        "data.parameters.code_prefix",
        "Bad Request",
        "code_prefix may only contain ASCII letters, digits and - _ . $ @ (found '+' at position 6)",
    ),
    (
        {"parameters": {"number_of_codes": 5, "code_prefix": "summer/"}},
        "data.parameters.code_prefix",
        "Bad Request",
        "code_prefix may only contain ASCII letters, digits and - _ . $ @ (found '/' at position 6)",
    ),
    (
        {"parameters": {"number_of_codes": 5, "max_uses_per_code": -1}},
        "data.parameters.max_uses_per_code",
        "Bad Request",
        "max_uses_per_code must be between 0 and 9007199254740992",
    ),
    (
        {"name": "x" * 51, "parameters": {"number_of_codes": 5}},
        "data.name",
        "Bad Request",
        "name must be at most 50 characters",
    ),
]


def test_create_job__invalid_requests_get_400_naming_the_field_in_source(make_server: MakeServer) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion = api.create_promotion()
    for extra, source, title, detail in INVALID_CREATES:
        response = api.create_job(promotion, **extra)
        assert response.status_code == 400, (extra, response.text)
        assert response.json() == ep_error(400, title, detail, source), extra
    # Beyond 64 bits the request schema refuses the number before the job rules see it.
    beyond_64_bits = api.create_job(promotion, parameters={"number_of_codes": 10**30})
    assert beyond_64_bits.status_code == 400
    assert beyond_64_bits.json()["errors"][0]["source"].startswith("data.parameters")
    # Nothing was created by any of them, and a 50-character name is fine.
    assert api.list_jobs(promotion).json()["meta"]["results"]["total"] == 0
    assert api.create_job(promotion, name="x" * 50, parameters={"number_of_codes": 5}).status_code == 201


def test_create_job__number_of_codes_out_of_range_names_the_configured_limit(make_server: MakeServer) -> None:
    for settings, limit in (({"max_codes_per_job": 500}, 500), ({"profile": "elasticpath"}, 1000)):
        server = make_server(embedded_worker=False, **settings)
        api = server.api()
        promotion = api.create_promotion()
        for number in (0, -3):
            response = api.create_job(promotion, parameters={"number_of_codes": number})
            assert response.json() == ep_error(
                400,
                "Bad Request",
                f"number_of_codes must be between 1 and {limit}",
                "data.parameters.number_of_codes",
            )


def test_create_job__unknown_job_type_and_missing_envelope_fields_are_400(make_server: MakeServer) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion = api.create_promotion()
    url = f"/v2/promotions/{promotion}/jobs"
    unknown = api.create_job(promotion, "code_delete")
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["source"] == "data.job_type"
    no_type = api.http.post(url, json={"data": {"job_type": "code_export"}})
    assert no_type.json() == ep_error(400, "required", "type is required", "data.type")
    no_envelope = api.http.post(url, json={"type": "promotion_job", "job_type": "code_export"})
    assert no_envelope.status_code == 400


def test_create_generate_job__on_an_automatic_promotion_is_422_no_codes_allowed(server: LiveServer) -> None:
    api = server.api()
    automatic = api.create_promotion(automatic=True)
    response = api.create_job(automatic, parameters={"number_of_codes": 5})
    assert response.status_code == 422
    assert response.json() == ep_error(422, "No codes allowed", "Cannot add codes to an automatic promotion")
    assert api.list_jobs(automatic).json()["data"] == []


def test_create_job__on_an_unknown_or_foreign_promotion_is_404(server: LiveServer) -> None:
    api = server.api()
    other_store = server.api("store-b")
    theirs = other_store.create_promotion()
    for promotion in ("00000000-0000-0000-0000-000000000000", theirs):
        response = api.create_job(promotion, parameters={"number_of_codes": 5})
        assert response.status_code == 404
        assert response.json() == ep_error(404, "Not Found", "promotion not found")


def test_create_job__that_would_make_codes_guessable_is_refused_naming_a_length_that_works(
    make_server: MakeServer,
) -> None:
    # One live code per billion: 32^8 * 1e-9 = 1,099 codes of length 8 fit, 35,184 of length 9.
    server = make_server(keyspace_max_fill_ratio=1e-9)
    api = server.api()
    promotion = api.create_promotion()
    response = api.create_job(promotion, parameters={"number_of_codes": 2000})
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert (error["status"], error["title"], error["source"]) == (
        "422",
        "Code space too small",
        "data.parameters.code_length",
    )
    assert "at most 1,099 live codes of code_length 8" in error["detail"]
    assert error["detail"].endswith("Use code_length 9 or more.")
    # The advice is right: length 9 is accepted and runs to completion.
    job = api.generate(promotion, 2000, code_length=9)
    assert api.wait_for(promotion, job["id"])["status"] == "completed"
    # Codes already held count against the keyspace: 1,000 fit at length 8, then 100 more do not.
    api.wait_for(promotion, api.generate(promotion, 1000)["id"], "completed")
    refused = api.create_job(promotion, parameters={"number_of_codes": 100})
    assert refused.status_code == 422
    assert "(1,000 existing + 100 requested)" in refused.json()["errors"][0]["detail"]
    # Another prefix has its own keyspace.
    assert (
        api.create_job(promotion, parameters={"number_of_codes": 100, "code_prefix": "B-"}).status_code == 201
    )


# --- the Elastic Path profile -----------------------------------------------------------------------


def test_elasticpath_profile__more_than_1000_codes_in_one_job_is_400_verbatim(
    make_server: MakeServer,
) -> None:
    server = make_server(profile="elasticpath", embedded_worker=False)
    api = server.api()
    promotion = api.create_promotion()
    response = api.create_job(promotion, parameters={"number_of_codes": 1001})
    assert response.status_code == 400
    assert response.json() == ep_error(
        400,
        "Too many promotion codes",
        "Only 1000 promotion codes are allowed per promotion",
        "data.parameters.number_of_codes",
    )
    assert api.create_job(promotion, parameters={"number_of_codes": 1000}).status_code == 201


def test_elasticpath_profile__a_job_pushing_the_promotion_over_1000_codes_is_accepted_then_fails(
    make_server: MakeServer,
) -> None:
    server = make_server(profile="elasticpath")
    api = server.api()
    promotion = api.create_promotion()
    first = api.generate(promotion, 600)
    assert api.wait_for(promotion, first["id"])["status"] == "completed"
    second = api.create_job(promotion, parameters={"number_of_codes": 500})
    assert second.status_code == 201, second.text
    assert second.json()["data"]["status"] == "pending"
    failed = api.wait_for(promotion, second.json()["data"]["id"])
    assert failed["status"] == "failed"
    assert failed["error"] == "codes limit exceeded"
    assert "result" not in failed
    assert len(api.all_codes(promotion)) == 600
    # A failed job is not active: the promotion takes a job that fits.
    fits = api.generate(promotion, 400)
    assert api.wait_for(promotion, fits["id"])["status"] == "completed"
    assert len(api.all_codes(promotion)) == 1000
    listed = api.list_jobs(promotion, filter="eq(status,failed)").json()["data"]
    assert [job["id"] for job in listed] == [failed["id"]]
    assert listed[0]["error"] == "codes limit exceeded"


# --- one active job per promotion -------------------------------------------------------------------


def test_second_job_while_one_is_pending__is_400_too_many_jobs_but_other_promotions_are_free(
    make_server: MakeServer,
) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion, other = api.create_promotion(), api.create_promotion()
    assert api.create_job(promotion, parameters={"number_of_codes": 5}).status_code == 201
    for job_type, extra in (("code_generate", {"parameters": {"number_of_codes": 5}}), ("code_export", {})):
        response = api.create_job(promotion, job_type, **extra)
        assert response.status_code == 400
        assert response.json() == TOO_MANY_JOBS
    assert api.create_job(other, "code_export").status_code == 201


def test_twenty_concurrent_creates_on_one_promotion__exactly_one_wins(make_server: MakeServer) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion = api.create_promotion()
    token = server.token()
    barrier = threading.Barrier(20)
    responses: list[httpx.Response] = []
    lock = threading.Lock()

    def create() -> None:
        with httpx.Client(
            base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as client:
            client.get("/v2/promotions")  # open the connection before the race starts
            barrier.wait()
            body = {
                "data": {
                    "type": "promotion_job",
                    "job_type": "code_generate",
                    "parameters": {"number_of_codes": 10},
                }
            }
            response = client.post(f"/v2/promotions/{promotion}/jobs", json=body)
            response.read()
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=create) for _ in range(20)]
    for thread in threads:
        thread.start()
    join_all(threads, timeout=120, what="a racing request")
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [400] * 19, [r.text for r in responses if r.status_code not in (201, 400)]
    assert all(r.json() == TOO_MANY_JOBS for r in responses if r.status_code == 400)
    winner = next(r for r in responses if r.status_code == 201).json()["data"]["id"]
    assert _ids(api.list_jobs(promotion)) == [winner]


# --- reading jobs -----------------------------------------------------------------------------------


def test_list_jobs__newest_first_filtered_by_type_and_status_and_paginated(make_server: MakeServer) -> None:
    server = make_server(max_codes_per_promotion=30)
    api = server.api()
    promotion = api.create_promotion()
    generated = api.wait_for(promotion, api.generate(promotion, 10)["id"])
    exported = api.create_job(promotion, "code_export").json()["data"]
    exported = api.wait_for(promotion, exported["id"])
    over_limit = api.wait_for(promotion, api.generate(promotion, 25)["id"])
    generated_again = api.wait_for(promotion, api.generate(promotion, 5)["id"])
    assert [j["status"] for j in (generated, exported, over_limit, generated_again)] == [
        "completed",
        "completed",
        "failed",
        "completed",
    ]
    newest_first = [generated_again["id"], over_limit["id"], exported["id"], generated["id"]]

    everything = api.list_jobs(promotion)
    assert _ids(everything) == newest_first
    assert everything.json()["data"][0] == api.job(promotion, generated_again["id"])
    assert everything.json()["meta"] == {
        "page": {"limit": 25, "offset": 0, "current": 1, "total": 1},
        "results": {"total": 4},
    }

    def listed(raw_filter: str) -> list[str]:
        return _ids(api.list_jobs(promotion, filter=raw_filter))

    assert listed("eq(job_type,code_export)") == [exported["id"]]
    assert listed("eq(job_type, code_export)") == [exported["id"]]
    assert listed("eq(job_type,code_generate)") == [generated_again["id"], over_limit["id"], generated["id"]]
    assert listed("eq(status,failed)") == [over_limit["id"]]
    assert listed("eq(status,completed)") == [generated_again["id"], exported["id"], generated["id"]]
    assert listed("eq(status,complete)") == listed("eq(status,completed)")
    assert listed("eq(job_type,code_generate):eq(status,completed)") == [
        generated_again["id"],
        generated["id"],
    ]
    assert listed("eq(status,complete):eq(job_type,code_export)") == [exported["id"]]
    assert listed("eq(status,pending)") == []
    # Clauses are ANDed, also on one field: two different values match nothing.
    assert listed("eq(job_type,code_export):eq(job_type,code_generate)") == []
    assert listed("eq(status,failed):eq(status,completed)") == []
    assert listed("eq(status,complete):eq(status,completed)") == listed("eq(status,completed)")

    first = api.list_jobs(promotion, **{"page[limit]": 3})
    assert _ids(first) == newest_first[:3]
    body = first.json()
    assert body["meta"] == {
        "page": {"limit": 3, "offset": 0, "current": 1, "total": 2},
        "results": {"total": 4},
    }
    base = f"{server.base_url}/v2/promotions/{promotion}/jobs"
    assert body["links"] == {
        "current": f"{base}?page[offset]=0&page[limit]=3",
        "first": f"{base}?page[offset]=0&page[limit]=3",
        "last": f"{base}?page[offset]=3&page[limit]=3",
        "prev": None,
        "next": f"{base}?page[offset]=3&page[limit]=3",
    }
    second = api.http.get(body["links"]["next"])
    assert _ids(second) == newest_first[3:]
    assert second.json()["meta"]["page"] == {"limit": 3, "offset": 3, "current": 2, "total": 2}
    assert second.json()["links"]["prev"] == f"{base}?page[offset]=0&page[limit]=3"
    assert second.json()["links"]["next"] is None

    filtered = api.list_jobs(promotion, filter="eq(job_type,code_generate)", **{"page[limit]": 2}).json()
    assert filtered["meta"]["results"]["total"] == 3
    next_link = urlsplit(filtered["links"]["next"])
    assert parse_qs(next_link.query)["filter"] == ["eq(job_type,code_generate)"]
    assert _ids(api.http.get(filtered["links"]["next"])) == [generated["id"]]


@pytest.mark.parametrize(
    "raw_filter",
    [
        "like(status,comp*)",
        "in(status,failed,completed)",
        "eq(status)",
        "eq(status,completed",
        "eq(status,completed):",
        "status=completed",
    ],
)
def test_list_jobs__an_unsupported_filter_is_400_could_not_parse(server: LiveServer, raw_filter: str) -> None:
    api = server.api()
    promotion = api.create_promotion()
    response = api.list_jobs(promotion, filter=raw_filter)
    assert response.status_code == 400
    assert response.json() == BAD_FILTER


@pytest.mark.parametrize(
    ("raw_filter", "detail"),
    [
        ("eq(name,x)", "unknown attribute name; this list filters on job_type, status"),
        ("gt(created_at,2020-01-01)", "unknown attribute created_at; this list filters on job_type, status"),
        (
            "eq(staus,completed)",
            "unknown attribute staus (did you mean status?); this list filters on job_type, status",
        ),
        (
            "eq(status,done)",
            "status cannot be done; it is one of pending, processing, completed, failed, cancelling, "
            "cancelled",
        ),
        (
            "eq(status,Completed)",
            "status cannot be Completed; it is one of pending, processing, completed, "
            "failed, cancelling, cancelled",
        ),
        (
            "eq(job_type,code_import)",
            "job_type cannot be code_import; it is one of code_generate, code_export",
        ),
        (
            "eq(status,completed):eq(job_type,export)",
            "job_type cannot be export; it is one of code_generate, code_export",
        ),
    ],
)
def test_list_jobs__an_unknown_attribute_or_value_is_400_naming_what_is_allowed(
    server: LiveServer, raw_filter: str, detail: str
) -> None:
    api = server.api()
    promotion = api.create_promotion()
    response = api.list_jobs(promotion, filter=raw_filter)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "status": "400",
                "title": "Bad Request",
                "detail": f"Could not parse the supplied filter: {detail}",
            }
        ]
    }


def test_get_job__unknown_job_other_promotions_job_and_other_stores_job_are_404(server: LiveServer) -> None:
    api = server.api()
    promotion, other = api.create_promotion(), api.create_promotion()
    job = api.create_job(promotion, "code_export").json()["data"]
    not_found = ep_error(404, "Not Found", "job not found")
    for path in (
        f"/v2/promotions/{promotion}/jobs/00000000-0000-0000-0000-000000000000",
        f"/v2/promotions/{promotion}/jobs/not-a-uuid",
        f"/v2/promotions/{other}/jobs/{job['id']}",
    ):
        response = api.http.get(path)
        assert response.status_code == 404, path
        assert response.json() == not_found
    foreign = server.api("store-b").http.get(f"/v2/promotions/{promotion}/jobs/{job['id']}")
    assert foreign.status_code == 404
    assert foreign.json() == ep_error(404, "Not Found", "promotion not found")
    unknown_promotion = api.list_jobs("00000000-0000-0000-0000-000000000000")
    assert unknown_promotion.json() == ep_error(404, "Not Found", "promotion not found")


# --- progress ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_generate_job__progress_grows_while_it_runs_then_completes_exactly(make_server: MakeServer) -> None:
    server = make_server(worker_batch_size=2000)
    api = server.api()
    promotion = api.create_promotion()
    total = 200_000
    job = api.generate(promotion, total)
    seen: list[int] = []

    def mid_way(state: dict[str, Any]) -> bool:
        assert state["status"] in ("pending", "processing"), state
        generated = int(state.get("result", {}).get("generated", 0))
        if state["status"] == "processing" and 0 < generated < total:
            seen.append(generated)
        return len(seen) >= 2 and seen[-1] > seen[0]

    running = api.wait_until(promotion, job["id"], mid_way)
    assert running["status"] == "processing"
    assert seen == sorted(seen), "generated never goes down"
    done = api.wait_for(promotion, job["id"], timeout=120)
    assert done["status"] == "completed"
    assert done["result"] == {"generated": total}
    listed = api.http.get(f"/v2/promotions/{promotion}/codes", params={"page[limit]": 1}).json()
    assert listed["meta"]["results"]["total"] == total


def test_generate_job_split_in_chunks__three_workers_at_once_make_exactly_the_requested_codes(
    make_server: MakeServer,
) -> None:
    server = make_server(embedded_worker=False, chunk_size=7_000)
    api = server.api()
    promotion = api.create_promotion()
    total = 49_001  # eight chunks, the last of one code
    job = api.generate(promotion, total, code_prefix="CH-")
    with running_workers(server, count=3, batch_size=2_000):
        done = api.wait_for(promotion, job["id"], timeout=120)
    assert done["status"] == "completed", done
    assert done["result"] == {"generated": total}
    with server.container.database.read() as conn:
        rows, distinct = conn.execute(
            text("SELECT count(*), count(DISTINCT upper(code)) FROM codes WHERE code LIKE 'CH-%'")
        ).one()
        tasks = conn.execute(text("SELECT status, done, target FROM job_tasks ORDER BY seq")).all()
    assert (rows, distinct) == (total, total)
    assert [tuple(task) for task in tasks] == [("done", 7_000, 7_000)] * 7 + [("done", 1, 1)]


# --- idempotency ------------------------------------------------------------------------------------


def test_idempotency_key__same_key_and_body_returns_the_same_job_instead_of_a_second(
    make_server: MakeServer,
) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion = api.create_promotion()
    url = f"/v2/promotions/{promotion}/jobs"
    body = {
        "data": {"type": "promotion_job", "job_type": "code_generate", "parameters": {"number_of_codes": 7}}
    }
    headers = {"Idempotency-Key": "order-42"}
    first = api.http.post(url, json=body, headers=headers)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    replay = api.http.post(url, json=body, headers=headers)
    assert replay.status_code == 201, replay.text
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert _ids(api.list_jobs(promotion)) == [first.json()["data"]["id"]]

    other_body = {**body, "data": {**body["data"], "parameters": {"number_of_codes": 8}}}
    conflict = api.http.post(url, json=other_body, headers=headers)
    assert conflict.status_code == 422
    assert conflict.json() == ep_error(
        422, "Unprocessable Entity", "This Idempotency-Key was already used with a different request."
    )
    # The key belongs to the store: the same key on another promotion is a different request too.
    other = api.create_promotion()
    elsewhere = api.http.post(f"/v2/promotions/{other}/jobs", json=body, headers=headers)
    assert elsewhere.status_code == 422
    assert _ids(api.list_jobs(other)) == []


def test_idempotency_key__concurrent_retries_of_one_request_all_get_the_same_job(
    make_server: MakeServer,
) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion = api.create_promotion()
    token = server.token()
    body = {
        "data": {"type": "promotion_job", "job_type": "code_generate", "parameters": {"number_of_codes": 7}}
    }
    barrier = threading.Barrier(10)
    responses: list[httpx.Response] = []
    lock = threading.Lock()

    def create() -> None:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "same-retry"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
            client.get("/v2/promotions")
            barrier.wait()
            response = client.post(f"/v2/promotions/{promotion}/jobs", json=body)
            response.read()
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=create) for _ in range(10)]
    for thread in threads:
        thread.start()
    join_all(threads, timeout=120, what="a racing request")
    assert [r.status_code for r in responses] == [201] * 10, [r.text for r in responses]
    assert len({r.json()["data"]["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 9
    assert len(_ids(api.list_jobs(promotion))) == 1


def test_idempotency_key__reused_at_once_on_two_promotions__one_job_and_one_422_never_a_500(
    make_server: MakeServer,
) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotions = [api.create_promotion() for _ in range(6)]
    token = server.token()
    barrier = threading.Barrier(len(promotions))
    responses: list[httpx.Response] = []
    lock = threading.Lock()

    def create(promotion: str) -> None:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "promotion-key-1"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
            client.get("/v2/promotions")
            barrier.wait()
            response = client.post(
                f"/v2/promotions/{promotion}/jobs",
                json={"data": {"type": "promotion_job", "job_type": "code_export"}},
            )
            response.read()
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=create, args=(promotion,)) for promotion in promotions]
    for thread in threads:
        thread.start()
    join_all(threads, timeout=120, what="a racing request")
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [422] * (len(promotions) - 1), [r.text for r in responses]
    reused = ep_error(
        422, "Unprocessable Entity", "This Idempotency-Key was already used with a different request."
    )
    assert all(r.json() == reused for r in responses if r.status_code == 422)
    assert sum(len(_ids(api.list_jobs(promotion))) for promotion in promotions) == 1


def test_idempotency_key__a_replay_after_completion_returns_the_completed_job(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    url = f"/v2/promotions/{promotion}/jobs"
    body = {
        "data": {"type": "promotion_job", "job_type": "code_generate", "parameters": {"number_of_codes": 7}}
    }
    headers = {"Idempotency-Key": "retry-me"}
    job = api.http.post(url, json=body, headers=headers).json()["data"]
    api.wait_for(promotion, job["id"], "completed")
    replay = api.http.post(url, json=body, headers=headers)
    assert replay.status_code == 201
    assert replay.json()["data"]["id"] == job["id"]
    assert replay.json()["data"]["status"] == "completed"
    assert len(api.all_codes(promotion)) == 7


def test_idempotency_key__is_forgotten_after_its_window(make_server: MakeServer) -> None:
    server = make_server(idempotency_seconds=1)
    api = server.api()
    promotion = api.create_promotion()
    url = f"/v2/promotions/{promotion}/jobs"
    body = {"data": {"type": "promotion_job", "job_type": "code_export"}}
    headers = {"Idempotency-Key": "short-lived"}
    first = api.http.post(url, json=body, headers=headers).json()["data"]
    api.wait_for(promotion, first["id"], "completed")
    created = datetime.fromisoformat(first["meta"]["timestamps"]["created_at"]).timestamp()
    wait_past(created + 1 + 0.002)  # the window (1 s) counts from the job's creation (shown to the ms)
    later = api.http.post(url, json=body, headers=headers)
    assert later.status_code == 201
    assert "Idempotent-Replayed" not in later.headers
    assert later.json()["data"]["id"] != first["id"]
    # The key now belongs to the new job.
    again = api.http.post(url, json=body, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["data"]["id"] == later.json()["data"]["id"]


def test_without_idempotency_key__two_creates_are_two_jobs(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    first = api.generate(promotion, 7)
    api.wait_for(promotion, first["id"], "completed")
    second = api.generate(promotion, 7)
    assert second["id"] != first["id"]
    api.wait_for(promotion, second["id"], "completed")
    assert _ids(api.list_jobs(promotion)) == [second["id"], first["id"]]
    assert len(api.all_codes(promotion)) == 14


def test_idempotency_key__longer_than_255_characters_is_400(make_server: MakeServer) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion = api.create_promotion()
    body = {"data": {"type": "promotion_job", "job_type": "code_export"}}
    response = api.http.post(
        f"/v2/promotions/{promotion}/jobs", json=body, headers={"Idempotency-Key": "k" * 256}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["source"] == "Idempotency-Key"


def test_create_job__a_falsy_non_string_prefix_is_refused_not_ignored(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    prefixes: tuple[object, ...] = (0, False, [], {})
    for prefix in prefixes:
        response = api.create_job(promotion, parameters={"number_of_codes": 5, "code_prefix": prefix})
        assert response.status_code == 400, (prefix, response.text)
        assert response.json()["errors"][0]["source"] == "data.parameters.code_prefix"
    empty = api.create_job(promotion, parameters={"number_of_codes": 5, "code_prefix": ""})
    assert empty.status_code == 201
    assert "code_prefix" not in empty.json()["data"]["parameters"]
