"""The operations on standard promotions' jobs (``/v2/promotions/{promotion_id}/jobs``)."""

from __future__ import annotations

from promojobs.api.operation_docs.base import (
    AUDIT,
    CREATED,
    EXPORT_FILE_EXAMPLES,
    JOB_ID,
    PROMOTION_ID,
    Example,
    JobKind,
    JsonObject,
    OperationDoc,
    OperationTable,
)
from promojobs.api.routes import jobs
from promojobs.services.jobs import MAX_JOB_NAME_CHARS

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
_KIND = JobKind(
    {"promotion_id": PROMOTION_ID},
    f"/v2/promotions/{PROMOTION_ID}/jobs",
    "Summer codes",
    {
        "number_of_codes": 10,
        "consume_unit": "per_cart",
        "max_uses_per_code": 1,
        "code_length": 8,
        "code_prefix": "Summer-",
    },
    "Only pending or processing jobs can be cancelled",
)

_LIST_JOBS = OperationDoc(
    "The promotion's jobs, newest first. `filter` takes `eq(job_type,code_generate|code_export)` and "
    "`eq(status,…)`, joined with `:`; a value the attribute cannot have is 400 naming the allowed ones.",
    _KIND.listed(),
)
_CREATE_JOB = OperationDoc(
    "Submit a job: `code_generate` makes `parameters.number_of_codes` unique codes (`code_length` random "
    "characters, 8 to 16, after `code_prefix`), `code_export` writes every code of the promotion to a CSV "
    "file (then `GET …/jobs/{job_id}/file`). The job starts `pending`; poll it until `completed`, "
    "`failed` or `cancelled`. One pending or processing job per promotion (400 `Too many jobs`). An "
    "unknown parameter is 400 naming it. Send `Idempotency-Key` to retry safely: the same key and body "
    "within 24 hours answers the original job with `Idempotent-Replayed: true`, another body is 422. "
    f"`name` is at most {MAX_JOB_NAME_CHARS} characters.",
    _KIND.submitted(
        Example(
            "Generate ten codes",
            201,
            {"data": {**_KIND.pending, "id": JOB_ID}},
            request={"data": GENERATE_REQUEST},
        ),
        Example(
            "Export the promotion's codes",
            201,
            {
                "data": {
                    **{key: value for key, value in _KIND.completed_export.items() if key != "result"},
                    "status": "pending",
                    "meta": {"timestamps": CREATED, "audit": AUDIT},
                }
            },
            request={"data": EXPORT_REQUEST},
        ),
        another_request={"data": EXPORT_REQUEST},
        code_prefix="Summer-",
    ),
)
_GET_JOB = OperationDoc(
    "One job: its `status`, its echoed `parameters` (defaults filled in) and its `result` "
    "(`generated` codes so far, `deleted` after a cancel, `exported` rows). Poll it while it runs.",
    _KIND.got(),
)
_CANCEL_JOB = OperationDoc(
    "Cancel a pending or processing job. A pending job is `cancelled` at once; a processing one is "
    "`cancelling` until the codes it made are deleted (`result.deleted`), then `cancelled`. Any other "
    "state is 422. A body is ignored.",
    _KIND.cancelled(),
)
_GET_EXPORT_FILE = OperationDoc(
    'A signed, expiring link to the CSV of a completed `code_export` job (bare `{"href"}`, not wrapped '
    "in `data`, as Elastic Path answers). Fetching the link needs no token.",
    EXPORT_FILE_EXAMPLES,
)

DOCS: OperationTable = {
    jobs.list_jobs: _LIST_JOBS,
    jobs.create_job: _CREATE_JOB,
    jobs.get_job: _GET_JOB,
    jobs.cancel_job: _CANCEL_JOB,
    jobs.get_export_file: _GET_EXPORT_FILE,
}
