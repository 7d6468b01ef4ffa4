"""The replay simulator, the peers as described, and the simulate_schedule command."""

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError

from scraping.schedule.policy import Release
from scraping.schedule.simulation import (
    CALENDAR_KINDS,
    HELD_OUT_KINDS,
    HELD_OUT_SEEDS,
    POLICIES,
    TUNING_SEED,
    Series,
    as_the_source_says,
    fixed_policy,
    generate_calendars,
    listing_times,
    mihon_policy,
    miniflux_policy,
    replay,
    seed_policy,
    simulate,
    simulate_by_kind,
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
    assert (
        {s.kind for s in first}
        == set(CALENDAR_KINDS)
        >= {
            "monthly",
            "monthly-nth-weekday",
            "burst",
            "irregular",
            "irregular-fast",
            "hiatus-short",
            "hiatus-long",
            "weekly-moving-day",
            "weekly-moving-hour",
            "weekly-jitter-hours",
            "completed",
            "dropped",
            "day-only-weekly",
        }
    )
    assert {s.precision for s in first if s.kind.startswith("day-only")} == {"day"}
    assert set(HELD_OUT_KINDS) <= set(CALENDAR_KINDS) and TUNING_SEED not in HELD_OUT_SEEDS


def test_a_day_only_history_is_listed_at_an_hour_of_its_day_that_peers_never_see():
    days = tuple(MONDAY + k * 7 * DAY for k in range(20))
    series = Series(id="d", title="day only", releases=days, status="ongoing", kind="weekly", precision="day")
    listed = listing_times(series)
    assert [t.date() for t in listed] == [d.date() for d in days]
    assert len({t.hour for t in listed}) <= 4  # one hour of the day, give or take its jitter
    # A peer takes datetimes: a day-only release reaches it as its day, as the source gives it.
    seen_by_peer = []

    def peer(release_times, now, status, misses):
        seen_by_peer.append(list(release_times))
        return now + DAY

    as_the_source_says(peer)([Release(days[0], day_only=True, seen_at=listed[0])], MONDAY, "ongoing", 0)
    assert seen_by_peer == [[days[0]]]


def test_the_status_changes_only_once_the_last_release_is_found():
    series = weekly_series(10)
    series = Series(**{**series.__dict__, "status": "completed"})
    assert series.status_seen(9) == "ongoing" and series.status_seen(10) == "completed"


def test_each_kind_is_reported_beside_its_best_peer():
    overall, kinds = simulate_by_kind(generate_calendars(seed=3, per_kind=1), horizon=timedelta(days=60))
    assert {k.kind for k in kinds} == set(CALENDAR_KINDS)
    for kind in kinds:
        assert kind.ours.policy == "batoshelf" and kind.best_peer.policy != "batoshelf"
        peers = [
            r
            for r in simulate(
                [s for s in generate_calendars(seed=3, per_kind=1) if s.kind == kind.kind], horizon=timedelta(days=60)
            )
            if r.policy != "batoshelf"
        ]
        if not math.isnan(kind.best_peer.efficiency):
            assert kind.best_peer.efficiency == min(r.efficiency for r in peers)


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
    for kind in CALENDAR_KINDS:
        assert f"\n{kind} " in out
    assert "(held-out kind)" in out
    assert f"held-out seeds {HELD_OUT_SEEDS[0]}-{HELD_OUT_SEEDS[-1]} (never tuned on)" in out
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
