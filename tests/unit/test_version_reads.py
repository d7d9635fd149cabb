"""Shared reads of a store's version (api/cached_reads.VersionReads) on a real event loop and thread pool:
each request gets a read that began after it arrived, a request that comes during a read starts the next
at once (up to the bound), errors reach every waiter, and a cancelled reader leaves no request waiting
forever."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Awaitable, Callable

import pytest
import uvloop
from anyio import to_thread

from promojobs.api.cached_reads import WAKE_PER_TURN, VersionReads
from promojobs.domain.errors import Unavailable


class _Database:
    """A store version that a test moves, read in the thread pool; each read can be held until released."""

    def __init__(self) -> None:
        self.version = 0
        self.reads = 0
        self.hold = threading.Event()
        self.hold.set()
        self.started = threading.Event()
        self.fail: Exception | None = None
        self._lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0

    def read_blocking(self, store_id: int) -> int:
        version = self.version  # as of the read's start
        with self._lock:
            self.reads += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.started.set()
        self.hold.wait(30)
        with self._lock:
            self.in_flight -= 1
        if self.fail is not None:
            raise self.fail
        return version

    async def read(self, store_id: int) -> int:
        return await to_thread.run_sync(self.read_blocking, store_id)


async def _until(event: threading.Event) -> None:
    assert await asyncio.to_thread(event.wait, 30)


def test_requests_during_a_read__share_one_begun_after_them__which_sees_what_was_written_before() -> None:
    async def scenario() -> None:
        db = _Database()
        reads = VersionReads(db.read, in_flight=8)
        db.hold.clear()
        first = asyncio.ensure_future(reads.version(1))
        await _until(db.started)  # a read is in flight, begun at version 0
        db.version = 1  # a write acknowledged now, before the next requests arrive
        later = [asyncio.ensure_future(reads.version(1)) for _ in range(10)]
        db.hold.set()
        assert await first == 0
        assert await asyncio.gather(*later) == [1] * 10  # not the read that began before they came
        assert db.reads == 2

    asyncio.run(scenario())


def test_a_failed_read__reaches_every_waiter__and_the_next_request_reads_again() -> None:
    async def scenario() -> None:
        db = _Database()
        reads = VersionReads(db.read, in_flight=8)
        db.fail = RuntimeError("database gone")
        results = await asyncio.gather(*(reads.version(1) for _ in range(5)), return_exceptions=True)
        assert all(isinstance(result, RuntimeError) for result in results)
        db.fail = None
        assert await reads.version(1) == 0

    asyncio.run(scenario())


def test_a_cancelled_reader__leaves_no_request_waiting_for_it() -> None:
    async def scenario() -> None:
        db = _Database()
        reads = VersionReads(db.read, in_flight=8)
        db.hold.clear()
        first = asyncio.ensure_future(reads.version(1))
        await _until(db.started)
        second = asyncio.ensure_future(reads.version(1))  # starts a second read
        await asyncio.sleep(0)
        for task in asyncio.all_tasks():
            if task.get_coro().__qualname__.startswith("VersionReads._rounds"):  # type: ignore[union-attr]
                task.cancel()
        db.hold.set()
        for waiter in (first, second):
            # Not a TimeoutError (nobody is left waiting), nor a CancelledError, which would end the request
            # in a 500 although nobody cancelled it: the service is unavailable (the app answers 503).
            with pytest.raises(Unavailable):
                await asyncio.wait_for(waiter, 30)
        assert await asyncio.wait_for(reads.version(1), 30) == 0  # a new reader starts

    asyncio.run(scenario())


def test_a_request_during_a_read__does_not_wait_for_it__and_reads_in_flight_stay_bounded() -> None:
    async def scenario() -> None:
        db = _Database()
        reads = VersionReads(db.read, in_flight=8, overlap=3)
        db.hold.clear()
        waves = []
        for _ in range(5):  # five waves, each arriving while the reads before it are held
            db.started.clear()
            waves.append([asyncio.ensure_future(reads.version(1)) for _ in range(4)])
            await asyncio.sleep(0)
            if len(waves) <= 3:
                await _until(db.started)  # a wave under the bound starts its own read at once
        assert db.reads == 3 and db.most_in_flight == 3
        db.version = 7
        db.hold.set()
        results = [await asyncio.gather(*wave) for wave in waves]
        assert results[:3] == [[0] * 4] * 3
        # The waves past the bound share one read, begun when a read ended: after the write.
        assert results[3:] == [[7] * 4] * 2
        assert db.reads == 4 and db.most_in_flight == 3

    asyncio.run(scenario())


def test_many_requests_and_readers_interleaved__every_request_gets_a_version() -> None:
    """Readers end and requests arrive in every order the loop allows (a reader's done callback runs a
    turn after it ended): no request may find its round ended for want of a reader."""

    async def scenario() -> None:
        rng = random.Random(12)
        written = 0

        async def read(store_id: int) -> int:
            version = written
            for _ in range(rng.randrange(3)):
                await asyncio.sleep(0)
            return version

        reads = VersionReads(read, in_flight=8, overlap=2)

        async def client() -> None:
            nonlocal written
            for _ in range(300):
                for _ in range(rng.randrange(4)):
                    await asyncio.sleep(0)
                if rng.random() < 0.1:
                    written += 1
                before = written
                assert await reads.version(1) >= before  # a read begun after the request came

        await asyncio.gather(*(client() for _ in range(20)))

    asyncio.run(scenario())


def test_reads_of_all_stores_bounded__a_reader_waiting_its_turn_takes_all_who_came_meanwhile() -> None:
    async def scenario() -> None:
        db = _Database()
        reads = VersionReads(db.read, in_flight=2, overlap=4)
        db.hold.clear()
        held = [asyncio.ensure_future(reads.version(store)) for store in (1, 2)]
        await _until(db.started)
        while db.in_flight < 2:
            await asyncio.sleep(0.001)
        waiting = asyncio.ensure_future(reads.version(3))  # no read may start: two are in flight
        await asyncio.sleep(0)
        db.version = 5
        later = asyncio.ensure_future(reads.version(3))  # came after the write, while store 3 waits its turn
        await asyncio.sleep(0)
        assert db.reads == 2
        db.hold.set()
        assert await asyncio.gather(*held) == [0, 0]
        # One read of store 3, begun once a slot was free, serves both: after the write, so right for both.
        assert [await waiting, await later] == [5, 5]
        assert db.reads == 3 and db.most_in_flight == 2

    asyncio.run(scenario())


def test_a_request_waiting_for_a_free_read__gets_unavailable_after_its_wait() -> None:
    """An outage makes every read take its whole deadline: a request queued behind them must not wait for
    all of them (the application then reads for itself)."""

    async def scenario() -> None:
        db = _Database()
        reads = VersionReads(db.read, in_flight=1, wait_seconds=0.2)
        db.hold.clear()
        held = asyncio.ensure_future(reads.version(1))
        await _until(db.started)
        started = asyncio.get_running_loop().time()
        with pytest.raises(Unavailable):
            await reads.version(2)  # no read may start: the only one is held
        assert asyncio.get_running_loop().time() - started >= 0.2
        with pytest.raises(Unavailable):  # and so did the request whose read is held, at its own deadline
            await held
        db.hold.set()
        assert await reads.version(2) == 0  # once a read is free, requests get versions again
        assert await reads.version(1) == 0

    asyncio.run(scenario())


def _gated(version: int) -> tuple[asyncio.Event, Callable[[int], Awaitable[int]]]:
    """A read on the event loop that answers ``version`` once the event is set."""
    gate = asyncio.Event()

    async def read(store_id: int) -> int:
        await gate.wait()
        return version

    return gate, read


@pytest.mark.parametrize(
    "loop_factory", [asyncio.new_event_loop, uvloop.new_event_loop], ids=["asyncio", "uvloop"]
)
def test_a_finished_read_wakes_its_waiters_a_few_per_turn__so_the_loop_reads_new_requests_between_them(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    """Woken all on one turn, a wave of requests answers together and comes back together: the next wave
    then shares one read and the loop idles for its round trip."""

    async def scenario() -> None:
        gate, read = _gated(7)
        reads = VersionReads(read, in_flight=8)
        waiters = [asyncio.ensure_future(reads.version(1)) for _ in range(3 * WAKE_PER_TURN)]
        woken: list[int] = []
        for index, waiter in enumerate(waiters):
            waiter.add_done_callback(lambda _done, index=index: woken.append(index))  # type: ignore[misc]
        for _ in range(3):
            await asyncio.sleep(0)  # all wait for the one read, now in flight
        gate.set()
        woken_per_turn: list[int] = []
        while not all(waiter.done() for waiter in waiters):
            before = sum(waiter.done() for waiter in waiters)
            await asyncio.sleep(0)
            woken_per_turn.append(sum(waiter.done() for waiter in waiters) - before)
        assert max(woken_per_turn) == WAKE_PER_TURN
        assert sum(woken_per_turn) == len(waiters)
        assert [waiter.result() for waiter in waiters] == [7] * len(waiters)
        await asyncio.sleep(0)  # the last ones' done callbacks run a turn after them
        assert woken == list(range(len(waiters)))  # in the order they came

    with asyncio.Runner(loop_factory=loop_factory) as runner:  # uvloop: what uvicorn serves on
        runner.run(scenario())


def test_waiters_that_gave_up__are_skipped__and_the_rest_still_get_the_version() -> None:
    async def scenario() -> None:
        gate, read = _gated(3)
        reads = VersionReads(read, in_flight=8)
        waiters = [asyncio.ensure_future(reads.version(1)) for _ in range(2 * WAKE_PER_TURN + 1)]
        await asyncio.sleep(0)
        for gone in waiters[::2]:
            gone.cancel()  # their requests went away
        gate.set()
        results = await asyncio.gather(*waiters, return_exceptions=True)
        assert [isinstance(result, asyncio.CancelledError) for result in results] == [
            index % 2 == 0 for index in range(len(waiters))
        ]
        assert [result for result in results if not isinstance(result, BaseException)] == [3] * WAKE_PER_TURN

    asyncio.run(scenario())
