"""Rule promotions (Promotions Builder): create, read, list, update, delete, and their hand-added codes.

They live in the promotions table (``kind`` = rule) beside standard ones, so jobs, exports and the
keyspace check are shared (``services.jobs`` with ``kind=RULE``); what differs is here: the rule set,
priority and stacking, the automatic-promotion limit, and codes unique per promotion rather than per store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.exc import IntegrityError

from promojobs.domain.codes import normalize_code, validate_code
from promojobs.domain.errors import (
    DuplicateCode,
    NoCodesAllowed,
    NotFound,
    TooManyPromotionCodes,
    Unprocessable,
    ValidationFailed,
)
from promojobs.domain.filters import Clause, parse_filter
from promojobs.domain.ids import is_uuid
from promojobs.domain.job_specs import ConsumeUnits
from promojobs.domain.pagination import PageRequest
from promojobs.domain.rule_sets import validate_rule_set
from promojobs.domain.timefmt import parse_datetime
from promojobs.services.code_ids import CodeIds
from promojobs.services.codes import MAX_USER_CHARS, CodeNotFound
from promojobs.services.promotions import PromotionNotFound, check_window, dated, find_or_404
from promojobs.store import codes as code_store
from promojobs.store import promotions as promotion_store
from promojobs.store import rule_codes as rule_code_store
from promojobs.store.database import Database, new_uuid, now_us
from promojobs.store.promotions import RULE, PromotionRecord
from promojobs.store.rule_codes import RuleCodeValues
from promojobs.store.schema import promotions

RULE_CONSUME_UNITS = ConsumeUnits(("per_application", "per_checkout"), "per_checkout")
NOT_NULL_FIELDS = (
    "name",
    "enabled",
    "automatic",
    "stackable",
    "override_stacking",
    "rule_set",
    "start",
    "end",
)
_BOOLEAN_FILTERS = ("enabled", "stackable", "override_stacking")
_DATE_OPS = frozenset({"lt", "le", "eq", "gt", "ge"})
RULE_PROMOTION_FILTERS = {
    "code": frozenset({"eq"}),
    "name": frozenset({"like", "ilike"}),
    **{name: frozenset({"eq"}) for name in _BOOLEAN_FILTERS},
    "start": _DATE_OPS,
    "end": _DATE_OPS,
}
RULE_CODE_FILTERS = {"code": frozenset({"eq", "gt"})}
CODE_SORTS = {"code": False, "-code": True}


class RulePromotionNotFound(NotFound):
    """promotion not found"""


class DuplicatePriority(Unprocessable):
    """Priority already in use in another running or scheduled promotion"""

    title = "Duplicate Priority"


class TooManyAutomaticRulePromotions(ValidationFailed):
    def __init__(self, limit: int) -> None:
        super().__init__(
            f"Only {limit} active and future automatic rule promotions are allowed per store",
            title="Too many automatic rule promotions",
        )


class UnsupportedConsumeUnit(Unprocessable):
    """Consume unit 'per_application' is not supported when using 'max_uses_per_shopper' features."""

    title = "Unsupported consume unit"


class RulePromotionService:
    def __init__(self, database: Database, files_dir: Path, max_automatic: int) -> None:
        self.database = database
        self.files_dir = files_dir
        self.max_automatic = max_automatic

    def create(self, store_id: int, fields: dict[str, Any]) -> PromotionRecord:
        columns = _columns(fields)
        for required in ("start_at", "end_at"):
            if columns.get(required) is None:
                name = required.removesuffix("_at")
                raise ValidationFailed(f"{name} is required", source=f"data.{name}", title="required")
        check_window(columns["start_at"], columns["end_at"])
        uuid, now = new_uuid(), now_us()
        columns.update(uuid=uuid, store_id=store_id, created_at=now, updated_at=now, kind=RULE)
        columns.update(promotion_type="rule_promotion")
        for name, default in (("enabled", False), ("automatic", False)):
            columns.setdefault(name, default)
        columns.setdefault("stackable", True)
        columns.setdefault("override_stacking", False)
        with self.database.write() as conn:
            self._check_automatic(conn, store_id, columns, None)
            self._check_priority(conn, store_id, columns.get("priority"), None)
            self._write(lambda: promotion_store.insert_promotion(conn, promotion_store.to_columns(columns)))
            return find_or_404(conn, store_id, uuid, kind=RULE)

    def get(self, store_id: int, uuid: str) -> PromotionRecord:
        with self.database.read() as conn:
            return find_or_404(conn, store_id, uuid, kind=RULE)

    def list(
        self, store_id: int, page: PageRequest, raw_filter: str | None
    ) -> tuple[list[PromotionRecord], int]:
        clauses = parse_filter(raw_filter, RULE_PROMOTION_FILTERS)
        codes = [clause.values[0] for clause in clauses if clause.field == "code"]
        conditions = [_condition(clause) for clause in clauses if clause.field != "code"]
        with self.database.read() as conn:
            return promotion_store.list_promotions(
                conn, store_id, page, codes, kind=RULE, conditions=conditions
            )

    def update(self, store_id: int, uuid: str, fields: dict[str, Any]) -> PromotionRecord:
        body_id = fields.pop("id", None)
        if body_id is not None and body_id != uuid:
            raise ValidationFailed("data.id must match the promotion id in the path", source="data.id")
        columns = _columns(fields)
        with self.database.write() as conn:
            current = find_or_404(conn, store_id, uuid, for_update=True, kind=RULE)
            check_window(columns.get("start_at", current.start_at), columns.get("end_at", current.end_at))
            if columns.get("automatic") and not current.automatic:
                merged = {"automatic": True, "end_at": columns.get("end_at", current.end_at)}
                self._check_automatic(conn, store_id, merged, current.pk)
            if columns.get("priority") is not None:
                self._check_priority(conn, store_id, columns["priority"], current.pk)
            columns["updated_at"] = now_us()
            update = promotion_store.to_columns(columns)
            self._write(lambda: promotion_store.update_promotion(conn, current.pk, update))
            return find_or_404(conn, store_id, uuid, kind=RULE)

    def delete(self, store_id: int, uuid: str) -> None:
        with self.database.write() as conn:
            promotion = find_or_404(conn, store_id, uuid, for_update=True, kind=RULE)
            file_names = promotion_store.delete_promotion(conn, promotion.pk)
        for name in file_names:
            (self.files_dir / name).unlink(missing_ok=True)

    def _check_automatic(self, conn: Any, store_id: int, columns: dict[str, Any], pk: int | None) -> None:
        if not columns.get("automatic"):
            return
        now = now_us()
        end = columns.get("end_at")
        if end is not None and end <= now:
            return  # an ended promotion is neither active nor future
        if promotion_store.count_automatic_rule_promotions(conn, store_id, now, pk) >= self.max_automatic:
            raise TooManyAutomaticRulePromotions(self.max_automatic)

    @staticmethod
    def _check_priority(conn: Any, store_id: int, priority: int | None, pk: int | None) -> None:
        if priority is not None and promotion_store.priority_taken(conn, store_id, priority, pk):
            raise DuplicatePriority()

    @staticmethod
    def _write(statement: Any) -> None:
        try:
            statement()
        except IntegrityError as exc:  # a concurrent request took the priority first
            raise DuplicatePriority() from exc


def _columns(fields: dict[str, Any]) -> dict[str, Any]:
    columns = dated(fields, NOT_NULL_FIELDS)
    if "rule_set" in columns:
        columns["rule_set"] = validate_rule_set(columns["rule_set"])
    return columns


def _condition(clause: Clause) -> ColumnElement[bool]:
    value = clause.values[0]
    if clause.field == "name":
        pattern = value.replace("*", "%")
        column = promotions.c.name
        return column.ilike(pattern) if clause.op == "ilike" else column.like(pattern)
    if clause.field in _BOOLEAN_FILTERS:
        if value not in ("true", "false"):
            raise ValidationFailed(f"{clause.field} must be true or false", source="filter")
        return promotions.c[clause.field].is_(value == "true")
    column = promotions.c[f"{clause.field}_at"]
    moment = parse_datetime(value, "filter")
    comparisons = {
        "lt": column < moment,
        "le": column <= moment,
        "eq": column == moment,
        "gt": column > moment,
        "ge": column >= moment,
    }
    return comparisons[clause.op]


# ---- codes -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShopperLimit:
    """``max_uses_per_shopper``: ``includes_guests`` needs ``max_uses``."""

    max_uses: int | None = None
    includes_guests: bool | None = None


@dataclass(frozen=True)
class NewRuleCode:
    code: str
    uses: int | None = None
    user: str | None = None
    consume_unit: str = RULE_CONSUME_UNITS.default
    max_uses_per_shopper: ShopperLimit | None = None
    is_for_new_shopper: bool | None = None


@dataclass(frozen=True)
class CreatedCode:
    pk: int
    values: RuleCodeValues


@dataclass(frozen=True)
class CreatedCodes:
    codes: list[CreatedCode]
    duplicated_elsewhere: list[str]  # names (as sent) that other promotions of the store also hold


class RuleCodeService:
    def __init__(self, database: Database, codes_per_promotion_limit: int, ids: CodeIds) -> None:
        self.database = database
        self.codes_per_promotion_limit = codes_per_promotion_limit
        self.ids = ids

    def add(self, store_id: int, promotion_uuid: str, new_codes: Sequence[NewRuleCode]) -> CreatedCodes:
        rows = _checked_rule_rows(new_codes)
        keys = [normalize_code(row.code) for row in rows]
        with self.database.write() as conn:
            # Exclusive against generate batches of the store until commit, taken before the promotion's
            # row lock (a batch holds the shared one, then updates that row): no batch inserts a code
            # between the holders check and this insert, nor reads hand-added codes before it commits.
            rule_code_store.lock_hand_added_codes(conn, store_id, exclusive=True)
            promotion = find_or_404(conn, store_id, promotion_uuid, for_update=True, kind=RULE)
            if promotion.automatic:
                raise NoCodesAllowed("Cannot add codes to automatic promotion")
            existing = code_store.count_promotion_codes(conn, promotion.pk)
            if existing + len(rows) > self.codes_per_promotion_limit:
                raise TooManyPromotionCodes(
                    f"Only {self.codes_per_promotion_limit} promotion codes are allowed per promotion",
                    source="data.codes",
                )
            holders = rule_code_store.holders(conn, store_id, keys)
            if any(holder.promotion_id == promotion.pk for holder in holders):
                raise DuplicateCode()
            elsewhere = {holder.code_key for holder in holders}
            ids = rule_code_store.insert_rule_codes(conn, store_id, promotion.pk, rows, now_us())
        created = [CreatedCode(pk, row) for pk, row in zip(ids, rows, strict=True)]
        duplicated = [row.code for row, key in zip(rows, keys, strict=True) if key in elsewhere]
        return CreatedCodes(created, duplicated)

    def list(
        self,
        store_id: int,
        promotion_uuid: str,
        page: PageRequest,
        raw_filter: str | None,
        sort: str | None,
    ) -> tuple[list[Any], int]:
        if sort is not None and sort not in CODE_SORTS:
            raise ValidationFailed("sort must be code or -code", source="sort")
        equals: set[str] = set()
        greater: list[str] = []
        for clause in parse_filter(raw_filter, RULE_CODE_FILTERS):
            (equals.add if clause.op == "eq" else greater.append)(normalize_code(clause.values[0]))
        if not is_uuid(promotion_uuid):
            raise PromotionNotFound()
        with self.database.read() as conn:
            if len(equals) > 1:  # ANDed: no code equals two different values
                find_or_404(conn, store_id, promotion_uuid, kind=RULE)
                return [], 0
            listed = rule_code_store.list_rule_codes(
                conn,
                store_id,
                promotion_uuid,
                page,
                equals=next(iter(equals), None),
                greater=max(greater) if greater else None,
                descending=None if sort is None else CODE_SORTS[sort],
            )
        if listed is None:
            raise PromotionNotFound()
        return listed

    def delete_many(self, store_id: int, promotion_uuid: str, code_list: Sequence[str]) -> None:
        with self.database.write() as conn:
            promotion = find_or_404(conn, store_id, promotion_uuid, kind=RULE)
            printable = [code for code in code_list if 0 < len(code) <= 64 and code.isprintable()]
            code_store.delete_codes(conn, store_id, promotion.pk, printable)

    def delete_one(self, store_id: int, promotion_uuid: str, code_id: str) -> None:
        pk = self.ids.decode(code_id)
        with self.database.write() as conn:
            promotion = find_or_404(conn, store_id, promotion_uuid, kind=RULE)
            if pk is None or not rule_code_store.delete_code_by_pk(conn, store_id, promotion.pk, pk):
                raise CodeNotFound()


def _checked_rule_rows(new_codes: Sequence[NewRuleCode]) -> list[RuleCodeValues]:
    seen: set[str] = set()
    rows: list[RuleCodeValues] = []
    for index, new in enumerate(new_codes):
        source = f"data.codes.{index}"
        code = validate_code(new.code, f"{source}.code")
        if normalize_code(code) in seen:
            raise DuplicateCode()
        seen.add(normalize_code(code))
        if new.user is not None and (
            len(new.user) > MAX_USER_CHARS or any(ord(c) < 0x20 or ord(c) == 0x7F for c in new.user)
        ):
            raise ValidationFailed(
                f"user must be at most {MAX_USER_CHARS} characters without control characters",
                source=f"{source}.user",
            )
        extra: dict[str, Any] = {}
        shopper = new.max_uses_per_shopper
        if shopper is not None:
            if shopper.max_uses is None:
                raise ValidationFailed(
                    "Has a dependency on max_uses",
                    source=f"{source}.max_uses_per_shopper",
                    title="missing_dependency",
                )
            if new.consume_unit == "per_application":
                raise UnsupportedConsumeUnit(source="")
            extra["max_uses_per_shopper"] = {
                "max_uses": shopper.max_uses,
                "includes_guests": bool(shopper.includes_guests),
            }
        if new.is_for_new_shopper:
            if new.uses is not None or new.user is not None:
                raise ValidationFailed(
                    f"Code - {code} can't have limited uses or assigned to users since it's for "
                    "first-time shoppers.",
                    source="",
                    title="Invalid Code",
                )
            extra["is_for_new_shopper"] = True
        rows.append(RuleCodeValues(code, new.uses, new.consume_unit, new.user, extra or None))
    return rows
