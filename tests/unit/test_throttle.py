"""The waits the limits state, on a clock this test sets."""

from __future__ import annotations

import pytest

from promojobs.domain.errors import RateLimited
from promojobs.services import throttle
from tests.support import SetClock

# An instant where a window's end less the clock is not the window in floating point:
# (1000.4 + 60) - 1000.4 == 60.000000000000114.
UNEVEN_INSTANT = 1000.4


def test_failed_logins__state_the_whole_window_when_the_clock_has_not_moved(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert (UNEVEN_INSTANT + throttle.LOGIN_WINDOW_SECONDS) - UNEVEN_INSTANT > throttle.LOGIN_WINDOW_SECONDS
    monkeypatch.setattr(throttle, "time", SetClock(UNEVEN_INSTANT))
    logins = throttle.LoginThrottle(max_failures=1)
    logins.failed("client")
    with pytest.raises(RateLimited) as refused:
        logins.check("client")
    assert refused.value.retry_after_seconds == 60
    assert str(refused.value) == "Too many failed attempts; retry in 60 s"


def test_failed_logins__state_the_rest_of_the_window_rounded_up(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SetClock(UNEVEN_INSTANT)
    monkeypatch.setattr(throttle, "time", clock)
    logins = throttle.LoginThrottle(max_failures=2)
    logins.failed("client")
    clock.now += 0.5
    logins.failed("client")
    clock.now += 10.25
    with pytest.raises(RateLimited) as refused:
        logins.check("client")
    assert refused.value.retry_after_seconds == 50  # 49.25 s of the first failure's window are left


def test_store_rate__states_the_wait_for_one_token(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SetClock(UNEVEN_INSTANT)
    monkeypatch.setattr(throttle, "time", clock)
    limit = throttle.StoreRateLimit(per_second=0.5, burst=1)
    limit.check(7)
    with pytest.raises(RateLimited) as refused:
        limit.check(7)
    assert refused.value.retry_after_seconds == 2
    clock.now += 1.5  # three quarters of a token back
    with pytest.raises(RateLimited) as refused:
        limit.check(7)
    assert refused.value.retry_after_seconds == 1
    limit.check(8)  # another store has its own bucket
