"""Request dependencies: the container, the caller (from the bearer token), single-valued query parameters,
and helpers to answer with orjson."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import Response

from promojobs.api.cached_reads import read_cache_key
from promojobs.api.urls import public_root
from promojobs.bootstrap import Container
from promojobs.domain.errors import Forbidden, Unauthorized, ValidationFailed
from promojobs.domain.pagination import PageRequest, page_links, page_meta, parse_page
from promojobs.services.auth import IMPLICIT, Principal

T = TypeVar("T")
_bearer = HTTPBearer(auto_error=False, description="A client_credentials token from POST /oauth/access_token")


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


async def promotion_principal(
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller of a promotion route: a valid client_credentials token (implicit tokens are read-only
    storefront tokens with no access to promotions).

    Async on purpose: a recently seen token is answered from memory without a thread hop; a new one costs
    one indexed lookup on the event loop."""
    if credentials is None or not credentials.credentials or len(credentials.credentials) > 200:
        raise Unauthorized()
    principal = container.auth.authenticate(credentials.credentials)
    if principal.grant_type == IMPLICIT:
        raise Forbidden()
    container.store_rate_limit.check(principal.store_id)
    return principal


PrincipalDep = Annotated[Principal, Depends(promotion_principal)]


def single_query(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise ValidationFailed(f"{name} may be given only once", source=name)
    return values[0] if values else None


def page_of(request: Request) -> PageRequest:
    return parse_page(single_query(request, "page[limit]"), single_query(request, "page[offset]"))


def base_url(request: Request, container: Container) -> str:
    return public_root(request, container.settings.public_url) + request.url.path


def json_response(body: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")


def cached_read(
    request: Request, caller: Principal, container: Container, body: Callable[[], Any]
) -> Response:
    """Answer a read from the read cache while the database has not changed, else with ``body()``.

    The key is the caller's store and the full URL (host, path, filter, page): everything the answer
    depends on besides the data. Errors are raised by ``body()`` and never kept."""
    key = read_cache_key(caller.store_id, request.url)
    content = container.read_cache.answer(key, lambda: orjson.dumps(body()))
    return Response(content, media_type="application/json")


def cached_list(
    request: Request,
    caller: Principal,
    container: Container,
    fetch: Callable[[PageRequest, str | None], tuple[Sequence[T], int]],
    render: Callable[[T], dict[str, Any]],
) -> Response:
    """A list route: page and filter from the query, ``fetch`` them, render each record, links and meta."""

    def body() -> dict[str, Any]:
        page = page_of(request)
        raw_filter = single_query(request, "filter")
        records, total = fetch(page, raw_filter)
        return list_body(request, container, [render(r) for r in records], page, total, raw_filter)

    return cached_read(request, caller, container, body)


def list_body(
    request: Request,
    container: Container,
    data: list[Any],
    page: PageRequest,
    total: int,
    raw_filter: str | None,
) -> dict[str, Any]:
    extra = [("filter", raw_filter)] if raw_filter else []
    return {
        "data": data,
        "links": page_links(base_url(request, container), page, total, extra),
        "meta": page_meta(page, total),
    }
