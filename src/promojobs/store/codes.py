"""Promotion codes: bulk insert (each backend's fastest conflict-safe path), list, count, delete.

Bulk inserts skip codes that already exist in the store (``ON CONFLICT DO NOTHING``) and return how many
rows really went in, so the caller can top up (generation) or refuse the request (manual codes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg.errors
from sqlalchemy import Connection, delete, func, select, text, update

from promojobs.domain.pagination import PageRequest
from promojobs.store.code_pages import BY_OFFSET, PROMOTION_CTE, PROMOTION_ID, code_windows, window_of
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
    count_codes(conn, owner.promotion_id, inserted)
    return inserted


def count_codes(conn: Connection, promotion_id: int, change: int) -> None:
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


_PAGE_SQL = (
    # A rule promotion's codes are listed by its own route: here it is not found, like every standard route.
    f"WITH {PROMOTION_CTE} AS (SELECT id, code_count FROM promotions "
    "WHERE store_id = :store AND uuid = :promotion AND kind = 'standard') "
    'SELECT {total} AS total, c.id, c.code, c.uses, c.max_uses, c.consume_unit, c."user", c.created_at '
    f'FROM {PROMOTION_CTE} LEFT JOIN (SELECT id, code, uses, max_uses, consume_unit, "user", created_at '
    f"FROM codes WHERE promotion_id = {PROMOTION_ID}"
    "{condition}{window}) c ON 1 = 1 "
    "ORDER BY c.id"
)


def _pages(*, postgresql: bool) -> dict[str, str]:
    """The statement of each window of store.code_pages, by name."""
    windows = code_windows(PROMOTION_ID, postgresql=postgresql)
    return {
        name: _PAGE_SQL.format(total="p.code_count", condition="", window=w.sql)
        for name, w in windows.items()
    }


_ALL, _ALL_PG = _pages(postgresql=False), _pages(postgresql=True)
# One code, case-insensitively: the unique (store_id, upper(code)) index finds it.
_ONE_CONDITION = " AND store_id = :store AND upper(code) = :code"
_ONE = _PAGE_SQL.format(
    total=f"(SELECT count(*) FROM codes WHERE promotion_id = p.id{_ONE_CONDITION})",
    condition=_ONE_CONDITION,
    window=code_windows(PROMOTION_ID, postgresql=False)[BY_OFFSET].sql,
)


def page_query(page: PageRequest, *, postgresql: bool) -> tuple[str, dict[str, int]]:
    """The statement of one page of a promotion's codes in creation order, and its window's values."""
    window, values = window_of(page)
    return (_ALL_PG if postgresql else _ALL)[window], values


def list_codes(
    conn: Connection, store_id: int, promotion_uuid: str, page: PageRequest, code: str | None
) -> tuple[list[Any], int] | None:
    """One page of a promotion's codes in creation order (``id``) and their total (the count kept on the
    promotion), or only the code equal to ``code``: ONE statement, the promotion looked up in it.
    None when the store has no such promotion."""
    values: Mapping[str, int | str]
    if code is None:
        query, values = page_query(page, postgresql=conn.dialect.name == "postgresql")
    else:
        query, values = _ONE, {"limit": page.limit, "offset": page.offset, "code": code.upper()}
    rows = conn.execute(text(query), {"store": store_id, "promotion": promotion_uuid, **values}).all()
    if not rows:
        return None
    return [row for row in rows if row.code is not None], int(rows[0].total)


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
    count_codes(conn, promotion_id, -deleted)
    return deleted


def delete_job_codes_batch(conn: Connection, job_id: int, promotion_id: int, batch_size: int) -> int:
    """Delete up to ``batch_size`` codes generated by a job (of that promotion); return how many went."""
    batch = select(codes.c.id).where(codes.c.job_id == job_id).limit(batch_size).scalar_subquery()
    deleted = int(conn.execute(delete(codes).where(codes.c.id.in_(batch))).rowcount)
    count_codes(conn, promotion_id, -deleted)
    return deleted
