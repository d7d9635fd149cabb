"""Promotion codes: bulk insert (each backend's fastest conflict-safe path), list, count, delete.

Bulk inserts skip codes that already exist in the store (``ON CONFLICT DO NOTHING``) and return how many
rows really went in, so the caller can top up (generation) or refuse the request (manual codes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg.errors
from sqlalchemy import Connection, delete, func, select, update

from promojobs.store.schema import codes, promotions

# (code, uses, max_uses, consume_unit, user)
CodeValues = tuple[str, int | None, int | None, str, str | None]

_COLUMNS = 'store_id, promotion_id, job_id, code, uses, max_uses, consume_unit, "user", created_at'
_SQLITE_INSERT = f"INSERT INTO codes ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
_PG_UNNEST_INSERT = (
    f"INSERT INTO codes ({_COLUMNS}) "
    "SELECT %(store)s, %(promotion)s, %(job)s, c, u, m, cu, us, %(created)s "
    "FROM unnest(%(codes)s::text[], %(uses)s::bigint[], %(max_uses)s::bigint[], %(units)s::text[], "
    "%(users)s::text[]) AS t(c, u, m, cu, us) ON CONFLICT DO NOTHING"
)
_PG_COPY = f"COPY codes ({_COLUMNS}) FROM STDIN"


@dataclass(frozen=True)
class CodeOwner:
    store_id: int
    promotion_id: int
    job_id: int | None
    created_at: int


def insert_codes(conn: Connection, owner: CodeOwner, rows: Sequence[CodeValues]) -> int:
    """Insert the rows that do not collide with an existing code of the store; return how many did."""
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        inserted = _insert_postgres(conn, owner, rows)
    else:
        inserted = _insert_sqlite(conn, owner, rows)
    _count_codes(conn, owner.promotion_id, inserted)
    return inserted


def _count_codes(conn: Connection, promotion_id: int, change: int) -> None:
    """Keep ``promotions.code_count`` in step, in the transaction that adds or removes the codes."""
    if change:
        conn.execute(
            update(promotions)
            .where(promotions.c.id == promotion_id)
            .values(code_count=promotions.c.code_count + change)
        )


def _insert_sqlite(conn: Connection, owner: CodeOwner, rows: Sequence[CodeValues]) -> int:
    head = (owner.store_id, owner.promotion_id, owner.job_id)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(_SQLITE_INSERT, [head + row + (owner.created_at,) for row in rows])
        return int(cursor.rowcount)
    finally:
        cursor.close()


def _insert_postgres(conn: Connection, owner: CodeOwner, rows: Sequence[CodeValues]) -> int:
    # COPY is ~2x faster than INSERT ... ON CONFLICT but aborts on the first collision; collisions are
    # rare while the store is small, so try COPY in a savepoint and fall back for that batch only.
    savepoint = conn.begin_nested()
    raw = conn.connection.dbapi_connection
    try:
        with raw.cursor() as cursor, cursor.copy(_PG_COPY) as copy:  # type: ignore[union-attr]
            head = (owner.store_id, owner.promotion_id, owner.job_id)
            for row in rows:
                copy.write_row(head + row + (owner.created_at,))
        savepoint.commit()
        return len(rows)
    except psycopg.errors.UniqueViolation:
        savepoint.rollback()
    return _insert_postgres_unnest(conn, owner, rows)


def _insert_postgres_unnest(conn: Connection, owner: CodeOwner, rows: Sequence[CodeValues]) -> int:
    code_list, uses, max_uses, units, users = (list(column) for column in zip(*rows, strict=True))
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(
            _PG_UNNEST_INSERT,
            {
                "store": owner.store_id,
                "promotion": owner.promotion_id,
                "job": owner.job_id,
                "created": owner.created_at,
                "codes": code_list,
                "uses": uses,
                "max_uses": max_uses,
                "units": units,
                "users": users,
            },
        )
        return int(cursor.rowcount)


def list_codes(
    conn: Connection, store_id: int, promotion_id: int, limit: int, offset: int, code: str | None
) -> tuple[list[Any], int]:
    # The promotion was found in the caller's store, and its id is unique, so promotion_id alone scopes the
    # page and lets the database walk the (promotion_id, id) index in order.
    condition = [codes.c.promotion_id == promotion_id]
    if code is None:
        total = count_promotion_codes(conn, promotion_id)
    else:
        condition += [codes.c.store_id == store_id, func.upper(codes.c.code) == code.upper()]
        total = conn.execute(select(func.count()).select_from(codes).where(*condition)).scalar_one()
    rows = conn.execute(
        select(
            codes.c.code,
            codes.c.uses,
            codes.c.max_uses,
            codes.c.consume_unit,
            codes.c.user,
            codes.c.created_at,
        )
        .where(*condition)
        .order_by(codes.c.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(total)


def taken_codes(conn: Connection, store_id: int, code_list: Sequence[str]) -> set[str]:
    """Which of ``code_list`` the store already holds, as ``normalize_code`` keys (upper case)."""
    keys = sorted({code.upper() for code in code_list})
    taken: set[str] = set()
    for start in range(0, len(keys), 1000):
        batch = keys[start : start + 1000]
        query = select(func.upper(codes.c.code)).where(
            codes.c.store_id == store_id, func.upper(codes.c.code).in_(batch)
        )
        taken.update(str(key) for key in conn.execute(query).scalars())
    return taken


def count_promotion_codes(conn: Connection, promotion_id: int) -> int:
    count = conn.execute(select(promotions.c.code_count).where(promotions.c.id == promotion_id)).scalar()
    return int(count or 0)


def delete_codes(conn: Connection, store_id: int, promotion_id: int, code_list: Sequence[str]) -> int:
    keys = sorted({code.upper() for code in code_list})
    deleted = 0
    for start in range(0, len(keys), 1000):
        result = conn.execute(
            delete(codes).where(
                codes.c.store_id == store_id,
                codes.c.promotion_id == promotion_id,
                func.upper(codes.c.code).in_(keys[start : start + 1000]),
            )
        )
        deleted += result.rowcount
    _count_codes(conn, promotion_id, -deleted)
    return deleted


def delete_job_codes_batch(conn: Connection, job_id: int, promotion_id: int, batch_size: int) -> int:
    """Delete up to ``batch_size`` codes generated by a job (of that promotion); return how many went."""
    batch = select(codes.c.id).where(codes.c.job_id == job_id).limit(batch_size).scalar_subquery()
    deleted = int(conn.execute(delete(codes).where(codes.c.id.in_(batch))).rowcount)
    _count_codes(conn, promotion_id, -deleted)
    return deleted
