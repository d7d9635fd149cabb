"""Wire schemas of rule promotions (``/v2/rule-promotions``): requests, and responses for the docs.

Strict like the standard ones (``api.schemas``); the rule set is a free-form object checked by
``domain.rule_sets`` (its errors name the part that is wrong) and returned as given.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from promojobs.api import schemas as openapi_tables
from promojobs.api.schemas import (
    BIG_INT,
    CODE_PATTERN,
    MAX_CODES_PER_REQUEST,
    MAX_TEXT,
    NO_CONTROL_CHARACTERS,
    JobParameters,
    JobTypeName,
    JsonObject,
    Links,
    ListMeta,
    Meta,
    Strict,
    Text,
)
from promojobs.domain.codes import MAX_CODE_CHARS
from promojobs.domain.jobs import JobStatus, JobType
from promojobs.services.codes import MAX_USER_CHARS
from promojobs.services.jobs import MAX_JOB_NAME_CHARS

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


_EXAMPLE_RULE_SET: dict[str, Any] = {
    "rules": {"strategy": "cart_total", "operator": "gte", "args": [1000]},
    "actions": [{"strategy": "cart_discount", "args": ["percent", 10]}],
}


class RulePromotionCreateRequest(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "data": {
                        "type": "rule_promotion",
                        "name": "10% off over 10",
                        "enabled": True,
                        "start": "2026-01-01",
                        "end": "2030-01-01",
                        "rule_set": _EXAMPLE_RULE_SET,
                    }
                }
            ]
        }
    )

    data: RulePromotionCreate


class RulePromotionUpdateRequest(Strict):
    data: RulePromotionUpdate


class MaxUsesPerShopper(Strict):
    max_uses: int | None = Field(default=None, ge=0, le=BIG_INT)
    includes_guests: bool | None = None


class RuleCodeIn(Strict):
    code: str = Field(
        max_length=200,
        json_schema_extra={"minLength": 1, "maxLength": MAX_CODE_CHARS, "pattern": CODE_PATTERN},
        examples=["spring2024"],
    )
    uses: int | None = Field(default=None, ge=0, le=BIG_INT)
    user: Text | None = Field(
        default=None,
        max_length=1000,
        json_schema_extra={"maxLength": MAX_USER_CHARS, "pattern": NO_CONTROL_CHARACTERS},
    )
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
    name: Text | None = Field(
        default=None, max_length=1000, json_schema_extra={"maxLength": MAX_JOB_NAME_CHARS}
    )
    parameters: JobParameters | None = Field(
        default=None,
        description="For code_generate: number_of_codes, max_uses_per_code, consume_unit "
        "(per_application or per_checkout, default per_checkout), code_prefix, code_length (8-16).",
    )


class RuleJobCreateRequest(Strict):
    data: RuleJobCreate


# ---- responses (documentation) ----


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


class RuleJobResult(BaseModel):
    generated: int
    deleted: int | None = None


class RuleJobOut(BaseModel):
    type: Literal["promotion_job"]
    id: str
    rule_promotion_id: str
    job_type: JobType
    name: str | None = None
    parameters: dict[str, Any] | None = None
    status: JobStatus
    result: RuleJobResult | None = None
    error: str | None = None
    meta: dict[str, Any]


class RuleJobResponse(BaseModel):
    data: RuleJobOut


class RuleJobListResponse(BaseModel):
    data: list[RuleJobOut]
    links: Links
    meta: ListMeta


# ---- the OpenAPI document: what FastAPI cannot infer (see api.schemas.complete_openapi) ----------------
#
# The rule routes' errors, query parameters, path parameter formats and links, added to the tables
# ``complete_openapi`` reads, once, when this module is imported (by the routes, before any document is
# served).

_RULE = "/v2/rule-promotions"
_RULE_PROMOTION = _RULE + "/{promotion_id}"
_RULE_JOB = _RULE_PROMOTION + "/jobs/{job_id}"
_SECURED = (401, 403)
_SERVICE = (429, 503)

RULE_OPERATION_ERRORS: dict[tuple[str, str], tuple[int, ...]] = {
    ("get", _RULE): (400, *_SECURED, *_SERVICE),
    ("post", _RULE): (400, *_SECURED, 413, 422, *_SERVICE),
    ("get", _RULE_PROMOTION): (*_SECURED, 404, *_SERVICE),
    ("put", _RULE_PROMOTION): (400, *_SECURED, 404, 413, 422, *_SERVICE),
    ("delete", _RULE_PROMOTION): (*_SECURED, 404, *_SERVICE),
    ("get", _RULE_PROMOTION + "/codes"): (400, *_SECURED, 404, *_SERVICE),
    ("post", _RULE_PROMOTION + "/codes"): (400, *_SECURED, 404, 413, 422, *_SERVICE),
    ("delete", _RULE_PROMOTION + "/codes"): (400, *_SECURED, 404, 413, *_SERVICE),
    ("delete", _RULE_PROMOTION + "/codes/{code_id}"): (*_SECURED, 404, *_SERVICE),
    ("get", _RULE_PROMOTION + "/jobs"): (400, *_SECURED, 404, *_SERVICE),
    ("post", _RULE_PROMOTION + "/jobs"): (400, *_SECURED, 404, 413, 422, *_SERVICE),
    ("get", _RULE_JOB): (*_SECURED, 404, *_SERVICE),
    ("post", _RULE_JOB + "/cancel"): (*_SECURED, 404, 413, 422, *_SERVICE),
    ("get", _RULE_JOB + "/file"): (*_SECURED, 404, 422, *_SERVICE),
}
_SORT = openapi_tables._query(
    "sort", {"type": "string", "enum": ["code", "-code"]}, "By code, case-insensitively (`-code`: down)."
)
RULE_QUERY_PARAMETERS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("get", _RULE): [
        *openapi_tables._PAGE,
        openapi_tables._filter(
            "`eq(code,…)`, `like`/`ilike(name,…)`, `eq(enabled|stackable|override_stacking,true)`, "
            "`lt|le|eq|gt|ge(start|end,…)`."
        ),
    ],
    ("get", _RULE_PROMOTION + "/codes"): [
        *openapi_tables._PAGE,
        openapi_tables._filter("`eq(code,…)`, `gt(code,…)`."),
        _SORT,
    ],
    ("get", _RULE_PROMOTION + "/jobs"): [
        *openapi_tables._PAGE,
        openapi_tables._filter("`eq(job_type,code_export)`, `eq(status,completed)`."),
    ],
}
_FROM_RULE_PROMOTION = {"path.promotion_id": "$response.body#/data/id"}
_FROM_RULE_JOB = {
    "path.promotion_id": "$response.body#/data/rule_promotion_id",
    "path.job_id": "$response.body#/data/id",
}
_RULE_PROMOTION_LINKS: dict[str, openapi_tables.Link] = {
    "GetRulePromotion": ("get", _RULE_PROMOTION, _FROM_RULE_PROMOTION, None),
    "UpdateRulePromotion": (
        "put",
        _RULE_PROMOTION,
        _FROM_RULE_PROMOTION,
        {"data": {"type": "rule_promotion"}},
    ),
    "DeleteRulePromotion": ("delete", _RULE_PROMOTION, _FROM_RULE_PROMOTION, None),
    "AddRuleCodes": ("post", _RULE_PROMOTION + "/codes", _FROM_RULE_PROMOTION, None),
    "ListRuleCodes": ("get", _RULE_PROMOTION + "/codes", _FROM_RULE_PROMOTION, None),
    "DeleteRuleCodes": ("delete", _RULE_PROMOTION + "/codes", _FROM_RULE_PROMOTION, None),
    "CreateRuleJob": ("post", _RULE_PROMOTION + "/jobs", _FROM_RULE_PROMOTION, None),
    "ListRuleJobs": ("get", _RULE_PROMOTION + "/jobs", _FROM_RULE_PROMOTION, None),
}
_RULE_JOB_LINKS: dict[str, openapi_tables.Link] = {
    "GetRuleJob": ("get", _RULE_JOB, _FROM_RULE_JOB, None),
    "CancelRuleJob": ("post", _RULE_JOB + "/cancel", _FROM_RULE_JOB, None),
    "GetRuleJobFile": ("get", _RULE_JOB + "/file", _FROM_RULE_JOB, None),
}
RULE_LINKS: dict[tuple[str, str, str], dict[str, openapi_tables.Link]] = {
    ("post", _RULE, "201"): _RULE_PROMOTION_LINKS,
    ("get", _RULE_PROMOTION, "200"): _RULE_PROMOTION_LINKS,
    ("post", _RULE_PROMOTION + "/codes", "201"): {
        "DeleteRuleCode": (
            "delete",
            _RULE_PROMOTION + "/codes/{code_id}",
            {"path.promotion_id": "$request.path.promotion_id", "path.code_id": "$response.body#/data/0/id"},
            None,
        ),
    },
    ("post", _RULE_PROMOTION + "/jobs", "201"): _RULE_JOB_LINKS,
    ("get", _RULE_JOB, "200"): _RULE_JOB_LINKS,
}

openapi_tables.OPERATION_ERRORS.update(RULE_OPERATION_ERRORS)
openapi_tables.QUERY_PARAMETERS.update(RULE_QUERY_PARAMETERS)
openapi_tables.LINKS.update(RULE_LINKS)
openapi_tables.PATH_PARAMETER_SCHEMAS["code_id"] = {"type": "string", "format": "uuid"}
