"""What each operation does, and example exchanges: the descriptions and examples of the OpenAPI document.

One table, ``OPERATION_DOCS``, keyed by route function like the others in ``api.openapi`` (which puts it
into the document), gathered from one module a part of the API: standard promotions and their codes,
their jobs, rule promotions and their codes, their jobs, and the routes outside the promotions (tokens,
downloads, health). What they share (the types, the placeholders, the errors every promotion route
answers) is in ``base``. Each operation has a description and examples: its success answer for a
realistic request, and its main error answers, each with what provokes it (a body, a query, a path id
that names nothing, no token, a job in some state). The request bodies of the success examples are the
document's request examples.

The examples are kept true by tests/api/test_openapi_examples.py, which sends each one to a live server
(both backends) and compares the answer: exactly for errors, by shape and by every value that is not an
id, a timestamp or a link for the rest. The ids in these examples are placeholders that the test replaces
with the ids of the objects it creates; the placeholders and the requests that set up what the examples
run on are named here for it.
"""

from __future__ import annotations

from promojobs.api.operation_docs import (
    rule_jobs,
    rule_promotions,
    standard_jobs,
    standard_promotions,
    tokens_downloads_health,
)
from promojobs.api.operation_docs.base import (
    CLIENT_ID,
    CLIENT_SECRET,
    PROMOTION_ID,
    RULE_PROMOTION_ID,
    UNKNOWN,
    Endpoint,
    Example,
    OperationDoc,
    OperationTable,
)
from promojobs.api.operation_docs.rule_jobs import RULE_GENERATE_REQUEST
from promojobs.api.operation_docs.rule_promotions import EXISTING_RULE_CODES, RULE_PROMOTION_REQUEST
from promojobs.api.operation_docs.standard_jobs import EXPORT_REQUEST, GENERATE_REQUEST
from promojobs.api.operation_docs.standard_promotions import EXISTING_CODES, PROMOTION_REQUEST

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "EXISTING_CODES",
    "EXISTING_RULE_CODES",
    "EXPORT_REQUEST",
    "GENERATE_REQUEST",
    "OPERATION_DOCS",
    "PROMOTION_ID",
    "PROMOTION_REQUEST",
    "RULE_GENERATE_REQUEST",
    "RULE_PROMOTION_ID",
    "RULE_PROMOTION_REQUEST",
    "UNKNOWN",
    "Endpoint",
    "Example",
    "OperationDoc",
]

OPERATION_DOCS: OperationTable = {
    **tokens_downloads_health.DOCS,
    **standard_promotions.DOCS,
    **standard_jobs.DOCS,
    **rule_promotions.DOCS,
    **rule_jobs.DOCS,
}
