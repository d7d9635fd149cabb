"""Request limits kept in each API process's memory: a per-store rate limit and a brake on failed logins.

Both answer 429 with ``Retry-After``. They are per process: N API processes allow N times the rate, which
is the point of running N (the limit protects each process and the database from one noisy store).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from promojobs.domain.errors import RateLimited


@dataclass
class StoreRateLimit:
    """A token bucket per store: ``per_second`` requests on average, bursts up to ``burst``."""

    per_second: float
    burst: int
    _buckets: dict[int, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, store_id: int) -> None:
        if self.per_second <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(store_id, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.per_second)
            if tokens < 1:
                self._buckets[store_id] = (tokens, now)
                wait = max(1, math.ceil((1 - tokens) / self.per_second))
                raise RateLimited(wait, f"Too many requests for this store; retry in {wait} s")
            self._buckets[store_id] = (tokens - 1, now)


@dataclass
class LoginThrottle:
    """After ``max_failures`` failed token requests within ``window_seconds`` for one client id (or from one
    address), refuse further attempts for the rest of the window, right secret or not."""

    max_failures: int = 10
    window_seconds: float = 60.0
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                recent = self._recent(key, now)
                if len(recent) >= self.max_failures:
                    wait = max(1, math.ceil(recent[0] + self.window_seconds - now))
                    raise RateLimited(wait, f"Too many failed attempts; retry in {wait} s")

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)
            if len(self._failures) > 100_000:  # forget the quiet ones rather than grow without bound
                horizon = now - self.window_seconds
                for key in [k for k, v in self._failures.items() if not v or v[-1] < horizon]:
                    del self._failures[key]

    def _recent(self, key: str, now: float) -> deque[float]:
        recent = self._failures.setdefault(key, deque())
        while recent and recent[0] < now - self.window_seconds:
            recent.popleft()
        return recent
