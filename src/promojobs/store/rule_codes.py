"""Codes added by hand to rule promotions: unique within their promotion (``codes.scope`` = its id), the
same name allowed in other promotions. Generated codes of both kinds go through ``store.codes``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from promojobs.store.codes import count_codes
from promojobs.store.schema import codes

_MAX_IN = 1000


@dataclass(frozen=True)
class RuleCodeValues:
    code: str
    uses: int | None
    consume_unit: str
    user: str | None
    extra: dict[str, Any] | None  # max_uses_per_shopper, is_for_new_shopper


@dataclass(frozen=True)
class CodeHolder:
    code_key: str  # upper-cased
    promotion_id: int


def holders(conn: Connection, store_id: int, keys: Sequence[str]) -> list[CodeHolder]:
    """Every code of the store (either kind, any scope) named by one of ``keys`` (upper-cased)."""
    found: list[CodeHolder] = []
    for start in range(0, len(keys), _MAX_IN):
        rows = conn.execute(
            select(func.upper(codes.c.code), codes.c.promotion_id).where(
                codes.c.store_id == store_id, func.upper(codes.c.code).in_(keys[start : start + _MAX_IN])
            )
        ).all()
        found += [CodeHolder(str(key), int(promotion_id)) for key, promotion_id in rows]
    return found


def insert_rule_codes(
    conn: Connection, store_id: int, promotion_id: int, rows: Sequence[RuleCodeValues], created_at: int
) -> list[int]:
    """Insert codes already checked to be new in the promotion; return their row ids, in order."""
    values = [
        {
            "store_id": store_id,
            "promotion_id": promotion_id,
            "scope": promotion_id,
            "code": row.code,
            "uses": row.uses,
            "max_uses": row.uses,
            "consume_unit": row.consume_unit,
            "user": row.user,
            "rule_json": None if not row.extra else json.dumps(row.extra),
            "created_at": created_at,
        }
        for row in rows
    ]
    result = conn.execute(insert(codes).returning(codes.c.id, sort_by_parameter_order=True), values)
    ids = [int(pk) for pk in result.scalars()]
    count_codes(conn, promotion_id, len(ids))
    return ids


_LISTED = (
    codes.c.id,
    codes.c.code,
    codes.c.uses,
    codes.c.max_uses,
    codes.c.consume_unit,
    codes.c.user,
    codes.c.rule_json,
    codes.c.created_at,
)


def list_rule_codes(
    conn: Connection,
    promotion_id: int,
    limit: int,
    offset: int,
    *,
    equals: str | None,
    greater: str | None,
    descending: bool | None,
) -> tuple[list[Any], int]:
    """A page of the promotion's codes: ``equals``/``greater`` compare upper-cased; ``descending`` None
    keeps creation order, else the order of the code, case-insensitively."""
    condition = [codes.c.promotion_id == promotion_id]
    if equals is not None:
        condition.append(func.upper(codes.c.code) == equals.upper())
    if greater is not None:
        condition.append(func.upper(codes.c.code) > greater.upper())
    order: list[Any] = [codes.c.id]
    if descending is not None:
        key = func.upper(codes.c.code)
        order = [key.desc(), codes.c.id.desc()] if descending else [key, codes.c.id]
    # The page and its total in one statement; a page past the end has no row to carry the total.
    page = select(*_LISTED, func.count().over().label("total")).where(*condition)
    rows = conn.execute(page.order_by(*order).limit(limit).offset(offset)).all()
    if rows:
        return list(rows), int(rows[0].total)
    if offset == 0:
        return [], 0
    total = conn.execute(select(func.count()).select_from(codes).where(*condition)).scalar_one()
    return [], int(total)


def delete_code_by_pk(conn: Connection, store_id: int, promotion_id: int, pk: int) -> bool:
    condition = [codes.c.id == pk, codes.c.promotion_id == promotion_id, codes.c.store_id == store_id]
    deleted = int(conn.execute(delete(codes).where(*condition)).rowcount)
    count_codes(conn, promotion_id, -deleted)
    return bool(deleted)


def hand_added_codes_of_length(conn: Connection, store_id: int, length: int) -> set[str]:
    """The store's hand-added rule codes (upper-cased) of ``length`` characters: generated codes must
    not equal them either (their unique index covers only codes unique in the store)."""
    rows = conn.execute(
        select(func.upper(codes.c.code)).where(
            codes.c.store_id == store_id, codes.c.scope != 0, func.length(codes.c.code) == length
        )
    ).scalars()
    return {str(key) for key in rows}
