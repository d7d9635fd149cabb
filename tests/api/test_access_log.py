"""The access log names each request by its raw path without the query string (download signatures never
reach logs), cannot be forged by what a path contains, logs a client that hung up as 499, and can be JSON."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.served import start_serve
from tests.support import LiveServer


def test_access_log__records_requests_but_never_a_download_signature(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    api = server.api()
    promotion = api.create_promotion()
    export = api.create_job(promotion, "code_export").json()["data"]["id"]
    api.wait_for(promotion, export, "completed")
    href = api.file(promotion, export).json()["href"]
    with caplog.at_level(logging.INFO, logger="promojobs.access"):
        assert httpx.get(href).status_code == 200
        assert httpx.get(href + "0").status_code == 403
    lines = [record.getMessage() for record in caplog.records if record.name == "promojobs.access"]
    assert any(f"/downloads/{export}.csv" in line and " 200 " in line for line in lines)
    assert any(" 403 " in line for line in lines)
    signature = href.split("signature=")[1]
    assert not any("signature" in line or signature in line for line in lines)


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "promojobs.access"]


def test_access_log__a_percent_encoded_line_break_in_the_path_cannot_forge_a_line(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    forged = '2026-01-01 00:00:00,000 INFO promojobs.access: 10.0.0.1 "DELETE /v2/promotions/x" 204 1.0ms'
    path = "/v2/promotions/x%0A" + quote(forged) + "%0D%0A%1B%5B31m%22"
    with caplog.at_level(logging.INFO, logger="promojobs.access"):
        assert httpx.get(server.base_url + path).status_code in (401, 404)
    (line,) = [line for line in _access_lines(caplog) if "/v2/promotions/x" in line]
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert "/v2/promotions/x%0A2026-01-01%2000" in line  # the raw path, as sent
    assert line.endswith("ms") and '"GET /v2/promotions/x%0A' in line


def test_client_that_hangs_up_mid_body__is_logged_as_499_never_500(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    host, port = server.base_url.removeprefix("http://").split(":")
    with caplog.at_level(logging.INFO, logger="promojobs.access"):
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(
                b"POST /oauth/access_token HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant"
            )
            # Closed with the head and part of the body sent: the server reads both before the end.
        _wait_for(lambda: any("/oauth/access_token" in line for line in _access_lines(caplog)))
    (line,) = [line for line in _access_lines(caplog) if "/oauth/access_token" in line]
    assert '"POST /oauth/access_token" 499 ' in line


def _wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition never held")
        time.sleep(0.01)


def test_log_format_json__every_line_is_one_json_object_and_the_access_fields_are_keys(
    database_url: str, tmp_path: Path
) -> None:
    served = start_serve(database_url, tmp_path / "data", {"log_format": "json"}, worker=False)
    try:
        assert httpx.get(f"{served.base_url}/v2/promotions/x%0Ay", timeout=30).status_code == 401
    finally:
        served.stop()
    lines = [line for line in served.log().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line, uvicorn's own included
    assert all({"time", "level", "logger", "message"} <= set(record) for record in records)
    (access,) = [r for r in records if r["logger"] == "promojobs.access" and r["path"].startswith("/v2/")]
    assert access["path"] == "/v2/promotions/x%0Ay"
    assert access["method"] == "GET" and access["status"] == 401
    assert isinstance(access["duration_ms"], float)
