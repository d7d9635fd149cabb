"""Lists: ``page[limit]``/``page[offset]`` validation, ``meta`` and ``links`` maths, and the
``filter`` syntax on the promotion, code and job lists."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.api.test_errors import assert_ep_error
from tests.support import Api, LiveServer

BAD_FILTER = {
    "errors": [{"status": "400", "title": "Bad Request", "detail": "Could not parse the supplied filter"}]
}


def seeded(server: LiveServer, count: int) -> tuple[Api, str, list[str]]:
    api = server.api()
    promotion = api.create_promotion()
    codes = [f"CODE-{i:03d}" for i in range(count)]
    if codes:
        assert api.add_codes(promotion, *codes).status_code == 201
    return api, promotion, codes


def list_paths(promotion: str) -> list[str]:
    return ["/v2/promotions", f"/v2/promotions/{promotion}/codes", f"/v2/promotions/{promotion}/jobs"]


def page(api: Api, path: str, **params: Any) -> dict[str, Any]:
    response = api.http.get(path, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


# ---- page parameters ------------------------------------------------------------------------------


BAD_VALUES = {  # page[limit] is from 1 to 100, page[offset] from 0 to 10000, each an integer
    "page[limit]": ["0", "101", "abc", "-1", "1.5", "", "1e2", "10000000000000000000000", "٣"],
    "page[offset]": ["-1", "10001", "x", "", "0.5", "99999999999999999999999"],
}


@pytest.mark.parametrize("parameter", BAD_VALUES)
def test_page_parameter_out_of_its_range_or_not_an_integer__is_400_with_the_parameter_as_source(
    server: LiveServer, parameter: str
) -> None:
    api = server.api()
    promotion = api.create_promotion()
    for path in list_paths(promotion):
        for value in BAD_VALUES[parameter]:
            response = api.http.get(path, params={parameter: value})
            assert_ep_error(response, 400, "Bad Request", source=parameter)


def test_page_bounds__limit_1_and_100_and_offset_0_and_10000_are_accepted(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    for path in list_paths(promotion):
        for params in (
            {"page[limit]": 1},
            {"page[limit]": 100},
            {"page[offset]": 0},
            {"page[offset]": 10_000},
        ):
            assert api.http.get(path, params=params).status_code == 200, (path, params)


def test_page_limit__defaults_to_25(server: LiveServer) -> None:
    api, promotion, _codes = seeded(server, 30)
    body = page(api, f"/v2/promotions/{promotion}/codes")
    assert len(body["data"]) == 25
    assert body["meta"]["page"] == {"limit": 25, "offset": 0, "current": 1, "total": 2}
    assert body["meta"]["results"] == {"total": 30}


def test_duplicate_query_parameter__is_400_naming_it(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    for name, value in (("page[limit]", "5"), ("page[offset]", "5"), ("filter", "eq(code,A)")):
        for path in list_paths(promotion):
            response = api.http.get(path, params=[(name, value), (name, value)])
            assert_ep_error(response, 400, source=name)
        # Two different values are no better.
        response = api.http.get(list_paths(promotion)[0], params=[(name, value), (name, "1")])
        assert_ep_error(response, 400, source=name)


# ---- meta and links -------------------------------------------------------------------------------


def test_meta_and_links__on_each_of_several_pages(server: LiveServer) -> None:
    api, promotion, codes = seeded(server, 7)
    base = f"{server.base_url}/v2/promotions/{promotion}/codes"

    def link(offset: int) -> str:
        return f"{base}?page[offset]={offset}&page[limit]=3"

    expectations = [
        # offset, current page, codes, prev, next
        (0, 1, codes[0:3], None, link(3)),
        (3, 2, codes[3:6], link(0), link(6)),
        (6, 3, codes[6:7], link(3), None),
    ]
    for offset, current, expected_codes, prev, nxt in expectations:
        body = page(api, f"/v2/promotions/{promotion}/codes", **{"page[limit]": 3, "page[offset]": offset})
        assert [c["code"] for c in body["data"]] == expected_codes
        assert body["meta"] == {
            "page": {"limit": 3, "offset": offset, "current": current, "total": 3},
            "results": {"total": 7},
        }
        assert body["links"] == {
            "current": link(offset),
            "first": link(0),
            "last": link(6),
            "prev": prev,
            "next": nxt,
        }


def test_meta_and_links__offset_between_page_boundaries(server: LiveServer) -> None:
    api, promotion, codes = seeded(server, 7)
    base = f"{server.base_url}/v2/promotions/{promotion}/codes"
    body = page(api, f"/v2/promotions/{promotion}/codes", **{"page[limit]": 3, "page[offset]": 4})
    assert [c["code"] for c in body["data"]] == codes[4:7]
    assert body["meta"]["page"] == {"limit": 3, "offset": 4, "current": 2, "total": 3}
    assert body["links"]["prev"] == f"{base}?page[offset]=1&page[limit]=3"
    assert body["links"]["next"] is None
    body = page(api, f"/v2/promotions/{promotion}/codes", **{"page[limit]": 3, "page[offset]": 2})
    assert body["links"]["prev"] == f"{base}?page[offset]=0&page[limit]=3"
    assert body["links"]["next"] == f"{base}?page[offset]=5&page[limit]=3"


def test_meta_and_links__exactly_full_pages_have_no_empty_last_page(server: LiveServer) -> None:
    api, promotion, _codes = seeded(server, 6)
    base = f"{server.base_url}/v2/promotions/{promotion}/codes"
    body = page(api, f"/v2/promotions/{promotion}/codes", **{"page[limit]": 3, "page[offset]": 3})
    assert body["meta"]["page"]["total"] == 2
    assert body["links"]["last"] == f"{base}?page[offset]=3&page[limit]=3"
    assert body["links"]["next"] is None


def test_meta_and_links__single_page_has_no_prev_or_next(server: LiveServer) -> None:
    api, promotion, _codes = seeded(server, 2)
    body = page(api, f"/v2/promotions/{promotion}/codes")
    links = body["links"]
    assert links["prev"] is None and links["next"] is None
    assert links["current"] == links["first"] == links["last"]
    assert body["meta"]["page"] == {"limit": 25, "offset": 0, "current": 1, "total": 1}


def test_meta_and_links__empty_list_still_has_every_field(server: LiveServer) -> None:
    api, promotion, _codes = seeded(server, 0)
    for path in list_paths(promotion)[1:]:
        body = page(api, path)
        assert body["data"] == []
        assert body["meta"] == {
            "page": {"limit": 25, "offset": 0, "current": 1, "total": 0},
            "results": {"total": 0},
        }
        assert set(body["links"]) == {"current", "first", "last", "prev", "next"}
        assert body["links"]["prev"] is None and body["links"]["next"] is None
        assert body["links"]["first"] == f"{server.base_url}{path}?page[offset]=0&page[limit]=25"


def test_offset_past_the_end__gives_empty_data_with_correct_meta(server: LiveServer) -> None:
    api, promotion, _codes = seeded(server, 7)
    for offset in (7, 50, 10_000):
        body = page(api, f"/v2/promotions/{promotion}/codes", **{"page[limit]": 3, "page[offset]": offset})
        assert body["data"] == []
        assert body["meta"] == {
            "page": {"limit": 3, "offset": offset, "current": offset // 3 + 1, "total": 3},
            "results": {"total": 7},
        }
        assert body["links"]["next"] is None
        assert body["links"]["last"].endswith("?page[offset]=6&page[limit]=3")


def test_links__are_absolute_and_following_next_visits_every_record_once(server: LiveServer) -> None:
    api, promotion, codes = seeded(server, 23)
    url: str | None = f"/v2/promotions/{promotion}/codes?page[limit]=5"
    seen: list[str] = []
    pages = 0
    while url is not None:
        response = api.http.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [c["code"] for c in body["data"]]
        for name in ("current", "first", "last"):
            assert body["links"][name].startswith(f"{server.base_url}/v2/promotions/{promotion}/codes?")
        url = body["links"]["next"]
        pages += 1
    assert seen == codes
    assert pages == 5


def test_links__on_the_promotion_list_carry_the_filter(server: LiveServer) -> None:
    api = server.api()
    holder = api.create_promotion()
    assert api.add_codes(holder, "LINKED").status_code == 201
    body = page(api, "/v2/promotions", filter="eq(code, LINKED)", **{"page[limit]": 10})
    assert [p["id"] for p in body["data"]] == [holder]
    expected = f"{server.base_url}/v2/promotions?page[offset]=0&page[limit]=10&filter=eq(code,%20LINKED)"
    assert body["links"]["current"] == expected
    assert body["links"]["first"] == expected
    # The link is usable as given.
    again = httpx.get(expected, headers=api.http.headers, timeout=60)
    assert [p["id"] for p in again.json()["data"]] == [holder]


def test_promotion_list__pages_newest_first(server: LiveServer) -> None:
    api = server.api()
    ids = [api.create_promotion(name=f"P{i}") for i in range(5)]
    first = page(api, "/v2/promotions", **{"page[limit]": 2})
    second = page(api, "/v2/promotions", **{"page[limit]": 2, "page[offset]": 2})
    third = page(api, "/v2/promotions", **{"page[limit]": 2, "page[offset]": 4})
    listed = [p["id"] for body in (first, second, third) for p in body["data"]]
    assert listed == list(reversed(ids))
    assert third["meta"]["page"] == {"limit": 2, "offset": 4, "current": 3, "total": 3}
    assert third["meta"]["results"]["total"] == 5


# ---- filter syntax --------------------------------------------------------------------------------


FILTER_VARIANTS = [
    "filter=eq(code,ABC-1)",
    "filter=eq%28code%2CABC-1%29",
    "filter=eq(code,abc-1)",
    "filter=eq(code,%20ABC-1)",
    "filter=eq(code,+ABC-1)",
    "filter=eq(code,%20%20ABC-1%20)",
    "filter=%20eq(%20code%20,ABC-1)%20",
    'filter=eq(code,"ABC-1")',
    "filter=eq(code,'abc-1')",
    "filter=eq%28code%2C%22ABC-1%22%29",
]


def test_filter_syntax_variants__all_find_the_code(server: LiveServer) -> None:
    """Encoded or not, spaces around the operand, quotes: the same filter."""
    api = server.api()
    promotion = api.create_promotion()
    other = api.create_promotion()
    assert api.add_codes(promotion, "ABC-1", "ABC-10", "XABC-1").status_code == 201
    assert api.add_codes(other, "ABC-2").status_code == 201
    for query in FILTER_VARIANTS:
        codes = api.http.get(f"/v2/promotions/{promotion}/codes?{query}")
        assert codes.status_code == 200, (query, codes.text)
        assert [c["code"] for c in codes.json()["data"]] == ["ABC-1"], query
        promotions = api.http.get(f"/v2/promotions?{query}")
        assert promotions.status_code == 200, (query, promotions.text)
        assert [p["id"] for p in promotions.json()["data"]] == [promotion], query


def test_filter__an_encoded_plus_is_a_literal_plus_not_a_space(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    assert api.add_codes(promotion, "ABC").status_code == 201
    # "+" in a query string means a space: leading spaces are dropped, so this finds ABC ...
    assert len(api.http.get(f"/v2/promotions/{promotion}/codes?filter=eq(code,+ABC)").json()["data"]) == 1
    # ... while %2B is a real "+", and "+ABC" is another code.
    assert api.http.get(f"/v2/promotions/{promotion}/codes?filter=eq(code,%2BABC)").json()["data"] == []


def test_filter__empty_means_no_filter(server: LiveServer) -> None:
    api, promotion, codes = seeded(server, 3)
    for value in ("", "%20", "%20%20"):
        body = api.http.get(f"/v2/promotions/{promotion}/codes?filter={value}").json()
        assert [c["code"] for c in body["data"]] == codes, value


UNSUPPORTED_FILTERS = [
    ("/v2/promotions", "like(code,ABC*)"),
    ("/v2/promotions", "gt(code,A)"),
    ("/v2/promotions", "in(code,A,B)"),
    ("codes", "like(code,ABC*)"),
    ("codes", "gt(code,2024)"),
    ("codes", "le(code,A)"),
    ("codes", "is_null(code)"),
    ("jobs", "like(status,comp*)"),
]
# (list, filter, what the detail adds to Elastic Path's "Could not parse the supplied filter")
UNKNOWN_ATTRIBUTES = [
    ("/v2/promotions", "eq(name,Summer)", "unknown attribute name; this list filters on code"),
    ("/v2/promotions", "eq(id,abc)", "unknown attribute id; this list filters on code"),
    ("/v2/promotions", "eq(promo_name,Summer)", "unknown attribute promo_name; this list filters on code"),
    ("/v2/promotions", "eq(job_type,code_export)", "unknown attribute job_type; this list filters on code"),
    ("codes", "eq(user,someone)", "unknown attribute user; this list filters on code"),
    ("codes", "eq(uses,1)", "unknown attribute uses; this list filters on code"),
    ("codes", "eq(CODE,ABC)", "unknown attribute CODE (did you mean code?); this list filters on code"),
    ("jobs", "eq(code,A)", "unknown attribute code; this list filters on job_type, status"),
    ("jobs", "eq(name,job)", "unknown attribute name; this list filters on job_type, status"),
    (
        "jobs",
        "eq(staus,completed)",
        "unknown attribute staus (did you mean status?); this list filters on job_type, status",
    ),
]


def test_filter__unsupported_operator_is_400_could_not_parse(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    for path, raw_filter in UNSUPPORTED_FILTERS:
        url = path if path.startswith("/") else f"/v2/promotions/{promotion}/{path}"
        response = api.http.get(url, params={"filter": raw_filter})
        assert response.status_code == 400, (path, raw_filter, response.text)
        assert response.json() == BAD_FILTER


def test_filter__unknown_attribute_is_400_could_not_parse_naming_it(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    for path, raw_filter, detail in UNKNOWN_ATTRIBUTES:
        url = path if path.startswith("/") else f"/v2/promotions/{promotion}/{path}"
        response = api.http.get(url, params={"filter": raw_filter})
        assert response.status_code == 400, (path, raw_filter, response.text)
        expected = {"status": "400", "title": "Bad Request"}
        expected["detail"] = f"Could not parse the supplied filter: {detail}"
        assert response.json() == {"errors": [expected]}


MALFORMED_FILTERS = [
    "eq(code,ABC",
    "eq code ABC",
    "eq(code)",
    "eq(,ABC)",
    "eq(code,)",
    "eq(code,ABC):",
    ":eq(code,ABC)",
    "eq(code,ABC)eq(code,DEF)",
    "foo(code,ABC)",
    "EQ(code,ABC)",
    "eq(code,A,B)",
    'eq(code,"ABC)',
    "eq(code,a;b)",
    "eq(code,a(b))",
    "eq(code,ABC) extra",
    ":".join(["eq(code,A)"] * 11),
    "eq(code," + "A" * 9000 + ")",
]


def test_filter__malformed_is_400_could_not_parse_on_every_list(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    for path in list_paths(promotion):
        for raw_filter in MALFORMED_FILTERS:
            response = api.http.get(path, params={"filter": raw_filter})
            assert response.status_code == 400, (path, raw_filter[:40], response.text)
            assert response.json() == BAD_FILTER


def test_filter__two_code_clauses_are_anded_not_the_second_ignored(server: LiveServer) -> None:
    api = server.api()
    both = api.create_promotion(name="both")
    only_a = api.create_promotion(name="only A")
    assert api.add_codes(both, "AND-A", "AND-B").status_code == 201
    assert api.add_codes(only_a, "AND-C").status_code == 201

    def promotions(raw_filter: str) -> list[str]:
        return [p["id"] for p in page(api, "/v2/promotions", filter=raw_filter)["data"]]

    assert promotions("eq(code,AND-A):eq(code,and-b)") == [both]
    assert promotions("eq(code,AND-A):eq(code,AND-C)") == []
    codes = page(api, f"/v2/promotions/{both}/codes", filter="eq(code,AND-A):eq(code,AND-B)")
    assert codes["data"] == [] and codes["meta"]["results"]["total"] == 0
    same = page(api, f"/v2/promotions/{both}/codes", filter="eq(code,AND-A):eq(code,and-a)")
    assert [c["code"] for c in same["data"]] == ["AND-A"]


def test_filter__several_clauses_joined_with_a_colon_are_accepted(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    response = api.http.get(
        f"/v2/promotions/{promotion}/jobs", params={"filter": "eq(job_type,code_export):eq(status,completed)"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"] == []


def test_filter__on_an_unknown_promotion_codes_list_is_still_404(server: LiveServer) -> None:
    api = server.api()
    response = api.http.get(f"/v2/promotions/{uuid.uuid4()}/codes", params={"filter": "eq(code,A)"})
    assert_ep_error(response, 404, "Not Found", "promotion not found")
