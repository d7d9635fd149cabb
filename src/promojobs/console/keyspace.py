"""The "Generate codes" form's verdict before it is sent: the API's own parameter checks
(domain.job_specs) and keyspace rule (domain.codes) on the store's live codes of that prefix and length,
and what the codes will look like."""

from __future__ import annotations

from dataclasses import dataclass

from promojobs.bootstrap import Container
from promojobs.domain import codes as code_rules
from promojobs.domain.errors import PromojobsError
from promojobs.domain.job_specs import STANDARD_CONSUME_UNITS, parse_generate_spec
from promojobs.store import jobs as job_store


@dataclass(frozen=True)
class Verdict:
    fits: bool
    message: str
    example: str  # e.g. SUM-XXXX-XXXX
    code_chars: int

    def as_json(self) -> dict[str, object]:
        return {"fits": self.fits, "message": self.message, "example": self.example, "chars": self.code_chars}


class NotAWholeNumber(Exception):
    pass


def whole_number(value: str, label: str) -> int:
    """A form field as an integer: digits, with thousands separators allowed."""
    text = value.strip().replace(",", "").replace("_", "")
    if not text.isascii() or not text.isdigit() or len(text) > 16:
        raise NotAWholeNumber(f"{label} must be a whole number.")
    return int(text)


def judge(container: Container, store_id: int, count: str, prefix: str, length: str) -> Verdict:
    settings = container.settings
    try:
        parameters: dict[str, object] = {
            "number_of_codes": whole_number(count, "Number of codes"),
            "code_length": whole_number(length, "Code length"),
        }
        if prefix:
            parameters["code_prefix"] = prefix
        spec = parse_generate_spec(parameters, settings.codes_per_job_limit, STANDARD_CONSUME_UNITS)
    except NotAWholeNumber as exc:
        return Verdict(False, str(exc), "", 0)
    except PromojobsError as exc:
        return Verdict(False, exc.detail or exc.title, "", 0)
    example = code_rules.format_code(spec.code_prefix, "X" * spec.code_length)
    with container.database.read() as conn:
        live = job_store.live_codes_with_format(conn, store_id, spec.keyspace_prefix, spec.code_length)
    try:
        code_rules.check_keyspace(
            spec.number_of_codes, live, spec.code_length, settings.keyspace_max_fill_ratio
        )
    except PromojobsError as exc:
        return Verdict(False, exc.detail or exc.title, example, len(example))
    return Verdict(
        True,
        f"{spec.number_of_codes:,} codes fit: each is {len(example)} characters long, like {example}.",
        example,
        len(example),
    )
