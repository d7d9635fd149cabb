"""Which ``CI`` values make an unreachable PostgreSQL an error instead of a skipped half of the suite."""

from __future__ import annotations

import pytest

from tests.conftest import in_ci


@pytest.mark.parametrize("value", ["true", "True", "1", "yes", "on", "github-actions"])
def test_any_non_empty_ci_value_other_than_false_or_0_is_ci(value: str) -> None:
    assert in_ci(value) is True


@pytest.mark.parametrize("value", [None, "", "false", "FALSE", "0", " false "])
def test_unset_empty_false_and_0_are_not_ci(value: str | None) -> None:
    assert in_ci(value) is False
