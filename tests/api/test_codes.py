"""/v2/promotions/:id/codes: add, list, delete many, delete one.

Codes are case-insensitive and unique per store; a request that cannot be applied in full writes nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.api.test_errors import assert_ep_error
from tests.support import Api, LiveServer


def duplicate(codes: str, index: int) -> dict[str, str]:
    """Elastic Path's 422, naming the code(s) and pointing at the first one."""
    return {
        "status": "422",
        "title": "Duplicate code",
        "detail": f"Promotion code already in use: {codes}",
        "source": f"data.codes.{index}.code",
    }


NO_CODES = {
    "status": "422",
    "title": "No codes allowed",
    "detail": "Cannot add codes to an automatic promotion",
}


def add(api: Api, promotion: str, *codes: dict[str, Any]) -> httpx.Response:
    body = {"data": {"type": "promotion_codes", "codes": list(codes)}}
    return api.http.post(f"/v2/promotions/{promotion}/codes", json=body)


def delete_many(api: Api, promotion: str, *codes: str) -> httpx.Response:
    body = {"data": {"type": "promotion_codes", "codes": [{"code": code} for code in codes]}}
    return api.http.request("DELETE", f"/v2/promotions/{promotion}/codes", json=body)


def code_list(api: Api, promotion: str, **params: Any) -> dict[str, Any]:
    response = api.http.get(f"/v2/promotions/{promotion}/codes", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def codes_of(api: Api, promotion: str) -> list[str]:
    return [c["code"] for c in api.all_codes(promotion)]


def store_codes(api: Api, code: str) -> list[str]:
    """The promotions of the caller's store that hold ``code``."""
    response = api.http.get("/v2/promotions", params={"filter": f"eq(code,{code})"})
    assert response.status_code == 200, response.text
    return [p["id"] for p in response.json()["data"]]


# ---- add ------------------------------------------------------------------------------------------


def test_add_codes__returns_201_with_the_parent_promotion(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    before = api.http.get(f"/v2/promotions/{promotion}").json()
    response = api.add_codes(promotion, "ABCXYZ", "ABC", "5uses")
    assert response.status_code == 201, response.text
    assert response.json() == before
    assert codes_of(api, promotion) == ["ABCXYZ", "ABC", "5uses"]


def test_add_codes__listing_shows_every_documented_field(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    response = add(
        api,
        promotion,
        {"code": "ABCXYZ"},
        {"code": "ABC", "user": "customer-1", "uses": 10},
        {"code": "5uses", "uses": 5, "consume_unit": "per_item"},
        {"code": "CART", "consume_unit": "per_cart", "uses": 0},
    )
    assert response.status_code == 201, response.text
    listed = {c["code"]: c for c in code_list(api, promotion)["data"]}
    assert set(listed["ABCXYZ"]) == {"code", "consume_unit", "meta"}
    assert listed["ABCXYZ"]["consume_unit"] == "per_cart"  # the default
    assert listed["ABC"]["user"] == "customer-1"
    assert (listed["ABC"]["uses"], listed["ABC"]["max_uses"]) == (10, 10)
    assert listed["ABC"]["consume_unit"] == "per_cart"
    assert (listed["5uses"]["uses"], listed["5uses"]["max_uses"], listed["5uses"]["consume_unit"]) == (
        5,
        5,
        "per_item",
    )
    assert (listed["CART"]["uses"], listed["CART"]["max_uses"]) == (0, 0)
    created_at = listed["ABC"]["meta"]["timestamps"]["created_at"]
    assert created_at.endswith("Z") and "T" in created_at


def test_add_codes__the_case_given_is_kept(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    assert api.add_codes(promotion, "MiXeD-Case").status_code == 201
    assert codes_of(api, promotion) == ["MiXeD-Case"]


def test_add_codes__every_allowed_punctuation_character_is_accepted(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    codes = ["a-b", "a_b", "a.b", "$5OFF", "@home", "x" * 64, "-lead", "trail."]
    assert api.add_codes(promotion, *codes).status_code == 201
    assert codes_of(api, promotion) == codes


def test_add_codes__ten_thousand_codes_in_one_request(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    codes = [f"BULK-{i:05d}" for i in range(10_000)]
    response = api.add_codes(promotion, *codes)
    assert response.status_code == 201, response.text
    listing = code_list(api, promotion, **{"page[limit]": 100})
    assert listing["meta"]["results"]["total"] == 10_000
    assert listing["meta"]["page"]["total"] == 100
    assert [c["code"] for c in listing["data"]] == codes[:100]
    last = code_list(api, promotion, **{"page[limit]": 100, "page[offset]": 9_900})
    assert [c["code"] for c in last["data"]] == codes[9_900:]
    assert store_codes(api, "bulk-09999") == [promotion]


def test_add_codes__adding_more_later_appends(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    assert api.add_codes(promotion, "FIRST").status_code == 201
    assert api.add_codes(promotion, "SECOND", "THIRD").status_code == 201
    assert codes_of(api, promotion) == ["FIRST", "SECOND", "THIRD"]


def test_add_codes__duplicate_within_the_request_is_refused_and_nothing_is_written(
    server: LiveServer,
) -> None:
    api = server.api()
    promotion = api.create_promotion()
    for codes, named, index in (
        (["NEW-1", "DUP", "NEW-2", "DUP"], "DUP", 3),
        (["NEW-1", "dup", "Dup"], "Dup", 2),
    ):
        response = api.add_codes(promotion, *codes)
        assert response.status_code == 422
        assert response.json() == {"errors": [duplicate(f"{named} (given twice in this request)", index)]}
    assert codes_of(api, promotion) == []
    assert store_codes(api, "NEW-1") == []


def test_add_codes__duplicate_in_the_same_promotion_is_refused_and_nothing_is_written(
    server: LiveServer,
) -> None:
    api = server.api()
    promotion = api.create_promotion()
    assert api.add_codes(promotion, "TAKEN").status_code == 201
    response = api.add_codes(promotion, "FRESH-1", "taken", "FRESH-2")
    assert response.json() == {"errors": [duplicate("taken", 1)]}
    assert response.status_code == 422
    assert codes_of(api, promotion) == ["TAKEN"]


def test_add_codes__duplicate_in_another_promotion_is_refused_and_nothing_is_written(
    server: LiveServer,
) -> None:
    api = server.api()
    holder = api.create_promotion(name="holder")
    other = api.create_promotion(name="other")
    assert api.add_codes(holder, "Taken-Code").status_code == 201
    for spelling in ("Taken-Code", "TAKEN-CODE", "taken-code"):
        response = api.add_codes(other, "FRESH-1", spelling, "FRESH-2")
        assert response.status_code == 422, response.text
        assert response.json() == {"errors": [duplicate(spelling, 1)]}
    assert codes_of(api, other) == []
    assert codes_of(api, holder) == ["Taken-Code"]
    assert store_codes(api, "FRESH-1") == []
    assert store_codes(api, "FRESH-2") == []
    # The fresh codes were really free: without the duplicate the same request succeeds.
    assert api.add_codes(other, "FRESH-1", "FRESH-2").status_code == 201


def test_add_codes__a_duplicate_at_the_end_of_a_big_request_writes_nothing(server: LiveServer) -> None:
    api = server.api()
    holder = api.create_promotion()
    other = api.create_promotion()
    assert api.add_codes(holder, "LAST-ONE").status_code == 201
    codes = [f"BIG-{i:04d}" for i in range(2_000)] + ["last-one"]
    response = api.add_codes(other, *codes)
    assert response.json() == {"errors": [duplicate("last-one", 2_000)]}
    assert code_list(api, other)["meta"]["results"]["total"] == 0


def test_add_codes__many_duplicates_are_named_up_to_ten_in_request_order(server: LiveServer) -> None:
    api = server.api()
    holder, other = api.create_promotion(), api.create_promotion()
    taken = [f"TAKEN-{i:02d}" for i in range(12)]
    assert api.add_codes(holder, *taken).status_code == 201
    request = ["FREE-A", *[code.lower() for code in reversed(taken)], "FREE-B"]
    response = api.add_codes(other, *request)
    named = ", ".join(code.lower() for code in list(reversed(taken))[:10])
    assert response.json() == {"errors": [duplicate(f"{named} and 2 more", 1)]}
    assert code_list(api, other)["meta"]["results"]["total"] == 0
    # The promotion's code count was not moved by the refused request.
    assert api.add_codes(other, "FREE-A", "FREE-B").status_code == 201
    assert code_list(api, other)["meta"]["results"]["total"] == 2


def test_add_codes__the_same_code_in_two_stores_is_fine(server: LiveServer) -> None:
    store_a, store_b = server.api("store-a"), server.api("store-b")
    in_a, in_b = store_a.create_promotion(), store_b.create_promotion()
    assert store_a.add_codes(in_a, "SHARED").status_code == 201
    assert store_b.add_codes(in_b, "shared").status_code == 201
    assert store_codes(store_a, "SHARED") == [in_a]
    assert store_codes(store_b, "SHARED") == [in_b]
    assert codes_of(store_a, in_a) == ["SHARED"]
    assert codes_of(store_b, in_b) == ["shared"]


def test_add_codes__automatic_promotion_is_422_no_codes_allowed(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion(automatic=True)
    response = api.add_codes(promotion, "NOPE")
    assert response.status_code == 422
    assert response.json() == {"errors": [NO_CODES]}
    assert codes_of(api, promotion) == []


INVALID_CODES = [
    (["has space"], "data.codes.0.code"),
    (["OK-1", "OK-2", "semi;colon"], "data.codes.2.code"),
    (["OK", "slash/code"], "data.codes.1.code"),
    (["ümlaut"], "data.codes.0.code"),
    (["quote'"], "data.codes.0.code"),
    (["comma,code"], "data.codes.0.code"),
    (["tab\tcode"], "data.codes.0.code"),
    (["+plus"], "data.codes.0.code"),
    (["#tag"], "data.codes.0.code"),
    (["100%"], "data.codes.0.code"),
    (["wow!"], "data.codes.0.code"),
    (["nul\u0000"], "data.codes.0.code"),
    ([""], "data.codes.0.code"),
    (["x" * 65], "data.codes.0.code"),
]


def test_add_codes__invalid_characters_are_400_pointing_at_the_code(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    for codes, source in INVALID_CODES:
        assert_ep_error(api.add_codes(promotion, *codes), 400, source=source)
    assert codes_of(api, promotion) == []


INVALID_ADD_BODIES: list[tuple[dict[str, Any], str]] = [
    ({"type": "promotion_codes", "codes": []}, "data.codes"),
    ({"type": "promotion_codes"}, "data.codes"),
    ({"type": "promotion_codes", "codes": {"code": "A"}}, "data.codes"),
    ({"type": "promotion_codes", "codes": ["A"]}, "data.codes.0"),
    ({"type": "promotion_codes", "codes": [{"uses": 1}]}, "data.codes.0.code"),
    ({"type": "promotion_codes", "codes": [{"code": 12345}]}, "data.codes.0.code"),
    ({"type": "promotion_codes", "codes": [{"code": "A", "uses": -1}]}, "data.codes.0.uses"),
    ({"type": "promotion_codes", "codes": [{"code": "A", "uses": "5"}]}, "data.codes.0.uses"),
    ({"type": "promotion_codes", "codes": [{"code": "A", "uses": 1.5}]}, "data.codes.0.uses"),
    (
        {"type": "promotion_codes", "codes": [{"code": "A", "consume_unit": "per_checkout"}]},
        "data.codes.0.consume_unit",
    ),
    ({"type": "promotion_codes", "codes": [{"code": "A", "user": 7}]}, "data.codes.0.user"),
    ({"type": "promotion_codes", "codes": [{"code": "A", "user": "u" * 256}]}, "data.codes.0.user"),
    ({"type": "promotion_codes", "codes": [{"code": "A", "user": "line\nbreak"}]}, "data.codes.0.user"),
    ({"type": "promotion", "codes": [{"code": "A"}]}, "data.type"),
    ({"codes": [{"code": "A"}]}, "data.type"),
]


def test_add_codes__invalid_body_is_400_with_source(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    for body, source in INVALID_ADD_BODIES:
        response = api.http.post(f"/v2/promotions/{promotion}/codes", json={"data": body})
        assert_ep_error(response, 400, source=source)
    assert codes_of(api, promotion) == []


def test_add_codes__unknown_promotion_is_404(server: LiveServer) -> None:
    api = server.api()
    response = api.add_codes(str(uuid.uuid4()), "A")
    assert_ep_error(response, 404, "Not Found", "promotion not found")


def test_add_codes__over_the_per_promotion_limit_is_refused_and_writes_nothing(make_server: Any) -> None:
    server: LiveServer = make_server(max_codes_per_promotion=5)
    api = server.api()
    promotion = api.create_promotion()
    assert api.add_codes(promotion, "A1", "A2", "A3").status_code == 201
    response = api.add_codes(promotion, "B1", "B2", "B3")
    error = assert_ep_error(response, 400, "Too many promotion codes", source="data.codes")
    assert "5" in error["detail"]
    assert codes_of(api, promotion) == ["A1", "A2", "A3"]
    assert api.add_codes(promotion, "B1", "B2").status_code == 201


# ---- list -----------------------------------------------------------------------------------------


def test_list_codes__in_the_order_they_were_added_with_meta_and_links(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    assert api.add_codes(promotion, "C", "A", "B").status_code == 201
    body = code_list(api, promotion)
    assert [c["code"] for c in body["data"]] == ["C", "A", "B"]
    assert body["meta"] == {
        "page": {"limit": 25, "offset": 0, "current": 1, "total": 1},
        "results": {"total": 3},
    }
    assert (
        body["links"]["current"]
        == f"{server.base_url}/v2/promotions/{promotion}/codes?page[offset]=0&page[limit]=25"
    )


def test_list_codes__eq_code_is_case_insensitive(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    assert api.add_codes(promotion, "DRF8-8VSX", "other", "drf8").status_code == 201
    for spelling in ("DRF8-8VSX", "drf8-8vsx", "Drf8-8Vsx"):
        body = code_list(api, promotion, filter=f"eq(code,{spelling})")
        assert [c["code"] for c in body["data"]] == ["DRF8-8VSX"]
        assert body["meta"]["results"]["total"] == 1
    assert code_list(api, promotion, filter="eq(code,missing)")["data"] == []


def test_list_codes__eq_code_only_looks_inside_this_promotion(server: LiveServer) -> None:
    api = server.api()
    first, second = api.create_promotion(), api.create_promotion()
    assert api.add_codes(first, "ONLY-IN-FIRST").status_code == 201
    assert code_list(api, second, filter="eq(code,ONLY-IN-FIRST)")["data"] == []
    assert len(code_list(api, first, filter="eq(code,only-in-first)")["data"]) == 1


def test_list_codes__pages_through_every_code_exactly_once(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    codes = [f"PAGE-{i:03d}" for i in range(57)]
    assert api.add_codes(promotion, *codes).status_code == 201
    seen: list[str] = []
    for offset in range(0, 60, 10):
        body = code_list(api, promotion, **{"page[limit]": 10, "page[offset]": offset})
        assert body["meta"]["page"] == {
            "limit": 10,
            "offset": offset,
            "current": offset // 10 + 1,
            "total": 6,
        }
        assert body["meta"]["results"]["total"] == 57
        seen += [c["code"] for c in body["data"]]
    assert seen == codes


def test_list_codes__unknown_promotion_is_404(server: LiveServer) -> None:
    api = server.api()
    response = api.http.get(f"/v2/promotions/{uuid.uuid4()}/codes")
    assert_ep_error(response, 404, "Not Found", "promotion not found")


# ---- delete ---------------------------------------------------------------------------------------


def test_delete_many__is_204_and_removes_the_named_codes_case_insensitively(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    assert api.add_codes(promotion, "KEEP", "GONE-1", "Gone-2", "gone-3").status_code == 201
    response = delete_many(api, promotion, "GONE-1", "gone-2", "GONE-3")
    assert response.status_code == 204
    assert response.content == b""
    assert codes_of(api, promotion) == ["KEEP"]


def test_delete_many__unknown_codes_are_ignored(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    assert api.add_codes(promotion, "KEEP", "GONE").status_code == 201
    assert delete_many(api, promotion, "GONE", "NEVER-EXISTED", "also missing!", "GONE").status_code == 204
    assert delete_many(api, promotion, "NEVER-EXISTED").status_code == 204
    assert codes_of(api, promotion) == ["KEEP"]


def test_delete_many__ignores_user_and_uses_when_matching(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    assert add(api, promotion, {"code": "ABC", "user": "customer", "uses": 10}).status_code == 201
    body = {
        "data": {"type": "promotion_codes", "codes": [{"code": "ABC", "user": "someone else", "uses": 1}]}
    }
    response = api.http.request("DELETE", f"/v2/promotions/{promotion}/codes", json=body)
    assert response.status_code == 204
    assert codes_of(api, promotion) == []


def test_delete_many__never_touches_codes_of_another_promotion(server: LiveServer) -> None:
    api = server.api()
    first, second = api.create_promotion(), api.create_promotion()
    assert api.add_codes(first, "FIRST-CODE").status_code == 201
    assert delete_many(api, second, "FIRST-CODE").status_code == 204
    assert codes_of(api, first) == ["FIRST-CODE"]


def test_delete_many__a_thousand_and_more_codes_at_once(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    codes = [f"MANY-{i:04d}" for i in range(2_500)]
    assert api.add_codes(promotion, *codes, "SURVIVOR").status_code == 201
    assert delete_many(api, promotion, *codes).status_code == 204
    assert codes_of(api, promotion) == ["SURVIVOR"]


def test_delete_many__deleted_codes_can_be_added_again(server: LiveServer) -> None:
    api = server.api()
    first, second = api.create_promotion(), api.create_promotion()
    assert api.add_codes(first, "MOVE-ME").status_code == 201
    assert delete_many(api, first, "move-me").status_code == 204
    assert api.add_codes(second, "MOVE-ME").status_code == 201
    assert store_codes(api, "MOVE-ME") == [second]


def test_delete_many__invalid_body_is_400_and_deletes_nothing(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    assert api.add_codes(promotion, "A").status_code == 201
    for body, source in [
        ({"type": "promotion_codes", "codes": []}, "data.codes"),
        ({"type": "promotion_codes", "codes": [{}]}, "data.codes.0.code"),
        ({"type": "promotion_codes", "codes": [{"code": 1}]}, "data.codes.0.code"),
        ({"type": "promotion", "codes": [{"code": "A"}]}, "data.type"),
        ({"codes": [{"code": "A"}]}, "data.type"),
    ]:
        response = api.http.request("DELETE", f"/v2/promotions/{promotion}/codes", json={"data": body})
        assert_ep_error(response, 400, source=source)
    assert codes_of(api, promotion) == ["A"]


def test_delete_many__unknown_promotion_is_404_promotion_not_found(server: LiveServer) -> None:
    api = server.api()
    response = delete_many(api, str(uuid.uuid4()), "A")
    assert_ep_error(response, 404, "Not Found", "promotion not found")


def test_delete_one__by_code_string_is_204_case_insensitively(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    assert api.add_codes(promotion, "KEEP", "Summer-Sale", "$5OFF", "@home").status_code == 201
    response = api.http.delete(f"/v2/promotions/{promotion}/codes/summer-SALE")
    assert response.status_code == 204
    assert response.content == b""
    assert api.http.delete(f"/v2/promotions/{promotion}/codes/$5OFF").status_code == 204
    assert api.http.delete(f"/v2/promotions/{promotion}/codes/%40HOME").status_code == 204
    assert codes_of(api, promotion) == ["KEEP"]


def test_delete_one__unknown_code_is_404_and_twice_is_404(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    assert api.add_codes(promotion, "ONCE").status_code == 201
    assert_ep_error(api.http.delete(f"/v2/promotions/{promotion}/codes/NEVER"), 404, "Not Found")
    assert api.http.delete(f"/v2/promotions/{promotion}/codes/ONCE").status_code == 204
    assert_ep_error(api.http.delete(f"/v2/promotions/{promotion}/codes/ONCE"), 404, "Not Found")
    # A string no code could have is simply not found.
    assert_ep_error(api.http.delete(f"/v2/promotions/{promotion}/codes/has%20space"), 404, "Not Found")


def test_delete_one__a_code_of_another_promotion_is_404_and_stays(server: LiveServer) -> None:
    api = server.api()
    first, second = api.create_promotion(), api.create_promotion()
    assert api.add_codes(first, "FIRST-ONLY").status_code == 201
    assert_ep_error(api.http.delete(f"/v2/promotions/{second}/codes/FIRST-ONLY"), 404)
    assert codes_of(api, first) == ["FIRST-ONLY"]


def test_delete_one__unknown_promotion_is_404_promotion_not_found(server: LiveServer) -> None:
    api = server.api()
    response = api.http.delete(f"/v2/promotions/{uuid.uuid4()}/codes/ANY")
    assert_ep_error(response, 404, "Not Found", "promotion not found")
