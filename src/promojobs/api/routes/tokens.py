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


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def _form_encoded(request: Request) -> None:
    """A body of another type (JSON, most often) would read as no fields at all and be answered
    "grant_type is required": say what is wrong instead."""
    content_type = request.headers.get("content-type")
    if content_type is None:
        return  # no body, or a bare one: the missing fields are the message
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in FORM_TYPES:
        raise ValidationFailed(
            "The token request must be sent as application/x-www-form-urlencoded "
            f"(grant_type=client_credentials&client_id=...&client_secret=...), not {media_type[:60]}",
            title="Bad Request",
        )


async def _each_field_once(request: Request) -> None:
    """A field sent twice is refused: which of the two a server reads differs (FastAPI takes the last),
    and an ambiguous credential is one a proxy in front may have checked differently."""
    form = await request.form()  # parsed once: the Form() parameters reuse it
    for name in form:  # each name once; getlist has all its values
        if len(form.getlist(name)) > 1:
            shown = name[:40]  # the client chose it: echo a bounded part
            raise ValidationFailed(f"{shown} is given more than once", source=shown, title="Bad Request")


@router.post(
    "/oauth/access_token",
    response_model=TokenResponse,
    dependencies=[Depends(_form_encoded), Depends(_each_field_once)],
)
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
