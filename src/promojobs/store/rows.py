"""Rows → the frozen records the store hands out."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Row

R = TypeVar("R")


def record_from_row(record_type: Callable[..., R], row: Row[Any], **values: Any) -> R:
    """A record (a dataclass) whose fields are the row's columns of the same name, but for ``values``: the
    fields whose column has another name or needs converting."""
    columns = row._mapping  # public despite the underscore: SQLAlchemy's name for it
    return record_type(
        **{name: values[name] if name in values else columns[name] for name in _fields(record_type)}
    )


@cache
def _fields(record_type: Any) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(record_type))
