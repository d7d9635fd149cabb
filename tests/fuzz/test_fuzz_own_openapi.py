"""schemathesis against promojobs' own /openapi.json, over real HTTP, on both backends.

Every operation is tested in every phase (the schema's examples, coverage of boundaries and invalid
values, random fuzzing, and stateful sequences along the OpenAPI links: create a promotion, then get,
update, list, add codes, submit, get, cancel and download jobs). Zero 5xx, zero status codes the document
does not list, zero responses that contradict their schema.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_errors import EXPECTED_OPERATIONS
from tests.fuzz.schemathesis_cli import run_schemathesis, show
from tests.support import LiveServer

pytestmark = pytest.mark.fuzz

CHECKS = ("not_a_server_error", "status_code_conformance", "response_schema_conformance")
# Small jobs: the embedded worker runs every job the fuzzer submits, and a job of the default limit
# (100 million codes) would take the machine for the rest of the run.
CODES_PER_JOB = 2_000
MAX_TIME_SECONDS = 90  # 32 operations (standard and rule promotions) share it


@pytest.mark.slow
def test_schemathesis__own_openapi__every_operation_and_the_stateful_links__no_5xx_no_schema_violation(
    make_server: Callable[..., LiveServer], backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_server(max_codes_per_job=CODES_PER_JOB)
    token = server.token("fuzz-store")
    run = run_schemathesis(
        f"{server.base_url}/openapi.json",
        label=f"promojobs OpenAPI ({backend})",
        token=token,
        checks=CHECKS,
        # Small passes, repeated until the time is up: each turn of fuzzing leaves the stateful phase
        # its share even on a loaded machine.
        max_examples=50,
        max_time=MAX_TIME_SECONDS,
        work_dir=tmp_path / "schemathesis",
    )
    show(capsys, run.summary())
    assert run.exit_code == 0 and not run.failures and not run.errors, run.details()
    assert run.operations["selected"] == run.operations["tested"] == len(EXPECTED_OPERATIONS), run.details()
    assert run.phases == dict.fromkeys(("examples", "coverage", "fuzzing", "stateful"), "success"), (
        run.details()
    )
    # How many cases fit in the time depends on the machine's load, so no count is required beyond one
    # per operation; every operation tested and every phase run to success is what the run must show.
    assert run.cases["generated"] >= len(EXPECTED_OPERATIONS), run.details()
    assert run.links_followed >= 1, run.details()
    # The store the fuzzer filled is still served whole. (With the fuzzer's token: its failed token
    # requests have this address throttled for a while.)
    listed = server.http(token).get("/v2/promotions", params={"page[limit]": 100})
    assert listed.status_code == 200, listed.text
    assert httpx.get(f"{server.base_url}/readyz").status_code == 200


def _document(server: LiveServer) -> dict[str, Any]:
    response = httpx.get(f"{server.base_url}/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def test_openapi__documents_the_ep_error_body_for_every_error_and_never_fastapis_422(
    server: LiveServer,
) -> None:
    document = _document(server)
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path, status)
            secured = bool(operation.get("security"))
            statuses = set(operation["responses"])
            assert ({"401", "403"} <= statuses) == secured, (method, path, statuses)
            if "requestBody" in operation:
                assert {"400", "413"} <= statuses, (method, path)


def test_openapi__links_name_existing_operations_and_their_parameters(server: LiveServer) -> None:
    document = _document(server)
    operations = {
        operation["operationId"]: operation
        for item in document["paths"].values()
        for operation in item.values()
    }
    seen = 0
    for item in document["paths"].values():
        for operation in item.values():
            for response in operation["responses"].values():
                for name, link in response.get("links", {}).items():
                    target = operations[link["operationId"]]
                    names = {parameter["name"] for parameter in target.get("parameters", [])}
                    for parameter in link["parameters"]:
                        assert parameter.removeprefix("path.") in names, (name, parameter)
                    seen += 1
    assert seen >= 20


def test_openapi__list_routes_declare_pagination_and_filter_and_job_limits_follow_the_settings(
    make_server: Callable[..., LiveServer],
) -> None:
    document = _document(make_server(profile="elasticpath"))
    for path in (
        "/v2/promotions",
        "/v2/promotions/{promotion_id}/codes",
        "/v2/promotions/{promotion_id}/jobs",
    ):
        names = [parameter["name"] for parameter in document["paths"][path]["get"]["parameters"]]
        assert {"page[limit]", "page[offset]", "filter"} <= set(names), path
    requested = document["components"]["schemas"]["GenerateParametersRequest"]
    assert requested["properties"]["number_of_codes"]["maximum"] == 1_000
    job = document["components"]["schemas"]["JobCreate"]["properties"]["parameters"]
    assert {"$ref": "#/components/schemas/GenerateParametersRequest"} in job["anyOf"]
