"""Wire schemas: what requests may contain and what responses look like (also the OpenAPI document).

Requests are strict (no "5" for 5, no 1.5 for an integer); unknown fields are ignored, as Elastic Path
does, except job parameters (``domain.job_specs`` refuses a misspelled one). Responses are rendered by
``api.render`` and described here for the docs.
"""

from __future__ import annotations

import copy
import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from promojobs.domain.codes import MAX_CODE_CHARS, MAX_CODE_LENGTH, MAX_PREFIX_CHARS, MIN_CODE_LENGTH
from promojobs.domain.filters import MAX_FILTER_BYTES
from promojobs.domain.jobs import ConsumeUnit, JobStatus, JobType
from promojobs.domain.pagination import MAX_PAGE_LIMIT, MAX_PAGE_OFFSET
from promojobs.services.codes import MAX_USER_CHARS
from promojobs.services.jobs import MAX_JOB_NAME_CHARS

PromotionType = Literal[
    "fixed_discount",
    "percent_discount",
    "item_fixed_discount",
    "item_percent_discount",
    "x_for_y",
    "x_for_amount",
    "bundle_fixed_discount",
    "bundle_gift",
]
# Literals, not enums, in requests: strict validation of already-parsed JSON accepts no str for an enum.
ConsumeUnitName = Literal["per_cart", "per_item"]
JobTypeName = Literal["code_generate", "code_export"]
MAX_TEXT = 2000
MAX_CODES_PER_REQUEST = 100_000
BIG_INT = 2**53
MAX_INT32 = 2**31 - 1  # max_applications_per_cart is an INTEGER column
# Free-form objects (a promotion's schema, job parameters): Elastic Path's schemas nest a handful of levels.
MAX_JSON_DEPTH = 32


def _storable_text(value: str) -> str:
    # JSON escapes can carry NUL (PostgreSQL text cannot hold it) and lone surrogates (not UTF-8: no
    # database or JSON encoder takes them). Refuse both on every backend alike.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must not contain lone surrogates") from None
    return value


def _storable_json(value: dict[str, Any], *, leaves: bool = True) -> dict[str, Any]:
    """A free-form JSON object that can be stored and sent back unchanged: Python's parser also accepts
    NaN, Infinity, integers of any size and nesting the response encoder cannot write (orjson stops at
    255 levels, and the object is itself nested in the response), so those are refused here.
    ``leaves=False`` checks the nesting only."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:  # iterative: nesting depth is bounded only by the JSON parser
        item, depth = pending.pop()
        if isinstance(item, dict | list) and depth > MAX_JSON_DEPTH:
            raise ValueError(f"must not be nested more than {MAX_JSON_DEPTH} levels deep")
        if isinstance(item, dict):
            pending.extend((key, depth) for key in item)
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)
        elif not leaves:
            continue
        elif isinstance(item, str):
            _storable_text(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError("numbers must be finite")
        elif isinstance(item, int) and not isinstance(item, bool) and not -(2**63) <= item < 2**63:
            raise ValueError("integers must fit in 64 bits")
    return value


def _job_parameters(value: dict[str, Any]) -> dict[str, Any]:
    # The job service checks each parameter it uses, with its own error pointing at it (a huge
    # number_of_codes is "Too many promotion codes", a NUL in code_prefix is outside the code alphabet),
    # and stores only what it checked; only the nesting needs a limit here.
    return _storable_json(value, leaves=False)


Text = Annotated[str, AfterValidator(_storable_text)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_storable_json)]
JobParameters = Annotated[dict[str, Any], AfterValidator(_job_parameters)]


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class Money(Strict):
    currency: Text = Field(min_length=1, max_length=10)
    amount: int = Field(ge=0, le=BIG_INT)


class PromotionFields(Strict):
    name: Text | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    description: Text | None = Field(default=None, max_length=MAX_TEXT)
    enabled: bool | None = None
    automatic: bool | None = None
    promotion_type: PromotionType | None = None
    schema_: JsonObject | None = Field(default=None, alias="schema")
    start: str | None = Field(default=None, max_length=64)
    end: str | None = Field(default=None, max_length=64)
    min_cart_value: list[Money] | None = Field(default=None, max_length=100)
    max_discount_value: list[Money] | None = Field(default=None, max_length=100)
    max_applications_per_cart: int | None = Field(default=None, ge=0, le=MAX_INT32)


class PromotionCreate(PromotionFields):
    type: Literal["promotion"]
    name: Text = Field(min_length=1, max_length=MAX_TEXT)
    promotion_type: PromotionType


class PromotionUpdate(PromotionFields):
    type: Literal["promotion"]
    id: str = Field(max_length=64)


class PromotionCreateRequest(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "data": {
                        "type": "promotion",
                        "name": "Summer",
                        "description": "10 off",
                        "enabled": True,
                        "automatic": False,
                        "promotion_type": "fixed_discount",
                        "schema": {"currencies": [{"currency": "USD", "amount": 1000}]},
                        "start": "2026-01-01",
                        "end": "2030-01-01",
                    }
                }
            ]
        }
    )

    data: PromotionCreate


class PromotionUpdateRequest(Strict):
    data: PromotionUpdate


# What the services accept (they give the precise errors): documented here so generated clients and
# fuzzers send what the service really takes. See docs/compatibility.md ("Code characters").
CODE_PATTERN = "^[A-Za-z0-9_.$@-]*$"
NO_CONTROL_CHARACTERS = "^[^\\u0000-\\u001f\\u007f]*$"


class CodeIn(Strict):
    code: str = Field(
        max_length=200,
        json_schema_extra={"minLength": 1, "maxLength": MAX_CODE_CHARS, "pattern": CODE_PATTERN},
        examples=["SUMMER-10"],
    )
    uses: int | None = Field(default=None, ge=0, le=BIG_INT)
    user: Text | None = Field(
        default=None,
        max_length=1000,
        json_schema_extra={"maxLength": MAX_USER_CHARS, "pattern": NO_CONTROL_CHARACTERS},
    )
    consume_unit: ConsumeUnitName = "per_cart"


class CodeRef(Strict):
    code: str = Field(max_length=200)


class CodesAdd(Strict):
    type: Literal["promotion_codes"]
    codes: list[CodeIn] = Field(min_length=1, max_length=MAX_CODES_PER_REQUEST)


class CodesDelete(Strict):
    type: Literal["promotion_codes"]
    codes: list[CodeRef] = Field(min_length=1, max_length=MAX_CODES_PER_REQUEST)


class CodesAddRequest(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "data": {
                        "type": "promotion_codes",
                        "codes": [{"code": "SUMMER-10", "uses": 5, "consume_unit": "per_cart"}],
                    }
                }
            ]
        }
    )

    data: CodesAdd


class CodesDeleteRequest(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"data": {"type": "promotion_codes", "codes": [{"code": "SUMMER-10"}]}}]
        }
    )

    data: CodesDelete


class GenerateParameters(Strict):
    """Documented for the OpenAPI; validated by the job service, which gives Elastic Path's errors."""

    number_of_codes: int = Field(ge=1, le=BIG_INT)
    max_uses_per_code: int | None = Field(default=None, ge=0, le=BIG_INT)
    consume_unit: ConsumeUnit = ConsumeUnit.PER_CART
    code_prefix: str | None = Field(
        default=None, max_length=MAX_PREFIX_CHARS, pattern=CODE_PATTERN, examples=["Summer-"]
    )
    code_length: int = Field(default=MIN_CODE_LENGTH, ge=MIN_CODE_LENGTH, le=MAX_CODE_LENGTH)


class JobCreate(Strict):
    type: Literal["promotion_job"]
    job_type: JobTypeName
    name: Text | None = Field(
        default=None, max_length=1000, json_schema_extra={"maxLength": MAX_JOB_NAME_CHARS}
    )
    parameters: JobParameters | None = Field(
        default=None, description="For code_generate: see GenerateParameters. code_export takes none."
    )


class JobCreateRequest(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "data": {
                        "type": "promotion_job",
                        "job_type": "code_generate",
                        "name": "Summer codes",
                        "parameters": {
                            "number_of_codes": 10,
                            "max_uses_per_code": 1,
                            "consume_unit": "per_cart",
                            "code_prefix": "Summer-",
                            "code_length": 8,
                        },
                    }
                },
                {"data": {"type": "promotion_job", "job_type": "code_export", "name": "Export"}},
            ]
        }
    )

    data: JobCreate


# ---- responses (documentation) ----


class Timestamps(BaseModel):
    created_at: str
    updated_at: str | None = None


class Meta(BaseModel):
    timestamps: Timestamps


class PromotionOut(BaseModel):
    type: Literal["promotion"]
    id: str
    name: str
    description: str | None = None
    enabled: bool
    automatic: bool
    promotion_type: PromotionType
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    start: str | None = None
    end: str | None = None
    min_cart_value: list[Money] | None = None
    max_discount_value: list[Money] | None = None
    max_applications_per_cart: int | None = None
    meta: Meta


class PageMeta(BaseModel):
    limit: int
    offset: int
    current: int
    total: int


class ResultsMeta(BaseModel):
    total: int


class ListMeta(BaseModel):
    page: PageMeta
    results: ResultsMeta


class Links(BaseModel):
    current: str
    first: str
    last: str
    prev: str | None
    next: str | None


class PromotionResponse(BaseModel):
    data: PromotionOut


class PromotionListResponse(BaseModel):
    data: list[PromotionOut]
    links: Links
    meta: ListMeta


class CodeOut(BaseModel):
    code: str
    uses: int | None = None
    max_uses: int | None = None
    consume_unit: ConsumeUnit
    user: str | None = None
    meta: Meta


class CodeListResponse(BaseModel):
    data: list[CodeOut]
    links: Links
    meta: ListMeta


class JobResult(BaseModel):
    generated: int
    deleted: int | None = None


class JobAudit(BaseModel):
    created_by: str | None = None
    cancelled_by: str | None = None


class JobMeta(Meta):
    audit: JobAudit | None = None


class JobOut(BaseModel):
    type: Literal["promotion_job"]
    id: str
    promotion_id: str
    job_type: JobType
    name: str | None = None
    parameters: GenerateParameters | None = None
    status: JobStatus
    result: JobResult | None = None
    error: str | None = None
    meta: JobMeta


class JobResponse(BaseModel):
    data: JobOut


class JobListResponse(BaseModel):
    data: list[JobOut]
    links: Links
    meta: ListMeta


class FileResponseBody(BaseModel):
    href: str


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    expires: int
    identifier: Literal["client_credentials", "implicit"]


class ErrorObject(BaseModel):
    status: str
    title: str
    detail: str | None = None
    source: str | None = None
    request_id: str | None = Field(
        default=None, description="Only on 500: quote it when reporting the error."
    )


class ErrorResponse(BaseModel):
    errors: list[ErrorObject]


# ---- the OpenAPI document: what FastAPI cannot infer from the routes ----------------------------------
#
# FastAPI documents a 422 "HTTPValidationError" that promojobs never sends (validation errors are 400 with
# the Elastic Path body), no other error, none of the query parameters the routes read themselves
# (page[limit], page[offset], filter, the download link's expires and signature), and no links between
# operations. ``complete_openapi`` fixes all of that once, when /openapi.json is first asked for; the
# schemathesis runs in tests/fuzz check the server against the result.

_PROMOTION = "/v2/promotions/{promotion_id}"
_JOB = _PROMOTION + "/jobs/{job_id}"
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
    401: {"WWW-Authenticate": {"description": "Always `Bearer`.", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer", "minimum": 0}}},
}
_SERVICE = (429, 503)
# Answered by the HTTP edge (api/edge.py) before any route, on every operation.
_EDGE = (408, 414, 431)
_SECURED = (401, 403)
OPERATION_ERRORS: dict[tuple[str, str], tuple[int, ...]] = {
    ("post", "/oauth/access_token"): (400, 401, 413, *_SERVICE),
    ("get", "/v2/promotions"): (400, *_SECURED, *_SERVICE),
    ("post", "/v2/promotions"): (400, *_SECURED, 413, *_SERVICE),
    ("get", _PROMOTION): (*_SECURED, 404, *_SERVICE),
    ("put", _PROMOTION): (400, *_SECURED, 404, 413, *_SERVICE),
    ("delete", _PROMOTION): (*_SECURED, 404, *_SERVICE),
    ("get", _PROMOTION + "/codes"): (400, *_SECURED, 404, *_SERVICE),
    ("post", _PROMOTION + "/codes"): (400, *_SECURED, 404, 413, 422, *_SERVICE),
    ("delete", _PROMOTION + "/codes"): (400, *_SECURED, 404, 413, *_SERVICE),
    ("delete", _PROMOTION + "/codes/{code}"): (*_SECURED, 404, *_SERVICE),
    ("get", _PROMOTION + "/jobs"): (400, *_SECURED, 404, *_SERVICE),
    ("post", _PROMOTION + "/jobs"): (400, *_SECURED, 404, 413, 422, *_SERVICE),
    ("get", _JOB): (*_SECURED, 404, *_SERVICE),
    ("post", _JOB + "/cancel"): (*_SECURED, 404, 413, 422, *_SERVICE),
    ("get", _JOB + "/file"): (*_SECURED, 404, 422, *_SERVICE),
    ("get", "/downloads/{job_id}.csv"): (400, 403, 503),
    ("get", "/healthz"): (),
    ("get", "/readyz"): (503,),
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


QUERY_PARAMETERS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("get", "/v2/promotions"): [
        *_PAGE,
        _CURSOR,
        _filter("`eq(code,SUMMER-10)`: the promotion holding that code."),
    ],
    ("get", _PROMOTION + "/codes"): [*_PAGE, _CURSOR, _filter("`eq(code,SUMMER-10)`.")],
    ("get", _PROMOTION + "/jobs"): [
        *_PAGE,
        _filter("`eq(job_type,code_export)`, `eq(status,completed)`, clauses joined with `:`."),
    ],
    ("get", "/downloads/{job_id}.csv"): [
        _query("expires", {"type": "string", "pattern": "^[0-9]{1,12}$"}, "From the link.", required=True),
        _query("signature", {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "From the link.", required=True),
    ],
}
PATH_PARAMETER_SCHEMAS: dict[str, dict[str, Any]] = {
    "promotion_id": {"type": "string", "format": "uuid"},
    "job_id": {"type": "string", "format": "uuid"},
    "code": {"type": "string", "minLength": 1, "maxLength": MAX_CODE_CHARS, "pattern": CODE_PATTERN},
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
Link = tuple[str, str, dict[str, str], dict[str, Any] | None]
_PROMOTION_LINKS: dict[str, Link] = {
    "GetPromotion": ("get", _PROMOTION, _FROM_PROMOTION, None),
    "UpdatePromotion": (
        "put",
        _PROMOTION,
        _FROM_PROMOTION,
        {"data": {"type": "promotion", "id": "$response.body#/data/id"}},
    ),
    "DeletePromotion": ("delete", _PROMOTION, _FROM_PROMOTION, None),
    "AddCodes": ("post", _PROMOTION + "/codes", _FROM_PROMOTION, None),
    "ListCodes": ("get", _PROMOTION + "/codes", _FROM_PROMOTION, None),
    "DeleteCodes": ("delete", _PROMOTION + "/codes", _FROM_PROMOTION, None),
    "CreateJob": ("post", _PROMOTION + "/jobs", _FROM_PROMOTION, None),
    "ListJobs": ("get", _PROMOTION + "/jobs", _FROM_PROMOTION, None),
}
_JOB_LINKS: dict[str, Link] = {
    "GetJob": ("get", _JOB, _FROM_JOB, None),
    "CancelJob": ("post", _JOB + "/cancel", _FROM_JOB, None),
    "GetJobFile": ("get", _JOB + "/file", _FROM_JOB, None),
    "ListJobs": (
        "get",
        _PROMOTION + "/jobs",
        {"path.promotion_id": "$response.body#/data/promotion_id"},
        None,
    ),
}
LINKS: dict[tuple[str, str, str], dict[str, Link]] = {
    ("post", "/v2/promotions", "201"): _PROMOTION_LINKS,
    ("get", _PROMOTION, "200"): _PROMOTION_LINKS,
    ("put", _PROMOTION, "200"): {"GetPromotion": ("get", _PROMOTION, _FROM_PROMOTION, None)},
    ("post", _PROMOTION + "/codes", "201"): {
        "ListCodes": ("get", _PROMOTION + "/codes", _SAME_PROMOTION, None),
        "DeleteCode": (
            "delete",
            _PROMOTION + "/codes/{code}",
            {**_SAME_PROMOTION, "path.code": "$request.body#/data/codes/0/code"},
            None,
        ),
        "CreateJob": ("post", _PROMOTION + "/jobs", _SAME_PROMOTION, None),
    },
    ("post", _PROMOTION + "/jobs", "201"): _JOB_LINKS,
    ("get", _JOB, "200"): _JOB_LINKS,
    ("post", _JOB + "/cancel", "200"): {"GetJob": ("get", _JOB, _FROM_JOB, None)},
}


def complete_openapi(document: dict[str, Any], *, codes_per_job: int) -> dict[str, Any]:
    """Return FastAPI's ``document`` completed: the real error responses, query parameters, path parameter
    formats, the job parameters with this server's limit, and the links between operations."""
    document = copy.deepcopy(document)
    components: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    error_schema = ErrorResponse.model_json_schema(ref_template=_COMPONENTS + "{model}")
    components.update(error_schema.pop("$defs", {}))
    components["ErrorResponse"] = error_schema

    # The request takes this server's per-job limit; jobs echo what they were given (perhaps under
    # another limit), so the response schema keeps none.
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

    _document_token_form(document, components)
    operation_ids = {
        (method, path): operation["operationId"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    for path, item in document["paths"].items():
        for method, operation in item.items():
            _complete_operation(method, path, operation, operation_ids)
    return document


def _document_token_form(document: dict[str, Any], components: dict[str, Any]) -> None:
    body = document["paths"].get("/oauth/access_token", {}).get("post", {}).get("requestBody", {})
    for media in body.get("content", {}).values():
        reference = str(media.get("schema", {}).get("$ref", ""))
        form = components.get(reference.removeprefix(_COMPONENTS), {})
        if "grant_type" in form.get("properties", {}):
            form["properties"]["grant_type"]["enum"] = ["client_credentials", "implicit"]


def _complete_operation(
    method: str, path: str, operation: dict[str, Any], operation_ids: dict[tuple[str, str], str]
) -> None:
    responses: dict[str, Any] = operation["responses"]
    responses.pop("422", None)  # FastAPI's HTTPValidationError: never sent
    secured = bool(operation.get("security"))
    errors = OPERATION_ERRORS.get((method, path), (*_SECURED, *_SERVICE) if secured else ())
    for status in (*errors, *_EDGE):
        response: dict[str, Any] = {
            "description": _ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"schema": {"$ref": _COMPONENTS + "ErrorResponse"}}},
        }
        if status in _ERROR_HEADERS:
            response["headers"] = _ERROR_HEADERS[status]
        responses[str(status)] = response
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path" and parameter["name"] in PATH_PARAMETER_SCHEMAS:
            parameter["schema"] = {**parameter["schema"], **PATH_PARAMETER_SCHEMAS[parameter["name"]]}
    extra = QUERY_PARAMETERS.get((method, path))
    if extra:
        operation["parameters"] = [*operation.get("parameters", []), *copy.deepcopy(extra)]
    if path == "/downloads/{job_id}.csv":
        responses["200"]["content"] = {"text/csv": {"schema": {"type": "string"}}}
    for code, documented in responses.items():
        links = LINKS.get((method, path, code))
        if links:
            documented["links"] = {
                name: _link(operation_ids[(target_method, target_path)], link_parameters, body)
                for name, (target_method, target_path, link_parameters, body) in links.items()
            }


def _link(operation_id: str, parameters: dict[str, str], body: dict[str, Any] | None) -> dict[str, Any]:
    link: dict[str, Any] = {"operationId": operation_id, "parameters": dict(parameters)}
    if body is not None:
        link["requestBody"] = copy.deepcopy(body)
    return link
