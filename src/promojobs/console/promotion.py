"""One promotion's page: its codes and jobs (searched, filtered, paged), the current job's progress, and
the forms that start a generate or export job, cancel one, or download an export."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.responses import Response

from promojobs.console import keyspace
from promojobs.console.api import ApiRefusal
from promojobs.console.kinds import PromotionKind, kind_of, kind_route
from promojobs.console.progress import ACTIVE, progress
from promojobs.console.web import (
    SECURITY_HEADERS,
    FormError,
    Refused,
    SessionApi,
    container,
    posted_form,
    redirect,
    render,
    session_api,
    store_of,
)
from promojobs.domain.progress import RateMeter

PAGE_SIZE = 20
NOTICES = {
    "created": "Promotion created.",
    "generate": "Code generation started.",
    "export": "Export started; the download button appears when the file is ready.",
    "cancel": "Cancel requested.",
}
GENERATE_DEFAULTS = {"count": "1000", "prefix": "", "length": "8", "max_uses": ""}


@kind_route("GET", "/{promotion_id}")
async def promotion_page(promotion_id: str, request: Request) -> Response:
    async with session_api(request) as api:
        return await _promotion(request, api, promotion_id)


async def _promotion(
    request: Request, api: SessionApi, promotion_id: str, refused: Refused | None = None
) -> Response:
    kind = kind_of(request)
    base = kind.api_path(promotion_id)
    query = request.query_params
    try:
        promotion = (await api.call("GET", base))["data"]
    except ApiRefusal as refusal:
        return render(request, "error.html", refusal.status, title="Not available", message=str(refusal))
    lists = {**await _codes(api, base, query), **await _jobs(api, base, query)}
    defaults = {**GENERATE_DEFAULTS, "consume_unit": kind.consume_units.default}
    generate = (refused.form if refused else None) or defaults
    return render(
        request,
        "promotion.html",
        refused.status if refused else 200,
        promotion=promotion,
        kind=kind,
        page_root=kind.page(promotion_id),
        **lists,
        generate=generate,
        verdict=await _verdict(request, generate),
        error=refused.message if refused else None,
        notice=NOTICES.get(query.get("notice", "")),
        page_size=PAGE_SIZE,
        link=lambda **changes: _link(dict(query), changes),
    )


async def _codes(api: SessionApi, base: str, query: QueryParams) -> dict[str, Any]:
    code_search = query.get("code", "").strip()
    codes, codes_error = await _page_of(
        api,
        f"{base}/codes",
        _offset(query.get("codes_offset")),
        f"eq(code,{code_search})" if code_search else None,
    )
    return {"codes": codes, "codes_error": codes_error, "code_search": code_search}


async def _jobs(api: SessionApi, base: str, query: QueryParams) -> dict[str, Any]:
    """The filtered page of jobs, and the job the progress bar follows (the active one, or the newest)."""
    job_type, job_status = query.get("type", ""), query.get("status", "")
    clauses = [f"eq({n},{v})" for n, v in (("job_type", job_type), ("status", job_status)) if v]
    jobs, jobs_error = await _page_of(
        api, f"{base}/jobs", _offset(query.get("jobs_offset")), ":".join(clauses) or None
    )
    recent, _ = await _page_of(api, f"{base}/jobs", 0, None)
    recent_jobs = recent["data"] if recent else []
    current = next((j for j in recent_jobs if j["status"] in ACTIVE), recent_jobs[0] if recent_jobs else None)
    return {
        "jobs": jobs,
        "jobs_error": jobs_error,
        "job_type": job_type,
        "job_status": job_status,
        "current": current and progress(current, RateMeter()),
    }


async def _verdict(request: Request, fields: Mapping[str, str]) -> keyspace.Verdict:
    """The keyspace check reads the session's token and the store's codes from the database: in the
    request thread pool, as the API's routes read, never on the event loop."""
    return await run_in_threadpool(_judge, request, fields)


def _judge(request: Request, fields: Mapping[str, str]) -> keyspace.Verdict:
    return keyspace.judge(
        container(request),
        store_of(request),
        fields.get("count", ""),
        fields.get("prefix", ""),
        fields.get("length", "8"),
    )


def _link(query: dict[str, str], changes: dict[str, object]) -> str:
    """This page's address with some of its query changed (and no notice)."""
    merged = {**query, **{name: str(value) for name, value in changes.items()}}
    merged.pop("notice", None)
    return "?" + urlencode({name: value for name, value in merged.items() if value not in ("", "0")})


async def _page_of(
    api: SessionApi, path: str, offset: int, raw_filter: str | None
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


@kind_route("GET", "/{promotion_id}/keyspace")
async def keyspace_check(promotion_id: str, request: Request) -> Response:
    verdict = await _verdict(request, request.query_params)
    response = Response(json.dumps(verdict.as_json()), media_type="application/json")
    response.headers.update(SECURITY_HEADERS)
    return response


@kind_route("POST", "/{promotion_id}/generate")
async def generate(promotion_id: str, request: Request) -> Response:
    form = await posted_form(request)
    kind = kind_of(request)
    async with session_api(request) as api:
        try:
            body: dict[str, Any] = {
                "type": "promotion_job",
                "job_type": "code_generate",
                "parameters": _generate_parameters(form, kind),
            }
            if form.get("name", "").strip():
                body["name"] = form["name"].strip()
            await api.call("POST", kind.api_path(promotion_id, "jobs"), json={"data": body})
        except (ApiRefusal, FormError, keyspace.NotAWholeNumber) as problem:
            return await _promotion(request, api, promotion_id, Refused.of(problem, form))
    return _started(kind, promotion_id, "generate")


def _generate_parameters(form: dict[str, str], kind: PromotionKind) -> dict[str, Any]:
    """The form as the API's parameters; the API checks them (and answers in its own words)."""
    parameters: dict[str, Any] = {"consume_unit": form.get("consume_unit", kind.consume_units.default)}
    for field, name, label in (
        ("count", "number_of_codes", "Number of codes"),
        ("length", "code_length", "Code length"),
        ("max_uses", "max_uses_per_code", "Max uses per code"),
    ):
        if form.get(field, "").strip():
            parameters[name] = keyspace.whole_number(form[field], label)
    if "number_of_codes" not in parameters:
        raise FormError("Enter how many codes to generate.")
    if form.get("prefix"):
        parameters["code_prefix"] = form["prefix"]
    return parameters


def _started(kind: PromotionKind, promotion_id: str, notice: str) -> Response:
    return redirect(f"{kind.page(promotion_id)}?notice={notice}#progress")


@kind_route("POST", "/{promotion_id}/export")
async def export(promotion_id: str, request: Request) -> Response:
    await posted_form(request)
    kind = kind_of(request)
    async with session_api(request) as api:
        try:
            body = {"type": "promotion_job", "job_type": "code_export"}
            await api.call("POST", kind.api_path(promotion_id, "jobs"), json={"data": body})
        except ApiRefusal as refusal:
            return await _promotion(request, api, promotion_id, Refused.of(refusal))
    return _started(kind, promotion_id, "export")


@kind_route("POST", "/{promotion_id}/jobs/{job_id}/cancel")
async def cancel(promotion_id: str, job_id: str, request: Request) -> Response:
    await posted_form(request)
    kind = kind_of(request)
    async with session_api(request) as api:
        try:
            await api.call("POST", kind.api_path(promotion_id, "jobs", job_id, "cancel"))
        except ApiRefusal as refusal:
            return await _promotion(request, api, promotion_id, Refused.of(refusal))
    return _started(kind, promotion_id, "cancel")


@kind_route("GET", "/{promotion_id}/jobs/{job_id}/download")
async def download(promotion_id: str, job_id: str, request: Request) -> Response:
    async with session_api(request) as api:
        try:
            path = kind_of(request).api_path(promotion_id, "jobs", job_id, "file")
            link = await api.call("GET", path)
        except ApiRefusal as refusal:
            return render(request, "error.html", refusal.status, title="No file", message=str(refusal))
    return redirect(str(link["href"]))  # the signed, expiring link is the permission
