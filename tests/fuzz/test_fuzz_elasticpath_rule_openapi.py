"""schemathesis against Elastic Path's own Rule Promotions (Promotions Builder) OpenAPI, with the
Elastic-Path-compatible profile, on both backends.

The same two runs as ``test_fuzz_elasticpath_openapi.py``: zero 5xx whatever Elastic Path's clients may
send, and status codes and schemas against the divergences we know of (``elasticpath-rule-divergences.json``,
a schemathesis baseline whose entries point at the rows "R…" of docs/compatibility.md). The spec is
``elasticpath/rule-promotions.yaml``, copied unchanged (see README.md); the test adds OpenAPI links to a
copy of it so the stateful phase reaches real rule promotions, their codes and their jobs. The usages
operations are out of scope (promojobs records no checkouts) and answer 404.
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
RULE_SPEC = HERE / "elasticpath" / "rule-promotions.yaml"
DIVERGENCES = HERE / "elasticpath-rule-divergences.json"
DOC_SECTION = "## Divergences from Elastic Path's rule-promotions OpenAPI"
OPERATIONS = 16

_PROMOTION = "/v2/rule-promotions/{promotionID}"
_JOBS = "/v2/rule-promotions/{uuid}/jobs"


def _with_links(spec: dict[str, Any]) -> dict[str, Any]:
    """Elastic Path's spec with links from a created (or fetched) rule promotion and job onwards."""
    promotion = {"promotionID": "$response.body#/data/id"}
    as_uuid = {"uuid": "$response.body#/data/id"}
    after_promotion = {
        "GetRulePromotion": {"operationId": "getRulePromotionById", "parameters": promotion},
        "UpdateRulePromotion": {"operationId": "updateRulePromotion", "parameters": promotion},
        "AddCodes": {"operationId": "createRulePromotionCodes", "parameters": promotion},
        "ListCodes": {"operationId": "getRulePromotionCodes", "parameters": promotion},
        "DeleteCodes": {"operationId": "deleteRulePromotionCodes", "parameters": promotion},
        "CreateJob": {"operationId": "createRulePromotionJob", "parameters": as_uuid},
        "ListJobs": {"operationId": "getRulePromotionJobs", "parameters": as_uuid},
        "DeleteRulePromotion": {"operationId": "deleteRulePromotion", "parameters": promotion},
    }
    job = {"uuid": "$response.body#/data/rule_promotion_id", "job-uuid": "$response.body#/data/id"}
    after_job = {
        "CancelJob": {"operationId": "cancelRulePromotionJob", "parameters": job},
        "GetJobFile": {"operationId": "getRulePromotionJobFile", "parameters": job},
    }
    after_codes = {
        "DeleteCode": {
            "operationId": "deleteSingleRulePromotionCode",
            "parameters": {"promotionID": "$request.path.promotionID", "codeID": "$response.body#/data/0/id"},
        }
    }
    paths = spec["paths"]
    paths["/v2/rule-promotions"]["post"]["responses"]["201"]["links"] = after_promotion
    paths[_PROMOTION]["get"]["responses"]["200"]["links"] = after_promotion
    paths[_PROMOTION + "/codes"]["post"]["responses"]["201"]["links"] = after_codes
    paths[_JOBS]["post"]["responses"]["201"]["links"] = after_job
    return spec


def _linked_spec(work_dir: Path) -> Path:
    spec = yaml.safe_load(RULE_SPEC.read_text(encoding="utf-8"))
    path = work_dir / "rule-promotions-with-links.json"
    work_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_with_links(spec), default=str), encoding="utf-8")
    return path


@pytest.mark.slow
def test_schemathesis__elastic_path_rule_openapi__no_5xx_and_no_unlisted_divergence(
    make_server: Callable[..., LiveServer], backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = make_server(profile="elasticpath")
    spec = _linked_spec(tmp_path)
    label = f"Elastic Path rule-promotions OpenAPI ({backend})"
    no_5xx, divergences = run_against_spec(server, spec, DIVERGENCES, label, tmp_path)
    show(capsys, no_5xx.summary(), divergences.summary())
    assert no_5xx.exit_code == 0 and not no_5xx.failures and not no_5xx.errors, no_5xx.details()
    assert no_5xx.operations["tested"] == no_5xx.operations["selected"] == OPERATIONS, no_5xx.details()
    assert no_5xx.phases.get("stateful") == "success", no_5xx.details()
    assert divergences.exit_code == 0 and not divergences.errors, divergences.details()
    assert divergences.report["baseline"]["new"] == 0, divergences.details()


def test_listed_rule_divergences__each_has_a_reason_in_docs_and_none_is_a_server_error() -> None:
    check_listed_divergences(DIVERGENCES, DOC_SECTION, "R")
