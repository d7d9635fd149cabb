"""/v2/rule-promotions/:id/codes: codes with ids, unique per promotion, Elastic Path's errors verbatim."""

from __future__ import annotations

from tests.api.rule_support import BASE, add_codes, create_id, list_codes
from tests.api.test_errors import assert_ep_error
from tests.support import LiveServer


def test_add__answers_201_with_the_created_codes_and_their_ids(server: LiveServer) -> None:
    api = server.api()
    promotion = create_id(api)
    response = add_codes(
        api,
        promotion,
        {"code": "spring2024"},
        {"code": "summer2024_limited", "uses": 5, "consume_unit": "per_application"},
        {"code": "vip", "max_uses_per_shopper": {"max_uses": 2}},
        {"code": "first", "is_for_new_shopper": True},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert "messages" not in body
    data = body["data"]
    assert [c["code"] for c in data] == ["spring2024", "summer2024_limited", "vip", "first"]
    assert data[0]["consume_unit"] == "per_checkout"
    assert (data[1]["uses"], data[1]["max_uses"], data[1]["consume_unit"]) == (5, 5, "per_application")
    assert data[2]["max_uses_per_shopper"] == {"max_uses": 2, "includes_guests": False}
    assert data[3]["is_for_new_shopper"] is True
    assert len({c["id"] for c in data}) == 4
    listed = list_codes(api, promotion)["data"]
    assert [(c["id"], c["code"]) for c in listed] == [(c["id"], c["code"]) for c in data]
    assert listed[2]["max_uses_per_shopper"] == {"max_uses": 2, "includes_guests": False}


def test_same_code_in_another_promotion_is_allowed_and_reported(server: LiveServer) -> None:
    api = server.api()
    first, second = create_id(api), create_id(api)
    assert add_codes(api, first, {"code": "SPRING"}).status_code == 201
    response = add_codes(api, second, {"code": "spring"}, {"code": "other"})
    assert response.status_code == 201, response.text
    assert response.json()["messages"] == [
        {
            "source": {"type": "promotion_codes", "codes": ["spring"]},
            "title": "Duplicate code names",
            "description": "Code names duplicated in other promotions",
        }
    ]
    found = api.http.get(BASE, params={"filter": "eq(code,Spring)"}).json()["data"]
    assert sorted(p["id"] for p in found) == sorted([first, second])


def test_duplicates_within_a_promotion_are_422_and_nothing_is_written(server: LiveServer) -> None:
    api = server.api()
    promotion = create_id(api)
    assert add_codes(api, promotion, {"code": "ONE"}).status_code == 201
    for codes in ([{"code": "new"}, {"code": "one"}], [{"code": "two"}, {"code": "TWO"}]):
        response = add_codes(api, promotion, *codes)
        assert_ep_error(response, 422, "Duplicate code", "Promotion code already in use")
    assert [c["code"] for c in list_codes(api, promotion)["data"]] == ["ONE"]


def test_the_specs_errors_verbatim(server: LiveServer) -> None:
    api = server.api()
    promotion = create_id(api)
    assert_ep_error(
        add_codes(api, promotion, {"code": "g", "max_uses_per_shopper": {"includes_guests": True}}),
        400,
        "missing_dependency",
        "Has a dependency on max_uses",
        "data.codes.0.max_uses_per_shopper",
    )
    assert_ep_error(
        add_codes(api, promotion, {"code": "first_time_uses", "is_for_new_shopper": True, "uses": 1}),
        400,
        "Invalid Code",
        "Code - first_time_uses can't have limited uses or assigned to users since it's for first-time "
        "shoppers.",
    )
    assert_ep_error(
        add_codes(
            api,
            promotion,
            {"code": "a", "consume_unit": "per_application", "max_uses_per_shopper": {"max_uses": 1}},
        ),
        422,
        "Unsupported consume unit",
        "Consume unit 'per_application' is not supported when using 'max_uses_per_shopper' features.",
    )
    assert add_codes(api, promotion, {"code": "x", "consume_unit": "per_cart"}).status_code == 400
    automatic = create_id(api, automatic=True)
    assert_ep_error(
        add_codes(api, automatic, {"code": "auto"}),
        422,
        "No codes allowed",
        "Cannot add codes to automatic promotion",
    )
    assert list_codes(api, promotion)["data"] == []


def test_list__eq_gt_sort_and_pagination(server: LiveServer) -> None:
    api = server.api()
    promotion = create_id(api)
    names = ["b2", "A1", "c3", "a4"]
    assert add_codes(api, promotion, *({"code": name} for name in names)).status_code == 201

    def codes(**params: object) -> list[str]:
        return [c["code"] for c in list_codes(api, promotion, **params)["data"]]

    assert codes() == names
    assert codes(sort="code") == ["A1", "a4", "b2", "c3"]
    assert codes(sort="-code") == ["c3", "b2", "a4", "A1"]
    assert codes(filter="eq(code,C3)") == ["c3"]
    assert codes(filter="gt(code,a4)", sort="code") == ["b2", "c3"]
    page = list_codes(api, promotion, sort="code", **{"page[limit]": 2, "page[offset]": 2})
    assert [c["code"] for c in page["data"]] == ["b2", "c3"]
    assert page["meta"]["results"] == {"total": 4}
    assert_ep_error(api.http.get(f"{BASE}/{promotion}/codes", params={"sort": "uses"}), 400, source="sort")
    assert_ep_error(
        api.http.get(f"{BASE}/{promotion}/codes", params={"filter": "like(code,a*)"}),
        400,
        "Bad Request",
        "Could not parse the supplied filter",
    )


def test_delete_by_body_and_by_code_id(server: LiveServer) -> None:
    api = server.api()
    promotion, other = create_id(api), create_id(api)
    created = add_codes(api, promotion, {"code": "keep"}, {"code": "drop"}, {"code": "byid"}).json()["data"]
    assert add_codes(api, other, {"code": "DROP"}).status_code == 201
    body = {"data": {"type": "promotion_codes", "codes": [{"code": "Drop", "consume_unit": "per_checkout"}]}}
    assert api.http.request("DELETE", f"{BASE}/{promotion}/codes", json=body).status_code == 204
    by_id = created[2]["id"]
    assert api.http.delete(f"{BASE}/{other}/codes/{by_id}").status_code == 404  # not that promotion's
    assert server.api("store-b").http.delete(f"{BASE}/{promotion}/codes/{by_id}").status_code == 404
    assert api.http.delete(f"{BASE}/{promotion}/codes/{by_id}").status_code == 204
    assert api.http.delete(f"{BASE}/{promotion}/codes/{by_id}").status_code == 404
    assert api.http.delete(f"{BASE}/{promotion}/codes/not-a-uuid").status_code == 404
    assert [c["code"] for c in list_codes(api, promotion)["data"]] == ["keep"]
    assert [c["code"] for c in list_codes(api, other)["data"]] == ["DROP"]


def test_standard_codes_stay_unique_per_store_beside_rule_codes(server: LiveServer) -> None:
    api = server.api()
    rule = create_id(api)
    assert add_codes(api, rule, {"code": "SHARED"}).status_code == 201
    standard = api.create_promotion()
    assert api.add_codes(standard, "shared").status_code == 201  # the kinds are apart
    assert_ep_error(api.add_codes(api.create_promotion(), "SHARED"), 422, "Duplicate code")


def test_a_rule_promotions_codes__are_not_reachable_through_the_standard_routes(server: LiveServer) -> None:
    """Found by the fuzzer: the standard code list answered a rule promotion's codes (per_checkout)."""
    api = server.api()
    promotion = create_id(api)
    assert add_codes(api, promotion, {"code": "rulecode1"}).status_code == 201
    for params in ({}, {"filter": "eq(code,rulecode1)"}):
        response = api.http.get(f"/v2/promotions/{promotion}/codes", params=params)
        assert_ep_error(response, 404, "Not Found", "promotion not found")
    assert list_codes(api, promotion)["data"][0]["code"] == "rulecode1"
