"""Repeated reads answered before routing: the read cache's fast path.

A poll that finds its answer in the read cache (services/read_cache.py) needs none of the routing,
dependency solving or validation that made the answer the first time: under load that machinery costs
more than the rest of the request. So, for a GET with a bearer token this process validated in the last
few seconds, this middleware looks the answer up under the same key the route keeps it under (the
caller's store and the full URL) and sends it. Everything else (a new token, an implicit one, an answer
not kept or no longer current, a store over its rate limit) goes to the application as usual, which then
answers, refuses or keeps it. Only routes that use ``deps.cached_read`` ever keep an answer, so no route
list is repeated here.
"""

from __future__ import annotations

from starlette.datastructures import URL
from starlette.types import ASGIApp, Receive, Scope, Send

from promojobs.bootstrap import Container
from promojobs.domain.errors import RateLimited
from promojobs.services.auth import IMPLICIT

_BEARER = b"bearer "
MAX_TOKEN_CHARS = 200


def read_cache_key(store_id: int, url: URL) -> tuple[int, str]:
    """The key of an answer: shared by this fast path and ``deps.cached_read``."""
    return store_id, str(url)


class CachedReads:
    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app = app
        self.container = container

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self._kept(scope) if scope["type"] == "http" and scope["method"] == "GET" else None
        if body is None:
            await self.app(scope, receive, send)
            return
        headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _kept(self, scope: Scope) -> bytes | None:
        token = _bearer_token(scope)
        if token is None:
            return None
        caller = self.container.auth.recently_seen(token)
        if caller is None or caller.grant_type == IMPLICIT:
            return None
        body = self.container.read_cache.kept(read_cache_key(caller.store_id, URL(scope=scope)))
        if body is None:
            return None
        try:
            self.container.store_rate_limit.check(caller.store_id)
        except RateLimited:
            return None  # the application answers 429 (the bucket is still empty when it checks)
        return body


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            # Exactly as the application reads it (FastAPI's HTTPBearer): the scheme, one space, the rest.
            if value[:7].lower() != _BEARER or len(value) > len(_BEARER) + MAX_TOKEN_CHARS:
                return None
            return value[7:].decode("latin-1") or None
    return None
