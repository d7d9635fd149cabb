"""What every console page shares: the router, rendering with the form token and security headers, the
session's in-process API client, form posts checked against their token, and the two ways a page ends
early (the session ended, a form came without its token)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from promojobs.bootstrap import Container
from promojobs.console.api import ApiRefusal, InProcessApi
from promojobs.console.session import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CsrfRefused,
    check_form_token,
    console_key,
    csrf_seed,
    end_session,
    form_token,
    new_seed,
    session_token,
    set_cookie,
)
from promojobs.domain.errors import Unauthorized

HERE = Path(__file__).parent
STATIC_FILES = {"console.css": "text/css", "console.js": "text/javascript"}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

router = APIRouter(prefix="/console", include_in_schema=False)
templates = Jinja2Templates(directory=HERE / "templates")


class SessionEnded(Exception):
    """No session (``expired`` False), or its token expired or was revoked: sign in again."""

    def __init__(self, expired: bool) -> None:
        super().__init__("session ended" if expired else "not signed in")
        self.expired = expired


class FormError(Exception):
    """A form the console refuses before asking the API (the API's own refusals are ``ApiRefusal``)."""


@dataclass(frozen=True)
class Refused:
    """Why a form post is answered with its page again: the status, the message, and the form as sent."""

    status: int
    message: str
    form: dict[str, str] | None = None

    @classmethod
    def of(cls, problem: Exception, form: dict[str, str] | None = None) -> Refused:
        status = problem.status if isinstance(problem, ApiRefusal) else 400
        return cls(status, str(problem), form)


def install_handlers(app: FastAPI) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per in-process call is noise
    app.add_exception_handler(SessionEnded, _session_ended)
    app.add_exception_handler(CsrfRefused, _csrf_refused)


def container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


def _key(request: Request) -> bytes:
    return console_key(container(request).links.key)


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    seed = csrf_seed(request) or new_seed()
    context.update(
        csrf_field=CSRF_FIELD,
        csrf=form_token(_key(request), seed, session_token(request)),
        signed_in=session_token(request) is not None,
    )
    response = templates.TemplateResponse(request, template, context, status_code=status)
    if csrf_seed(request) is None:
        set_cookie(request, response, CSRF_COOKIE, seed, None)
    response.headers.update(SECURITY_HEADERS)
    return response


def redirect(url: str) -> Response:
    response = RedirectResponse(url, status_code=303)
    response.headers.update(SECURITY_HEADERS)
    return response


class SessionApi(InProcessApi):
    """The API as the session's token sees it; a 401 ends the session."""

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return await super().call(method, path, **kwargs)
        except ApiRefusal as refusal:
            if refusal.status == 401:
                raise SessionEnded(expired=True) from refusal
            raise


def session_api(request: Request) -> SessionApi:
    token = session_token(request)
    if token is None:
        raise SessionEnded(expired=False)
    return SessionApi(request, token)


def store_of(request: Request) -> int:
    token = session_token(request)
    if token is None:
        raise SessionEnded(expired=False)
    try:
        return container(request).auth.authenticate(token).store_id
    except Unauthorized as exc:
        raise SessionEnded(expired=True) from exc


async def posted_form(request: Request) -> dict[str, str]:
    form = await request.form()
    check_form_token(_key(request), request, form.get(CSRF_FIELD))
    return {name: value for name, value in form.items() if isinstance(value, str)}


async def _session_ended(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SessionEnded)
    if request.url.path.endswith("/events") or request.url.path.endswith("/keyspace"):
        response: Response = Response('{"ended": true}', status_code=401, media_type="application/json")
    else:
        response = redirect("/console/login?ended=1" if exc.expired else "/console/login")
    end_session(request, response)
    return response


async def _csrf_refused(request: Request, _exc: Exception) -> Response:
    return render(
        request,
        "error.html",
        403,
        title="Form refused",
        message="This form came without its security token (or with an old one), so nothing was changed. "
        "Go back, reload the page and try again.",
    )


@router.get("/static/{name}")
async def static(name: str) -> Response:
    if name not in STATIC_FILES:
        return Response("Not Found", status_code=404)
    response = FileResponse(HERE / "static" / name, media_type=STATIC_FILES[name])
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
