"""domain/timefmt against literal expectations: microseconds inside, RFC 3339 UTC with milliseconds out,
Elastic Path's input formats in."""

from __future__ import annotations

import pytest

from promojobs.domain.errors import ValidationFailed
from promojobs.domain.timefmt import parse_datetime, to_rfc3339

JAN_1_2026 = 1_767_225_600_000_000  # date -u -d 2026-01-01 +%s, times 10^6


@pytest.mark.parametrize(
    ("micros", "shown"),
    [
        (0, "1970-01-01T00:00:00.000Z"),
        (JAN_1_2026, "2026-01-01T00:00:00.000Z"),
        (JAN_1_2026 + 999, "2026-01-01T00:00:00.000Z"),  # truncated to the millisecond, never rounded up
        (JAN_1_2026 + 1_000, "2026-01-01T00:00:00.001Z"),
        (JAN_1_2026 + 86_399_999_999, "2026-01-01T23:59:59.999Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (-62_135_596_800_000_000, "0001-01-01T00:00:00.000Z"),  # year 1, four digits
        (253_402_300_799_999_999, "9999-12-31T23:59:59.999Z"),  # exact: a float would round it up
    ],
)
def test_to_rfc3339__utc_with_milliseconds_and_a_z(micros: int, shown: str) -> None:
    assert to_rfc3339(micros) == shown


def test_to_rfc3339__without_fraction_shows_whole_seconds() -> None:
    assert to_rfc3339(JAN_1_2026 + 1_500_000, with_fraction=False) == "2026-01-01T00:00:01Z"


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("2026-01-01", JAN_1_2026),  # a date alone is midnight UTC
        ("2026-01-01 10:30", JAN_1_2026 + (10 * 3600 + 30 * 60) * 1_000_000),
        ("2026-01-01T10:30", JAN_1_2026 + (10 * 3600 + 30 * 60) * 1_000_000),
        ("2026-01-01 10:30:15", JAN_1_2026 + (10 * 3600 + 30 * 60 + 15) * 1_000_000),
        ("2026-01-01T00:00:00Z", JAN_1_2026),
        ("2026-01-01T00:00:00z", JAN_1_2026),
        ("2026-01-01T00:00:00.123456Z", JAN_1_2026 + 123_456),
        ("2026-01-01T02:00:00+02:00", JAN_1_2026),
        ("2025-12-31T19:00:00-05:00", JAN_1_2026),
        ("  2026-01-01  ", JAN_1_2026),
        ("1969-12-31T23:59:59.999999Z", -1),  # before 1970: exact, not a second off
    ],
)
def test_parse_datetime__elastic_path_formats_and_rfc_3339(text: str, micros: int) -> None:
    assert parse_datetime(text, "data.start") == micros


@pytest.mark.parametrize(
    "text", ["", "tomorrow", "2026-13-01", "2026-01-01T10:30:00", "01/02/2026", "0001-01-01T00:00:00+01:00"]
)
def test_parse_datetime__anything_else_is_a_validation_error_naming_the_field(text: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        parse_datetime(text, "data.end")
    assert raised.value.source == "data.end"
    assert str(raised.value).startswith("end must be a date (YYYY-MM-DD)")
