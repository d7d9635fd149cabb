"""What each operation does, and example exchanges: the descriptions and examples of the OpenAPI document.

One table, keyed by route function like the others in ``api.openapi`` (which puts it into the document).
Each operation has a description and examples: its success answer for a realistic request, and its main
error answers, each with what provokes it (a body, a query, a path id that names nothing, no token, a job
in some state). The request bodies of the success examples are the document's request examples.

The examples are kept true by tests/api/test_openapi_examples.py, which sends each one to a live server
(both backends) and compares the answer: exactly for errors, by shape and by every value that is not an
id, a timestamp or a link for the rest. The ids in these examples are placeholders that the test replaces
with the ids of the objects it creates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from promojobs.api.routes import codes, downloads, health, jobs, promotions, rule_promotions, tokens
from promojobs.services.jobs import MAX_JOB_NAME_CHARS

Endpoint = Callable[..., Any]
JsonObject = dict[str, Any]
JobState = Literal["pending", "completed"]
Grant = Literal["client_credentials", "implicit", "none"]

# Placeholders, replaced by the test with the ids of the objects it creates.
PROMOTION_ID = "8f2e6a1c-4b3d-4e5f-9a7b-1c2d3e4f5a6b"
RULE_PROMOTION_ID = "3c9d2e7f-6a1b-4c8d-9e2f-7a6b5c4d3e2f"
JOB_ID = "5b7c9d1e-2f3a-4b5c-8d6e-9f0a1b2c3d4e"
PENDING_JOB_ID = "0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
CODE_ID = "5d54c408-a918-06bd-d80e-566dc43ac483"
CLIENT_ID = "E5ENCuUeMIKAF2b0CJQFdhXgkbtQ3eMD"
CLIENT_SECRET = "sLJGkyAhEb3q7xEU2pXxnQ0sBPj4V8dRkq5yMm2Zc9"  # noqa: S105 (an example, no secret)
ACCESS_TOKEN = "ee830eedd402124e2f36c36433fee9bca97454e7"  # noqa: S105 (an example, no token)
SERVER = "https://promojobs.example.com"
# Path parameters that name nothing, for the 404 examples.
UNKNOWN = {
    "promotion_id": "00000000-0000-4000-8000-000000000000",
    "job_id": "00000000-0000-4000-8000-000000000001",
    "code": "NO-SUCH-CODE",
    "code_id": "00000000-0000-4000-8000-000000000002",
}
CREATED = {"created_at": "2026-06-01T09:30:00.000Z", "updated_at": "2026-06-01T09:30:00.000Z"}
UPDATED = {"created_at": "2026-06-01T09:30:00.000Z", "updated_at": "2026-06-01T09:45:12.345Z"}


@dataclass(frozen=True)
class Example:
    """One exchange: the answer (``status``, ``body``; ``None`` for 204, CSV text for the file) and what
    gets it. ``request`` is the body sent (for an error, the operation's first success request when
    ``None``); ``query`` the query parameters; ``unknown`` a path parameter naming nothing in the store;
    ``grant`` the grant type of the bearer token sent (``"none"``: no ``Authorization`` header);
    ``job`` the state of the promotion's one job (the one ``job_id`` names; ``None``: no job)."""

    summary: str
    status: int
    body: JsonObject | str | None
    request: JsonObject | None = None
    query: Mapping[str, str] = field(default_factory=dict)
    unknown: str | None = None
    grant: Grant = "client_credentials"
    job: JobState | None = None


@dataclass(frozen=True)
class OperationDoc:
    description: str
    examples: tuple[Example, ...]

    @property
    def successes(self) -> tuple[Example, ...]:
        return tuple(example for example in self.examples if example.status < 400)

    def request_for(self, example: Example) -> JsonObject | None:
        """The body that gets ``example``: its own, else the first success example's."""
        if example.request is not None:
            return example.request
        return next((success.request for success in self.successes if success.request is not None), None)


def _error(status: int, title: str, detail: str, source: str | None = None) -> JsonObject:
    error: JsonObject = {"status": str(status), "title": title, "detail": detail}
    if source is not None:
        error["source"] = source
    return {"errors": [error]}


def _list(path: str, items: list[JsonObject]) -> JsonObject:
    link = f"{SERVER}{path}?page[offset]=0&page[limit]=25"
    return {
        "data": items,
        "links": {"current": link, "first": link, "last": link, "prev": None, "next": None},
        "meta": {
            "page": {"limit": 25, "offset": 0, "current": 1, "total": 1 if items else 0},
            "results": {"total": len(items)},
        },
    }


# ---- shared error examples ----

UNAUTHORIZED = Example(
    "No bearer token (or an expired or revoked one)",
    401,
    _error(401, "Unable to validate access token", "Unable to validate access token"),
    grant="none",
)
STOREFRONT_FORBIDDEN = Example(
    "An implicit (storefront) token",
    403,
    _error(403, "Forbidden", "You do not have permission to access this resource."),
    grant="implicit",
)
# Every promotion route answers both.
SECURED = (UNAUTHORIZED, STOREFRONT_FORBIDDEN)
PROMOTION_NOT_FOUND = Example(
    "No such promotion in the caller's store",
    404,
    _error(404, "Not Found", "promotion not found"),
    unknown="promotion_id",
)
JOB_NOT_FOUND = Example(
    "No such job on the promotion", 404, _error(404, "Not Found", "job not found"), unknown="job_id"
)
CODE_NOT_FOUND = Example(
    "No such code on the promotion", 404, _error(404, "Not Found", "code not found"), unknown="code"
)
RULE_CODE_NOT_FOUND = Example(
    "No such code on the promotion", 404, _error(404, "Not Found", "code not found"), unknown="code_id"
)
TOO_MANY_JOBS = Example(
    "Another job of the promotion is still pending or processing",
    400,
    _error(400, "Too many jobs", "Only 1 pending or processing job is allowed per promotion."),
    job="pending",
)
NO_FILE = Example(
    "The job is not a completed code_export job",
    422,
    _error(422, "Unprocessable Entity", "Job has no file to download. Job status: pending"),
    job="pending",
)


def _unknown_job_parameter(request: JsonObject) -> Example:
    return Example(
        "A misspelled parameter (`prefix` for `code_prefix`)",
        400,
        _error(
            400,
            "Bad Request",
            "unknown parameter for code_generate: prefix (allowed: code_length, code_prefix, consume_unit, "
            "max_uses_per_code, number_of_codes)",
            "data.parameters.prefix",
        ),
        request=request,
    )


def _job_status_filter() -> Example:
    return Example(
        "A status no job can have",
        400,
        _error(
            400,
            "Bad Request",
            "Could not parse the supplied filter: status cannot be done; it is one of pending, processing, "
            "completed, failed, cancelling, cancelled",
        ),
        query={"filter": "eq(status,done)"},
    )


# ---- standard promotions ----

PROMOTION_REQUEST: JsonObject = {
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


def _promotion(timestamps: JsonObject, **changes: Any) -> JsonObject:
    return {
        "type": "promotion",
        "id": PROMOTION_ID,
        **{key: value for key, value in PROMOTION_REQUEST.items() if key != "type"},
        "start": "2026-01-01T00:00:00Z",
        "end": "2030-01-01T00:00:00Z",
        "meta": {"timestamps": timestamps},
        **changes,
    }


PROMOTION = _promotion(CREATED)
CODE_REQUEST: JsonObject = {
    "type": "promotion_codes",
    "codes": [{"code": "AUTUMN-15", "uses": 5, "consume_unit": "per_cart"}],
}
CODE = {
    "code": "SUMMER-10",
    "uses": 5,
    "max_uses": 5,
    "consume_unit": "per_cart",
    "meta": {"timestamps": {"created_at": CREATED["created_at"]}},
}
# Codes of the standard promotion the examples run on (the test adds them first).
EXISTING_CODES: JsonObject = {
    "type": "promotion_codes",
    "codes": [{"code": "SUMMER-10", "uses": 5, "consume_unit": "per_cart"}],
}
_AUDIT = {"created_by": CLIENT_ID, "cancelled_by": None}
GENERATE_REQUEST: JsonObject = {
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
EXPORT_REQUEST: JsonObject = {"type": "promotion_job", "job_type": "code_export", "name": "Export"}
# The job a pending example's ``job_id`` names: a code_generate job no worker has taken yet.
PENDING_GENERATE: JsonObject = {
    "type": "promotion_job",
    "id": PENDING_JOB_ID,
    "promotion_id": PROMOTION_ID,
    "job_type": "code_generate",
    "name": "Summer codes",
    "parameters": {
        "number_of_codes": 10,
        "consume_unit": "per_cart",
        "max_uses_per_code": 1,
        "code_length": 8,
        "code_prefix": "Summer-",
    },
    "status": "pending",
    "meta": {"timestamps": CREATED, "audit": _AUDIT},
}
COMPLETED_EXPORT: JsonObject = {
    "type": "promotion_job",
    "id": JOB_ID,
    "promotion_id": PROMOTION_ID,
    "job_type": "code_export",
    "name": "Export",
    "status": "completed",
    "result": {"exported": 1},
    "meta": {"timestamps": UPDATED, "audit": _AUDIT},
}
FILE_LINK = {
    "href": f"{SERVER}/downloads/{JOB_ID}.csv?expires=1780306200"
    "&signature=7d63a74c403532d8e37fcad2d8c97a9135635cf4fecab8d6a46bc55d2e05c948"
}
_PROMOTIONS = "/v2/promotions"
_CODES = f"/v2/promotions/{PROMOTION_ID}/codes"
_JOBS = f"/v2/promotions/{PROMOTION_ID}/jobs"

_LIST_PROMOTIONS = OperationDoc(
    "The caller's store's standard promotions, newest first, 25 a page by default (`page[limit]` up to "
    "100). `filter=eq(code,SUMMER-10)` finds the promotion holding a code. Past offset 10,000 the `next`, "
    "`prev` and `last` links carry an opaque `page[cursor]`: follow them as given. A filter that cannot be "
    "parsed is 400 `Could not parse the supplied filter`.",
    (
        Example("The store's promotions", 200, _list(_PROMOTIONS, [PROMOTION])),
        Example(
            "A filter that cannot be parsed",
            400,
            _error(400, "Bad Request", "Could not parse the supplied filter"),
            query={"filter": "eq(name,Summer"},
        ),
        *SECURED,
    ),
)
_CREATE_PROMOTION = OperationDoc(
    "Create a standard promotion (Elastic Path's Promotions Standard API: `fixed_discount`, "
    "`percent_discount`, item, x-for-y and bundle types, with their `schema`). `start` and `end` take "
    "`YYYY-MM-DD`, `YYYY-MM-DD HH:MM` or RFC 3339 and come back as RFC 3339 UTC; `end` must be after "
    "`start`. A missing or invalid field is 400 with `source` naming it.",
    (
        Example("A fixed discount of 10 USD", 201, {"data": PROMOTION}, request={"data": PROMOTION_REQUEST}),
        Example(
            "Without a name",
            400,
            {
                "errors": [
                    {
                        "status": "400",
                        "title": "required",
                        "detail": "name is required",
                        "source": "data.name",
                    }
                ]
            },
            request={"data": {"type": "promotion", "promotion_type": "fixed_discount"}},
        ),
        *SECURED,
    ),
)
_GET_PROMOTION = OperationDoc(
    "One promotion of the caller's store. Another store's promotion is 404, exactly as one that does not "
    "exist.",
    (Example("The promotion", 200, {"data": PROMOTION}), PROMOTION_NOT_FOUND, *SECURED),
)
_UPDATE_PROMOTION = OperationDoc(
    "Change the fields given; the others keep their values. `data.id` must equal the path id; "
    "`promotion_type` and `schema` cannot change after creation (400 if they differ from the stored ones).",
    (
        Example(
            "Rename it",
            200,
            {"data": _promotion(UPDATED, name="Summer sale")},
            request={"data": {"type": "promotion", "id": PROMOTION_ID, "name": "Summer sale"}},
        ),
        Example(
            "A field of the wrong type",
            400,
            _error(400, "Bad Request", "data.enabled: Input should be a valid boolean", "data.enabled"),
            request={"data": {"type": "promotion", "id": PROMOTION_ID, "enabled": "yes"}},
        ),
        PROMOTION_NOT_FOUND,
        *SECURED,
    ),
)
_DELETE_PROMOTION = OperationDoc(
    "Delete the promotion with its codes, its jobs and their export files. Nothing is sent back.",
    (Example("Deleted", 204, None), PROMOTION_NOT_FOUND, *SECURED),
)
# ``add_codes`` answers the promotion, as Elastic Path does.
_ADD_CODES = OperationDoc(
    "Add codes by hand (up to 100,000 a request; to make many, submit a `code_generate` job). Codes are "
    "ASCII letters, digits and `- _ . $ @`, at most 64 characters, unique per store and "
    "case-insensitively; a code already in the store is 422 `Duplicate code` naming it, and nothing of "
    "the request is written. Answers the promotion, as Elastic Path does.",
    (
        Example("One code usable five times", 201, {"data": PROMOTION}, request={"data": CODE_REQUEST}),
        Example(
            "A character outside the code alphabet",
            400,
            _error(
                400,
                "Bad Request",
                "code may only contain ASCII letters, digits and - _ . $ @ (found ' ' at position 6)",
                "data.codes.0.code",
            ),
            request={"data": {"type": "promotion_codes", "codes": [{"code": "AUTUMN 15"}]}},
        ),
        Example(
            "A code the store already has",
            422,
            _error(422, "Duplicate code", "Promotion code already in use: SUMMER-10", "data.codes.0.code"),
            request={"data": {"type": "promotion_codes", "codes": [{"code": "SUMMER-10"}]}},
        ),
        PROMOTION_NOT_FOUND,
        *SECURED,
    ),
)
_LIST_CODES = OperationDoc(
    "The promotion's codes in the order they were added, 25 a page by default. `filter=eq(code,…)` finds "
    "one (case-insensitively). `uses`, `max_uses` and `user` are left out for a code that has none. Past "
    "offset 10,000 the links carry an opaque `page[cursor]`.",
    (
        Example("The promotion's codes", 200, _list(_CODES, [CODE])),
        Example(
            "A filter on an attribute codes do not have",
            400,
            _error(
                400,
                "Bad Request",
                "Could not parse the supplied filter: unknown attribute staus; this list filters on code",
            ),
            query={"filter": "eq(staus,completed)"},
        ),
        PROMOTION_NOT_FOUND,
        *SECURED,
    ),
)
_DELETE_CODES = OperationDoc(
    "Delete the codes listed (up to 100,000 a request); codes the promotion does not have are skipped. "
    "Nothing is sent back.",
    (
        Example(
            "Delete one code",
            204,
            None,
            request={"data": {"type": "promotion_codes", "codes": [{"code": "SUMMER-10"}]}},
        ),
        Example(
            "No codes listed",
            400,
            _error(
                400,
                "Bad Request",
                "data.codes: List should have at least 1 item after validation, not 0",
                "data.codes",
            ),
            request={"data": {"type": "promotion_codes", "codes": []}},
        ),
        PROMOTION_NOT_FOUND,
        *SECURED,
    ),
)
_DELETE_CODE = OperationDoc(
    "Delete one code of the promotion, named in the path (case-insensitively). Nothing is sent back.",
    (Example("Deleted", 204, None), CODE_NOT_FOUND, PROMOTION_NOT_FOUND, *SECURED),
)
_LIST_JOBS = OperationDoc(
    "The promotion's jobs, newest first. `filter` takes `eq(job_type,code_generate|code_export)` and "
    "`eq(status,…)`, joined with `:`; a value the attribute cannot have is 400 naming the allowed ones.",
    (
        Example("The promotion's jobs", 200, _list(_JOBS, [COMPLETED_EXPORT]), job="completed"),
        _job_status_filter(),
        PROMOTION_NOT_FOUND,
        *SECURED,
    ),
)
_CREATE_JOB = OperationDoc(
    "Submit a job: `code_generate` makes `parameters.number_of_codes` unique codes (`code_length` random "
    "characters, 8 to 16, after `code_prefix`), `code_export` writes every code of the promotion to a CSV "
    "file (then `GET …/jobs/{job_id}/file`). The job starts `pending`; poll it until `completed`, "
    "`failed` or `cancelled`. One pending or processing job per promotion (400 `Too many jobs`). An "
    "unknown parameter is 400 naming it. Send `Idempotency-Key` to retry safely: the same key and body "
    "within 24 hours answers the original job with `Idempotent-Replayed: true`, another body is 422. "
    f"`name` is at most {MAX_JOB_NAME_CHARS} characters.",
    (
        Example(
            "Generate ten codes",
            201,
            {"data": {**PENDING_GENERATE, "id": JOB_ID}},
            request={"data": GENERATE_REQUEST},
        ),
        Example(
            "Export the promotion's codes",
            201,
            {
                "data": {
                    **{key: value for key, value in COMPLETED_EXPORT.items() if key != "result"},
                    "status": "pending",
                    "meta": {"timestamps": CREATED, "audit": _AUDIT},
                }
            },
            request={"data": EXPORT_REQUEST},
        ),
        _unknown_job_parameter(
            {
                "data": {
                    "type": "promotion_job",
                    "job_type": "code_generate",
                    "parameters": {"number_of_codes": 10, "prefix": "Summer-"},
                }
            }
        ),
        TOO_MANY_JOBS,
        PROMOTION_NOT_FOUND,
        *SECURED,
    ),
)
_GET_JOB = OperationDoc(
    "One job: its `status`, its echoed `parameters` (defaults filled in) and its `result` "
    "(`generated` codes so far, `deleted` after a cancel, `exported` rows). Poll it while it runs.",
    (
        Example("A completed export", 200, {"data": COMPLETED_EXPORT}, job="completed"),
        JOB_NOT_FOUND,
        *SECURED,
    ),
)
_CANCEL_JOB = OperationDoc(
    "Cancel a pending or processing job. A pending job is `cancelled` at once; a processing one is "
    "`cancelling` until the codes it made are deleted (`result.deleted`), then `cancelled`. Any other "
    "state is 422. A body is ignored.",
    (
        Example(
            "A pending job, cancelled at once",
            200,
            {
                "data": {
                    **PENDING_GENERATE,
                    "status": "cancelled",
                    "meta": {"timestamps": UPDATED, "audit": {**_AUDIT, "cancelled_by": CLIENT_ID}},
                }
            },
            job="pending",
        ),
        Example(
            "A completed job",
            422,
            _error(422, "Unprocessable Entity", "Only pending or processing jobs can be cancelled"),
            job="completed",
        ),
        JOB_NOT_FOUND,
        *SECURED,
    ),
)
_GET_EXPORT_FILE = OperationDoc(
    'A signed, expiring link to the CSV of a completed `code_export` job (bare `{"href"}`, not wrapped '
    "in `data`, as Elastic Path answers). Fetching the link needs no token.",
    (Example("The link", 200, FILE_LINK, job="completed"), NO_FILE, JOB_NOT_FOUND, *SECURED),
)

# ---- rule promotions ----

RULE_SET: JsonObject = {
    "rules": {"strategy": "cart_total", "operator": "gte", "args": [1000]},
    "actions": [{"strategy": "cart_discount", "args": ["percent", 10]}],
}
RULE_PROMOTION_REQUEST: JsonObject = {
    "type": "rule_promotion",
    "name": "10% off over 10",
    "enabled": True,
    "start": "2026-01-01",
    "end": "2030-01-01",
    "rule_set": RULE_SET,
}


def _rule_promotion(timestamps: JsonObject, **changes: Any) -> JsonObject:
    return {
        "type": "rule_promotion",
        "id": RULE_PROMOTION_ID,
        "name": "10% off over 10",
        "description": None,
        "enabled": True,
        "automatic": False,
        "stackable": True,
        "override_stacking": False,
        "start": "2026-01-01T00:00:00Z",
        "end": "2030-01-01T00:00:00Z",
        "rule_set": RULE_SET,
        "meta": {"timestamps": timestamps},
        **changes,
    }


RULE_PROMOTION = _rule_promotion(CREATED)
RULE_CODE_REQUEST: JsonObject = {
    "type": "promotion_codes",
    "codes": [
        {"code": "autumn2026", "uses": 100, "max_uses_per_shopper": {"max_uses": 1, "includes_guests": False}}
    ],
}
EXISTING_RULE_CODES: JsonObject = {
    "type": "promotion_codes",
    "codes": [
        {"code": "spring2026", "uses": 100, "max_uses_per_shopper": {"max_uses": 1, "includes_guests": False}}
    ],
}


def _rule_code(code: str, **extra: Any) -> JsonObject:
    return {
        "type": "promotion_codes",
        "id": CODE_ID,
        "code": code,
        "uses": 100,
        "max_uses": 100,
        "consume_unit": "per_checkout",
        "max_uses_per_shopper": {"max_uses": 1, "includes_guests": False},
        **extra,
    }


RULE_PENDING_GENERATE: JsonObject = {
    "type": "promotion_job",
    "id": PENDING_JOB_ID,
    "rule_promotion_id": RULE_PROMOTION_ID,
    "job_type": "code_generate",
    "name": "Spring codes",
    "parameters": {
        "number_of_codes": 10,
        "consume_unit": "per_checkout",
        "code_length": 8,
        "code_prefix": "spring-",
    },
    "status": "pending",
    "meta": {"timestamps": CREATED, "audit": _AUDIT},
}
RULE_GENERATE_REQUEST: JsonObject = {
    "type": "promotion_job",
    "job_type": "code_generate",
    "name": "Spring codes",
    "parameters": {"number_of_codes": 10, "code_prefix": "spring-"},
}
RULE_COMPLETED_EXPORT: JsonObject = {
    "type": "promotion_job",
    "id": JOB_ID,
    "rule_promotion_id": RULE_PROMOTION_ID,
    "job_type": "code_export",
    "name": "Export",
    "status": "completed",
    "result": {"exported": 1},
    "meta": {"timestamps": UPDATED, "audit": _AUDIT},
}
_RULE_PROMOTIONS = "/v2/rule-promotions"
_RULE_CODES = f"/v2/rule-promotions/{RULE_PROMOTION_ID}/codes"
_RULE_JOBS = f"/v2/rule-promotions/{RULE_PROMOTION_ID}/jobs"

_LIST_RULE_PROMOTIONS = OperationDoc(
    "The caller's store's rule promotions (Elastic Path's Promotions Builder), newest first. `filter` "
    "takes `eq(code,…)`, `like`/`ilike(name,…)`, `eq(enabled|stackable|override_stacking,true|false)` and "
    "`lt|le|eq|gt|ge(start|end,…)`; a value of the wrong kind is 400 naming it.",
    (
        Example("The store's rule promotions", 200, _list(_RULE_PROMOTIONS, [RULE_PROMOTION])),
        Example(
            "A boolean attribute compared with something else",
            400,
            _error(400, "Bad Request", "enabled must be true or false", "filter"),
            query={"filter": "eq(enabled,maybe)"},
        ),
        *SECURED,
    ),
)
_CREATE_RULE_PROMOTION = OperationDoc(
    "Create a rule promotion: `start`, `end` and a `rule_set` of `rules` (conditions: cart total, items, "
    "shipping, ...) and `actions` (discounts). The rule set is checked strategy by strategy and a wrong "
    "part is 400 with `source` pointing at it; it is returned as given. `stackable` defaults to true.",
    (
        Example(
            "10% off carts of 10 or more",
            201,
            {"data": RULE_PROMOTION},
            request={"data": RULE_PROMOTION_REQUEST},
        ),
        Example(
            "An unknown rule strategy",
            400,
            _error(
                400,
                "Bad Request",
                "strategy must be one of account_tags, and, cart_custom_attribute, cart_total, "
                "item_attribute, item_category, item_identifier, item_price, item_product_id, "
                "item_quantity, item_sku, items_bundle, or, shipping_type",
                "data.rule_set.rules.strategy",
            ),
            request={
                "data": {
                    **RULE_PROMOTION_REQUEST,
                    "rule_set": {
                        **RULE_SET,
                        "rules": {"strategy": "cart_size", "operator": "gte", "args": [3]},
                    },
                }
            },
        ),
        *SECURED,
    ),
)
_GET_RULE_PROMOTION = OperationDoc(
    "One rule promotion of the caller's store; another store's is 404, as one that does not exist.",
    (Example("The rule promotion", 200, {"data": RULE_PROMOTION}), PROMOTION_NOT_FOUND, *SECURED),
)
_UPDATE_RULE_PROMOTION = OperationDoc(
    "Change the fields given; the others keep their values. A `rule_set` given replaces the whole rule "
    "set and is checked as on creation.",
    (
        Example(
            "Rename and disable it",
            200,
            {"data": _rule_promotion(UPDATED, name="10% off over 10 (paused)", enabled=False)},
            request={
                "data": {
                    "type": "rule_promotion",
                    "id": RULE_PROMOTION_ID,
                    "name": "10% off over 10 (paused)",
                    "enabled": False,
                }
            },
        ),
        Example(
            "A field of the wrong type",
            400,
            _error(400, "Bad Request", "data.stackable: Input should be a valid boolean", "data.stackable"),
            request={"data": {"type": "rule_promotion", "id": RULE_PROMOTION_ID, "stackable": "no"}},
        ),
        PROMOTION_NOT_FOUND,
        *SECURED,
    ),
)
_DELETE_RULE_PROMOTION = OperationDoc(
    "Delete the rule promotion with its codes, its jobs and their export files. Nothing is sent back.",
    (Example("Deleted", 204, None), PROMOTION_NOT_FOUND, *SECURED),
)
_ADD_RULE_CODES = OperationDoc(
    "Add codes by hand, with per-shopper limits (`max_uses_per_shopper`) and `is_for_new_shopper`. "
    "Answers the codes created, each with its `id` (for `DELETE …/codes/{code_id}`). A code the store "
    "already has is 422 `Duplicate code`.",
    (
        Example(
            "One code, once per shopper",
            201,
            {"data": [_rule_code("autumn2026")]},
            request={"data": RULE_CODE_REQUEST},
        ),
        Example(
            "A code the store already has",
            422,
            _error(422, "Duplicate code", "Promotion code already in use"),
            request={"data": {"type": "promotion_codes", "codes": [{"code": "spring2026"}]}},
        ),
        PROMOTION_NOT_FOUND,
        *SECURED,
    ),
)
_LIST_RULE_CODES = OperationDoc(
    "The rule promotion's codes. `filter` takes `eq(code,…)` and `gt(code,…)`; `sort=code` or `-code` "
    "orders them case-insensitively.",
    (
        Example(
            "The promotion's codes",
            200,
            _list(
                _RULE_CODES,
                [_rule_code("spring2026", meta={"timestamps": {"created_at": CREATED["created_at"]}})],
            ),
        ),
        Example(
            "A sort the list does not offer",
            400,
            _error(400, "Bad Request", "sort must be code or -code", "sort"),
            query={"sort": "uses"},
        ),
        PROMOTION_NOT_FOUND,
        *SECURED,
    ),
)
_DELETE_RULE_CODES = OperationDoc(
    "Delete the codes listed by their text; codes the promotion does not have are skipped. Nothing is "
    "sent back.",
    (
        Example(
            "Delete one code",
            204,
            None,
            request={"data": {"type": "promotion_codes", "codes": [{"code": "spring2026"}]}},
        ),
        PROMOTION_NOT_FOUND,
        *SECURED,
    ),
)
_DELETE_RULE_CODE = OperationDoc(
    "Delete one code by its `id` (from the answer of adding it or from the list). Nothing is sent back.",
    (Example("Deleted", 204, None), RULE_CODE_NOT_FOUND, PROMOTION_NOT_FOUND, *SECURED),
)
_LIST_RULE_JOBS = OperationDoc(
    "The rule promotion's jobs, newest first; `filter` as for standard promotions' jobs.",
    (
        Example("The promotion's jobs", 200, _list(_RULE_JOBS, [RULE_COMPLETED_EXPORT]), job="completed"),
        _job_status_filter(),
        PROMOTION_NOT_FOUND,
        *SECURED,
    ),
)
_CREATE_RULE_JOB = OperationDoc(
    "Submit a `code_generate` or `code_export` job on a rule promotion: the same engine, limits and "
    "`Idempotency-Key` as standard promotions' jobs. The job has `rule_promotion_id`; `consume_unit` is "
    f"`per_application` or `per_checkout` (the default). `name` is at most {MAX_JOB_NAME_CHARS} characters.",
    (
        Example(
            "Generate ten codes",
            201,
            {"data": {**RULE_PENDING_GENERATE, "id": JOB_ID}},
            request={"data": RULE_GENERATE_REQUEST},
        ),
        _unknown_job_parameter(
            {
                "data": {
                    "type": "promotion_job",
                    "job_type": "code_generate",
                    "parameters": {"number_of_codes": 10, "prefix": "spring-"},
                }
            }
        ),
        TOO_MANY_JOBS,
        PROMOTION_NOT_FOUND,
        *SECURED,
    ),
)
_GET_RULE_JOB = OperationDoc(
    "One job of the rule promotion, with its `status`, `parameters` and `result`.",
    (
        Example("A completed export", 200, {"data": RULE_COMPLETED_EXPORT}, job="completed"),
        JOB_NOT_FOUND,
        *SECURED,
    ),
)
_CANCEL_RULE_JOB = OperationDoc(
    "Cancel a pending or processing job, as for standard promotions. Any other state is 422 (the detail "
    "ends with a period, as Elastic Path's rule-promotion pages have it).",
    (
        Example(
            "A pending job, cancelled at once",
            200,
            {
                "data": {
                    **RULE_PENDING_GENERATE,
                    "status": "cancelled",
                    "meta": {"timestamps": UPDATED, "audit": {**_AUDIT, "cancelled_by": CLIENT_ID}},
                }
            },
            job="pending",
        ),
        Example(
            "A completed job",
            422,
            _error(422, "Unprocessable Entity", "Only pending or processing jobs can be cancelled."),
            job="completed",
        ),
        JOB_NOT_FOUND,
        *SECURED,
    ),
)
_GET_RULE_EXPORT_FILE = OperationDoc(
    'A signed, expiring link to the CSV of a completed `code_export` job (bare `{"href"}`).',
    (Example("The link", 200, FILE_LINK, job="completed"), NO_FILE, JOB_NOT_FOUND, *SECURED),
)

# ---- tokens, downloads, health ----

_ACCESS_TOKEN = OperationDoc(
    "Exchange client credentials for a bearer token (form-encoded, as Elastic Path's OAuth endpoint). "
    "`client_credentials` (with `client_secret`) gives a token for the promotion routes; `implicit` "
    "(`client_id` only) a storefront token, which promotion routes refuse with 403. `expires` is in epoch "
    "seconds. A JSON body is 400 saying to send a form; wrong credentials are 401, and repeated failures "
    "are throttled (429 with `Retry-After`).",
    (
        Example(
            "A client_credentials token",
            200,
            {
                "access_token": ACCESS_TOKEN,
                "token_type": "Bearer",
                "expires_in": 3600,
                "expires": 1780306200,
                "identifier": "client_credentials",
            },
            request={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
        ),
        Example(
            "An unknown grant type",
            400,
            _error(400, "Bad Request", "grant_type must be client_credentials or implicit", "grant_type"),
            request={"grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        ),
        Example(
            "A wrong client secret",
            401,
            _error(401, "Unauthorized", "Invalid client credentials"),
            request={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": "wrong-secret",
            },
        ),
    ),
)
_DOWNLOAD_EXPORT = OperationDoc(
    "The CSV file of an export job, for whoever holds the link from `GET …/jobs/{job_id}/file` (no token): "
    "header `code,uses,max_uses,consume_unit,user,created_at`, UTF-8, `\\n` line ends. The link is signed "
    "and expires; an altered or expired one is 403. `HEAD` answers the same headers without the body.",
    (
        Example(
            "The exported codes",
            200,
            "code,uses,max_uses,consume_unit,user,created_at\nSUMMER-10,5,5,per_cart,,2026-06-01T09:30:00.000Z\n",
            job="completed",
        ),
        Example(
            "An altered or expired link",
            403,
            _error(403, "Forbidden", "The download link is invalid"),
            query={"signature": "0" * 64},
            job="completed",
        ),
    ),
)
_HEALTHZ = OperationDoc(
    "Liveness: the process answers. Touches nothing else, so it answers even while the database does not.",
    (Example("Alive", 200, {"status": "ok"}),),
)
_READYZ = OperationDoc(
    "Readiness: the database answers too, within 2 seconds; otherwise 503, so a load balancer takes the "
    "process out rather than wait with it.",
    (
        Example("Ready", 200, {"status": "ready"}),
        Example(
            "The database did not answer in time",
            503,
            _error(503, "Service Unavailable", "The database did not answer within 2 s."),
        ),
    ),
)

OPERATION_DOCS: dict[Endpoint, OperationDoc] = {
    tokens.access_token: _ACCESS_TOKEN,
    promotions.list_promotions: _LIST_PROMOTIONS,
    promotions.create_promotion: _CREATE_PROMOTION,
    promotions.get_promotion: _GET_PROMOTION,
    promotions.update_promotion: _UPDATE_PROMOTION,
    promotions.delete_promotion: _DELETE_PROMOTION,
    codes.list_codes: _LIST_CODES,
    codes.add_codes: _ADD_CODES,
    codes.delete_codes: _DELETE_CODES,
    codes.delete_code: _DELETE_CODE,
    jobs.list_jobs: _LIST_JOBS,
    jobs.create_job: _CREATE_JOB,
    jobs.get_job: _GET_JOB,
    jobs.cancel_job: _CANCEL_JOB,
    jobs.get_export_file: _GET_EXPORT_FILE,
    downloads.download_export: _DOWNLOAD_EXPORT,
    health.healthz: _HEALTHZ,
    health.readyz: _READYZ,
    rule_promotions.list_rule_promotions: _LIST_RULE_PROMOTIONS,
    rule_promotions.create_rule_promotion: _CREATE_RULE_PROMOTION,
    rule_promotions.get_rule_promotion: _GET_RULE_PROMOTION,
    rule_promotions.update_rule_promotion: _UPDATE_RULE_PROMOTION,
    rule_promotions.delete_rule_promotion: _DELETE_RULE_PROMOTION,
    rule_promotions.list_rule_codes: _LIST_RULE_CODES,
    rule_promotions.add_rule_codes: _ADD_RULE_CODES,
    rule_promotions.delete_rule_codes: _DELETE_RULE_CODES,
    rule_promotions.delete_rule_code: _DELETE_RULE_CODE,
    rule_promotions.list_rule_jobs: _LIST_RULE_JOBS,
    rule_promotions.create_rule_job: _CREATE_RULE_JOB,
    rule_promotions.get_rule_job: _GET_RULE_JOB,
    rule_promotions.cancel_rule_job: _CANCEL_RULE_JOB,
    rule_promotions.get_rule_export_file: _GET_RULE_EXPORT_FILE,
}
