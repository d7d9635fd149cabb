"""The OpenAPI document: what FastAPI cannot infer from the routes.

FastAPI documents a 422 "HTTPValidationError" that promojobs never sends (validation errors are 400 with
the Elastic Path body), no other error, none of the query parameters the routes read themselves
(page[limit], page[offset], filter, the download link's expires and signature), and no links between
operations, nor what each operation does and example exchanges (``api.operation_docs``). ``install``
serves FastAPI's document completed with all of that, built once, when /openapi.json is first asked for;
the schemathesis runs in tests/fuzz check the server against it.

The tables below name operations by their route functions: paths and operation ids come from the app's
routes, so a route moved or renamed cannot leave its documentation behind.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from promojobs.api.operation_docs import OPERATION_DOCS, Example, OperationDoc
from promojobs.api.operation_docs.common import CommonAnswer, common_answers
from promojobs.api.responses import ErrorResponse
from promojobs.api.routes import codes, downloads, health, jobs, promotions, rule_promotions, tokens
from promojobs.api.routes.jobs import MAX_IDEMPOTENCY_KEY_CHARS
from promojobs.api.schemas import CODE_PATTERN
from promojobs.config import Settings
from promojobs.domain.codes import MAX_CODE_CHARS
from promojobs.domain.filters import MAX_FILTER_BYTES
from promojobs.domain.pagination import MAX_PAGE_LIMIT, MAX_PAGE_OFFSET

Endpoint = Callable[..., Any]
_COMPONENTS = "#/components/schemas/"


_ERROR_DESCRIPTIONS = {
    400: "The request is not valid: a body field, a query parameter or the filter (`source` names it).",
    401: "No, an invalid, an expired or a revoked bearer token (on the token endpoint: wrong client "
    "credentials).",
    403: "An implicit (storefront) token on a promotion route, or an invalid or expired download link.",
    404: "No such promotion, job or code in the caller's store (another store's look the same).",
    413: "The request body is over the size limit (PROMOJOBS_MAX_BODY_BYTES).",
    422: "A valid request that the current state forbids (duplicate code, automatic promotion, a job that "
    "cannot be cancelled or has no file, an Idempotency-Key reused with another body, ...).",
    429: "Too many requests; retry after `Retry-After` seconds.",
    503: "The database cannot be reached; retry shortly.",
    408: "The request head or body stopped arriving (PROMOJOBS_HEADER_TIMEOUT_SECONDS, "
    "PROMOJOBS_BODY_TIMEOUT_SECONDS); the connection is closed.",
    414: "The request target (path and query) is over PROMOJOBS_MAX_URL_BYTES.",
    431: "The request headers are over PROMOJOBS_MAX_HEADER_BYTES or PROMOJOBS_MAX_HEADERS.",
}
_ERROR_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "Always `Bearer`.",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds to wait.",
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
        }
    },
}
# The operations that honour Idempotency-Key: their request header, and the header of a replayed answer.
IDEMPOTENT = (jobs.create_job, rule_promotions.create_rule_job)
_IDEMPOTENCY_KEY = {
    "description": "Retry safely: a request with the key of an earlier one, and the same body, within "
    "`PROMOJOBS_IDEMPOTENCY_SECONDS` (24 hours by default), creates nothing and answers the job the earlier "
    "one created, with `Idempotent-Replayed: true`; with another body it is 422. Keys are per store.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY_CHARS},
}
_REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when the answer is a replay: the job an earlier request with the same "
        "`Idempotency-Key` and body created. Absent otherwise.",
        "required": False,
        "schema": {"type": "string", "enum": ["true"]},
    }
}
_SERVICE = (429, 503)
# Answered by the HTTP edge (api/edge.py) before any route, on every operation.
_EDGE = (408, 414, 431)
_SECURED = (401, 403)
OPERATION_ERRORS: dict[Endpoint, tuple[int, ...]] = {
    tokens.access_token: (400, 401, 413, *_SERVICE),
    promotions.list_promotions: (400, *_SECURED, *_SERVICE),
    promotions.create_promotion: (400, *_SECURED, 413, *_SERVICE),
    promotions.get_promotion: (*_SECURED, 404, *_SERVICE),
    promotions.update_promotion: (400, *_SECURED, 404, 413, *_SERVICE),
    promotions.delete_promotion: (*_SECURED, 404, *_SERVICE),
    codes.list_codes: (400, *_SECURED, 404, *_SERVICE),
    codes.add_codes: (400, *_SECURED, 404, 413, 422, *_SERVICE),
    codes.delete_codes: (400, *_SECURED, 404, 413, *_SERVICE),
    codes.delete_code: (*_SECURED, 404, *_SERVICE),
    jobs.list_jobs: (400, *_SECURED, 404, *_SERVICE),
    jobs.create_job: (400, *_SECURED, 404, 413, 422, *_SERVICE),
    jobs.get_job: (*_SECURED, 404, *_SERVICE),
    jobs.cancel_job: (*_SECURED, 404, 413, 422, *_SERVICE),
    jobs.get_export_file: (*_SECURED, 404, 422, *_SERVICE),
    downloads.download_export: (400, 403, 503),
    health.healthz: (),
    health.readyz: (503,),
    rule_promotions.list_rule_promotions: (400, *_SECURED, *_SERVICE),
    rule_promotions.create_rule_promotion: (400, *_SECURED, 413, 422, *_SERVICE),
    rule_promotions.get_rule_promotion: (*_SECURED, 404, *_SERVICE),
    rule_promotions.update_rule_promotion: (400, *_SECURED, 404, 413, 422, *_SERVICE),
    rule_promotions.delete_rule_promotion: (*_SECURED, 404, *_SERVICE),
    rule_promotions.list_rule_codes: (400, *_SECURED, 404, *_SERVICE),
    rule_promotions.add_rule_codes: (400, *_SECURED, 404, 413, 422, *_SERVICE),
    rule_promotions.delete_rule_codes: (400, *_SECURED, 404, 413, *_SERVICE),
    rule_promotions.delete_rule_code: (*_SECURED, 404, *_SERVICE),
    rule_promotions.list_rule_jobs: (400, *_SECURED, 404, *_SERVICE),
    rule_promotions.create_rule_job: (400, *_SECURED, 404, 413, 422, *_SERVICE),
    rule_promotions.get_rule_job: (*_SECURED, 404, *_SERVICE),
    rule_promotions.cancel_rule_job: (*_SECURED, 404, 413, 422, *_SERVICE),
    rule_promotions.get_rule_export_file: (*_SECURED, 404, 422, *_SERVICE),
}


def _query(name: str, schema: dict[str, Any], description: str, *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


_PAGE = [
    _query(
        "page[limit]",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_LIMIT, "default": 25},
        "Records per page.",
    ),
    _query(
        "page[offset]",
        {"type": "integer", "minimum": 0, "maximum": MAX_PAGE_OFFSET, "default": 0},
        "Zero-based index of the first record.",
    ),
]

_CURSOR = _query(
    "page[cursor]",
    {"type": "string", "maxLength": 160},
    "Opaque, from `links.next`, `links.prev` or `links.last` of a page past offset 10,000: follow the link "
    "as given (`page[limit]` unchanged, no `page[offset]`).",
)


def _filter(description: str) -> dict[str, Any]:
    return _query(
        "filter",
        {"type": "string", "maxLength": MAX_FILTER_BYTES},
        f"{description} At most 10 clauses and 8 KiB; anything else is 400 `Could not parse the supplied "
        "filter`.",
    )


_JOB_FILTER = _filter("`eq(job_type,code_export)`, `eq(status,completed)`, clauses joined with `:`.")
_RULE_CODE_SORT = _query(
    "sort", {"type": "string", "enum": ["code", "-code"]}, "By code, case-insensitively (`-code`: down)."
)
QUERY_PARAMETERS: dict[Endpoint, list[dict[str, Any]]] = {
    promotions.list_promotions: [
        *_PAGE,
        _CURSOR,
        _filter("`eq(code,SUMMER-10)`: the promotion holding that code."),
    ],
    codes.list_codes: [*_PAGE, _CURSOR, _filter("`eq(code,SUMMER-10)`.")],
    jobs.list_jobs: [*_PAGE, _JOB_FILTER],
    rule_promotions.list_rule_promotions: [
        *_PAGE,
        _CURSOR,
        _filter(
            "`eq(code,…)`, `like`/`ilike(name,…)`, `eq(enabled|stackable|override_stacking,true)`, "
            "`lt|le|eq|gt|ge(start|end,…)`."
        ),
    ],
    rule_promotions.list_rule_codes: [
        *_PAGE,
        _CURSOR,
        _filter("`eq(code,…)`, `gt(code,…)`."),
        _RULE_CODE_SORT,
    ],
    rule_promotions.list_rule_jobs: [*_PAGE, _JOB_FILTER],
    downloads.download_export: [
        _query("expires", {"type": "string", "pattern": "^[0-9]{1,12}$"}, "From the link.", required=True),
        _query("signature", {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "From the link.", required=True),
    ],
}
PATH_PARAMETER_SCHEMAS: dict[str, dict[str, Any]] = {
    "promotion_id": {"type": "string", "format": "uuid"},
    "job_id": {"type": "string", "format": "uuid"},
    "code": {"type": "string", "minLength": 1, "maxLength": MAX_CODE_CHARS, "pattern": CODE_PATTERN},
    "code_id": {"type": "string", "format": "uuid"},
}

# Stateful links (OpenAPI 3 "links"): what a response lets a client call next. Keyed by the source
# operation and status; each names the target operation, its parameters (runtime expressions) and, for
# PUT, the part of the body that must come from the response.
_FROM_PROMOTION = {"path.promotion_id": "$response.body#/data/id"}
_SAME_PROMOTION = {"path.promotion_id": "$request.path.promotion_id"}
_FROM_JOB = {
    "path.promotion_id": "$response.body#/data/promotion_id",
    "path.job_id": "$response.body#/data/id",
}
Link = tuple[Endpoint, dict[str, str], dict[str, Any] | None]
_PROMOTION_LINKS: dict[str, Link] = {
    "GetPromotion": (promotions.get_promotion, _FROM_PROMOTION, None),
    "UpdatePromotion": (
        promotions.update_promotion,
        _FROM_PROMOTION,
        {"data": {"type": "promotion", "id": "$response.body#/data/id"}},
    ),
    "DeletePromotion": (promotions.delete_promotion, _FROM_PROMOTION, None),
    "AddCodes": (codes.add_codes, _FROM_PROMOTION, None),
    "ListCodes": (codes.list_codes, _FROM_PROMOTION, None),
    "DeleteCodes": (codes.delete_codes, _FROM_PROMOTION, None),
    "CreateJob": (jobs.create_job, _FROM_PROMOTION, None),
    "ListJobs": (jobs.list_jobs, _FROM_PROMOTION, None),
}
_JOB_LINKS: dict[str, Link] = {
    "GetJob": (jobs.get_job, _FROM_JOB, None),
    "CancelJob": (jobs.cancel_job, _FROM_JOB, None),
    "GetJobFile": (jobs.get_export_file, _FROM_JOB, None),
    "ListJobs": (jobs.list_jobs, {"path.promotion_id": "$response.body#/data/promotion_id"}, None),
}
_FROM_RULE_JOB = {
    "path.promotion_id": "$response.body#/data/rule_promotion_id",
    "path.job_id": "$response.body#/data/id",
}
_RULE_PROMOTION_LINKS: dict[str, Link] = {
    "GetRulePromotion": (rule_promotions.get_rule_promotion, _FROM_PROMOTION, None),
    "UpdateRulePromotion": (
        rule_promotions.update_rule_promotion,
        _FROM_PROMOTION,
        {"data": {"type": "rule_promotion"}},
    ),
    "DeleteRulePromotion": (rule_promotions.delete_rule_promotion, _FROM_PROMOTION, None),
    "AddRuleCodes": (rule_promotions.add_rule_codes, _FROM_PROMOTION, None),
    "ListRuleCodes": (rule_promotions.list_rule_codes, _FROM_PROMOTION, None),
    "DeleteRuleCodes": (rule_promotions.delete_rule_codes, _FROM_PROMOTION, None),
    "CreateRuleJob": (rule_promotions.create_rule_job, _FROM_PROMOTION, None),
    "ListRuleJobs": (rule_promotions.list_rule_jobs, _FROM_PROMOTION, None),
}
_RULE_JOB_LINKS: dict[str, Link] = {
    "GetRuleJob": (rule_promotions.get_rule_job, _FROM_RULE_JOB, None),
    "CancelRuleJob": (rule_promotions.cancel_rule_job, _FROM_RULE_JOB, None),
    "GetRuleJobFile": (rule_promotions.get_rule_export_file, _FROM_RULE_JOB, None),
}
LINKS: dict[tuple[Endpoint, str], dict[str, Link]] = {
    (promotions.create_promotion, "201"): _PROMOTION_LINKS,
    (promotions.get_promotion, "200"): _PROMOTION_LINKS,
    (promotions.update_promotion, "200"): {"GetPromotion": (promotions.get_promotion, _FROM_PROMOTION, None)},
    (codes.add_codes, "201"): {
        "ListCodes": (codes.list_codes, _SAME_PROMOTION, None),
        "DeleteCode": (
            codes.delete_code,
            {**_SAME_PROMOTION, "path.code": "$request.body#/data/codes/0/code"},
            None,
        ),
        "CreateJob": (jobs.create_job, _SAME_PROMOTION, None),
    },
    (jobs.create_job, "201"): _JOB_LINKS,
    (jobs.get_job, "200"): _JOB_LINKS,
    (jobs.cancel_job, "200"): {"GetJob": (jobs.get_job, _FROM_JOB, None)},
    (rule_promotions.create_rule_promotion, "201"): _RULE_PROMOTION_LINKS,
    (rule_promotions.get_rule_promotion, "200"): _RULE_PROMOTION_LINKS,
    (rule_promotions.add_rule_codes, "201"): {
        "DeleteRuleCode": (
            rule_promotions.delete_rule_code,
            {**_SAME_PROMOTION, "path.code_id": "$response.body#/data/0/id"},
            None,
        ),
    },
    (rule_promotions.create_rule_job, "201"): _RULE_JOB_LINKS,
    (rule_promotions.get_rule_job, "200"): _RULE_JOB_LINKS,
}


def install(app: FastAPI, settings: Settings) -> None:
    """Serve FastAPI's document completed by ``complete_openapi``, for a server with these settings."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            generated = FastAPI.openapi(app)  # caches itself in app.openapi_schema: replace it
            app.openapi_schema = None
            app.openapi_schema = complete_openapi(generated, app.routes, settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete_openapi(
    document: dict[str, Any], routes: Sequence[BaseRoute], settings: Settings
) -> dict[str, Any]:
    """Return FastAPI's ``document`` (of an app with these ``routes``) completed: the real error responses
    (those every operation may get in the words of this server's limits), query parameters, path parameter
    formats, the job parameters with this server's limit, and the links between operations."""
    document = copy.deepcopy(document)
    components: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    error_schema = ErrorResponse.model_json_schema(ref_template=_COMPONENTS + "{model}")
    components.update(error_schema.pop("$defs", {}))
    components["ErrorResponse"] = error_schema
    _document_job_parameters(components, settings.codes_per_job_limit)
    common = common_answers(settings)

    endpoints = {  # the app's routes as FastAPI's own get_openapi walks them
        (method.lower(), route.path_format): route.endpoint
        for route in iter_route_contexts(routes)
        if isinstance(route.original_route, APIRoute) and route.endpoint is not None
        for method in route.methods or ()
    }
    operations = [
        (endpoints[(method, path)], operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]
    operation_ids = {endpoint: operation["operationId"] for endpoint, operation in reversed(operations)}
    for endpoint, operation in operations:
        _complete_operation(endpoint, operation, operation_ids, components, common)
    return document


def _document_job_parameters(components: dict[str, Any], codes_per_job: int) -> None:
    """The request takes this server's per-job limit; jobs echo what they were given (perhaps under
    another limit), so the response schema keeps none."""
    echoed = components["GenerateParameters"]
    echoed["description"] = "The code_generate parameters, echoed with the defaults filled in."
    requested = copy.deepcopy(echoed)
    requested["title"] = "GenerateParametersRequest"
    requested["properties"]["number_of_codes"]["maximum"] = codes_per_job
    requested["description"] = "Required for code_generate; code_export takes none."
    requested["additionalProperties"] = False  # an unknown (misspelled) parameter is a 400
    components["GenerateParametersRequest"] = requested
    components["JobCreate"]["properties"]["parameters"] = {
        "anyOf": [{"$ref": _COMPONENTS + "GenerateParametersRequest"}, {"type": "null"}],
        "description": requested["description"],
    }


def _document_token_form(operation: dict[str, Any], components: dict[str, Any]) -> None:
    for media in operation.get("requestBody", {}).get("content", {}).values():
        reference = str(media.get("schema", {}).get("$ref", ""))
        form = components.get(reference.removeprefix(_COMPONENTS), {})
        if "grant_type" in form.get("properties", {}):
            form["properties"]["grant_type"]["enum"] = ["client_credentials", "implicit"]


def _complete_operation(
    endpoint: Endpoint,
    operation: dict[str, Any],
    operation_ids: dict[Endpoint, str],
    components: dict[str, Any],
    common: tuple[CommonAnswer, ...],
) -> None:
    responses: dict[str, Any] = operation["responses"]
    responses.pop("422", None)  # FastAPI's HTTPValidationError: never sent
    secured = bool(operation.get("security"))
    errors = OPERATION_ERRORS.get(endpoint, (*_SECURED, *_SERVICE) if secured else ())
    for status in (*errors, *_EDGE):
        responses[str(status)] = _error_response(status)
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path" and parameter["name"] in PATH_PARAMETER_SCHEMAS:
            parameter["schema"] = {**parameter["schema"], **PATH_PARAMETER_SCHEMAS[parameter["name"]]}
    extra = QUERY_PARAMETERS.get(endpoint)
    if extra:
        operation["parameters"] = [*operation.get("parameters", []), *copy.deepcopy(extra)]
    if endpoint is downloads.download_export:
        responses["200"]["content"] = {"text/csv": {"schema": {"type": "string"}}}
    if endpoint is tokens.access_token:
        _document_token_form(operation, components)
    if endpoint in IDEMPOTENT:
        _document_idempotency(operation)
    doc = OPERATION_DOCS.get(endpoint)
    if doc is not None:
        _document_examples(operation, doc)
    statuses = {*errors, *_EDGE}
    for answer in common:
        if answer.applies_to(statuses, secured=secured):
            _show(operation, answer.example, answer.how)
    for code, documented in responses.items():
        links = LINKS.get((endpoint, code))
        if links:
            documented["links"] = {
                name: _link(operation_ids[target], link_parameters, body)
                for name, (target, link_parameters, body) in links.items()
            }


def _document_examples(operation: dict[str, Any], doc: OperationDoc) -> None:
    """The operation's description, its success requests as the request body's examples, and every
    example answer under its status."""
    operation["description"] = doc.description
    requests = {
        _example_key(example): {"summary": example.summary, "value": copy.deepcopy(example.request)}
        for example in doc.successes
        if example.request is not None
    }
    for media in operation.get("requestBody", {}).get("content", {}).values():
        if requests:
            media["examples"] = copy.deepcopy(requests)
    for example in doc.examples:
        _show(operation, example, _how_to_get(example))


def _show(operation: dict[str, Any], example: Example, how: str) -> None:
    """``example`` under its status, with what gets it (``how``) and the headers it is answered with."""
    content = operation["responses"].get(str(example.status), {}).get("content", {})
    answered_with = ", ".join(f"`{name}: {value}`" for name, value in example.headers.items())
    description = "; ".join(
        part for part in (how, answered_with and f"answered with {answered_with}") if part
    )
    for media in content.values():
        shown: dict[str, Any] = {"summary": example.summary, "value": copy.deepcopy(example.body)}
        if description:
            shown["description"] = description
        media.setdefault("examples", {})[_example_key(example)] = shown


def _document_idempotency(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "header" and parameter["name"].lower() == "idempotency-key":
            parameter.update(copy.deepcopy(_IDEMPOTENCY_KEY))
    created = next(documented for code, documented in operation["responses"].items() if code.startswith("2"))
    created["headers"] = copy.deepcopy(_REPLAYED)


def _how_to_get(example: Example) -> str:
    parts = [f"`{name}={value}`" for name, value in example.query.items()]
    if example.unknown:
        parts.append(f"`{example.unknown}` names nothing in the caller's store")
    if example.grant == "none":
        parts.append("no `Authorization` header")
    elif example.grant == "implicit":
        parts.append("a token of grant type `implicit`")
    if example.job:
        parts.append(f"the job is {example.job}")
    if example.idempotency_key:
        parts.append(f"`Idempotency-Key: {example.idempotency_key}`, sent before with the first request body")
    return "; ".join(parts)


def _example_key(example: Example) -> str:
    words = "".join(char if char.isalnum() else " " for char in example.summary).split()
    return f"{example.status}-" + "-".join(word.lower() for word in words[:6])


def _error_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": _ERROR_DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": _COMPONENTS + "ErrorResponse"}}},
    }
    if status in _ERROR_HEADERS:
        response["headers"] = _ERROR_HEADERS[status]
    return response


def _link(operation_id: str, parameters: dict[str, str], body: dict[str, Any] | None) -> dict[str, Any]:
    link: dict[str, Any] = {"operationId": operation_id, "parameters": dict(parameters)}
    if body is not None:
        link["requestBody"] = copy.deepcopy(body)
    return link
