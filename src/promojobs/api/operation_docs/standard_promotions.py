"""The operations on standard promotions (``/v2/promotions``) and their codes."""

from __future__ import annotations

from typing import Any

from promojobs.api.operation_docs.base import (
    CODE_NOT_FOUND,
    CREATED,
    DELETED,
    ON_A_PROMOTION,
    PROMOTION_ID,
    SECURED,
    UPDATED,
    Example,
    JsonObject,
    OperationDoc,
    OperationTable,
    codes_body,
    error_body,
    first_page,
    not_a_boolean,
    promotion_deletion,
)
from promojobs.api.routes import codes, promotions

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
_PROMOTIONS = "/v2/promotions"
_CODES = f"/v2/promotions/{PROMOTION_ID}/codes"

_LIST_PROMOTIONS = OperationDoc(
    "The caller's store's standard promotions, newest first, 25 a page by default (`page[limit]` up to "
    "100). `filter=eq(code,SUMMER-10)` finds the promotion holding a code. Past offset 10,000 the `next`, "
    "`prev` and `last` links carry an opaque `page[cursor]`: follow them as given. A filter that cannot be "
    "parsed is 400 `Could not parse the supplied filter`.",
    (
        Example("The store's promotions", 200, first_page(_PROMOTIONS, [PROMOTION])),
        Example(
            "A filter that cannot be parsed",
            400,
            error_body(400, "Bad Request", "Could not parse the supplied filter"),
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
    (Example("The promotion", 200, {"data": PROMOTION}), *ON_A_PROMOTION),
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
        not_a_boolean({"type": "promotion", "id": PROMOTION_ID}, "enabled", "yes"),
        *ON_A_PROMOTION,
    ),
)
_DELETE_PROMOTION = promotion_deletion("promotion")
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
            error_body(
                400,
                "Bad Request",
                "code may only contain ASCII letters, digits and - _ . $ @ (found ' ' at position 6)",
                "data.codes.0.code",
            ),
            request=codes_body("AUTUMN 15"),
        ),
        Example(
            "A code the store already has",
            422,
            error_body(
                422, "Duplicate code", "Promotion code already in use: SUMMER-10", "data.codes.0.code"
            ),
            request=codes_body("SUMMER-10"),
        ),
        *ON_A_PROMOTION,
    ),
)
_LIST_CODES = OperationDoc(
    "The promotion's codes in the order they were added, 25 a page by default. `filter=eq(code,…)` finds "
    "one (case-insensitively). `uses`, `max_uses` and `user` are left out for a code that has none. Past "
    "offset 10,000 the links carry an opaque `page[cursor]`.",
    (
        Example("The promotion's codes", 200, first_page(_CODES, [CODE])),
        Example(
            "A filter on an attribute codes do not have",
            400,
            error_body(
                400,
                "Bad Request",
                "Could not parse the supplied filter: unknown attribute staus; this list filters on code",
            ),
            query={"filter": "eq(staus,completed)"},
        ),
        *ON_A_PROMOTION,
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
            request=codes_body("SUMMER-10"),
        ),
        Example(
            "No codes listed",
            400,
            error_body(
                400,
                "Bad Request",
                "data.codes: List should have at least 1 item after validation, not 0",
                "data.codes",
            ),
            request={"data": {"type": "promotion_codes", "codes": []}},
        ),
        *ON_A_PROMOTION,
    ),
)
_DELETE_CODE = OperationDoc(
    "Delete one code of the promotion, named in the path (case-insensitively). Nothing is sent back.",
    (DELETED, CODE_NOT_FOUND, *ON_A_PROMOTION),
)

DOCS: OperationTable = {
    promotions.list_promotions: _LIST_PROMOTIONS,
    promotions.create_promotion: _CREATE_PROMOTION,
    promotions.get_promotion: _GET_PROMOTION,
    promotions.update_promotion: _UPDATE_PROMOTION,
    promotions.delete_promotion: _DELETE_PROMOTION,
    codes.list_codes: _LIST_CODES,
    codes.add_codes: _ADD_CODES,
    codes.delete_codes: _DELETE_CODES,
    codes.delete_code: _DELETE_CODE,
}
