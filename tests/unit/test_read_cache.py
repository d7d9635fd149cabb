"""The read cache on its own: an answer is reused only under the version it was made under, and the cache
stays within its bounds."""

from __future__ import annotations

from collections.abc import Hashable

from promojobs.services.read_cache import ReadCache


class SettableClock:
    def __init__(self) -> None:
        self.current: Hashable | None = 1

    def version(self) -> Hashable | None:
        return self.current

    def bump(self) -> None:
        assert isinstance(self.current, int)
        self.current += 1

    def watch(self) -> None:
        pass

    def close(self) -> None:
        pass


class Producer:
    def __init__(self, body: bytes = b"answer") -> None:
        self.body = body
        self.calls = 0

    def __call__(self) -> bytes:
        self.calls += 1
        return self.body + str(self.calls).encode()


def test_same_version__answer_reused() -> None:
    cache = ReadCache(SettableClock())
    produce = Producer()
    assert cache.answer("k", produce) == b"answer1"
    assert cache.answer("k", produce) == b"answer1"
    assert (produce.calls, cache.hits, cache.misses) == (1, 1, 1)


def test_version_moved__answer_made_again() -> None:
    clock = SettableClock()
    cache = ReadCache(clock)
    produce = Producer()
    cache.answer("k", produce)
    clock.bump()
    assert cache.answer("k", produce) == b"answer2"
    assert cache.answer("k", produce) == b"answer2"


def test_version_moved_during_the_query__answer_not_kept_as_current() -> None:
    clock = SettableClock()
    cache = ReadCache(clock)

    def produce_while_someone_commits() -> bytes:
        clock.bump()  # a commit lands while the query runs: what it read may predate it
        return b"maybe-stale"

    cache.answer("k", produce_while_someone_commits)
    assert cache.answer("k", Producer(b"fresh")) == b"fresh1"


def test_version_moved__every_kept_answer_dropped() -> None:
    clock = SettableClock()
    cache = ReadCache(clock)
    for key in ("a", "b", "c"):
        cache.answer(key, lambda: b"x")
    assert len(cache) == 3
    clock.bump()
    cache.answer("a", lambda: b"y")
    assert len(cache) == 1


def test_unknown_version__never_reused() -> None:
    clock = SettableClock()
    clock.current = None
    cache = ReadCache(clock)
    produce = Producer()
    cache.answer("k", produce)
    cache.answer("k", produce)
    assert produce.calls == 2
    assert len(cache) == 0


def test_keys_apart() -> None:
    cache = ReadCache(SettableClock())
    assert cache.answer(("store-a", "/x"), lambda: b"a") == b"a"
    assert cache.answer(("store-b", "/x"), lambda: b"b") == b"b"
    assert cache.answer(("store-a", "/x"), lambda: b"other") == b"a"


def test_bounded_in_entries__least_recently_used_out() -> None:
    cache = ReadCache(SettableClock(), max_entries=2)
    cache.answer("a", lambda: b"1")
    cache.answer("b", lambda: b"2")
    cache.answer("a", lambda: b"x")  # a is now the most recently used
    cache.answer("c", lambda: b"3")
    assert len(cache) == 2
    assert cache.answer("a", lambda: b"again") == b"1"
    assert cache.answer("b", lambda: b"again") == b"again"


def test_bounded_in_bytes() -> None:
    cache = ReadCache(SettableClock(), max_entries=100, max_bytes=1600)
    for index in range(20):
        cache.answer(index, lambda: b"x" * 100)
    assert len(cache) == 16
    # An answer over a sixteenth of the budget is never kept: one huge page must not flush the rest.
    cache.answer("big", lambda: b"y" * 101)
    assert len(cache) == 16
    assert cache.answer("big", lambda: b"z") == b"z"


def test_turned_off() -> None:
    cache = ReadCache(SettableClock(), max_entries=0)
    produce = Producer()
    cache.answer("k", produce)
    cache.answer("k", produce)
    assert produce.calls == 2
