"""Time in and out: integer microseconds inside, RFC 3339 UTC on the wire, Elastic Path's input formats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from promojobs.domain.errors import ValidationFailed

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)
_INPUT_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S")


# Cached: list pages render the same few timestamps on every request. Small, so that it is full within
# the first minute of a busy server (a large one grew the process for half an hour: docs/reliability.md).
@lru_cache(maxsize=1024)
def to_rfc3339(micros: int, *, with_fraction: bool = True) -> str:
    moment = _EPOCH + micros * _ONE_MICROSECOND  # exact: a float would round 9999-12-31T23:59:59.9999995
    # isoformat pads the year to four digits (strftime's %Y gives "1-01-01" for year 1 on Linux).
    return moment.isoformat(timespec="milliseconds" if with_fraction else "seconds").replace("+00:00", "Z")


def parse_datetime(value: str, source: str) -> int:
    """Accept ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM`` or RFC 3339; a date alone means 00:00 UTC."""
    text = value.strip()
    for fmt in _INPUT_FORMATS:
        try:
            return _micros(datetime.strptime(text, fmt).replace(tzinfo=UTC))
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
        # A naive time has no offset (and astimezone would read it as local time); an offset that moves
        # it past year 1 or 9999 raises OverflowError.
        moment = None if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        raise ValidationFailed(
            f"{source.rsplit('.', 1)[-1]} must be a date (YYYY-MM-DD), a date and time (YYYY-MM-DD HH:MM) "
            "or an RFC 3339 timestamp",
            source=source,
        )
    return _micros(moment)


def _micros(moment: datetime) -> int:
    # Exact integer arithmetic: float ``timestamp()`` loses microseconds far from 1970 and truncating it
    # toward zero is a second off before 1970.
    return (moment - _EPOCH) // _ONE_MICROSECOND
