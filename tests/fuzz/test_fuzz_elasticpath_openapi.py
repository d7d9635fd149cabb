"""schemathesis against Elastic Path's own Promotions OpenAPI, with the Elastic-Path-compatible profile.

Two runs on each backend:

1. ``not_a_server_error``: whatever Elastic Path's clients may send, promojobs never answers 5xx.
2. ``status_code_conformance`` and ``response_schema_conformance`` against the divergences we know of
   (``elasticpath-divergences.json``, a schemathesis baseline): every divergence from Elastic Path's spec
   is listed there with the row of docs/compatibility.md ("Divergences from Elastic Path's OpenAPI") that
   gives its reason, and a new one fails the test.

The spec is ``elasticpath/promotions-standard.service-generated.yaml``, Elastic Path's published file
(see README.md). The test adds OpenAPI links to a copy of it (the published file has none) so that the
stateful phase reaches real promotions: create, then get, update, delete, history, codes and jobs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from tests.fuzz.elasticpath_runs import check_listed_divergences, run_against_spec
from tests.fuzz.schemathesis_cli import show
from tests.support import LiveServer

pytestmark = pytest.mark.fuzz

HERE = Path(__file__).parent
ELASTIC_PATH_SPEC = HERE / "elasticpath" / "promotions-standard.service-generated.yaml"
DIVERGENCES = HERE / "elasticpath-divergences.json"
DOC_SECTION = "## Divergences from Elastic Path's OpenAPI"

_PROMOTION = "/v2/promotions/{promotionID}"
_JOBS = _PROMOTION + "/jobs"


def _ref(method: str, path: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def _with_links(spec: dict[str, Any]) -> dict[str, Any]:
    """Elastic Path's spec with links from a created (or fetched) promotion and job to what follows."""
    promotion = {"promotionID": "$response.body#/data/id"}
    after_promotion = {
        "GetPromotion": {"operationId": "getAPromotion", "parameters": promotion},
        "UpdatePromotion": {"operationId": "updateAPromotion", "parameters": promotion},
        "GetHistory": {"operationId": "getAPromotionHistory", "parameters": promotion},
        "ListCodes": {"operationId": "getPromotionCodes", "parameters": promotion},
        "AddCodes": {"operationId": "createPromotionCodes", "parameters": promotion},
        "DeleteCodes": {"operationId": "deleteMultiplePromotionCodes", "parameters": promotion},
        "ListJobs": {"operationRef": _ref("get", _JOBS), "parameters": promotion},
        "CreateJob": {"operationRef": _ref("post", _JOBS), "parameters": promotion},
        "DeletePromotion": {"operationId": "deleteAPromotion", "parameters": promotion},
    }
    job = {"promotionID": "$response.body#/data/promotion_id", "jobID": "$response.body#/data/id"}
    after_job = {
        "CancelJob": {"operationRef": _ref("post", _JOBS + "/{jobID}/cancel"), "parameters": job},
        "GetJobFile": {"operationRef": _ref("get", _JOBS + "/{jobID}/file"), "parameters": job},
    }
    paths = spec["paths"]
    paths["/v2/promotions"]["post"]["responses"]["201"]["links"] = after_promotion
    paths[_PROMOTION]["get"]["responses"]["200"]["links"] = after_promotion
    created = dict(spec["components"]["responses"]["PromotionJobCreatedResponse"])
    created["links"] = after_job
    paths[_JOBS]["post"]["responses"]["201"] = created
    return spec


def _linked_spec(work_dir: Path) -> Path:
    spec = yaml.safe_load(ELASTIC_PATH_SPEC.read_text(encoding="utf-8"))
    path = work_dir / "elasticpath-with-links.json"
    work_dir.mkdir(parents=True, exist_ok=True)
    # YAML reads the examples 2020-01-01 as dates; they are strings in the spec.
    path.write_text(json.dumps(_with_links(spec), default=str), encoding="utf-8")
    return path


@pytest.mark.slow
def test_schemathesis__elastic_path_openapi_with_the_elasticpath_profile__no_5xx_and_no_unlisted_divergence(
    make_server: Callable[..., LiveServer], backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_server(profile="elasticpath")
    spec = _linked_spec(tmp_path)
    label = f"Elastic Path OpenAPI ({backend})"
    no_5xx, divergences = run_against_spec(server, spec, DIVERGENCES, label, tmp_path)
    show(capsys, no_5xx.summary(), divergences.summary())
    assert no_5xx.exit_code == 0 and not no_5xx.failures and not no_5xx.errors, no_5xx.details()
    assert no_5xx.operations["tested"] == no_5xx.operations["selected"] == 14, no_5xx.details()
    assert no_5xx.phases.get("stateful") == "success", no_5xx.details()
    assert divergences.exit_code == 0 and not divergences.errors, divergences.details()
    assert divergences.report["baseline"]["new"] == 0, divergences.details()


def test_listed_divergences__each_has_a_reason_in_docs_compatibility_and_none_is_a_server_error() -> None:
    check_listed_divergences(DIVERGENCES, DOC_SECTION, "D")
