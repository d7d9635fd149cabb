"""Promotions. Every query is scoped to the caller's store."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, func, insert, literal, select, tuple_, update
from sqlalchemy.engine import Row

from promojobs.domain.pagination import KeySeek, PageRequest
from promojobs.store.rows import record_from_row
from promojobs.store.schema import codes, job_tasks, jobs, promotions


@dataclass(frozen=True)
class PromotionRecord:
    pk: int
    uuid: str
    store_id: int
    name: str
    description: str | None
    enabled: bool
    automatic: bool
    promotion_type: str
    schema: Any
    start_at: int | None
    end_at: int | None
    min_cart_value: Any
    max_discount_value: Any
    max_applications_per_cart: int | None
    created_at: int
    updated_at: int
    kind: str = "standard"
    priority: int | None = None
    stackable: bool | None = None
    override_stacking: bool | None = None
    rule_set: Any = None


STANDARD = "standard"
RULE = "rule"

# Columns that hold JSON documents, by the field name the rest of the code uses.
JSON_FIELDS = {
    "schema": "schema_json",
    "min_cart_value": "min_cart_value_json",
    "max_discount_value": "max_discount_value_json",
    "rule_set": "rule_set_json",
}


def to_columns(fields: dict[str, Any]) -> dict[str, Any]:
    """Field names → column values (JSON fields serialised)."""
    columns: dict[str, Any] = {}
    for name, value in fields.items():
        if name in JSON_FIELDS:
            columns[JSON_FIELDS[name]] = None if value is None else json.dumps(value)
        else:
            columns[name] = value
    return columns


def _record(row: Row[Any]) -> PromotionRecord:
    return record_from_row(
        PromotionRecord,
        row,
        pk=row.id,
        enabled=bool(row.enabled),
        automatic=bool(row.automatic),
        schema=_load(row.schema_json),
        min_cart_value=_load(row.min_cart_value_json),
        max_discount_value=_load(row.max_discount_value_json),
        stackable=None if row.stackable is None else bool(row.stackable),
        override_stacking=None if row.override_stacking is None else bool(row.override_stacking),
        rule_set=_load(row.rule_set_json),
    )


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def insert_promotion(conn: Connection, columns: dict[str, Any]) -> None:
    conn.execute(insert(promotions).values(**columns))


def find_promotion(
    conn: Connection, store_id: int, uuid: str, *, for_update: bool = False, kind: str = STANDARD
) -> PromotionRecord | None:
    """The promotion of this kind: a rule promotion is not found under /v2/promotions, nor the reverse."""
    query = select(promotions).where(
        promotions.c.store_id == store_id, promotions.c.uuid == uuid, promotions.c.kind == kind
    )
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return None if row is None else _record(row)


def list_promotions(
    conn: Connection,
    store_id: int,
    page: PageRequest,
    holding_codes: Sequence[str] = (),
    *,
    kind: str = STANDARD,
    conditions: Sequence[ColumnElement[bool]] = (),
) -> tuple[list[PromotionRecord], int]:
    """The store's promotions of ``kind``, newest first (``created_at``, then ``id``); only those holding
    every one of ``holding_codes`` and meeting every one of ``conditions``. A page with a seek starts from
    its key on the (store_id, created_at) index."""
    condition = [promotions.c.store_id == store_id, promotions.c.kind == kind, *conditions]
    for code in holding_codes:
        holding = select(codes.c.promotion_id).where(
            codes.c.store_id == store_id, func.upper(codes.c.code) == code.upper()
        )
        condition.append(promotions.c.id.in_(holding))
    if page.seek is not None:
        return _seek_promotions(conn, condition, page.seek)
    # The page and its total in one statement; a page past the end has no row to carry the total.
    rows = conn.execute(
        select(promotions, func.count().over().label("total"))
        .where(*condition)
        .order_by(promotions.c.created_at.desc(), promotions.c.id.desc())
        .limit(page.limit)
        .offset(page.offset)
    ).all()
    if rows:
        return [_record(row) for row in rows], int(rows[0].total)
    if page.offset == 0:
        return [], 0
    return [], _count(conn, condition)


def _seek_promotions(
    conn: Connection, condition: list[ColumnElement[bool]], seek: KeySeek
) -> tuple[list[PromotionRecord], int]:
    # Newest first is (created_at, id) descending: forward seeks below the key, backward above it (read
    # ascending, then turned round). The seek narrows the rows, so the total is a subquery of its own, still
    # in the one statement.
    order_key = tuple_(promotions.c.created_at, promotions.c.id)
    total = select(func.count()).select_from(promotions).where(*condition).scalar_subquery()
    query = select(promotions, total.label("total")).where(*condition)
    if seek.key is not None:
        start = tuple_(*(literal(part) for part in seek.key))
        query = query.where(order_key < start if seek.forward else order_key > start)
    newest_first = (promotions.c.created_at.desc(), promotions.c.id.desc())
    oldest_first = (promotions.c.created_at.asc(), promotions.c.id.asc())
    query = query.order_by(*(newest_first if seek.forward else oldest_first)).limit(seek.take)
    rows = conn.execute(query).all()
    if not rows:
        return [], _count(conn, condition)
    records = [_record(row) for row in rows]
    return (records if seek.forward else records[::-1]), int(rows[0].total)


def _count(conn: Connection, condition: list[ColumnElement[bool]]) -> int:
    return int(conn.execute(select(func.count()).select_from(promotions).where(*condition)).scalar_one())


def count_automatic_rule_promotions(conn: Connection, store_id: int, now: int, except_pk: int | None) -> int:
    """Automatic rule promotions of the store that are active or still to come (not ended)."""
    condition = [
        promotions.c.store_id == store_id,
        promotions.c.kind == RULE,
        promotions.c.automatic.is_(True),
        (promotions.c.end_at.is_(None)) | (promotions.c.end_at > now),
    ]
    if except_pk is not None:
        condition.append(promotions.c.id != except_pk)
    return int(conn.execute(select(func.count()).select_from(promotions).where(*condition)).scalar_one())


def priority_taken(conn: Connection, store_id: int, priority: int, except_pk: int | None) -> bool:
    condition = [promotions.c.store_id == store_id, promotions.c.priority == priority]
    if except_pk is not None:
        condition.append(promotions.c.id != except_pk)
    return conn.execute(select(promotions.c.id).where(*condition).limit(1)).first() is not None


def update_promotion(conn: Connection, pk: int, columns: dict[str, Any]) -> None:
    conn.execute(update(promotions).where(promotions.c.id == pk).values(**columns))


def delete_promotion(conn: Connection, pk: int) -> list[str]:
    """Delete a promotion with its codes, jobs and tasks; return the export file names to remove."""
    file_names = [
        name
        for name in conn.execute(
            select(jobs.c.file_name).where(jobs.c.promotion_id == pk, jobs.c.file_name.is_not(None))
        ).scalars()
    ]
    job_ids = select(jobs.c.id).where(jobs.c.promotion_id == pk)
    conn.execute(delete(job_tasks).where(job_tasks.c.job_id.in_(job_ids)))
    conn.execute(delete(jobs).where(jobs.c.promotion_id == pk))
    conn.execute(delete(codes).where(codes.c.promotion_id == pk))
    conn.execute(delete(promotions).where(promotions.c.id == pk))
    return file_names
