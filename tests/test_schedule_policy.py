"""The scheduling policy on hand-made histories: a pure function, no database."""

import re
import statistics
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from scraping.schedule.policy import Release, best_time, learn_rhythm, monthly_slot, next_check_at, plan_next_check
from scraping.schedule.simulation import Series, replay

UTC = UTC
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MONDAY_15 = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)


def weekly(weeks, start=MONDAY_15, jitter=()):
    return [start + k * 7 * DAY + (jitter[k % len(jitter)] if jitter else timedelta()) for k in range(weeks)]


def follow(releases, now, checks, status="ongoing"):
    """The next `checks` check times when nothing new turns up."""
    times = []
    for misses in range(1, checks + 1):
        now = next_check_at(releases, now, status, misses)
        times.append(now)
    return times


def test_a_weekly_title_is_checked_just_after_its_usual_time():
    releases = weekly(10)
    plan = plan_next_check(releases, releases[-1] + 2 * HOUR, "ongoing", 0)
    expected = releases[-1] + 7 * DAY
    assert expected < plan.at <= expected + 10 * timedelta(minutes=1)
    assert plan.reason.startswith("predicted weekly release Mon ~15:00 UTC")


def test_a_weekly_title_with_hour_jitter_is_first_looked_at_by_its_latest_usual_time():
    jitter = [timedelta(minutes=m) for m in (-50, 20, -10, 70, 0, -30, 40, 10)]
    releases = weekly(12, jitter=jitter)
    first = next_check_at(releases, releases[-1] + HOUR, "ongoing", 0)
    slot = MONDAY_15 + 12 * 7 * DAY
    assert slot - HOUR <= first <= slot + 70 * timedelta(minutes=1)


def test_a_wobbly_weekly_title_is_looked_at_on_its_prediction_and_again_at_the_windows_edge():
    jitter = [timedelta(hours=h) for h in (-3, 2, -1, 4, 0, -2, 3, 1)]
    releases = weekly(12, jitter=jitter)
    first = plan_next_check(releases, releases[-1] + HOUR, "ongoing", 0)
    second = plan_next_check(releases, first.at, "ongoing", 1)
    slot = MONDAY_15 + 12 * 7 * DAY
    assert abs(first.at - slot) <= 2 * HOUR and first.reason.startswith("predicted weekly")
    assert first.at + HOUR < second.at <= slot + 4 * HOUR


def test_a_missed_release_is_retried_soon_then_less_often_until_the_next_slot():
    releases = weekly(10)
    slot = releases[-1] + 7 * DAY
    checks = follow(releases, releases[-1] + HOUR, 9)
    after_slot = [c for c in checks if c > slot]
    waits = [b - a for a, b in pairwise(after_slot)]
    assert waits[0] <= 6 * HOUR + timedelta(minutes=5)
    retries = waits[: waits.index(max(waits))]
    assert retries == sorted(retries) and len(retries) >= 3
    next_slot = slot + 7 * DAY
    assert any(next_slot < c <= next_slot + 10 * timedelta(minutes=1) for c in checks)
    plan = plan_next_check(releases, slot + timedelta(minutes=5), "ongoing", 1)
    assert plan.reason.startswith("overdue")


def test_one_late_release_does_not_move_the_rhythm():
    releases = weekly(10)
    late = releases[-1] + 7 * DAY + 20 * HOUR
    at = next_check_at(releases + [late], late + HOUR, "ongoing", 0)
    usual = releases[-1] + 14 * DAY
    assert usual < at <= usual + 10 * timedelta(minutes=1)


def test_a_twice_weekly_title_is_expected_on_both_days():
    thursday = MONDAY_15 + 3 * DAY + 3 * HOUR
    releases = sorted(weekly(6) + weekly(6, start=thursday))
    monday_check = next_check_at(releases, releases[-1] + HOUR, "ongoing", 0)
    assert monday_check.weekday() == 0 and monday_check - (MONDAY_15 + 6 * 7 * DAY) < HOUR
    thursday_check = next_check_at(releases + [MONDAY_15 + 6 * 7 * DAY], monday_check + HOUR, "ongoing", 0)
    assert thursday_check.weekday() == 3 and thursday_check - (thursday + 6 * 7 * DAY) < HOUR


def test_a_new_day_of_the_week_is_followed_after_one_release_on_it():
    releases = weekly(10)
    moved = releases[-1] + 10 * DAY  # Thursday
    at = next_check_at(releases + [moved], moved + HOUR, "ongoing", 0)
    assert moved + 7 * DAY < at <= moved + 7 * DAY + HOUR


def test_a_bulk_upload_is_one_release_not_a_rhythm():
    backlog = [MONDAY_15 - 30 * DAY + k * timedelta(seconds=20) for k in range(200)]
    rhythm = learn_rhythm(backlog + weekly(4), MONDAY_15 + 3 * 7 * DAY + HOUR)
    assert rhythm.releases == 5
    assert rhythm.typical_gap == 7 * DAY


@pytest.mark.parametrize(
    "status, wait, words",
    [
        ("completed", 30 * DAY, "completed: monthly"),
        ("cancelled", 30 * DAY, "cancelled: monthly"),
        ("dropped", 30 * DAY, "dropped: monthly"),
        ("hiatus", 7 * DAY, "on hiatus: weekly"),
    ],
)
def test_finished_and_hiatus_titles_back_off(status, wait, words):
    releases = weekly(10)
    now = releases[-1] + HOUR
    plan = plan_next_check(releases, now, status, 0)
    assert (plan.at - now, plan.reason) == (wait, words)


def test_a_long_silent_title_backs_off_but_is_never_left_more_than_14_days():
    releases = weekly(10)
    checks = follow(releases, releases[-1] + HOUR, 40)
    waits = [b - a for a, b in pairwise(checks)]
    assert max(waits) == 14 * DAY
    assert checks[-1] - checks[-2] == 14 * DAY
    assert "silent" in plan_next_check(releases, checks[-1], "ongoing", 40).reason


def test_the_reasons_say_waits_with_at_most_one_decimal():
    releases = weekly(10)
    checks = follow(releases, releases[-1] + HOUR, 40)
    reasons = " ".join(plan_next_check(releases, at, "ongoing", k).reason for k, at in enumerate(checks, start=2))
    amounts = re.findall(r"(\d+(?:\.\d+)?) (?:h|days)\b", reasons)
    assert "6.1 h" in reasons and len(amounts) > 40, reasons  # not "6.08 h"
    assert all(len(amount.partition(".")[2]) <= 1 for amount in amounts), reasons


def test_an_irregular_title_is_polled_and_a_busier_one_more_often():
    def irregular(scale):
        gaps = [1, 9, 2, 14, 4, 1, 11, 3, 7, 2, 16]
        return [MONDAY_15 + sum(gaps[:k]) * scale * DAY for k in range(len(gaps))]

    slow, busy = irregular(2), irregular(0.5)
    slow_wait = next_check_at(slow, slow[-1] + HOUR, "ongoing", 0) - (slow[-1] + HOUR)
    busy_wait = next_check_at(busy, busy[-1] + HOUR, "ongoing", 0) - (busy[-1] + HOUR)
    assert 2 * HOUR <= busy_wait < slow_wait <= 7 * DAY
    assert plan_next_check(slow, slow[-1] + HOUR, "ongoing", 0).reason.startswith("irregular")


def test_a_title_without_chapters_is_checked_daily():
    plan = plan_next_check([], MONDAY_15, "ongoing", 3)
    assert (plan.at - MONDAY_15, plan.reason) == (DAY, "no chapters yet: daily")


@pytest.mark.parametrize(
    "history",
    [
        [],
        [None, None],
        [MONDAY_15.replace(tzinfo=None) + k * 7 * DAY for k in range(6)],  # naive: taken as UTC
        list(reversed(weekly(8))),
        weekly(8) * 3,  # duplicates
        weekly(30),  # extends past `now`
        [MONDAY_15] * 500,
        [MONDAY_15],
        [MONDAY_15, MONDAY_15 + timedelta(seconds=1), MONDAY_15 + 10 * DAY],
        [datetime(2001, 1, 1, tzinfo=UTC), MONDAY_15],
        [MONDAY_15 + timedelta(minutes=k) for k in range(0, 3000, 7)],
    ],
)
@pytest.mark.parametrize("status", ["ongoing", "", None, "completed", "hiatus", "weird-status"])
def test_bad_or_empty_histories_never_crash_and_give_a_time_after_now(history, status):
    now = MONDAY_15 + 20 * DAY
    for misses in (0, 1, 5, 1000):
        at = next_check_at(history, now, status, misses)
        assert at.tzinfo is not None and at.utcoffset() == timedelta()
        assert now < at <= now + 30 * DAY


def test_the_same_history_gives_the_same_answer():
    releases = weekly(9, jitter=[timedelta(minutes=17), timedelta(minutes=-23)])
    now = releases[-1] + 3 * HOUR
    assert len({next_check_at(releases, now, "ongoing", 2) for _ in range(5)}) == 1


def test_what_is_learned_is_readable_json():
    learned = learn_rhythm(weekly(10), MONDAY_15 + 64 * DAY).as_json()
    assert learned["regular"] is True
    assert (learned["weekday"], learned["hour_utc"], learned["typical_gap_s"]) == ("Mon", 15.0, 7 * 86400)
    assert learned["predicted"] == "2026-03-16T15:00:00+00:00"
    assert learned["confidence"] == 1.0


def monthly_on(rule, months, hour=10):
    first = datetime(2025, 6, 1, tzinfo=UTC)
    starts = [first]
    for _ in range(months - 1):
        starts.append((starts[-1] + 32 * DAY).replace(day=1))
    return [monthly_slot(rule, start) + hour * HOUR for start in starts]


@pytest.mark.parametrize(
    "rule, described",
    [(("day", 15), "monthly release (day 15)"), (("weekday", 1, 2), "monthly release (2nd Tue)")],
)
def test_a_monthly_title_is_checked_around_its_day_of_the_month(rule, described):
    releases = monthly_on(rule, 8)  # June 2025 to January 2026
    now = releases[-1] + HOUR
    expected = monthly_slot(rule, datetime(2026, 2, 1, tzinfo=UTC)) + 10 * HOUR
    plan = plan_next_check(releases, now, "ongoing", 0)
    assert plan.reason.startswith(f"predicted {described}")
    # No ongoing title waits more than 14 days: a look or two between, then its day.
    looks = follow(releases, now, 3)
    between = [look for look in looks if look < expected]
    assert 1 <= len(between) <= 2 and all(b - a <= 14 * DAY for a, b in pairwise([now, *between]))
    assert expected <= looks[len(between)] <= expected + HOUR


def test_a_burst_is_followed_and_the_quiet_after_it_is_not_polled():
    bursts = []
    for gap in [0, 10, 13, 11, 15, 12, 14]:
        start = (bursts[-1] if bursts else MONDAY_15) + gap * DAY
        bursts.extend(start + m * 20 * timedelta(minutes=1) for m in range(5))
    just_found = bursts[-3]  # a check mid-burst found three of its five chapters
    plan = plan_next_check(bursts[:-2], just_found + timedelta(minutes=10), "ongoing", 0)
    assert plan.at - just_found <= 3 * HOUR and plan.reason.startswith("a burst is coming out")
    # After the burst, nothing comes for weeks: the first look waits most of the shortest gap.
    after = plan_next_check(bursts, bursts[-1] + 3 * HOUR, "ongoing", 1)
    assert after.at - bursts[-5] >= 0.8 * 10 * DAY - HOUR
    assert "none comes sooner than" in after.reason


def test_a_hiatus_does_not_cost_daily_checks_for_months():
    releases = weekly(20)
    checks = follow(releases, releases[-1] + HOUR, 40)
    in_four_months = [c for c in checks if c < releases[-1] + 120 * DAY]
    assert len(in_four_months) <= 25  # not 120
    after_a_month = [c for c in in_four_months if c > releases[-1] + 30 * DAY]
    assert len(after_a_month) <= 13  # about one look a week
    # While the break is young it looks once at each slot, where a comeback would land.
    slot_looks = [c for c in checks if releases[-1] + 30 * DAY < c < releases[-1] + 80 * DAY]
    assert all((c - releases[-1]) % (7 * DAY) <= 5 * timedelta(minutes=1) for c in slot_looks)


def day_only(days, hour_seen=None, window=HOUR):
    """Releases known only to their day; seen `window` after the check before, at `hour_seen`, if given."""
    return [
        Release(
            d.replace(hour=0, minute=0),
            day_only=True,
            seen_at=None if hour_seen is None else d.replace(hour=0, minute=0) + hour_seen,
            previous_check_at=None if hour_seen is None else d.replace(hour=0, minute=0) + hour_seen - window,
        )
        for d in days
    ]


def test_a_day_only_date_is_not_read_as_a_midnight_release():
    imported = day_only(weekly(10))  # imported: when in its day each came is unknown
    now = MONDAY_15 + 63 * DAY + 20 * HOUR
    plan = plan_next_check(imported, now, "ongoing", 0)
    rhythm = plan.rhythm
    assert not rhythm.hour_known and rhythm.tolerance >= 12 * HOUR
    next_day = datetime(2026, 3, 16, tzinfo=UTC)
    # The whole predicted day is looked at, every few hours, from its start.
    looks = [plan.at] + follow(imported, plan.at, 6)
    assert looks[0] == next_day
    assert all(timedelta() < b - a <= 4 * HOUR for a, b in pairwise(looks[:6]))
    assert "hour unknown" in plan.reason


def test_a_day_only_title_learns_its_hour_from_when_it_was_seen():
    releases = day_only(weekly(10), hour_seen=timedelta(hours=16, minutes=30))
    now = MONDAY_15 + 63 * DAY + 20 * HOUR
    plan = plan_next_check(releases, now, "ongoing", 0)
    assert plan.rhythm.hour_known
    next_day = datetime(2026, 3, 16, tzinfo=UTC)
    assert next_day + 14 * HOUR <= plan.at <= next_day + 16 * HOUR  # the window around 16:00
    assert best_time(releases[-1], now) == (releases[-1].at + 16 * HOUR, timedelta(minutes=30))


def test_a_day_only_series_is_found_within_hours_of_its_listing():
    days = tuple(datetime(2026, 1, 5, tzinfo=UTC) + k * 7 * DAY for k in range(40))
    series = Series(id="day-only:found", title="t", releases=days, status="ongoing", kind="weekly", precision="day")
    run = replay(series, next_check_at, timedelta(days=120))
    settled = run.latencies[4:]  # after its first few releases have told it the hour
    assert settled and statistics.fmean(settled) < 2
    assert run.checks / run.title_days < 0.75  # a handful of looks a week
