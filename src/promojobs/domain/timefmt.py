"""Time in and out: integer microseconds inside, RFC 3339 UTC on the wire, Elastic Path's input formats."""

from __future__ import annotations

from datetime import UTC, datetime

from promojobs.domain.errors import ValidationFailed

_INPUT_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S")


def to_rfc3339(micros: int, *, with_fraction: bool = True) -> str:
    moment = datetime.fromtimestamp(micros / 1_000_000, tz=UTC)
    if with_fraction:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: str, source: str) -> int:
    """Accept ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM`` or RFC 3339; a date alone means 00:00 UTC."""
    text = value.strip()
    for fmt in _INPUT_FORMATS:
        try:
            return _micros(datetime.strptime(text, fmt).replace(tzinfo=UTC))
        except ValueError:
            continue
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or not (1 <= moment.year <= 9999):
        raise ValidationFailed(
            f"{source.rsplit('.', 1)[-1]} must be a date (YYYY-MM-DD), a date and time (YYYY-MM-DD HH:MM) "
            "or an RFC 3339 timestamp",
            source=source,
        )
    return _micros(moment.astimezone(UTC))


def _micros(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond
