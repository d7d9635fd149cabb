"""/docs and /redoc work offline: every script, style sheet and icon they load comes from this server."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.support import LiveServer

ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
_REFERENCE = re.compile(r"""(?:src|href|url)\s*[=:(]\s*['"]([^'"]+)['"]""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_page__loads_only_same_origin_assets_and_each_is_served(server: LiveServer, page: str) -> None:
    response = httpx.get(f"{server.base_url}{page}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "http://" not in response.text and "https://" not in response.text, response.text
    references = _REFERENCE.findall(response.text)
    assets = [ref for ref in references if ref != "/openapi.json"]
    assert "/openapi.json" in references
    kinds = {ref.rsplit(".", 1)[-1] for ref in assets}
    assert kinds >= ({"js", "png"} if page == "/redoc" else {"js", "css", "png"})
    for asset in assets:
        assert asset.startswith("/") and not asset.startswith("//"), asset
        served = httpx.get(f"{server.base_url}{asset}")
        assert served.status_code == 200, asset
        assert served.headers["content-type"].startswith(ASSET_TYPES["." + asset.rsplit(".", 1)[-1]])
        assert len(served.content) > 0


def test_docs_assets__an_unknown_file_is_404_and_no_path_escapes_the_folder(server: LiveServer) -> None:
    assert httpx.get(f"{server.base_url}/docs-assets/swagger-ui/missing.js").status_code == 404
    escaped = httpx.get(f"{server.base_url}/docs-assets/..%2F..%2Fapp.py")
    assert escaped.status_code == 404
