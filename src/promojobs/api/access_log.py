"""The access log: one line per request, replacing uvicorn's (which prints query strings, and so download
signatures).

The path is logged as the client sent it (still percent-encoded, never decoded: a ``%0A`` in a path must
not start a forged line), without the query string, and with every byte outside printable ASCII, and the
quote and backslash, escaped as ``\\xNN``. With ``PROMOJOBS_LOG_FORMAT=json`` each line is a JSON object
whose fields (``client``, ``method``, ``path``, ``status``, ``duration_ms``) come from ``extra`` here.

A request whose client went away before its answer was complete is logged as 499 (nginx's "client closed
request"), never as a server error; one that the HTTP edge answered itself (a 408 for a stalled body, a 400
for a malformed one) with that answer's status.
"""

from __future__ import annotations

import logging
import re
import time

from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive, Scope, Send

from promojobs.api.middleware import HttpMiddleware

log = logging.getLogger("promojobs.access")

CLIENT_CLOSED = 499
# Set in the scope by api/edge.py when it answered a request the application was still reading.
EDGE_STATUS = "promojobs.edge_status"
# The status each request was logged with, left in the scope for whatever counts requests (metrics): a
# client that hung up is 499 there too, never a server error.
LOGGED_STATUS = "promojobs.logged_status"
_UNSAFE = re.compile(rb'[^\x21-\x7e]|["\\]')


def escape_path(raw: bytes) -> str:
    if _UNSAFE.search(raw) is None:
        return raw.decode("ascii")
    return _UNSAFE.sub(lambda match: b"\\x%02x" % match.group()[0], raw).decode("ascii")


def log_request(client: str, method: str, raw_path: bytes, status: int, duration_ms: float) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    path = escape_path(raw_path)
    log.info(
        '%s "%s %s" %d %.1fms',
        client,
        method,
        path,
        status,
        duration_ms,
        extra={
            "client": client,
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(duration_ms, 1),
        },
    )


class AccessLog(HttpMiddleware):
    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = _Exchange(scope, receive, send)
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except ClientDisconnect:
            exchange.gone = True  # the body was being read when the client went away: nobody to answer
        finally:
            if not exchange.logged:
                exchange.record(exchange.unanswered_status())


class _Exchange:
    """One request as the access log follows it: the status its answer started with, whether the line is
    written, whether the client went away."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        self.started = time.perf_counter()
        self.status = 0  # no answer started
        self.logged = False
        self.gone = False

    def record(self, status: int) -> None:
        self.logged = True
        scope = self.scope
        client = scope.get("client")
        scope[LOGGED_STATUS] = status = scope.get(EDGE_STATUS, status)
        log_request(
            client[0] if client else "-",
            scope["method"],
            scope.get("raw_path") or scope["path"].encode(),
            status,
            (time.perf_counter() - self.started) * 1000,
        )

    def unanswered_status(self) -> int:
        """The status of a request that ended before its answer was complete."""
        if self.gone:
            return CLIENT_CLOSED
        # 500: an exception on its way to the error handler, or no answer at all
        return 500 if self.status == 0 else self.status

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self.gone = True
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            # Logged before the last bytes go out, so the line is there when the client has its answer.
            self.record(self.status)
        await self._send(message)
