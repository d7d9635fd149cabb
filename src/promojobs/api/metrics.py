"""``GET /metrics`` (Prometheus text format) and the per-request counts behind it (promojobs.metrics).

Exposure is a setting (``PROMOJOBS_METRICS``): ``off`` (404, the default), ``token`` (a bearer token
equal to ``PROMOJOBS_METRICS_TOKEN``, compared in constant time), ``open`` (anyone who reaches the API),
or ``port`` (only on ``PROMOJOBS_METRICS_PORT``, a listener of its own that the load balancer does not
expose; /metrics on the API port is then 404).
"""

from __future__ import annotations

import hmac
import time

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from promojobs.api.cached_reads import KEPT_ROUTE
from promojobs.api.deps import ContainerDep
from promojobs.api.middleware import HttpMiddleware
from promojobs.domain.errors import NotFound, Unauthorized
from promojobs.metrics import REQUEST_SECONDS, REQUESTS
from promojobs.services.auth import bearer_token

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, container: ContainerDep) -> Response:
    settings = container.settings
    if settings.metrics in ("off", "port"):
        raise NotFound()
    if settings.metrics == "token":
        expected = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
        given = bearer_token(request.headers.get("authorization"))
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            raise Unauthorized()
    return Response(generate_latest(container.metrics), media_type=CONTENT_TYPE_LATEST)


class RequestMetrics(HttpMiddleware):
    """Counts every request by method, route template (never the raw path: bounded labels) and status,
    and times it."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500  # unless a response starts

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = _template(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            REQUEST_SECONDS.labels(route).observe(time.perf_counter() - started)


def _template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return str(scope.get(KEPT_ROUTE) or "(unmatched)")  # an answer sent by the read cache's fast path
