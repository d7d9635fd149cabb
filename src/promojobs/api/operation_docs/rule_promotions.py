"""The operations on rule promotions (``/v2/rule-promotions``, Elastic Path's Promotions Builder) and
their codes."""

from __future__ import annotations

from typing import Any

from promojobs.api.operation_docs.base import (
    CODE_ID,
    CREATED,
    DELETED,
    ON_A_PROMOTION,
    RULE_CODE_NOT_FOUND,
    RULE_PROMOTION_ID,
    SECURED,
    UPDATED,
    Example,
    JsonObject,
    OperationDoc,
    OperationTable,
    code_deletions,
    codes_body,
    error_body,
    first_page,
    not_a_boolean,
    promotion_deletion,
)
from promojobs.api.routes import rule_promotions

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


_RULE_PROMOTIONS = "/v2/rule-promotions"
_RULE_CODES = f"/v2/rule-promotions/{RULE_PROMOTION_ID}/codes"

_LIST_RULE_PROMOTIONS = OperationDoc(
    "The caller's store's rule promotions (Elastic Path's Promotions Builder), newest first. `filter` "
    "takes `eq(code,…)`, `like`/`ilike(name,…)`, `eq(enabled|stackable|override_stacking,true|false)` and "
    "`lt|le|eq|gt|ge(start|end,…)`; a value of the wrong kind is 400 naming it. Past offset 10,000 the "
    "links carry an opaque `page[cursor]`.",
    (
        Example("The store's rule promotions", 200, first_page(_RULE_PROMOTIONS, [RULE_PROMOTION])),
        Example(
            "A boolean attribute compared with something else",
            400,
            error_body(400, "Bad Request", "enabled must be true or false", "filter"),
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
            error_body(
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
    (Example("The rule promotion", 200, {"data": RULE_PROMOTION}), *ON_A_PROMOTION),
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
        not_a_boolean({"type": "rule_promotion", "id": RULE_PROMOTION_ID}, "stackable", "no"),
        *ON_A_PROMOTION,
    ),
)
_DELETE_RULE_PROMOTION = promotion_deletion("rule promotion")
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
            error_body(422, "Duplicate code", "Promotion code already in use"),
            request=codes_body("spring2026"),
        ),
        *ON_A_PROMOTION,
    ),
)
_LIST_RULE_CODES = OperationDoc(
    "The rule promotion's codes, in the order they were added. `filter` takes `eq(code,…)` and "
    "`gt(code,…)`; `sort=code` or `-code` orders them case-insensitively. In the order they were added, "
    "past offset 10,000 the links carry an opaque `page[cursor]` (valid only with the filter of the link), "
    "so `links.next` walks to the end. Sorted by code, the list pages by `page[offset]` only, up to 10,000, "
    "and its links past that are null: an index in code order would cost rule code generation 15-48 % per "
    "insert (measured). A `page[cursor]` with `sort` is 400. To read every code, use the default order or "
    "a `code_export` job.",
    (
        Example(
            "The promotion's codes",
            200,
            first_page(
                _RULE_CODES,
                [_rule_code("spring2026", meta={"timestamps": {"created_at": CREATED["created_at"]}})],
            ),
        ),
        Example(
            "A sort the list does not offer",
            400,
            error_body(400, "Bad Request", "sort must be code or -code", "sort"),
            query={"sort": "uses"},
        ),
        *ON_A_PROMOTION,
    ),
)
_DELETE_RULE_CODES = OperationDoc(
    "Delete the codes listed by their text; codes the promotion does not have are skipped. Nothing is "
    "sent back.",
    code_deletions("spring2026"),
)
_DELETE_RULE_CODE = OperationDoc(
    "Delete one code by its `id` (from the answer of adding it or from the list). Nothing is sent back.",
    (DELETED, RULE_CODE_NOT_FOUND, *ON_A_PROMOTION),
)

DOCS: OperationTable = {
    rule_promotions.list_rule_promotions: _LIST_RULE_PROMOTIONS,
    rule_promotions.create_rule_promotion: _CREATE_RULE_PROMOTION,
    rule_promotions.get_rule_promotion: _GET_RULE_PROMOTION,
    rule_promotions.update_rule_promotion: _UPDATE_RULE_PROMOTION,
    rule_promotions.delete_rule_promotion: _DELETE_RULE_PROMOTION,
    rule_promotions.list_rule_codes: _LIST_RULE_CODES,
    rule_promotions.add_rule_codes: _ADD_RULE_CODES,
    rule_promotions.delete_rule_codes: _DELETE_RULE_CODES,
    rule_promotions.delete_rule_code: _DELETE_RULE_CODE,
}
