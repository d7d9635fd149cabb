"""A small client of the public API: a token from the credentials, then promotions and jobs.

Every refusal becomes an ``ApiError`` carrying the Elastic Path error's words, so the command can print
one line and exit 1 instead of a traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
BOOTSTRAP_FILE = "bootstrap-client.json"
PAGE_LIMIT = 100
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
FINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})
TIMEOUT = httpx.Timeout(60.0, connect=10.0)


class ApiError(Exception):
    """The server refused (its error body in words), or could not be reached."""


class MissingCredentials(Exception):
    """No client id and secret in the options, the environment or the local bootstrap file."""


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str


def resolve_credentials(
    url: str, client_id: str | None, client_secret: str | None, data_dir: Path | None = None
) -> Credentials:
    """Options (or their environment variables) first; for a server on this machine, the bootstrap file
    that ``promojobs serve`` wrote on its first start."""
    if client_id and client_secret:
        return Credentials(client_id, client_secret)
    if client_id or client_secret:
        raise MissingCredentials("give both a client id and a client secret")
    if urlsplit(url).hostname not in LOOPBACK_HOSTS:
        raise MissingCredentials(
            "no credentials: set PROMOJOBS_CLIENT_ID and PROMOJOBS_CLIENT_SECRET "
            "(or --client-id and --client-secret)"
        )
    path = (data_dir or Path(os.environ.get("PROMOJOBS_DATA_DIR", "data"))) / BOOTSTRAP_FILE
    try:
        saved = json.loads(path.read_text())
        return Credentials(str(saved["client_id"]), str(saved["client_secret"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MissingCredentials(
            f"no credentials: set PROMOJOBS_CLIENT_ID and PROMOJOBS_CLIENT_SECRET, or run this where the "
            f"local server keeps {path} ({_reason(exc)})"
        ) from exc


def error_text(response: httpx.Response) -> str:
    """``404 Not Found: promotion not found`` from an Elastic Path error body (or the bare status)."""
    try:
        errors = response.json().get("errors") or []
        first = errors[0]
        title, detail = str(first.get("title", "")), first.get("detail")
        words = f"{title}: {detail}" if detail and detail != title else title
        retry = response.headers.get("Retry-After")
        return f"{response.status_code} {words}" + (f" (retry after {retry} s)" if retry else "")
    except (ValueError, AttributeError, IndexError, TypeError):
        return f"{response.status_code} {response.reason_phrase}".strip()


class Api:
    def __init__(self, url: str, credentials: Credentials) -> None:
        self.url = url.rstrip("/")
        self.credentials = credentials
        self.http = httpx.Client(base_url=self.url, timeout=TIMEOUT)
        self._token: str | None = None

    def close(self) -> None:
        self.http.close()

    # --- promotions -----------------------------------------------------------------------------

    def promotions(self) -> list[dict[str, Any]]:
        return self._all_pages("/v2/promotions", {})

    def create_promotion(self, fields: dict[str, Any]) -> dict[str, Any]:
        body = {"data": {"type": "promotion", **fields}}
        return dict(self.call("POST", "/v2/promotions", json=body)["data"])

    def code_count(self, promotion_id: str) -> int:
        page = self.call("GET", f"/v2/promotions/{promotion_id}/codes", params={"page[limit]": 1})
        return int(page["meta"]["results"]["total"])

    # --- jobs -----------------------------------------------------------------------------------

    def jobs(self, promotion_id: str, job_type: str | None, status: str | None) -> list[dict[str, Any]]:
        clauses = [
            f"eq({name},{value})" for name, value in (("job_type", job_type), ("status", status)) if value
        ]
        params = {"filter": ":".join(clauses)} if clauses else {}
        return self._all_pages(f"/v2/promotions/{promotion_id}/jobs", params)

    def create_job(self, promotion_id: str, job_type: str, **fields: Any) -> dict[str, Any]:
        body = {"data": {"type": "promotion_job", "job_type": job_type, **fields}}
        return dict(self.call("POST", f"/v2/promotions/{promotion_id}/jobs", json=body)["data"])

    def job(self, promotion_id: str, job_id: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/v2/promotions/{promotion_id}/jobs/{job_id}")["data"])

    def cancel(self, promotion_id: str, job_id: str) -> dict[str, Any]:
        return dict(self.call("POST", f"/v2/promotions/{promotion_id}/jobs/{job_id}/cancel")["data"])

    def file_link(self, promotion_id: str, job_id: str) -> str:
        return str(self.call("GET", f"/v2/promotions/{promotion_id}/jobs/{job_id}/file")["href"])

    @contextmanager
    def download(self, href: str) -> Iterator[httpx.Response]:
        """The export file behind a signed link (no token: the link is the permission)."""
        try:
            with self.http.stream("GET", href) as response:
                if response.status_code != 200:
                    response.read()
                    raise ApiError(error_text(response))
                yield response
        except httpx.TransportError as exc:
            raise ApiError(f"cannot download {href.split('?')[0]}: {_reason(exc)}") from exc

    # --- plumbing -------------------------------------------------------------------------------

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request with the bearer token; a token that expired meanwhile is renewed once."""
        response = self._send(method, path, **kwargs)
        if response.status_code == 401 and self._token is not None:
            self._token = None
            response = self._send(method, path, **kwargs)
        if response.status_code >= 400:
            raise ApiError(error_text(response))
        return response.json() if response.content else None

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token()}"}
        try:
            return self.http.request(method, path, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise ApiError(f"cannot reach {self.url}: {_reason(exc)}") from exc

    def token(self) -> str:
        if self._token is None:
            form = {
                "grant_type": "client_credentials",
                "client_id": self.credentials.client_id,
                "client_secret": self.credentials.client_secret,
            }
            try:
                response = self.http.post("/oauth/access_token", data=form)
            except httpx.TransportError as exc:
                raise ApiError(f"cannot reach {self.url}: {_reason(exc)}") from exc
            if response.status_code != 200:
                raise ApiError(error_text(response))
            self._token = str(response.json()["access_token"])
        return self._token

    def _all_pages(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        while True:
            page = self.call(
                "GET", path, params={**params, "page[limit]": PAGE_LIMIT, "page[offset]": len(records)}
            )
            records += page["data"]
            if len(page["data"]) < PAGE_LIMIT or len(records) >= int(page["meta"]["results"]["total"]):
                return records


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
