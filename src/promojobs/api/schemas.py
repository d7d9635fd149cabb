"""Request schemas: what a request body may contain (also what the OpenAPI document shows of it).

Requests are strict (no "5" for 5, no 1.5 for an integer); unknown fields are ignored, as Elastic Path
does, except job parameters (``domain.job_specs`` refuses a misspelled one). Responses: ``api.responses``;
the rest of the OpenAPI document: ``api.openapi``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from promojobs.domain.codes import MAX_CODE_CHARS, MAX_CODE_LENGTH, MAX_PREFIX_CHARS, MIN_CODE_LENGTH
from promojobs.domain.jobs import ConsumeUnit
from promojobs.services.codes import MAX_USER_CHARS
from promojobs.services.jobs import MAX_JOB_NAME_CHARS

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
# Free-form objects (a promotion's schema, job parameters): Elastic Path's schemas nest a handful of levels.
MAX_JSON_DEPTH = 32


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


def _storable_json(value: dict[str, Any], *, leaves: bool = True) -> dict[str, Any]:
    """A free-form JSON object that can be stored and sent back unchanged: Python's parser also accepts
    NaN, Infinity, integers of any size and nesting the response encoder cannot write (orjson stops at
    255 levels, and the object is itself nested in the response), so those are refused here.
    ``leaves=False`` checks the nesting only."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:  # iterative: nesting depth is bounded only by the JSON parser
        item, depth = pending.pop()
        if isinstance(item, dict | list) and depth > MAX_JSON_DEPTH:
            raise ValueError(f"must not be nested more than {MAX_JSON_DEPTH} levels deep")
        if isinstance(item, dict):
            pending.extend((key, depth) for key in item)
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)
        elif not leaves:
            continue
        elif isinstance(item, str):
            _storable_text(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise ValueError("numbers must be finite")
        elif isinstance(item, int) and not isinstance(item, bool) and not -(2**63) <= item < 2**63:
            raise ValueError("integers must fit in 64 bits")
    return value


def _job_parameters(value: dict[str, Any]) -> dict[str, Any]:
    # The job service checks each parameter it uses, with its own error pointing at it (a huge
    # number_of_codes is "Too many promotion codes", a NUL in code_prefix is outside the code alphabet),
    # and stores only what it checked; only the nesting needs a limit here.
    return _storable_json(value, leaves=False)


def checked_by_service(**limits: int | str) -> Callable[[dict[str, Any]], None]:
    """``json_schema_extra`` of a text field that the service checks with its own message (``source``
    pointing at it): the model's ``max_length`` is only a loose bound before the service sees the value,
    so the document states the service's limits alone, on the string itself (for an optional field, on
    its string branch), and never a second maximum beside them."""

    def state(schema: dict[str, Any]) -> None:
        for branch in schema.get("anyOf", [schema]):
            if branch.get("type") == "string":
                branch.update(limits)

    return state


Text = Annotated[str, AfterValidator(_storable_text)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_storable_json)]
JobParameters = Annotated[dict[str, Any], AfterValidator(_job_parameters)]


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


# What the services accept (they give the precise errors): documented here so generated clients and
# fuzzers send what the service really takes. See docs/compatibility.md ("Code characters").
CODE_PATTERN = "^[A-Za-z0-9_.$@-]*$"
NO_CONTROL_CHARACTERS = "^[^\\u0000-\\u001f\\u007f]*$"
CODE_LIMITS = checked_by_service(minLength=1, maxLength=MAX_CODE_CHARS, pattern=CODE_PATTERN)
USER_LIMITS = checked_by_service(maxLength=MAX_USER_CHARS, pattern=NO_CONTROL_CHARACTERS)
JOB_NAME_LIMITS = checked_by_service(maxLength=MAX_JOB_NAME_CHARS)


class CodeIn(Strict):
    code: str = Field(max_length=200, json_schema_extra=CODE_LIMITS, examples=["SUMMER-10"])
    uses: int | None = Field(default=None, ge=0, le=BIG_INT)
    user: Text | None = Field(default=None, max_length=1000, json_schema_extra=USER_LIMITS)
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

    number_of_codes: int = Field(ge=1, le=BIG_INT)
    max_uses_per_code: int | None = Field(default=None, ge=0, le=BIG_INT)
    consume_unit: ConsumeUnit = ConsumeUnit.PER_CART
    code_prefix: str | None = Field(
        default=None, max_length=MAX_PREFIX_CHARS, pattern=CODE_PATTERN, examples=["Summer-"]
    )
    code_length: int = Field(default=MIN_CODE_LENGTH, ge=MIN_CODE_LENGTH, le=MAX_CODE_LENGTH)


class JobCreate(Strict):
    type: Literal["promotion_job"]
    job_type: JobTypeName
    name: Text | None = Field(default=None, max_length=1000, json_schema_extra=JOB_NAME_LIMITS)
    parameters: JobParameters | None = Field(
        default=None, description="For code_generate: see GenerateParameters. code_export takes none."
    )


class JobCreateRequest(Strict):
    data: JobCreate
