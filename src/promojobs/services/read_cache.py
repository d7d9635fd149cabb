"""Recent read answers kept in memory, reused only while the database has not changed since.

Clients poll: a dashboard re-reads a job list every second, a script polls its job until ``completed``.
Between two commits every such read returns the same bytes, so the first one is kept (keyed by the
caller's store and the full URL, which holds the host, path, filter and page) and the next ones are
answered from memory while ``ChangeClock.version()`` is still the one read before the query. Bounded in
entries and bytes; least recently used first out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from promojobs.store.changes import ChangeClock

DEFAULT_MAX_ENTRIES = 1024
DEFAULT_MAX_BYTES = 4 * 1024 * 1024


class ReadCache:
    def __init__(
        self, clock: ChangeClock, max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self._clock = clock
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._version: Hashable | None = None  # the version every kept answer was made under
        self._entries: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def answer(self, key: Hashable, produce: Callable[[], bytes]) -> bytes:
        """The bytes ``produce`` would return now: from memory if nothing changed since they were made."""
        version = self._clock.version()
        if version is None or self._max_entries == 0:
            self.misses += 1
            return produce()
        body = self._lookup(key, version)
        if body is not None:
            return body
        self.misses += 1
        body = produce()
        if len(body) <= self._max_bytes // 16:
            self._keep(key, version, body)
        return body

    def kept(self, key: Hashable) -> bytes | None:
        """The answer kept under ``key`` if nothing changed since it was made; never produces one."""
        version = self._clock.version()
        return None if version is None else self._lookup(key, version)

    def _lookup(self, key: Hashable, version: Hashable) -> bytes | None:
        with self._lock:
            if version != self._version:
                # Every answer kept so far was made before this change: none can be served again, so
                # none is kept (under writes the cache stays small instead of filling with dead answers).
                self._entries.clear()
                self._bytes = 0
                self._version = version
                return None
            body = self._entries.get(key)
            if body is not None:
                self._entries.move_to_end(key)
                self.hits += 1
            return body

    def _keep(self, key: Hashable, version: Hashable, body: bytes) -> None:
        with self._lock:
            if version != self._version:
                return  # the database changed while the answer was made: it may be stale already
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._entries[key] = body
            self._bytes += len(body)
            while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped)

    def __len__(self) -> int:
        return len(self._entries)
