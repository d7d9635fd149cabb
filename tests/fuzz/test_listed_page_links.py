"""Every list promojobs serves, on its first, middle and last page, against Elastic Path's response schemas:
each way a page departs from the schema must be a divergence the fuzz runs' baselines list.

The fuzz runs meet a page with both a ``prev`` and a ``next`` link only when their random requests happen
to make one (a CI run failed the first time a rule job list had a ``next`` link, whose ``format: uri``
the baseline did not list), so this test makes such pages on purpose. The schemas are the ones
schemathesis validates responses with, bundled as it bundles them, so the signatures are its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
import yaml  # type: ignore[import-untyped]
from schemathesis.core.result import Ok

from tests.api import rule_support as rule
from tests.support import Api, LiveServer

HERE = Path(__file__).parent
STANDARD_SPEC = HERE / "elasticpath" / "promotions-standard.service-generated.yaml"
RULE_SPEC = HERE / "elasticpath" / "rule-promotions.yaml"
ROWS = 3  # with one record per page: a first, a middle and a last page


def _listed(divergences: Path) -> set[tuple[str, str]]:
    entries = json.loads(divergences.read_text(encoding="utf-8"))["entries"]
    return {
        (entry["operation"], entry["signature"])
        for entry in entries
        if entry["check"] == "response_schema_conformance"
    }


def _validators(spec: Path) -> dict[str, jsonschema_rs.Validator]:
    """Each operation's 200 JSON validator, by schemathesis's label (``GET /v2/…``)."""
    loaded = json.loads(json.dumps(yaml.safe_load(spec.read_text(encoding="utf-8")), default=str))
    validators = {}
    for result in schemathesis.openapi.from_dict(loaded).get_all_operations():
        assert isinstance(result, Ok), result.err()  # Elastic Path's specs load whole
        operation = result.ok()
        response = operation.responses.find_by_status_code(200)
        if response is not None:
            schema = response.get_schema().schema
            validators[operation.label] = response.get_validator("application/json", schema)
    return validators


def _pages(api: Api, path: str) -> Iterator[dict[str, Any]]:
    for offset in range(ROWS):
        response = api.http.get(path, params={"page[limit]": 1, "page[offset]": offset})
        assert response.status_code == 200, response.text
        yield response.json()


def _unlisted(
    validators: dict[str, jsonschema_rs.Validator],
    listed: set[tuple[str, str]],
    api: Api,
    lists: dict[str, str],
) -> list[tuple[str, str]]:
    unlisted: set[tuple[str, str]] = set()
    for operation, path in lists.items():
        pages = list(_pages(api, path))
        assert pages[0]["links"]["prev"] is None and pages[-1]["links"]["next"] is None
        assert pages[1]["links"]["prev"] and pages[1]["links"]["next"]
        for page in pages:
            for error in validators[operation].iter_errors(page):
                signature = "/".join(map(str, error.schema_path))
                if (operation, signature) not in listed:
                    unlisted.add((operation, signature))
    return sorted(unlisted)


@pytest.fixture
def served(make_server: Callable[..., LiveServer]) -> Api:
    return make_server(profile="elasticpath").api("links-store")


def test_standard_lists__every_schema_departure_on_any_page_is_a_listed_divergence(served: Api) -> None:
    promotions = [served.create_promotion(name=f"links {n}") for n in range(ROWS)]
    assert served.add_codes(promotions[0], *(f"LINK{n}" for n in range(ROWS))).status_code == 201
    lists = {
        "GET /v2/promotions": "/v2/promotions",
        "GET /v2/promotions/{promotionID}/codes": f"/v2/promotions/{promotions[0]}/codes",
    }
    listed = _listed(HERE / "elasticpath-divergences.json")
    unlisted = _unlisted(_validators(STANDARD_SPEC), listed, served, lists)
    assert unlisted == [], unlisted


def test_rule_lists__every_schema_departure_on_any_page_is_a_listed_divergence(served: Api) -> None:
    promotions = [rule.create_id(served, name=f"links {n}") for n in range(ROWS)]
    codes = [{"code": f"RLINK{n}", "uses": 1} for n in range(ROWS)]
    assert rule.add_codes(served, promotions[0], *codes).status_code == 201
    for _ in range(ROWS):  # one at a time: a promotion has at most one active job
        job = rule.create_job(served, promotions[0], "code_export")
        assert job.status_code == 201, job.text
        rule.wait_for(served, promotions[0], job.json()["data"]["id"], "completed")
    lists = {
        "GET /v2/rule-promotions": rule.BASE,
        "GET /v2/rule-promotions/{promotionID}/codes": f"{rule.BASE}/{promotions[0]}/codes",
        "GET /v2/rule-promotions/{uuid}/jobs": f"{rule.BASE}/{promotions[0]}/jobs",
    }
    listed = _listed(HERE / "elasticpath-rule-divergences.json")
    unlisted = _unlisted(_validators(RULE_SPEC), listed, served, lists)
    assert unlisted == [], unlisted
