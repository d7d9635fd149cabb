"""Elastic Path offset pagination: `page[limit]`, `page[offset]`, list `meta` and `links`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from promojobs.domain.errors import ValidationFailed

__all__ = [
    "DEFAULT_PAGE_LIMIT",
    "MAX_PAGE_LIMIT",
    "MAX_PAGE_OFFSET",
    "PageRequest",
    "page_links",
    "page_meta",
    "parse_page",
]

DEFAULT_PAGE_LIMIT = 25
MAX_PAGE_LIMIT = 100
MAX_PAGE_OFFSET = 10_000

_MAX_RAW_CHARS = 20
_QUERY_SAFE = "(),:*$-_.@"


@dataclass(frozen=True)
class PageRequest:
    """A validated page window: ``limit`` records starting at zero-based record ``offset``."""

    limit: int
    offset: int


def _parse_bound(raw: str | None, *, name: str, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    text = raw.strip(" ")
    digits = text[1:] if text[:1] in {"+", "-"} else text
    # ``str.isdigit`` alone would accept non-ASCII digits ("٣") and ``int()`` would accept "1_000".
    if not (digits.isascii() and digits.isdigit()):
        raise ValidationFailed(f"{name} must be an integer", source=name, title="Bad Request")
    # A 21+ character integer is far outside any valid range; never hand it to ``int()``.
    if len(text) > _MAX_RAW_CHARS or not low <= int(text) <= high:
        raise ValidationFailed(f"{name} must be between {low} and {high}", source=name, title="Bad Request")
    return int(text)


def parse_page(
    limit_raw: str | None, offset_raw: str | None, *, default_limit: int = DEFAULT_PAGE_LIMIT
) -> PageRequest:
    """Validate the raw ``page[limit]`` and ``page[offset]`` query values (``None`` when absent).

    Raises ``ValidationFailed`` (source ``page[limit]`` or ``page[offset]``) for a value that is not a plain
    base-10 integer, a limit outside 1..100 or an offset outside 0..10000.
    """
    if not 1 <= default_limit <= MAX_PAGE_LIMIT:
        raise ValueError(f"default_limit must be between 1 and {MAX_PAGE_LIMIT}, got {default_limit}")
    limit = _parse_bound(limit_raw, name="page[limit]", default=default_limit, low=1, high=MAX_PAGE_LIMIT)
    offset = _parse_bound(offset_raw, name="page[offset]", default=0, low=0, high=MAX_PAGE_OFFSET)
    return PageRequest(limit=limit, offset=offset)


def _page_count(total: int, limit: int) -> int:
    return -(-total // limit) if total > 0 else 0


def page_meta(page: PageRequest, total: int) -> dict[str, dict[str, int]]:
    """The list ``meta`` object: page size, offset, 1-based current page, page count and result count."""
    return {
        "page": {
            "limit": page.limit,
            "offset": page.offset,
            "current": page.offset // page.limit + 1,
            "total": _page_count(total, page.limit),
        },
        "results": {"total": total},
    }


def page_links(
    base_url: str,
    page: PageRequest,
    total: int,
    extra_query: Sequence[tuple[str, str]] = (),
) -> dict[str, str | None]:
    """The list ``links`` object (``current``, ``first``, ``last``, ``prev``, ``next``) as absolute URLs.

    ``prev`` is ``None`` on the first page and ``next`` is ``None`` when no records follow this page.
    ``extra_query`` pairs (e.g. ``("filter", "eq(status,completed)")``) are appended to every link.
    """
    limit = page.limit
    suffix = "".join(f"&{name}={quote(value, safe=_QUERY_SAFE)}" for name, value in extra_query)

    def link(offset: int) -> str:
        return f"{base_url}?page[offset]={offset}&page[limit]={limit}{suffix}"

    pages = _page_count(total, limit)
    return {
        "current": link(page.offset),
        "first": link(0),
        "last": link(max(0, (pages - 1) * limit)),
        "prev": None if page.offset == 0 else link(max(0, page.offset - limit)),
        "next": None if page.offset + limit >= total else link(page.offset + limit),
    }
