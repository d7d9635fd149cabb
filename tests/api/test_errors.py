"""Every failure answers with Elastic Path's error body, never a 500: bad bodies, big bodies, unknown
routes and methods. Also the service surface: /openapi.json lists every route and /docs answers.

``assert_ep_error`` is the one definition of the error body shape; the other API test modules import it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from tests.support import PROMOTION, LiveServer

JSON = {"content-type": "application/json"}


def assert_ep_error(
    response: httpx.Response,
    status: int,
    title: str | None = None,
    detail: str | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """Check ``{"errors": [{"status": "<status>", "title": ..., ...}]}`` and return the error object."""
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: {response.text}"
    )
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"errors"}, body
    assert isinstance(body["errors"], list) and len(body["errors"]) == 1, body
    error = body["errors"][0]
    assert isinstance(error, dict), body
    assert error["status"] == str(status), body
    assert isinstance(error["title"], str) and error["title"], body
    assert set(error) <= {"status", "title", "detail", "source", "request_id"}, body
    if title is not None:
        assert error["title"] == title, body
    if detail is not None:
        assert error.get("detail") == detail, body
    if source is not None:
        assert error.get("source") == source, body
    return error


def assert_client_error(response: httpx.Response) -> dict[str, Any]:
    """Some 4xx (never a 5xx) with the Elastic Path error body."""
    assert 400 <= response.status_code < 500, (
        f"{response.request.url}: {response.status_code} {response.text}"
    )
    return assert_ep_error(response, response.status_code)


def _write_routes(promotion_id: str) -> list[tuple[str, str]]:
    return [
        ("POST", "/v2/promotions"),
        ("PUT", f"/v2/promotions/{promotion_id}"),
        ("POST", f"/v2/promotions/{promotion_id}/codes"),
        ("DELETE", f"/v2/promotions/{promotion_id}/codes"),
        ("POST", f"/v2/promotions/{promotion_id}/jobs"),
    ]


# ---- request bodies -------------------------------------------------------------------------------


def test_malformed_json__is_400_not_valid_json_on_every_write_route(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    for method, path in _write_routes(promotion):
        for raw in (b"{bad", b'{"data": {', b'{"data": {}} trailing', b"{'data': {}}"):
            response = api.http.request(method, path, content=raw, headers=JSON)
            assert_ep_error(response, 400, "Bad Request", "The request body is not valid JSON")
        not_utf8 = api.http.request(method, path, content=b'{"data": "\xff\xfe"}', headers=JSON)
        assert_ep_error(not_utf8, 400, "Bad Request")


WRONG_SHAPES = [
    ("empty body", b""),
    ("JSON array", b'[{"data": {"type": "promotion"}}]'),
    ("JSON string", b'"data"'),
    ("JSON number", b"42"),
    ("JSON null", b"null"),
    ("body without data", b'{"type": "promotion", "name": "x"}'),
    ("data is a string", b'{"data": "promotion"}'),
    ("data is an array", b'{"data": [{"type": "promotion"}]}'),
    ("data is null", b'{"data": null}'),
    ("data without type", b'{"data": {"name": "x"}}'),
    ("wrong data.type", b'{"data": {"type": "nonsense", "name": "x"}}'),
    ("deeply nested", b'{"data": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
]


def test_body_of_the_wrong_shape__is_400_on_every_write_route(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    for label, raw in WRONG_SHAPES:
        for method, path in _write_routes(promotion):
            response = api.http.request(method, path, content=raw, headers=JSON)
            assert response.status_code == 400, (label, method, path, response.text)
            assert_ep_error(response, 400)
    # Nothing was created or changed by any of them.
    listed = api.http.get("/v2/promotions").json()
    assert listed["meta"]["results"]["total"] == 1
    assert listed["data"][0]["name"] == PROMOTION["name"]


def test_body_without_data__names_data_as_the_missing_field(server: LiveServer) -> None:
    api = server.api()
    response = api.http.post("/v2/promotions", json=dict(PROMOTION))
    assert_ep_error(response, 400, source="data")


def test_wrong_data_type__points_at_data_type(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    cases = [
        ("POST", "/v2/promotions", {**PROMOTION, "type": "promotion_codes"}),
        ("PUT", f"/v2/promotions/{promotion}", {"type": "rule_promotion", "id": promotion}),
        ("POST", f"/v2/promotions/{promotion}/codes", {"type": "promotion", "codes": [{"code": "A"}]}),
        ("DELETE", f"/v2/promotions/{promotion}/codes", {"type": "code", "codes": [{"code": "A"}]}),
        ("POST", f"/v2/promotions/{promotion}/jobs", {"type": "promotion", "job_type": "code_export"}),
    ]
    for method, path, data in cases:
        response = api.http.request(method, path, json={"data": data})
        assert_ep_error(response, 400, source="data.type")


def test_unknown_fields__are_ignored_whatever_their_type(server: LiveServer) -> None:
    api = server.api()
    extra = {"colour": {"nested": [1, "two", None]}, "parent_id": 17, "current": "yes", "links": []}
    created = api.http.post("/v2/promotions", json={"data": {**PROMOTION, **extra}})
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    assert not set(extra) & set(data)
    codes = {"data": {"type": "promotion_codes", "codes": [{"code": "EXTRA1", "colour": 5}], "x": [1]}}
    assert api.http.post(f"/v2/promotions/{data['id']}/codes", json=codes).status_code == 201


def test_known_fields_of_the_wrong_type__are_400_pointing_at_the_field(server: LiveServer) -> None:
    api = server.api()
    for field, value in [
        ("enabled", "yes"),
        ("enabled", 1),
        ("automatic", "false"),
        ("name", 42),
        ("description", ["a"]),
        ("schema", [1, 2]),
        ("schema", "fixed"),
        ("start", 20200101),
        ("min_cart_value", {"currency": "USD", "amount": 5}),
        ("max_discount_value", [{"currency": "USD", "amount": "5"}]),
        ("max_applications_per_cart", 1.5),
        ("max_applications_per_cart", "3"),
    ]:
        response = api.http.post("/v2/promotions", json={"data": {**PROMOTION, field: value}})
        error = assert_ep_error(response, 400)
        assert str(error.get("source", "")).startswith(f"data.{field}"), (field, value, error)


def test_values_the_database_or_json_cannot_hold__are_400_not_500(server: LiveServer) -> None:
    """NUL (PostgreSQL text refuses it), lone surrogates, NaN/Infinity and huge integers (Python's JSON
    parser takes them, the response encoder does not) are refused before anything is stored."""
    api = server.api()
    promotion = api.create_promotion()
    raw_cases = [
        ("data.name", b'"name": "a\\u0000b"'),
        ("data.description", b'"description": "\\u0000"'),
        ("data.name", b'"name": "\\ud800"'),
        ("data.schema", b'"schema": {"x": NaN}'),
        ("data.schema", b'"schema": {"x": [Infinity]}'),
        ("data.schema", b'"schema": {"x": 1e400}'),
        ("data.schema", b'"schema": {"x": 123456789012345678901234567890}'),
        ("data.schema", b'"schema": {"\\ud800": 1}'),
        ("data.min_cart_value.0.currency", b'"min_cart_value": [{"currency": "U\\u0000", "amount": 1}]'),
        ("data.max_applications_per_cart", b'"max_applications_per_cart": 4294967296'),
    ]
    for source, fragment in raw_cases:
        raw = b'{"data": {"type": "promotion", "name": "a", "promotion_type": "x_for_y", ' + fragment + b"}}"
        response = api.http.post("/v2/promotions", content=raw, headers=JSON)
        assert_ep_error(response, 400, source=source)
    user = b'{"data": {"type": "promotion_codes", "codes": [{"code": "U1", "user": "a\\u0000"}]}}'
    response = api.http.post(f"/v2/promotions/{promotion}/codes", content=user, headers=JSON)
    assert_ep_error(response, 400, source="data.codes.0.user")
    job = b'{"data": {"type": "promotion_job", "job_type": "code_export", "name": "a\\u0000"}}'
    response = api.http.post(f"/v2/promotions/{promotion}/jobs", content=job, headers=JSON)
    assert_ep_error(response, 400, source="data.name")
    # The store is still readable: nothing unrenderable was written.
    listed = api.http.get("/v2/promotions")
    assert listed.status_code == 200
    assert listed.json()["meta"]["results"]["total"] == 1


def test_nul_in_path_or_form_values__is_a_client_error_not_500(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    assert_ep_error(api.http.get("/v2/promotions/%00"), 404, detail="promotion not found")
    assert_ep_error(api.http.delete(f"/v2/promotions/{promotion}/codes/%00"), 404, detail="code not found")
    body = {"data": {"type": "promotion_codes", "codes": [{"code": "\u0000"}]}}
    assert api.http.request("DELETE", f"/v2/promotions/{promotion}/codes", json=body).status_code == 204
    form = {"grant_type": "client_credentials", "client_id": "a\u0000", "client_secret": "b"}
    assert_ep_error(httpx.post(f"{server.base_url}/oauth/access_token", data=form), 401)


def test_wrong_content_type__is_a_client_error_with_the_ep_body(server: LiveServer) -> None:
    api = server.api()
    body = httpx.Request("POST", "/", json={"data": PROMOTION}).content
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "multipart/form-data",
    ):
        response = api.http.post("/v2/promotions", content=body, headers={"content-type": content_type})
        assert response.status_code in (400, 415), (content_type, response.text)
        assert_client_error(response)
    assert api.http.get("/v2/promotions").json()["meta"]["results"]["total"] == 0


def test_json_with_a_charset_or_a_json_suffix__is_accepted(server: LiveServer) -> None:
    api = server.api()
    body = httpx.Request("POST", "/", json={"data": PROMOTION}).content
    for content_type in ("application/json; charset=utf-8", "application/vnd.api+json"):
        response = api.http.post("/v2/promotions", content=body, headers={"content-type": content_type})
        assert response.status_code == 201, (content_type, response.text)


def test_oversize_body__is_413_with_the_ep_body_announced_or_streamed(
    make_server: Callable[..., LiveServer],
) -> None:
    server = make_server(max_body_bytes=1000)
    api = server.api()
    big = {"data": {**PROMOTION, "description": "x" * 2000}}
    announced = api.http.post("/v2/promotions", json=big)
    assert_ep_error(announced, 413, "Payload Too Large", "The request body must be at most 1000 bytes")

    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * 100

    streamed = api.http.post("/v2/promotions", content=chunks(), headers=JSON)
    assert_ep_error(streamed, 413, "Payload Too Large")
    # Just under the limit is fine, and nothing from the refused requests was stored.
    assert api.http.post("/v2/promotions", json={"data": PROMOTION}).status_code == 201
    assert api.http.get("/v2/promotions").json()["meta"]["results"]["total"] == 1


def test_oversize_token_form__is_413_too(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(max_body_bytes=1000)
    form = {"grant_type": "client_credentials", "client_id": "x" * 2000}
    assert_ep_error(httpx.post(f"{server.base_url}/oauth/access_token", data=form), 413)


# ---- routes and methods ---------------------------------------------------------------------------


def test_unknown_route__is_404_with_the_ep_body(server: LiveServer) -> None:
    api = server.api()
    for path in (
        "/",
        "/nope",
        "/v2",
        "/v2/promotion",
        "/v2/promotions/x/y/z",
        "/v1/promotions",
        "/oauth/token",
    ):
        assert_ep_error(api.http.get(path), 404, "Not Found")
        assert_ep_error(httpx.post(f"{server.base_url}{path}", timeout=60), 404, "Not Found")


def test_wrong_method__is_405_with_the_ep_body_and_an_allow_header(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    job = api.create_job(promotion, "code_export").json()["data"]["id"]
    cases = [
        ("PATCH", "/v2/promotions"),
        ("DELETE", "/v2/promotions"),
        ("PUT", "/v2/promotions"),
        ("POST", f"/v2/promotions/{promotion}"),
        ("PATCH", f"/v2/promotions/{promotion}"),
        ("PUT", f"/v2/promotions/{promotion}/codes"),
        ("GET", f"/v2/promotions/{promotion}/codes/ABC"),
        ("DELETE", f"/v2/promotions/{promotion}/jobs"),
        ("DELETE", f"/v2/promotions/{promotion}/jobs/{job}"),
        ("GET", f"/v2/promotions/{promotion}/jobs/{job}/cancel"),
        ("POST", f"/v2/promotions/{promotion}/jobs/{job}/file"),
        ("GET", "/oauth/access_token"),
        ("DELETE", "/oauth/access_token"),
    ]
    for method, path in cases:
        response = api.http.request(method, path)
        assert_ep_error(response, 405, "Method Not Allowed")
        assert response.headers.get("allow"), (method, path)


def test_unknown_promotion__is_404_promotion_not_found_on_every_route(server: LiveServer) -> None:
    api = server.api()
    missing = str(uuid.uuid4())
    for method, path, data in [
        ("GET", f"/v2/promotions/{missing}", None),
        ("PUT", f"/v2/promotions/{missing}", {"type": "promotion", "id": missing, "name": "x"}),
        ("DELETE", f"/v2/promotions/{missing}", None),
        ("GET", f"/v2/promotions/{missing}/codes", None),
        ("POST", f"/v2/promotions/{missing}/codes", {"type": "promotion_codes", "codes": [{"code": "A"}]}),
        ("DELETE", f"/v2/promotions/{missing}/codes", {"type": "promotion_codes", "codes": [{"code": "A"}]}),
        ("DELETE", f"/v2/promotions/{missing}/codes/A", None),
        ("GET", f"/v2/promotions/{missing}/jobs", None),
        ("POST", f"/v2/promotions/{missing}/jobs", {"type": "promotion_job", "job_type": "code_export"}),
        ("GET", f"/v2/promotions/{missing}/jobs/{missing}", None),
        ("POST", f"/v2/promotions/{missing}/jobs/{missing}/cancel", None),
        ("GET", f"/v2/promotions/{missing}/jobs/{missing}/file", None),
        ("GET", "/v2/promotions/not-a-uuid", None),
    ]:
        response = api.http.request(method, path, json=None if data is None else {"data": data})
        assert_ep_error(response, 404, "Not Found", "promotion not found")


# ---- service surface ------------------------------------------------------------------------------

EXPECTED_OPERATIONS = {
    ("post", "/oauth/access_token"),
    ("get", "/v2/promotions"),
    ("post", "/v2/promotions"),
    ("get", "/v2/promotions/{promotion_id}"),
    ("put", "/v2/promotions/{promotion_id}"),
    ("delete", "/v2/promotions/{promotion_id}"),
    ("get", "/v2/promotions/{promotion_id}/codes"),
    ("post", "/v2/promotions/{promotion_id}/codes"),
    ("delete", "/v2/promotions/{promotion_id}/codes"),
    ("delete", "/v2/promotions/{promotion_id}/codes/{code}"),
    ("get", "/v2/promotions/{promotion_id}/jobs"),
    ("post", "/v2/promotions/{promotion_id}/jobs"),
    ("get", "/v2/promotions/{promotion_id}/jobs/{job_id}"),
    ("post", "/v2/promotions/{promotion_id}/jobs/{job_id}/cancel"),
    ("get", "/v2/promotions/{promotion_id}/jobs/{job_id}/file"),
    ("get", "/v2/rule-promotions"),
    ("post", "/v2/rule-promotions"),
    ("get", "/v2/rule-promotions/{promotion_id}"),
    ("put", "/v2/rule-promotions/{promotion_id}"),
    ("delete", "/v2/rule-promotions/{promotion_id}"),
    ("get", "/v2/rule-promotions/{promotion_id}/codes"),
    ("post", "/v2/rule-promotions/{promotion_id}/codes"),
    ("delete", "/v2/rule-promotions/{promotion_id}/codes"),
    ("delete", "/v2/rule-promotions/{promotion_id}/codes/{code_id}"),
    ("get", "/v2/rule-promotions/{promotion_id}/jobs"),
    ("post", "/v2/rule-promotions/{promotion_id}/jobs"),
    ("get", "/v2/rule-promotions/{promotion_id}/jobs/{job_id}"),
    ("post", "/v2/rule-promotions/{promotion_id}/jobs/{job_id}/cancel"),
    ("get", "/v2/rule-promotions/{promotion_id}/jobs/{job_id}/file"),
    ("get", "/downloads/{job_id}.csv"),
    ("get", "/healthz"),
    ("get", "/readyz"),
}


def test_openapi_document__is_served_without_a_token_and_lists_every_route(server: LiveServer) -> None:
    response = httpx.get(f"{server.base_url}/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    operations = {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "delete", "patch"}
    }
    assert operations == EXPECTED_OPERATIONS
    # The request envelope and the token form are described.
    assert "PromotionCreateRequest" in document["components"]["schemas"]
    token_body = document["paths"]["/oauth/access_token"]["post"]["requestBody"]["content"]
    assert "application/x-www-form-urlencoded" in token_body


def test_docs_page__answers_200_with_html(server: LiveServer) -> None:
    response = httpx.get(f"{server.base_url}/docs")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert "/openapi.json" in response.text


def test_health_endpoints__answer_without_a_token(server: LiveServer) -> None:
    assert httpx.get(f"{server.base_url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server.base_url}/readyz").json() == {"status": "ready"}
