"""Elastic Path offset pagination: `page[limit]`, `page[offset]`, list `meta` and `links`, and the
signed `page[cursor]` that the links past `page[offset]`'s limit carry on the lists that seek by key.

A client may give ``page[offset]`` up to 10,000, as Elastic Path allows. A link to a page further on would
be refused in that form, so on a list ordered by a key of integers (a promotion's codes by id, which reach
millions) it carries an opaque cursor instead: the page's position (for ``meta``) and where to seek on the
listing index (after the last key seen, or the rows before the first one), so a deep page costs no scan.
A list that cannot seek never emits a link past the limit (``None``, like ``next`` on the last page)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from promojobs.domain.errors import ValidationFailed

__all__ = [
    "DEFAULT_PAGE_LIMIT",
    "MAX_PAGE_LIMIT",
    "MAX_PAGE_OFFSET",
    "KeySeek",
    "PageCursors",
    "PageKeys",
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
class KeySeek:
    """Where a page starts on the listing index instead of by counting ``offset`` rows: the ``take`` rows
    after ``key`` (forward), or the ``take`` rows just before it (backward; ``key`` None: the last rows)."""

    forward: bool
    key: tuple[int, ...] | None
    take: int


@dataclass(frozen=True)
class PageRequest:
    """A validated page window: ``limit`` records starting at zero-based record ``offset``; with ``seek``
    (from a cursor) the rows are found by key and ``offset`` is the position reported in ``meta``."""

    limit: int
    offset: int
    seek: KeySeek | None = None


@dataclass(frozen=True)
class PageKeys:
    """The listing keys of the first and last record on the page served: where its neighbours start."""

    first: tuple[int, ...]
    last: tuple[int, ...]


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


CursorEncoder = Callable[[PageRequest], str]


def page_links(
    base_url: str,
    page: PageRequest,
    total: int,
    extra_query: Sequence[tuple[str, str]] = (),
    *,
    cursor: CursorEncoder | None = None,
    keys: PageKeys | None = None,
) -> dict[str, str | None]:
    """The list ``links`` object (``current``, ``first``, ``last``, ``prev``, ``next``) as absolute URLs.

    ``prev`` is ``None`` on the first page and ``next`` is ``None`` when no records follow this page.
    ``extra_query`` pairs (e.g. ``("filter", "eq(status,completed)")``) are appended to every link.
    A page past ``MAX_PAGE_OFFSET`` is linked with ``cursor`` (the list seeks by key; ``keys`` are those of
    the page served), or not at all (``None``) when the list cannot seek or the neighbour has no key to
    start from: every link emitted is one the server answers.
    """
    limit = page.limit
    suffix = "".join(f"&{name}={quote(value, safe=_QUERY_SAFE)}" for name, value in extra_query)

    def link(target: PageRequest | None) -> str | None:
        return _link(base_url, suffix, cursor, target)

    def deep(offset: int, seek: KeySeek | None) -> PageRequest | None:
        return _reachable(limit, offset, seek)

    last_offset = max(0, (_page_count(total, limit) - 1) * limit)
    prev_offset = max(0, page.offset - limit)
    before_first = None if keys is None else KeySeek(False, keys.first, page.offset - prev_offset)
    after_last = None if keys is None else KeySeek(True, keys.last, limit)
    return {
        "current": link(page),
        "first": link(PageRequest(limit, 0)),
        "last": link(deep(last_offset, KeySeek(forward=False, key=None, take=total - last_offset))),
        "prev": None if page.offset == 0 else link(deep(prev_offset, before_first)),
        "next": None if page.offset + limit >= total else link(deep(page.offset + limit, after_last)),
    }


def _link(base_url: str, suffix: str, cursor: CursorEncoder | None, target: PageRequest | None) -> str | None:
    if target is None:
        return None
    if target.seek is None:
        return f"{base_url}?page[offset]={target.offset}&page[limit]={target.limit}{suffix}"
    if cursor is None:
        return None
    return f"{base_url}?page[cursor]={cursor(target)}&page[limit]={target.limit}{suffix}"


def _reachable(limit: int, offset: int, seek: KeySeek | None) -> PageRequest | None:
    """The page at ``offset``: by offset within ``MAX_PAGE_OFFSET``, past it only by a seek."""
    if offset <= MAX_PAGE_OFFSET:
        return PageRequest(limit, offset)
    return None if seek is None else PageRequest(limit, offset, seek)


_CURSOR_MAC_BYTES = 16
_MAX_CURSOR_CHARS = 160


class PageCursors:
    """Signs and reads ``page[cursor]``: a position and a seek, bound by an HMAC to one list of one store
    (``scope``), so a cursor cannot be forged, altered or carried to another list."""

    def __init__(self, signing_key: bytes) -> None:
        # A key of its own, derived from the service's signing key: a cursor is never a download signature.
        self._key = hmac.new(signing_key, b"promojobs page cursor", hashlib.sha256).digest()

    def encode(self, scope: str, page: PageRequest) -> str:
        seek = page.seek
        assert seek is not None, "only a page found by key has a cursor"
        key = "" if seek.key is None else "_".join(str(part) for part in seek.key)
        payload = f"{page.offset}.{page.limit}.{'a' if seek.forward else 'b'}.{key}.{seek.take}".encode()
        token = payload + self._mac(scope, payload)
        return base64.urlsafe_b64encode(token).decode().rstrip("=")

    def decode(self, scope: str, raw: str, limit_raw: str | None) -> PageRequest:
        """The page a cursor names; ``ValidationFailed`` (source ``page[cursor]``) for anything this server
        did not issue for ``scope``, and (source ``page[limit]``) for a limit other than the cursor's."""
        page = self._read(scope, raw)
        if page is None:
            detail = "page[cursor] is not a cursor from this list's links"
            raise ValidationFailed(detail, source="page[cursor]", title="Bad Request")
        if limit_raw is not None and parse_page(limit_raw, None).limit != page.limit:
            raise ValidationFailed(
                f"page[limit] must be {page.limit}, the limit the cursor was issued for",
                source="page[limit]",
                title="Bad Request",
            )
        return page

    def _mac(self, scope: str, payload: bytes) -> bytes:
        signed = scope.encode("utf-8", "surrogatepass") + b"\n" + payload
        return hmac.new(self._key, signed, hashlib.sha256).digest()[:_CURSOR_MAC_BYTES]

    def _read(self, scope: str, raw: str) -> PageRequest | None:
        if not 0 < len(raw) <= _MAX_CURSOR_CHARS or not raw.isascii():
            return None
        try:
            token = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        except (binascii.Error, ValueError):
            return None
        if base64.urlsafe_b64encode(token).decode().rstrip("=") != raw:
            return None  # one spelling per cursor: no unused bits to vary, no padding, no other alphabet
        payload, mac = token[:-_CURSOR_MAC_BYTES], token[-_CURSOR_MAC_BYTES:]
        if len(token) <= _CURSOR_MAC_BYTES or not hmac.compare_digest(mac, self._mac(scope, payload)):
            return None
        offset, limit, direction, key, take = payload.decode().split(".")
        parts = tuple(int(part) for part in key.split("_")) if key else None
        seek = KeySeek(forward=direction == "a", key=parts, take=int(take))
        return PageRequest(limit=int(limit), offset=int(offset), seek=seek)
