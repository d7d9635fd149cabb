"""Response shapes: the one description of each answer's fields, in wire order.

``api.render`` builds the bodies from these models (their field names and order, their constant
``type``, and which fields are left out rather than sent as null: those marked ``Omitted``) without
running pydantic on the hot path; the OpenAPI document shows them as they are.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from promojobs.api.schemas import GenerateParameters, Money, PromotionType
from promojobs.domain.jobs import ConsumeUnit, JobStatus, JobType


class OmittedWhenNone:
    """Marks a response field that is left out of the body when it has no value (others are sent as
    null). Pydantic ignores it: the OpenAPI document is as without it."""


Omitted = OmittedWhenNone()


class Timestamps(BaseModel):
    created_at: str
    updated_at: Annotated[str | None, Omitted] = None


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
    min_cart_value: Annotated[list[Money] | None, Omitted] = None
    max_discount_value: Annotated[list[Money] | None, Omitted] = None
    max_applications_per_cart: Annotated[int | None, Omitted] = None
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
    uses: Annotated[int | None, Omitted] = None
    max_uses: Annotated[int | None, Omitted] = None
    consume_unit: ConsumeUnit
    user: Annotated[str | None, Omitted] = None
    meta: Meta


class CodeListResponse(BaseModel):
    data: list[CodeOut]
    links: Links
    meta: ListMeta


class JobResult(BaseModel):
    generated: Annotated[int | None, Omitted] = Field(
        default=None, description="code_generate: codes generated so far."
    )
    deleted: Annotated[int | None, Omitted] = Field(
        default=None, description="code_generate, cancelled: codes deleted."
    )
    exported: Annotated[int | None, Omitted] = Field(
        default=None, description="code_export: rows written so far, then the codes in the file."
    )


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
    name: Annotated[str | None, Omitted] = None
    parameters: Annotated[GenerateParameters | None, Omitted] = None
    status: JobStatus
    result: Annotated[JobResult | None, Omitted] = None
    error: Annotated[str | None, Omitted] = None
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
    request_id: str | None = Field(
        default=None, description="Only on 500: quote it when reporting the error."
    )


class ErrorResponse(BaseModel):
    errors: list[ErrorObject]
