"""What a job is asked to do, as typed values: parsed and checked once, where the request comes in.

A ``code_generate`` job carries a ``GenerateSpec``, a ``code_export`` job an ``ExportSpec`` (it takes no
parameters). Every layer after the API edge (service, store, worker) sees only these. ``GenerateSpec.echo``
is what the job shows as its ``parameters`` (decision 7): the request with the defaults filled in.

Which consume units a job may name depends on the kind of promotion it belongs to (standard promotions:
``per_cart``/``per_item``; rule promotions have their own), so the parser takes them as ``ConsumeUnits``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from promojobs.domain import codes as code_rules
from promojobs.domain.errors import TooManyPromotionCodes, ValidationFailed
from promojobs.domain.jobs import ConsumeUnit, JobType

MAX_INT_PARAMETER = 2**53
_SOURCE = "data.parameters"


@dataclass(frozen=True)
class ConsumeUnits:
    """The consume units a kind of promotion allows, and the one a job gets when it names none."""

    allowed: tuple[str, ...]
    default: str


STANDARD_CONSUME_UNITS = ConsumeUnits(
    allowed=(ConsumeUnit.PER_CART.value, ConsumeUnit.PER_ITEM.value), default=ConsumeUnit.PER_CART.value
)


@dataclass(frozen=True)
class GenerateSpec:
    job_type: ClassVar[JobType] = JobType.CODE_GENERATE
    number_of_codes: int
    consume_unit: str
    code_length: int
    code_prefix: str = ""  # "" when none was given
    max_uses_per_code: int | None = None  # None: unlimited

    @property
    def keyspace_prefix(self) -> str:
        """The prefix as the keyspace sees it: codes are case-insensitive."""
        return self.code_prefix.upper()

    def echo(self) -> dict[str, Any]:
        # The key order is the wire order jobs have always echoed.
        echoed: dict[str, Any] = {"number_of_codes": self.number_of_codes, "consume_unit": self.consume_unit}
        if self.max_uses_per_code is not None:
            echoed["max_uses_per_code"] = self.max_uses_per_code
        echoed["code_length"] = self.code_length
        if self.code_prefix:
            echoed["code_prefix"] = self.code_prefix
        return echoed

    @classmethod
    def from_echo(cls, echoed: Mapping[str, Any]) -> GenerateSpec:
        """Back from what ``echo`` stored (already checked when the job was submitted)."""
        return cls(
            number_of_codes=int(echoed["number_of_codes"]),
            consume_unit=str(echoed["consume_unit"]),
            code_length=int(echoed.get("code_length", code_rules.DEFAULT_CODE_LENGTH)),
            code_prefix=str(echoed.get("code_prefix", "")),
            max_uses_per_code=_optional_int(echoed.get("max_uses_per_code")),
        )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True)
class ExportSpec:
    job_type: ClassVar[JobType] = JobType.CODE_EXPORT

    def echo(self) -> None:
        return None  # an export job shows no parameters


JobSpec = GenerateSpec | ExportSpec

GENERATE_PARAMETERS = frozenset(
    {"number_of_codes", "consume_unit", "max_uses_per_code", "code_length", "code_prefix"}
)


def parse_job_spec(
    job_type: str,
    parameters: Mapping[str, Any] | None,
    codes_per_job: int,
    units: ConsumeUnits = STANDARD_CONSUME_UNITS,
) -> JobSpec:
    if job_type == JobType.CODE_EXPORT:
        _refuse_unknown(parameters or {}, frozenset(), job_type)
        return ExportSpec()
    return parse_generate_spec(parameters, codes_per_job, units)


def parse_generate_spec(
    parameters: Mapping[str, Any] | None, codes_per_job: int, units: ConsumeUnits
) -> GenerateSpec:
    """Check ``code_generate`` parameters, each with its own Elastic Path error pointing at it."""
    if parameters is None:
        raise ValidationFailed(
            "parameters is required for code_generate jobs", source=_SOURCE, title="required"
        )
    _refuse_unknown(parameters, GENERATE_PARAMETERS, JobType.CODE_GENERATE)
    max_uses = parameters.get("max_uses_per_code")
    prefix = parameters.get("code_prefix")
    return GenerateSpec(
        number_of_codes=_number_of_codes(parameters.get("number_of_codes"), codes_per_job),
        consume_unit=_consume_unit(parameters.get("consume_unit", units.default), units),
        max_uses_per_code=None if max_uses is None else _int_param(max_uses, "max_uses_per_code", minimum=0),
        code_length=code_rules.validate_code_length(
            parameters.get("code_length", code_rules.DEFAULT_CODE_LENGTH), f"{_SOURCE}.code_length"
        ),
        # Checked whenever given: a falsy non-string (0, false, []) is a 400, not "no prefix".
        code_prefix="" if prefix is None else code_rules.validate_prefix(prefix, f"{_SOURCE}.code_prefix"),
    )


def _refuse_unknown(parameters: Mapping[str, Any], known: frozenset[str], job_type: str) -> None:
    # A misspelled parameter ("prefix") would otherwise be dropped and the job run without it.
    unknown = sorted(name for name in parameters if name not in known)
    if not unknown:
        return
    plural = "s" if len(unknown) > 1 else ""
    allowed = f" (allowed: {', '.join(sorted(known))})" if known else " (it takes none)"
    raise ValidationFailed(
        f"unknown parameter{plural} for {job_type}: {', '.join(unknown)}{allowed}",
        source=f"{_SOURCE}.{unknown[0]}",
    )


def _number_of_codes(number: object, codes_per_job: int) -> int:
    if number is None:
        raise ValidationFailed(
            "number_of_codes is required", source=f"{_SOURCE}.number_of_codes", title="required"
        )
    if isinstance(number, int) and not isinstance(number, bool) and number > codes_per_job:
        raise TooManyPromotionCodes(
            f"Only {codes_per_job} promotion codes are allowed per promotion",
            source=f"{_SOURCE}.number_of_codes",
        )
    return _int_param(number, "number_of_codes", minimum=1, maximum=codes_per_job)


def _int_param(value: object, name: str, *, minimum: int, maximum: int = MAX_INT_PARAMETER) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(f"{name} must be an integer", source=f"{_SOURCE}.{name}")
    if value < minimum or value > maximum:
        raise ValidationFailed(f"{name} must be between {minimum} and {maximum}", source=f"{_SOURCE}.{name}")
    return value


def _consume_unit(value: object, units: ConsumeUnits) -> str:
    if value not in units.allowed:
        raise ValidationFailed(
            f"consume_unit must be {' or '.join(units.allowed)}", source=f"{_SOURCE}.consume_unit"
        )
    return str(value)
