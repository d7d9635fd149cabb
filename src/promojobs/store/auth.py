"""Stores, clients and tokens."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from promojobs.store.database import new_uuid, now_us
from promojobs.store.schema import clients, stores, tokens


@dataclass(frozen=True)
class ClientRecord:
    pk: int
    client_id: str
    store_id: int
    secret_hash: str
    revoked: bool


@dataclass(frozen=True)
class TokenRecord:
    client_id: str
    store_id: int
    grant_type: str
    expires_at: int


def get_or_create_store(conn: Connection, name: str) -> int:
    existing = conn.execute(select(stores.c.id).where(stores.c.name == name)).scalar()
    if existing is not None:
        return int(existing)
    inserted = conn.execute(
        insert(stores).values(uuid=new_uuid(), name=name, created_at=now_us()).returning(stores.c.id)
    )
    return int(inserted.scalar_one())


@dataclass(frozen=True)
class ClientListing:
    client_id: str
    store: str
    created_at: int
    revoked_at: int | None


def list_clients(conn: Connection) -> list[ClientListing]:
    """Every client with its store's name, oldest first (an operator's view: no secrets)."""
    rows = conn.execute(
        select(clients.c.client_id, stores.c.name, clients.c.created_at, clients.c.revoked_at)
        .join(stores, stores.c.id == clients.c.store_id)
        .order_by(clients.c.created_at, clients.c.id)
    )
    return [ClientListing(row.client_id, row.name, row.created_at, row.revoked_at) for row in rows]


def count_clients(conn: Connection) -> int:
    return len(conn.execute(select(clients.c.id).limit(1)).all())


def insert_client(conn: Connection, store_id: int, client_id: str, secret_hash: str) -> None:
    conn.execute(
        insert(clients).values(
            client_id=client_id, store_id=store_id, secret_hash=secret_hash, created_at=now_us()
        )
    )


def find_client(conn: Connection, client_id: str) -> ClientRecord | None:
    row = conn.execute(select(clients).where(clients.c.client_id == client_id)).first()
    if row is None:
        return None
    return ClientRecord(row.id, row.client_id, row.store_id, row.secret_hash, row.revoked_at is not None)


def revoke_client(conn: Connection, client_id: str) -> bool:
    now = now_us()
    client = find_client(conn, client_id)
    if client is None:
        return False
    conn.execute(update(clients).where(clients.c.id == client.pk).values(revoked_at=now))
    conn.execute(
        update(tokens)
        .where(tokens.c.client_pk == client.pk, tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return True


def insert_token(
    conn: Connection, token_hash: str, client: ClientRecord, grant_type: str, expires_at: int
) -> None:
    conn.execute(
        insert(tokens).values(
            token_hash=token_hash,
            client_pk=client.pk,
            store_id=client.store_id,
            grant_type=grant_type,
            expires_at=expires_at,
        )
    )


def find_live_token(conn: Connection, token_hash: str, now: int) -> TokenRecord | None:
    row = conn.execute(
        select(clients.c.client_id, tokens.c.store_id, tokens.c.grant_type, tokens.c.expires_at)
        .join(clients, clients.c.id == tokens.c.client_pk)
        .where(
            tokens.c.token_hash == token_hash,
            tokens.c.revoked_at.is_(None),
            tokens.c.expires_at > now,
            clients.c.revoked_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    return TokenRecord(row.client_id, row.store_id, row.grant_type, row.expires_at)
