"""Request dependencies: the container, the caller (from the bearer token), single-valued query parameters,
and helpers to answer with orjson."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import Response

from promojobs.bootstrap import Container
from promojobs.domain.errors import Forbidden, Unauthorized, ValidationFailed
from promojobs.domain.pagination import PageRequest, page_links, page_meta, parse_page
from promojobs.services.auth import IMPLICIT, Principal

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
    public = container.settings.public_url
    root = public.rstrip("/") if public else str(request.base_url).rstrip("/")
    return root + request.url.path


def json_response(body: Any, status_code: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")


def list_response(
    request: Request,
    container: Container,
    data: list[Any],
    page: PageRequest,
    total: int,
    raw_filter: str | None,
) -> Response:
    extra = [("filter", raw_filter)] if raw_filter else []
    return json_response(
        {
            "data": data,
            "links": page_links(base_url(request, container), page, total, extra),
            "meta": page_meta(page, total),
        }
    )
