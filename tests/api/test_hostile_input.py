"""Hostile input: what a careless or malicious client can send gets a clear 4xx with the Elastic Path error
body, never a 500, and writes nothing.

Each test sends its batch inside ``writes_nothing``, which compares the row counts of every table a
request could write (on both backends) before and after, and checks that the store still lists.
Requests that are not valid HTTP never reach a route: the HTTP edge (api/edge.py) answers them with the same
Elastic Path error body (docs/compatibility.md, "Hostile input"); the last test pins that down.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import func, select

from promojobs.api.errors import BODY_NOT_AN_OBJECT, BODY_NOT_PARSED
from promojobs.store import schema
from tests.api.test_errors import assert_client_error, assert_ep_error
from tests.support import PROMOTION, Api, LiveServer

JSON = {"content-type": "application/json"}
BAD_FILTER = "Could not parse the supplied filter"
TABLES = (schema.stores, schema.clients, schema.promotions, schema.codes, schema.jobs, schema.job_tasks)


def row_counts(server: LiveServer) -> dict[str, int]:
    with server.container.database.read() as conn:
        return {
            table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in TABLES
        }


@contextmanager
def writes_nothing(server: LiveServer, api: Api) -> Iterator[None]:
    before = row_counts(server)
    yield
    assert row_counts(server) == before
    listed = api.http.get("/v2/promotions", params={"page[limit]": 100})
    assert listed.status_code == 200, listed.text


def promotion_with_codes(api: Api, *codes: str) -> str:
    promotion = api.create_promotion()
    if codes:
        assert api.add_codes(promotion, *codes).status_code == 201
    return promotion


def generate(parameters: Any, **data: Any) -> dict[str, Any]:
    return {"data": {"type": "promotion_job", "job_type": "code_generate", "parameters": parameters, **data}}


def nested(depth: int, *, leaf: str = "1", kind: str = "object") -> str:
    opening, closing = ('{"a":', "}") if kind == "object" else ("[", "]")
    return opening * depth + leaf + closing * depth


# ---- body size --------------------------------------------------------------------------------------

LIMIT = 2_000


def _write_requests(promotion: str, job: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("POST", "/v2/promotions", {"data": PROMOTION}),
        ("PUT", f"/v2/promotions/{promotion}", {"data": {"type": "promotion", "id": promotion, "name": "N"}}),
        (
            "POST",
            f"/v2/promotions/{promotion}/codes",
            {"data": {"type": "promotion_codes", "codes": [{"code": "SNEAKY"}]}},
        ),
        (
            "DELETE",
            f"/v2/promotions/{promotion}/codes",
            {"data": {"type": "promotion_codes", "codes": [{"code": "KEEP-1"}]}},
        ),
        ("POST", f"/v2/promotions/{promotion}/jobs", generate({"number_of_codes": 5})),
        ("POST", f"/v2/promotions/{promotion}/jobs/{job}/cancel", {"data": {}}),
    ]


def test_body_over_the_limit__is_413_announced_or_streamed_on_every_write_route_and_writes_nothing(
    make_server: Callable[..., LiveServer],
) -> None:
    server = make_server(max_body_bytes=LIMIT, embedded_worker=False)
    api = server.api()
    promotion = promotion_with_codes(api, "KEEP-1")
    job = api.generate(promotion, 5)["id"]
    with writes_nothing(server, api):
        for method, path, body in _write_requests(promotion, job):
            valid = json.dumps(body).encode()
            # Announced: Content-Length over the limit.
            announced = api.http.request(method, path, content=valid + b" " * LIMIT, headers=JSON)
            assert_ep_error(
                announced, 413, "Payload Too Large", f"The request body must be at most {LIMIT} bytes"
            )

            # Streamed (chunked, no Content-Length): a whole valid document first, then padding past the
            # limit. The route must never see the document and write it while the client is told 413.
            def chunks(document: bytes = valid) -> Iterator[bytes]:
                yield document
                for _ in range(LIMIT // 100 + 1):
                    yield b" " * 100

            streamed = api.http.request(method, path, content=chunks(), headers=JSON)
            assert_ep_error(streamed, 413, "Payload Too Large")
        form = {"grant_type": "client_credentials", "client_id": "x" * LIMIT}
        assert_ep_error(httpx.post(f"{server.base_url}/oauth/access_token", data=form), 413)
    assert api.job(promotion, job)["status"] == "pending"
    # A body of exactly the limit is fine.
    exact = json.dumps({"data": PROMOTION}).encode()
    exact += b" " * (LIMIT - len(exact))
    assert api.http.post("/v2/promotions", content=exact, headers=JSON).status_code == 201


def test_more_than_100000_codes_in_one_request__is_400_and_writes_nothing(server: LiveServer) -> None:
    api = server.api()
    promotion = promotion_with_codes(api)
    codes = [{"code": f"C{index}"} for index in range(100_001)]
    with writes_nothing(server, api):
        response = api.http.post(
            f"/v2/promotions/{promotion}/codes", json={"data": {"type": "promotion_codes", "codes": codes}}
        )
        assert_ep_error(response, 400, source="data.codes")


# ---- filters ----------------------------------------------------------------------------------------


def _filters(promotion: str) -> list[tuple[str, str, str, str]]:
    """(list path, a clause it accepts, a clause of the same kind that can be padded at ``{}``, and the
    padding that keeps it valid: the job list's attributes are enumerated, so its padding is spaces
    before the value, which the parser drops)."""
    return [
        ("/v2/promotions", "eq(code,NOPE)", 'eq(code,"{}")', "A"),
        (f"/v2/promotions/{promotion}/codes", "eq(code,NOPE)", 'eq(code,"{}")', "A"),
        (f"/v2/promotions/{promotion}/jobs", "eq(status,completed)", "eq(job_type,{}code_export)", " "),
    ]


def test_filter_of_more_than_10_clauses__is_400_and_10_are_fine(server: LiveServer) -> None:
    api = server.api()
    promotion = promotion_with_codes(api, "KEEP-1")
    with writes_nothing(server, api):
        for path, clause, _, _ in _filters(promotion):
            ten = api.http.get(path, params={"filter": ":".join([clause] * 10)})
            assert ten.status_code == 200, (path, ten.text)
            for count in (11, 12, 1_000):
                response = api.http.get(path, params={"filter": ":".join([clause] * count)})
                assert_ep_error(response, 400, "Bad Request", BAD_FILTER)


def _padded(template: str, size: int, filler: str = "A") -> str:
    """``template`` with its ``{}`` filled so that the whole filter is ``size`` bytes of UTF-8."""
    base = len(template.format("").encode())
    width = len(filler.encode())
    text = template.format(filler * ((size - base) // width) + "A" * ((size - base) % width))
    assert len(text.encode()) == size
    return text


def test_filter_over_8_kib__is_400_counting_utf8_bytes_and_8_kib_is_fine(server: LiveServer) -> None:
    api = server.api()
    promotion = promotion_with_codes(api, "KEEP-1")
    with writes_nothing(server, api):
        for path, _, template, padding in _filters(promotion):
            exactly = api.http.get(path, params={"filter": _padded(template, 8 * 1024, padding)})
            assert exactly.status_code == 200, (path, exactly.text)
            assert exactly.json()["data"] == []
            for size in (8 * 1024 + 1, 16 * 1024, 40 * 1024):
                response = api.http.get(path, params={"filter": _padded(template, size)})
                assert_ep_error(response, 400, "Bad Request", BAD_FILTER)
            # 2,731 "é" are fewer than 8,192 characters but 8,193 bytes with the rest of the filter.
            multibyte = _padded(template, 8 * 1024 + 1, filler="é")
            assert len(multibyte) < 8 * 1024
            assert_ep_error(api.http.get(path, params={"filter": multibyte}), 400, "Bad Request", BAD_FILTER)


# ---- nesting ------------------------------------------------------------------------------------------


def test_deeply_nested_json__is_400_as_the_body_as_data_in_schema_and_in_parameters(
    server: LiveServer,
) -> None:
    api = server.api()
    promotion = promotion_with_codes(api, "KEEP-1")
    promotion_head = '{"data": {"type": "promotion", "name": "deep", "promotion_type": "x_for_y", "schema": '
    job_head = '{"data": {"type": "promotion_job", "job_type": "code_generate", "parameters": '
    with writes_nothing(server, api):
        for kind in ("array", "object"):
            deep = nested(100_000, kind=kind)
            for method, path, raw in [
                ("POST", "/v2/promotions", deep),
                ("POST", "/v2/promotions", '{"data": ' + deep + "}"),
                ("POST", "/v2/promotions", promotion_head + deep + "}}"),
                ("PUT", f"/v2/promotions/{promotion}", '{"data": ' + deep + "}"),
                ("POST", f"/v2/promotions/{promotion}/codes", '{"data": ' + deep + "}"),
                ("DELETE", f"/v2/promotions/{promotion}/codes", '{"data": ' + deep + "}"),
                ("POST", f"/v2/promotions/{promotion}/jobs", job_head + deep + "}}"),
            ]:
                response = api.http.request(method, path, content=raw.encode(), headers=JSON)
                assert_ep_error(response, 400, "Bad Request", BODY_NOT_PARSED)
        # Nesting the parser takes but the response encoder could not write back (orjson stops at 255
        # levels): refused before it is stored, where it would break every later list of the store.
        for depth in (33, 100, 300):
            for kind in ("array", "object"):
                response = api.http.post(
                    "/v2/promotions",
                    content=(promotion_head + '{"a": ' + nested(depth - 1, kind=kind) + "}}}").encode(),
                    headers=JSON,
                )
                error = assert_ep_error(response, 400, "Bad Request", source="data.schema")
                assert "nested more than 32 levels" in error["detail"]
                response = api.http.post(
                    f"/v2/promotions/{promotion}/jobs",
                    content=(
                        job_head + '{"number_of_codes": 5, "x": ' + nested(depth, kind=kind) + "}}}"
                    ).encode(),
                    headers=JSON,
                )
                assert_ep_error(response, 400, "Bad Request", source="data.parameters")
    created = api.http.post(
        "/v2/promotions", content=(promotion_head + nested(32) + "}}").encode(), headers=JSON
    )
    assert created.status_code == 201, created.text
    assert api.http.get(f"/v2/promotions/{created.json()['data']['id']}").json() == created.json()


# ---- numbers -------------------------------------------------------------------------------------------

NOT_COUNTS: list[Any] = [-1, 0, -(2**63), 1.5, 10.0, "10", True, [10], {"n": 10}]


def test_huge_negative_and_non_integer_numbers__are_400_naming_the_field(
    make_server: Callable[..., LiveServer],
) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion = promotion_with_codes(api, "KEEP-1")
    jobs = f"/v2/promotions/{promotion}/jobs"
    with writes_nothing(server, api):
        for huge in (10**9, 2**53 + 1, 2**63, 10**30, 10**4000):
            response = api.http.post(jobs, json=generate({"number_of_codes": huge}))
            assert_ep_error(
                response,
                400,
                "Too many promotion codes",
                "Only 100000000 promotion codes are allowed per promotion",
                "data.parameters.number_of_codes",
            )
        for value in NOT_COUNTS:
            response = api.http.post(jobs, json=generate({"number_of_codes": value}))
            assert_ep_error(response, 400, source="data.parameters.number_of_codes")
        assert_ep_error(
            api.http.post(jobs, json=generate({"number_of_codes": None})),
            400,
            "required",
            source="data.parameters.number_of_codes",
        )
        head = b'{"data": {"type": "promotion_job", "job_type": "code_generate", "parameters": '
        for raw in (b"1e3", b"NaN", b"-Infinity", b"1E400"):
            response = api.http.post(
                jobs, content=head + b'{"number_of_codes": ' + raw + b"}}}", headers=JSON
            )
            assert str(assert_ep_error(response, 400).get("source")).startswith("data.parameters"), raw
        # Over Python's 4,300-digit limit the JSON parser itself gives up.
        response = api.http.post(
            jobs, content=head + b'{"number_of_codes": ' + b"9" * 5_000 + b"}}}", headers=JSON
        )
        assert_ep_error(response, 400, "Bad Request", BODY_NOT_PARSED)
        for name, values in [
            ("max_uses_per_code", [-1, 1.5, "1", 2**53 + 1, 10**30]),
            ("code_length", [7, 17, -8, 8.5, "8", 10**30]),
        ]:
            for value in values:
                response = api.http.post(jobs, json=generate({"number_of_codes": 5, name: value}))
                assert_ep_error(response, 400, source=f"data.parameters.{name}")
        codes = f"/v2/promotions/{promotion}/codes"
        for uses in (-1, 1.5, "1", 2**53 + 1, 10**30):
            body = {"data": {"type": "promotion_codes", "codes": [{"code": "NEW-1", "uses": uses}]}}
            assert_ep_error(api.http.post(codes, json=body), 400, source="data.codes.0.uses")
        for field, value in [
            ("max_applications_per_cart", -1),
            ("max_applications_per_cart", 2**31),
            ("max_applications_per_cart", 2.5),
            ("min_cart_value", [{"currency": "USD", "amount": -1}]),
            ("min_cart_value", [{"currency": "USD", "amount": 0.5}]),
            ("min_cart_value", [{"currency": "USD", "amount": 10**30}]),
        ]:
            response = api.http.post("/v2/promotions", json={"data": {**PROMOTION, field: value}})
            assert str(assert_ep_error(response, 400).get("source", "")).startswith(f"data.{field}"), field
        for value in ("-1", "1.5", "1e2", "0x10", "99999999999999999999999", "٣", "+-1"):
            response = api.http.get("/v2/promotions", params={"page[limit]": value})
            assert_ep_error(response, 400, source="page[limit]")


# ---- characters --------------------------------------------------------------------------------------

# Characters outside the documented code alphabet (ASCII letters, digits and - _ . $ @): look-alikes,
# invisible and direction-changing characters, controls, URL and filter syntax, case-mapping traps.
FOREIGN = [
    "Ä",
    "\uff21",  # fullwidth A
    "\u0410",  # Cyrillic A
    "ß",
    "ﬁ",
    "İ",
    "e\u0301",
    "\u200b",
    "\u202e",
    "\ufeff",
    "\u00a0",
    "😀",
    " ",
    "\t",
    "\n",
    "\r",
    "\u0000",
    "\u007f",
    "\u0085",
    "/",
    "\\",
    "%",
    "+",
    "#",
    "?",
    "&",
    ",",
    "(",
    ")",
    ":",
    "'",
    '"',
    "*",
    "!",
    "<",
]


def test_codes_outside_the_documented_alphabet__are_400_pointing_at_the_code_and_write_nothing(
    server: LiveServer,
) -> None:
    api = server.api()
    promotion = promotion_with_codes(api, "KEEP-1")
    with writes_nothing(server, api):
        for char in FOREIGN:
            bad = f"AB{char}CD"
            response = api.add_codes(promotion, "GOOD-1", "GOOD-2", bad)
            error = assert_ep_error(response, 400, "Bad Request", source="data.codes.2.code")
            assert "may only contain ASCII letters, digits and - _ . $ @" in error["detail"], error
            # Deleting, or finding, such a code is a plain miss, never an error of the server.
            # ("/" splits the path: no such route.)
            response = api.http.delete(f"/v2/promotions/{promotion}/codes/{quote(bad, safe='')}")
            assert_ep_error(response, 404, detail=None if char == "/" else "code not found")
            body = {"data": {"type": "promotion_codes", "codes": [{"code": bad}]}}
            assert (
                api.http.request("DELETE", f"/v2/promotions/{promotion}/codes", json=body).status_code == 204
            )
            quoted = '"' + bad.replace("\\", "\\\\").replace('"', '\\"') + '"'
            response = api.http.get(
                f"/v2/promotions/{promotion}/codes", params={"filter": f"eq(code,{quoted})"}
            )
            assert response.status_code in (200, 400), response.text
            if response.status_code == 200:
                assert response.json()["data"] == []
            else:
                assert_ep_error(response, 400, "Bad Request", BAD_FILTER)
        # A lone surrogate can only come as a JSON escape.
        raw = b'{"data": {"type": "promotion_codes", "codes": [{"code": "AB\\ud800"}]}}'
        response = api.http.post(f"/v2/promotions/{promotion}/codes", content=raw, headers=JSON)
        assert_ep_error(response, 400, source="data.codes.0.code")
        assert_ep_error(api.add_codes(promotion, "X" * 65), 400, source="data.codes.0.code")
    assert [code["code"] for code in api.all_codes(promotion)] == ["KEEP-1"]


def test_code_prefixes_outside_the_documented_alphabet__are_400_and_create_no_job(
    make_server: Callable[..., LiveServer],
) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion = promotion_with_codes(api)
    with writes_nothing(server, api):
        for char in [*FOREIGN, "x" * 33]:
            response = api.create_job(
                promotion, parameters={"number_of_codes": 5, "code_prefix": f"Sale{char}-"}
            )
            assert_ep_error(response, 400, "Bad Request", source="data.parameters.code_prefix")
        for prefix in (5, ["Sale-"], {"p": "Sale-"}, True):
            response = api.create_job(promotion, parameters={"number_of_codes": 5, "code_prefix": prefix})
            assert_ep_error(response, 400, source="data.parameters.code_prefix")
    assert api.list_jobs(promotion).json()["data"] == []


TEXTS = [
    "Été \u2013 10 % de réduction",
    "夏季促销 🎉",
    "עברית \u202e reversed",
    "e\u0301 combining, \u200b zero width, \ufeff bom",
    "tab\tand\nnewline and \u0001 and \u007f",
    'quote " backslash \\ slash / <script>alert(1)</script>',
    "'; DROP TABLE promotions; --",
    "😀" * 500,
]


def test_unicode_in_names_descriptions_and_users__round_trips_exactly_on_both_backends(
    server: LiveServer,
) -> None:
    api = server.api()
    for text in TEXTS:
        promotion = api.create_promotion(name=text, description=text)
        fetched = api.http.get(f"/v2/promotions/{promotion}").json()["data"]
        assert (fetched["name"], fetched["description"]) == (text, text)
        job = api.create_job(promotion, "code_export", name=text[:50])
        assert job.status_code == 201, job.text
        assert job.json()["data"]["name"] == text[:50]
    promotion = api.create_promotion()
    users = ["José 🎉", "用户", "user@example.com", "\u202eevil", "'; DROP TABLE codes; --"]
    body = {
        "data": {
            "type": "promotion_codes",
            "codes": [{"code": f"USER-{index}", "user": user} for index, user in enumerate(users)],
        }
    }
    assert api.http.post(f"/v2/promotions/{promotion}/codes", json=body).status_code == 201
    assert [code["user"] for code in api.all_codes(promotion)] == users


def test_names_and_users_that_cannot_be_stored__are_400_and_write_nothing(server: LiveServer) -> None:
    api = server.api()
    promotion = promotion_with_codes(api, "KEEP-1")
    with writes_nothing(server, api):
        for name in ("a\u0000b", "x" * 2001, ""):
            response = api.http.post("/v2/promotions", json={"data": {**PROMOTION, "name": name}})
            assert_ep_error(response, 400, source="data.name")
        for raw_name in (b'"\\ud800"', b'"a\\udfffb"'):
            raw = b'{"data": {"type": "promotion", "promotion_type": "x_for_y", "name": ' + raw_name + b"}}"
            assert_ep_error(
                api.http.post("/v2/promotions", content=raw, headers=JSON), 400, source="data.name"
            )
        assert_ep_error(api.create_job(promotion, "code_export", name="😀" * 51), 400, source="data.name")
        for user in ("a\u0000", "line\nbreak", "tab\t", "del\u007f", "u" * 256):
            body = {"data": {"type": "promotion_codes", "codes": [{"code": "NEW-1", "user": user}]}}
            response = api.http.post(f"/v2/promotions/{promotion}/codes", json=body)
            assert_ep_error(response, 400, source="data.codes.0.user")


# ---- content types, duplicate parameters, lengths, encodings ----------------------------------------------

WRONG_CONTENT_TYPES = [
    None,
    "text/plain",
    "text/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/xml",
    "application/octet-stream",
    ";;;===",
    "application/jsonx",
]


def test_wrong_content_types__are_400_with_a_clear_detail_on_every_write_route(
    make_server: Callable[..., LiveServer],
) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()
    promotion = promotion_with_codes(api, "KEEP-1")
    job = api.generate(promotion, 5)["id"]
    with writes_nothing(server, api):
        for method, path, body in _write_requests(promotion, job)[:5]:
            for content_type in WRONG_CONTENT_TYPES:
                headers = {} if content_type is None else {"content-type": content_type}
                request = api.http.build_request(
                    method, path, content=json.dumps(body).encode(), headers=headers
                )
                if content_type is None:
                    request.headers.pop("content-type", None)
                response = api.http.send(request)
                error = assert_ep_error(response, 400, "Bad Request")
                assert error["detail"] in (BODY_NOT_AN_OBJECT, BODY_NOT_PARSED), (content_type, error)
        for content_type in ("application/json", "text/plain"):
            response = httpx.post(
                f"{server.base_url}/oauth/access_token",
                content=b'{"grant_type": "client_credentials", "client_id": "x"}',
                headers={"content-type": content_type},
            )
            assert_client_error(response)


def test_duplicate_query_parameters__are_400_naming_the_parameter_on_every_list_and_the_download_link(
    server: LiveServer,
) -> None:
    api = server.api()
    promotion = promotion_with_codes(api, "KEEP-1")
    job = api.create_job(promotion, "code_export").json()["data"]["id"]
    with writes_nothing(server, api):
        for path in (
            "/v2/promotions",
            f"/v2/promotions/{promotion}/codes",
            f"/v2/promotions/{promotion}/jobs",
        ):
            for name, first, second in [
                ("page[limit]", "1", "2"),
                ("page[offset]", "0", "0"),
                ("filter", "eq(code,A)", "eq(code,A)"),
            ]:
                response = api.http.get(path, params=[(name, first), (name, second)])
                assert_ep_error(response, 400, "Bad Request", f"{name} may be given only once", name)
            # Encoded and plain spellings of one name are the same parameter.
            response = api.http.get(f"{path}?page%5Blimit%5D=1&page[limit]=1")
            assert_ep_error(response, 400, source="page[limit]")
        for name in ("expires", "signature"):
            response = httpx.get(f"{server.base_url}/downloads/{job}.csv", params=[(name, "1"), (name, "2")])
            assert_ep_error(response, 400, "Bad Request", f"{name} may be given only once", name)


def test_very_long_urls_path_parameters_and_headers__are_a_clean_4xx(server: LiveServer) -> None:
    api = server.api()
    promotion = promotion_with_codes(api, "KEEP-1")
    with writes_nothing(server, api):
        for length in (1_000, 10_000, 60_000):
            long = "a" * length
            assert_ep_error(api.http.get(f"/v2/promotions/{long}"), 404, detail="promotion not found")
            assert_ep_error(api.http.delete(f"/v2/promotions/{long}"), 404, detail="promotion not found")
            assert_ep_error(
                api.http.get(f"/v2/promotions/{promotion}/jobs/{long}"), 404, detail="job not found"
            )
            assert_ep_error(
                api.http.post(f"/v2/promotions/{promotion}/jobs/{long}/cancel"), 404, detail="job not found"
            )
            assert_ep_error(
                api.http.delete(f"/v2/promotions/{promotion}/codes/{long}"), 404, detail="code not found"
            )
            assert_ep_error(httpx.get(f"{server.base_url}/downloads/{long}.csv?expires=1&signature=x"), 403)
        # Unknown query parameters are ignored, however many and long.
        response = api.http.get("/v2/promotions", params={f"x{index}": "y" * 500 for index in range(100)})
        assert response.status_code == 200
        for token in ("a" * 201, "a" * 10_000):
            response = httpx.get(
                f"{server.base_url}/v2/promotions", headers={"Authorization": f"Bearer {token}"}
            )
            assert_ep_error(response, 401, "Unable to validate access token")


def test_invalid_utf8__in_bodies_paths_queries_and_forms_is_a_clear_4xx(server: LiveServer) -> None:
    api = server.api()
    promotion = promotion_with_codes(api, "KEEP-1")
    with writes_nothing(server, api):
        for raw in (b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"\x80", b"caf\xe9"):
            # (The JSON parser reads UTF-8 with "surrogatepass": an encoded surrogate, \xed\xa0\x80, becomes
            # a lone surrogate, which the field rules refuse instead.)
            body = b'{"data": {"type": "promotion", "promotion_type": "x_for_y", "name": "' + raw + b'"}}'
            response = api.http.post("/v2/promotions", content=body, headers=JSON)
            assert_ep_error(response, 400, "Bad Request")
            codes = b'{"data": {"type": "promotion_codes", "codes": [{"code": "A' + raw + b'"}]}}'
            response = api.http.post(f"/v2/promotions/{promotion}/codes", content=codes, headers=JSON)
            assert_ep_error(response, 400, "Bad Request")
        for escaped in ("%FF", "%C0%AF", "%ED%A0%80", "%FF%FE%00"):
            assert_ep_error(api.http.get(f"/v2/promotions/{escaped}"), 404, detail="promotion not found")
            response = api.http.delete(f"/v2/promotions/{promotion}/codes/A{escaped}")
            assert_ep_error(response, 404, detail="code not found")
            response = api.http.get(f"/v2/promotions/{promotion}/codes?filter=eq(code,A{escaped})")
            assert_ep_error(response, 400, "Bad Request", BAD_FILTER)
            response = api.http.get(f"/v2/promotions?page%5Blimit%5D={escaped}")
            assert_ep_error(response, 400, source="page[limit]")
            form = f"grant_type=client_credentials&client_id=x{escaped}&client_secret=y{escaped}".encode()
            response = httpx.post(
                f"{server.base_url}/oauth/access_token",
                content=form,
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            assert_ep_error(response, 401, "Unauthorized")


def _raw_http(server: LiveServer, request: bytes) -> bytes:
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65_536):
            received += chunk
    return received


def test_requests_that_are_not_valid_http__get_a_4xx_with_the_error_body_and_it_keeps_serving(
    server: LiveServer,
) -> None:
    api = server.api()
    token = api.http.headers["authorization"].encode()
    head = (
        b"POST /v2/promotions HTTP/1.1\r\nHost: x\r\nAuthorization: " + token + b"\r\nConnection: close\r\n"
    )
    body = json.dumps({"data": PROMOTION}).encode()
    chunked = b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
    with writes_nothing(server, api):
        for status, request in [
            (400, head + b"Content-Type: application/json\r\nContent-Length: abc\r\n\r\n" + body),
            (400, head + b"Content-Type: application/json\r\nContent-Length: -1\r\n\r\n" + body),
            (
                400,
                head
                + b"Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n"
                + body,
            ),
            (400, head + chunked + b"Content-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
            (400, head + chunked + b"\r\nzz\r\n" + body),
            (400, head + b"X-Nul: a\x00b\r\n\r\n"),
            (400, b"FROB /v2/promotions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            (400, b"GET /v2/promotions/\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            (
                414,
                b"GET /v2/promotions/"
                + b"a" * 100_000
                + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            ),
        ]:
            answer = _raw_http(server, request)
            assert answer.startswith(b"HTTP/1.1 %d " % status), answer[:200]
            head_part, _, answer_body = answer.partition(b"\r\n\r\n")
            assert b"content-type: application/json" in head_part.lower(), answer[:300]
            error = json.loads(answer_body)["errors"][0]
            assert error["status"] == str(status), error
            assert error["detail"], error
    assert httpx.get(f"{server.base_url}/healthz").status_code == 200
