"""The official JS SDK's ``RulePromotions`` against a live server, on both backends: every method the
SDK has for rule promotions (``rule_promotions.cjs``), unchanged."""

from __future__ import annotations

import csv
import io

from tests.compat.test_js_sdk import CSV_HEADER, SDK_NO_CONTENT, UUID, rejected_with, requests_to, run_script
from tests.support import LiveServer


def test_rule_promotions__every_sdk_method_gets_the_shapes_it_expects(server: LiveServer) -> None:
    out, client_id = run_script(server, "rule_promotions.cjs")
    created = out["create"]["data"]
    promotion, other = created["id"], out["create_other"]["data"]["id"]
    assert created["type"] == "rule_promotion" and UUID.match(promotion)
    assert (created["stackable"], created["override_stacking"]) == (True, False)
    assert out["get"]["data"] == created
    assert (out["update"]["data"]["name"], out["update"]["data"]["priority"]) == ("SDK rule renamed", 7)
    assert [p["id"] for p in out["all"]["data"]] == [promotion]  # newest first, page 2 of 1
    assert out["all"]["meta"]["page"] == {"limit": 1, "offset": 1, "current": 2, "total": 2}
    assert [p["id"] for p in out["filter_enabled"]["data"]] == [other]

    # Codes: ids, per-promotion uniqueness, the message for a name another promotion holds.
    added = out["add_codes"]["data"]
    assert [c["code"] for c in added] == ["sdk-spring", "sdk-summer", "sdk-gone"]
    assert all(UUID.match(c["id"]) and c["type"] == "promotion_codes" for c in added)
    assert (added[0]["uses"], added[0]["consume_unit"], added[1]["consume_unit"]) == (
        3,
        "per_application",
        "per_checkout",
    )
    assert out["add_codes_other"]["messages"][0]["source"]["codes"] == ["SDK-SPRING"]
    assert rejected_with(out["add_duplicate"], "422")["title"] == "Duplicate code"
    assert sorted(p["id"] for p in out["filter_code"]["data"]) == sorted([promotion, other])
    assert [c["id"] for c in out["codes"]["data"]] == [c["id"] for c in added]
    assert [c["code"] for c in out["codes_filter"]["data"]] == ["sdk-summer"]
    assert [c["code"] for c in out["codes_page"]["data"]] == ["sdk-summer"]
    assert out["delete_code"] == SDK_NO_CONTENT and out["delete_codes"] == SDK_NO_CONTENT
    assert [c["code"] for c in out["codes_after_delete"]["data"]] == ["sdk-spring"]
    summer_id = added[1]["id"]
    assert requests_to(out["wire"], "DELETE", f"/v2/rule-promotions/{promotion}/codes/{summer_id}")

    # Jobs: the shared engine, rule_promotion_id, per_application, export through the signed link.
    generate = out["generate"]["data"]
    assert generate["rule_promotion_id"] == promotion and "promotion_id" not in generate
    assert generate["parameters"]["consume_unit"] == "per_application"
    assert out["generate_done"]["status"] == "completed"
    assert out["generate_done"]["result"] == {"generated": 50}
    assert out["generate_done"]["meta"]["audit"]["created_by"] == client_id
    assert out["export_done"]["status"] == "completed"
    assert out["download"]["status"] == 200
    rows = list(csv.reader(io.StringIO(out["download"]["text"])))
    assert rows[0] == CSV_HEADER and len(rows) == 1 + 51
    assert {row[0] for row in rows[1:]} >= {"sdk-spring"}
    assert sum(row[0].startswith("SDKR-") and row[3] == "per_application" for row in rows[1:]) == 50
    assert [j["id"] for j in out["jobs_filter"]["data"]] == [out["export"]["data"]["id"]]
    assert [j["id"] for j in out["jobs_page"]["data"]] == [generate["id"]]
    assert rejected_with(out["cancel_finished"], "422")["detail"] == (
        "Only pending or processing jobs can be cancelled."
    )

    # Cancel through RulePromotions.CancelJob: 200 with cancelled or cancelling, then cancelled.
    cancel = out["cancel"]
    assert cancel["resolved"] is True, cancel
    assert cancel["value"]["data"]["status"] in ("cancelled", "cancelling")
    assert out["other_done"]["status"] == "cancelled"
    cancel_url = f"/v2/rule-promotions/{other}/jobs/{out['other_generate']['data']['id']}/cancel"
    assert [entry["body"] for entry in requests_to(out["wire"], "POST", cancel_url)] == [None]

    assert out["delete"] == SDK_NO_CONTENT
    assert rejected_with(out["get_deleted"], "404")["detail"] == "promotion not found"
