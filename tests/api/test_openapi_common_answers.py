"""The OpenAPI document's common answers (``api.operation_docs.common``), kept true: the HTTP edge's 413,
414, 431 and 408 and the rate limits' 429, which every operation that documents them may get whatever its
route does.

A server with small limits (and short deadlines) serves a document in the words of those limits; each
common answer is provoked on every operation whose document shows it, over real HTTP (raw sockets for
the stalled requests, run side by side), and the answer must be the example exactly, with the headers the
document declares for it. Each operation shows exactly the common answers that apply to it.
"""

from __future__ import annotations

import itertools
import json
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from promojobs.api import operation_docs as docs
from promojobs.api.operation_docs.common import CommonAnswer, common_answers
from promojobs.services import throttle
from tests.api.test_openapi_examples import served_document, served_operations
from tests.support import LiveServer, SetClock

MakeServer = Callable[..., LiveServer]
LIMITS = {
    "max_body_bytes": 2048,
    "max_url_bytes": 2048,
    "max_header_bytes": 4096,
    "max_headers": 30,
    "header_timeout_seconds": 0.5,
    "body_timeout_seconds": 0.5,
    # One request a store, then the bucket refills one token every 2 s: "retry in 2 s".
    "rate_limit_per_second": 0.5,
    "rate_limit_burst": 1,
    "login_max_failures": 1,
}
COMMON_STATUSES = frozenset({"408", "413", "414", "431", "429"})
STALLED = frozenset({"stalled_head", "stalled_body"})
DEADLINES = frozenset({"header_timeout_seconds", "body_timeout_seconds"})
GENEROUS = 30.0  # seconds to wait for what the server must do after its own short deadline
_stores = itertools.count()
_addresses = itertools.count(40)  # loopback addresses of the failed logins, one a case (127.0.0.40, ...)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: Any


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    operation: dict[str, Any]
    common: CommonAnswer

    @property
    def target(self) -> str:
        """The path with parameters naming nothing: these answers come before any route looks."""
        return self.path.format(**docs.UNKNOWN)

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path} {self.common.example.summary!r}"


def _cases(document: dict[str, Any], answers: tuple[CommonAnswer, ...]) -> Iterator[Case]:
    for method, path, operation in served_operations(document):
        statuses = {int(status) for status in operation["responses"]}
        secured = bool(operation.get("security"))
        for answer in answers:
            if answer.applies_to(statuses, secured=secured):
                yield Case(method, path, operation, answer)


def _shown(operation: dict[str, Any], status: str) -> dict[str, Any]:
    """The examples the document shows under ``status``, by summary."""
    content = operation["responses"].get(status, {}).get("content", {})
    return {
        shown["summary"]: shown for media in content.values() for shown in media.get("examples", {}).values()
    }


# ---- provoking each answer ----


def _answer(response: httpx.Response) -> Answer:
    return Answer(response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.json())


def _raw(server: LiveServer, request: bytes) -> Answer:
    """Send ``request`` (perhaps unfinished) and read the answer until the server closes."""
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=GENEROUS) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65_536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return Answer(int(status_line.split()[1]), headers, json.loads(body))


def _head(case: Case, *lines: str) -> bytes:
    return "\r\n".join([f"{case.method.upper()} {case.target} HTTP/1.1", "Host: promojobs", *lines]).encode()


def _provoke(server: LiveServer, case: Case) -> list[Answer]:
    """Every way the case's answer is got (one or two)."""
    url = f"{server.base_url}{case.target}"
    settings = server.container.settings
    provocation = case.common.provocation
    method = case.method.upper()
    if provocation == "large_body":
        too_large = b" " * (settings.max_body_bytes + 1)
        json_body = {"content-type": "application/json"}
        announced = httpx.request(method, url, content=too_large, headers=json_body, timeout=GENEROUS)
        streamed = httpx.request(method, url, content=iter([too_large]), headers=json_body, timeout=GENEROUS)
        assert "content-length" not in streamed.request.headers
        return [_answer(announced), _answer(streamed)]
    if provocation == "long_target":
        long_query = {"q": "q" * settings.max_url_bytes}
        return [_answer(httpx.request(method, url, params=long_query, timeout=GENEROUS))]
    if provocation == "many_headers":
        lines = {f"x-line-{index}": "1" for index in range(settings.max_headers + 1)}
        large = {"x-large": "l" * (settings.max_header_bytes + 1)}
        return [
            _answer(httpx.request(method, url, headers=headers, timeout=GENEROUS))
            for headers in (lines, large)
        ]
    if provocation == "stalled_head":
        return [_raw(server, _head(case, "Content-Type: application/json", ""))]
    if provocation == "stalled_body":
        return [_raw(server, _head(case, "Content-Type: application/json", "Content-Length: 10", "", ""))]
    if provocation == "store_rate":
        token = server.token(f"rate-{next(_stores)}")
        headers = {"Authorization": f"Bearer {token}"}
        first = httpx.request(method, url, headers=headers, timeout=GENEROUS)  # the whole burst
        assert first.status_code != 429, first.text
        return [_answer(httpx.request(method, url, headers=headers, timeout=GENEROUS))]
    assert provocation == "failed_logins", provocation
    form = {"grant_type": "client_credentials", "client_id": f"guess-{next(_stores)}", "client_secret": "no"}
    transport = httpx.HTTPTransport(local_address=f"127.0.0.{next(_addresses)}")
    with httpx.Client(transport=transport, timeout=GENEROUS) as client:
        assert client.post(url, data=form).status_code == 401
        return [_answer(client.post(url, data=form))]


def _differences(case: Case, answer: Answer) -> list[str]:
    example = case.common.example
    if answer.status != example.status or answer.body != example.body:
        return [f"{answer.status} {answer.body} instead of {example.status} {example.body}"]
    declared = case.operation["responses"][str(example.status)].get("headers", {})
    return [
        f"header {name}: {answer.headers.get(name.lower())!r} instead of {example.headers.get(name)!r}"
        for name in declared
        if answer.headers.get(name.lower()) != example.headers.get(name)
    ]


# ---- the tests ----


def test_openapi__each_operation_shows_the_common_answers_that_apply_to_it_in_the_words_of_its_limits(
    make_server: MakeServer,
) -> None:
    server = make_server(embedded_worker=False, **LIMITS)
    document = served_document(server)
    answers = common_answers(server.container.settings)
    assert {answer.provocation for answer in answers} == {
        "large_body",
        "long_target",
        "many_headers",
        "stalled_head",
        "stalled_body",
        "store_rate",
        "failed_logins",
    }
    expected: dict[tuple[str, str, str], set[str]] = {}
    for case in _cases(document, answers):
        where = (case.method, case.path, str(case.common.example.status))
        expected.setdefault(where, set()).add(case.common.example.summary)
        shown = _shown(case.operation, where[2])[case.common.example.summary]
        assert shown["value"] == case.common.example.body, case
        assert case.common.how in shown["description"], case
    for method, path, operation in served_operations(document):
        for status in COMMON_STATUSES & set(operation["responses"]):
            assert set(_shown(operation, status)) == expected.get((method, path, status), set()), (
                method,
                path,
                status,
            )
    # The words of this server's limits, not the defaults.
    too_large = next(answer for answer in answers if answer.provocation == "large_body").example.body
    assert "at most 2048 bytes" in json.dumps(too_large)


def test_openapi__every_common_answer_is_what_the_live_server_answers_on_every_operation_showing_it(
    make_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = make_server(embedded_worker=False, **LIMITS)
    document = served_document(server)
    cases = list(_cases(document, common_answers(server.container.settings)))
    assert len(cases) >= 5 * 30
    # The rate limits first, on the stopped clock (the server runs in this process), while this server is
    # the only one: a second would take half of each store's rate. Then the clock runs again.
    limited = [case for case in cases if case.common.example.status == 429]
    stalled = [case for case in cases if case.common.provocation in STALLED]
    rest = [case for case in cases if case not in limited and case not in stalled]
    with monkeypatch.context() as patch:
        # Stopped: the wait a 429 states is counted from the request before in whole seconds, so a slow
        # machine would otherwise answer "retry in 1 s" where the example says 2.
        patch.setattr(throttle, "time", SetClock(time.monotonic()))
        answered = [_provoke(server, case) for case in limited]
    # The same limits with the default deadlines, for every answer but the 408s, side by side: with half a
    # second, a connection whose request a busy client thread has not sent yet is closed unanswered, as a
    # silent connection is, and the client reads a reset where the answer was to be. The 408s come last,
    # side by side too (each waits for the deadline), with the machine to themselves.
    patient = make_server(embedded_worker=False, **{k: v for k, v in LIMITS.items() if k not in DEADLINES})
    with ThreadPoolExecutor(max_workers=16) as pool:
        answered += pool.map(lambda case: _provoke(patient, case), rest)
    with ThreadPoolExecutor(max_workers=16) as pool:
        answered += pool.map(lambda case: _provoke(server, case), stalled)
    cases = limited + rest + stalled
    failures = [
        f"{case}: {found}"
        for case, answers in zip(cases, answered, strict=True)
        for answer in answers
        for found in _differences(case, answer)
    ]
    assert not failures, "\n".join(failures)
