"""The access log names each request without its query string, so download signatures never reach logs."""

from __future__ import annotations

import logging

import httpx
import pytest

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
