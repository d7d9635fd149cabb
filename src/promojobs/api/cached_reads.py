"""Repeated reads answered before routing: the read cache's fast path.

A poll that finds its answer in the read cache (services/read_cache.py) needs none of the routing,
dependency solving or validation that made the answer the first time: under load that machinery costs
more than the rest of the request. So, for a GET of a promotion route with a bearer token this process
validated in the last few seconds, this middleware admits the caller by the same rules as the route
dependency (``PromotionAccess``), reads the store's data version (one round trip, on the event loop:
store/changes.StoreVersions) and, if the answer kept under the same key (the caller's store and the full
URL) was made under that version, sends it. Otherwise the request goes on to the application with the
caller and the version attached, so neither the admission (and its rate limit) nor the version read is
done twice. Only routes that use ``deps.cached_read`` ever keep an answer, so no route list is repeated
here.

Reads of one store's version are shared (``VersionReads``): the requests that arrive on one turn of the
loop share a read that starts on the next, if fewer than ``VERSION_READS_PER_STORE`` reads of the store
and fewer than the process's bound (``version_read_connections``) are in flight; otherwise they share the
next read to start. A request that comes while one read is in flight then need not wait for it to end
before its own begins. Each request still gets a version read that began after it arrived, so a commit
acknowledged before the request is seen, and a store polled by many clients costs a round trip per wave,
not per request. A finished read wakes its waiters a few per turn of the loop (``WAKE_PER_TURN``), so
the waves stay small and the reads of the next ones overlap the answering of this one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial

from anyio import to_thread
from starlette.datastructures import URL
from starlette.types import ASGIApp, Receive, Scope, Send

from promojobs.domain.errors import PromojobsError, Unavailable
from promojobs.services.auth import Principal, PromotionAccess
from promojobs.services.read_cache import CacheKey, ReadCache
from promojobs.store.changes import VERSION_READ_SECONDS, VERSION_READS_PER_STORE, StoreVersions

ADMITTED = "promojobs.admitted"  # the scope entry holding the caller admitted here
VERSION = "promojobs.version"  # ... the store version read here
KEPT_ROUTE = "promojobs.kept_route"  # ... and the route template of an answer sent from here
_PROMOTION_ROUTES = "/v2/"


# How long a request waits for its store's version: its read's own deadline, and as long again for a
# connection to read on (during an outage every read takes its whole deadline).
VERSION_WAIT_SECONDS = 2 * VERSION_READ_SECONDS


def read_cache_key(store_id: int, url: URL) -> CacheKey:
    """The key of an answer: shared by this fast path and ``deps.cached_read``."""
    return store_id, str(url)


# The waiters a finished read wakes on one turn of the loop. Woken all at once, the answers of a wave of
# requests go out together, so their clients' next requests come back together too and share one read:
# the loop then idles for the read's round trip, and a process with the database 1 ms away ran at about
# half the pace of one with it local, or at full pace, from run to run. Woken a few at a time, the loop
# reads the requests that came back meanwhile between them, and those start the next read at once. (A
# callback scheduled during a turn runs on the next, after the poll for I/O, on asyncio's loop and on
# uvloop, which uvicorn serves on: tests/unit/test_version_reads.py runs on both.)
WAKE_PER_TURN = 4


class _Round:
    """One read of a store's version and the requests that wait for it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.outcome: asyncio.Future[int] = loop.create_future()
        self.waiters: deque[asyncio.Future[int]] = deque()
        self.outcome.add_done_callback(self._wake)

    def wait(self) -> asyncio.Future[int]:
        waiter: asyncio.Future[int] = self.loop.create_future()
        self.waiters.append(waiter)
        return waiter

    def _wake(self, _done: object = None) -> None:
        if not self.outcome.cancelled():
            self.outcome.exception()  # retrieved, even when every waiter went away
        woken = 0
        while self.waiters and woken < WAKE_PER_TURN:
            waiter = self.waiters.popleft()
            if not waiter.done():  # a waiter that gave up was cancelled: it costs the turn nothing
                _copy_outcome(self.outcome, waiter)
                woken += 1
        if self.waiters:
            self.loop.call_soon(self._wake)


def _copy_outcome(outcome: asyncio.Future[int], waiter: asyncio.Future[int]) -> None:
    if outcome.cancelled():
        waiter.cancel()
    elif (error := outcome.exception()) is not None:
        waiter.set_exception(error)
    else:
        waiter.set_result(outcome.result())


class VersionReads:
    """A store's data version, read for all who wait. Requests that arrive together share a read that
    begins after they came; up to ``overlap`` reads of a store are in flight at once, so a request that
    comes while one is under way may start the next instead of waiting for it to end. At most
    ``in_flight`` reads of all stores run at once: a reader takes its round only once it may read, so the
    requests that come while it waits join that round. A request waits at most ``wait_seconds``, then
    gets Unavailable."""

    def __init__(
        self,
        read: Callable[[int], Awaitable[int]],
        in_flight: int,
        overlap: int = VERSION_READS_PER_STORE,
        wait_seconds: float = VERSION_WAIT_SECONDS,
    ) -> None:
        self._read = read
        self._wait_seconds = wait_seconds
        self._overlap = overlap
        self._in_flight = in_flight
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self._next: dict[int, _Round] = {}  # the read not started yet, per store
        self._readers: dict[int, set[asyncio.Task[None]]] = {}  # the reading tasks per store (held: the
        # loop keeps only weak references to tasks)

    async def version(self, store_id: int) -> int:
        round_ = self._next.get(store_id)
        if round_ is None:
            loop = asyncio.get_running_loop()
            round_ = self._next[store_id] = _Round(loop)
            if self._live_readers(store_id) < self._overlap:
                # The reader starts on the loop's next turn: whoever arrives before then joins this round.
                self._start_reader(store_id, loop)
        try:
            async with asyncio.timeout(self._wait_seconds):
                # A waiter of its own: a request that goes away cancels only that, not the read.
                return await round_.wait()
        except TimeoutError:
            raise Unavailable() from None  # the application reads for itself (a connection is scarce)
        except asyncio.CancelledError:
            if round_.outcome.cancelled() and not _being_cancelled():
                raise Unavailable() from None  # its reader was stopped, not this request
            raise

    async def _rounds(self, store_id: int) -> None:
        """Read for whoever waits, again and again until nobody does."""
        slots = self._slots_of_this_loop()
        while store_id in self._next:
            async with slots:
                round_ = self._next.pop(store_id, None)
                if round_ is None:  # another reader of the store took it while this one waited
                    return
                outcome = round_.outcome
                try:
                    version = await self._read(store_id)
                except Exception as exc:  # each waiter handles it (Unavailable: the app answers 503)
                    outcome.set_exception(exc)
                except BaseException:  # cancelled (the loop is stopping): nobody may wait for it forever
                    outcome.cancel()
                    raise
                else:
                    outcome.set_result(version)

    def _slots_of_this_loop(self) -> asyncio.Semaphore:
        # A semaphore belongs to the loop it first waited on, and one app may be served by two in turn
        # (the tests do).
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(self._in_flight))
        return self._slots[1]

    def _live_readers(self, store_id: int) -> int:
        # A reader that ended is counted out at once: its done callback runs a turn of the loop later.
        return sum(not reader.done() for reader in self._readers.get(store_id, ()))

    def _start_reader(self, store_id: int, loop: asyncio.AbstractEventLoop) -> None:
        reader = loop.create_task(self._rounds(store_id))
        self._readers.setdefault(store_id, set()).add(reader)
        reader.add_done_callback(partial(self._reader_ended, store_id))

    def _reader_ended(self, store_id: int, reader: asyncio.Task[None]) -> None:
        # A done callback, not a ``finally``: a reader cancelled before its first step never runs its body.
        readers = self._readers[store_id]
        readers.discard(reader)
        if self._live_readers(store_id):
            return
        if not readers:
            del self._readers[store_id]
        # Live readers take every round before they end, so a round still waiting means the last of them
        # was cancelled (the loop is stopping): end it too, so nobody waits for it forever and the next
        # request starts a reader of its own.
        waiting = self._next.pop(store_id, None)
        if waiting is not None:
            waiting.outcome.cancel()


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


_confirmations: set[asyncio.Task[None]] = set()  # held: the loop keeps only weak references to tasks


def remembered(access: PromotionAccess, authorization: str | None) -> Principal | None:
    """The caller ``access.remembered`` admits, for async code, which also has a busy token confirmed with
    the database in the background before its entry lapses (services/token_cache.py), so its callers never
    pay the lookup."""
    caller, due = access.remembered(authorization)
    if due is not None:
        task = asyncio.get_running_loop().create_task(_confirm(access, due))
        _confirmations.add(task)
        task.add_done_callback(_confirmations.discard)
    return caller


async def _confirm(access: PromotionAccess, token: str) -> None:
    # A failure forgets the entry: the next request looks the token up itself and answers for it.
    with contextlib.suppress(Exception):
        await to_thread.run_sync(access.confirm, token)


class CachedReads:
    def __init__(
        self, app: ASGIApp, access: PromotionAccess, cache: ReadCache, versions: StoreVersions
    ) -> None:
        self.app = app
        self.access = access
        self.cache = cache
        self.versions = VersionReads(versions.read, versions.in_flight)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await self._kept(scope) if self._may_be_kept(scope) else None
        if body is None:
            await self.app(scope, receive, send)
            return
        headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _may_be_kept(self, scope: Scope) -> bool:
        return (
            self.cache.enabled
            and scope["type"] == "http"
            and scope["method"] == "GET"
            and str(scope["path"]).startswith(_PROMOTION_ROUTES)
        )

    async def _kept(self, scope: Scope) -> bytes | None:
        try:
            caller = remembered(self.access, _authorization(scope))
        except PromojobsError:
            return None  # refused: the application answers with the error
        if caller is None:
            return None  # only the database knows the token: the application looks it up
        scope[ADMITTED] = caller
        key = read_cache_key(caller.store_id, URL(scope=scope))
        if not self.cache.holds(key):
            return None
        try:
            version = await self.versions.version(caller.store_id)
        except Unavailable:
            return None  # the application tries again and answers 503 itself
        scope[VERSION] = version
        kept = self.cache.current(key, version)
        if kept is None:
            return None
        scope[KEPT_ROUTE] = kept.route
        return kept.body


def _authorization(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bytes(value).decode("latin-1")
    return None
