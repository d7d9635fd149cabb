"""Promotions: create, read, list, update, delete; always within the caller's store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from promojobs.domain.errors import NotFound, ValidationFailed
from promojobs.domain.filters import parse_filter
from promojobs.domain.ids import is_uuid
from promojobs.domain.pagination import PageRequest
from promojobs.domain.timefmt import parse_datetime
from promojobs.store import promotions as promotion_store
from promojobs.store.database import Database, new_uuid, now_us
from promojobs.store.promotions import STANDARD, PromotionRecord

PROMOTION_FILTERS = {"code": frozenset({"eq"})}
IMMUTABLE_FIELDS = ("promotion_type", "schema")
# Fields whose column is NOT NULL: an explicit null is refused (omitting them keeps the default or value).
NOT_NULL_FIELDS = ("name", "enabled", "automatic", "promotion_type")


class PromotionNotFound(NotFound):
    """promotion not found"""


def find_or_404(
    conn: Connection, store_id: int, uuid: str, *, for_update: bool = False, kind: str = STANDARD
) -> PromotionRecord:
    if not is_uuid(uuid):
        raise PromotionNotFound()
    promotion = promotion_store.find_promotion(conn, store_id, uuid, for_update=for_update, kind=kind)
    if promotion is None:
        raise PromotionNotFound()
    return promotion


class PromotionService:
    def __init__(self, database: Database, files_dir: Path) -> None:
        self.database = database
        self.files_dir = files_dir

    def create(self, store_id: int, fields: dict[str, Any]) -> PromotionRecord:
        columns = dated(fields)
        check_window(columns.get("start_at"), columns.get("end_at"))
        uuid = new_uuid()
        now = now_us()
        columns.update(uuid=uuid, store_id=store_id, created_at=now, updated_at=now)
        columns.setdefault("enabled", False)
        columns.setdefault("automatic", False)
        with self.database.write() as conn:
            promotion_store.insert_promotion(conn, promotion_store.to_columns(columns))
            return find_or_404(conn, store_id, uuid)

    def get(self, store_id: int, uuid: str) -> PromotionRecord:
        with self.database.read() as conn:
            return find_or_404(conn, store_id, uuid)

    def list(
        self, store_id: int, page: PageRequest, raw_filter: str | None
    ) -> tuple[list[PromotionRecord], int]:
        clauses = parse_filter(raw_filter, PROMOTION_FILTERS)
        codes = [clause.values[0] for clause in clauses if clause.field == "code"]  # ANDed
        with self.database.read() as conn:
            return promotion_store.list_promotions(conn, store_id, page, codes)

    def update(self, store_id: int, uuid: str, fields: dict[str, Any]) -> PromotionRecord:
        body_id = fields.pop("id", None)
        if body_id != uuid:
            raise ValidationFailed("data.id must match the promotion id in the path", source="data.id")
        columns = dated(fields)
        with self.database.write() as conn:
            current = find_or_404(conn, store_id, uuid, for_update=True)
            _check_immutable(current, columns)
            start = columns.get("start_at", current.start_at)
            end = columns.get("end_at", current.end_at)
            check_window(start, end)
            for name in IMMUTABLE_FIELDS:
                columns.pop(name, None)
            columns["updated_at"] = now_us()
            promotion_store.update_promotion(conn, current.pk, promotion_store.to_columns(columns))
            return find_or_404(conn, store_id, uuid)

    def delete(self, store_id: int, uuid: str) -> None:
        with self.database.write() as conn:
            promotion = find_or_404(conn, store_id, uuid, for_update=True)
            file_names = promotion_store.delete_promotion(conn, promotion.pk)
        for name in file_names:
            (self.files_dir / name).unlink(missing_ok=True)


def dated(fields: dict[str, Any], not_null: tuple[str, ...] = NOT_NULL_FIELDS) -> dict[str, Any]:
    for name in not_null:
        if name in fields and fields[name] is None:
            raise ValidationFailed(f"{name} must not be null", source=f"data.{name}")
    columns = {key: value for key, value in fields.items() if key not in ("type", "start", "end")}
    for key in ("start", "end"):
        if key in fields:
            value = fields[key]
            columns[f"{key}_at"] = None if value is None else parse_datetime(value, f"data.{key}")
    return columns


def check_window(start: int | None, end: int | None) -> None:
    if start is not None and end is not None and end <= start:
        raise ValidationFailed("end must be after start", source="data.end")


def _check_immutable(current: PromotionRecord, columns: dict[str, Any]) -> None:
    for name in IMMUTABLE_FIELDS:
        if name in columns and columns[name] != getattr(current, name):
            raise ValidationFailed(f"{name} cannot be changed after creation", source=f"data.{name}")
