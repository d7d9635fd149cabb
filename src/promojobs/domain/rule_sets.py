"""A rule promotion's ``rule_set``: checked against the strategies and operators Elastic Path enumerates,
then kept and returned exactly as given (promojobs stores promotions; it does not evaluate carts).

The check is structural: every rule, child and action condition names a known ``strategy``; a strategy
that compares takes one of its own operators and an ``args`` list; ``and``, ``or`` and ``items_bundle``
combine ``children``. Unknown extra fields are kept as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promojobs.domain.errors import ValidationFailed

_IN = frozenset({"in", "nin"})
_COMPARE = frozenset({"gt", "gte", "lt", "lte", "eq", "ne"})
# Condition strategy -> its operators (None: a combination of ``children``, no operator).
CONDITION_OPERATORS: dict[str, frozenset[str] | None] = {
    "and": None,
    "or": None,
    "items_bundle": None,
    "item_sku": _IN,
    "item_identifier": _IN,
    "item_product_id": _IN,
    "item_category": _IN,
    "item_attribute": _IN,
    "item_price": _COMPARE,
    "item_quantity": _COMPARE,
    "cart_total": frozenset({"gt", "gte", "lt", "lte", "eq", "range"}),
    "account_tags": frozenset({"contains_all", "contains_any", "not_contains_any", "not_contains_all"}),
    "cart_custom_attribute": frozenset({"in", "nin", "eq", "gt", "lt", "gte", "lte"}),
    "shipping_type": frozenset({"in"}),
}
ACTION_STRATEGIES = frozenset(
    {"cart_discount", "item_discount", "shipping_discount", "items_bundle_discount"}
)
PRICE_STRATEGIES = frozenset({"cheapest", "expensive"})
MAX_CONDITION_DEPTH = 8
_ROOT = "data.rule_set"


def validate_rule_set(rule_set: object) -> dict[str, Any]:
    """The ``rule_set`` as given, once every part of it names what Elastic Path knows."""
    document = _object(rule_set, _ROOT)
    for name in ("catalog_ids", "currencies"):
        if name in document and document[name] is not None:
            _strings(document[name], f"{_ROOT}.{name}")
    if document.get("rules") is not None:
        _condition(document["rules"], f"{_ROOT}.rules", 1)
    actions = document.get("actions")
    if actions is not None:
        if not isinstance(actions, list):
            raise ValidationFailed("actions must be an array", source=f"{_ROOT}.actions")
        for index, action in enumerate(actions):
            _action(action, f"{_ROOT}.actions.{index}")
    return document


def _object(value: object, source: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationFailed(f"{source.rsplit('.', 1)[-1]} must be an object", source=source)
    return value


def _strings(value: object, source: str) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationFailed(f"{source.rsplit('.', 1)[-1]} must be an array of strings", source=source)


def _condition(value: object, source: str, depth: int) -> None:
    condition = _object(value, source)
    if depth > MAX_CONDITION_DEPTH:
        raise ValidationFailed(
            f"conditions must not be nested more than {MAX_CONDITION_DEPTH} levels deep", source=source
        )
    strategy = condition.get("strategy")
    if not isinstance(strategy, str) or strategy not in CONDITION_OPERATORS:
        raise ValidationFailed(
            f"strategy must be one of {', '.join(sorted(CONDITION_OPERATORS))}", source=f"{source}.strategy"
        )
    operators = CONDITION_OPERATORS[strategy]
    if operators is None:
        _children(condition, source, depth, required=True)
        return
    operator = condition.get("operator")
    if not isinstance(operator, str) or operator not in operators:
        raise ValidationFailed(
            f"operator of {strategy} must be one of {', '.join(sorted(operators))}",
            source=f"{source}.operator",
        )
    if not isinstance(condition.get("args"), list):
        raise ValidationFailed("args must be an array", source=f"{source}.args")
    _children(condition, source, depth, required=False)


def _children(condition: Mapping[str, Any], source: str, depth: int, *, required: bool) -> None:
    children = condition.get("children")
    if children is None and not required:
        return
    if not isinstance(children, list) or (required and not children):
        raise ValidationFailed(
            f"children must be a non-empty array for {condition['strategy']}", source=f"{source}.children"
        )
    for index, child in enumerate(children):
        _condition(child, f"{source}.children.{index}", depth + 1)


def _action(value: object, source: str) -> None:
    action = _object(value, source)
    strategy = action.get("strategy")
    if not isinstance(strategy, str) or strategy not in ACTION_STRATEGIES:
        raise ValidationFailed(
            f"strategy must be one of {', '.join(sorted(ACTION_STRATEGIES))}", source=f"{source}.strategy"
        )
    if "args" in action and not isinstance(action["args"], list):
        raise ValidationFailed("args must be an array", source=f"{source}.args")
    if action.get("condition") is not None:
        _condition(action["condition"], f"{source}.condition", 1)
    if action.get("limitations") is not None:
        _limitations(action["limitations"], f"{source}.limitations")


def _limitations(value: object, source: str) -> None:
    limitations = _object(value, source)
    for name in ("max_discount", "max_quantity"):
        _optional_count(limitations.get(name), f"{source}.{name}")
    if limitations.get("items") is None:
        return
    items = _object(limitations["items"], f"{source}.items")
    _optional_count(items.get("max_items"), f"{source}.items.max_items")
    price_strategy = items.get("price_strategy")
    if price_strategy is not None and price_strategy not in PRICE_STRATEGIES:
        raise ValidationFailed(
            "price_strategy must be cheapest or expensive", source=f"{source}.items.price_strategy"
        )
    for flag in ("auto_add", "show_suggestions"):
        if items.get(flag) is not None and not isinstance(items[flag], bool):
            raise ValidationFailed(f"{flag} must be a boolean", source=f"{source}.items.{flag}")


def _optional_count(value: object, source: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationFailed(f"{source.rsplit('.', 1)[-1]} must be a non-negative integer", source=source)
