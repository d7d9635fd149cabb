"""The HTTP edge: what the server refuses before any route runs, and how it ends a connection.

uvicorn's httptools protocol (its fastest) with what it lacks, added where the bytes arrive so that a
normal request pays a few comparisons and no extra task or timer:

- limits on the request target (414) and on the header lines, in count and bytes (431), enforced while
  the head is still arriving: bytes past the limit are never handed to the parser, so a 100 MB header
  costs neither memory nor event-loop time;
- a deadline for the whole request head, and one for each pause in the body (408 or, for a connection
  that never sent a byte, a plain close), so stalled clients cannot hold connections forever;
- a lingering close: a connection that is closed while its request body is still arriving (a 413, or
  any of the refusals above) is half-closed after the answer and the rest of the body is read and
  discarded, up to a bound in bytes and time, so clients that send the whole body before reading (urllib,
  requests) receive the answer instead of a connection reset;
- malformed HTTP answered with the Elastic Path error body instead of uvicorn's plain text.

Every limit is a setting (docs/security.md lists them with their defaults).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, fields
from typing import Any, cast

import httptools
import uvicorn
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from promojobs.api import access_log
from promojobs.api.errors import error_body
from promojobs.config import Settings

log = logging.getLogger("promojobs.edge")

# The request line's method and version, and the colons, spaces and line ends of header lines: room a
# request head may take beyond the target and header bytes that the limits count.
HEAD_OVERHEAD_BYTES = 1024
LIMITS_ATTRIBUTE = "promojobs_edge_limits"

_IDLE, _HEAD, _BODY = 0, 1, 2


@dataclass(frozen=True)
class EdgeLimits:
    max_url_bytes: int = 64 * 1024
    max_header_bytes: int = 64 * 1024
    max_headers: int = 100
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    drain_bytes: int = 64 * 1024 * 1024
    drain_seconds: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> EdgeLimits:
        # Each limit is the setting of the same name.
        return cls(**{limit.name: getattr(settings, limit.name) for limit in fields(cls)})

    # What each refusal says (the OpenAPI document shows the same words: api/operation_docs/common.py).

    def target_too_long(self) -> str:
        return f"The request target must be at most {self.max_url_bytes} bytes"

    def headers_too_large(self) -> str:
        return (
            f"The request headers must be at most {self.max_header_bytes} bytes (names and values) "
            f"in at most {self.max_headers} lines"
        )

    def head_too_slow(self) -> str:
        return f"The request headers must arrive within {self.header_timeout_seconds:g} seconds"

    def body_too_slow(self) -> str:
        return f"The request body stopped arriving for {self.body_timeout_seconds:g} seconds"


def server_config(app: Any, settings: Settings, *, log_level: str = "info", **options: Any) -> Config:
    """uvicorn's configuration for promojobs: the edge protocol and its limits, promojobs' own access log
    (uvicorn's prints query strings, and so download signatures), and logging left to promojobs."""
    config = Config(
        app,
        host=settings.host,
        port=settings.port,
        http=EdgeProtocol,
        timeout_keep_alive=settings.keep_alive_seconds,
        access_log=False,
        log_config=None,
        log_level=log_level,
        **options,
    )
    setattr(config, LIMITS_ATTRIBUTE, EdgeLimits.from_settings(settings))
    return config


class _Refused(Exception):
    """Raised in a parser callback: the request head is over a limit."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


TITLES = {
    400: "Bad Request",
    408: "Request Timeout",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
}


class EdgeProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        limits: EdgeLimits = getattr(config, LIMITS_ATTRIBUTE, None) or EdgeLimits()
        self.limits = limits
        self._head_room = limits.max_url_bytes + limits.max_header_bytes + HEAD_OVERHEAD_BYTES
        self._max_url_bytes = limits.max_url_bytes
        self._max_header_bytes = limits.max_header_bytes
        self._max_headers = limits.max_headers
        self._phase = _HEAD
        self._head_started = 0.0
        self._head_fed = 0  # bytes given to the parser since the last request ended (or the connection began)
        self._header_count = 0
        self._header_bytes = 0
        self._body_seen_at = 0.0
        self._keep_alive_wanted = True
        self._closing = False
        self._draining = False
        self._drained = 0
        self._watchdog: asyncio.TimerHandle | None = None
        self._watch_at = 0.0
        self._cycle_transport: _CycleTransport | None = None

    # ---- connection ------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_started = self.loop.time()
        self._cycle_transport = _CycleTransport(transport, self)
        self._arm(self._head_started + self.limits.header_timeout_seconds)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        if self._cycle_transport is not None:
            self._cycle_transport.flush()
        if self._draining:  # uvicorn would arm its keep-alive timeout, which would cut the drain short
            self.server_state.total_requests += 1
            return
        super().on_response_complete()

    def shutdown(self) -> None:
        self._closing = True
        super().shutdown()

    def data_received(self, data: bytes) -> None:
        if self._draining:
            self._drained += len(data)
            if self._drained > self.limits.drain_bytes:
                self.transport.close()
            return
        if self._phase != _BODY:
            fed = self._head_fed + len(data)
            if fed > self._head_room:
                self._feed_past_the_head_room(data, self._head_room - self._head_fed)
                return
            self._head_fed = fed
        self._feed(data)

    def _feed(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._refuse_malformed(exc)
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        phase = self._phase
        if phase != _IDLE and not self._draining:  # (a whole GET in one read ends here, no clock read)
            now = self.loop.time()
            if phase == _BODY:
                self._body_seen_at = now  # body bytes arrived, or the head ended
            elif self._head_started == 0.0:
                self._head_started = now  # a new request's head has begun and is not complete yet
            deadline = self._deadline()
            if self._watchdog is None or deadline < self._watch_at:  # (a body deadline before the head's)
                self._arm(deadline)

    def _feed_past_the_head_room(self, data: bytes, room: int) -> None:
        """Feed only what a head may still take; refuse if the head has not ended by then."""
        self._head_fed += room
        self._feed(data[:room])
        if self._draining or self.transport.is_closing():
            return
        if self._phase == _BODY or self._head_fed < self._head_room:  # a request ended or got its head
            self.data_received(data[room:])
        else:
            self._refuse(431, self.limits.headers_too_large())

    # ---- parser callbacks ----------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_count = 0
        self._header_bytes = 0
        if self._phase == _IDLE:
            self._phase = _HEAD
            self._head_started = 0.0  # read from the clock only if the head does not arrive in one piece

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) > self._max_url_bytes:
            raise _Refused(414)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        self._header_bytes += len(name) + len(value)
        if self._header_count > self._max_headers or self._header_bytes > self._max_header_bytes:
            raise _Refused(431)
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._phase = _BODY
        cycle = self.cycle
        if cycle is not None and cycle.scope is self.scope:  # (not for a websocket upgrade)
            cycle.transport = self._cycle_transport  # type: ignore[assignment]
            # Until the body has arrived, an answer closes the connection (a 413 sent before reading the
            # body must not leave the rest of it to be parsed as the next request, however long it is).
            self._keep_alive_wanted = cycle.keep_alive
            cycle.keep_alive = False

    def on_message_complete(self) -> None:
        super().on_message_complete()
        cycle = self.cycle
        if cycle is not None and not cycle.response_started and not self._closing:
            cycle.keep_alive = self._keep_alive_wanted
        self._phase = _IDLE
        self._head_fed = 0

    # ---- deadlines -----------------------------------------------------------------------------------

    def _deadline(self) -> float:
        if self._phase == _HEAD:
            return self._head_started + self.limits.header_timeout_seconds
        return self._body_seen_at + self.limits.body_timeout_seconds

    def _arm(self, deadline: float) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._watch_at = deadline
        self._watchdog = self.loop.call_at(deadline, self._watch)

    def _watch(self) -> None:
        """One timer per connection, re-armed only while a head or a body is on its way."""
        self._watchdog = None
        if self._draining or self.transport.is_closing() or self._phase == _IDLE:
            return
        now = self.loop.time()
        if self._phase == _BODY and self.flow.read_paused:
            self._body_seen_at = now  # the application is not reading yet: not the client's delay
        deadline = self._deadline()
        if now < deadline:
            self._arm(deadline)
        elif self._phase == _HEAD and self._head_fed == 0:
            self.transport.close()  # nothing of a request was sent: nobody to answer
        elif self._phase == _HEAD:
            self._refuse(408, self.limits.head_too_slow(), linger=False)
        else:
            self._refuse(408, self.limits.body_too_slow(), linger=False)

    # ---- answers -------------------------------------------------------------------------------------

    def _refuse_malformed(self, exc: httptools.HttpParserError) -> None:
        cause = exc.__context__
        if isinstance(cause, _Refused):
            if cause.status == 414:
                self._refuse(414, self.limits.target_too_long())
            else:
                self._refuse(431, self.limits.headers_too_large())
            return
        if isinstance(exc, httptools.HttpParserCallbackError):
            reason = "its target is not a valid URL" if cause is not None else "it could not be read"
        elif isinstance(exc, httptools.HttpParserInvalidMethodError):
            reason = "its method is not an HTTP method"
        else:
            reason = str(exc).rstrip(".") or "it could not be parsed"
        log.info("malformed request from %s: %s", self.client[0] if self.client else "-", reason)
        self._refuse(400, f"The request is not valid HTTP/1.1: {reason}")

    def _refuse(self, status: int, detail: str, *, linger: bool = True) -> None:
        """Answer ``status`` with the Elastic Path error body and end the connection."""
        cycle = self.cycle
        if self._phase == _BODY and cycle is not None and cycle.scope is self.scope:
            # The application has this request and waits for its body: it is told the client is gone
            # (and logs the answer given here), and nothing it sends is written any more.
            if cycle.response_started:
                self.transport.close()
                return
            cast(dict[str, Any], cycle.scope)[access_log.EDGE_STATUS] = status
            cycle.disconnected = True
            cycle.message_event.set()
        elif cycle is not None and not cycle.response_complete:
            # A pipelined request behind one still being answered: no answer can be written in between.
            cycle.keep_alive = False
            self._draining = True
            return
        else:
            self._log_refusal(status)
        self.transport.write(self._response(status, detail))
        if linger:
            self._linger()
        else:
            self.transport.close()

    def _response(self, status: int, detail: str) -> bytes:
        body = error_body(status, TITLES[status], detail)
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head.append(
            b"content-type: application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(body)
        )
        return b"".join(head) + body

    def _log_refusal(self, status: int) -> None:
        url: bytes = getattr(self, "url", b"")
        try:
            method = self.parser.get_method().decode("ascii")
        except (httptools.HttpParserError, UnicodeDecodeError):
            method = "-"
        access_log.log_request(
            self.client[0] if self.client else "-",
            method,
            url.partition(b"?")[0],
            status,
            (self.loop.time() - self._head_started) * 1000 if self._head_started else 0.0,
        )

    def _close_after_response(self) -> None:
        if self._phase == _BODY and not self.transport.is_closing():
            self._linger()
        else:
            self.transport.close()

    def _linger(self) -> None:
        """Half-close after the answer, then read and discard until the client closes, for at most
        ``drain_bytes`` and ``drain_seconds``: closing a socket with unread data makes the kernel reset the
        connection, and a client still sending its body never reads the answer."""
        self._draining = True
        if self._watchdog is not None:
            self._watchdog.cancel()
        self.flow.resume_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._watchdog = self.loop.call_later(self.limits.drain_seconds, self.transport.close)


class _CycleTransport(asyncio.Transport):
    """The transport as a request's response cycle sees it: a response's head goes out with the first
    piece of its body, in one write (uvicorn writes them apart: a send system call per response saved,
    which is much of a small answer's cost on the event loop); closing lets the protocol linger if the
    request body is still arriving."""

    def __init__(self, transport: asyncio.Transport, protocol: EdgeProtocol) -> None:
        super().__init__()
        self._write = transport.write
        self.is_closing = transport.is_closing  # type: ignore[method-assign]
        self._protocol = protocol
        self._held: bytes | None = None  # the head of the response being sent, until its body comes
        self._head_of: object = None  # the cycle whose head was held (one head per response)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._write(held + data)
            return
        cycle = self._protocol.cycle
        # The head is the cycle's first write once its response has started (a "100 Continue" before it
        # goes out at once: the client waits for it before sending the body).
        if cycle is not None and cycle.response_started and self._head_of is not cycle:
            self._head_of = cycle
            if not cycle.response_complete:
                self._held = bytes(data)
                return
        self._write(data)

    def flush(self) -> None:
        """Send a held head: the response ended without a body write (HEAD), or the connection closes."""
        held, self._held = self._held, None
        if held is not None and not self.is_closing():
            self._write(held)

    def close(self) -> None:
        self.flush()
        self._protocol._close_after_response()


def serve(app: Any, settings: Settings) -> None:
    """Serve ``app`` on ``settings.host:port`` until SIGINT/SIGTERM, as ``promojobs serve`` does."""
    uvicorn.Server(server_config(app, settings)).run()
