"""The root the API's absolute URLs start with (pagination links, export file links)."""

from __future__ import annotations

from starlette.requests import Request


def public_root(request: Request, public_url: str | None) -> str:
    """``PROMOJOBS_PUBLIC_URL`` when set (behind a proxy the request's own host may be internal), else the
    root the request came in on; without a trailing slash."""
    return public_url.rstrip("/") if public_url else str(request.base_url).rstrip("/")
