"""The one table from errors to HTTP, and the Elastic Path error body ``{"errors": [{status, title, ...}]}``.

``status`` is always a string (Elastic Path's job errors use strings; see docs/compatibility.md).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from promojobs.domain import errors

log = logging.getLogger("promojobs.api")

HTTP_STATUS: dict[type[errors.PromojobsError], int] = {
    errors.ValidationFailed: 400,
    errors.InvalidFilter: 400,
    errors.TooManyPromotionCodes: 400,
    errors.TooManyJobs: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Unprocessable: 422,
    errors.RateLimited: 429,
    errors.Unavailable: 503,
}

_HTTP_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
}


BODY_NOT_AN_OBJECT = 'The request body must be a JSON object {"data": {...}} sent as application/json'
BODY_NOT_PARSED = (
    "The request body could not be parsed: it must be UTF-8 JSON, without extreme nesting or numbers "
    "longer than 4300 digits"
)
_NOT_AN_OBJECT = frozenset({"model_attributes_type", "model_type", "dict_type"})
# FastAPI's words for a body its parser gave up on (RecursionError, an over-long integer, bad UTF-8).
_CLEARER_DETAILS = {"There was an error parsing the body": BODY_NOT_PARSED}


def status_of(error: errors.PromojobsError) -> int:
    for cls in type(error).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500


def error_response(
    status: int, title: str, detail: str | None = None, source: str | None = None, **extra: Any
) -> Response:
    body: dict[str, Any] = {"status": str(status), "title": title}
    if detail is not None:
        body["detail"] = detail
    if source is not None:
        body["source"] = source
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(
        orjson.dumps({"errors": [body]}), status_code=status, media_type="application/json", headers=headers
    )


def error_body(status: int, title: str, detail: str) -> bytes:
    """The error body alone, for answers written before any application code runs (api/edge.py)."""
    return orjson.dumps({"errors": [{"status": str(status), "title": title, "detail": detail}]})


async def _domain_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.PromojobsError)
    status = status_of(exc)
    response = error_response(status, exc.title, exc.detail or None, exc.source)
    if isinstance(exc, errors.RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after_seconds)
    return response


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    kind = str(first.get("type", ""))
    location = [str(part) for part in first.get("loc", ()) if part != "body"]
    source = ".".join(location) or None
    if kind == "json_invalid":
        return error_response(400, "Bad Request", "The request body is not valid JSON")
    if kind == "missing":
        name = location[-1] if location else "body"
        return error_response(400, "required", f"{name} is required", source)
    if source is None and kind in _NOT_AN_OBJECT:
        # The body as a whole is not an object: a JSON array or scalar, or a body sent with another
        # Content-Type (FastAPI parses only JSON media types).
        return error_response(400, "Bad Request", BODY_NOT_AN_OBJECT)
    message = str(first.get("msg", "Invalid value"))
    return error_response(400, "Bad Request", f"{source}: {message}" if source else message, source)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    title = _HTTP_TITLES.get(exc.status_code, "Error")
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
    detail = _CLEARER_DETAILS.get(detail, detail) if detail is not None else None
    response = error_response(exc.status_code, title, detail)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    request_id = uuid.uuid4().hex
    log.error(
        "request %s %s failed (request id %s)", request.method, request.url.path, request_id, exc_info=exc
    )
    return error_response(
        500,
        "Internal Server Error",
        "There was an internal server error, you can report with your request id.",
        request_id=request_id,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.PromojobsError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
