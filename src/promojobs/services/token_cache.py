"""Recently validated tokens, kept in memory for a few seconds so a burst of API calls costs one lookup.

Revoking a client in this process forgets its tokens at once; other API processes notice within
``ttl_seconds`` (``PROMOJOBS_TOKEN_CACHE_SECONDS``, default and at most 1): an entry is trusted only until
``ttl_seconds`` after the database last confirmed it, and a revocation committed after that confirmation
is seen by the next lookup. A cached token never outlives its expiry. At 1 s, a process asks the database
about a busy token once a second, which costs nothing measurable next to the requests it serves.
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
        self._entries: OrderedDict[str, tuple[V, str, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, now_us: int) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry[2] <= now_us:
            return None
        return entry[0]

    def put(self, key: str, value: V, owner: str, now_us: int, expires_at_us: int) -> None:
        with self._lock:
            self._entries[key] = (value, owner, min(now_us + self.ttl_us, expires_at_us))
            self._entries.move_to_end(key)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)

    def forget_owner(self, owner: str) -> None:
        with self._lock:
            for key in [key for key, entry in self._entries.items() if entry[1] == owner]:
                del self._entries[key]
