"""A rule set is checked against the strategies and operators Elastic Path enumerates, then kept as given."""

from __future__ import annotations

from typing import Any

import pytest

from promojobs.domain.errors import ValidationFailed
from promojobs.domain.rule_sets import CONDITION_OPERATORS, validate_rule_set


def test_every_comparing_strategy_accepts_its_operators_and_the_rule_set_is_kept_as_given() -> None:
    for strategy, operators in CONDITION_OPERATORS.items():
        for operator in sorted(operators or ()):
            child = {"strategy": strategy, "operator": operator, "args": []}
            limitations = {"max_quantity": 2, "items": {"max_items": 1, "price_strategy": "cheapest"}}
            rule_set: dict[str, Any] = {
                "rules": {"strategy": strategy, "operator": operator, "args": ["x"], "extra": {"kept": 1}},
                "actions": [
                    {
                        "strategy": "item_discount",
                        "args": ["percent", 50],
                        "condition": {"strategy": "and", "children": [child]},
                        "limitations": limitations,
                    }
                ],
            }
            assert validate_rule_set(rule_set) is rule_set


@pytest.mark.parametrize(
    ("rule_set", "source"),
    [
        ([], "data.rule_set"),
        ({"currencies": "USD"}, "data.rule_set.currencies"),
        ({"rules": {"strategy": "item_sku", "operator": "in", "args": "SKU1"}}, "data.rule_set.rules.args"),
        ({"rules": {"strategy": "and"}}, "data.rule_set.rules.children"),
        ({"actions": {"strategy": "cart_discount"}}, "data.rule_set.actions"),
        (
            {"actions": [{"strategy": "cart_discount", "limitations": {"max_discount": -1}}]},
            "data.rule_set.actions.0.limitations.max_discount",
        ),
    ],
)
def test_mistakes_name_the_part(rule_set: object, source: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        validate_rule_set(rule_set)
    assert raised.value.source == source


def test_nesting_is_bounded() -> None:
    condition: dict[str, Any] = {"strategy": "cart_total", "operator": "gt", "args": [1]}
    for _ in range(10):
        condition = {"strategy": "or", "children": [condition]}
    with pytest.raises(ValidationFailed, match="nested"):
        validate_rule_set({"rules": condition})
