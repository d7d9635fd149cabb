"""The console's session: the API token in an HttpOnly cookie, and CSRF tokens bound to it.

The browser never holds the client secret: sign-in exchanges it for a token, and only the token is kept,
in a cookie JavaScript cannot read, sent only to same-site requests (SameSite=Strict), over HTTPS only
when the console is served over HTTPS, and dropped when the token expires (Max-Age = its lifetime).

CSRF: a random ``pj_csrf`` cookie, and in every form that changes anything a hidden field that is the HMAC
of that cookie and the session token under a key derived from the server's signing key. A forged form
cannot know the field (the cookie is HttpOnly and another site cannot read this one's pages), and a value
copied from another session does not verify against this one's token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from starlette.responses import Response

SESSION_COOKIE = "pj_session"
CSRF_COOKIE = "pj_csrf"
CSRF_FIELD = "csrf_token"
COOKIE_PATH = "/console"
MAX_COOKIE_CHARS = 200


class CsrfRefused(Exception):
    """A form that changes something came without a valid CSRF token."""


def console_key(signing_key: bytes) -> bytes:
    return hmac.new(signing_key, b"promojobs console csrf", hashlib.sha256).digest()


def session_token(request: Request) -> str | None:
    token = request.cookies.get(SESSION_COOKIE)
    return token if token and len(token) <= MAX_COOKIE_CHARS else None


def csrf_seed(request: Request) -> str | None:
    seed = request.cookies.get(CSRF_COOKIE)
    return seed if seed and len(seed) <= MAX_COOKIE_CHARS else None


def new_seed() -> str:
    return secrets.token_urlsafe(32)


def form_token(key: bytes, seed: str, session: str | None) -> str:
    return hmac.new(key, f"{seed}\n{session or ''}".encode(), hashlib.sha256).hexdigest()


def check_form_token(key: bytes, request: Request, submitted: object) -> None:
    seed = csrf_seed(request)
    if seed is None or not isinstance(submitted, str) or not submitted:
        raise CsrfRefused()
    expected = form_token(key, seed, session_token(request))
    if not hmac.compare_digest(expected.encode(), submitted.encode("utf-8", "surrogatepass")):
        raise CsrfRefused()


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def end_session(request: Request, response: Response) -> None:
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(
            name, path=COOKIE_PATH, httponly=True, samesite="strict", secure=_secure(request)
        )
