"""Pages past ``page[offset]``'s limit of 10,000 on the rule promotion lists: the codes list seeks by id in
its default order (creation), so a client walking ``links.next`` reaches the end; with ``sort=code``/``-code``
(no index in code order) it pages by offset only and links nothing past the limit; a cursor is valid only
with the filter it was issued for and never with a sort; the rule job list never emits a link the server
refuses; the rule promotion list seeks. Real HTTP, both backends; the seek itself is checked on each
database's query plan."""

from __future__ import annotations

import random
import re
import uuid
from typing import Any

import pytest
from psycopg.sql import Literal
from sqlalchemy import Connection, Select, insert, select, text

from promojobs.api.routes.rule_promotions import SORTED_CURSOR_ERROR
from promojobs.domain.pagination import KeySeek, PageRequest
from promojobs.services.rule_promotions import NewRuleCode
from promojobs.store.rule_codes import rule_code_page
from promojobs.store.schema import codes, jobs, promotions
from tests.api.rule_support import BASE, create_id, create_job, wait_for
from tests.api.test_deep_pages import CURSOR_ERROR, copies_of_promotion, get_ok, query_of
from tests.api.test_errors import assert_ep_error
from tests.support import Api, LiveServer

GENERATED = re.compile(r"RP[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}")


def hand_added_codes(count: int) -> list[str]:
    """``count`` distinct codes in a creation order unlike their code order, in mixed case (the code order
    is case-insensitive). One shape (``RP0123-4567``, as generated codes with prefix ``RP``), so any
    database collation orders them as Python orders their upper case."""
    rng = random.Random(14)
    numbers = list(range(count))
    rng.shuffle(numbers)
    return [f"{rng.choice(('rp', 'Rp', 'rP', 'RP'))}{n // 10_000:04d}-{n % 10_000:04d}" for n in numbers]


def add_by_hand(server: LiveServer, api: Api, promotion: str, code_list: list[str]) -> None:
    """Through the rule code service in one transaction (the HTTP route would take hundreds of requests);
    every seventh code per_application, the others per_checkout."""
    caller = server.container.access.admit(api.http.headers["Authorization"])
    units = ("per_application", *("per_checkout",) * 6)
    new = [NewRuleCode(code, consume_unit=units[index % 7]) for index, code in enumerate(code_list)]
    server.container.rule_codes.add(caller.store_id, promotion, new)


def walk_next(api: Api, url: str | None, total: int) -> tuple[list[str], int, set[str]]:
    """Every code met following ``links.next`` from ``url`` until it is null, how many pages had a cursor,
    and every link the pages emitted."""
    seen: list[str] = []
    cursor_pages = 0
    emitted: set[str] = set()
    while url is not None:
        body = get_ok(api, url)
        page = body["meta"]["page"]
        assert page["offset"] == len(seen) and page["total"] == -(-total // page["limit"])
        assert body["meta"]["results"] == {"total": total}
        seen += [code["code"] for code in body["data"]]
        cursor_pages += "page[cursor]" in query_of(url)
        emitted |= {link for link in body["links"].values() if link is not None}
        url = body["links"]["next"]
    return seen, cursor_pages, emitted


def by_code(code_list: list[str]) -> list[str]:
    return sorted(code_list, key=str.upper)


@pytest.mark.slow
def test_rule_codes__next_visits_all_30000_codes_in_creation_order_and_10100_sorted_by_code(
    server: LiveServer,
) -> None:
    api = server.api()
    promotion = create_id(api)
    by_hand = hand_added_codes(5_000)
    add_by_hand(server, api, promotion, by_hand)
    parameters = {"number_of_codes": 25_000, "code_prefix": "RP", "consume_unit": "per_application"}
    job = create_job(api, promotion, parameters=parameters)
    assert job.status_code == 201, job.text
    assert wait_for(api, promotion, job.json()["data"]["id"])["result"] == {"generated": 25_000}

    created, cursor_pages, _ = walk_next(api, f"{BASE}/{promotion}/codes?page[limit]=100", 30_000)
    assert created[:5_000] == by_hand  # creation order, then the job's codes
    assert all(GENERATED.fullmatch(code) for code in created[5_000:])
    assert len({code.upper() for code in created}) == 30_000  # each code exactly once
    assert cursor_pages == 199  # offsets 10,100 .. 29,900: every page past 10,000 was found by key

    # In code order (no index: by offset only) next is null past offset 10,000, not a link refused.
    url = f"{BASE}/{promotion}/codes?sort=-code&page[limit]=100"
    descending, cursor_pages, emitted = walk_next(api, url, 30_000)
    assert descending == by_code(created)[::-1][:10_100]  # offsets 0 .. 10,000
    assert cursor_pages == 0
    for link in emitted:
        assert query_of(link)["sort"] == ["-code"] and "page[cursor]" not in query_of(link), link
        assert api.http.get(link).status_code == 200, link

    for sort, expected in (("", created), ("code", by_code(created)), ("-code", by_code(created)[::-1])):
        first = get_ok(api, f"{BASE}/{promotion}/codes?sort={sort}&page[limit]=70".replace("sort=&", ""))
        assert [code["code"] for code in first["data"]] == expected[:70]
        assert query_of(first["links"]["next"]).get("sort", [""]) == [sort]
        last_url = first["links"]["last"]
        if sort:
            assert last_url is None  # offset 29,960: past the limit
            continue
        assert "sort" not in query_of(last_url) and "page[cursor]" in query_of(last_url)
        last = get_ok(api, last_url)
        assert [code["code"] for code in last["data"]] == expected[29_960:]  # 428 pages of 70, then 40
        assert last["meta"]["page"] == {"limit": 70, "offset": 29_960, "current": 429, "total": 429}
        assert last["links"]["next"] is None
        previous = get_ok(api, last["links"]["prev"])
        assert [code["code"] for code in previous["data"]] == expected[29_890:29_960]


def deep_rule_link(api: Api, promotion: str, query: str = "") -> str:
    """The ``next`` link of the page at offset 10,000: the first one that must carry a cursor."""
    body = get_ok(api, f"{BASE}/{promotion}/codes?page[offset]=10000&page[limit]=100{query}")
    link = body["links"]["next"]
    assert link is not None and "page[cursor]" in query_of(link), body["links"]
    return str(link)


def test_rule_codes__a_cursor_keeps_its_filter_and_is_refused_elsewhere_and_with_a_sort(
    server: LiveServer,
) -> None:
    api = server.api()
    promotion = create_id(api)
    code_list = hand_added_codes(10_150)
    add_by_hand(server, api, promotion, code_list)
    other = create_id(api, name="other")
    default = deep_rule_link(api, promotion)
    assert "sort" not in query_of(default)
    assert [code["code"] for code in get_ok(api, default)["data"]] == code_list[10_100:]
    token = query_of(default)["page[cursor]"][0]
    for sort in ("code", "-code"):
        response = api.http.get(f"{BASE}/{promotion}/codes?page[cursor]={token}&sort={sort}")
        assert_ep_error(response, 400, "Bad Request", SORTED_CURSOR_ERROR, "page[cursor]")
    refused = [
        f"{BASE}/{promotion}/codes?page[cursor]={token}&filter=gt(code,RP0000-0001)",
        f"{BASE}/{other}/codes?page[cursor]={token}",
        f"{BASE}/{promotion}/jobs?page[cursor]={token}",
        f"{BASE}?page[cursor]={token}",
        f"/v2/promotions/{promotion}/codes?page[cursor]={token}",
    ]
    for url in refused:
        assert_ep_error(api.http.get(url), 400, "Bad Request", CURSOR_ERROR, "page[cursor]")
    assert get_ok(api, f"{BASE}/{promotion}/codes?page[cursor]={token}")["meta"]["page"]["offset"] == 10_100

    matching = [code for code in code_list if code.upper() > "RP0000-0009"]
    assert len(matching) == 10_140
    filtered = deep_rule_link(api, promotion, "&filter=gt(code,rp0000-0009)")
    assert query_of(filtered)["filter"] == ["gt(code,rp0000-0009)"]
    body = get_ok(api, filtered)
    assert [code["code"] for code in body["data"]] == matching[10_100:]
    assert body["meta"]["results"] == {"total": 10_140}
    assert body["links"]["next"] is None
    assert [code["code"] for code in get_ok(api, body["links"]["prev"])["data"]] == matching[10_000:10_100]

    # Sorted by code, the page at offset 10,000 is served by offset; nothing past it is linked.
    url = f"{BASE}/{promotion}/codes?page[offset]=10000&page[limit]=100&sort=code&filter=gt(code,rp0000-0009)"
    body = get_ok(api, url)
    assert [code["code"] for code in body["data"]] == by_code(matching)[10_000:10_100]
    assert body["meta"]["results"] == {"total": 10_140}
    assert body["links"]["next"] is None and body["links"]["last"] is None
    for link in (body["links"]["current"], body["links"]["first"], body["links"]["prev"]):
        assert query_of(link)["sort"] == ["code"] and query_of(link)["filter"] == ["gt(code,rp0000-0009)"]
    assert_links_answer(api, body["links"])
    previous = get_ok(api, body["links"]["prev"])
    assert [code["code"] for code in previous["data"]] == by_code(matching)[9_900:10_000]


_PYFORMAT = re.compile(r"%\((\w+)\)s")  # psycopg's named placeholder


def plan_of(conn: Connection, statement: Select[Any], *, generic: bool = False) -> tuple[str, list[Any]]:
    """SQLite's query plan as text, or PostgreSQL's executed plan (EXPLAIN ANALYZE) and its nodes, for the
    statement with its values bound as parameters, as the list runs it. ``generic``: PostgreSQL's plan for
    any values, the one a statement prepared after a few runs may keep (psycopg prepares repeated ones)."""
    compiled = statement.compile(conn)
    if conn.dialect.name == "sqlite":
        positional = tuple(compiled.params[name] for name in compiled.positiontup or ())
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", positional)
        return "\n".join(row.detail for row in rows), []
    conn.execute(text("ANALYZE codes"))
    if not generic:
        explain = f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}"
        (plan,) = conn.exec_driver_sql(explain, compiled.params).scalar_one()
    else:
        names: list[str] = []

        def numbered(match: re.Match[str]) -> str:
            names.append(match.group(1))
            return f"${len(names)}"

        conn.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        conn.exec_driver_sql("PREPARE page_plan AS " + _PYFORMAT.sub(numbered, str(compiled)))
        # EXECUTE's arguments cannot be bound parameters under EXPLAIN: quoted by psycopg instead.
        raw = conn.connection.dbapi_connection
        arguments = ", ".join(Literal(compiled.params[name]).as_string(raw) for name in names)  # type: ignore[arg-type]
        explain = f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE page_plan({arguments})"
        (plan,) = conn.exec_driver_sql(explain).scalar_one()
        conn.execute(text("DEALLOCATE page_plan"))
    nodes = []
    pending = [plan["Plan"]]
    while pending:
        node = pending.pop()
        nodes.append(node)
        pending += node.get("Plans", [])
    return str(plan), nodes


def test_rule_codes__a_deep_page_reads_only_its_rows_from_the_listing_index(server: LiveServer) -> None:
    """The seek behind a creation-order cursor, on each database's plan: SQLite searches
    ix_codes_promotion (promotion_id, id) from the id; PostgreSQL's executed plan reads exactly the
    page's 100 rows from that index, none filtered out; each sorts nothing but those 100. The promotion's
    3,000 codes were added in turns with another promotion's 30,000 (ids interleaved, so the primary key
    alone cannot seek); both with the values bound as the list runs it, and in the generic plan a prepared
    statement may keep."""
    api = server.api()
    store_id = server.container.access.admit(api.http.headers["Authorization"]).store_id
    neighbour, promotion = create_id(api, name="neighbour"), create_id(api)
    own = hand_added_codes(3_000)
    for batch in range(10):
        add_by_hand(server, api, neighbour, [f"NB{batch:04d}-{n:04d}" for n in range(3_000)])
        add_by_hand(server, api, promotion, own[batch * 300 : batch * 300 + 300])
    with server.container.database.read() as conn:
        pk = conn.execute(select(promotions.c.id).where(promotions.c.uuid == promotion)).scalar_one()
        ids = conn.execute(
            select(codes.c.id).where(codes.c.promotion_id == pk).order_by(codes.c.id)
        ).scalars()
        after = list(ids)[1_449]  # 50 codes of the 5th batch follow, then 3,000 of the other promotion
        seek = PageRequest(100, 11_300, KeySeek(forward=True, key=(after,), take=100))
        postgresql = conn.dialect.name == "postgresql"
        statement = rule_code_page(
            store_id, promotion, seek, equals=None, greater=None, descending=None, postgresql=postgresql
        )
        assert [row.code for row in conn.execute(statement)] == own[1_450:1_550]
        plan, nodes = plan_of(conn, statement)
        if conn.dialect.name == "sqlite":
            assert "SEARCH codes USING INDEX ix_codes_promotion (promotion_id=? AND id>?)" in plan, plan
            assert plan.count("TEMP B-TREE") <= 1, plan  # the page's 100 rows put in order, nothing more
            return
        for plan, nodes in (plan_of(conn, statement), plan_of(conn, statement, generic=True)):
            scans = [node for node in nodes if node.get("Relation Name") == "codes"]
            assert len(scans) == 1 and scans[0]["Index Name"] == "ix_codes_promotion", plan
            assert scans[0]["Actual Rows"] == 100 and scans[0].get("Rows Removed by Filter", 0) == 0, plan
            # Only the page is ever sorted (into order after a backward read), never the promotion's codes.
            assert all(node["Actual Rows"] <= 100 for node in nodes if node["Node Type"] == "Sort"), plan


def assert_links_answer(api: Api, links: dict[str, str | None]) -> None:
    """Every link a page emits is one the server answers."""
    for name, url in links.items():
        if url is not None:
            assert api.http.get(url).status_code == 200, f"links.{name}: {url}"


def test_rule_jobs__past_offset_10000_no_link_is_emitted_that_the_server_refuses(server: LiveServer) -> None:
    """The job list does not seek (a promotion rarely has 10,000 jobs): past the limit its links are null,
    never a link answered 400."""
    api = server.api()
    promotion = create_id(api)
    job_id = create_job(api, promotion, parameters={"number_of_codes": 1}).json()["data"]["id"]
    wait_for(api, promotion, job_id)
    with server.container.database.write() as conn:
        row = conn.execute(select(jobs).where(jobs.c.uuid == job_id)).one()._asdict()
        del row["id"]
        copies = [
            {**row, "uuid": str(uuid.uuid4()), "created_at": row["created_at"] - n, "idempotency_key": None}
            for n in range(1, 10_250)
        ]
        conn.execute(insert(jobs), copies)
    url: str | None = f"{BASE}/{promotion}/jobs?page[offset]=9800&page[limit]=100"
    offsets = []
    while url is not None:
        body = get_ok(api, url)
        assert body["meta"]["results"]["total"] == 10_250
        assert_links_answer(api, body["links"])
        offsets.append(body["meta"]["page"]["offset"])
        url = body["links"]["next"]
    assert offsets == [9_800, 9_900, 10_000]  # next is null past the limit: nothing beyond it is linked
    first = get_ok(api, f"{BASE}/{promotion}/jobs?page[limit]=100&filter=eq(status,completed)")
    assert first["links"]["last"] is None and first["links"]["next"] is not None
    assert_links_answer(api, first["links"])


def test_rule_promotions__walking_next_and_last_past_offset_10000_reach_the_end(server: LiveServer) -> None:
    """Rule promotions seek by (created_at, id), newest first, like standard ones; two at a time share a
    creation time."""
    api = server.api()
    newest_first = copies_of_promotion(server, create_id(api), 10_150, per_creation_time=2)
    url: str | None = f"{BASE}?page[offset]=9800&page[limit]=100"
    seen: list[str] = []
    while url is not None:
        body = get_ok(api, url)
        assert body["meta"]["page"]["offset"] == 9_800 + len(seen)
        assert body["meta"]["results"]["total"] == 10_150
        seen += [promotion["id"] for promotion in body["data"]]
        url = body["links"]["next"]
    assert seen == newest_first[9_800:]  # through offset 10,000, then by cursor to the end
    last_url = get_ok(api, f"{BASE}?page[limit]=100")["links"]["last"]
    assert last_url is not None and "page[cursor]" in query_of(last_url)
    last = get_ok(api, last_url)
    assert [promotion["id"] for promotion in last["data"]] == newest_first[10_100:]
    assert last["links"]["next"] is None
    previous = get_ok(api, last["links"]["prev"])
    assert [promotion["id"] for promotion in previous["data"]] == newest_first[10_000:10_100]
