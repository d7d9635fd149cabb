"""Codes added by hand to rule promotions: unique within their promotion (``codes.scope`` = its id), the
same name allowed in other promotions. Generated codes of both kinds go through ``store.codes``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, delete, func, insert, select, text, true

from promojobs.domain.pagination import PageRequest
from promojobs.store.code_pages import PROMOTION_CTE, PROMOTION_ID, code_windows, window_of
from promojobs.store.codes import count_codes
from promojobs.store.promotions import RULE
from promojobs.store.schema import codes, promotions

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


def rule_code_page(
    store_id: int,
    promotion_uuid: str,
    page: PageRequest,
    *,
    equals: str | None,
    greater: str | None,
    descending: bool | None,
    postgresql: bool,
) -> Select[Any]:
    """A page of the store's rule promotion's codes and their total, with the promotion looked up in the
    same statement: each row carries the ``total``; an empty page is one row of NULL codes; no row at
    all means the store has no such rule promotion. ``equals``/``greater`` compare upper-cased;
    ``descending`` None keeps creation order (``id``, on ix_codes_promotion), else the order of the code,
    case-insensitively (``upper(code)``, then ``id``).

    In creation order a page with a seek (from a cursor) starts from its id on ix_codes_promotion: no row
    before it is read, so the millionth page costs what the first does. The code order has no index (one
    would slow every rule code insert, see docs/rule-promotions.md): it pages by offset only, which
    ``page[offset]``'s limit of 10,000 bounds. The total is the count kept on the promotion, or the
    matching rows counted when filtered. ``postgresql``: the statement is for PostgreSQL (its seek is
    spelled for its planner)."""
    promotion = (
        select(promotions.c.id, promotions.c.code_count)
        .where(
            promotions.c.store_id == store_id,
            promotions.c.uuid == promotion_uuid,
            promotions.c.kind == RULE,
        )
        .cte(PROMOTION_CTE)
    )
    condition = [codes.c.promotion_id == select(promotion.c.id).scalar_subquery()]
    if equals is not None:
        condition.append(func.upper(codes.c.code) == equals.upper())
    if greater is not None:
        condition.append(func.upper(codes.c.code) > greater.upper())
    total: ColumnElement[Any] = (
        select(func.count()).select_from(codes).where(*condition).scalar_subquery()
        if equals is not None or greater is not None
        else promotion.c.code_count
    )
    query: Select[Any] = select(*_LISTED).where(*condition)
    if descending is None:
        listed = _seek_by_id(query, page, postgresql).subquery("c")
        order: list[ColumnElement[Any]] = [listed.c.id]
    else:
        assert page.seek is None, "a list in code order has no cursor: the route refuses one"
        windowed = query.order_by(*_by_code(codes.c.code, codes.c.id, descending))
        listed = windowed.limit(page.limit).offset(page.offset).subquery("c")
        order = _by_code(listed.c.code, listed.c.id, descending)
    # The page joined to the promotion's one row: the promotion's total comes with an empty page too.
    joined = promotion.outerjoin(listed, true())
    return select(total.label("total"), *listed.c).select_from(joined).order_by(*order)


def _by_code(code: ColumnElement[Any], id_: ColumnElement[Any], descending: bool) -> list[ColumnElement[Any]]:
    """The code order, case-insensitively, ties by creation: the page's query and the statement around it
    sort the same way."""
    order = [func.upper(code), id_]
    return [column.desc() for column in order] if descending else order


def list_rule_codes(
    conn: Connection,
    store_id: int,
    promotion_uuid: str,
    page: PageRequest,
    *,
    equals: str | None,
    greater: str | None,
    descending: bool | None,
) -> tuple[list[Any], int] | None:
    """The rows and total of ``rule_code_page``, in the list's order: ONE statement. None when the store
    has no such rule promotion."""
    statement = rule_code_page(
        store_id,
        promotion_uuid,
        page,
        equals=equals,
        greater=greater,
        descending=descending,
        postgresql=conn.dialect.name == "postgresql",
    )
    rows = conn.execute(statement).all()
    if not rows:
        return None
    return [row for row in rows if row.id is not None], int(rows[0].total)


# The creation-order windows of store.code_pages, the promotion's id read from the statement's own lookup.
_WINDOWS = {postgresql: code_windows(PROMOTION_ID, postgresql=postgresql) for postgresql in (False, True)}


def _seek_by_id(query: Select[Any], page: PageRequest, postgresql: bool) -> Select[Any]:
    """The page's rows of ``query`` by creation order's window: read backwards for a backward seek (the
    rows just before an id, or the last rows); the statement around it puts them in order."""
    name, values = window_of(page)
    window = _WINDOWS[postgresql][name]
    if window.condition:
        query = query.where(text(window.condition))
    query = query.order_by(text(window.order)).limit(values["limit"])
    if window.by_offset:
        query = query.offset(values["offset"])
    # The values of the window's text (``params`` sets each name the statement has, and skips the others).
    return query.params(key=values.get("key"))


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
