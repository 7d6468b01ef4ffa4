"""The replay simulator, the peers as described, and the simulate_schedule command."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError

from scraping.schedule.simulation import (
    POLICIES,
    Series,
    fixed_policy,
    generate_calendars,
    mihon_policy,
    miniflux_policy,
    replay,
    seed_policy,
    simulate,
)
from tests.conftest import run_command

UTC = UTC
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MONDAY = datetime(2026, 1, 5, tzinfo=UTC)
# 20 of the 471 real series in benchmarks/data/release-histories.json, small enough for the suite.
REAL_HISTORIES = Path(__file__).resolve().parent / "data" / "release-histories-sample.json"


def weekly_series(weeks=40):
    return Series(
        id="w",
        title="weekly",
        releases=tuple(MONDAY + k * 7 * DAY for k in range(weeks)),
        status="ongoing",
        kind="weekly",
    )


def test_fixed_polling_checks_once_a_day_and_finds_each_release_at_the_next_check():
    run = replay(weekly_series(), fixed_policy(24), timedelta(days=70))
    assert run.checks == 70
    assert len(run.latencies) == 10
    assert all(0 <= h < 24 for h in run.latencies)


def test_a_policy_that_checks_at_each_release_has_zero_latency():
    series = weekly_series()

    def oracle(release_times, now, status, misses):
        return next(r for r in series.releases + (now + 7 * DAY,) if r > now)

    run = replay(series, oracle, timedelta(days=70))
    assert run.latencies and max(run.latencies) == 0


def test_the_peers_as_described():
    releases = [MONDAY + k * 7 * DAY for k in range(6)]
    now = releases[-1] + HOUR
    assert seed_policy(releases, now, "ongoing", 0) - now == 168 * HOUR  # weekday-consistent
    assert seed_policy(releases[:3], now, "ongoing", 3) - now == 14 * DAY  # 0.8 x 7 d x 1.5^3, capped
    assert seed_policy(releases, now, "completed", 0) - now == 30 * DAY
    assert miniflux_policy(releases, now, "ongoing", 0) - now == 24 * HOUR  # one entry in the last week
    daily = [now - k * DAY for k in range(7, 0, -1)]
    assert miniflux_policy(daily, now, "ongoing", 0) - now == 24 * HOUR
    hourly = [now - k * HOUR for k in range(12, 0, -1)]
    assert miniflux_policy(hourly, now, "ongoing", 0) - now == timedelta(hours=1)
    # Mihon: a 7-day interval from the last upload day, looked at by the 12-hourly job within a day of it.
    at = mihon_policy(releases, now, "ongoing", 0)
    assert at - now >= 12 * HOUR and (at - now) % (12 * HOUR) == timedelta()
    assert releases[-1] + 6 * DAY <= at <= releases[-1] + 8 * DAY


def test_every_policy_always_asks_for_a_later_time_on_every_generated_calendar():
    reports = simulate(generate_calendars(seed=3, per_kind=1), horizon=timedelta(days=60))
    assert {r.policy for r in reports} == set(POLICIES)
    assert all(r.misordered == 0 for r in reports)


def test_generated_calendars_are_seeded_and_cover_every_kind():
    first, again, other = generate_calendars(seed=5), generate_calendars(seed=5), generate_calendars(seed=6)
    assert first == again and first != other
    assert {s.kind for s in first} == {
        "weekly-jitter",
        "twice-weekly",
        "biweekly",
        "monthly",
        "irregular",
        "burst",
        "hiatus-return",
        "weekly-moving-day",
        "daily",
        "completed",
        "silent",
    }


def run(*args):
    return run_command("simulate_schedule", *args)


def test_the_command_prints_the_table_with_every_policy_and_our_ratio(tmp_path):
    saved = tmp_path / "calendars.json"
    out, err = run("--generated", "--seed", "2", "--horizon-days", "90", "--save-generated", str(saved))
    for policy in POLICIES:
        assert f"\n{policy} " in out
    assert "checks/title-day" in out and "efficiency" in out
    assert "of the best peer's" in out
    assert "[6/6]" in err
    # The saved calendars replay the same from the file.
    again, _ = run("--releases", str(saved), "--horizon-days", "90")
    assert again.splitlines()[2] == out.splitlines()[2]


def test_the_command_speaks_json(tmp_path):
    out, _ = run("--generated", "--horizon-days", "60", "--json")
    figures = json.loads(out)
    ours = next(p for p in figures["policies"] if p["policy"] == "batoshelf")
    assert ours["efficiency"] == pytest.approx(ours["checks_per_title_day"] * ours["mean_latency_h"], rel=1e-3)


def test_the_command_reads_real_release_histories():
    out, _ = run("--releases", str(REAL_HISTORIES), "--horizon-days", "30")
    assert out.startswith(f"{REAL_HISTORIES}: 20 titles, 30 days each")


def test_the_command_refuses_bad_input(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        run("--releases", str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    for text, why in (
        ('{"no": "series"}', "it has no list of series"),
        ("[1, 2]", "it has no list of series"),
        ('{"series": [[1]]}', "series 1 is not an object with an id"),
        ('{"series": [{"id": 1, "timestamps": [5]}]}', "series 1 has a timestamp that is not"),
        ("not json", "it is not JSON"),
    ):
        broken.write_text(text)
        with pytest.raises(CommandError, match="is not a release-histories file") as refused:
            run("--releases", str(broken))
        assert why in str(refused.value) and '{"series": [{"id"' in str(refused.value), "it says what it wants"
    with pytest.raises(CommandError, match="--horizon-days must be 1 or more"):
        run("--generated", "--horizon-days", "0")
