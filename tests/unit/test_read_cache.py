"""The read cache on its own: an answer is reused only under its store's version it was made under, and
the cache stays within its bounds."""

from __future__ import annotations

from promojobs.services.read_cache import CacheKey, ReadCache


class Versions:
    """Stores' data versions, as the database would give them (``stores.data_version``)."""

    def __init__(self) -> None:
        self.current: dict[int, int] = {}
        self.reads = 0

    def __call__(self, store_id: int) -> int:
        self.reads += 1
        return self.current.get(store_id, 0)

    def bump(self, store_id: int = 1) -> None:
        self.current[store_id] = self.current.get(store_id, 0) + 1


class Producer:
    def __init__(self, body: bytes = b"answer") -> None:
        self.body = body
        self.calls = 0

    def __call__(self) -> bytes:
        self.calls += 1
        return self.body + str(self.calls).encode()


def _key(name: str, store_id: int = 1) -> CacheKey:
    return store_id, f"http://test/{name}"


def test_same_version__answer_reused() -> None:
    versions = Versions()
    cache = ReadCache(versions)
    produce = Producer()
    assert cache.answer(_key("k"), produce) == b"answer1"
    assert cache.answer(_key("k"), produce) == b"answer1"
    assert (produce.calls, cache.hits, cache.misses) == (1, 1, 1)
    assert versions.reads == 2  # every answer asks the database for the version


def test_version_moved__answer_made_again() -> None:
    versions = Versions()
    cache = ReadCache(versions)
    produce = Producer()
    cache.answer(_key("k"), produce)
    versions.bump()
    assert cache.answer(_key("k"), produce) == b"answer2"
    assert cache.answer(_key("k"), produce) == b"answer2"


def test_commit_during_the_query__answer_kept_under_the_older_version_only() -> None:
    versions = Versions()
    cache = ReadCache(versions)

    def produce_while_someone_commits() -> bytes:
        versions.bump()  # a commit lands while the query runs: the answer may or may not hold it
        return b"maybe-newer"

    cache.answer(_key("k"), produce_while_someone_commits)
    assert cache.answer(_key("k"), Producer(b"fresh")) == b"fresh1"


def test_another_store_changed__answer_still_reused() -> None:
    versions = Versions()
    cache = ReadCache(versions)
    cache.answer(_key("k", 1), lambda: b"store-1")
    versions.bump(2)
    assert cache.answer(_key("k", 1), lambda: b"again") == b"store-1"


def test_version_given_by_the_caller__not_read_again() -> None:
    versions = Versions()
    cache = ReadCache(versions)
    cache.answer(_key("k"), lambda: b"x", version=0, route="/things")
    kept = cache.current(_key("k"), 0)
    assert kept is not None and (kept.body, kept.route) == (b"x", "/things")
    assert cache.current(_key("k"), 1) is None
    assert versions.reads == 0


def test_keys_apart() -> None:
    cache = ReadCache(Versions())
    assert cache.answer(_key("x", 1), lambda: b"a") == b"a"
    assert cache.answer(_key("x", 2), lambda: b"b") == b"b"
    assert cache.answer(_key("x", 1), lambda: b"other") == b"a"


def test_bounded_in_entries__least_recently_used_out() -> None:
    cache = ReadCache(Versions(), max_entries=2)
    cache.answer(_key("a"), lambda: b"1")
    cache.answer(_key("b"), lambda: b"2")
    cache.answer(_key("a"), lambda: b"x")  # a is now the most recently used
    cache.answer(_key("c"), lambda: b"3")
    assert len(cache) == 2
    assert cache.answer(_key("a"), lambda: b"again") == b"1"
    assert cache.answer(_key("b"), lambda: b"again") == b"again"


def test_bounded_in_bytes() -> None:
    cache = ReadCache(Versions(), max_entries=100, max_bytes=1600)
    for index in range(20):
        cache.answer(_key(str(index)), lambda: b"x" * 100)
    assert len(cache) == 16
    # An answer over a sixteenth of the budget is never kept: one huge page must not flush the rest.
    cache.answer(_key("big"), lambda: b"y" * 101)
    assert len(cache) == 16
    assert cache.answer(_key("big"), lambda: b"z") == b"z"


def test_turned_off() -> None:
    versions = Versions()
    cache = ReadCache(versions, max_entries=0)
    produce = Producer()
    cache.answer(_key("k"), produce)
    cache.answer(_key("k"), produce)
    assert produce.calls == 2
    assert versions.reads == 0
