"""Request dependencies: the container, the caller (from the bearer token), single-valued query parameters,
and helpers to answer with orjson.

No database call runs on the event loop: a caller whose token was seen in the last few seconds is
admitted from memory, any other is looked up in the thread pool; the routes that read are plain
functions, run in the thread pool like the ones that write."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from promojobs.api.cached_reads import ADMITTED, VERSION, read_cache_key, remembered
from promojobs.api.urls import public_root
from promojobs.bootstrap import Container
from promojobs.domain.errors import ValidationFailed
from promojobs.domain.pagination import PageCursors, PageKeys, PageRequest, page_links, page_meta, parse_page
from promojobs.services.auth import Principal

T = TypeVar("T")
_bearer = HTTPBearer(auto_error=False, description="A client_credentials token from POST /oauth/access_token")


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


async def promotion_principal(
    request: Request,
    container: ContainerDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],  # for the OpenAPI
) -> Principal:
    """The caller of a promotion route, by ``PromotionAccess`` (services/auth.py), which the read cache's
    fast path also uses: admitted there already, it is not admitted (nor rate-limited) twice.

    Async on purpose: a recently seen token is admitted from memory without a thread hop; a new one is
    looked up in the thread pool."""
    admitted: Principal | None = request.scope.get(ADMITTED)
    if admitted is not None:
        return admitted
    header = request.headers.get("authorization")
    principal = remembered(container.access, header)
    if principal is None:
        principal = await run_in_threadpool(container.access.admit, header)
    return principal


PrincipalDep = Annotated[Principal, Depends(promotion_principal)]


def single_query(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise ValidationFailed(f"{name} may be given only once", source=name)
    return values[0] if values else None


def page_of(request: Request, cursors: PageCursors, scope: str) -> PageRequest:
    """The page asked for: by ``page[offset]`` (Elastic Path's, at most 10,000) or by a ``page[cursor]``
    from the links of the list ``scope`` names."""
    limit_raw = single_query(request, "page[limit]")
    offset_raw = single_query(request, "page[offset]")
    cursor_raw = single_query(request, "page[cursor]")
    if cursor_raw is None:
        return parse_page(limit_raw, offset_raw)
    if offset_raw is not None:
        raise ValidationFailed("give page[offset] or page[cursor], not both", source="page[cursor]")
    return cursors.decode(scope, cursor_raw, limit_raw)


def cursor_scope(
    request: Request, caller: Principal, raw_filter: str | None, options: Sequence[tuple[str, str]] = ()
) -> str:
    """What a cursor is valid for: this store's list at this path with this filter and these options (a
    ``sort``: another order has other keys), nothing else."""
    chosen = "".join(f"\n{name}={value}" for name, value in options)
    return f"{caller.store_id}\n{request.url.path}\n{raw_filter or ''}{chosen}"


def base_url(request: Request, container: Container) -> str:
    return public_root(request, container.settings.public_url) + request.url.path


def json_response(body: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")


def cached_read(
    request: Request, caller: Principal, container: Container, body: Callable[[], Any]
) -> Response:
    """Answer a read from the read cache while the store's data has not changed, else with ``body()``.
    Blocking (a round trip for the store's version, unless the fast path just read it): call it from a
    plain route.

    The key is the caller's store and the full URL (host, path, filter, page): everything the answer
    depends on besides the data. Errors are raised by ``body()`` and never kept."""
    key = read_cache_key(caller.store_id, request.url)
    version = request.scope.get(VERSION) if request.scope.get(ADMITTED) is caller else None
    route = getattr(request.scope.get("route"), "path", "")
    content = container.read_cache.answer(key, lambda: orjson.dumps(body()), version, route)
    return Response(content, media_type="application/json")


def cached_list(
    request: Request,
    caller: Principal,
    container: Container,
    fetch: Callable[[PageRequest, str | None], tuple[Sequence[T], int]],
    render: Callable[[T], dict[str, Any]],
    key: Callable[[T], tuple[int, ...]] | None = None,
    options: Sequence[tuple[str, str]] = (),
) -> Response:
    """A list route: page and filter from the query, ``fetch`` them, render each record, links and meta.

    With ``key`` (the record's listing key, integers in the list's order on an index) the list seeks:
    ``fetch`` takes pages found by key, and the links past ``page[offset]``'s limit carry a cursor instead
    of None (without it they are None). ``options`` (name, value) are the list's other query parameters
    (``sort``): every link carries them, and a cursor is valid only with them."""

    def body() -> dict[str, Any]:
        raw_filter = single_query(request, "filter")
        scope = cursor_scope(request, caller, raw_filter, options)
        page = page_of(request, container.page_cursors, scope)
        records, total = fetch(page, raw_filter)
        links = page_links(
            base_url(request, container),
            page,
            total,
            [*([("filter", raw_filter)] if raw_filter else []), *options],
            cursor=None if key is None else partial(container.page_cursors.encode, scope),
            keys=PageKeys(key(records[0]), key(records[-1])) if key is not None and records else None,
        )
        return {"data": [render(r) for r in records], "links": links, "meta": page_meta(page, total)}

    return cached_read(request, caller, container, body)
