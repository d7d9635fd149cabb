"""Response shapes of rule promotions (``/v2/rule-promotions``), as ``api.responses`` for standard ones:
what the OpenAPI document shows. The bodies are built by ``api.render_rule``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from promojobs.api.responses import JobMeta, JobResult, Links, ListMeta, Meta
from promojobs.api.rule_schemas import MaxUsesPerShopper, RuleConsumeUnit
from promojobs.domain.jobs import JobStatus, JobType


class RulePromotionOut(BaseModel):
    type: Literal["rule_promotion"]
    id: str
    name: str
    description: str | None = None
    enabled: bool
    automatic: bool
    priority: int | None = None
    stackable: bool
    override_stacking: bool
    start: str | None = None
    end: str | None = None
    rule_set: dict[str, Any] | None = None
    meta: Meta


class RulePromotionResponse(BaseModel):
    data: RulePromotionOut


class RulePromotionListResponse(BaseModel):
    data: list[RulePromotionOut]
    links: Links
    meta: ListMeta


class RuleCodeOut(BaseModel):
    type: Literal["promotion_codes"]
    id: str
    code: str
    uses: int | None = None
    max_uses: int | None = None
    consume_unit: RuleConsumeUnit
    user: str | None = None
    max_uses_per_shopper: MaxUsesPerShopper | None = None
    is_for_new_shopper: bool | None = None
    meta: Meta | None = None


class CodeMessageSource(BaseModel):
    type: Literal["promotion_codes"]
    codes: list[str]


class CodeMessage(BaseModel):
    source: CodeMessageSource
    title: str
    description: str


class RuleCodesCreatedResponse(BaseModel):
    data: list[RuleCodeOut]
    messages: list[CodeMessage] | None = None


class RuleCodeListResponse(BaseModel):
    data: list[RuleCodeOut]
    links: Links
    meta: ListMeta


class RuleJobOut(BaseModel):
    type: Literal["promotion_job"]
    id: str
    rule_promotion_id: str
    job_type: JobType
    name: str | None = None
    parameters: dict[str, Any] | None = None
    status: JobStatus
    result: JobResult | None = None
    error: str | None = None
    meta: JobMeta


class RuleJobResponse(BaseModel):
    data: RuleJobOut


class RuleJobListResponse(BaseModel):
    data: list[RuleJobOut]
    links: Links
    meta: ListMeta
