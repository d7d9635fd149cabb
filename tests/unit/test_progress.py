"""The rate and time-left estimate shared by the CLI's bars and the console's live bar."""

from __future__ import annotations

from promojobs.domain.progress import RateMeter, format_duration, format_rate, job_lifetime_seconds


def test_rate__between_the_first_look_and_the_latest_that_saw_the_count_move() -> None:
    meter = RateMeter()
    first = meter.observe(100.0, 0, 1_000, finished=False, lifetime_seconds=0)
    assert (first.codes_per_second, first.seconds_left, first.percent) == (None, None, 0)
    moved = meter.observe(102.0, 500, 1_000, finished=False, lifetime_seconds=2)
    assert moved.codes_per_second == 250 and moved.seconds_left == 2 and moved.percent == 50
    still = meter.observe(103.0, 500, 1_000, finished=False, lifetime_seconds=3)  # no move: same rate
    assert still.codes_per_second == 250
    done = meter.observe(104.0, 1_000, 1_000, finished=True, lifetime_seconds=4)
    assert done.codes_per_second == 250 and done.seconds_left == 0 and done.percent == 100


def test_rate__a_job_over_at_the_first_look_uses_its_own_lifetime() -> None:
    estimate = RateMeter().observe(5.0, 30_000, 30_000, finished=True, lifetime_seconds=1.5)
    assert estimate.codes_per_second == 20_000 and estimate.seconds_left == 0
    unknown = RateMeter().observe(5.0, 0, None, finished=True, lifetime_seconds=0)  # an export
    assert unknown.codes_per_second is None and unknown.percent is None


def test_formats() -> None:
    assert [format_duration(s) for s in (None, 0, 59.4, 61, 3_723)] == [
        "-",
        "0:00",
        "0:59",
        "1:01",
        "1:02:03",
    ]
    assert format_rate(None) == "- codes/s" and format_rate(123_456.7) == "123,457 codes/s"
    job = {
        "meta": {
            "timestamps": {"created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-01T00:00:02.500Z"}
        }
    }
    assert job_lifetime_seconds(job) == 2.5 and job_lifetime_seconds({}) == 0.0
