"""The registry of live API processes (``api_processes``): each records itself every few seconds and
counts the others, so it can enforce its share of a limit meant for all of them."""

from __future__ import annotations

from sqlalchemy import Connection, delete, func, insert, select, update

from promojobs.store.schema import api_processes


def record_alive(conn: Connection, process_id: str, now_us: int, horizon_us: int) -> int:
    """Record ``process_id`` as alive now, forget processes not seen since ``horizon_us``; return how many
    are alive (this one included)."""
    seen = conn.execute(
        update(api_processes).where(api_processes.c.id == process_id).values(seen_at=now_us)
    ).rowcount
    if not seen:
        conn.execute(insert(api_processes).values(id=process_id, seen_at=now_us))
    conn.execute(delete(api_processes).where(api_processes.c.seen_at < horizon_us))
    return int(conn.execute(select(func.count()).select_from(api_processes)).scalar_one())


def forget(conn: Connection, process_id: str) -> None:
    conn.execute(delete(api_processes).where(api_processes.c.id == process_id))
