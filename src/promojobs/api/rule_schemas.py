"""Request bodies of rule promotions (``/v2/rule-promotions``); the answers are in ``api.rule_responses``.

Strict like the standard ones (``api.schemas``); the rule set is a free-form object checked by
``domain.rule_sets`` (its errors name the part that is wrong) and returned as given.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from promojobs.api.schemas import (
    BIG_INT,
    CODE_LIMITS,
    JOB_NAME_LIMITS,
    MAX_CODES_PER_REQUEST,
    MAX_TEXT,
    USER_LIMITS,
    JobParameters,
    JobTypeName,
    JsonObject,
    Strict,
    Text,
)

RuleConsumeUnit = Literal["per_application", "per_checkout"]


class RulePromotionFields(Strict):
    name: Text | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    description: Text | None = Field(default=None, max_length=MAX_TEXT)
    enabled: bool | None = None
    automatic: bool | None = None
    priority: int | None = Field(default=None, ge=-BIG_INT, le=BIG_INT)
    stackable: bool | None = None
    override_stacking: bool | None = None
    start: str | None = Field(default=None, max_length=64)
    end: str | None = Field(default=None, max_length=64)
    rule_set: JsonObject | None = None


class RulePromotionCreate(RulePromotionFields):
    type: Literal["rule_promotion"]
    name: Text = Field(min_length=1, max_length=MAX_TEXT)
    start: str = Field(max_length=64)
    end: str = Field(max_length=64)


class RulePromotionUpdate(RulePromotionFields):
    type: Literal["rule_promotion"]
    id: str | None = Field(default=None, max_length=64)


class RulePromotionCreateRequest(Strict):
    data: RulePromotionCreate


class RulePromotionUpdateRequest(Strict):
    data: RulePromotionUpdate


class MaxUsesPerShopper(Strict):
    max_uses: int | None = Field(default=None, ge=0, le=BIG_INT)
    includes_guests: bool | None = None


class RuleCodeIn(Strict):
    code: str = Field(max_length=200, json_schema_extra=CODE_LIMITS, examples=["spring2024"])
    uses: int | None = Field(default=None, ge=0, le=BIG_INT)
    user: Text | None = Field(default=None, max_length=1000, json_schema_extra=USER_LIMITS)
    consume_unit: RuleConsumeUnit = "per_checkout"
    max_uses_per_shopper: MaxUsesPerShopper | None = None
    is_for_new_shopper: bool | None = None


class RuleCodesAdd(Strict):
    type: Literal["promotion_codes"]
    codes: list[RuleCodeIn] = Field(min_length=1, max_length=MAX_CODES_PER_REQUEST)


class RuleCodesAddRequest(Strict):
    data: RuleCodesAdd


class RuleJobCreate(Strict):
    type: Literal["promotion_job"]
    job_type: JobTypeName
    name: Text | None = Field(default=None, max_length=1000, json_schema_extra=JOB_NAME_LIMITS)
    parameters: JobParameters | None = Field(
        default=None,
        description="For code_generate: number_of_codes, max_uses_per_code, consume_unit "
        "(per_application or per_checkout, default per_checkout), code_prefix, code_length (8-16).",
    )


class RuleJobCreateRequest(Strict):
    data: RuleJobCreate
