"""Code export jobs through real HTTP and a real worker: the CSV matches the codes the API lists, column
for column; cells cannot become spreadsheet formulas; the file endpoint and its signed, expiring link."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from promojobs.store import export as export_store
from promojobs.store import tasks as task_store
from promojobs.worker import export as export_worker
from tests.support import Api, LiveServer, ep_error, wait_past

MakeServer = Callable[..., LiveServer]

HEADER = "code,uses,max_uses,consume_unit,user,created_at"
INVALID_LINK = ep_error(403, "Forbidden", "The download link is invalid")


def _add(api: Api, promotion: str, *codes: dict[str, Any]) -> None:
    body = {"data": {"type": "promotion_codes", "codes": list(codes)}}
    response = api.http.post(f"/v2/promotions/{promotion}/codes", json=body)
    assert response.status_code == 201, response.text


def _export(api: Api, promotion: str) -> dict[str, Any]:
    response = api.create_job(promotion, "code_export")
    assert response.status_code == 201, response.text
    job = api.wait_for(promotion, response.json()["data"]["id"])
    assert job["status"] == "completed", job
    return job


def _href(api: Api, promotion: str, job_id: str) -> str:
    response = api.file(promotion, job_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["href"]
    return str(body["href"])


def _download(api: Api, promotion: str) -> httpx.Response:
    job = _export(api, promotion)
    response = httpx.get(_href(api, promotion, job["id"]))  # no token: the signed link is the credential
    assert response.status_code == 200, response.text
    return response


RFC3339_MS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def _safe(cell: str) -> str:
    return "'" + cell if cell[:1] in ("=", "+", "-", "@") else cell


def _expected_row(code: dict[str, Any]) -> list[str]:
    def number(name: str) -> str:
        return "" if code.get(name) is None else str(code[name])

    return [
        _safe(code["code"]),
        number("uses"),
        number("max_uses"),
        code["consume_unit"],
        _safe(code.get("user") or ""),
        code["meta"]["timestamps"]["created_at"],
    ]


def test_export_file__equals_the_codes_the_api_lists_column_for_column(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    _add(
        api,
        promotion,
        {"code": "plain-1", "uses": 3, "user": "alice@example.com", "consume_unit": "per_item"},
        {"code": "NoLimit"},
        {"code": "quoted", "user": 'Doe, "Jane"'},
        {"code": "zero", "uses": 0},
    )
    for parameters in (
        {"number_of_codes": 300, "max_uses_per_code": 2, "consume_unit": "per_item", "code_prefix": "X-"},
        {"number_of_codes": 200, "code_length": 12},
    ):
        job = api.generate(promotion, **parameters)
        assert api.wait_for(promotion, job["id"])["status"] == "completed"
    listed = api.all_codes(promotion)
    assert len(listed) == 504

    download = _download(api, promotion)
    assert download.headers["content-type"].startswith("text/csv")
    assert download.text.startswith(HEADER + "\n")
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[0] == HEADER.split(",")
    # The columns follow the code object (docs/compatibility.md); no line order is promised.
    assert sorted(rows[1:]) == sorted(_expected_row(code) for code in listed)
    # And independently of the API's own rendering: the hand-added codes as sent, times as RFC 3339 UTC
    # with milliseconds, generated codes in their format.
    by_code = {row[0]: row for row in rows[1:]}
    assert [by_code[code][3:5] for code in ("plain-1", "NoLimit", "quoted", "zero")] == [
        ["per_item", "alice@example.com"],
        ["per_cart", ""],
        ["per_cart", 'Doe, "Jane"'],
        ["per_cart", ""],
    ]
    assert all(RFC3339_MS.fullmatch(row[5]) for row in rows[1:]), rows[1]
    generated = [row for row in rows[1:] if row[0].startswith("X-")]
    assert len(generated) == 300
    assert all(re.fullmatch(r"X-[0-9A-Z]{4}-[0-9A-Z]{4}", row[0]) for row in generated), generated[0]
    assert {tuple(row[1:4]) for row in generated} == {("2", "2", "per_item")}
    long_codes = [row for row in rows[1:] if re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", row[0])]
    assert len(long_codes) == 200


def test_export_file__ranges_of_ids_interleaved_with_another_promotion_and_mixed_times(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The export reads ranges of ids (store/export.py): with ranges of 7 ids, codes of two promotions
    # added turn by turn (each request its own created_at), many ranges hold several timestamps, some
    # none of this promotion's codes, and the pipeline runs ahead across them. On SQLite the ids are cut
    # into three parts, two of them written by helper processes.
    monkeypatch.setattr(export_store, "RANGE_IDS", 7)
    monkeypatch.setattr(export_store, "SQLITE_MAX_PARTS", 3)
    monkeypatch.setattr(export_store, "SQLITE_MIN_RANGES_PER_PART", 1)
    api = server.api()
    mine, other = api.create_promotion(), api.create_promotion()
    for turn in range(6):
        for promotion in (mine, other):
            _add(
                api, promotion, *({"code": f"{promotion[:4]}-{turn}-{i}", "uses": i} for i in range(turn + 1))
            )
    job = api.generate(mine, 40)
    assert api.wait_for(mine, job["id"])["status"] == "completed"
    for promotion in (mine, other):
        listed = api.all_codes(promotion)
        rows = list(csv.reader(io.StringIO(_download(api, promotion).text)))
        assert sorted(rows[1:]) == sorted(_expected_row(code) for code in listed)
    assert len(listed) == 21


def test_export_file__cells_that_a_spreadsheet_would_run_as_formulas_get_a_leading_quote(
    server: LiveServer,
) -> None:
    api = server.api()
    promotion = api.create_promotion()
    _add(
        api,
        promotion,
        {"code": "-MINUS"},
        {"code": "@AT"},
        {"code": "safe-inside"},
        {"code": "u1", "user": '=HYPERLINK("http://evil.example","x")'},
        {"code": "u2", "user": "+1+2"},
        {"code": "u3", "user": "-3"},
        {"code": "u4", "user": "@SUM(A1)"},
        {"code": "u5", "user": "a=b"},
    )
    prefixed = api.generate(promotion, 5, code_prefix="-P-")
    api.wait_for(promotion, prefixed["id"], "completed")
    rows = list(csv.reader(io.StringIO(_download(api, promotion).text)))[1:]
    by_code = {row[0]: row for row in rows}
    assert {"'-MINUS", "'@AT", "safe-inside"} <= set(by_code)
    users = {row[0]: row[4] for row in rows if row[0].startswith("u")}
    assert users == {
        "u1": '\'=HYPERLINK("http://evil.example","x")',
        "u2": "'+1+2",
        "u3": "'-3",
        "u4": "'@SUM(A1)",
        "u5": "a=b",
    }
    generated = [row[0] for row in rows if row[0].startswith("'-P-")]
    assert len(generated) == 5
    assert not any(row[0][:1] in "=+-@" for row in rows)


def test_export_of_a_promotion_without_codes__is_the_header_alone(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    assert _download(api, promotion).content == (HEADER + "\n").encode()


def test_export_job__snapshots_the_codes_at_its_run_and_later_exports_see_new_codes(
    server: LiveServer,
) -> None:
    api = server.api()
    promotion = api.create_promotion()
    _add(api, promotion, {"code": "FIRST"})
    first = _export(api, promotion)
    _add(api, promotion, {"code": "SECOND"})
    second = _export(api, promotion)
    first_rows = list(csv.reader(io.StringIO(httpx.get(_href(api, promotion, first["id"])).text)))
    second_rows = list(csv.reader(io.StringIO(httpx.get(_href(api, promotion, second["id"])).text)))
    assert [row[0] for row in first_rows[1:]] == ["FIRST"]
    assert [row[0] for row in second_rows[1:]] == ["FIRST", "SECOND"]


def test_file_endpoint__is_422_for_any_job_without_a_file_naming_its_status(make_server: MakeServer) -> None:
    server = make_server(embedded_worker=False)
    api = server.api()

    def no_file(promotion: str, job_id: str, status: str) -> None:
        response = api.file(promotion, job_id)
        assert response.status_code == 422, response.text
        assert response.json() == ep_error(
            422, "Unprocessable Entity", f"Job has no file to download. Job status: {status}"
        )

    pending = api.create_promotion()
    export = api.create_job(pending, "code_export").json()["data"]
    no_file(pending, export["id"], "pending")

    # A worker claims it (and is then gone): the job is processing.
    with server.container.database.write() as conn:
        task = task_store.claim_task(conn, "test-worker", 600_000_000, 4)
        assert task is not None
        task_store.start_job(conn, task.job_id)
    assert api.job(pending, export["id"])["status"] == "processing"
    no_file(pending, export["id"], "processing")

    cancelled = api.create_promotion()
    cancelled_export = api.create_job(cancelled, "code_export").json()["data"]
    assert api.cancel(cancelled, cancelled_export["id"]).json()["data"]["status"] == "cancelled"
    no_file(cancelled, cancelled_export["id"], "cancelled")

    generating = api.create_promotion()
    generate = api.generate(generating, 5)
    no_file(generating, generate["id"], "pending")

    missing = api.file(generating, "00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.json() == ep_error(404, "Not Found", "job not found")


def test_file_endpoint__of_a_completed_generate_job_is_422(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    job = api.wait_for(promotion, api.generate(promotion, 5)["id"])
    response = api.file(promotion, job["id"])
    assert response.status_code == 422
    assert response.json() == ep_error(
        422, "Unprocessable Entity", "Job has no file to download. Job status: completed"
    )


def test_download_link__is_absolute_signed_and_needs_no_token(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    job = _export(api, promotion)
    href = _href(api, promotion, job["id"])
    parts = urlsplit(href)
    assert f"{parts.scheme}://{parts.netloc}" == server.base_url
    assert parts.path == f"/downloads/{job['id']}.csv"
    query = dict(parse_qsl(parts.query))
    assert set(query) == {"expires", "signature"}
    assert 3500 < int(query["expires"]) - time.time() <= 3601  # rounded up to the next second
    # Links are not single-use: the same link works again within its lifetime.
    assert httpx.get(href).status_code == 200
    assert httpx.get(href).status_code == 200
    # A foreign store cannot get a link to the file.
    assert server.api("store-b").file(promotion, job["id"]).status_code == 404


def test_download_link__tampered_or_incomplete_links_are_403(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    _add(api, promotion, {"code": "SECRET"})
    job = _export(api, promotion)
    other_job = _export(api, promotion)
    href = _href(api, promotion, job["id"])
    parts = urlsplit(href)
    query = dict(parse_qsl(parts.query))
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    flipped = query["signature"][:-1] + ("0" if query["signature"][-1] != "0" else "1")

    def link(path: str = base, **params: str) -> str:
        return f"{path}?{urlencode(params)}" if params else path

    tampered = [
        link(expires=query["expires"], signature=flipped),
        link(expires=str(int(query["expires"]) + 1), signature=query["signature"]),
        link(expires=str(int(query["expires"]) + 86_400 * 365), signature=query["signature"]),
        link(expires="abc", signature=query["signature"]),
        link(expires="\u00b2", signature=query["signature"]),
        link(expires="\u0663" * 10, signature=query["signature"]),
        link(expires=query["expires"], signature="\u00e9" * 64),
        link(expires=query["expires"], signature=""),
        link(expires=query["expires"], signature=query["signature"].upper()),
        link(expires=query["expires"]),
        link(signature=query["signature"]),
        link(),
        link(base.replace(job["id"], other_job["id"]), **query),
    ]
    for url in tampered:
        response = httpx.get(url)
        assert response.status_code == 403, url
        assert response.json() == INVALID_LINK, url
        assert "SECRET" not in response.text
    assert httpx.get(href).status_code == 200


def test_download_link__expires_after_its_lifetime(make_server: MakeServer) -> None:
    server = make_server(download_link_seconds=1)
    api = server.api()
    promotion = api.create_promotion()
    job = _export(api, promotion)
    href = _href(api, promotion, job["id"])
    wait_past(int(dict(parse_qsl(urlsplit(href).query))["expires"]))
    response = httpx.get(href)
    assert response.status_code == 403
    assert response.json() == ep_error(403, "Forbidden", "The download link has expired")
    # A fresh link works again.
    assert httpx.get(_href(api, promotion, job["id"])).status_code == 200


def test_download_link__of_a_deleted_promotion_no_longer_serves_the_file(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    _add(api, promotion, {"code": "GONE"})
    job = _export(api, promotion)
    href = _href(api, promotion, job["id"])
    assert api.http.delete(f"/v2/promotions/{promotion}").status_code == 204
    response = httpx.get(href)
    assert response.status_code == 403
    assert response.json()["errors"][0]["title"] == "Forbidden"
    assert "GONE" not in response.text


def test_export_job__result_exported_counts_the_rows_as_they_are_written_and_in_the_file(
    make_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A heartbeat after every piece of the CSV (the embedded worker runs in this process), and a record of
    # each progress the worker writes to the job, through the real store function.
    monkeypatch.setattr(export_worker, "HEARTBEAT_SECONDS", 0)
    written: list[int] = []
    real_set_exported = task_store.set_exported

    def recording(conn: Any, job_id: int, rows: int) -> None:
        written.append(rows)
        real_set_exported(conn, job_id, rows)

    monkeypatch.setattr(task_store, "set_exported", recording)
    server = make_server(chunk_size=5_000)
    api = server.api()
    promotion = api.create_promotion()
    assert api.wait_for(promotion, api.generate(promotion, 20_000)["id"])["status"] == "completed"
    _add(api, promotion, {"code": "BY-HAND"})

    job = _export(api, promotion)
    assert job["result"] == {"exported": 20_001}
    assert api.list_jobs(promotion, filter="eq(job_type,code_export)").json()["data"][0] == job
    # Counts recorded while the job ran: growing, some of them partial, never past the final one.
    assert written == sorted(written) and written[-1] <= 20_001
    assert any(0 < rows < 20_001 for rows in written), written
    download = httpx.get(_href(api, promotion, job["id"]))
    assert download.text.count("\n") == 20_001 + 1  # the header and each code

    empty = api.create_promotion()
    assert _export(api, empty)["result"] == {"exported": 0}


def test_download_link__head_answers_like_get_without_the_body(server: LiveServer) -> None:
    api = server.api()
    promotion = api.create_promotion()
    _add(api, promotion, {"code": "HEAD-1"}, {"code": "HEAD-2"})
    href = _href(api, promotion, _export(api, promotion)["id"])
    got, head = httpx.get(href), httpx.head(href)
    assert got.status_code == head.status_code == 200
    assert head.content == b""
    for name in ("content-type", "content-length", "content-disposition", "etag", "last-modified"):
        assert head.headers[name] == got.headers[name], name
    assert int(head.headers["content-length"]) == len(got.content) > 0
    # A bad link is refused the same way with HEAD, without a body either.
    parts = urlsplit(href)
    tampered = (
        f"{parts.scheme}://{parts.netloc}{parts.path}?{parts.query.replace('signature=', 'signature=0')}"
    )
    assert httpx.get(tampered).status_code == httpx.head(tampered).status_code == 403
    assert httpx.head(tampered).content == b""
