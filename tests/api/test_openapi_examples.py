"""The OpenAPI document's descriptions and examples (``api.operation_docs``), kept true.

Every operation has a description and a success example (a new route without them fails here); every
example is valid against its schema in the same document; every example is sent to a live server (real
HTTP, real database, both backends), with the ids of objects the test creates in place of the examples'
placeholders, and the answer must be the example: errors exactly, success answers by shape (the same keys
at every level, the same types) and by every value that is not an id, a timestamp or a link. And each
maximum length the document states for a field the services check is the one the server enforces.
"""

from __future__ import annotations

import csv
import io
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import jsonschema_rs
import pytest
from fastapi.routing import APIRoute

from promojobs.api import operation_docs as docs
from promojobs.api.operation_docs import OPERATION_DOCS, Endpoint, Example, OperationDoc
from promojobs.api.routes import codes, downloads, health, jobs, promotions, rule_promotions, tokens
from tests.support import Api, LiveServer, running_workers

MakeServer = Callable[..., LiveServer]
_ROUTERS = (tokens, promotions, codes, jobs, rule_promotions, downloads, health)
# Values that differ from run to run: compared by type only.
VARIABLE_KEYS = frozenset(
    {
        "id",
        "promotion_id",
        "rule_promotion_id",
        "created_at",
        "updated_at",
        "created_by",
        "cancelled_by",
        "access_token",
        "expires",
        "href",
        "current",
        "first",
        "last",
    }
)
# The database not answering in time cannot be arranged on a shared test database here: that example is
# compared with the live answer in tests/distant/test_event_loop.py (a database behind a stalled proxy).
PROVOKED_ELSEWHERE = {(health.readyz, 503)}
_stores = itertools.count()


def _endpoints() -> dict[tuple[str, str], Endpoint]:
    """(method, path) of every documented route, and its route function, as the app mounts them."""
    found: dict[tuple[str, str], Endpoint] = {}
    for module in _ROUTERS:
        for route in module.router.routes:
            if isinstance(route, APIRoute) and route.include_in_schema:
                for method in route.methods or ():
                    found[(method.lower(), route.path_format)] = route.endpoint
    return found


def served_document(server: LiveServer) -> dict[str, Any]:
    response = httpx.get(f"{server.base_url}/openapi.json")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def served_operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema_rs.Validator:
    """A validator of ``schema`` whose ``#/components/...`` references resolve in ``document``."""
    return jsonschema_rs.Draft202012Validator({**schema, "components": document["components"]})


# ---- the document ----


def test_openapi__every_operation_has_a_description_and_an_example_of_its_success_and_its_errors(
    server: LiveServer,
) -> None:
    document = served_document(server)
    endpoints = _endpoints()
    for method, path, operation in served_operations(document):
        where = (method, path)
        assert len(operation.get("description", "")) >= 40, where
        doc = OPERATION_DOCS.get(endpoints[where])
        assert doc is not None, f"{where}: no entry in api.operation_docs.OPERATION_DOCS"
        responses = operation["responses"]
        success = [status for status in responses if status.startswith("2")]
        assert len(success) == 1, where
        assert any(str(example.status) == success[0] for example in doc.examples), where
        for example in doc.examples:
            assert str(example.status) in responses, (where, example.summary)
            for media in responses[str(example.status)].get("content", {}).values():
                assert example.summary in {shown["summary"] for shown in media["examples"].values()}
        if success[0] != "204":
            assert all(media["examples"] for media in responses[success[0]]["content"].values()), where
        if "requestBody" in operation:
            for media in operation["requestBody"]["content"].values():
                assert media["examples"], where
        statuses = {example.status for example in doc.examples}
        if "401" in responses and path != "/oauth/access_token":
            assert {401, 403} <= statuses, where
        if "{promotion_id}" in path:
            assert 404 in statuses, where
    assert set(OPERATION_DOCS) <= set(endpoints.values()), "an entry for a route that is not served"


def test_openapi__every_example_is_valid_against_its_schema_in_the_same_document(server: LiveServer) -> None:
    document = served_document(server)
    checked = 0
    for method, path, operation in served_operations(document):
        bodies = [operation.get("requestBody", {}), *operation["responses"].values()]
        for body in bodies:
            for media_type, media in body.get("content", {}).items():
                validator = _validator(document, media["schema"])
                for name, example in media.get("examples", {}).items():
                    errors = [error.message for error in validator.iter_errors(example["value"])]
                    assert not errors, (method, path, media_type, name, errors)
                    checked += 1
    assert checked >= 100


def test_openapi__each_field_states_one_maximum_length(server: LiveServer) -> None:
    document = served_document(server)
    for name, schema in document["components"]["schemas"].items():
        for field, property_schema in schema.get("properties", {}).items():
            stated = [property_schema.get("maxLength")]
            stated += [branch.get("maxLength") for branch in property_schema.get("anyOf", [])]
            assert len({value for value in stated if value is not None}) <= 1, (name, field, stated)


# ---- the live server ----


@dataclass
class World:
    """What one example runs on: the store emptied, then a promotion of the kind the path names (with a
    code, and the job the example asks for), and the path parameters naming them."""

    server: LiveServer
    api: Api
    implicit: str  # the Authorization header with a storefront token of the same store
    path_parameters: dict[str, str]
    promotion_id: str | None = None


def _world(
    server: LiveServer, api: Api, implicit: str, path: str, endpoint: Endpoint, example: Example
) -> World:
    _empty_store(api)
    world = World(server, api, implicit, {"code": "SUMMER-10"})
    if path.startswith("/v2/promotions") and endpoint is not promotions.create_promotion:
        _standard_promotion(world, example)
    elif path.startswith("/v2/rule-promotions") and endpoint is not rule_promotions.create_rule_promotion:
        _rule_promotion(world, example)
    elif path.startswith("/downloads/"):
        _standard_promotion(world, Example("", 200, None, job="completed"))
    for name, unknown in docs.UNKNOWN.items():
        world.path_parameters.setdefault(name, unknown)
    if example.unknown:
        world.path_parameters[example.unknown] = docs.UNKNOWN[example.unknown]
    return world


def _empty_store(api: Api) -> None:
    """Delete the promotions of the examples before (and their codes with them: codes are unique per
    store), so that one store (one token) serves every example."""
    for collection in ("/v2/promotions", "/v2/rule-promotions"):
        listed = api.http.get(collection, params={"page[limit]": 100})
        assert listed.status_code == 200, listed.text
        for promotion in listed.json()["data"]:
            assert api.http.delete(f"{collection}/{promotion['id']}").status_code == 204


def _created(response: httpx.Response) -> Any:
    assert response.status_code == 201, response.text
    return response.json()["data"]


def _standard_promotion(world: World, example: Example) -> None:
    http, base = world.api.http, "/v2/promotions"
    promotion_id = str(_created(http.post(base, json={"data": docs.PROMOTION_REQUEST}))["id"])
    _created(http.post(f"{base}/{promotion_id}/codes", json={"data": docs.EXISTING_CODES}))
    world.promotion_id = world.path_parameters["promotion_id"] = promotion_id
    _add_job(world, f"{base}/{promotion_id}/jobs", example, docs.GENERATE_REQUEST)


def _rule_promotion(world: World, example: Example) -> None:
    http, base = world.api.http, "/v2/rule-promotions"
    promotion_id = str(_created(http.post(base, json={"data": docs.RULE_PROMOTION_REQUEST}))["id"])
    added = _created(http.post(f"{base}/{promotion_id}/codes", json={"data": docs.EXISTING_RULE_CODES}))
    world.path_parameters["code_id"] = str(added[0]["id"])
    world.promotion_id = world.path_parameters["promotion_id"] = promotion_id
    _add_job(world, f"{base}/{promotion_id}/jobs", example, docs.RULE_GENERATE_REQUEST)


def _add_job(world: World, jobs_path: str, example: Example, generate: dict[str, Any]) -> None:
    if example.job is None:
        return
    http = world.api.http
    if example.job == "pending":  # no worker runs in this server: the job stays pending
        world.path_parameters["job_id"] = str(_created(http.post(jobs_path, json={"data": generate}))["id"])
        return
    job_id = str(_created(http.post(jobs_path, json={"data": docs.EXPORT_REQUEST}))["id"])
    world.path_parameters["job_id"] = job_id
    with running_workers(world.server):
        _wait_completed(world, f"{jobs_path}/{job_id}")


def _wait_completed(world: World, job_path: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        response = world.api.http.get(job_path)
        assert response.status_code == 200, response.text
        status = response.json()["data"]["status"]
        if status == "completed":
            return
        assert status in ("pending", "processing") and time.monotonic() < deadline, response.text
        time.sleep(0.01)  # polling the job, as a client does


def _substituted(value: Any, replacements: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: _substituted(item, replacements) for key, item in value.items()}
    if isinstance(value, list):
        return [_substituted(item, replacements) for item in value]
    if isinstance(value, str):
        return replacements.get(value, value)
    return value


def _send(world: World, method: str, path: str, doc: OperationDoc, example: Example) -> httpx.Response:
    server = world.server
    request = doc.request_for(example)
    target = path.format(**world.path_parameters)
    tokens = {"client_credentials": world.api.http.headers["Authorization"], "implicit": world.implicit}
    headers = {"Authorization": tokens[example.grant]} if example.grant in tokens else {}
    if example.idempotency_key is not None:
        headers["Idempotency-Key"] = example.idempotency_key
        first = _substituted(doc.request_for(doc.successes[0]), {docs.PROMOTION_ID: world.promotion_id or ""})
        _created(
            httpx.post(
                f"{server.base_url}{path.format(**world.path_parameters)}", json=first, headers=headers
            )
        )
    if path == "/oauth/access_token":
        client = server.container.auth.create_client(f"token-{next(_stores)}")
        form = _substituted(
            request, {docs.CLIENT_ID: client.client_id, docs.CLIENT_SECRET: client.client_secret}
        )
        return httpx.post(f"{server.base_url}{target}", data=form, timeout=60)
    query = dict(example.query)
    if path.startswith("/downloads/"):
        link = world.api.http.get(
            f"/v2/promotions/{world.promotion_id}/jobs/{world.path_parameters['job_id']}/file"
        )
        assert link.status_code == 200, link.text
        query = {**dict(parse_qsl(urlsplit(link.json()["href"]).query)), **query}
        headers = {}
    # A body's id is the path's (an unknown one for the 404 examples).
    promotion_id = world.path_parameters.get("promotion_id", docs.PROMOTION_ID)
    body = _substituted(request, {docs.PROMOTION_ID: promotion_id, docs.RULE_PROMOTION_ID: promotion_id})
    return httpx.request(
        method.upper(), f"{server.base_url}{target}", json=body, params=query, headers=headers, timeout=60
    )


def _differences(expected: Any, actual: Any, where: str = "") -> list[str]:
    """How ``actual`` differs from the example ``expected``: keys, types, and the values that do not
    vary from run to run (``VARIABLE_KEYS`` are compared by type only)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: {type(actual).__name__} instead of an object"]
        if set(expected) != set(actual):
            return [f"{where}: keys {sorted(actual)} instead of {sorted(expected)}"]
        found: list[str] = []
        for key, value in expected.items():
            if key in VARIABLE_KEYS:
                if type(value) is not type(actual[key]):
                    found.append(f"{where}.{key}: {actual[key]!r} is not like {value!r}")
            else:
                found += _differences(value, actual[key], f"{where}.{key}")
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: {actual!r} instead of {len(expected)} items"]
        return [
            found
            for index, (item, live) in enumerate(zip(expected, actual, strict=True))
            for found in _differences(item, live, f"{where}[{index}]")
        ]
    if type(expected) is not type(actual) or expected != actual:
        return [f"{where}: {actual!r} instead of {expected!r}"]
    return []


def _csv_rows(text: str) -> list[list[str]]:
    """The CSV's rows without the created_at column (the one value that differs from run to run)."""
    rows = list(csv.reader(io.StringIO(text)))
    column = rows[0].index("created_at")
    return [row[:column] + row[column + 1 :] for row in rows]


def _compare(
    example: Example, response: httpx.Response, documented: dict[str, Any], schema: jsonschema_rs.Validator
) -> list[str]:
    if response.status_code != example.status:
        return [f"status {response.status_code} instead of {example.status}: {response.text[:500]}"]
    headers = [
        f"header {name}: {response.headers.get(name)!r} instead of {example.headers.get(name)!r}"
        for name in documented.get("headers", {})
        if response.headers.get(name) != example.headers.get(name)
    ]
    return headers + _compare_body(example, response, schema)


def _compare_body(example: Example, response: httpx.Response, schema: jsonschema_rs.Validator) -> list[str]:
    if example.body is None:
        return [] if response.content == b"" else [f"a body: {response.text[:200]}"]
    if isinstance(example.body, str):
        assert response.headers["content-type"].startswith("text/csv")
        if _csv_rows(response.text) != _csv_rows(example.body):
            return [f"CSV {response.text!r} instead of {example.body!r}"]
        return []
    answer = response.json()
    if example.status >= 400:
        return [] if answer == example.body else [f"{answer} instead of {example.body}"]
    found = _differences(example.body, answer)
    errors = [error.message for error in schema.iter_errors(answer)]
    return found + [f"the live answer contradicts the schema: {error}" for error in errors]


def test_openapi_examples__every_example_is_what_the_live_server_answers(make_server: MakeServer) -> None:
    server = make_server(embedded_worker=False)
    document = served_document(server)
    endpoints = _endpoints()
    api = server.api("examples")
    implicit = f"Bearer {server.token('examples', grant_type='implicit')}"
    failures: list[str] = []
    sent = 0
    for method, path, operation in served_operations(document):
        endpoint = endpoints[(method, path)]
        doc = OPERATION_DOCS[endpoint]
        for example in doc.examples:
            if (endpoint, example.status) in PROVOKED_ELSEWHERE:
                continue
            world = _world(server, api, implicit, path, endpoint, example)
            response = _send(world, method, path, doc, example)
            documented: dict[str, Any] = operation["responses"][str(example.status)]
            content: dict[str, Any] = documented.get("content", {})
            schema: dict[str, Any] = next((media["schema"] for media in content.values()), {})
            differences = _compare(example, response, documented, _validator(document, schema))
            failures += [f"{method.upper()} {path} {example.summary!r}: {found}" for found in differences]
            sent += 1
    assert not failures, "\n".join(failures)
    assert sent == sum(len(doc.examples) for doc in OPERATION_DOCS.values()) - len(PROVOKED_ELSEWHERE)


@pytest.mark.parametrize("kind", ["standard", "rule"])
def test_openapi__each_stated_maximum_length_is_the_one_the_server_enforces(
    make_server: MakeServer, kind: str
) -> None:
    server = make_server(embedded_worker=False)
    schemas = served_document(server)["components"]["schemas"]
    api = server.api()
    http = api.http
    if kind == "standard":
        base, code_schema, job_schema = "/v2/promotions", schemas["CodeIn"], schemas["JobCreate"]
        promotion = str(_created(http.post(base, json={"data": docs.PROMOTION_REQUEST}))["id"])
    else:
        base, code_schema, job_schema = "/v2/rule-promotions", schemas["RuleCodeIn"], schemas["RuleJobCreate"]
        promotion = str(_created(http.post(base, json={"data": docs.RULE_PROMOTION_REQUEST}))["id"])

    def stated(schema: dict[str, Any], field: str) -> int:
        property_schema = schema["properties"][field]
        branch = next(b for b in property_schema.get("anyOf", [property_schema]) if b.get("type") == "string")
        return int(branch["maxLength"])

    def add_code(**fields: Any) -> httpx.Response:
        body = {"data": {"type": "promotion_codes", "codes": [fields]}}
        return http.post(f"{base}/{promotion}/codes", json=body)

    longest_code = stated(code_schema, "code")
    assert add_code(code="C" * longest_code).status_code == 201
    too_long = add_code(code="D" * (longest_code + 1))
    assert too_long.status_code == 400 and too_long.json()["errors"][0]["source"] == "data.codes.0.code"
    longest_user = stated(code_schema, "user")
    assert add_code(code="USER-1", user="u" * longest_user).status_code == 201
    too_long = add_code(code="USER-2", user="u" * (longest_user + 1))
    assert too_long.status_code == 400 and too_long.json()["errors"][0]["source"] == "data.codes.0.user"
    longest_name = stated(job_schema, "name")
    export = {"type": "promotion_job", "job_type": "code_export"}
    too_long = http.post(
        f"{base}/{promotion}/jobs", json={"data": {**export, "name": "n" * (longest_name + 1)}}
    )
    assert too_long.status_code == 400 and too_long.json()["errors"][0]["source"] == "data.name"
    assert f"at most {longest_name} characters" in too_long.json()["errors"][0]["detail"]
    fits = http.post(f"{base}/{promotion}/jobs", json={"data": {**export, "name": "n" * longest_name}})
    assert fits.status_code == 201, fits.text
