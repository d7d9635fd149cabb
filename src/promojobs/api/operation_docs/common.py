"""The answers an operation may get whatever its route does: the HTTP edge's refusals (413 a body too
large, 414 a request target too long, 431 too many headers, 408 a head or a body that stops arriving) and
the rate limits (429), each in the words of the server's own limits, so that the document a server serves
states its settings.

Unlike the examples of ``OPERATION_DOCS`` these are built from the settings, and the server's messages are
shared with it (``EdgeLimits``, ``middleware.body_too_large``, ``services.throttle``).
tests/api/test_openapi_common_answers.py provokes each of them on every operation that documents it, on a
server with small limits, and compares the answer with that server's document.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from promojobs.api.edge import TITLES, EdgeLimits
from promojobs.api.middleware import body_too_large
from promojobs.api.operation_docs.base import Example, error_body
from promojobs.config import Settings
from promojobs.domain.errors import RateLimited
from promojobs.services.throttle import (
    LOGIN_WINDOW_SECONDS,
    logins_throttled,
    store_rate_limited,
    wait_for_one_token,
    whole_seconds,
)

# How a test gets each answer.
Provocation = Literal[
    "large_body", "long_target", "many_headers", "stalled_head", "stalled_body", "store_rate", "failed_logins"
]
# Which operations answer it: any; those that take a body (and so document 413); those that need a
# bearer token; the token endpoint (no bearer token, client credentials).
Applies = Literal["any", "body", "bearer", "credentials"]


@dataclass(frozen=True)
class CommonAnswer:
    provocation: Provocation
    applies: Applies
    example: Example
    how: str  # what gets it, the example's description in the document

    def applies_to(self, statuses: Collection[int], *, secured: bool) -> bool:
        """Whether an operation that documents ``statuses`` (and needs a bearer token if ``secured``)
        gets this answer."""
        if self.example.status not in statuses:
            return False
        if self.applies == "body":
            return 413 in statuses
        if self.applies == "bearer":
            return secured
        if self.applies == "credentials":
            return not secured
        return True


def common_answers(settings: Settings) -> tuple[CommonAnswer, ...]:
    """Every common answer of a server with these settings (the store rate limit's only when it is on)."""
    edge = EdgeLimits.from_settings(settings)
    answers = [
        _edge(
            "large_body",
            "body",
            413,
            "A body over the size limit",
            body_too_large(settings.max_body_bytes),
            f"a body of more than {settings.max_body_bytes} bytes, announced by `Content-Length` or streamed",
            title="Payload Too Large",
        ),
        _edge(
            "long_target",
            "any",
            414,
            "A request target over the size limit",
            edge.target_too_long(),
            f"a path and query of more than {edge.max_url_bytes} bytes; the connection is closed",
        ),
        _edge(
            "many_headers",
            "any",
            431,
            "Too many header lines or bytes",
            edge.headers_too_large(),
            f"more than {edge.max_headers} header lines, or more than {edge.max_header_bytes} bytes of "
            "header names and values; the connection is closed",
        ),
        _edge(
            "stalled_head",
            "any",
            408,
            "Headers that stop arriving",
            edge.head_too_slow(),
            f"a request head not complete {edge.header_timeout_seconds:g} seconds after it began; the "
            "connection is closed",
        ),
        _edge(
            "stalled_body",
            "body",
            408,
            "A body that stops arriving",
            edge.body_too_slow(),
            f"no byte of the announced body for {edge.body_timeout_seconds:g} seconds; the connection is "
            "closed",
        ),
        _limited(
            "failed_logins",
            "credentials",
            "Too many failed token requests",
            logins_throttled(whole_seconds(LOGIN_WINDOW_SECONDS)),
            f"{settings.login_max_failures} failed token requests within {LOGIN_WINDOW_SECONDS:g} seconds "
            "for the client id, or from the address: the next ones wait, right secret or not",
        ),
    ]
    if settings.rate_limit_per_second > 0:
        # Right after the burst is spent the bucket is one token short (one API process; N processes each
        # allow 1/N of the rate).
        answers.append(
            _limited(
                "store_rate",
                "bearer",
                "The store's rate limit",
                store_rate_limited(wait_for_one_token(1, settings.rate_limit_per_second)),
                f"more than {settings.rate_limit_burst} requests of the store in one burst, then more than "
                f"{settings.rate_limit_per_second:g} a second",
            )
        )
    return tuple(answers)


def _edge(
    provocation: Provocation,
    applies: Applies,
    status: int,
    summary: str,
    detail: str,
    how: str,
    *,
    title: str | None = None,
) -> CommonAnswer:
    body = error_body(status, title or TITLES[status], detail)
    return CommonAnswer(provocation, applies, Example(summary, status, body), how)


def _limited(
    provocation: Provocation, applies: Applies, summary: str, limited: RateLimited, how: str
) -> CommonAnswer:
    body = error_body(429, limited.title, limited.detail)
    headers = {"Retry-After": str(limited.retry_after_seconds)}
    return CommonAnswer(provocation, applies, Example(summary, 429, body, headers=headers), how)
