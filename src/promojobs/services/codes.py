"""Promotion codes added, listed and deleted by hand (the jobs generate them in bulk)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from promojobs.domain.codes import MAX_CODE_CHARS, normalize_code, validate_code
from promojobs.domain.errors import (
    DuplicateCode,
    NoCodesAllowed,
    NotFound,
    TooManyPromotionCodes,
    ValidationFailed,
)
from promojobs.domain.filters import parse_filter
from promojobs.domain.ids import is_uuid
from promojobs.domain.jobs import ConsumeUnit
from promojobs.domain.pagination import PageRequest
from promojobs.services.promotions import PromotionNotFound, find_or_404
from promojobs.store import codes as code_store
from promojobs.store.codes import CodeOwner, CodeValues
from promojobs.store.database import Database, now_us
from promojobs.store.promotions import PromotionRecord

CODE_FILTERS = {"code": frozenset({"eq"})}
MAX_USER_CHARS = 255
MAX_CODES_NAMED = 10  # in a duplicate-code error


class CodeNotFound(NotFound):
    """code not found"""


@dataclass(frozen=True)
class NewCode:
    code: str
    uses: int | None = None
    user: str | None = None
    consume_unit: str = ConsumeUnit.PER_CART.value


class CodeService:
    def __init__(self, database: Database, codes_per_promotion_limit: int) -> None:
        self.database = database
        self.codes_per_promotion_limit = codes_per_promotion_limit

    def add(self, store_id: int, promotion_uuid: str, new_codes: Sequence[NewCode]) -> PromotionRecord:
        rows = _checked_rows(new_codes)
        with self.database.write() as conn:
            promotion = find_or_404(conn, store_id, promotion_uuid, for_update=True)
            if promotion.automatic:
                raise NoCodesAllowed()
            existing = code_store.count_promotion_codes(conn, promotion.pk)
            if existing + len(rows) > self.codes_per_promotion_limit:
                raise TooManyPromotionCodes(
                    f"Only {self.codes_per_promotion_limit} promotion codes are allowed per promotion",
                    source="data.codes",
                )
            owner = CodeOwner(store_id, promotion.pk, None, now_us())
            attempt = conn.begin_nested()
            if code_store.insert_codes(conn, owner, rows) != len(rows):
                # Undo this request's rows to see which codes were there before it; raising then rolls
                # the whole request back: nothing is half-written.
                attempt.rollback()
                taken = code_store.taken_codes(conn, store_id, [row[0] for row in rows])
                raise _duplicates([row[0] for row in rows], taken)
            attempt.commit()
            return promotion

    def list(
        self, store_id: int, promotion_uuid: str, page: PageRequest, raw_filter: str | None
    ) -> tuple[list[Any], int]:
        clauses = parse_filter(raw_filter, CODE_FILTERS)
        wanted = {normalize_code(clause.values[0]) for clause in clauses}
        if not is_uuid(promotion_uuid):
            raise PromotionNotFound()
        with self.database.read() as conn:
            if len(wanted) > 1:  # the clauses are ANDed: no code equals two different values
                find_or_404(conn, store_id, promotion_uuid)
                return [], 0
            found = code_store.list_codes(conn, store_id, promotion_uuid, page, next(iter(wanted), None))
        if found is None:
            raise PromotionNotFound()
        return found

    def delete_many(self, store_id: int, promotion_uuid: str, code_list: Sequence[str]) -> None:
        with self.database.write() as conn:
            promotion = find_or_404(conn, store_id, promotion_uuid)
            code_store.delete_codes(conn, store_id, promotion.pk, [c for c in code_list if _storable(c)])

    def delete_one(self, store_id: int, promotion_uuid: str, code: str) -> None:
        with self.database.write() as conn:
            promotion = find_or_404(conn, store_id, promotion_uuid)
            if not _storable(code) or code_store.delete_codes(conn, store_id, promotion.pk, [code]) == 0:
                raise CodeNotFound()


def _checked_rows(new_codes: Sequence[NewCode]) -> list[CodeValues]:
    if not new_codes:
        raise ValidationFailed("codes must contain at least one code", source="data.codes")
    seen: set[str] = set()
    rows: list[CodeValues] = []
    for index, new in enumerate(new_codes):
        code = validate_code(new.code, f"data.codes.{index}.code")
        key = normalize_code(code)
        if key in seen:
            raise DuplicateCode(
                f"{DuplicateCode.__doc__}: {code} (given twice in this request)",
                source=f"data.codes.{index}.code",
            )
        seen.add(key)
        _check_user(new.user, index)
        rows.append((code, new.uses, new.uses, new.consume_unit, new.user))
    return rows


def _duplicates(requested: Sequence[str], taken: set[str]) -> DuplicateCode:
    """Elastic Path's detail, then the codes of the request already in the store (up to ten of them)."""
    indexes = [index for index, code in enumerate(requested) if normalize_code(code) in taken]
    shown = ", ".join(requested[index] for index in indexes[:MAX_CODES_NAMED])
    more = f" and {len(indexes) - MAX_CODES_NAMED} more" if len(indexes) > MAX_CODES_NAMED else ""
    source = f"data.codes.{indexes[0]}.code" if indexes else "data.codes"
    return DuplicateCode(f"{DuplicateCode.__doc__}: {shown}{more}", source=source)


def _storable(code: str) -> bool:
    """Whether ``code`` could be a stored code: others match nothing, and NUL must never reach PostgreSQL."""
    return 0 < len(code) <= MAX_CODE_CHARS and code.isprintable()


def _check_user(user: str | None, index: int) -> None:
    if user is None:
        return
    if len(user) > MAX_USER_CHARS or any(ord(char) < 0x20 or ord(char) == 0x7F for char in user):
        raise ValidationFailed(
            f"user must be at most {MAX_USER_CHARS} characters without control characters",
            source=f"data.codes.{index}.user",
        )
