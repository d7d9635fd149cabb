"""Recent read answers kept in memory, reused only while their store's data has not changed since.

Clients poll: a dashboard re-reads a job list every second, a script polls its job until ``completed``.
Between two commits every such read returns the same bytes, so the first one is kept (keyed by the
caller's store and the full URL, which holds the host, path, filter and page) with the store's data
version read *before* its query, and the next ones are answered from memory while a fresh read of that
version (one round trip, store.changes) still gives it. The version is never taken from anything but the
database, so a commit acknowledged by another API process is seen by the very next read here.

A version read before the query is safe to keep the answer under: a commit between the two reads makes
the answer newer than its version, which only costs a needless miss later; an answer can never be older
than the version it is kept under. Bounded in entries and bytes; least recently used first out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_MAX_ENTRIES = 1024
DEFAULT_MAX_BYTES = 4 * 1024 * 1024

CacheKey = tuple[int, str]  # (store id, full URL)


@dataclass(frozen=True)
class Kept:
    version: int
    body: bytes
    route: str  # the route template that made it (for the request metrics of answers sent from here)


class ReadCache:
    def __init__(
        self,
        version_of: Callable[[int], int],
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self._version_of = version_of  # a store's data version, read from the database (store.changes)
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._entries: OrderedDict[CacheKey, Kept] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self._max_entries > 0

    def holds(self, key: CacheKey) -> bool:
        """Whether an answer is kept under ``key`` (current or not): from memory, no database."""
        return key in self._entries

    def version(self, store_id: int) -> int:
        """The store's data version, read from the database now (blocking: call it off the event loop)."""
        return self._version_of(store_id)

    def current(self, key: CacheKey, version: int) -> Kept | None:
        """The answer kept under ``key`` if it was made under ``version``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.version != version:
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def answer(
        self, key: CacheKey, produce: Callable[[], bytes], version: int | None = None, route: str = ""
    ) -> bytes:
        """The bytes ``produce`` would return now: from memory if the store did not change since they
        were made. ``version`` is the store's version if the caller just read it. Blocking."""
        if not self.enabled:
            return produce()
        if version is None:
            version = self.version(key[0])
        kept = self.current(key, version)
        if kept is not None:
            return kept.body
        self.misses += 1
        body = produce()
        if len(body) <= self._max_bytes // 16:
            self._keep(key, Kept(version, body, route))
        return body

    def _keep(self, key: CacheKey, kept: Kept) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                if old.version > kept.version:
                    self._entries[key] = old  # a newer answer was kept meanwhile
                    return
                self._bytes -= len(old.body)
            self._entries[key] = kept
            self._bytes += len(kept.body)
            while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped.body)

    def __len__(self) -> int:
        return len(self._entries)
