"""The operations on rule promotions' jobs (``/v2/rule-promotions/{promotion_id}/jobs``): the same
engine as standard promotions' jobs."""

from __future__ import annotations

from promojobs.api.operation_docs.base import (
    EXPORT_FILE_EXAMPLES,
    JOB_ID,
    RULE_PROMOTION_ID,
    Example,
    JobKind,
    JsonObject,
    OperationDoc,
    OperationTable,
)
from promojobs.api.routes import rule_promotions
from promojobs.services.jobs import MAX_JOB_NAME_CHARS

RULE_GENERATE_REQUEST: JsonObject = {
    "type": "promotion_job",
    "job_type": "code_generate",
    "name": "Spring codes",
    "parameters": {"number_of_codes": 10, "code_prefix": "spring-"},
}
_KIND = JobKind(
    {"rule_promotion_id": RULE_PROMOTION_ID},
    f"/v2/rule-promotions/{RULE_PROMOTION_ID}/jobs",
    "Spring codes",
    {"number_of_codes": 10, "consume_unit": "per_checkout", "code_length": 8, "code_prefix": "spring-"},
    # (with a period, as Elastic Path's rule-promotion pages have it)
    "Only pending or processing jobs can be cancelled.",
)

_LIST_RULE_JOBS = OperationDoc(
    "The rule promotion's jobs, newest first; `filter` as for standard promotions' jobs.",
    _KIND.listed(),
)
_CREATE_RULE_JOB = OperationDoc(
    "Submit a `code_generate` or `code_export` job on a rule promotion: the same engine, limits and "
    "`Idempotency-Key` as standard promotions' jobs. The job has `rule_promotion_id`; `consume_unit` is "
    f"`per_application` or `per_checkout` (the default). `name` is at most {MAX_JOB_NAME_CHARS} characters.",
    _KIND.submitted(
        Example(
            "Generate ten codes",
            201,
            {"data": {**_KIND.pending, "id": JOB_ID}},
            request={"data": RULE_GENERATE_REQUEST},
        ),
        another_request={"data": {**RULE_GENERATE_REQUEST, "name": "Other codes"}},
        code_prefix="spring-",
    ),
)
_GET_RULE_JOB = OperationDoc(
    "One job of the rule promotion, with its `status`, `parameters` and `result`.",
    _KIND.got(),
)
_CANCEL_RULE_JOB = OperationDoc(
    "Cancel a pending or processing job, as for standard promotions. Any other state is 422 (the detail "
    "ends with a period, as Elastic Path's rule-promotion pages have it).",
    _KIND.cancelled(),
)
_GET_RULE_EXPORT_FILE = OperationDoc(
    'A signed, expiring link to the CSV of a completed `code_export` job (bare `{"href"}`).',
    EXPORT_FILE_EXAMPLES,
)

DOCS: OperationTable = {
    rule_promotions.list_rule_jobs: _LIST_RULE_JOBS,
    rule_promotions.create_rule_job: _CREATE_RULE_JOB,
    rule_promotions.get_rule_job: _GET_RULE_JOB,
    rule_promotions.cancel_rule_job: _CANCEL_RULE_JOB,
    rule_promotions.get_rule_export_file: _GET_RULE_EXPORT_FILE,
}
