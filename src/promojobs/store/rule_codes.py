"""Codes added by hand to rule promotions: unique within their promotion (``codes.scope`` = its id), the
same name allowed in other promotions. Generated codes of both kinds go through ``store.codes``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, text

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


# On PostgreSQL (READ COMMITTED) a generate batch reads the store's hand-added codes and inserts later, in
# one transaction; a hand-add checks the store's codes and inserts later, in another. Neither sees what the
# other commits in between, and the rows differ in scope, so the unique index lets a generated code equal a
# hand-added one. This transaction-scoped advisory lock, keyed by store, serialises the two: a hand-add
# takes it exclusive, a generate batch shared (batches of other workers still run side by side). Both take
# it before their read and before any promotion row lock, so the order is always advisory lock, then row.
# SQLite needs none: its single writer lock already serialises the two write transactions.
_HAND_ADDED_LOCK_SPACE = 0x72756C65  # "rule": the two-int key space apart from other advisory locks
_INT4 = 2**31


def lock_hand_added_codes(conn: Connection, store_id: int, *, exclusive: bool) -> None:
    """Take the store's hand-added-codes lock until the transaction ends (PostgreSQL; no-op on SQLite):
    ``exclusive`` for a hand-add, shared for a generate batch."""
    if conn.dialect.name != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    # Store ids are bigint; two stores sharing a key only wait on each other, never miss a code.
    conn.execute(
        text(f"SELECT {function}(:space, :key)"),
        {"space": _HAND_ADDED_LOCK_SPACE, "key": store_id % _INT4},
    )


def hand_added_codes_of_length(conn: Connection, store_id: int, length: int) -> set[str]:
    """The store's hand-added rule codes (upper-cased) of ``length`` characters: generated codes must
    not equal them either (their unique index covers only codes unique in the store). Call it after
    ``lock_hand_added_codes(..., exclusive=False)`` so no hand-add commits between it and the insert."""
    rows = conn.execute(
        select(func.upper(codes.c.code)).where(
            codes.c.store_id == store_id, codes.c.scope != 0, func.length(codes.c.code) == length
        )
    ).scalars()
    return {str(key) for key in rows}
