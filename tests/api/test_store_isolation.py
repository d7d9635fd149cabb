"""Stores are sealed from each other: store B's token, given store A's ids, gets exactly the 404 a random
UUID gets, on every promotion, code and job route, and nothing of store A changes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx

from tests.api.test_errors import assert_ep_error
from tests.support import Api, LiveServer

Route = tuple[str, str, dict[str, Any] | None]


def routes(promotion: str, job: str, code: str) -> list[Route]:
    """Every store-scoped route, each with a body it would accept."""
    return [
        ("GET", f"/v2/promotions/{promotion}", None),
        ("PUT", f"/v2/promotions/{promotion}", {"type": "promotion", "id": promotion, "name": "hijacked"}),
        ("DELETE", f"/v2/promotions/{promotion}", None),
        ("GET", f"/v2/promotions/{promotion}/codes", None),
        ("GET", f"/v2/promotions/{promotion}/codes?filter=eq(code,{code})", None),
        (
            "POST",
            f"/v2/promotions/{promotion}/codes",
            {"type": "promotion_codes", "codes": [{"code": "INJECTED"}]},
        ),
        (
            "DELETE",
            f"/v2/promotions/{promotion}/codes",
            {"type": "promotion_codes", "codes": [{"code": code}]},
        ),
        ("DELETE", f"/v2/promotions/{promotion}/codes/{code}", None),
        ("GET", f"/v2/promotions/{promotion}/jobs", None),
        (
            "POST",
            f"/v2/promotions/{promotion}/jobs",
            {"type": "promotion_job", "job_type": "code_generate", "parameters": {"number_of_codes": 5}},
        ),
        ("POST", f"/v2/promotions/{promotion}/jobs", {"type": "promotion_job", "job_type": "code_export"}),
        ("GET", f"/v2/promotions/{promotion}/jobs/{job}", None),
        ("POST", f"/v2/promotions/{promotion}/jobs/{job}/cancel", None),
        ("GET", f"/v2/promotions/{promotion}/jobs/{job}/file", None),
    ]


def call(http: httpx.Client, route: Route) -> httpx.Response:
    method, path, data = route
    return http.request(method, path, json=None if data is None else {"data": data})


def snapshot(api: Api, promotion: str) -> dict[str, Any]:
    """Everything store A can see of its promotion."""
    return {
        "promotion": api.http.get(f"/v2/promotions/{promotion}").json(),
        "codes": api.all_codes(promotion),
        "jobs": api.http.get(f"/v2/promotions/{promotion}/jobs").json(),
        "list": api.http.get("/v2/promotions").json(),
    }


def assert_same_404s(b: Api, theirs: list[Route], random: list[Route]) -> None:
    for their_route, random_route in zip(theirs, random, strict=True):
        foreign = call(b.http, their_route)
        unknown = call(b.http, random_route)
        assert_ep_error(foreign, 404, "Not Found")
        assert foreign.json() == unknown.json(), (their_route, foreign.text, unknown.text)
        assert foreign.headers["content-type"] == unknown.headers["content-type"]


def test_store_b__gets_the_random_uuid_404_for_every_route_with_store_a_ids_and_a_is_untouched(
    make_server: Callable[..., LiveServer],
) -> None:
    # No worker: store A's job stays pending, so cancelling it would really change something.
    server = make_server(embedded_worker=False)
    a, b = server.api("store-a"), server.api("store-b")
    promotion_a = a.create_promotion(name="A's promotion")
    assert a.add_codes(promotion_a, "A-CODE", "A-OTHER").status_code == 201
    job_a = a.generate(promotion_a, 10)["id"]
    b.create_promotion(name="B's promotion")
    before = snapshot(a, promotion_a)

    random_promotion, random_job = str(uuid.uuid4()), str(uuid.uuid4())
    assert_same_404s(
        b,
        routes(promotion_a, job_a, "A-CODE"),
        routes(random_promotion, random_job, "A-CODE"),
    )

    assert snapshot(a, promotion_a) == before
    assert a.job(promotion_a, job_a)["status"] == "pending"


def test_store_b__its_own_promotion_with_store_a_job_ids_is_404_like_a_random_job(
    make_server: Callable[..., LiveServer],
) -> None:
    server = make_server(embedded_worker=False)
    a, b = server.api("store-a"), server.api("store-b")
    promotion_a, promotion_b = a.create_promotion(), b.create_promotion()
    job_a = a.generate(promotion_a, 10)["id"]
    before = snapshot(a, promotion_a)
    random_job = str(uuid.uuid4())
    job_routes = [route for route in routes(promotion_b, job_a, "X") if job_a in route[1]]
    random_routes = [route for route in routes(promotion_b, random_job, "X") if random_job in route[1]]
    assert len(job_routes) == 3
    assert_same_404s(b, job_routes, random_routes)
    assert snapshot(a, promotion_a) == before


def test_store_b__cannot_fetch_store_a_export_file(server: LiveServer) -> None:
    a, b = server.api("store-a"), server.api("store-b")
    promotion_a = a.create_promotion()
    assert a.add_codes(promotion_a, "EXPORTED").status_code == 201
    export = a.create_job(promotion_a, "code_export").json()["data"]["id"]
    a.wait_for(promotion_a, export, "completed")
    assert a.http.get(f"/v2/promotions/{promotion_a}/jobs/{export}/file").status_code == 200
    promotion_b = b.create_promotion()
    for promotion in (promotion_a, promotion_b):
        foreign = b.http.get(f"/v2/promotions/{promotion}/jobs/{export}/file")
        unknown = b.http.get(f"/v2/promotions/{promotion}/jobs/{uuid.uuid4()}/file")
        assert_ep_error(foreign, 404)
        assert foreign.json() == unknown.json()


def test_store_b__listing_and_code_filter_never_show_store_a(server: LiveServer) -> None:
    a, b = server.api("store-a"), server.api("store-b")
    promotion_a = a.create_promotion(name="secret")
    assert a.add_codes(promotion_a, "A-ONLY").status_code == 201
    promotion_b = b.create_promotion(name="mine")

    listing = b.http.get("/v2/promotions").json()
    assert [p["id"] for p in listing["data"]] == [promotion_b]
    assert listing["meta"]["results"]["total"] == 1
    by_code = b.http.get("/v2/promotions", params={"filter": "eq(code,A-ONLY)"}).json()
    assert by_code["data"] == [] and by_code["meta"]["results"]["total"] == 0
    # Store B may use the same code string for itself; store A's code is unaffected.
    assert b.add_codes(promotion_b, "a-only").status_code == 201
    assert [c["code"] for c in a.all_codes(promotion_a)] == ["A-ONLY"]
    assert [p["id"] for p in a.http.get("/v2/promotions").json()["data"]] == [promotion_a]


def test_store_b__deleting_its_codes_never_deletes_store_a_codes_of_the_same_name(server: LiveServer) -> None:
    a, b = server.api("store-a"), server.api("store-b")
    promotion_a, promotion_b = a.create_promotion(), b.create_promotion()
    assert a.add_codes(promotion_a, "SAME").status_code == 201
    assert b.add_codes(promotion_b, "SAME").status_code == 201
    body = {"data": {"type": "promotion_codes", "codes": [{"code": "SAME"}]}}
    assert b.http.request("DELETE", f"/v2/promotions/{promotion_b}/codes", json=body).status_code == 204
    assert b.add_codes(promotion_b, "SAME").status_code == 201
    assert b.http.delete(f"/v2/promotions/{promotion_b}/codes/same").status_code == 204
    assert [c["code"] for c in a.all_codes(promotion_a)] == ["SAME"]


def test_store_b__deleting_its_promotion_leaves_store_a_alone(server: LiveServer) -> None:
    a, b = server.api("store-a"), server.api("store-b")
    promotion_a, promotion_b = a.create_promotion(), b.create_promotion()
    assert a.add_codes(promotion_a, "SHARED").status_code == 201
    assert b.add_codes(promotion_b, "SHARED").status_code == 201
    before = snapshot(a, promotion_a)
    assert b.http.delete(f"/v2/promotions/{promotion_b}").status_code == 204
    assert snapshot(a, promotion_a) == before


def test_two_clients_of_the_same_store__share_its_promotions(server: LiveServer) -> None:
    first, second = server.api("store-a"), server.api("store-a")
    promotion = first.create_promotion()
    assert second.http.get(f"/v2/promotions/{promotion}").status_code == 200
    assert second.add_codes(promotion, "FROM-SECOND").status_code == 201
    assert [c["code"] for c in first.all_codes(promotion)] == ["FROM-SECOND"]
