"""Wire schemas: what requests may contain and what responses look like (also the OpenAPI document).

Requests are strict (no "5" for 5, no 1.5 for an integer); unknown fields are ignored, as Elastic Path
does. Responses are rendered by ``api.render`` and described here for the docs.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from promojobs.domain.jobs import ConsumeUnit, JobStatus, JobType

PromotionType = Literal[
    "fixed_discount",
    "percent_discount",
    "item_fixed_discount",
    "item_percent_discount",
    "x_for_y",
    "x_for_amount",
    "bundle_fixed_discount",
    "bundle_gift",
]
# Literals, not enums, in requests: strict validation of already-parsed JSON accepts no str for an enum.
ConsumeUnitName = Literal["per_cart", "per_item"]
JobTypeName = Literal["code_generate", "code_export"]
MAX_TEXT = 2000
MAX_CODES_PER_REQUEST = 100_000
BIG_INT = 2**53
MAX_INT32 = 2**31 - 1  # max_applications_per_cart is an INTEGER column


def _storable_text(value: str) -> str:
    # JSON escapes can carry NUL (PostgreSQL text cannot hold it) and lone surrogates (not UTF-8: no
    # database or JSON encoder takes them). Refuse both on every backend alike.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must not contain lone surrogates") from None
    return value


def _storable_json(value: dict[str, Any]) -> dict[str, Any]:
    """A free-form JSON object that can be stored and sent back unchanged: Python's parser also accepts
    NaN, Infinity and integers of any size, which the response encoder cannot write (or writes as null)."""
    pending: list[Any] = [value]
    while pending:  # iterative: nesting depth is bounded only by the JSON parser
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            _storable_text(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError("numbers must be finite")
        elif isinstance(item, int) and not isinstance(item, bool) and not -(2**63) <= item < 2**63:
            raise ValueError("integers must fit in 64 bits")
    return value


Text = Annotated[str, AfterValidator(_storable_text)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_storable_json)]


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class Money(Strict):
    currency: Text = Field(min_length=1, max_length=10)
    amount: int = Field(ge=0, le=BIG_INT)


class PromotionFields(Strict):
    name: Text | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    description: Text | None = Field(default=None, max_length=MAX_TEXT)
    enabled: bool | None = None
    automatic: bool | None = None
    promotion_type: PromotionType | None = None
    schema_: JsonObject | None = Field(default=None, alias="schema")
    start: str | None = Field(default=None, max_length=64)
    end: str | None = Field(default=None, max_length=64)
    min_cart_value: list[Money] | None = Field(default=None, max_length=100)
    max_discount_value: list[Money] | None = Field(default=None, max_length=100)
    max_applications_per_cart: int | None = Field(default=None, ge=0, le=MAX_INT32)


class PromotionCreate(PromotionFields):
    type: Literal["promotion"]
    name: Text = Field(min_length=1, max_length=MAX_TEXT)
    promotion_type: PromotionType


class PromotionUpdate(PromotionFields):
    type: Literal["promotion"]
    id: str = Field(max_length=64)


class PromotionCreateRequest(Strict):
    data: PromotionCreate


class PromotionUpdateRequest(Strict):
    data: PromotionUpdate


class CodeIn(Strict):
    code: str = Field(max_length=200)
    uses: int | None = Field(default=None, ge=0, le=BIG_INT)
    user: Text | None = Field(default=None, max_length=1000)
    consume_unit: ConsumeUnitName = "per_cart"


class CodeRef(Strict):
    code: str = Field(max_length=200)


class CodesAdd(Strict):
    type: Literal["promotion_codes"]
    codes: list[CodeIn] = Field(min_length=1, max_length=MAX_CODES_PER_REQUEST)


class CodesDelete(Strict):
    type: Literal["promotion_codes"]
    codes: list[CodeRef] = Field(min_length=1, max_length=MAX_CODES_PER_REQUEST)


class CodesAddRequest(Strict):
    data: CodesAdd


class CodesDeleteRequest(Strict):
    data: CodesDelete


class GenerateParameters(Strict):
    """Documented for the OpenAPI; validated by the job service, which gives Elastic Path's errors."""

    number_of_codes: int = Field(ge=1)
    max_uses_per_code: int | None = Field(default=None, ge=0)
    consume_unit: ConsumeUnit = ConsumeUnit.PER_CART
    code_prefix: str | None = None
    code_length: int = Field(default=8, ge=8, le=16)


class JobCreate(Strict):
    type: Literal["promotion_job"]
    job_type: JobTypeName
    name: Text | None = Field(default=None, max_length=1000)
    parameters: JsonObject | None = Field(
        default=None, description="For code_generate: see GenerateParameters. Not used by code_export."
    )


class JobCreateRequest(Strict):
    data: JobCreate


# ---- responses (documentation) ----


class Timestamps(BaseModel):
    created_at: str
    updated_at: str | None = None


class Meta(BaseModel):
    timestamps: Timestamps


class PromotionOut(BaseModel):
    type: Literal["promotion"]
    id: str
    name: str
    description: str | None = None
    enabled: bool
    automatic: bool
    promotion_type: PromotionType
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    start: str | None = None
    end: str | None = None
    min_cart_value: list[Money] | None = None
    max_discount_value: list[Money] | None = None
    max_applications_per_cart: int | None = None
    meta: Meta


class PageMeta(BaseModel):
    limit: int
    offset: int
    current: int
    total: int


class ResultsMeta(BaseModel):
    total: int


class ListMeta(BaseModel):
    page: PageMeta
    results: ResultsMeta


class Links(BaseModel):
    current: str
    first: str
    last: str
    prev: str | None
    next: str | None


class PromotionResponse(BaseModel):
    data: PromotionOut


class PromotionListResponse(BaseModel):
    data: list[PromotionOut]
    links: Links
    meta: ListMeta


class CodeOut(BaseModel):
    code: str
    uses: int | None = None
    max_uses: int | None = None
    consume_unit: ConsumeUnit
    user: str | None = None
    meta: Meta


class CodeListResponse(BaseModel):
    data: list[CodeOut]
    links: Links
    meta: ListMeta


class JobResult(BaseModel):
    generated: int
    deleted: int | None = None


class JobAudit(BaseModel):
    created_by: str | None = None
    cancelled_by: str | None = None


class JobMeta(Meta):
    audit: JobAudit | None = None


class JobOut(BaseModel):
    type: Literal["promotion_job"]
    id: str
    promotion_id: str
    job_type: JobType
    name: str | None = None
    parameters: GenerateParameters | None = None
    status: JobStatus
    result: JobResult | None = None
    error: str | None = None
    meta: JobMeta


class JobResponse(BaseModel):
    data: JobOut


class JobListResponse(BaseModel):
    data: list[JobOut]
    links: Links
    meta: ListMeta


class FileResponseBody(BaseModel):
    href: str


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    expires: int
    identifier: Literal["client_credentials", "implicit"]


class ErrorObject(BaseModel):
    status: str
    title: str
    detail: str | None = None
    source: str | None = None


class ErrorResponse(BaseModel):
    errors: list[ErrorObject]
