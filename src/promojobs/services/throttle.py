"""Request limits kept in each API process's memory: a per-store rate limit and a brake on failed logins.

Both answer 429 with ``Retry-After``. The store rate limit is meant for the whole service: each of N live
API processes (``ProcessRegistry``, from the ``api_processes`` table) enforces 1/N of the rate and of the
burst, so a load balancer that spreads a store's requests evenly lets through the configured rate in
total, and no request pays a round trip for it. The login brake is per process.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from promojobs.domain.errors import RateLimited, Unavailable
from promojobs.metrics import RATE_LIMIT_PROCESSES
from promojobs.store import processes as process_store
from promojobs.store.database import Database, now_us

log = logging.getLogger("promojobs")
# A process not seen for this many heartbeats is gone (crashed, or cut off from the database).
MISSED_HEARTBEATS = 3
LOGIN_WINDOW_SECONDS = 60.0


# What each limit answers (the OpenAPI document shows the same words).


def store_rate_limited(wait_seconds: int) -> RateLimited:
    return RateLimited(wait_seconds, f"Too many requests for this store; retry in {wait_seconds} s")


def logins_throttled(wait_seconds: int) -> RateLimited:
    return RateLimited(wait_seconds, f"Too many failed attempts; retry in {wait_seconds} s")


def whole_seconds(seconds: float) -> int:
    """A wait as ``Retry-After`` states it: whole seconds, rounded up, at least one. A microsecond is
    forgiven first: a window's end less the clock, in floating point, may be a hair above a whole second
    (``a + 60 - a`` can be 60.000000000000114), and that is no reason to say one more."""
    return max(1, math.ceil(seconds - 1e-6))


def wait_for_one_token(missing: float, per_second: float) -> int:
    """The wait until a bucket short of ``missing`` tokens at ``per_second`` has one."""
    return whole_seconds(missing / per_second)


@dataclass
class StoreRateLimit:
    """A token bucket per store: ``per_second`` requests on average, bursts up to ``burst``."""

    per_second: float
    burst: int
    processes: int = 1  # live API processes sharing the limit (ProcessRegistry keeps it current)
    _buckets: dict[int, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, store_id: int) -> None:
        if self.per_second <= 0:
            return
        rate = self.per_second / self.processes
        burst = max(1.0, self.burst / self.processes)
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(store_id, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            if tokens < 1:
                self._buckets[store_id] = (tokens, now)
                raise store_rate_limited(wait_for_one_token(1 - tokens, rate))
            self._buckets[store_id] = (tokens - 1, now)


class ProcessRegistry:
    """Records this API process in ``api_processes`` every ``heartbeat_seconds`` (in a thread of its own)
    and tells the rate limit how many processes share it. While the database cannot be reached the last
    count stays."""

    def __init__(self, database: Database, rate_limit: StoreRateLimit, heartbeat_seconds: float) -> None:
        self.database = database
        self.rate_limit = rate_limit
        self.heartbeat_seconds = heartbeat_seconds
        self.process_id = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> int:
        """Record this process alive and return how many are (one round trip per statement; blocking)."""
        now = now_us()
        horizon = now - int(self.heartbeat_seconds * MISSED_HEARTBEATS * 1_000_000)
        with self.database.write() as conn:
            alive = process_store.record_alive(conn, self.process_id, now, horizon)
        self.rate_limit.processes = max(1, alive)
        RATE_LIMIT_PROCESSES.set(self.rate_limit.processes)
        return alive

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="promojobs-registry", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            with self.database.write() as conn:
                process_store.forget(conn, self.process_id)
        except Unavailable:
            pass  # the others forget it after MISSED_HEARTBEATS

    def _run(self) -> None:
        while not self._stop.wait(self.heartbeat_seconds):
            try:
                self.beat()
            except Unavailable:
                log.warning("cannot record this API process alive (database unavailable); the share stays")
            except Exception:  # a heartbeat thread that dies would freeze the share: log and go on
                log.exception("cannot record this API process alive; the rate limit share stays")


@dataclass
class LoginThrottle:
    """After ``max_failures`` failed token requests within ``window_seconds`` for one client id (or from one
    address), refuse further attempts for the rest of the window, right secret or not."""

    max_failures: int = 10
    window_seconds: float = LOGIN_WINDOW_SECONDS
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                recent = self._recent(key, now)
                if len(recent) >= self.max_failures:
                    raise logins_throttled(whole_seconds(recent[0] + self.window_seconds - now))

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
