"""The event loop's own connections for store-version reads (store/changes.AsyncStoreVersions) against a
real PostgreSQL behind the latency proxy: opened at start, one round trip per read from the first, no
connection left open beyond those it may keep, or at all once closed, even when reads were in flight at the
close, and a database that stops answering gives Unavailable within the read's deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import psycopg
import pytest

from promojobs.domain.errors import Unavailable
from promojobs.store.changes import VERSION_READ_SECONDS, AsyncStoreVersions, psycopg_conninfo
from promojobs.store.database import Database
from tests.support import DistantDatabase


@pytest.fixture
def versions(distant_pg: DistantDatabase) -> Iterator[AsyncStoreVersions]:
    database = Database(distant_pg.url)
    yield AsyncStoreVersions(database, connections=2)  # two reads at once, and two kept
    database.dispose()


def _open_version_connections(distant_pg: DistantDatabase, expected: int) -> int:
    """The server's count of version connections, once it is ``expected`` or after 10 s: a closed
    connection's server process ends a moment after the client sent its goodbye, 1 ms away."""
    deadline = time.monotonic() + 10
    with psycopg.connect(psycopg_conninfo(distant_pg.direct_url), autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = 'promojobs-versions' AND datname = current_database()"
            ).fetchone()
            count = int(row[0]) if row else 0
            if count == expected or time.monotonic() > deadline:
                return count
            time.sleep(0.01)


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
        await asyncio.gather(*(versions.read(1) for _ in range(3)))  # three connections at once
        kept = _open_version_connections(distant_pg, 2)
        distant_pg.proxy.hold()  # the reads below stay in flight until released
        in_flight = [asyncio.ensure_future(versions.read(1)) for _ in range(2)]
        await asyncio.sleep(0.05)
        assert not any(read.done() for read in in_flight)
        await versions.close()
        distant_pg.proxy.release()
        assert await asyncio.gather(*in_flight) == [0, 0]
        return kept, _open_version_connections(distant_pg, 0)

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
