"""Shared reads of a store's version (api/cached_reads.VersionReads) on a real event loop and thread pool:
each request gets a read that began after it arrived, errors reach every waiter, and a cancelled reader
leaves no request waiting forever."""

from __future__ import annotations

import asyncio
import threading

import pytest

from promojobs.api.cached_reads import VersionReads


class _Database:
    """A store version that a test moves, read in the thread pool; each read can be held until released."""

    def __init__(self) -> None:
        self.version = 0
        self.reads = 0
        self.hold = threading.Event()
        self.hold.set()
        self.started = threading.Event()
        self.fail: Exception | None = None

    def read(self, store_id: int) -> int:
        version = self.version  # as of the read's start
        self.reads += 1
        self.started.set()
        self.hold.wait(30)
        if self.fail is not None:
            raise self.fail
        return version


async def _until(event: threading.Event) -> None:
    assert await asyncio.to_thread(event.wait, 30)


def test_requests_during_a_read__share_the_next_one__which_sees_what_was_written_before_them() -> None:
    async def scenario() -> None:
        db = _Database()
        reads = VersionReads(db.read)
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
        reads = VersionReads(db.read)
        db.fail = RuntimeError("database gone")
        results = await asyncio.gather(*(reads.version(1) for _ in range(5)), return_exceptions=True)
        assert all(isinstance(result, RuntimeError) for result in results)
        db.fail = None
        assert await reads.version(1) == 0

    asyncio.run(scenario())


def test_a_cancelled_reader__leaves_no_request_waiting_for_it() -> None:
    async def scenario() -> None:
        db = _Database()
        reads = VersionReads(db.read)
        db.hold.clear()
        first = asyncio.ensure_future(reads.version(1))
        await _until(db.started)
        second = asyncio.ensure_future(reads.version(1))  # waits for the next round
        await asyncio.sleep(0)
        for task in asyncio.all_tasks():
            if task.get_coro().__qualname__.startswith("VersionReads._rounds"):  # type: ignore[union-attr]
                task.cancel()
        db.hold.set()
        for waiter in (first, second):
            with pytest.raises(asyncio.CancelledError):  # not a TimeoutError: nobody is left waiting
                await asyncio.wait_for(waiter, 30)
        assert await asyncio.wait_for(reads.version(1), 30) == 0  # a new reader starts

    asyncio.run(scenario())
