"""ASGI middleware of the HTTP edge: the request body limit, and the base of every middleware that looks
only at HTTP requests. (What comes before the body, the request line and headers, is limited in
api/edge.py, where the bytes arrive.)"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from promojobs.api import errors


class HttpMiddleware:
    """An ASGI middleware for HTTP requests; anything else (lifespan) goes straight to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class BodyLimit(HttpMiddleware):
    """Refuse request bodies over ``max_bytes`` with 413, whether announced by Content-Length or streamed.

    The body is read in full (up to the limit) before the application sees any of it: a streamed body
    that turns out too large must not reach a route as a shorter, still valid, JSON document, be
    written, and then be answered 413.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _too_large(self.max_bytes)(scope, receive, send)
            return
        message = await receive()
        if message["type"] == "http.request" and message.get("more_body", False):
            chunks: list[bytes] = []
            size = 0
            while True:
                if message["type"] != "http.request":
                    return  # the client went away mid-body: nobody to answer
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if size > self.max_bytes:
                    await _too_large(self.max_bytes)(scope, receive, send)
                    return
                if not message.get("more_body", False):
                    break
                message = await receive()
            message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        elif len(message.get("body", b"")) > self.max_bytes:  # one message, as for almost every request
            await _too_large(self.max_bytes)(scope, receive, send)
            return
        body_message = message
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: disconnect notices
            replayed = True
            return body_message

        await self.app(scope, replay, send)


def body_too_large(max_bytes: int) -> str:
    """What the 413 says (the OpenAPI document shows the same words)."""
    return f"The request body must be at most {max_bytes} bytes"


def _too_large(max_bytes: int) -> ASGIApp:
    return errors.error_response(413, "Payload Too Large", body_too_large(max_bytes))
