"""What the Elastic Path spec fuzz runs meet only by chance, made on purpose: every way promojobs departs
from Elastic Path's specs that a request can surely provoke must be listed in the runs' baselines.

Twice a CI run failed because its random requests happened to meet a listed kind of divergence on an
operation whose entry was missing: a rule job list with a ``next`` link (``format: uri``), and an
update sent without a token (401). Here each list whose 200 answer the spec gives ``links`` (all but
the standard job list, whose schema has none) is served on a first, a middle and a last page, and
each operation is called without a token, bare, with unknown ids, and with a bad query and body; whatever
departs from the spec must be in the baseline. The schemas are those schemathesis validates with,
bundled as it bundles them, so the signatures are its own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
import schemathesis
import yaml  # type: ignore[import-untyped]
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation

from tests.api import rule_support as rule
from tests.support import Api, LiveServer

HERE = Path(__file__).parent
STANDARD_SPEC = HERE / "elasticpath" / "promotions-standard.service-generated.yaml"
RULE_SPEC = HERE / "elasticpath" / "rule-promotions.yaml"
STANDARD_LISTED = HERE / "elasticpath-divergences.json"
RULE_LISTED = HERE / "elasticpath-rule-divergences.json"
ROWS = 3  # with one record per page: a first, a middle and a last page
BAD_QUERY = {"page[limit]": "0", "page[offset]": "-1", "filter": "bogus(", "sort": "nonsense"}
Departure = tuple[str, str]  # (operation, signature), as a baseline entry names it
Operation = APIOperation[Any, Any, Any, Any]


def _listed(divergences: Path, check: str) -> set[Departure]:
    entries = json.loads(divergences.read_text(encoding="utf-8"))["entries"]
    return {(entry["operation"], entry["signature"]) for entry in entries if entry["check"] == check}


def _operations(spec: Path) -> list[Operation]:
    loaded = json.loads(json.dumps(yaml.safe_load(spec.read_text(encoding="utf-8")), default=str))
    operations = []
    for result in schemathesis.openapi.from_dict(loaded).get_all_operations():
        assert isinstance(result, Ok), result.err()  # Elastic Path's specs load whole
        operations.append(result.ok())
    return operations


def _validators(spec: Path) -> dict[str, jsonschema_rs.Validator]:
    """Each operation's 200 JSON validator, by schemathesis's label (``GET /v2/…``)."""
    validators = {}
    for operation in _operations(spec):
        response = operation.responses.find_by_status_code(200)
        if response is not None:
            schema = response.get_schema().schema
            validators[operation.label] = response.get_validator("application/json", schema)
    return validators


def _pages(api: Api, path: str) -> list[dict[str, Any]]:
    pages = []
    for offset in range(ROWS):
        response = api.http.get(path, params={"page[limit]": 1, "page[offset]": offset})
        assert response.status_code == 200, response.text
        pages.append(response.json())
    assert pages[0]["links"]["prev"] is None and pages[-1]["links"]["next"] is None
    assert pages[1]["links"]["prev"] and pages[1]["links"]["next"]
    return pages


def _unlisted_page_departures(spec: Path, listed: Path, api: Api, lists: dict[str, str]) -> list[Departure]:
    validators = _validators(spec)
    known = _listed(listed, "response_schema_conformance")
    unlisted = set()
    for operation, path in lists.items():
        for page in _pages(api, path):
            for error in validators[operation].iter_errors(page):
                departure = (operation, "/".join(map(str, error.schema_path)))
                if departure not in known:
                    unlisted.add(departure)
    return sorted(unlisted)


@dataclass(frozen=True)
class Probe:
    """One request an Elastic Path client may send to an operation, whatever its path ids and body."""

    signed: bool
    ids: dict[str, str]
    query: dict[str, str]
    body: Any


def _probes(operation: Operation, real_ids: dict[str, str]) -> Iterator[Probe]:
    names = [parameter.name for parameter in operation.iter_parameters() if parameter.location == "path"]
    real = {name: real_ids.get(name, str(uuid.uuid4())) for name in names}
    yield Probe(signed=False, ids=real, query={}, body=None)
    yield Probe(signed=True, ids=real, query={}, body=None)  # e.g. cancelling a job that has ended
    if names:
        yield Probe(signed=True, ids={name: str(uuid.uuid4()) for name in names}, query={}, body=None)
    declared = {parameter.name for parameter in operation.iter_parameters() if parameter.location == "query"}
    query = {name: value for name, value in BAD_QUERY.items() if name in declared}
    body: dict[str, Any] | None = {"data": {}} if operation.definition.raw.get("requestBody") else None
    if query or body is not None:
        yield Probe(signed=True, ids=real, query=query, body=body)


def _declared(operation: Operation, status: int) -> bool:
    responses = operation.definition.raw.get("responses", {})
    return str(status) in responses or f"{status // 100}XX" in responses or "default" in responses


def _unlisted_statuses(
    spec: Path, listed: Path, server: LiveServer, token: str, real_ids: dict[str, str]
) -> list[Departure]:
    known = _listed(listed, "status_code_conformance")
    unlisted = set()
    # deletions last: the real ids must stay real for every other operation's probes
    for operation in sorted(_operations(spec), key=lambda operation: operation.method.upper() == "DELETE"):
        for probe in _probes(operation, real_ids):
            headers = {"Authorization": f"Bearer {token}"} if probe.signed else {}
            path = operation.path.format(**probe.ids)
            response = httpx.request(
                operation.method.upper(),
                server.base_url + path,
                params=probe.query,
                json=probe.body,
                headers=headers,
                timeout=60,
            )
            assert response.status_code < 500, (operation.label, probe, response.text)
            departure = (operation.label, str(response.status_code))
            if not _declared(operation, response.status_code) and departure not in known:
                unlisted.add(departure)
    return sorted(unlisted)


@pytest.fixture
def served(make_server: Callable[..., LiveServer]) -> LiveServer:
    return make_server(profile="elasticpath")


def _standard_store(api: Api) -> list[str]:
    """Promotions with codes on the first; returns the promotion ids and the first one's export job id."""
    promotions = [api.create_promotion(name=f"listed {n}") for n in range(ROWS)]
    assert api.add_codes(promotions[0], *(f"LISTED{n}" for n in range(ROWS))).status_code == 201
    export = api.create_job(promotions[0], "code_export")
    assert export.status_code == 201, export.text
    api.wait_for(promotions[0], export.json()["data"]["id"], "completed")
    return [*promotions, export.json()["data"]["id"]]


def _rule_store(api: Api) -> list[str]:
    """Rule promotions, codes and ``ROWS`` completed exports on the first; its id, then the last job's."""
    promotions = [rule.create_id(api, name=f"listed {n}") for n in range(ROWS)]
    assert (
        rule.add_codes(api, promotions[0], *({"code": f"RLISTED{n}"} for n in range(ROWS))).status_code == 201
    )
    job_id = ""
    for _ in range(ROWS):  # one at a time: a promotion has at most one active job
        job = rule.create_job(api, promotions[0], "code_export")
        assert job.status_code == 201, job.text
        job_id = job.json()["data"]["id"]
        rule.wait_for(api, promotions[0], job_id, "completed")
    return [promotions[0], job_id]


def test_standard_lists__every_schema_departure_on_any_page_is_listed(served: LiveServer) -> None:
    api = served.api("listed-store")
    promotion = _standard_store(api)[0]
    lists = {
        "GET /v2/promotions": "/v2/promotions",
        "GET /v2/promotions/{promotionID}/codes": f"/v2/promotions/{promotion}/codes",
    }
    unlisted = _unlisted_page_departures(STANDARD_SPEC, STANDARD_LISTED, api, lists)
    assert unlisted == [], unlisted


def test_rule_lists__every_schema_departure_on_any_page_is_listed(served: LiveServer) -> None:
    api = served.api("listed-store")
    promotion = _rule_store(api)[0]
    lists = {
        "GET /v2/rule-promotions": rule.BASE,
        "GET /v2/rule-promotions/{promotionID}/codes": f"{rule.BASE}/{promotion}/codes",
        "GET /v2/rule-promotions/{uuid}/jobs": f"{rule.BASE}/{promotion}/jobs",
    }
    unlisted = _unlisted_page_departures(RULE_SPEC, RULE_LISTED, api, lists)
    assert unlisted == [], unlisted


def test_standard_operations__every_status_a_sure_request_gets_is_declared_or_listed(
    served: LiveServer,
) -> None:
    token = served.token("listed-store")
    promotion, *_, job = _standard_store(Api(served.http(token)))
    real_ids = {"promotionID": promotion, "jobID": job}
    unlisted = _unlisted_statuses(STANDARD_SPEC, STANDARD_LISTED, served, token, real_ids)
    assert unlisted == [], unlisted


def test_rule_operations__every_status_a_sure_request_gets_is_declared_or_listed(served: LiveServer) -> None:
    token = served.token("listed-store")
    promotion, job = _rule_store(Api(served.http(token)))
    real_ids = {"promotionID": promotion, "uuid": promotion, "job-uuid": job}
    unlisted = _unlisted_statuses(RULE_SPEC, RULE_LISTED, served, token, real_ids)
    assert unlisted == [], unlisted
