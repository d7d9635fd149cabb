"""What every part of the operation docs shares: the types, the placeholders, the body builders and the
examples that several operations (standard and rule alike) answer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

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
    ``job`` the state of the promotion's one job (the one ``job_id`` names; ``None``: no job);
    ``idempotency_key`` the ``Idempotency-Key`` sent, after the operation's first success request was sent
    once with it. ``headers`` are the answer's headers that the document declares for ``status`` (every
    one of them: a declared header not named here is one the answer does not have)."""

    summary: str
    status: int
    body: JsonObject | str | None
    request: JsonObject | None = None
    query: Mapping[str, str] = field(default_factory=dict)
    unknown: str | None = None
    grant: Grant = "client_credentials"
    job: JobState | None = None
    idempotency_key: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


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


# The operations of one part of the API, keyed by route function.
OperationTable = dict[Endpoint, OperationDoc]


def error_body(status: int, title: str, detail: str, source: str | None = None) -> JsonObject:
    error: JsonObject = {"status": str(status), "title": title, "detail": detail}
    if source is not None:
        error["source"] = source
    return {"errors": [error]}


def first_page(path: str, items: list[JsonObject]) -> JsonObject:
    """A list answer: ``items`` as the one page there is of ``path``."""
    link = f"{SERVER}{path}?page[offset]=0&page[limit]=25"
    return {
        "data": items,
        "links": {"current": link, "first": link, "last": link, "prev": None, "next": None},
        "meta": {
            "page": {"limit": 25, "offset": 0, "current": 1, "total": 1 if items else 0},
            "results": {"total": len(items)},
        },
    }


# ---- errors every kind of promotion answers alike ----

# Every 401 asks for a bearer token.
BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}

UNAUTHORIZED = Example(
    "No bearer token (or an expired or revoked one)",
    401,
    error_body(401, "Unable to validate access token", "Unable to validate access token"),
    grant="none",
    headers=BEARER_CHALLENGE,
)
STOREFRONT_FORBIDDEN = Example(
    "An implicit (storefront) token",
    403,
    error_body(403, "Forbidden", "You do not have permission to access this resource."),
    grant="implicit",
)
# Every promotion route answers both.
SECURED = (UNAUTHORIZED, STOREFRONT_FORBIDDEN)
PROMOTION_NOT_FOUND = Example(
    "No such promotion in the caller's store",
    404,
    error_body(404, "Not Found", "promotion not found"),
    unknown="promotion_id",
)
# What every route under ``/{promotion_id}`` answers besides its own examples.
ON_A_PROMOTION = (PROMOTION_NOT_FOUND, *SECURED)
JOB_NOT_FOUND = Example(
    "No such job on the promotion", 404, error_body(404, "Not Found", "job not found"), unknown="job_id"
)
CODE_NOT_FOUND = Example(
    "No such code on the promotion", 404, error_body(404, "Not Found", "code not found"), unknown="code"
)
RULE_CODE_NOT_FOUND = Example(
    "No such code on the promotion", 404, error_body(404, "Not Found", "code not found"), unknown="code_id"
)
TOO_MANY_JOBS = Example(
    "Another job of the promotion is still pending or processing",
    400,
    error_body(400, "Too many jobs", "Only 1 pending or processing job is allowed per promotion."),
    job="pending",
)
NO_FILE = Example(
    "The job is not a completed code_export job",
    422,
    error_body(422, "Unprocessable Entity", "Job has no file to download. Job status: pending"),
    job="pending",
)
DELETED = Example("Deleted", 204, None)
JOB_STATUS_FILTER = Example(
    "A status no job can have",
    400,
    error_body(
        400,
        "Bad Request",
        "Could not parse the supplied filter: status cannot be done; it is one of pending, processing, "
        "completed, failed, cancelling, cancelled",
    ),
    query={"filter": "eq(status,done)"},
)


def promotion_deletion(kind: str) -> OperationDoc:
    """``DELETE`` of a promotion, of the ``kind`` named ("promotion", "rule promotion")."""
    return OperationDoc(
        f"Delete the {kind} with its codes, its jobs and their export files. Nothing is sent back.",
        (DELETED, *ON_A_PROMOTION),
    )


def codes_body(code: str) -> JsonObject:
    """A request body listing one code (to add or delete)."""
    return {"data": {"type": "promotion_codes", "codes": [{"code": code}]}}


def code_deletions(code: str) -> tuple[Example, ...]:
    """``DELETE …/codes`` of either kind of promotion, deleting ``code``."""
    return (Example("Delete one code", 204, None, request=codes_body(code)), *ON_A_PROMOTION)


def unknown_job_parameter(code_prefix: str) -> Example:
    """A code_generate job with ``prefix`` (for ``code_prefix``) set to ``code_prefix``."""
    parameters = {"number_of_codes": 10, "prefix": code_prefix}
    return Example(
        "A misspelled parameter (`prefix` for `code_prefix`)",
        400,
        error_body(
            400,
            "Bad Request",
            "unknown parameter for code_generate: prefix (allowed: code_length, code_prefix, consume_unit, "
            "max_uses_per_code, number_of_codes)",
            "data.parameters.prefix",
        ),
        request={"data": {"type": "promotion_job", "job_type": "code_generate", "parameters": parameters}},
    )


def not_a_boolean(promotion: JsonObject, name: str, value: str) -> Example:
    """An update of ``promotion`` (its ``type`` and ``id``) that sets the boolean ``name`` to ``value``."""
    return Example(
        "A field of the wrong type",
        400,
        error_body(400, "Bad Request", f"data.{name}: Input should be a valid boolean", f"data.{name}"),
        request={"data": {**promotion, name: value}},
    )


# ---- jobs, the same on both kinds of promotion but for the field naming the promotion ----

AUDIT = {"created_by": CLIENT_ID, "cancelled_by": None}
FILE_LINK = {
    "href": f"{SERVER}/downloads/{JOB_ID}.csv?expires=1780306200"
    "&signature=7d63a74c403532d8e37fcad2d8c97a9135635cf4fecab8d6a46bc55d2e05c948"
}
# The examples of ``GET …/jobs/{job_id}/file``.
EXPORT_FILE_EXAMPLES = (
    Example("The link", 200, FILE_LINK, job="completed"),
    NO_FILE,
    JOB_NOT_FOUND,
    *SECURED,
)


IDEMPOTENCY_KEY = "3f1c8e2a-codes-for-summer"


@dataclass(frozen=True)
class JobKind:
    """The job examples of one kind of promotion, which differ only in the field naming the promotion
    (``{"promotion_id": …}`` or ``{"rule_promotion_id": …}``), the path of its jobs, the name and echoed
    parameters of the code_generate job the pending examples name, and the words of a refused cancel."""

    promotion: JsonObject
    jobs_path: str
    pending_name: str
    pending_parameters: JsonObject
    not_cancellable: str

    @property
    def pending(self) -> JsonObject:
        """The job a pending example's ``job_id`` names: a code_generate job no worker has taken yet."""
        return {
            "type": "promotion_job",
            "id": PENDING_JOB_ID,
            **self.promotion,
            "job_type": "code_generate",
            "name": self.pending_name,
            "parameters": self.pending_parameters,
            "status": "pending",
            "meta": {"timestamps": CREATED, "audit": AUDIT},
        }

    @property
    def completed_export(self) -> JsonObject:
        """The code_export job that has exported the one code."""
        return {
            "type": "promotion_job",
            "id": JOB_ID,
            **self.promotion,
            "job_type": "code_export",
            "name": "Export",
            "status": "completed",
            "result": {"exported": 1},
            "meta": {"timestamps": UPDATED, "audit": AUDIT},
        }

    def submitted(
        self, first: Example, *successes: Example, another_request: JsonObject, code_prefix: str
    ) -> tuple[Example, ...]:
        """``POST …/jobs``: the ``first`` success and the others, the first sent again with its
        ``Idempotency-Key`` (and with ``another_request``), and the refusals."""
        return (
            first,
            *successes,
            Example(
                "The same request again, with the same Idempotency-Key",
                first.status,
                first.body,
                idempotency_key=IDEMPOTENCY_KEY,
                headers={"Idempotent-Replayed": "true"},
            ),
            Example(
                "Another request with the same Idempotency-Key",
                422,
                error_body(
                    422,
                    "Unprocessable Entity",
                    "This Idempotency-Key was already used with a different request.",
                ),
                request=another_request,
                idempotency_key=IDEMPOTENCY_KEY,
            ),
            unknown_job_parameter(code_prefix),
            TOO_MANY_JOBS,
            *ON_A_PROMOTION,
        )

    def listed(self) -> tuple[Example, ...]:
        """``GET …/jobs``."""
        jobs = first_page(self.jobs_path, [self.completed_export])
        return (
            Example("The promotion's jobs", 200, jobs, job="completed"),
            JOB_STATUS_FILTER,
            *ON_A_PROMOTION,
        )

    def got(self) -> tuple[Example, ...]:
        """``GET …/jobs/{job_id}``."""
        return (
            Example("A completed export", 200, {"data": self.completed_export}, job="completed"),
            JOB_NOT_FOUND,
            *SECURED,
        )

    def cancelled(self) -> tuple[Example, ...]:
        """``POST …/jobs/{job_id}/cancel``: the pending job cancelled at once, and the refusals."""
        meta = {"timestamps": UPDATED, "audit": {**AUDIT, "cancelled_by": CLIENT_ID}}
        cancelled = {**self.pending, "status": "cancelled", "meta": meta}
        refused = error_body(422, "Unprocessable Entity", self.not_cancellable)
        return (
            Example("A pending job, cancelled at once", 200, {"data": cancelled}, job="pending"),
            Example("A completed job", 422, refused, job="completed"),
            JOB_NOT_FOUND,
            *SECURED,
        )
