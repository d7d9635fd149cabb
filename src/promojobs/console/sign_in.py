"""Signing in to the console with a client id and secret (the API's own token grant), and out again."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from promojobs.console.api import ApiRefusal, InProcessApi
from promojobs.console.session import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    end_session,
    new_seed,
    session_token,
    set_cookie,
)
from promojobs.console.web import posted_form, redirect, render, router


@router.get("")
async def home(request: Request) -> Response:
    return redirect("/console/promotions" if session_token(request) else "/console/login")


@router.get("/login")
async def login_page(request: Request) -> Response:
    notice = None
    if request.query_params.get("ended"):
        notice = "Your session has ended. Sign in again."
    elif request.query_params.get("out"):
        notice = "You are signed out."
    return render(request, "login.html", notice=notice, client_id="")


@router.post("/login")
async def login(request: Request) -> Response:
    form = await posted_form(request)
    client_id, secret = form.get("client_id", "").strip(), form.get("client_secret", "")
    if not client_id or not secret:
        return render(
            request, "login.html", 400, error="Enter a client id and a client secret.", client_id=client_id
        )
    async with InProcessApi(request, None) as api:
        try:
            grant = await api.sign_in(client_id, secret)
        except ApiRefusal as refusal:
            return render(request, "login.html", refusal.status, error=str(refusal), client_id=client_id)
    token = str(grant["access_token"])
    # The grant's own lifetime, not `expires` minus our clock: that differs by a second when a second
    # turns between the grant and here.
    lifetime = max(1, int(grant["expires_in"]))
    response = redirect("/console/promotions")
    set_cookie(request, response, SESSION_COOKIE, token, lifetime)
    set_cookie(request, response, CSRF_COOKIE, new_seed(), None)  # a new seed for the new session
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await posted_form(request)
    response = redirect("/console/login?out=1")
    end_session(request, response)
    return response
