"""The console's HTTP surface without a browser, on both backends: cookies, CSRF, store isolation, the
keyspace verdict, the event stream and rule promotions (their own /console/rule-promotions pages);
tests/console drives the same pages in Chromium."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support import LiveServer

_opened: list[httpx.Client] = []


def _client(server: LiveServer, **options: Any) -> httpx.Client:
    client = httpx.Client(base_url=server.base_url, timeout=60, **options)
    _opened.append(client)
    return client


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().close()


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text)
    assert found, page.text
    return found.group(1)


def _signed_in(server: LiveServer, store: str = "store-a") -> httpx.Client:
    client = server.container.auth.create_client(store)
    browser = _client(server)
    login = browser.get("/console/login")
    form = {"csrf_token": _csrf(login), "client_id": client.client_id, "client_secret": client.client_secret}
    response = browser.post("/console/login", data=form)
    assert response.status_code == 303 and response.headers["location"] == "/console/promotions"
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and "pj_session" in v)
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert "Max-Age=3600" in cookie and "Secure" not in cookie  # plain http: Secure only over https
    return browser


def test_sign_in__wrong_secret_shows_the_api_error_and_sets_no_session(server: LiveServer) -> None:
    client = server.container.auth.create_client("store-a")
    browser = _client(server)
    form = {
        "csrf_token": _csrf(browser.get("/console/login")),
        "client_id": client.client_id,
        "client_secret": "no",
    }
    response = browser.post("/console/login", data=form)
    assert response.status_code == 401
    assert "Unauthorized: Invalid client credentials" in response.text
    assert "pj_session" not in browser.cookies
    assert "no" not in re.findall(r'value="([^"]*)"', response.text)  # the secret is not echoed back


def test_forms__refused_without_a_valid_csrf_token(server: LiveServer) -> None:
    browser = _signed_in(server)
    page = browser.get("/console/promotions")
    token = _csrf(page)
    fields = {"name": "Forged", "amount": "100", "currency": "USD", "promotion_type": "fixed_discount"}
    for form in (fields, {**fields, "csrf_token": "0" * 64}, {**fields, "csrf_token": token + "0"}):
        refused = browser.post("/console/promotions", data=form)
        assert refused.status_code == 403 and "security token" in refused.text
    other = _signed_in(server, "store-a")  # another session's token does not verify against this one
    assert other.post("/console/promotions", data={**fields, "csrf_token": token}).status_code == 403
    assert "Forged" not in browser.get("/console/promotions").text
    created = browser.post("/console/promotions", data={**fields, "csrf_token": token})
    assert created.status_code == 303 and "Forged" in browser.get("/console/promotions").text


def test_another_stores_promotion__not_found_in_every_console_route(server: LiveServer) -> None:
    theirs = server.api("store-b").create_promotion(name="Theirs")
    job = server.api("store-b").generate(theirs, 10)["id"]
    _not_found_in_every_route(_signed_in(server), f"/console/promotions/{theirs}", job, "Theirs")
    assert server.api("store-b").job(theirs, job)["status"] != "cancelled"


def _not_found_in_every_route(browser: httpx.Client, page_path: str, job: str, name: str) -> None:
    assert name not in browser.get("/console/promotions").text
    page = browser.get(page_path)
    assert page.status_code == 404 and "promotion not found" in page.text
    token = _csrf(browser.get("/console/promotions"))
    for path in ("generate", "export", f"jobs/{job}/cancel"):
        response = browser.post(f"{page_path}/{path}", data={"csrf_token": token, "count": "5"})
        assert response.status_code == 404, (path, response.text)
    assert browser.get(f"{page_path}/jobs/{job}/download").status_code == 404
    events = browser.get(f"{page_path}/jobs/{job}/events")
    assert "event: failure" in events.text and "promotion not found" in events.text


def test_keyspace_verdict__the_api_rule_before_submitting(server: LiveServer) -> None:
    browser = _signed_in(server)
    promotion = server.api().create_promotion()
    path = f"/console/promotions/{promotion}/keyspace"
    fits = browser.get(path, params={"count": "200000", "prefix": "SUM-", "length": "8"}).json()
    assert fits == {
        "fits": True,
        "message": "200,000 codes fit: each is 13 characters long, like SUM-XXXX-XXXX.",
        "example": "SUM-XXXX-XXXX",
        "chars": 13,
    }
    too_many = browser.get(path, params={"count": "2000000", "prefix": "", "length": "8"}).json()
    assert not too_many["fits"] and too_many["message"].endswith("Use code_length 9 or more.")
    submitted = server.api().create_job(
        promotion, parameters={"number_of_codes": 2_000_000, "code_length": 8}
    )
    assert submitted.json()["errors"][0]["detail"] == too_many["message"]  # word for word the API's refusal
    for query, words in (
        ({"count": "ten", "length": "8"}, "Number of codes must be a whole number."),
        ({"count": "10", "length": "7"}, "code_length must be from 8 to 16, got 7"),
        ({"count": "10", "length": "8", "prefix": "bad prefix"}, "code_prefix may only contain"),
    ):
        verdict = browser.get(path, params=query).json()
        assert not verdict["fits"] and words in verdict["message"], verdict


def test_generate_and_events__the_stream_reports_each_change_until_the_job_ends(server: LiveServer) -> None:
    browser = _signed_in(server)
    promotion = server.api().create_promotion()
    token = _csrf(browser.get(f"/console/promotions/{promotion}"))
    started = browser.post(
        f"/console/promotions/{promotion}/generate",
        data={
            "csrf_token": token,
            "count": "5,000",
            "prefix": "EV-",
            "length": "8",
            "consume_unit": "per_item",
        },
    )
    assert started.status_code == 303, started.text
    job = server.api().list_jobs(promotion).json()["data"][0]
    assert job["parameters"] == {
        "number_of_codes": 5000,
        "consume_unit": "per_item",
        "code_length": 8,
        "code_prefix": "EV-",
    }
    with browser.stream("GET", f"/console/promotions/{promotion}/jobs/{job['id']}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
    assert events[-1]["status"] == "completed" and events[-1]["final"]
    assert events[-1]["counts"] == "5,000 of 5,000 codes (100 %)" and events[-1]["value"] == 5000
    values = [event["value"] for event in events]
    assert values == sorted(values)
    refused = browser.post(
        f"/console/promotions/{promotion}/generate", data={"csrf_token": token, "count": "0"}
    )
    assert refused.status_code == 400 and "number_of_codes must be" in refused.text  # the API's words


def test_signing_out_and_a_dead_token__end_the_session(server: LiveServer) -> None:
    browser = _signed_in(server)
    token = _csrf(browser.get("/console/promotions"))
    out = browser.post("/console/logout", data={"csrf_token": token})
    assert out.status_code == 303 and "pj_session" not in browser.cookies
    assert browser.get("/console/promotions").headers["location"] == "/console/login"
    stale = _client(server, cookies={"pj_session": "f" * 40})
    ended = stale.get("/console/promotions")
    assert ended.status_code == 303 and ended.headers["location"] == "/console/login?ended=1"
    assert stale.get("/console/static/console.js").status_code == 200
    assert stale.get("/console/static/../app.py").status_code == 404


_RULE_FORM = {
    "kind": "rule",
    "name": "Rule ten off",
    "description": "",
    "amount": "1000",
    "currency": "EUR",
    "start": "2026-01-01",
    "end": "2030-01-01",
    "enabled": "on",
}


def _rule_promotion(server: LiveServer, store: str) -> tuple[httpx.Client, str]:
    """An API client of the store and one rule promotion of it."""
    http = server.http(server.token(store))
    fields = {"type": "rule_promotion", "name": "Their rule", "start": "2026-01-01", "end": "2030-01-01"}
    rule_set = {"actions": [{"strategy": "cart_discount", "args": ["fixed", 100]}]}
    body = {"data": {**fields, "enabled": True, "rule_set": rule_set}}
    created = http.post("/v2/rule-promotions", json=body)
    assert created.status_code == 201, created.text
    return http, str(created.json()["data"]["id"])


def _final_event(browser: httpx.Client, path: str) -> dict[str, Any]:
    with browser.stream("GET", path) as stream:
        events = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
    assert events and events[-1]["final"], events
    return dict(events[-1])


def test_rule_promotion__create_list_page_generate_export_and_download(server: LiveServer) -> None:
    browser = _signed_in(server)
    token = _csrf(browser.get("/console/promotions"))
    missing_end = browser.post("/console/promotions", data={**_RULE_FORM, "end": "", "csrf_token": token})
    assert missing_end.status_code == 400 and "end is required" in missing_end.text  # the API's words
    created = browser.post("/console/promotions", data={**_RULE_FORM, "csrf_token": token})
    assert created.status_code == 303, created.text
    page_path = created.headers["location"].split("?")[0]
    assert page_path.startswith("/console/rule-promotions/")
    rule_id = page_path.rsplit("/", 1)[1]
    http = server.http(server.token("store-a"))
    stored = http.get(f"/v2/rule-promotions/{rule_id}").json()["data"]
    assert stored["rule_set"] == {
        "currencies": ["EUR"],
        "actions": [{"strategy": "cart_discount", "args": ["fixed", 1000]}],
    }
    assert browser.get(f"/console/promotions/{rule_id}").status_code == 404  # no crossing of kinds

    page = browser.get(page_path)
    assert page.status_code == 200 and "Rule ten off" in page.text
    units = re.findall(r"<option [^>]*>(per_\w+)</option>", page.text)
    assert units == ["per_application", "per_checkout"]
    assert "<option selected>per_checkout</option>" in page.text  # the rule kind's default
    assert f'action="{page_path}/generate"' in page.text and f'action="{page_path}/export"' in page.text
    fits = browser.get(f"{page_path}/keyspace", params={"count": "25", "prefix": "RU-", "length": "8"})
    assert fits.json()["fits"] and fits.json()["example"] == "RU-XXXX-XXXX"

    started = browser.post(
        f"{page_path}/generate",
        data={"csrf_token": token, "count": "25", "prefix": "RU-", "consume_unit": "per_application"},
    )
    assert started.status_code == 303
    assert started.headers["location"] == f"{page_path}?notice=generate#progress"
    job = http.get(f"/v2/rule-promotions/{rule_id}/jobs").json()["data"][0]
    assert job["parameters"]["consume_unit"] == "per_application"
    assert job["parameters"]["number_of_codes"] == 25
    final = _final_event(browser, f"{page_path}/jobs/{job['id']}/events")
    assert final["status"] == "completed" and final["counts"] == "25 of 25 codes (100 %)"

    listing = browser.get("/console/promotions").text
    row = rf'href="{page_path}">Rule ten off</a></td>\s*<td>Rule</td>.*?<td class="num">25</td>'
    assert re.search(row, listing, re.S), listing
    filtered = browser.get(page_path, params={"type": "code_generate", "status": "completed"})
    assert f'id="status-{job["id"]}">completed' in filtered.text and "25 codes" in filtered.text
    assert "No jobs match." in browser.get(page_path, params={"type": "code_export"}).text
    code = http.get(f"/v2/rule-promotions/{rule_id}/codes").json()["data"][0]["code"]
    found = browser.get(page_path, params={"code": code.lower()})
    assert f'<td class="mono">{code}</td>' in found.text and "1 code<" in found.text

    exported = browser.post(f"{page_path}/export", data={"csrf_token": token})
    assert exported.status_code == 303
    completed_exports = http.get(
        f"/v2/rule-promotions/{rule_id}/jobs", params={"filter": "eq(job_type,code_export)"}
    ).json()["data"]
    export_id = completed_exports[0]["id"]
    assert _final_event(browser, f"{page_path}/jobs/{export_id}/events")["downloadable"]
    assert f'href="{page_path}/jobs/{export_id}/download"' in browser.get(page_path).text
    download = browser.get(f"{page_path}/jobs/{export_id}/download")
    assert download.status_code == 303
    csv_file = httpx.get(httpx.URL(server.base_url).join(download.headers["location"]), timeout=60)
    lines = csv_file.text.strip().splitlines()
    assert lines[0] == "code,uses,max_uses,consume_unit,user,created_at" and len(lines) == 26
    assert all(line.startswith("RU-") and ",per_application," in line for line in lines[1:])


def test_another_stores_rule_promotion__not_found_in_every_console_route(server: LiveServer) -> None:
    theirs_http, theirs = _rule_promotion(server, "store-b")
    parameters = {"number_of_codes": 10}
    body = {"data": {"type": "promotion_job", "job_type": "code_generate", "parameters": parameters}}
    job = theirs_http.post(f"/v2/rule-promotions/{theirs}/jobs", json=body).json()["data"]["id"]
    _not_found_in_every_route(_signed_in(server), f"/console/rule-promotions/{theirs}", job, "Their rule")
    status = theirs_http.get(f"/v2/rule-promotions/{theirs}/jobs/{job}").json()["data"]["status"]
    assert status != "cancelled"
