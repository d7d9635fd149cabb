"""Recently validated tokens, kept in memory for a few seconds so a burst of API calls costs one lookup.

Revoking a client in this process forgets its tokens at once; other API processes notice within
``ttl_seconds`` (``PROMOJOBS_TOKEN_CACHE_SECONDS``, default and at most 1): an entry is trusted only until
``ttl_seconds`` after the database last confirmed it, and a revocation committed after that confirmation
is seen by the next lookup. A cached token never outlives its expiry. At 1 s, a process asks the database
about a busy token about twice a second (see below), which costs nothing measurable next to the requests
it serves.

A busy token is confirmed again ahead of time (``refresh_due``): the first request in the second half of
its entry's trust asks for one confirmation in the background, and its entry is trusted again from that
confirmation (never past the token's own expiry, so none is asked for once the trust ends there).
Without it, every request that arrives while a busy token's entry has just lapsed looks the token up
itself, a burst of slow requests once a second that was most of the job list's p99 latency.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

DEFAULT_TTL_SECONDS = 1.0
MAX_ENTRIES = 10_000

V = TypeVar("V")


class TokenCache(Generic[V]):
    def __init__(self, ttl_seconds: float = DEFAULT_TTL_SECONDS) -> None:
        self.ttl_us = int(ttl_seconds * 1_000_000)
        # key -> (value, owner, trusted until, the token's expiry)
        self._entries: OrderedDict[str, tuple[V, str, int, int]] = OrderedDict()
        self._refreshing: set[str] = set()  # keys whose confirmation ahead of time is under way
        self._lock = threading.Lock()
        # Moved by every ``forget_owner``: a lookup that began before a revocation here must not put its
        # (possibly older) answer back after the revocation forgot the owner's tokens.
        self.revocations = 0

    def get(self, key: str, now_us: int) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry[2] <= now_us:
            return None
        return entry[0]

    def refresh_due(self, key: str, now_us: int) -> bool:
        """Whether the entry should be confirmed again now, ahead of its lapse: true once per entry, in the
        second half of its trust (the confirmation then ``put``s or ``forget``s it)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or key in self._refreshing or entry[2] >= entry[3]:  # (trusted to expiry)
                return False
            if not 0 < entry[2] - now_us <= self.ttl_us // 2:
                return False
            self._refreshing.add(key)
            return True

    def forget(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)
            self._refreshing.discard(key)

    def put(self, key: str, value: V, owner: str, now_us: int, expires_at_us: int, revocations: int) -> None:
        """Trust ``value`` from ``now_us``, when the database confirmed it; ``revocations`` is what the
        counter read before that lookup (the answer is dropped if a revocation came since)."""
        with self._lock:
            self._refreshing.discard(key)
            if revocations != self.revocations:
                self._entries.pop(key, None)
                return
            self._entries[key] = (value, owner, min(now_us + self.ttl_us, expires_at_us), expires_at_us)
            self._entries.move_to_end(key)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)

    def forget_owner(self, owner: str) -> None:
        with self._lock:
            self.revocations += 1
            for key in [key for key, entry in self._entries.items() if entry[1] == owner]:
                del self._entries[key]
                self._refreshing.discard(key)
