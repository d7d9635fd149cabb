"""/v2/rule-promotions: create, read, list (filters, pagination), update, delete, as Elastic Path has them."""

from __future__ import annotations

from typing import Any

from tests.api.rule_support import BASE, RULE_PROMOTION, add_codes, create, create_id
from tests.api.test_errors import assert_ep_error
from tests.support import LiveServer


def test_create__answers_with_the_defaults_and_the_rule_set_as_given(server: LiveServer) -> None:
    api = server.api()
    response = create(api)
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["type"] == "rule_promotion"
    assert data["stackable"] is True and data["override_stacking"] is False
    assert data["rule_set"] == RULE_PROMOTION["rule_set"]
    assert data["start"] == "2026-01-01T00:00:00Z" and data["end"] == "2030-01-01T00:00:00Z"
    assert "priority" not in data
    fetched = api.http.get(f"{BASE}/{data['id']}")
    assert fetched.status_code == 200 and fetched.json()["data"] == data


def test_rule_and_standard_promotions_are_apart(server: LiveServer) -> None:
    api = server.api()
    rule = create_id(api)
    standard = api.create_promotion()
    assert api.http.get(f"/v2/promotions/{rule}").status_code == 404
    assert api.http.get(f"{BASE}/{standard}").status_code == 404
    assert [p["id"] for p in api.http.get(BASE).json()["data"]] == [rule]
    assert [p["id"] for p in api.http.get("/v2/promotions").json()["data"]] == [standard]


def test_create__refuses_unknown_strategies_and_operators_naming_them(server: LiveServer) -> None:
    api = server.api()
    bad_rules: list[tuple[dict[str, Any], str]] = [
        ({"rules": {"strategy": "cart_size", "operator": "gt", "args": [1]}}, "data.rule_set.rules.strategy"),
        ({"rules": {"strategy": "cart_total", "operator": "in", "args": []}}, "data.rule_set.rules.operator"),
        (
            {"rules": {"strategy": "and", "children": [{"strategy": "item_sku", "operator": "gt"}]}},
            "data.rule_set.rules.children.0.operator",
        ),
        ({"actions": [{"strategy": "free_lunch", "args": []}]}, "data.rule_set.actions.0.strategy"),
        (
            {"actions": [{"strategy": "item_discount", "limitations": {"items": {"price_strategy": "x"}}}]},
            "data.rule_set.actions.0.limitations.items.price_strategy",
        ),
        ({"rules": {"strategy": "or", "children": []}}, "data.rule_set.rules.children"),
    ]
    for rule_set, source in bad_rules:
        assert_ep_error(create(api, rule_set=rule_set), 400, source=source)
    assert api.http.get(BASE).json()["data"] == []


def test_start_before_end_and_both_required(server: LiveServer) -> None:
    api = server.api()
    assert_ep_error(create(api, start="2030-01-01", end="2026-01-01"), 400, source="data.end")
    body = {key: value for key, value in RULE_PROMOTION.items() if key != "end"}
    assert api.http.post(BASE, json={"data": body}).status_code == 400
    promotion = create_id(api)
    update = {"data": {"type": "rule_promotion", "end": "2025-01-01"}}
    assert_ep_error(api.http.put(f"{BASE}/{promotion}", json=update), 400, source="data.end")


def test_priority_unique_per_store_and_null_clears_it(server: LiveServer) -> None:
    api = server.api()
    first = create_id(api, priority=5)
    duplicate = create(api, priority=5)
    assert_ep_error(
        duplicate,
        422,
        "Duplicate Priority",
        "Priority already in use in another running or scheduled promotion",
    )
    assert create(server.api("store-b"), priority=5).status_code == 201
    second = create_id(api, priority=6)
    priority_5 = {"data": {"type": "rule_promotion", "priority": 5}}
    taken = api.http.put(f"{BASE}/{second}", json=priority_5)
    assert_ep_error(taken, 422, "Duplicate Priority")
    cleared = api.http.put(f"{BASE}/{first}", json={"data": {"type": "rule_promotion", "priority": None}})
    assert cleared.status_code == 200 and "priority" not in cleared.json()["data"]
    moved = api.http.put(f"{BASE}/{second}", json=priority_5)
    assert moved.status_code == 200 and moved.json()["data"]["priority"] == 5


def test_update__changes_only_what_is_sent(server: LiveServer) -> None:
    api = server.api()
    promotion = create_id(api)
    new_rules = {"rules": {"strategy": "cart_total", "operator": "lt", "args": [1000]}, "actions": []}
    body = {"data": {"type": "rule_promotion", "name": "renamed", "stackable": False, "rule_set": new_rules}}
    response = api.http.put(f"{BASE}/{promotion}", json=body)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert (data["name"], data["stackable"], data["rule_set"]) == ("renamed", False, new_rules)
    assert data["description"] == RULE_PROMOTION["description"]
    wrong_id = {"data": {"type": "rule_promotion", "id": "00000000-0000-4000-8000-000000000000"}}
    assert_ep_error(api.http.put(f"{BASE}/{promotion}", json=wrong_id), 400, source="data.id")
    assert_ep_error(
        api.http.put(f"{BASE}/{promotion}", json={"data": {"type": "rule_promotion", "stackable": None}}),
        400,
        source="data.stackable",
    )


def test_automatic_limit_is_a_setting(make_server: Any) -> None:
    server = make_server(max_automatic_rule_promotions=2)
    api = server.api()
    create_id(api, automatic=True)
    create_id(api, automatic=True)
    create_id(api, automatic=True, start="2020-01-01", end="2021-01-01")  # ended: neither active nor future
    detail = "Only 2 active and future automatic rule promotions are allowed per store"
    assert_ep_error(create(api, automatic=True), 400, "Too many automatic rule promotions", detail)
    manual = create_id(api)
    automatic = {"data": {"type": "rule_promotion", "automatic": True}}
    to_automatic = api.http.put(f"{BASE}/{manual}", json=automatic)
    assert_ep_error(to_automatic, 400, "Too many automatic rule promotions", detail)


def test_list__filters_and_pagination(server: LiveServer) -> None:
    api = server.api()
    summer = create_id(api, name="Summer sale", stackable=False)
    winter = create_id(api, name="Winter sale", enabled=False, start="2027-01-01")
    assert add_codes(api, summer, {"code": "SUN"}).status_code == 201

    def ids(filter_: str) -> list[str]:
        response = api.http.get(BASE, params={"filter": filter_})
        assert response.status_code == 200, response.text
        return [p["id"] for p in response.json()["data"]]

    assert ids("eq(code,sun)") == [summer]
    assert ids("eq(enabled,false)") == [winter]
    assert ids("eq(stackable,false)") == [summer]
    assert ids("gt(start,2026-06-01)") == [winter]
    assert ids("le(end,'2030-01-01T00:00:00.000Z')") == [winter, summer]
    assert ids("ilike(name,'summer *')") == [summer]
    assert ids("like(name,Winter*)") == [winter]
    assert_ep_error(api.http.get(BASE, params={"filter": "eq(priority,1)"}), 400, "Bad Request")
    page = api.http.get(BASE, params={"page[limit]": 1, "page[offset]": 1}).json()
    assert [p["id"] for p in page["data"]] == [summer]
    assert page["meta"]["page"] == {"limit": 1, "offset": 1, "current": 2, "total": 2}
    assert page["meta"]["results"] == {"total": 2}


def test_delete__removes_the_promotion_and_its_codes(server: LiveServer) -> None:
    api = server.api()
    promotion = create_id(api)
    assert add_codes(api, promotion, {"code": "GONE"}).status_code == 201
    assert api.http.delete(f"{BASE}/{promotion}").status_code == 204
    assert api.http.get(f"{BASE}/{promotion}").status_code == 404
    assert api.http.delete(f"{BASE}/{promotion}").status_code == 404
    again = create_id(api)
    assert add_codes(api, again, {"code": "GONE"}).json().get("messages") is None


def test_another_stores_rule_promotion_looks_like_none(server: LiveServer) -> None:
    owner, other = server.api(), server.api("store-b")
    promotion = create_id(owner)
    assert add_codes(owner, promotion, {"code": "MINE"}).status_code == 201
    update = {"data": {"type": "rule_promotion", "name": "taken"}}
    for response in (
        other.http.get(f"{BASE}/{promotion}"),
        other.http.put(f"{BASE}/{promotion}", json=update),
        other.http.get(f"{BASE}/{promotion}/codes"),
        other.http.get(f"{BASE}/{promotion}/jobs"),
        add_codes(other, promotion, {"code": "THEIRS"}),
        other.http.delete(f"{BASE}/{promotion}"),
    ):
        assert_ep_error(response, 404, "Not Found", "promotion not found")
    assert other.http.get(BASE, params={"filter": "eq(code,MINE)"}).json()["data"] == []
    assert owner.http.get(f"{BASE}/{promotion}").json()["data"]["name"] == RULE_PROMOTION["name"]
