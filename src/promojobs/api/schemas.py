"""Wire schemas: what requests may contain and what responses look like (also the OpenAPI document).

Requests are strict (no "5" for 5, no 1.5 for an integer); unknown fields are ignored, as Elastic Path
does. Responses are rendered by ``api.render`` and described here for the docs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class Money(Strict):
    currency: str = Field(min_length=1, max_length=10)
    amount: int = Field(ge=0, le=BIG_INT)


class PromotionFields(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    description: str | None = Field(default=None, max_length=MAX_TEXT)
    enabled: bool | None = None
    automatic: bool | None = None
    promotion_type: PromotionType | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    start: str | None = Field(default=None, max_length=64)
    end: str | None = Field(default=None, max_length=64)
    min_cart_value: list[Money] | None = Field(default=None, max_length=100)
    max_discount_value: list[Money] | None = Field(default=None, max_length=100)
    max_applications_per_cart: int | None = Field(default=None, ge=0, le=BIG_INT)


class PromotionCreate(PromotionFields):
    type: Literal["promotion"]
    name: str = Field(min_length=1, max_length=MAX_TEXT)
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
    user: str | None = Field(default=None, max_length=1000)
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
    name: str | None = Field(default=None, max_length=1000)
    parameters: dict[str, Any] | None = Field(
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
