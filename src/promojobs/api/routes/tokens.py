"""POST /oauth/access_token (form-encoded), answered with top-level token fields as real clients expect."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from promojobs.api.deps import ContainerDep, json_response
from promojobs.api.responses import TokenResponse
from promojobs.domain.errors import InvalidCredentials, ValidationFailed

router = APIRouter(tags=["authentication"])
MAX_FIELD_CHARS = 200


async def _each_field_once(request: Request) -> None:
    """A field sent twice is refused: which of the two a server reads differs (FastAPI takes the last),
    and an ambiguous credential is one a proxy in front may have checked differently."""
    form = await request.form()  # parsed once: the Form() parameters reuse it
    for name in form:  # each name once; getlist has all its values
        if len(form.getlist(name)) > 1:
            shown = name[:40]  # the client chose it: echo a bounded part
            raise ValidationFailed(f"{shown} is given more than once", source=shown, title="Bad Request")


@router.post("/oauth/access_token", response_model=TokenResponse, dependencies=[Depends(_each_field_once)])
def access_token(
    request: Request,
    container: ContainerDep,
    grant_type: Annotated[str, Form(max_length=MAX_FIELD_CHARS)],
    client_id: Annotated[str, Form(max_length=MAX_FIELD_CHARS)],
    client_secret: Annotated[str | None, Form(max_length=MAX_FIELD_CHARS)] = None,
) -> Response:
    if not client_id:
        raise ValidationFailed("client_id is required", source="client_id", title="Bad Request")
    # Failed attempts are counted per client id and per address; past the limit even the right secret waits.
    keys = (f"client:{client_id}", f"address:{request.client.host if request.client else '-'}")
    container.login_throttle.check(*keys)
    try:
        grant = container.auth.issue_token(grant_type, client_id, client_secret)
    except InvalidCredentials:
        container.login_throttle.failed(*keys)
        raise
    return json_response(grant.as_wire())
