"""/v2/promotions and /v2/promotions/:id: create, get, list, update, delete and validation."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from tests.api.test_errors import assert_ep_error
from tests.support import PROMOTION, Api, LiveServer, wait_past

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
PROMOTION_TYPES = [
    "fixed_discount",
    "percent_discount",
    "item_fixed_discount",
    "item_percent_discount",
    "x_for_y",
    "x_for_amount",
    "bundle_fixed_discount",
    "bundle_gift",
]
FULL = {
    "type": "promotion",
    "name": "Promo #1",
    "description": "Initial Promotion",
    "enabled": True,
    "automatic": False,
    "promotion_type": "item_percent_discount",
    "schema": {"targets": ["SKU1"], "percent": 50, "exclude": {"targets": None}},
    "start": "2017-05-12T15:04:05Z",
    "end": "2019-10-12T15:04:05Z",
    "min_cart_value": [{"currency": "USD", "amount": 900}, {"currency": "GBP", "amount": 1100}],
    "max_discount_value": [{"currency": "USD", "amount": 500000}],
    "max_applications_per_cart": 3,
}


def create(api: Api, **fields: Any) -> dict[str, Any]:
    response = api.http.post("/v2/promotions", json={"data": {**PROMOTION, **fields}})
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def update(api: Api, promotion_id: str, **fields: Any) -> Any:
    body = {"data": {"type": "promotion", "id": promotion_id, **fields}}
    return api.http.put(f"/v2/promotions/{promotion_id}", json=body)


def get(api: Api, promotion_id: str) -> dict[str, Any]:
    response = api.http.get(f"/v2/promotions/{promotion_id}")
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


def listed_ids(api: Api, **params: Any) -> list[str]:
    response = api.http.get("/v2/promotions", params=params)
    assert response.status_code == 200, response.text
    return [p["id"] for p in response.json()["data"]]


# ---- create ---------------------------------------------------------------------------------------


def test_create__with_every_field_returns_201_and_echoes_them(server: LiveServer) -> None:
    api = server.api()
    response = api.http.post("/v2/promotions", json={"data": FULL})
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    data = response.json()["data"]
    assert uuid.UUID(data["id"]).version == 4
    expected = dict(FULL)
    assert {k: data[k] for k in expected} == expected
    assert set(data) == set(FULL) | {"id", "meta"}
    timestamps = data["meta"]["timestamps"]
    assert RFC3339_MS.match(timestamps["created_at"]) and timestamps["created_at"] == timestamps["updated_at"]


def test_create__only_name_and_type_are_required_and_the_rest_defaults(server: LiveServer) -> None:
    api = server.api()
    body = {"type": "promotion", "name": "Bare", "promotion_type": "fixed_discount"}
    response = api.http.post("/v2/promotions", json={"data": body})
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["enabled"] is False
    assert data["automatic"] is False
    assert data["description"] is None
    assert data["schema"] is None
    assert data["start"] is None and data["end"] is None
    assert not {"min_cart_value", "max_discount_value", "max_applications_per_cart"} & set(data)


DATE_FORMATS = [
    ("2017-01-13", "2017-01-13T00:00:00Z"),
    ("2017-01-13 15:04", "2017-01-13T15:04:00Z"),
    ("2017-05-12T15:04:05Z", "2017-05-12T15:04:05Z"),
    ("2017-05-12T15:04:05z", "2017-05-12T15:04:05Z"),
    ("2017-05-12T15:04:05.123Z", "2017-05-12T15:04:05Z"),
    ("2023-08-01T22:46:50.006975613Z", "2023-08-01T22:46:50Z"),
    ("2017-05-12T15:04:05+02:00", "2017-05-12T13:04:05Z"),
    ("2017-05-12T23:30:00-01:00", "2017-05-13T00:30:00Z"),
    ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z"),
    ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
    ("9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59Z"),
]


def test_create__documented_date_formats_come_back_as_rfc3339_utc(server: LiveServer) -> None:
    api = server.api()
    for given, returned in DATE_FORMATS:
        data = create(api, start=given, end=None)
        assert data["start"] == returned, given
        assert get(api, data["id"])["start"] == returned, given
        assert create(api, start=None, end=given)["end"] == returned, given


def test_create__every_documented_promotion_type_is_accepted(server: LiveServer) -> None:
    api = server.api()
    for promotion_type in PROMOTION_TYPES:
        assert create(api, promotion_type=promotion_type)["promotion_type"] == promotion_type


def test_create__automatic_promotion_is_stored_as_automatic(server: LiveServer) -> None:
    api = server.api()
    data = create(api, automatic=True)
    assert data["automatic"] is True
    assert get(api, data["id"])["automatic"] is True


INVALID_CREATE: list[tuple[str, dict[str, Any], str]] = [
    ("missing name", {"name": None}, "data.name"),
    ("empty name", {"name": ""}, "data.name"),
    ("name too long", {"name": "n" * 2001}, "data.name"),
    ("name of the wrong type", {"name": 7}, "data.name"),
    ("missing promotion_type", {"promotion_type": None}, "data.promotion_type"),
    ("unknown promotion_type", {"promotion_type": "free_money"}, "data.promotion_type"),
    ("rule-promotion type", {"promotion_type": "rule_promotion"}, "data.promotion_type"),
    ("enabled as a string", {"enabled": "yes"}, "data.enabled"),
    ("enabled as a number", {"enabled": 1}, "data.enabled"),
    ("enabled null", {"enabled": None}, "data.enabled"),
    ("automatic as a string", {"automatic": "true"}, "data.automatic"),
    ("automatic null", {"automatic": None}, "data.automatic"),
    ("unparseable start", {"start": "next tuesday"}, "data.start"),
    ("impossible start", {"start": "2020-02-30"}, "data.start"),
    ("month 13", {"end": "2020-13-01"}, "data.end"),
    ("start without a zone", {"start": "2020-01-01T10:00:00"}, "data.start"),
    ("start past year 9999", {"start": "9999-12-31T23:59:59-01:00"}, "data.start"),
    ("start before year 1", {"start": "0001-01-01T00:00:00+01:00"}, "data.start"),
    ("start as a number", {"start": 1500000000}, "data.start"),
    ("end before start", {"start": "2020-02-01", "end": "2020-01-01"}, "data.end"),
    ("end equal to start", {"start": "2020-02-01", "end": "2020-02-01T00:00:00Z"}, "data.end"),
    ("schema not an object", {"schema": ["USD"]}, "data.schema"),
    (
        "negative amount",
        {"min_cart_value": [{"currency": "USD", "amount": -1}]},
        "data.min_cart_value.0.amount",
    ),
    (
        "amount as a string",
        {"max_discount_value": [{"currency": "USD", "amount": "5"}]},
        "data.max_discount_value.0.amount",
    ),
    ("currency missing", {"min_cart_value": [{"amount": 5}]}, "data.min_cart_value.0.currency"),
    ("negative max_applications", {"max_applications_per_cart": -1}, "data.max_applications_per_cart"),
    ("fractional max_applications", {"max_applications_per_cart": 1.5}, "data.max_applications_per_cart"),
    ("wrong data.type", {"type": "rule_promotion"}, "data.type"),
    ("missing data.type", {"type": None}, "data.type"),
]


def test_create__invalid_field_is_400_with_source_pointing_at_it(server: LiveServer) -> None:
    api = server.api()
    for label, fields, source in INVALID_CREATE:
        data = {**PROMOTION, **fields}
        # "missing" means absent, except for the fields where an explicit null is the case under test.
        for name in ("name", "promotion_type", "type"):
            if data.get(name, "") is None:
                del data[name]
        response = api.http.post("/v2/promotions", json={"data": data})
        try:
            assert_ep_error(response, 400, source=source)
        except AssertionError as exc:
            raise AssertionError(f"{label}: {exc}") from None
    assert listed_ids(api) == []


def test_create__a_missing_required_field_says_it_is_required(server: LiveServer) -> None:
    api = server.api()
    body = {k: v for k, v in PROMOTION.items() if k != "name"}
    assert_ep_error(
        api.http.post("/v2/promotions", json={"data": body}), 400, "required", "name is required", "data.name"
    )


# ---- get and list ---------------------------------------------------------------------------------


def test_get__returns_exactly_what_create_returned(server: LiveServer) -> None:
    api = server.api()
    created = api.http.post("/v2/promotions", json={"data": FULL}).json()
    fetched = api.http.get(f"/v2/promotions/{created['data']['id']}").json()
    assert fetched == created


def test_get__unknown_or_malformed_id_is_404_promotion_not_found(server: LiveServer) -> None:
    api = server.api()
    api.create_promotion()
    for promotion_id in (str(uuid.uuid4()), "not-a-uuid", "1", "%20"):
        response = api.http.get(f"/v2/promotions/{promotion_id}")
        assert_ep_error(response, 404, "Not Found", "promotion not found")


def test_list__is_newest_first_with_full_objects(server: LiveServer) -> None:
    api = server.api()
    ids = [api.create_promotion(name=f"P{i}") for i in range(4)]
    response = api.http.get("/v2/promotions")
    assert response.status_code == 200
    body = response.json()
    assert [p["id"] for p in body["data"]] == list(reversed(ids))
    assert [p["name"] for p in body["data"]] == ["P3", "P2", "P1", "P0"]
    assert body["data"][0] == get(api, ids[-1])
    assert body["meta"]["results"]["total"] == 4


def test_list__empty_store_gives_empty_data_with_meta_and_links(server: LiveServer) -> None:
    api = server.api()
    body = api.http.get("/v2/promotions").json()
    assert body["data"] == []
    assert body["meta"] == {
        "page": {"limit": 25, "offset": 0, "current": 1, "total": 0},
        "results": {"total": 0},
    }
    assert body["links"]["prev"] is None and body["links"]["next"] is None


def test_list__eq_code_finds_the_promotion_holding_that_code_case_insensitively(server: LiveServer) -> None:
    api = server.api()
    holder = api.create_promotion(name="holder")
    other = api.create_promotion(name="other")
    api.create_promotion(name="no codes")
    assert api.add_codes(holder, "Summer-2024", "ANOTHER").status_code == 201
    assert api.add_codes(other, "WINTER").status_code == 201
    for spelling in ("Summer-2024", "SUMMER-2024", "summer-2024"):
        assert listed_ids(api, filter=f"eq(code,{spelling})") == [holder]
    assert listed_ids(api, filter="eq(code,WINTER)") == [other]
    assert listed_ids(api, filter="eq(code,NOPE)") == []
    body = api.http.get("/v2/promotions", params={"filter": "eq(code,winter)"}).json()
    assert body["meta"]["results"]["total"] == 1


def test_list__eq_code_is_exact_not_a_prefix_or_wildcard(server: LiveServer) -> None:
    api = server.api()
    holder = api.create_promotion()
    assert api.add_codes(holder, "ABCDEF").status_code == 201
    assert listed_ids(api, filter="eq(code,ABC)") == []
    assert listed_ids(api, filter="eq(code,ABC*)") == []
    assert listed_ids(api, filter="eq(code,ABCDEF)") == [holder]


# ---- update ---------------------------------------------------------------------------------------


def _wait_past_timestamp(rfc3339: str) -> None:
    """Until the clock is past a shown timestamp (to the millisecond): a change then stamps a later one."""
    wait_past(datetime.fromisoformat(rfc3339).timestamp() + 0.001)


def test_update__changes_the_given_fields_and_keeps_the_others(server: LiveServer) -> None:
    api = server.api()
    before = api.http.post("/v2/promotions", json={"data": FULL}).json()["data"]
    _wait_past_timestamp(before["meta"]["timestamps"]["updated_at"])
    changes = {
        "name": "Promo #1 (extended)",
        "description": "Promotion (extended)",
        "enabled": False,
        "start": "2020-09-01",
        "end": "2020-12-31 23:30",
        "min_cart_value": [{"currency": "EUR", "amount": 1}],
        "max_discount_value": [],
        "max_applications_per_cart": 0,
    }
    response = update(api, before["id"], **changes)
    assert response.status_code == 200, response.text
    after = response.json()["data"]
    assert after["name"] == "Promo #1 (extended)"
    assert after["description"] == "Promotion (extended)"
    assert after["enabled"] is False
    assert after["start"] == "2020-09-01T00:00:00Z"
    assert after["end"] == "2020-12-31T23:30:00Z"
    assert after["min_cart_value"] == [{"currency": "EUR", "amount": 1}]
    assert after["max_discount_value"] == []
    assert after["max_applications_per_cart"] == 0
    for unchanged in ("id", "type", "automatic", "promotion_type", "schema"):
        assert after[unchanged] == before[unchanged]
    assert get(api, before["id"]) == after


def test_update__moves_updated_at_and_keeps_created_at(server: LiveServer) -> None:
    api = server.api()
    before = create(api)
    _wait_past_timestamp(before["meta"]["timestamps"]["updated_at"])
    after = update(api, before["id"], name="renamed").json()["data"]
    created, updated = before["meta"]["timestamps"], after["meta"]["timestamps"]
    assert updated["created_at"] == created["created_at"]
    assert updated["updated_at"] > created["updated_at"]
    assert RFC3339_MS.match(updated["updated_at"])


def test_update__with_only_type_and_id_changes_nothing_but_updated_at(server: LiveServer) -> None:
    api = server.api()
    before = create(api)
    after = update(api, before["id"]).json()["data"]
    assert {k: v for k, v in after.items() if k != "meta"} == {k: v for k, v in before.items() if k != "meta"}


def test_update__null_description_and_dates_clear_them(server: LiveServer) -> None:
    api = server.api()
    before = create(api)
    after = update(api, before["id"], description=None, start=None, end=None).json()["data"]
    assert after["description"] is None and after["start"] is None and after["end"] is None


def test_update__the_same_promotion_type_and_schema_may_be_sent_back(server: LiveServer) -> None:
    api = server.api()
    before = create(api)
    response = update(api, before["id"], promotion_type=before["promotion_type"], schema=before["schema"])
    assert response.status_code == 200, response.text


def test_update__id_must_match_the_path(server: LiveServer) -> None:
    api = server.api()
    mine = create(api)["id"]
    other = create(api)["id"]
    for body_id in (other, str(uuid.uuid4()), mine.upper()):
        body = {"data": {"type": "promotion", "id": body_id, "name": "hijack"}}
        response = api.http.put(f"/v2/promotions/{mine}", json=body)
        assert_ep_error(response, 400, source="data.id")
    assert get(api, mine)["name"] == "Summer"
    assert get(api, other)["name"] == "Summer"


def test_update__missing_id_is_400_required(server: LiveServer) -> None:
    api = server.api()
    mine = create(api)["id"]
    response = api.http.put(f"/v2/promotions/{mine}", json={"data": {"type": "promotion", "name": "x"}})
    assert_ep_error(response, 400, "required", source="data.id")


def test_update__promotion_type_and_schema_cannot_change(server: LiveServer) -> None:
    api = server.api()
    before = create(api)
    for field, value in [
        ("promotion_type", "percent_discount"),
        ("promotion_type", None),
        ("schema", {"currencies": [{"currency": "USD", "amount": 1}]}),
        ("schema", {}),
        ("schema", None),
    ]:
        response = update(api, before["id"], **{field: value}, name="must not be applied")
        assert_ep_error(response, 400, source=f"data.{field}")
        assert get(api, before["id"]) == before, (field, value)


INVALID_UPDATE: list[tuple[str, dict[str, Any], str]] = [
    ("end before the stored start", {"end": "2025-01-01"}, "data.end"),
    ("start after the stored end", {"start": "2031-01-01"}, "data.end"),
    ("bad date", {"start": "2020-01-32"}, "data.start"),
    ("null name", {"name": None}, "data.name"),
    ("empty name", {"name": ""}, "data.name"),
    ("null enabled", {"enabled": None}, "data.enabled"),
    ("enabled as a string", {"enabled": "yes"}, "data.enabled"),
    ("null automatic", {"automatic": None}, "data.automatic"),
    ("wrong type", {"type": "promotion_codes"}, "data.type"),
]


def test_update__invalid_field_is_400_with_source_and_changes_nothing(server: LiveServer) -> None:
    api = server.api()
    before = create(api)  # start 2026-01-01, end 2030-01-01
    for label, fields, source in INVALID_UPDATE:
        response = update(api, before["id"], **{"description": "must not be applied", **fields})
        try:
            assert_ep_error(response, 400, source=source)
        except AssertionError as exc:
            raise AssertionError(f"{label}: {exc}") from None
        assert get(api, before["id"]) == before, label


def test_update__unknown_promotion_is_404(server: LiveServer) -> None:
    api = server.api()
    missing = str(uuid.uuid4())
    assert_ep_error(update(api, missing, name="x"), 404, "Not Found", "promotion not found")


# ---- delete ---------------------------------------------------------------------------------------


def test_delete__is_204_with_no_body_then_404(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    keep = api.create_promotion(name="keep")
    response = api.http.delete(f"/v2/promotions/{promotion}")
    assert response.status_code == 204
    assert response.content == b""
    assert_ep_error(api.http.get(f"/v2/promotions/{promotion}"), 404, detail="promotion not found")
    assert_ep_error(api.http.delete(f"/v2/promotions/{promotion}"), 404, detail="promotion not found")
    assert listed_ids(api) == [keep]


def test_delete__removes_its_codes_so_they_can_be_used_again(server: LiveServer) -> None:
    api = server.api()
    first = api.create_promotion()
    assert api.add_codes(first, "REUSE-ME", "ALSO").status_code == 201
    second = api.create_promotion()
    assert api.add_codes(second, "reuse-me").status_code == 422  # still taken
    assert api.http.delete(f"/v2/promotions/{first}").status_code == 204
    assert_ep_error(api.http.get(f"/v2/promotions/{first}/codes"), 404, detail="promotion not found")
    assert listed_ids(api, filter="eq(code,REUSE-ME)") == []
    assert api.add_codes(second, "reuse-me", "also").status_code == 201
    assert listed_ids(api, filter="eq(code,REUSE-ME)") == [second]


def test_delete__removes_its_jobs(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    job = api.generate(promotion, 20)
    api.wait_for(promotion, job["id"])
    assert api.http.delete(f"/v2/promotions/{promotion}").status_code == 204
    assert_ep_error(api.http.get(f"/v2/promotions/{promotion}/jobs"), 404)
    assert_ep_error(api.http.get(f"/v2/promotions/{promotion}/jobs/{job['id']}"), 404)
