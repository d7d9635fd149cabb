"""The event loop's own connections for store-version reads (store/changes.AsyncStoreVersions) against a
real PostgreSQL behind the latency proxy: opened at start, one round trip per read from the first, no
connection left open beyond those it may keep, or at all once closed, even when reads were in flight at the
close, and a database that stops answering gives Unavailable within the read's deadline."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.pool import QueuePool

from promojobs.domain.errors import Unavailable
from promojobs.store.changes import VERSION_READ_SECONDS, AsyncStoreVersions
from promojobs.store.database import Database
from tests.support import DistantDatabase, end_every_other_session, sessions_when


@pytest.fixture
def versions(distant_pg: DistantDatabase) -> Iterator[AsyncStoreVersions]:
    database = Database(distant_pg.url)
    yield AsyncStoreVersions(database, connections=2)  # two reads at once, and two kept
    database.dispose()


def _open_version_connections(distant_pg: DistantDatabase, expected: int) -> int:
    """The server's count of version connections, once it is ``expected`` or after 10 s: a closed
    connection's server process ends a moment after the client sent its goodbye, 1 ms away."""
    versions = "application_name = 'promojobs-versions'"
    return sessions_when(distant_pg.direct_url, versions, lambda count: count == expected)


def test_opened_at_start__every_read_one_round_trip_from_the_first(
    versions: AsyncStoreVersions, distant_pg: DistantDatabase
) -> None:
    async def scenario() -> list[int]:
        await versions.open()
        counts = []
        for _ in range(8):  # past psycopg's threshold for preparing a statement it sees again (5)
            distant_pg.proxy.reset_counts()
            await versions.read(1)
            counts.append(distant_pg.proxy.round_trips)
        await versions.close()
        return counts

    assert asyncio.run(scenario()) == [1] * 8


def test_connections_kept__at_most_the_bound__and_none_after_a_close_during_reads(
    versions: AsyncStoreVersions, distant_pg: DistantDatabase
) -> None:
    async def scenario() -> tuple[int, int]:
        await versions.open()
        await versions.open()  # the places are taken: opens none
        assert distant_pg.proxy.connections == 2
        await asyncio.gather(*(versions.read(1) for _ in range(2)))
        kept = await asyncio.to_thread(_open_version_connections, distant_pg, 2)
        distant_pg.proxy.hold()  # the reads below stay in flight until released
        in_flight = [asyncio.ensure_future(versions.read(1)) for _ in range(2)]
        await asyncio.sleep(0.05)
        assert not any(read.done() for read in in_flight)
        await versions.close()
        distant_pg.proxy.release()
        assert await asyncio.gather(*in_flight) == [0, 0]
        return kept, await asyncio.to_thread(_open_version_connections, distant_pg, 0)

    kept, after_close = asyncio.run(scenario())
    assert kept == 2
    assert after_close == 0


def test_a_database_that_does_not_answer__unavailable_within_the_read_deadline(
    versions: AsyncStoreVersions, distant_pg: DistantDatabase
) -> None:
    async def scenario() -> float:
        await versions.open()
        distant_pg.proxy.hold()  # a partition: nothing comes back, nothing is refused
        started = time.monotonic()
        with pytest.raises(Unavailable):
            await versions.read(1)
        waited = time.monotonic() - started
        distant_pg.proxy.release()
        assert await versions.read(1) == 0  # and back once the database answers
        await versions.close()
        return waited

    waited = asyncio.run(scenario())
    assert VERSION_READ_SECONDS - 0.1 <= waited < VERSION_READ_SECONDS + 1  # the deadline, not sooner


def _pooled(database: Database) -> int:
    pool = database.engine.pool
    assert isinstance(pool, QueuePool)
    return pool.checkedin()


def test_sessions_ended_by_the_server__the_read_still_answers__and_the_engine_pool_is_dropped(
    distant_pg: DistantDatabase,
) -> None:
    database = Database(distant_pg.url)
    versions = AsyncStoreVersions(database, connections=2)
    try:
        with database.engine.connect() as conn:  # a pooled connection, ended below like the rest
            conn.execute(text("SELECT 1"))
        assert _pooled(database) == 1

        async def scenario() -> int:
            await versions.open()
            end_every_other_session(distant_pg.direct_url)
            version = await versions.read(1)  # meets 57P01 on a kept connection, then reads on a new one
            await versions.close()
            return version

        assert asyncio.run(scenario()) == 0
        # Dropped before the read was tried again: the request after it does not meet the dead one.
        assert _pooled(database) == 0
        with database.engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        database.dispose()


def test_a_read_whose_caller_goes_away__ends_at_once__and_its_connection_is_not_kept(
    versions: AsyncStoreVersions, distant_pg: DistantDatabase
) -> None:
    """psycopg ends a cancelled query by asking the server to cancel it and waiting for the answer: the
    caller must not wait for that, and the connection, in a state nobody knows, is closed."""

    async def scenario() -> float:
        await versions.open()  # two connections kept
        distant_pg.proxy.hold()
        read = asyncio.ensure_future(versions.read(1))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        read.cancel()
        with pytest.raises(asyncio.CancelledError):
            await read
        ended = time.monotonic() - started
        distant_pg.proxy.release()
        assert await versions.read(1) == 0  # on the other kept connection
        assert await asyncio.to_thread(_open_version_connections, distant_pg, 1) == 1
        await versions.close()
        return ended

    assert asyncio.run(scenario()) < 0.5
    assert _open_version_connections(distant_pg, 0) == 0


def test_reads_the_database_does_not_answer__hold_no_more_connections_than_the_bound(
    versions: AsyncStoreVersions, distant_pg: DistantDatabase
) -> None:
    """A read given up at its deadline ends in the background, where psycopg asks the server to cancel its
    query and waits up to 10 s: meanwhile its connection counts, and a read beyond the bound is refused at
    once instead of opening another."""

    async def scenario() -> None:
        await versions.open()
        opened = distant_pg.proxy.connections
        distant_pg.proxy.hold()  # the server accepts connections and answers nothing
        given_up = await asyncio.gather(*(versions.read(1) for _ in range(2)), return_exceptions=True)
        assert all(isinstance(result, Unavailable) for result in given_up)
        connections = opened + 2  # and the cancel request psycopg sends for each, on a connection of its own
        deadline = time.monotonic() + 10
        while distant_pg.proxy.connections < connections:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        started = time.monotonic()
        with pytest.raises(Unavailable):
            await versions.read(1)
        assert time.monotonic() - started < 0.2  # not its 2 s deadline
        assert distant_pg.proxy.connections == connections  # and no connection opened for it
        distant_pg.proxy.release()
        deadline = time.monotonic() + 20
        while True:  # the given-up reads end once their cancellations are answered
            with contextlib.suppress(Unavailable):
                assert await versions.read(1) == 0
                break
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        await versions.close()

    asyncio.run(scenario())


@pytest.mark.distant_delay(0.3)
def test_a_database_so_far_that_opening_outlasts_a_read__the_opening_goes_on_for_the_next_read(
    versions: AsyncStoreVersions,
) -> None:
    """Connecting and preparing take four round trips (2.4 s here, with the test cluster's trust
    authentication and no TLS) against a read's 2 s deadline: the
    first read gives up, the connection it started is kept when ready (instead of closed with its read),
    and the next read, begun while it opens, waits for it and reads on it (3 s after the first began)."""

    async def scenario() -> int:
        with pytest.raises(Unavailable):
            await versions.read(1)
        version = await versions.read(1)
        await versions.close()
        return version

    assert asyncio.run(scenario()) == 0


@pytest.mark.distant_delay(0.3)
def test_a_database_so_far_that_opening_outlasts_the_start__the_first_reads_wait_for_those_openings(
    versions: AsyncStoreVersions, distant_pg: DistantDatabase
) -> None:
    """``open()`` waits 2 s for its connections, which take 2.4 s here: the read that comes meanwhile
    takes one of them when it is ready instead of opening one more (which would miss its deadline)."""

    async def scenario() -> int:
        await versions.open()
        version = await versions.read(1)
        await versions.close()
        return version

    assert asyncio.run(scenario()) == 0
    assert distant_pg.proxy.connections == 2  # open()'s, and no other
