"""The public API, called in-process: the console's pages go through the very routes curl and the SDK
use (same validation, same errors, same store isolation, same rate limits), without a network hop.

The browser's address is handed on as the caller's, so the token endpoint's login throttle counts a
console sign-in like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import httpx
from fastapi import Request

TIMEOUT = httpx.Timeout(60.0)


@dataclass(frozen=True)
class ApiRefusal(Exception):
    """An Elastic Path error body, in words."""

    status: int
    title: str
    detail: str | None
    retry_after: str | None = None

    def __str__(self) -> str:
        text = f"{self.title}: {self.detail}" if self.detail and self.detail != self.title else self.title
        return text + (f" Try again in {self.retry_after} s." if self.retry_after else "")


def refusal_of(response: httpx.Response) -> ApiRefusal:
    try:
        first = response.json()["errors"][0]
        return ApiRefusal(
            response.status_code,
            str(first.get("title", "")),
            first.get("detail"),
            response.headers.get("Retry-After"),
        )
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return ApiRefusal(response.status_code, response.reason_phrase or "Error", None)


class InProcessApi:
    def __init__(self, request: Request, token: str | None) -> None:
        peer = (request.client.host, request.client.port) if request.client else ("127.0.0.1", 0)
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=request.app, client=peer),
            base_url=str(request.base_url).rstrip("/"),
            timeout=TIMEOUT,
        )
        self.token = token

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.client.aclose()

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = await self.client.request(method, path, headers=headers, **kwargs)
        if response.status_code >= 400:
            raise refusal_of(response)
        return response.json() if response.content else None

    async def sign_in(self, client_id: str, client_secret: str) -> dict[str, Any]:
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
        response = await self.client.post("/oauth/access_token", data=form)
        if response.status_code != 200:
            raise refusal_of(response)
        return dict(response.json())
