"""The console's pages and form posts. Each one calls the public API in-process (console.api) with the
session's token; the only thing read directly is the keyspace verdict, through the API's own rule."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from promojobs.api.schemas import PromotionType
from promojobs.bootstrap import Container
from promojobs.console import keyspace
from promojobs.console.api import ApiRefusal, InProcessApi
from promojobs.console.session import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SESSION_COOKIE,
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
from promojobs.domain.progress import RateMeter, format_duration, format_rate, job_lifetime_seconds

HERE = Path(__file__).parent
STATIC_FILES = {"console.css": "text/css", "console.js": "text/javascript"}
PAGE_SIZE = 20
ACTIVE = ("pending", "processing", "cancelling")
FINAL = ("completed", "failed", "cancelled")
EVENT_POLL_SECONDS = 0.25  # the server looks at the job this often; the browser is told of each change
KEEPALIVE_SECONDS = 15.0
PROMOTION_TYPES = get_args(PromotionType)
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


@dataclass(frozen=True)
class PromotionKind:
    """A kind of promotion the console lists. Rule promotions (/v2/rule-promotions) become a second one."""

    name: str
    label: str
    path: str


PROMOTION_KINDS = (PromotionKind("standard", "Standard", "/v2/promotions"),)


class SessionEnded(Exception):
    """No session (``expired`` False), or its token expired or was revoked: sign in again."""

    def __init__(self, expired: bool) -> None:
        super().__init__("session ended" if expired else "not signed in")
        self.expired = expired


def install(app: FastAPI) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per in-process call is noise
    app.include_router(router)
    app.add_exception_handler(SessionEnded, _session_ended)
    app.add_exception_handler(CsrfRefused, _csrf_refused)


# --- plumbing -----------------------------------------------------------------------------------------


def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def _key(request: Request) -> bytes:
    return console_key(_container(request).links.key)


def _render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
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


def _redirect(url: str) -> Response:
    response = RedirectResponse(url, status_code=303)
    response.headers.update(SECURITY_HEADERS)
    return response


class _Api(InProcessApi):
    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return await super().call(method, path, **kwargs)
        except ApiRefusal as refusal:
            if refusal.status == 401:
                raise SessionEnded(expired=True) from refusal
            raise


def _api(request: Request) -> _Api:
    token = session_token(request)
    if token is None:
        raise SessionEnded(expired=False)
    return _Api(request, token)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    check_form_token(_key(request), request, form.get(CSRF_FIELD))
    return {name: value for name, value in form.items() if isinstance(value, str)}


async def _session_ended(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SessionEnded)
    if request.url.path.endswith("/events") or request.url.path.endswith("/keyspace"):
        response: Response = Response('{"ended": true}', status_code=401, media_type="application/json")
    else:
        response = _redirect("/console/login?ended=1" if exc.expired else "/console/login")
    end_session(request, response)
    return response


async def _csrf_refused(request: Request, _exc: Exception) -> Response:
    return _render(
        request,
        "error.html",
        403,
        title="Form refused",
        message="This form came without its security token (or with an old one), so nothing was changed. "
        "Go back, reload the page and try again.",
    )


# --- sign in and out -----------------------------------------------------------------------------------


@router.get("")
async def home(request: Request) -> Response:
    return _redirect("/console/promotions" if session_token(request) else "/console/login")


@router.get("/login")
async def login_page(request: Request) -> Response:
    notice = None
    if request.query_params.get("ended"):
        notice = "Your session has ended. Sign in again."
    elif request.query_params.get("out"):
        notice = "You are signed out."
    return _render(request, "login.html", notice=notice, client_id="")


@router.post("/login")
async def login(request: Request) -> Response:
    form = await _form(request)
    client_id, secret = form.get("client_id", "").strip(), form.get("client_secret", "")
    if not client_id or not secret:
        return _render(
            request, "login.html", 400, error="Enter a client id and a client secret.", client_id=client_id
        )
    async with InProcessApi(request, None) as api:
        try:
            grant = await api.sign_in(client_id, secret)
        except ApiRefusal as refusal:
            return _render(request, "login.html", refusal.status, error=str(refusal), client_id=client_id)
    token = str(grant["access_token"])
    lifetime = max(1, int(grant["expires"]) - int(time.time()))
    response = _redirect("/console/promotions")
    set_cookie(request, response, SESSION_COOKIE, token, lifetime)
    set_cookie(request, response, CSRF_COOKIE, new_seed(), None)  # a new seed for the new session
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await _form(request)
    response = _redirect("/console/login?out=1")
    end_session(request, response)
    return response


# --- promotions ----------------------------------------------------------------------------------------


@router.get("/promotions")
async def promotions_page(request: Request) -> Response:
    async with _api(request) as api:
        return await _promotions(request, api)


async def _promotions(
    request: Request,
    api: _Api,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    rows: list[dict[str, Any]] = []
    for kind in PROMOTION_KINDS:
        listed = await api.call("GET", kind.path, params={"page[limit]": 100})
        for promotion in listed["data"]:
            codes = await api.call("GET", f"{kind.path}/{promotion['id']}/codes", params={"page[limit]": 1})
            rows.append({"kind": kind, "promotion": promotion, "codes": codes["meta"]["results"]["total"]})
    return _render(
        request,
        "promotions.html",
        status,
        rows=rows,
        error=error,
        form=form or {"currency": "USD", "promotion_type": "fixed_discount"},
        promotion_types=PROMOTION_TYPES,
    )


@router.post("/promotions")
async def create_promotion(request: Request) -> Response:
    form = await _form(request)
    async with _api(request) as api:
        try:
            fields = _promotion_fields(form)
            created = await api.call("POST", "/v2/promotions", json={"data": fields})
        except (ApiRefusal, _FormError) as problem:
            status = problem.status if isinstance(problem, ApiRefusal) else 400
            return await _promotions(request, api, status, str(problem), form)
    return _redirect(f"/console/promotions/{quote(created['data']['id'])}?notice=created")


class _FormError(Exception):
    pass


def _promotion_fields(form: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "type": "promotion",
        "name": form.get("name", "").strip(),
        "description": form.get("description", ""),
        "promotion_type": form.get("promotion_type", "fixed_discount"),
        "enabled": form.get("enabled") == "on",
        "automatic": form.get("automatic") == "on",
    }
    amount = form.get("amount", "").strip()
    if not amount.isascii() or not amount.isdigit():
        raise _FormError("Amount must be a whole number of minor units (1000 is 10.00).")
    fields["schema"] = {
        "currencies": [{"currency": form.get("currency", "USD").strip(), "amount": int(amount)}]
    }
    for name in ("start", "end"):
        if form.get(name, "").strip():
            fields[name] = form[name].strip()
    return fields


# --- one promotion -------------------------------------------------------------------------------------

NOTICES = {
    "created": "Promotion created.",
    "generate": "Code generation started.",
    "export": "Export started; the download button appears when the file is ready.",
    "cancel": "Cancel requested.",
}


@router.get("/promotions/{promotion_id}")
async def promotion_page(promotion_id: str, request: Request) -> Response:
    async with _api(request) as api:
        return await _promotion(request, api, promotion_id)


async def _promotion(
    request: Request,
    api: _Api,
    promotion_id: str,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    base = f"/v2/promotions/{quote(promotion_id, safe='')}"
    query = request.query_params
    try:
        promotion = (await api.call("GET", base))["data"]
    except ApiRefusal as refusal:
        return _render(request, "error.html", refusal.status, title="Not available", message=str(refusal))
    code_search = query.get("code", "").strip()
    codes, codes_error = await _page_of(
        api,
        f"{base}/codes",
        _offset(query.get("codes_offset")),
        f"eq(code,{code_search})" if code_search else None,
    )
    job_type, job_status = query.get("type", ""), query.get("status", "")
    clauses = [f"eq({n},{v})" for n, v in (("job_type", job_type), ("status", job_status)) if v]
    jobs, jobs_error = await _page_of(
        api, f"{base}/jobs", _offset(query.get("jobs_offset")), ":".join(clauses) or None
    )
    recent, _ = await _page_of(api, f"{base}/jobs", 0, None)
    recent_jobs = recent["data"] if recent else []
    current = next((j for j in recent_jobs if j["status"] in ACTIVE), recent_jobs[0] if recent_jobs else None)
    generate = form or {
        "count": "1000",
        "prefix": "",
        "length": "8",
        "max_uses": "",
        "consume_unit": "per_cart",
    }
    verdict = keyspace.judge(
        _container(request),
        _store_of(request),
        generate.get("count", ""),
        generate.get("prefix", ""),
        generate.get("length", "8"),
    )
    return _render(
        request,
        "promotion.html",
        status,
        promotion=promotion,
        codes=codes,
        codes_error=codes_error,
        code_search=code_search,
        jobs=jobs,
        jobs_error=jobs_error,
        job_type=job_type,
        job_status=job_status,
        current=current and _progress(current, RateMeter()),
        generate=generate,
        verdict=verdict,
        error=error,
        notice=NOTICES.get(query.get("notice", "")),
        page_size=PAGE_SIZE,
        link=lambda **changes: _link(dict(query), changes),
    )


def _link(query: dict[str, str], changes: dict[str, object]) -> str:
    """This page's address with some of its query changed (and no notice)."""
    merged = {**query, **{name: str(value) for name, value in changes.items()}}
    merged.pop("notice", None)
    return "?" + urlencode({name: value for name, value in merged.items() if value not in ("", "0")})


async def _page_of(
    api: _Api, path: str, offset: int, raw_filter: str | None
) -> tuple[dict[str, Any] | None, str | None]:
    params: dict[str, Any] = {"page[limit]": PAGE_SIZE, "page[offset]": offset}
    if raw_filter:
        params["filter"] = raw_filter
    try:
        return await api.call("GET", path, params=params), None
    except ApiRefusal as refusal:
        return None, str(refusal)


def _offset(value: str | None) -> int:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 10 else 0


def _store_of(request: Request) -> int:
    token = session_token(request)
    if token is None:
        raise SessionEnded(expired=False)
    try:
        return _container(request).auth.authenticate(token).store_id
    except Unauthorized as exc:
        raise SessionEnded(expired=True) from exc


@router.get("/promotions/{promotion_id}/keyspace")
async def keyspace_check(promotion_id: str, request: Request) -> Response:
    query = request.query_params
    verdict = keyspace.judge(
        _container(request),
        _store_of(request),
        query.get("count", ""),
        query.get("prefix", ""),
        query.get("length", "8"),
    )
    response = Response(json.dumps(verdict.as_json()), media_type="application/json")
    response.headers.update(SECURITY_HEADERS)
    return response


@router.post("/promotions/{promotion_id}/generate")
async def generate(promotion_id: str, request: Request) -> Response:
    form = await _form(request)
    async with _api(request) as api:
        try:
            parameters = _generate_parameters(form)
            body: dict[str, Any] = {
                "type": "promotion_job",
                "job_type": "code_generate",
                "parameters": parameters,
            }
            if form.get("name", "").strip():
                body["name"] = form["name"].strip()
            await api.call("POST", f"/v2/promotions/{quote(promotion_id, safe='')}/jobs", json={"data": body})
        except (ApiRefusal, _FormError, keyspace.NotAWholeNumber) as problem:
            status = problem.status if isinstance(problem, ApiRefusal) else 400
            return await _promotion(request, api, promotion_id, status, str(problem), form)
    return _redirect(f"/console/promotions/{quote(promotion_id, safe='')}?notice=generate#progress")


def _generate_parameters(form: dict[str, str]) -> dict[str, Any]:
    """The form as the API's parameters; the API checks them (and answers in its own words)."""
    parameters: dict[str, Any] = {"consume_unit": form.get("consume_unit", "per_cart")}
    for field, name, label in (
        ("count", "number_of_codes", "Number of codes"),
        ("length", "code_length", "Code length"),
        ("max_uses", "max_uses_per_code", "Max uses per code"),
    ):
        if form.get(field, "").strip():
            parameters[name] = keyspace.whole_number(form[field], label)
    if "number_of_codes" not in parameters:
        raise _FormError("Enter how many codes to generate.")
    if form.get("prefix"):
        parameters["code_prefix"] = form["prefix"]
    return parameters


@router.post("/promotions/{promotion_id}/export")
async def export(promotion_id: str, request: Request) -> Response:
    await _form(request)
    async with _api(request) as api:
        try:
            body = {"type": "promotion_job", "job_type": "code_export"}
            await api.call("POST", f"/v2/promotions/{quote(promotion_id, safe='')}/jobs", json={"data": body})
        except ApiRefusal as refusal:
            return await _promotion(request, api, promotion_id, refusal.status, str(refusal))
    return _redirect(f"/console/promotions/{quote(promotion_id, safe='')}?notice=export#progress")


@router.post("/promotions/{promotion_id}/jobs/{job_id}/cancel")
async def cancel(promotion_id: str, job_id: str, request: Request) -> Response:
    await _form(request)
    path = f"/v2/promotions/{quote(promotion_id, safe='')}/jobs/{quote(job_id, safe='')}/cancel"
    async with _api(request) as api:
        try:
            await api.call("POST", path)
        except ApiRefusal as refusal:
            return await _promotion(request, api, promotion_id, refusal.status, str(refusal))
    return _redirect(f"/console/promotions/{quote(promotion_id, safe='')}?notice=cancel#progress")


@router.get("/promotions/{promotion_id}/jobs/{job_id}/download")
async def download(promotion_id: str, job_id: str, request: Request) -> Response:
    path = f"/v2/promotions/{quote(promotion_id, safe='')}/jobs/{quote(job_id, safe='')}/file"
    async with _api(request) as api:
        try:
            link = await api.call("GET", path)
        except ApiRefusal as refusal:
            return _render(request, "error.html", refusal.status, title="No file", message=str(refusal))
    return _redirect(str(link["href"]))  # the signed, expiring link is the permission


# --- live progress -------------------------------------------------------------------------------------


def _progress(job: dict[str, Any], meter: RateMeter) -> dict[str, Any]:
    """What the bar shows, for the first render and for every server-sent event."""
    parameters = job.get("parameters") or {}
    total = int(parameters["number_of_codes"]) if job["job_type"] == "code_generate" else None
    generated = int((job.get("result") or {}).get("generated", 0))
    finished = job["status"] in FINAL
    estimate = meter.observe(time.monotonic(), generated, total, finished, job_lifetime_seconds(job))
    if total:
        counts = f"{generated:,} of {total:,} codes ({estimate.percent} %)"
    else:
        counts = "export " + ("ready" if job["status"] == "completed" else job["status"])
    deleted = (job.get("result") or {}).get("deleted")
    return {
        "id": job["id"],
        "job_type": job["job_type"],
        "status": job["status"],
        "final": finished,
        "value": generated if total else int(job["status"] == "completed"),
        "max": total or 1,
        "percent": estimate.percent if total else (100 if job["status"] == "completed" else 0),
        "counts": counts,
        "rate": format_rate(estimate.codes_per_second) if total and not finished else "",
        "eta": f"about {format_duration(estimate.seconds_left)} left" if total and not finished else "",
        "error": job.get("error") or ("" if deleted is None else f"{deleted:,} generated codes deleted"),
        "cancellable": job["status"] in ("pending", "processing"),
        "downloadable": job["job_type"] == "code_export" and job["status"] == "completed",
    }


@router.get("/promotions/{promotion_id}/jobs/{job_id}/events")
async def job_events(promotion_id: str, job_id: str, request: Request) -> Response:
    api = _api(request)
    path = f"/v2/promotions/{quote(promotion_id, safe='')}/jobs/{quote(job_id, safe='')}"

    async def events() -> AsyncIterator[str]:
        meter = RateMeter()
        last: dict[str, Any] | None = None
        quiet_since = time.monotonic()
        yield "retry: 2000\n\n"
        async with api:
            while True:
                try:
                    job = (await api.call("GET", path))["data"]
                except SessionEnded:
                    yield _event("ended", {"message": "Your session has ended. Sign in again."})
                    return
                except ApiRefusal as refusal:
                    yield _event("failure", {"message": str(refusal)})
                    return
                shown = _progress(job, meter)
                if shown != last:
                    yield _event("progress", shown)
                    last, quiet_since = shown, time.monotonic()
                elif time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
                    yield ": still here\n\n"
                    quiet_since = time.monotonic()
                if shown["final"]:
                    return
                await asyncio.sleep(EVENT_POLL_SECONDS)

    headers = {**SECURITY_HEADERS, "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


@router.get("/static/{name}")
async def static(name: str) -> Response:
    if name not in STATIC_FILES:
        return Response("Not Found", status_code=404)
    response = FileResponse(HERE / "static" / name, media_type=STATIC_FILES[name])
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
