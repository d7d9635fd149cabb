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
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0  # no answer started
        logged = False
        gone = False

        def record(final_status: int) -> None:
            nonlocal logged
            logged = True
            client = scope.get("client")
            scope[LOGGED_STATUS] = final_status = scope.get(EDGE_STATUS, final_status)
            log_request(
                client[0] if client else "-",
                scope["method"],
                scope.get("raw_path") or scope["path"].encode(),
                final_status,
                (time.perf_counter() - started) * 1000,
            )

        async def watching_receive() -> Message:
            nonlocal gone
            message = await receive()
            if message["type"] == "http.disconnect":
                gone = True
            return message

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                # Logged before the last bytes go out, so the line is there when the client has its answer.
                record(status)
            await send(message)

        try:
            await self.app(scope, watching_receive, recording_send)
        except ClientDisconnect:
            gone = True  # the body was being read when the client went away: nobody to answer
        finally:
            if not logged:
                if gone:
                    status = CLIENT_CLOSED
                elif status == 0:
                    status = 500  # an exception on its way to the error handler, or no answer at all
                record(status)
