"""How fast a code_generate job goes and when it will end, from what its observer sees of it.

Shared by the CLI's bars and the console's live bar. The rate is measured between the first and the
latest observation in which the count moved; a job that was already over at its first look falls back to
its own timestamps (created → last update), which count its wait in the queue too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Estimate:
    generated: int
    total: int | None
    codes_per_second: float | None
    seconds_left: float | None

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(100, self.generated * 100 // self.total)


class RateMeter:
    def __init__(self) -> None:
        self._first: tuple[float, int] | None = None
        self._latest: tuple[float, int] | None = None

    def observe(
        self, now: float, generated: int, total: int | None, finished: bool, lifetime_seconds: float
    ) -> Estimate:
        """``now``: a monotonic clock; ``lifetime_seconds``: the job's updated_at - created_at."""
        if self._first is None:
            self._first = (now, generated)
        elif generated != (self._latest or self._first)[1]:
            self._latest = (now, generated)  # a look that finds the same count says nothing new
        rate = self._rate()
        if rate is None and finished and generated and lifetime_seconds > 0:
            rate = generated / lifetime_seconds
        left = None
        if total and rate and not finished:
            left = max(0.0, (total - generated) / rate)
        elif finished:
            left = 0.0
        return Estimate(generated, total, rate, left)

    def _rate(self) -> float | None:
        if self._first is None or self._latest is None:
            return None
        seconds = self._latest[0] - self._first[0]
        return (self._latest[1] - self._first[1]) / seconds if seconds > 0 else None


def format_duration(seconds: float | None) -> str:
    """``1:02:03``, ``4:05``, or ``-`` when unknown."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_rate(codes_per_second: float | None) -> str:
    return "- codes/s" if codes_per_second is None else f"{codes_per_second:,.0f} codes/s"


def job_lifetime_seconds(job: Mapping[str, Any]) -> float:
    """Seconds from a job's creation to its last update, from its wire ``meta.timestamps``."""
    stamps = job.get("meta", {}).get("timestamps", {})
    try:
        created = datetime.fromisoformat(stamps["created_at"])
        updated = datetime.fromisoformat(stamps["updated_at"])
    except (KeyError, TypeError, ValueError):
        return 0.0
    return (updated - created).total_seconds()
