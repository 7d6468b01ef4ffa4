"""The month against a rate-limiting source that benchmarks/polite_month.py reports on."""

from datetime import UTC, datetime, timedelta

from scraping.gate.simulation import (
    CITIZENS,
    Citizen,
    SourceRules,
    align_on_one_month,
    simulate_month,
)
from scraping.schedule.simulation import Series

MONDAY = datetime(2026, 1, 5, 15, tzinfo=UTC)
WEEK = timedelta(days=7)
OURS, SEEDS_WAITS, SEED = CITIZENS


def weekly(n, weeks=12):
    """A weekly series watched for a day past its last release."""
    releases = tuple(MONDAY + k * WEEK for k in range(weeks))
    return Series(
        id=str(n),
        title=f"weekly {n}",
        releases=releases,
        status="ongoing",
        kind="weekly",
        observed_until=releases[-1] + timedelta(days=1),
    )


def test_series_keep_their_weekday_and_hour_on_the_common_month():
    late = Series(id="late", title="", releases=(MONDAY + 3 * WEEK,), status="ongoing")
    early = Series(id="early", title="", releases=(MONDAY,), status="ongoing")
    titles, start, end = align_on_one_month([late, early], days=30)
    assert end == MONDAY + 3 * WEEK
    assert titles[1].releases == (MONDAY + 3 * WEEK,)
    assert len(align_on_one_month([late, early], copies=3)[0]) == 6


def test_a_burst_of_due_titles_draws_fewer_429s_when_retry_after_is_honoured():
    series = [weekly(n) for n in range(60)]
    ours = simulate_month(series, OURS, days=30)
    seeds_waits = simulate_month(series, SEEDS_WAITS, days=30)
    assert ours.rate_limited < seeds_waits.rate_limited
    assert ours.detected == seeds_waits.detected == 60 * 5
    assert ours.undetected == 0


def test_a_tracker_that_never_exceeds_the_source_limit_is_never_refused():
    slow = Citizen("slow", OURS.policy, min_delay=11.0, max_delay=12.0)
    report = simulate_month(
        [weekly(n) for n in range(30)], slow, source=SourceRules(max_requests=12, window_seconds=120)
    )
    assert report.rate_limited == 0
    assert report.requests_per_chapter == report.requests / report.detected
