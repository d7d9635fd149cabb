"""Pages past ``page[offset]``'s limit of 10,000 on the codes list: ``next``, ``prev`` and ``last`` carry a
signed ``page[cursor]`` (a seek on the listing index), every link emitted is followable, and a cursor the
server did not issue for that list is a 400 with an Elastic Path error body. Real HTTP, both backends."""

from __future__ import annotations

import base64
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import insert, select, text

from promojobs.domain.pagination import KeySeek, PageRequest
from promojobs.services.codes import NewCode
from promojobs.store.codes import list_codes, page_query
from promojobs.store.schema import codes, promotions
from tests.api.test_errors import assert_ep_error
from tests.support import Api, LiveServer

CURSOR_ERROR = "page[cursor] is not a cursor from this list's links"


def promotion_with_codes(
    server: LiveServer, api: Api, count: int, prefix: str = "DEEP"
) -> tuple[str, list[str]]:
    """A promotion holding ``count`` codes, added through the code service in one transaction (the HTTP
    route would take hundreds of requests); their creation order is the listing order."""
    promotion = api.create_promotion()
    caller = server.container.access.admit(api.http.headers["Authorization"])
    codes = [f"{prefix}-{index:06d}" for index in range(count)]
    server.container.codes.add(caller.store_id, promotion, [NewCode(code) for code in codes])
    return promotion, codes


def get_ok(api: Api, url: str) -> dict[str, Any]:
    response = api.http.get(url)
    assert response.status_code == 200, f"{url}: {response.text}"
    return dict(response.json())


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def deep_link(api: Api, promotion: str) -> str:
    """The ``next`` link of the page at offset 10,000: the first one that must carry a cursor."""
    body = get_ok(api, f"/v2/promotions/{promotion}/codes?page[offset]=10000&page[limit]=100")
    link = body["links"]["next"]
    assert link is not None and "page[cursor]" in query_of(link), body["links"]
    return str(link)


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    query.update(changes)
    pairs = "&".join(f"{name}={value}" for name, value in query.items())
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{pairs}"


def test_walking_next__visits_each_of_30000_codes_exactly_once_past_offset_10000(server: LiveServer) -> None:
    api = server.api()
    promotion, codes = promotion_with_codes(server, api, 30_000)
    url: str | None = f"/v2/promotions/{promotion}/codes?page[limit]=100"
    seen: list[str] = []
    cursor_pages = 0
    while url is not None:
        body = get_ok(api, url)
        page = body["meta"]["page"]
        # meta keeps Elastic Path's shape and counts on past the offset limit.
        assert page == {"limit": 100, "offset": len(seen), "current": len(seen) // 100 + 1, "total": 300}
        assert body["meta"]["results"] == {"total": 30_000}
        assert body["links"]["first"].endswith("?page[offset]=0&page[limit]=100")
        seen += [code["code"] for code in body["data"]]
        cursor_pages += "page[cursor]" in query_of(url)
        url = body["links"]["next"]
    assert seen == codes  # each code exactly once, in creation order
    assert cursor_pages == 199  # offsets 10,100 .. 29,900: every page past 10,000 was found by key


def test_last_link__of_a_deep_list_is_followable_and_ends_the_list(server: LiveServer) -> None:
    api = server.api()
    promotion, codes = promotion_with_codes(server, api, 30_000)
    first = get_ok(api, f"/v2/promotions/{promotion}/codes?page[limit]=70")
    last_url = first["links"]["last"]
    assert "page[cursor]" in query_of(last_url) and query_of(last_url)["page[limit]"] == ["70"]
    last = get_ok(api, last_url)
    assert [code["code"] for code in last["data"]] == codes[29_960:]  # 30,000 = 428 pages of 70 + 40
    assert last["meta"]["page"] == {"limit": 70, "offset": 29_960, "current": 429, "total": 429}
    assert last["links"]["next"] is None
    assert last["links"]["last"] == last["links"]["current"] == last_url
    previous = get_ok(api, last["links"]["prev"])
    assert [code["code"] for code in previous["data"]] == codes[29_890:29_960]
    assert previous["meta"]["page"]["offset"] == 29_890
    assert previous["links"]["next"] is not None
    assert get_ok(api, previous["links"]["next"])["data"] == last["data"]


def test_walking_prev__from_last_visits_every_code_once_back_to_offset_zero(server: LiveServer) -> None:
    api = server.api()
    promotion, codes = promotion_with_codes(server, api, 12_345)
    url: str | None = get_ok(api, f"/v2/promotions/{promotion}/codes?page[limit]=100")["links"]["last"]
    pages: list[list[str]] = []
    while url is not None:
        body = get_ok(api, url)
        pages.append([code["code"] for code in body["data"]])
        assert body["meta"]["page"]["offset"] == len(codes) - sum(map(len, pages))
        url = body["links"]["prev"]
    assert [code for page in reversed(pages) for code in page] == codes


def test_cursor__garbage_or_tampered_is_400_naming_page_cursor(server: LiveServer) -> None:
    api = server.api()
    promotion, _ = promotion_with_codes(server, api, 10_150)
    link = deep_link(api, promotion)
    token = query_of(link)["page[cursor]"][0]
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    offset = raw.split(b".", 1)[0]
    forged = raw.replace(offset, b"1", 1)  # claims position 1 with the same signature
    forged_token = base64.urlsafe_b64encode(forged).decode().rstrip("=")
    for bad in ["x", "", "%00", "A" * 161, "é", token[:-2], forged_token]:
        response = api.http.get(with_query(link, **{"page[cursor]": bad}))
        assert_ep_error(response, 400, "Bad Request", CURSOR_ERROR, "page[cursor]")
    assert get_ok(api, link)["meta"]["page"]["offset"] == 10_100  # the real one still works


def test_cursor__from_another_promotion_store_or_filter_is_400(server: LiveServer) -> None:
    api = server.api()
    promotion, _ = promotion_with_codes(server, api, 10_150)
    link = deep_link(api, promotion)
    token = query_of(link)["page[cursor]"][0]
    other_promotion = api.create_promotion()
    other_store = server.api("store-b")
    other_store_promotion, _ = promotion_with_codes(server, other_store, 10_150, prefix="B")
    cases: list[tuple[httpx.Client, str]] = [
        (api.http, f"/v2/promotions/{other_promotion}/codes?page[cursor]={token}"),
        (api.http, f"/v2/promotions/{promotion}/codes?page[cursor]={token}&filter=eq(code,DEEP-000001)"),
        (api.http, f"/v2/promotions?page[cursor]={token}"),
        (api.http, f"/v2/promotions/{promotion}/jobs?page[cursor]={token}"),
        (other_store.http, f"/v2/promotions/{other_store_promotion}/codes?page[cursor]={token}"),
        (other_store.http, link),  # the same URL: another store's caller cannot use it
    ]
    for http, url in cases:
        assert_ep_error(http.get(url), 400, "Bad Request", CURSOR_ERROR, "page[cursor]")


def test_cursor__with_page_offset_or_another_limit_is_400(server: LiveServer) -> None:
    api = server.api()
    promotion, _ = promotion_with_codes(server, api, 10_150)
    link = deep_link(api, promotion)
    assert_ep_error(
        api.http.get(link + "&page[offset]=0"),
        400,
        "Bad Request",
        "give page[offset] or page[cursor], not both",
        "page[cursor]",
    )
    assert_ep_error(
        api.http.get(with_query(link, **{"page[limit]": "50"})),
        400,
        "Bad Request",
        "page[limit] must be 100, the limit the cursor was issued for",
        "page[limit]",
    )
    assert_ep_error(api.http.get(with_query(link, **{"page[limit]": "0"})), 400, source="page[limit]")
    without_limit = link.replace("&page[limit]=100", "")
    assert get_ok(api, without_limit)["meta"]["page"]["limit"] == 100


def test_deep_page__reflects_codes_deleted_before_it_and_never_repeats_one(server: LiveServer) -> None:
    """A cursor seeks after the last code seen, not by counting: codes deleted behind the client neither
    make it skip nor repeat a code, unlike an offset."""
    api = server.api()
    promotion, codes = promotion_with_codes(server, api, 10_300)
    at_10000 = get_ok(api, f"/v2/promotions/{promotion}/codes?page[offset]=10000&page[limit]=100")
    body = {"data": {"type": "promotion_codes", "codes": [{"code": code} for code in codes[:50]]}}
    assert api.http.request("DELETE", f"/v2/promotions/{promotion}/codes", json=body).status_code == 204
    following = get_ok(api, at_10000["links"]["next"])
    assert [code["code"] for code in following["data"]] == codes[10_100:10_200]
    assert following["meta"]["results"]["total"] == 10_250


def copies_of_promotion(server: LiveServer, template: str, count: int, per_creation_time: int) -> list[str]:
    """``template`` and copies of it (of either kind) up to ``count`` promotions, inserted directly, older
    and older with ``per_creation_time`` sharing each creation time; their ids newest first, as listed (the
    id, ascending in insertion order, breaks a tie)."""
    with server.container.database.write() as conn:
        row = conn.execute(select(promotions).where(promotions.c.uuid == template)).one()._asdict()
        del row["id"]
        created = {template: row["created_at"]}
        for index in range(1, count):
            created[str(uuid.uuid4())] = row["created_at"] - index // per_creation_time
        copies = [{**row, "uuid": key, "created_at": at} for key, at in list(created.items())[1:]]
        conn.execute(insert(promotions), copies)
    position = {key: index for index, key in enumerate(created)}
    return sorted(created, key=lambda key: (-created[key], -position[key]))


def test_promotion_list__walking_next_and_prev_past_offset_10000_visits_each_promotion_once(
    server: LiveServer,
) -> None:
    """Promotions seek by (created_at, id), newest first; three at a time share a creation time, so the
    id breaks the tie."""
    api = server.api()
    newest_first = copies_of_promotion(server, api.create_promotion(), 10_250, per_creation_time=3)
    url: str | None = "/v2/promotions?page[limit]=100"
    seen: list[str] = []
    while url is not None:
        body = get_ok(api, url)
        assert body["meta"]["page"]["offset"] == len(seen)
        assert body["meta"]["results"]["total"] == 10_250
        seen += [promotion["id"] for promotion in body["data"]]
        url = body["links"]["next"]
    assert seen == newest_first
    url = get_ok(api, "/v2/promotions?page[limit]=100")["links"]["last"]
    assert url is not None and "page[cursor]" in query_of(url)
    pages: list[list[str]] = []
    while url is not None:
        body = get_ok(api, url)
        pages.append([promotion["id"] for promotion in body["data"]])
        url = body["links"]["prev"]
    assert [key for page in reversed(pages) for key in page] == newest_first
    assert len(pages[0]) == 50


def test_deep_page__seeks_on_the_listing_index_though_ids_interleave_with_another_promotion(
    server: LiveServer,
) -> None:
    """The seek behind a cursor, on each database's executed plan: a promotion's 2,000 codes added in turns
    with another's 20,000 (so the primary key alone cannot seek; PostgreSQL used to walk it from the id
    and throw the neighbour's rows away, ten for each row of the page) are read from ix_codes_promotion
    (promotion_id, id): exactly the page's rows, none filtered out."""
    api = server.api()
    caller = server.container.access.admit(api.http.headers["Authorization"])
    neighbour, promotion = api.create_promotion(), api.create_promotion()
    own: list[str] = []
    for batch in range(10):
        server.container.codes.add(
            caller.store_id, neighbour, [NewCode(f"NB{batch}-{n:05d}") for n in range(2_000)]
        )
        batch_codes = [f"OWN{batch}-{n:04d}" for n in range(200)]
        server.container.codes.add(caller.store_id, promotion, [NewCode(code) for code in batch_codes])
        own += batch_codes
    with server.container.database.read() as conn:
        pk = conn.execute(select(promotions.c.id).where(promotions.c.uuid == promotion)).scalar_one()
        after = conn.execute(
            select(codes.c.id).where(codes.c.promotion_id == pk).order_by(codes.c.id).offset(449).limit(1)
        ).scalar_one()  # 50 codes of the 3rd batch follow, then 2,000 of the neighbour's
        seek = PageRequest(100, 11_000, KeySeek(forward=True, key=(after,), take=100))
        listed = list_codes(conn, caller.store_id, promotion, seek, None)
        assert listed is not None and [row.code for row in listed[0]] == own[450:550]
        query, values = page_query(seek, postgresql=conn.dialect.name == "postgresql")
        params = {"store": caller.store_id, "promotion": promotion, **values}
        if conn.dialect.name == "sqlite":
            plan = " ".join(r.detail for r in conn.execute(text(f"EXPLAIN QUERY PLAN {query}"), params))
            assert "USING INDEX ix_codes_promotion (promotion_id=? AND id>?)" in plan, plan
            return
        conn.execute(text("ANALYZE codes"))
        (tree,) = conn.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {query}"), params).scalar_one()
    nodes, pending = [], [tree["Plan"]]
    while pending:
        nodes.append(pending.pop())
        pending += nodes[-1].get("Plans", [])
    (scan,) = [node for node in nodes if node.get("Relation Name") == "codes"]
    assert scan["Index Name"] == "ix_codes_promotion", tree
    assert scan["Actual Rows"] == 100 and scan.get("Rows Removed by Filter", 0) == 0, tree
