"""The HTTP edge (api/edge.py) through real sockets: what a careless or hostile client sends before any route
runs is refused with the Elastic Path error body, stalled clients are dropped, and a client that sends its
whole body before reading still receives the answer.

The server's deadlines are set short here (0.5 s) and the tests wait for the event itself (an answer, a
closed connection) with a generous deadline, never for a fixed time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import select
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from promojobs.api.edge import EdgeProtocol
from tests.support import LiveServer, database_url_for, start_server

GENEROUS = 30.0  # seconds a test waits for what the server must do after its own short deadline
Edge = Callable[..., LiveServer]


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[Edge]:
    """Servers on SQLite only: nothing here depends on the database."""
    urls = database_url_for("sqlite", tmp_path, None)  # type: ignore[arg-type]
    url = next(urls)
    servers: list[LiveServer] = []

    def make(**overrides: Any) -> LiveServer:
        server = start_server(url, tmp_path / f"data{len(servers)}", embedded_worker=False, **overrides)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
        server.container.database.dispose()


def _connect(server: LiveServer) -> socket.socket:
    host, port = server.base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=GENEROUS)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes its side."""
    received = b""
    while chunk := sock.recv(65_536):
        received += chunk
    return received


def _error(answer: bytes, status: int) -> dict[str, Any]:
    assert answer.startswith(b"HTTP/1.1 %d " % status), answer[:300]
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower()
    assert b"connection: close" in head.lower()
    error: dict[str, Any] = json.loads(body)["errors"][0]
    assert error["status"] == str(status)
    return error


def _exchange(server: LiveServer, request: bytes) -> bytes:
    with _connect(server) as sock:
        sock.sendall(request)
        return _read_all(sock)


# ---- 2. request line and header limits ---------------------------------------------------------------


def test_request_target_over_the_limit__is_414_with_the_error_body(edge: Edge) -> None:
    server = edge(max_url_bytes=1_000)
    at_limit = b"/v2/x" + b"a" * (1_000 - 5)
    assert _exchange(server, b"GET " + at_limit + b" HTTP/1.1\r\nConnection: close\r\n\r\n").startswith(
        b"HTTP/1.1 404 "
    )
    over = _exchange(server, b"GET " + at_limit + b"a HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert _error(over, 414)["title"] == "URI Too Long"


def test_header_of_1_mib_and_5000_headers__are_431_with_the_error_body(edge: Edge) -> None:
    server = edge()
    start = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
    big = _exchange(server, start + b"X-Big: " + b"a" * 1024 * 1024 + b"\r\nConnection: close\r\n\r\n")
    assert _error(big, 431)["title"] == "Request Header Fields Too Large"
    many = b"".join(b"X-H%d: v\r\n" % index for index in range(5_000))
    assert _error(_exchange(server, start + many + b"Connection: close\r\n\r\n"), 431)
    # At the limits (100 lines, 64 KiB of names and values) a request is served.
    fine = b"".join(b"X-H%02d: " % index + b"v" * 600 + b"\r\n" for index in range(98))
    answer = _exchange(server, start + fine + b"Connection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


def test_header_that_never_ends__is_431_before_8_mib_of_it_is_sent(edge: Edge) -> None:
    server = edge()
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Endless: ")
        sent = 0
        while sent < 8 * 1024 * 1024 and not select.select([sock], [], [], 0)[0]:
            sent += sock.send(b"a" * 65_536)
        assert select.select([sock], [], [], GENEROUS)[0], f"no answer after {sent} bytes of one header"
        answer = sock.recv(65_536)
    _error(answer, 431)


# ---- 3. stalled clients --------------------------------------------------------------------------------


def test_stalled_request_headers__get_408_and_the_connection_is_closed(edge: Edge) -> None:
    server = edge(header_timeout_seconds=0.5)
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Partial: ")
        error = _error(_read_all(sock), 408)
    assert error["title"] == "Request Timeout"
    with _connect(server) as silent:  # a connection that never sends a byte is closed, unanswered
        assert _read_all(silent) == b""


def test_stalled_request_body__gets_408_and_the_connection_is_closed(
    edge: Edge, caplog: pytest.LogCaptureFixture
) -> None:
    server = edge(body_timeout_seconds=0.5)
    with caplog.at_level(logging.INFO, logger="promojobs.access"), _connect(server) as sock:
        sock.sendall(
            b"POST /oauth/access_token HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant"
        )
        error = _error(_read_all(sock), 408)
        deadline = time.monotonic() + GENEROUS
        while not (lines := [r.getMessage() for r in caplog.records if r.name == "promojobs.access"]):
            assert time.monotonic() < deadline, "no access log line"
            time.sleep(0.01)
    assert error["title"] == "Request Timeout"
    assert '"POST /oauth/access_token" 408 ' in lines[0]  # as answered, not 499 or 500


# ---- 4. the 413 reaches a client that sends its whole body first --------------------------------------


def test_client_that_sends_the_whole_body_before_reading__receives_the_413(edge: Edge) -> None:
    server = edge()
    request = urllib.request.Request(  # noqa: S310 (a test server on 127.0.0.1)
        f"{server.base_url}/v2/promotions",
        data=b" " * 20_000_000,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=GENEROUS)  # noqa: S310 (a test server on 127.0.0.1)
    assert raised.value.code == 413
    body = json.loads(raised.value.read())
    assert body["errors"][0]["title"] == "Payload Too Large"


def test_body_sent_after_a_413__is_drained_only_up_to_its_bound(edge: Edge) -> None:
    server = edge(max_body_bytes=1_000, drain_bytes=1024 * 1024)
    with _connect(server) as sock:
        sock.sendall(b"POST /v2/promotions HTTP/1.1\r\nHost: x\r\nContent-Length: 500000000\r\n\r\n")
        with pytest.raises(OSError):  # reset once the bound is passed, long before 500 MB
            for _ in range(500_000_000 // 65_536):
                sock.sendall(b" " * 65_536)


# ---- 6. one write per answer ---------------------------------------------------------------------------


class _CountedWrites:
    """The connection's transport, with every write recorded: each one is a send system call."""

    def __init__(self, transport: Any, writes: list[bytes]) -> None:
        self._transport = transport
        self._writes = writes

    def write(self, data: bytes) -> None:
        self._writes.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def test_each_answer_is_one_write__head_and_body_together(
    edge: Edge, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn writes a response's head and its body apart, two system calls where one does (much of a
    small answer's cost on the event loop). The edge writes them together: for GET, for an error, and for
    HEAD, whose head has no body write to go out with and is sent when the response ends."""
    writes: list[bytes] = []
    made = EdgeProtocol.connection_made

    def counted(self: EdgeProtocol, transport: Any) -> None:
        made(self, cast(asyncio.Transport, _CountedWrites(transport, writes)))

    monkeypatch.setattr(EdgeProtocol, "connection_made", counted)
    server = edge()
    requests = [b"GET /healthz", b"GET /v2/promotions", b"HEAD /healthz", b"GET /healthz"]  # keep-alive
    with _connect(server) as sock:
        for sent, request in enumerate(requests, 1):
            sock.sendall(request + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while len(writes) < sent or not answer.endswith(writes[-1]):
                answer += sock.recv(65_536)
    assert len(writes) == len(requests), writes
    ok, unauthorized, head_only, again = writes
    assert ok.startswith(b"HTTP/1.1 200 ") and ok.endswith(b'{"status":"ok"}')
    assert unauthorized.startswith(b"HTTP/1.1 401 ") and b'"errors"' in unauthorized
    assert head_only.startswith(b"HTTP/1.1 405 ") and head_only.endswith(b"\r\n\r\n")  # GET only
    assert again.startswith(b"HTTP/1.1 200 ") and again.endswith(b'{"status":"ok"}')
